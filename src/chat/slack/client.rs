//! The Slack Web API as a `ChatApi`, through slack-morphism. Slack's errors
//! are sorted into retry-later (429, 5xx, network), name taken and refused.

use std::time::Duration;

use async_trait::async_trait;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use super::pace::Pace;
use super::render::{MAX_TEXT, mrkdwn};
use crate::chat::text::split;
use crate::incident::{Message, Platform, UserRef};
use crate::outbox::{ChatApi, ChatError, OpenedChannel};

/// Slack takes at most this many users per `conversations.invite`.
const MAX_INVITE: usize = 1000;
/// Slack keeps at most this many characters of a topic or purpose.
const MAX_TOPIC: usize = 250;

pub struct SlackChat {
    pub(super) client: SlackHyperClient,
    pub(super) token: SlackApiToken,
    pace: Pace,
    /// Who the bot is and where (auth.test), asked once.
    pub(super) me: tokio::sync::OnceCell<Me>,
    /// Who asks auth.test for the workspace's address, for links.
    pub(super) learning: super::links::Learning,
}

/// The bot's own user id and its workspace's address, as auth.test gives them.
pub(super) struct Me {
    pub(super) user_id: String,
    pub(super) workspace: String,
}

impl SlackChat {
    /// `api_base_url` is Slack's (`https://slack.com/api`) or a double's.
    pub fn new(bot_token: &str, api_base_url: &str) -> Self {
        Self {
            client: SlackClient::new(connector(api_base_url)),
            token: SlackApiToken::new(SlackApiTokenValue::new(bot_token.to_string())),
            pace: Pace::new(Duration::from_secs(1)),
            me: tokio::sync::OnceCell::new(),
            learning: super::links::Learning::default(),
        }
    }

    pub(super) async fn me(&self) -> Result<&Me, ChatError> {
        self.me
            .get_or_try_init(|| async {
                let me =
                    self.client.open_session(&self.token).auth_test().await.map_err(classify)?;
                Ok(Me { user_id: me.user_id.to_string(), workspace: me.url.0.to_string() })
            })
            .await
    }

