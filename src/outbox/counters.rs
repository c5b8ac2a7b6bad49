//! Delivery counters per platform, and the platform's current run of
//! faults, for `/readyz` and `/metrics`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::incident::Platform;

/// What kind of fault keeps a platform's deliveries waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    RateLimited,
    Unavailable,
    Unauthorized,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::RateLimited => "rate_limited",
            Cause::Unavailable => "unavailable",
            Cause::Unauthorized => "unauthorized",
        }
    }
}

/// Faults with no delivery in between: since when, the latest kind and what
/// the platform said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Streak {
    pub since: DateTime<Utc>,
    pub cause: Cause,
    pub why: String,
}

#[derive(Debug, Default)]
pub struct Counters {
    delivered: [AtomicU64; 3],
    failed: [AtomicU64; 3],
    retried: [AtomicU64; 3],
    paced: [AtomicU64; 3],
    streaks: Mutex<[Option<Streak>; 3]>,
}

fn slot(p: Platform) -> usize {
    Platform::ALL.iter().position(|x| *x == p).expect("known platform")
}

/// One platform's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub delivered: u64,
    pub failed: u64,
    pub retried: u64,
    /// Held back by tocsin itself to stay within a platform's limits.
    pub paced: u64,
}

impl Counters {
    /// A delivery worked: the platform's run of faults is over.
    pub fn delivered(&self, p: Platform) {
        self.delivered[slot(p)].fetch_add(1, Ordering::Relaxed);
        self.streaks.lock().expect("streaks")[slot(p)] = None;
    }

    /// A row was given up on (a definite refusal).
    pub fn failed(&self, p: Platform) {
        self.failed[slot(p)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn retried(&self, p: Platform) {
        self.retried[slot(p)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn paced(&self, p: Platform) {
        self.paced[slot(p)].fetch_add(1, Ordering::Relaxed);
    }

    /// A platform fault (not a refusal, not tocsin's own pacing) at `now`.
    pub fn fault(&self, p: Platform, now: DateTime<Utc>, cause: Cause, why: &str) {
        let mut streaks = self.streaks.lock().expect("streaks");
        let since = streaks[slot(p)].as_ref().map_or(now, |s| s.since);
        streaks[slot(p)] = Some(Streak { since, cause, why: why.to_string() });
    }

    /// The platform's run of faults, if its latest outcome was one.
    pub fn failing(&self, p: Platform) -> Option<Streak> {
        self.streaks.lock().expect("streaks")[slot(p)].clone()
    }

    /// The run of faults, when it has lasted at least `after` by `now`: a
    /// single 429 or a blip is not an outage.
    pub fn degraded(&self, p: Platform, now: DateTime<Utc>, after: Duration) -> Option<Streak> {
        let after = chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX);
        self.failing(p).filter(|s| now - s.since >= after)
    }

    pub fn get(&self, p: Platform) -> Counts {
        let i = slot(p);
        Counts {
            delivered: self.delivered[i].load(Ordering::Relaxed),
            failed: self.failed[i].load(Ordering::Relaxed),
            retried: self.retried[i].load(Ordering::Relaxed),
            paced: self.paced[i].load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_platform_is_degraded_only_after_its_faults_last_and_not_after_a_delivery() {
        let c = Counters::default();
        let t0 = Utc::now();
        let minute = Duration::from_secs(60);
        c.fault(Platform::Slack, t0, Cause::RateLimited, "429");
        assert!(c.degraded(Platform::Slack, t0, minute).is_none(), "one 429 is not an outage");
        let later = t0 + chrono::Duration::seconds(90);
        c.fault(Platform::Slack, later, Cause::Unavailable, "HTTP 503");
        let s = c.degraded(Platform::Slack, later, minute).expect("a minute and a half of faults");
        assert_eq!((s.since, s.cause), (t0, Cause::Unavailable));
        assert!(c.degraded(Platform::Discord, later, minute).is_none());
        c.delivered(Platform::Slack);
        assert!(c.failing(Platform::Slack).is_none());
    }
}
