//! tocsin: incident response inside Slack and Discord, with its own record.
//!
//! The path of one event: a surface in `chat/` (or the web, or alerts)
//! verifies and parses what arrives into an `app::Inbound`; `app` decides
//! through the pure core in `incident/` and commits through `store/`; the
//! `outbox/` delivers the effects through each platform's `ChatApi`.
//! `startup` wires it all; `server` mounts the routes; `cli` is the command line.

pub mod alerts;
pub mod app;
pub mod chat;
pub mod cli;
pub mod clock;
pub mod command;
pub mod config;
pub mod incident;
pub mod outbox;
pub mod paging;
pub mod postmortem;
pub mod report;
pub mod server;
pub mod startup;
pub mod store;
pub mod web;
