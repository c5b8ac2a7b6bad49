//! Discord, all of it: the HTTP interactions endpoint (Ed25519 signatures
//! checked before anything is parsed) and the gateway, what they deliver
//! turned into `Inbound`, the REST client with Discord's rate limits,
//! mention-safe rendering and the application commands.

pub mod client;
pub mod commands;
pub mod endpoint;
pub mod events;
pub mod gateway;
pub mod render;
pub mod rest;
mod source;
pub mod verify;

pub use endpoint::{DiscordState, routes};
