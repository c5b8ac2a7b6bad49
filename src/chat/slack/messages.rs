//! Reading messages back from Slack: one by its ts, or a span of a channel's
//! history, as the timeline needs them.

use std::collections::HashMap;

use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

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

    fn from_slack(m: SlackHistoryMessage) -> Self {
        let files = m
            .content
            .files
            .unwrap_or_default()
            .into_iter()
            .filter_map(|f| f.permalink.or(f.url_private).map(|u| u.to_string()))
            .collect();
        let reactions = m
            .content
            .reactions
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.name.to_string(), r.users.into_iter().map(|u| u.to_string()).collect()))
            .collect();
        Self {
            user: m.sender.user.map(|u| u.to_string()).unwrap_or_default(),
            thread_ts: m.origin.thread_ts.map(|t| t.to_string()),
            text: super::events::unescape(&m.content.text.unwrap_or_default()),
            files,
            reactions,
        }
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
        let req = SlackApiConversationsRepliesRequest::new(channel.into(), SlackTs::new(ts.into()))
            .with_latest(SlackTs::new(ts.into()))
            .with_oldest(SlackTs::new(ts.into()))
            .with_inclusive(true)
            .with_limit(1);
        let found = match self.client.open_session(&self.token).conversations_replies(&req).await {
            Ok(found) => found,
            Err(SlackClientError::ApiError(e))
                if e.code == "thread_not_found" || e.code == "message_not_found" =>
            {
                return Ok(None);
            }
            Err(e) => return Err(classify(e)),
        };
        Ok(found
            .messages
            .into_iter()
            .find(|m| m.origin.ts.to_string() == ts)
            .map(FetchedMessage::from_slack))
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
        let req = SlackApiConversationsHistoryRequest::new()
            .with_channel(channel.into())
            .with_oldest(SlackTs::new(oldest.into()))
            .with_latest(SlackTs::new(latest.into()))
            .with_inclusive(true)
            .with_limit(limit);
        let page = self
            .client
            .open_session(&self.token)
            .conversations_history(&req)
            .await
            .map_err(classify)?;
        Ok(page
            .messages
            .into_iter()
            .map(|m| (m.origin.ts.to_string(), m))
            .filter(|(ts, _)| wanted(ts))
            .map(|(ts, m)| (ts, FetchedMessage::from_slack(m)))
            .collect())
    }
}
