//! What the batching workers (the group writer, the entry reader) have done
//! since the process started, for `/metrics`: how many batches, how many
//! jobs those batches carried, and the time spent on them. Jobs over batches
//! is the mean batch size; the rate of the seconds is the share of the time
//! the worker is busy.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Kept by one worker, read by anyone.
#[derive(Debug, Default)]
pub(super) struct Tally {
    batches: AtomicU64,
    jobs: AtomicU64,
    micros: AtomicU64,
}

impl Tally {
    /// A batch of `jobs` begins; it counts once [`Batch::end`] is called,
    /// which comes before any of its jobs is answered.
    pub(super) fn start(&self, jobs: usize) -> Batch<'_> {
        Batch { tally: self, jobs, started: Instant::now() }
    }

    fn add(&self, jobs: usize, took: Duration) {
        self.batches.fetch_add(1, Relaxed);
        self.jobs.fetch_add(jobs as u64, Relaxed);
        self.micros.fetch_add(took.as_micros().try_into().unwrap_or(u64::MAX), Relaxed);
    }

    pub(super) fn now(&self) -> Totals {
        Totals {
            batches: self.batches.load(Relaxed),
            jobs: self.jobs.load(Relaxed),
            seconds: self.micros.load(Relaxed) as f64 / 1e6,
        }
    }
}

/// A batch under way.
pub(super) struct Batch<'a> {
    tally: &'a Tally,
    jobs: usize,
    started: Instant,
}

impl Batch<'_> {
    pub(super) fn end(self) {
        self.tally.add(self.jobs, self.started.elapsed());
    }
}

/// One worker's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub batches: u64,
    pub jobs: u64,
    /// Waiting for a connection included.
    pub seconds: f64,
}

/// The group writer's transactions and the entry reader's statements.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Batching {
    /// The group writer's batches (a transaction each, two when the short
    /// way falls back to the careful one) and the commits and outbox chores
    /// given to it.
    pub writes: Totals,
    /// The batched reader's statements and the incident-and-entry reads it
    /// took (a batch whose statement fails is counted; its callers then
    /// read alone).
    pub reads: Totals,
}

impl Batching {
    /// Prometheus text: counters for each worker.
    pub fn metrics(&self, out: &mut String) {
        for (worker, batches, jobs, r) in [
            (
                "write",
                "Batches the group writer took, each in one transaction (two when it falls back to the careful way).",
                "Commits and outbox chores given to the group writer.",
                self.writes,
            ),
            (
                "read",
                "Statements of the batched reader.",
                "Incident-and-entry reads taken by the batched reader.",
                self.reads,
            ),
        ] {
            for (name, help, value) in [
                ("batches", batches, r.batches as f64),
                ("jobs", jobs, r.jobs as f64),
                (
                    "seconds",
                    "Time spent on those batches, waiting for a connection included.",
                    r.seconds,
                ),
            ] {
                let name = format!("tocsin_store_{worker}_{name}_total");
                let _ =
                    writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_batch_adds_its_jobs_and_time_and_the_metrics_say_so() {
        let t = Tally::default();
        t.add(18, Duration::from_micros(2_500));
        t.add(2, Duration::from_micros(500));
        let writes = t.now();
        assert_eq!(writes, Totals { batches: 2, jobs: 20, seconds: 0.003 });
        t.start(5).end();
        assert_eq!((t.now().batches, t.now().jobs), (3, 25));
        let mut out = String::new();
        Batching { writes, reads: Totals::default() }.metrics(&mut out);
        assert!(out.contains("# TYPE tocsin_store_write_batches_total counter\n"), "{out}");
        assert!(out.contains("\ntocsin_store_write_batches_total 2\n"), "{out}");
        assert!(out.contains("\ntocsin_store_write_jobs_total 20\n"), "{out}");
        assert!(out.contains("\ntocsin_store_write_seconds_total 0.003\n"), "{out}");
        assert!(out.contains("\ntocsin_store_read_jobs_total 0\n"), "{out}");
    }
}
