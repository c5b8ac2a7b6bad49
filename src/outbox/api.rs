//! The `ChatApi` trait: what the outbox needs from a chat platform. Each
//! platform's client implements it; the outbox calls nothing else.

use std::time::Duration;

use async_trait::async_trait;

use crate::incident::{Message, Platform, UserRef};

/// Why a platform call failed, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// 429: try again after this long.
    #[error("rate limited; retry after {0:?}")]
    RateLimited(Duration),
    /// tocsin held the call back itself to stay within the platform's limits
    /// (no call was made): try again after this long. Not a fault.
    #[error("paced; next slot in {0:?}")]
    Paced(Duration),
    /// 5xx, timeouts, connection errors: try again with backoff.
    #[error("platform unavailable: {0}")]
    Unavailable(String),
    /// A channel with that name exists already.
    #[error("channel name taken")]
    NameTaken,
    /// The platform refused for good (missing permission, unknown channel...).
    #[error("platform refused: {0}")]
    Rejected(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedChannel {
    pub id: String,
    pub name: String,
}

#[async_trait]
pub trait ChatApi: Send + Sync {
    fn platform(&self) -> Platform;
    async fn open_channel(
        &self,
        name: &str,
        private: bool,
        topic: &str,
    ) -> Result<OpenedChannel, ChatError>;
    async fn invite(&self, channel: &str, users: &[UserRef]) -> Result<(), ChatError>;
    async fn set_topic(&self, channel: &str, topic: &str) -> Result<(), ChatError>;
    /// Posts and returns the message's id.
    async fn post(&self, channel: &str, message: &Message) -> Result<String, ChatError>;
    async fn pin(&self, channel: &str, message_id: &str) -> Result<(), ChatError>;
    async fn upload(
        &self,
        channel: &str,
        filename: &str,
        title: &str,
        content: &str,
    ) -> Result<(), ChatError>;
    async fn archive(&self, channel: &str) -> Result<(), ChatError>;
}
