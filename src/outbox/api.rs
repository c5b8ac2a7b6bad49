//! The `ChatApi` trait: what the outbox needs from a chat platform. Each
//! platform's client implements it; the outbox calls nothing else.

use std::time::Duration;

use async_trait::async_trait;

use super::delivery::Delivery;
use crate::incident::{Message, Platform, UserRef};
use crate::store::Sink;

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
    /// The platform refused tocsin's credentials (a revoked or rotated
    /// token, a missing scope): nothing is wrong with the call itself, and it
    /// works again once an operator fixes the token, so it is retried.
    #[error("the platform refused tocsin's token: {0}")]
    Unauthorized(String),
    /// A channel with that name exists already.
    #[error("channel name taken")]
    NameTaken,
    /// The platform refused this call for good (unknown channel, message too
    /// large, no permission in that channel...).
    #[error("platform refused: {0}")]
    Rejected(String),
}

impl ChatError {
    /// A fault of the platform or of the way to it, that waiting cures.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ChatError::RateLimited(_) | ChatError::Unavailable(_) | ChatError::Unauthorized(_)
        )
    }
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
    /// The posts a message becomes on this platform: one, or several when it
    /// is longer than one post may be. The same message gives the same parts.
    fn render(&self, message: &Message) -> Vec<String>;
    /// Posts one part of `message` (see [`ChatApi::render`]); returns its id.
    async fn post_part(
        &self,
        channel: &str,
        message: &Message,
        part: &str,
    ) -> Result<String, ChatError>;
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

/// What the outbox needs from the paging services and webhooks: to send a
/// page or a webhook call for one of the sinks it serves.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// The sinks it serves: [`Sink::Pager`] and one [`Sink::Hook`] per webhook.
    fn sinks(&self) -> Vec<Sink>;
    /// Sends it; `row` is the delivery's id, for receivers to dedupe by.
    async fn send(&self, sink: Sink, row: i64, delivery: &Delivery) -> Result<(), ChatError>;
}
