//! tocsin: incident response inside Slack and Discord, with its own record.

pub mod chat;
pub mod command;
pub mod incident;
pub mod store;
