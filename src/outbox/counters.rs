//! Delivery counters per platform, and the platform's current run of
//! faults, for `/readyz` and `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::Sink;

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

/// Per destination: its counts and its current run of faults.
#[derive(Debug, Default)]
pub struct Counters {
    by_sink: Mutex<BTreeMap<Sink, (Counts, Option<Streak>)>>,
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
    fn with<T>(&self, s: impl Into<Sink>, f: impl FnOnce(&mut (Counts, Option<Streak>)) -> T) -> T {
        f(self.by_sink.lock().expect("counters").entry(s.into()).or_default())
    }

    /// A delivery worked: the destination's run of faults is over.
    pub fn delivered(&self, s: impl Into<Sink>) {
        self.with(s, |(c, streak)| {
            c.delivered += 1;
            *streak = None;
        });
    }

    /// A row was given up on (a definite refusal).
    pub fn failed(&self, s: impl Into<Sink>) {
        self.with(s, |(c, _)| c.failed += 1);
    }

    pub fn retried(&self, s: impl Into<Sink>) {
        self.with(s, |(c, _)| c.retried += 1);
    }

    pub fn paced(&self, s: impl Into<Sink>) {
        self.with(s, |(c, _)| c.paced += 1);
    }

    /// A fault of the destination (not a refusal, not tocsin's own pacing) at `now`.
    pub fn fault(&self, s: impl Into<Sink>, now: DateTime<Utc>, cause: Cause, why: &str) {
        self.with(s, |(_, streak)| {
            let since = streak.as_ref().map_or(now, |s| s.since);
            *streak = Some(Streak { since, cause, why: why.to_string() });
        });
    }

    /// The destination's run of faults, if its latest outcome was one.
    pub fn failing(&self, s: impl Into<Sink>) -> Option<Streak> {
        self.with(s, |(_, streak)| streak.clone())
    }

    /// The run of faults, when it has lasted at least `after` by `now`: a
    /// single 429 or a blip is not an outage.
    pub fn degraded(
        &self,
        s: impl Into<Sink>,
        now: DateTime<Utc>,
        after: Duration,
    ) -> Option<Streak> {
        let after = chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX);
        self.failing(s).filter(|f| now - f.since >= after)
    }

    pub fn get(&self, s: impl Into<Sink>) -> Counts {
        self.with(s, |(c, _)| *c)
    }

    /// Every destination counted so far.
    pub fn sinks(&self) -> Vec<Sink> {
        self.by_sink.lock().expect("counters").keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Platform;

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
