//! What the batching workers (the group writer, the entry reader) have done
//! since the process started, for `/metrics`: how many rounds, how many jobs
//! those rounds carried, and the time spent in them. Jobs over rounds is the
//! batch size; the rate of the seconds is how busy the worker is.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Kept by one worker, read by anyone.
#[derive(Debug, Default)]
pub(super) struct Tally {
    rounds: AtomicU64,
    jobs: AtomicU64,
    micros: AtomicU64,
}

impl Tally {
    /// One round of `jobs`, which took `took`.
    pub(super) fn add(&self, jobs: usize, took: Duration) {
        self.rounds.fetch_add(1, Relaxed);
        self.jobs.fetch_add(jobs as u64, Relaxed);
        self.micros.fetch_add(took.as_micros().try_into().unwrap_or(u64::MAX), Relaxed);
    }

    pub(super) fn now(&self) -> Rounds {
        Rounds {
            rounds: self.rounds.load(Relaxed),
            jobs: self.jobs.load(Relaxed),
            seconds: self.micros.load(Relaxed) as f64 / 1e6,
        }
    }
}

/// One worker's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rounds {
    pub rounds: u64,
    pub jobs: u64,
    pub seconds: f64,
}

/// The group writer's transactions and the entry reader's statements.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Batching {
    /// Transactions, and the commits and outbox chores they carried.
    pub writes: Rounds,
    /// Statements, and the incident-and-entry reads they answered.
    pub reads: Rounds,
}

impl Batching {
    /// Prometheus text: counters for each worker.
    pub fn metrics(&self, out: &mut String) {
        for (worker, what, r) in [
            ("write", "transactions of the group writer", self.writes),
            ("read", "statements of the batched reader", self.reads),
        ] {
            for (name, help, value) in [
                ("batches", format!("The {what}."), r.rounds as f64),
                ("jobs", format!("What the {what} carried."), r.jobs as f64),
                ("seconds", format!("Time spent in the {what}."), r.seconds),
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
    fn each_round_adds_its_jobs_and_time_and_the_metrics_say_so() {
        let t = Tally::default();
        t.add(18, Duration::from_micros(2_500));
        t.add(2, Duration::from_micros(500));
        let writes = t.now();
        assert_eq!(writes, Rounds { rounds: 2, jobs: 20, seconds: 0.003 });
        let mut out = String::new();
        Batching { writes, reads: Rounds::default() }.metrics(&mut out);
        assert!(out.contains("# TYPE tocsin_store_write_batches_total counter\n"), "{out}");
        assert!(out.contains("\ntocsin_store_write_batches_total 2\n"), "{out}");
        assert!(out.contains("\ntocsin_store_write_jobs_total 20\n"), "{out}");
        assert!(out.contains("\ntocsin_store_write_seconds_total 0.003\n"), "{out}");
        assert!(out.contains("\ntocsin_store_read_jobs_total 0\n"), "{out}");
    }
}
