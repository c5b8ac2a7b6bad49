//! The console adapter: a local chat room on the real engine, for trying
//! tocsin without chat credentials and as a fallback when chat is down.

mod api;
mod room;
mod session;

pub use api::{BOT_NAME, ConsoleChat};
pub use room::{Room, RoomChannel, RoomMessage};
pub use session::{DIRECTIVES, Flow, Session, parse_duration};
