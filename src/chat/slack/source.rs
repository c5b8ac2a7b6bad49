//! How the engine reads a Slack message flagged by reaction.

use std::sync::Arc;

use async_trait::async_trait;

use super::client::SlackChat;
use super::events::ts_time;
use super::lookups::Lookups;
use crate::app::{MessageSource, Seen};
use crate::chat::names::Names;
use crate::incident::{FlaggedMessage, MessageKey, Platform, UserRef};
use crate::outbox::ChatError;

pub(super) struct SlackSource {
    pub chat: Arc<SlackChat>,
    /// How the messages are read: together when they come together.
    pub lookups: Arc<Lookups>,
    /// The reaction name that flags, without colons.
    pub reaction: String,
    pub names: Names,
}

#[async_trait]
impl MessageSource for SlackSource {
    /// The message, with its reactions; then its link, made here from the
    /// workspace's address once Slack has said what that is.
    async fn look(&self, key: &MessageKey, reactor: &str) -> Result<Option<Seen>, ChatError> {
        let Some(at) = ts_time(&key.message) else {
            return Err(ChatError::Rejected(format!("unreadable ts {}", key.message)));
        };
        let Some(m) = self.lookups.fetch(&key.channel, &key.message).await? else {
            return Ok(None);
        };
        let link = self.chat.permalink(&key.channel, &key.message, m.thread_ts.as_deref()).await;
        let reacted = m.has_reaction(&self.reaction, reactor);
        let message = FlaggedMessage {
            key: key.clone(),
            author: UserRef::new(Platform::Slack, m.user),
            text: m.text,
            at,
            link,
            files: m.files,
        };
        Ok(Some(Seen { message, reacted }))
    }

    async fn reacted(&self, key: &MessageKey, user: &str) -> Result<bool, ChatError> {
        let m = self.lookups.fetch(&key.channel, &key.message).await?;
        Ok(m.is_some_and(|m| m.has_reaction(&self.reaction, user)))
    }

    /// From `users.info`, kept for an hour.
    async fn name(&self, user: &str) -> Option<String> {
        self.names.get(user, || self.chat.user_name(user)).await
    }
}
