//! The chat platforms, one folder each holding all of that platform: its
//! endpoint or connection, signature checks, what arrives turned into an
//! `app::Inbound`, its `ChatApi` client and its rendering. The console is a
//! platform too: a room in the terminal.

pub mod console;
pub mod discord;
pub mod names;
pub mod slack;
pub mod text;
