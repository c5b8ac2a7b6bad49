//! Discord: the REST client, rendering, the application commands, and the
//! interactions and gateway events turned into tocsin's terms.

pub mod client;
pub mod commands;
pub mod events;
pub mod render;
pub mod rest;
