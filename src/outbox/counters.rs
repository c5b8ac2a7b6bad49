//! Delivery counters per platform, for `/metrics`.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::incident::Platform;

#[derive(Debug, Default)]
pub struct Counters {
    delivered: [AtomicU64; 3],
    failed: [AtomicU64; 3],
    retried: [AtomicU64; 3],
    paced: [AtomicU64; 3],
    /// Unix milliseconds of the last delivery that worked, and of the last
    /// platform fault (429, 5xx, timeout); 0 for never.
    last_ok: [AtomicI64; 3],
    last_fault: [AtomicI64; 3],
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
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
    pub fn delivered(&self, p: Platform) {
        self.delivered[slot(p)].fetch_add(1, Ordering::Relaxed);
        self.last_ok[slot(p)].store(now_ms(), Ordering::Relaxed);
    }
    pub fn failed(&self, p: Platform) {
        self.failed[slot(p)].fetch_add(1, Ordering::Relaxed);
    }
    pub fn retried(&self, p: Platform) {
        self.retried[slot(p)].fetch_add(1, Ordering::Relaxed);
    }
    /// A platform fault (not a refusal, not tocsin's own pacing).
    pub fn fault(&self, p: Platform) {
        self.last_fault[slot(p)].store(now_ms(), Ordering::Relaxed);
    }
    /// Whether the platform's latest outcome was a fault, and since when.
    pub fn degraded_since(&self, p: Platform) -> Option<chrono::DateTime<chrono::Utc>> {
        let (ok, fault) = (
            self.last_ok[slot(p)].load(Ordering::Relaxed),
            self.last_fault[slot(p)].load(Ordering::Relaxed),
        );
        (fault > ok).then(|| chrono::DateTime::from_timestamp_millis(fault)).flatten()
    }
    pub fn paced(&self, p: Platform) {
        self.paced[slot(p)].fetch_add(1, Ordering::Relaxed);
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
