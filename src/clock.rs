//! Where "now" comes from: the system clock, or one a script sets.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until set or advanced; the console's `:clock`
/// and `:advance` use it so scripted incidents have meaningful durations.
pub struct ManualClock(Mutex<Option<DateTime<Utc>>>);

impl ManualClock {
    /// Follows the system clock until first set.
    pub fn new() -> Self {
        Self(Mutex::new(None))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = Some(at);
    }

    /// Moves the clock on; false (and no change) when that leaves the calendar.
    pub fn advance(&self, by: chrono::Duration) -> bool {
        let mut t = self.0.lock().expect("clock lock");
        match t.unwrap_or_else(Utc::now).checked_add_signed(by) {
            Some(next) => {
                *t = Some(next);
                true
            }
            None => false,
        }
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().expect("clock lock").unwrap_or_else(Utc::now)
    }
}