    /// A channel of this name and privacy that the bot itself created: one
    /// whose creation succeeded although tocsin never heard (a crash, a lost
    /// answer, a database that would not record it).
    async fn own_channel(
        &self,
        name: &str,
        private: bool,
    ) -> Result<Option<SlackChannelInfo>, ChatError> {
        let me = &self.me().await?.user_id;
        let s = self.client.open_session(&self.token);
        let mut req = SlackApiConversationsListRequest::new()
            .with_exclude_archived(true)
            .with_limit(1000)
            .with_types(vec![SlackConversationType::Public, SlackConversationType::Private]);
        // A workspace has at most a few hundred thousand channels: bound the walk.
        for _ in 0..200 {
            let page = s.conversations_list(&req).await.map_err(classify)?;
            let found = page.channels.into_iter().find(|c| {
                c.name.as_deref() == Some(name)
                    && c.creator.as_ref().is_some_and(|u| u.to_string() == *me)
                    && c.flags.is_private.unwrap_or(false) == private
            });
            if found.is_some() {
                return Ok(found);
            }
            match page
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.value().is_empty())
            {
                Some(cursor) => req = req.with_cursor(cursor),
                None => break,
            }
        }
        Ok(None)
    }

    /// How Slack shows a person: their display name, else their full name,
    /// else their handle; `None` for an unknown user.
    pub async fn user_name(&self, id: &str) -> Result<Option<String>, ChatError> {
        let req = SlackApiUsersInfoRequest::new(SlackUserId::new(id.to_string()));
        let user = match self.client.open_session(&self.token).users_info(&req).await {
            Ok(r) => r.user,
            Err(SlackClientError::ApiError(e)) if e.code == "user_not_found" => return Ok(None),
            Err(e) => return Err(classify(e)),
        };
        let (display, full) = user.profile.map_or((None, None), |p| (p.display_name, p.real_name));
        let some = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        Ok(some(display)
            .or_else(|| some(full))
            .or_else(|| some(user.real_name))
            .or_else(|| some(user.name)))
    }

    async fn invite_batch(&self, channel: &str, users: &[UserRef]) -> Result<(), SlackClientError> {
        let req = SlackApiConversationsInviteRequest::new(
            SlackChannelId::new(channel.into()),
            users.iter().map(|u| SlackUserId::new(u.id.clone())).collect(),
        );
        match self.client.open_session(&self.token).conversations_invite(&req).await {
            Ok(_) => Ok(()),
            Err(SlackClientError::ApiError(e)) if e.code == "already_in_channel" => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The HTTP connector for Slack's Web API at `api_base_url` (https, or http for a double).
pub fn connector(api_base_url: &str) -> SlackClientHyperHttpsConnector {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build();
    SlackClientHyperConnector::with_connector(https)
        .with_slack_api_url(api_base_url.trim_end_matches('/'))
}

impl SlackChat {
    /// Answers the person behind an interaction through its response_url
    /// (ephemeral by default).
    pub async fn respond(&self, response_url: &str, text: String) -> Result<(), ChatError> {
        let url = url::Url::parse(response_url)
            .map_err(|e| ChatError::Rejected(format!("bad response_url: {e}")))?;
        let req =
            SlackApiPostWebhookMessageRequest::new(SlackMessageContent::new().with_text(text));
        self.client.respond_to_event(&SlackResponseUrl::new(url), &req).await.map_err(|e| {
            match classify(e) {
                ChatError::Rejected(r) => ChatError::Rejected(without_urls(&r)),
                other => other,
            }
        })?;
        Ok(())
    }
}

/// How a Slack failure should be handled.
pub fn classify(e: SlackClientError) -> ChatError {
    match e {
        SlackClientError::RateLimitError(r) => {
            ChatError::RateLimited(r.retry_after.unwrap_or(Duration::from_secs(1)))
        }
        SlackClientError::ApiError(a) => match a.code.as_str() {
            "name_taken" => ChatError::NameTaken,
            "ratelimited" => ChatError::RateLimited(Duration::from_secs(1)),
            "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
                ChatError::Unavailable(a.code)
            }
            // A token revoked, rotated or short of a scope is fixed by an
            // operator, not by dropping what waits.
            "invalid_auth"
            | "not_authed"
            | "token_revoked"
            | "token_expired"
            | "account_inactive"
            | "missing_scope"
            | "not_allowed_token_type" => ChatError::Unauthorized(a.code),
            _ => ChatError::Rejected(a.code),
        },
        SlackClientError::HttpError(h) if h.status_code.as_u16() == 429 => {
            ChatError::RateLimited(Duration::from_secs(1))
        }
        SlackClientError::HttpError(h) if h.status_code.is_server_error() => {
            ChatError::Unavailable(format!("HTTP {}", h.status_code))
        }
        SlackClientError::HttpError(h) if matches!(h.status_code.as_u16(), 401 | 403) => {
            ChatError::Unauthorized(format!("HTTP {}", h.status_code))
        }
        SlackClientError::HttpError(h) => ChatError::Rejected(format!("HTTP {}", h.status_code)),
        other => ChatError::Unavailable(without_urls(&other.to_string())),
    }
}

/// An error's text with every URL left out: a response_url carries a secret.
fn without_urls(s: &str) -> String {
    s.split(' ').map(|w| if w.contains("://") { "<url>" } else { w }).collect::<Vec<_>>().join(" ")
}

fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[async_trait]
impl ChatApi for SlackChat {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    async fn open_channel(
        &self,
        name: &str,
        private: bool,
        topic: &str,
    ) -> Result<OpenedChannel, ChatError> {
        let s = self.client.open_session(&self.token);
        let req = SlackApiConversationsCreateRequest::new(name.into()).with_is_private(private);
        let created = match s.conversations_create(&req).await.map_err(classify) {
            Ok(created) => created.channel,
            Err(ChatError::NameTaken) => match self.own_channel(name, private).await? {
                Some(ours) => {
                    tracing::info!(name, "adopting the bot's own Slack channel of that name");
                    ours
                }
                None => return Err(ChatError::NameTaken),
            },
            Err(e) => return Err(e),
        };
        let id = created.id.clone();
        let name = created.name.clone().unwrap_or_else(|| name.to_string());
        // The channel exists now: a failed topic or purpose must not make a retry create another.
        let topic = cut(topic, MAX_TOPIC);
        if let Err(e) = s
            .conversations_set_topic(&SlackApiConversationsSetTopicRequest::new(
                id.clone(),
                topic.clone(),
            ))
            .await
        {
            tracing::warn!(error = %e, channel = %id, "could not set the topic");
        }
        if let Err(e) = s
            .conversations_set_purpose(&SlackApiConversationsSetPurposeRequest::new(
                id.clone(),
                topic,
            ))
            .await
        {
            tracing::warn!(error = %e, channel = %id, "could not set the purpose");
        }
        Ok(OpenedChannel { id: id.to_string(), name })
    }

    async fn invite(&self, channel: &str, users: &[UserRef]) -> Result<(), ChatError> {
        let mut refused = Vec::new();
        for batch in users.chunks(MAX_INVITE) {
            match self.invite_batch(channel, batch).await {
                Ok(()) => {}
                Err(e) => match classify(e) {
                    // One person Slack will not add must not keep the others out.
                    ChatError::Rejected(_) if batch.len() > 1 => {
                        for u in batch {
                            if let Err(e) =
                                self.invite_batch(channel, std::slice::from_ref(u)).await
                            {
                                match classify(e) {
                                    ChatError::Rejected(code) => {
                                        refused.push(format!("{} ({code})", u.id))
                                    }
                                    other => return Err(other),
                                }
                            }
                        }
                    }
                    ChatError::Rejected(code) => refused.push(format!("{} ({code})", batch[0].id)),
                    other => return Err(other),
                },
            }
        }
        if refused.is_empty() {
            Ok(())
        } else {
            Err(ChatError::Rejected(format!("could not invite {}", refused.join(", "))))
        }
    }

    async fn set_topic(&self, channel: &str, topic: &str) -> Result<(), ChatError> {
        let req = SlackApiConversationsSetTopicRequest::new(channel.into(), cut(topic, MAX_TOPIC));
        self.client
            .open_session(&self.token)
            .conversations_set_topic(&req)
            .await
            .map_err(classify)?;
        Ok(())
    }

    fn render(&self, message: &Message) -> Vec<String> {
        split(&mrkdwn(message), MAX_TEXT)
    }

    async fn post_part(
        &self,
        channel: &str,
        _message: &Message,
        part: &str,
    ) -> Result<String, ChatError> {
        self.pace.reserve(channel).map_err(ChatError::Paced)?;
        let content = SlackMessageContent::new().with_text(part.to_string());
        let req = SlackApiChatPostMessageRequest::new(channel.into(), content)
            .with_unfurl_links(false)
            .with_link_names(false);
        let posted = self.client.open_session(&self.token).chat_post_message(&req).await;
        self.pace.finished(channel);
        Ok(posted.map_err(classify)?.ts.to_string())
    }

    async fn pin(&self, channel: &str, message_id: &str) -> Result<(), ChatError> {
        let req = SlackApiPinsAddRequest::new(channel.into(), SlackTs::new(message_id.into()));
        match self.client.open_session(&self.token).pins_add(&req).await {
            Ok(_) => Ok(()),
            Err(SlackClientError::ApiError(e)) if e.code == "already_pinned" => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }

    async fn upload(
        &self,
        channel: &str,
        filename: &str,
        title: &str,
        content: &str,
    ) -> Result<(), ChatError> {
        let s = self.client.open_session(&self.token);
        let bytes = content.as_bytes().to_vec();
        let ticket = s
            .get_upload_url_external(&SlackApiFilesGetUploadUrlExternalRequest::new(
                filename.into(),
                bytes.len(),
            ))
            .await
            .map_err(classify)?;
        let upload =
            SlackApiFilesUploadViaUrlRequest::new(ticket.upload_url, bytes, "text/markdown".into());
        s.files_upload_via_url(&upload).await.map_err(classify)?;
        let file = SlackApiFilesComplete::new(ticket.file_id).with_title(title.into());
        let title = super::render::escape(title);
        let summary = format!(
            "📄 {title}. The record sections (key times, roles, updates, the timeline, follow-ups) are filled in; summary, impact, root cause and lessons are yours to write."
        );
        let done = SlackApiFilesCompleteUploadExternalRequest::new(vec![file])
            .with_channel_id(channel.into())
            .with_initial_comment(summary);
        s.files_complete_upload_external(&done).await.map_err(classify)?;
        Ok(())
    }

    async fn archive(&self, channel: &str) -> Result<(), ChatError> {
        let req = SlackApiConversationsArchiveRequest::new(channel.into());
        match self.client.open_session(&self.token).conversations_archive(&req).await {
            Ok(_) => Ok(()),
            Err(SlackClientError::ApiError(e)) if e.code == "already_archived" => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }
}
