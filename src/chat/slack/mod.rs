//! Slack, all of it: the HTTP endpoints and Socket Mode (signatures checked
//! before anything is parsed), what Slack sends turned into `Inbound`, the
//! Web API client, mrkdwn rendering and the app manifest.

pub mod client;
pub mod endpoint;
mod envelope;
pub mod events;
mod links;
pub mod lookups;
pub mod manifest;
pub mod messages;
pub mod pace;
pub mod render;
pub mod socket;
mod source;
pub mod verify;

pub use endpoint::{SlackState, routes};
