//! Reading messages back from Slack: one by its ts, or a span of a channel's
//! history, as the timeline needs them.

use std::collections::HashMap;

use serde::Deserialize;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::SLACK_TIER3_METHOD_CONFIG;

use super::client::{SlackChat, classify};
use crate::outbox::ChatError;

/// A message as Slack shows it now, for the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMessage {
    pub user: String,
    /// The thread's first message, when this one is in a thread.
    pub thread_ts: Option<String>,
    pub text: String,
    /// Links to the files attached to it.
    pub files: Vec<String>,
    /// Its reactions now: (name, who reacted).
    pub reactions: Vec<(String, Vec<String>)>,
}

impl FetchedMessage {
    /// Whether `user` has `reaction` on the message right now.
    pub fn has_reaction(&self, reaction: &str, user: &str) -> bool {
        self.reactions
            .iter()
            .any(|(name, users)| name == reaction && users.iter().any(|u| u == user))
    }

    fn from_slack(m: Seen) -> Self {
        let files = m
            .files
            .unwrap_or_default()
            .into_iter()
            .filter_map(|f| f.permalink.or(f.url_private))
            .collect();
        let reactions = m
            .reactions
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.name, r.users.unwrap_or_default()))
            .collect();
        Self {
            user: m.user.unwrap_or_default(),
            thread_ts: m.thread_ts,
            text: super::events::unescape(&m.text.unwrap_or_default()),
            files,
            reactions,
        }
    }
}

/// What tocsin reads of a page of `conversations.history` or
/// `conversations.replies`: the fields the timeline uses and no others.
/// slack-morphism's own message model (`SlackHistoryMessage`) is built of
/// flattened structs, which serde parses by buffering every field of every
/// message first; read that way, the page of a batch of flags cost about a
/// fifteenth of all the instructions a flag takes. The request still goes
/// through slack-morphism's client (its connector, its errors, its limits).
#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    messages: Option<Vec<Seen>>,
}

#[derive(Deserialize)]
struct Seen {
    ts: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    thread_ts: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    files: Option<Vec<SeenFile>>,
    #[serde(default)]
    reactions: Option<Vec<SeenReaction>>,
}

#[derive(Deserialize)]
struct SeenFile {
    #[serde(default)]
    permalink: Option<String>,
    #[serde(default)]
    url_private: Option<String>,
}

#[derive(Deserialize)]
struct SeenReaction {
    name: String,
    #[serde(default)]
    users: Option<Vec<String>>,
}

impl Page {
    fn messages(self) -> impl Iterator<Item = Seen> {
        self.messages.into_iter().flatten()
    }
}

impl SlackChat {
    /// Fetches one message by its ts; thread replies too (`conversations.replies`
    /// narrowed to that ts). `Ok(None)` when Slack has no such message.
    pub async fn fetch_message(
        &self,
        channel: &str,
        ts: &str,
    ) -> Result<Option<FetchedMessage>, ChatError> {
        let params: Vec<(&str, Option<&str>)> = vec![
            ("channel", Some(channel)),
            ("ts", Some(ts)),
            ("limit", Some("1")),
            ("inclusive", Some("true")),
            ("latest", Some(ts)),
            ("oldest", Some(ts)),
        ];
        let session = self.client.open_session(&self.token);
        let asked = session.http_session_api.http_get(
            "conversations.replies",
            &params,
            Some(&SLACK_TIER3_METHOD_CONFIG),
        );
        let found: Page = match asked.await {
            Ok(found) => found,
            Err(SlackClientError::ApiError(e))
                if e.code == "thread_not_found" || e.code == "message_not_found" =>
            {
                return Ok(None);
            }
            Err(e) => return Err(classify(e)),
        };
        Ok(found.messages().find(|m| m.ts == ts).map(FetchedMessage::from_slack))
    }

    /// Those of the channel's messages from `oldest` to `latest`, both
    /// included, whose ts is `wanted`, by ts; Slack is asked for at most
    /// `limit`, the newest first when there are more (`conversations.history`).
    /// Thread replies are not among them, except those also sent to the
    /// channel: Slack's history leaves them out.
    pub async fn fetch_span(
        &self,
        channel: &str,
        (oldest, latest): (&str, &str),
        limit: u16,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<HashMap<String, FetchedMessage>, ChatError> {
        let limit = limit.to_string();
        let params: Vec<(&str, Option<&str>)> = vec![
            ("channel", Some(channel)),
            ("limit", Some(&limit)),
            ("inclusive", Some("true")),
            ("latest", Some(latest)),
            ("oldest", Some(oldest)),
        ];
        let session = self.client.open_session(&self.token);
        let page: Page = session
            .http_session_api
            .http_get("conversations.history", &params, Some(&SLACK_TIER3_METHOD_CONFIG))
            .await
            .map_err(classify)?;
        Ok(page
            .messages()
            .filter(|m| wanted(&m.ts))
            .map(|m| (m.ts.clone(), FetchedMessage::from_slack(m)))
            .collect())
    }
}
