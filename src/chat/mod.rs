//! Talking to chat platforms: the neutral message model, the `ChatApi` trait
//! and the adapters.

mod api;
pub mod console;
pub mod discord;
pub mod message;
pub mod slack;

pub use api::{ChatApi, ChatError, OpenedChannel};
pub use message::{Message, Span};
