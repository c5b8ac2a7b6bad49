//! tocsin: incident response inside Slack and Discord, with its own record.

pub mod app;
pub mod chat;
pub mod cli;
pub mod command;
pub mod config;
pub mod incident;
pub mod outbox;
pub mod postmortem;
pub mod server;
pub mod store;
