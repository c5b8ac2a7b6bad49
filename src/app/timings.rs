//! How long incidents take to be acknowledged, mitigated and resolved, as
//! Prometheus histograms per severity. Each process observes the changes it
//! commits, when they commit, so replicas together count each incident once
//! and a restart starts the counters again, as Prometheus expects.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use crate::incident::Incident;

/// Upper bounds in seconds: a minute to a week.
const BUCKETS: [f64; 12] = [
    60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 43200.0, 86400.0, 259200.0,
    604800.0,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Milestone {
    Acknowledged,
    Mitigated,
    Resolved,
}

impl Milestone {
    const ALL: [Milestone; 3] =
        [Milestone::Acknowledged, Milestone::Mitigated, Milestone::Resolved];

    fn metric(self) -> (&'static str, &'static str) {
        match self {
            Milestone::Acknowledged => (
                "tocsin_incident_time_to_acknowledge_seconds",
                "Declared to first acknowledged (or commander taken), per severity.",
            ),
            Milestone::Mitigated => (
                "tocsin_incident_time_to_mitigate_seconds",
                "Declared to monitoring (or resolved), per severity.",
            ),
            Milestone::Resolved => {
                ("tocsin_incident_time_to_resolve_seconds", "Declared to resolved, per severity.")
            }
        }
    }

    fn at(self, i: &Incident) -> Option<chrono::DateTime<chrono::Utc>> {
        match self {
            Milestone::Acknowledged => i.acknowledged.as_ref().map(|a| a.at),
            Milestone::Mitigated => i.mitigated_at,
            Milestone::Resolved => i.resolved_at,
        }
    }
}

/// A milestone a commit reaches, and how long after declaring.
#[derive(Debug, Clone, PartialEq)]
pub struct Reached {
    pub milestone: Milestone,
    pub severity: String,
    pub seconds: f64,
}

/// The milestones `after` has that `before` (if any) did not.
pub fn reached(before: Option<&Incident>, after: &Incident) -> Vec<Reached> {
    Milestone::ALL
        .into_iter()
        .filter(|m| before.is_none_or(|b| m.at(b).is_none()))
        .filter_map(|m| {
            let at = m.at(after)?;
            let seconds = (at - after.declared_at).num_milliseconds().max(0) as f64 / 1000.0;
            Some(Reached { milestone: m, severity: after.severity.clone(), seconds })
        })
        .collect()
}

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Timings {
    histograms: Mutex<BTreeMap<(Milestone, String), Histogram>>,
}

impl Timings {
    pub fn observe(&self, reached: &[Reached]) {
        let mut all = self.histograms.lock().expect("timings");
        for r in reached {
            let h = all.entry((r.milestone, r.severity.clone())).or_default();
            for (bucket, bound) in h.buckets.iter_mut().zip(BUCKETS) {
                if r.seconds <= bound {
                    *bucket += 1;
                }
            }
            h.count += 1;
            h.sum += r.seconds;
        }
    }

    /// The histograms in Prometheus' text format (only those observed).
    pub fn metrics(&self, out: &mut String) {
        let all = self.histograms.lock().expect("timings");
        for m in Milestone::ALL {
            let (name, help) = m.metric();
            let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} histogram\n");
            for ((_, severity), h) in all.iter().filter(|((k, _), _)| *k == m) {
                let sev = severity.replace('\\', "\\\\").replace('"', "\\\"");
                for (n, bound) in h.buckets.iter().zip(BUCKETS) {
                    let _ = writeln!(out, "{name}_bucket{{severity=\"{sev}\",le=\"{bound}\"}} {n}");
                }
                let _ =
                    writeln!(out, "{name}_bucket{{severity=\"{sev}\",le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "{name}_sum{{severity=\"{sev}\"}} {}", h.sum);
                let _ = writeln!(out, "{name}_count{{severity=\"{sev}\"}} {}", h.count);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_fill_every_bucket_at_or_above_them() {
        let t = Timings::default();
        let r = |m, s: &str, seconds| Reached { milestone: m, severity: s.into(), seconds };
        t.observe(&[r(Milestone::Resolved, "SEV1", 90.0), r(Milestone::Resolved, "SEV1", 4000.0)]);
        let mut out = String::new();
        t.metrics(&mut out);
        let name = "tocsin_incident_time_to_resolve_seconds";
        assert!(
            out.contains(&format!("{name}_bucket{{severity=\"SEV1\",le=\"60\"}} 0\n")),
            "{out}"
        );
        assert!(
            out.contains(&format!("{name}_bucket{{severity=\"SEV1\",le=\"300\"}} 1\n")),
            "{out}"
        );
        assert!(
            out.contains(&format!("{name}_bucket{{severity=\"SEV1\",le=\"7200\"}} 2\n")),
            "{out}"
        );
        assert!(
            out.contains(&format!("{name}_bucket{{severity=\"SEV1\",le=\"+Inf\"}} 2\n")),
            "{out}"
        );
        assert!(out.contains(&format!("{name}_sum{{severity=\"SEV1\"}} 4090\n")), "{out}");
        assert!(out.contains("# TYPE tocsin_incident_time_to_acknowledge_seconds histogram\n"));
    }
}
