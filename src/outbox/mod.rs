//! The outbox: effects written with the state change, delivered afterwards,
//! in order per (incident, platform) lane, with retries and backoff.

mod api;
mod counters;
mod delivery;
mod links;
mod perform;
mod worker;

pub use api::{ChatApi, ChatError, Notifier, OpenedChannel};
pub use counters::{Cause, Counters, Counts, Streak};
pub use delivery::{Delivery, Dest, Page};
pub use links::resolve_channels;
pub use worker::{Outbox, PostmortemSettings, RetryPolicy};
