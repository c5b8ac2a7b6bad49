//! Discord: rendering and the application commands. The REST client, the
//! gateway and the interactions endpoint build on these.

pub mod commands;
pub mod render;
