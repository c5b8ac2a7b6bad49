//! The outbox: effects written with the state change, delivered afterwards,
//! in order per (incident, platform) lane, with retries and backoff.

mod counters;
mod delivery;
mod worker;

pub use counters::{Counters, Counts};
pub use delivery::{Delivery, Dest};
pub use worker::{Outbox, PostmortemSettings, RetryPolicy};
