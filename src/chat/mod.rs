//! Talking to chat platforms: the neutral message model and the `ChatApi` trait.

pub mod message;

pub use message::{Message, Span};
