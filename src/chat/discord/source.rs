//! How the engine reads a Discord message flagged by reaction.

use std::sync::Arc;

use async_trait::async_trait;

use super::client::DiscordChat;
use crate::app::{MessageSource, Seen};
use crate::incident::{FlaggedMessage, MessageKey};
use crate::outbox::ChatError;

pub(super) struct DiscordSource {
    pub chat: Arc<DiscordChat>,
    /// A Unicode emoji or `name:id`.
    pub reaction: String,
}

#[async_trait]
impl MessageSource for DiscordSource {
    /// The message (its text, time and files) and its reactions, at once.
    async fn look(&self, key: &MessageKey, reactor: &str) -> Result<Option<Seen>, ChatError> {
        let (fetched, reacted) = tokio::join!(
            self.chat.fetch_message(&key.channel, &key.message),
            self.reacted(key, reactor)
        );
        let Some(f) = fetched? else { return Ok(None) };
        let message = FlaggedMessage {
            key: key.clone(),
            author: f.author,
            text: f.content,
            at: f.at,
            link: Some(self.chat.jump_link(&key.channel, &key.message)),
            files: f.files,
        };
        Ok(Some(Seen { message, reacted: reacted? }))
    }

    async fn reacted(&self, key: &MessageKey, user: &str) -> Result<bool, ChatError> {
        self.chat.has_reacted(&key.channel, &key.message, &self.reaction, user).await
    }
}
