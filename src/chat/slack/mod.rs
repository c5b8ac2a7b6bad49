//! Slack: request verification and rendering. The Web API client, the
//! endpoints and Socket Mode build on these.

pub mod client;
pub mod events;
pub mod manifest;
pub mod pace;
pub mod render;
pub mod verify;
