//! The report: every measurement, the targets checked against them, a Markdown rendering for
//! stdout and the JSON written to `target/bench/report.json`.

use serde::Serialize;

use crate::cost::Cost;
use crate::fanout::{Fanout, Sustained};
use crate::flags::Ingestion;
use crate::load::{Plan, Ramp, Step};
use crate::metrics::Scrapes;
use crate::postmortem::Render;

/// How the numbers were taken; printed under the tables and kept in the JSON.
const METHOD: [&str; 8] = [
    "Open loop: each request is sent at its scheduled time whatever the server does, and its \
     latency is counted from that scheduled time (so a stall is charged to every request \
     queued behind it: no coordinated omission). \"send lag\" is how late the generator itself \
     was; it is part of the latency.",
    "A request fails when the answer is not 2xx, lacks the expected reply, or takes over 3 s \
     (Slack's ack deadline); failed requests keep their time in the percentiles.",
    "A ramp stops after the first step that answers under 90% of the offered rate or fails over \
     1% of requests; saturation is the best achieved rate. Without such a step it is a lower \
     bound.",
    "Requests are signed before each step; the load generator, the Slack double and the server \
     under test share the machine.",
    "tocsin serve is the release build with a fresh SQLite file (WAL, synchronous=FULL) per \
     phase; the Bolt baseline is Bolt for Python behind gunicorn, (2 x cores) + 1 sync workers.",
    "Flags are recorded when a read of the database sees them; fan-out times come from when \
     the Slack double accepted each post, with 1 post per second per channel enforced.",
    "RSS is /proc VmRSS after start-up (idle) and VmHWM at the end of the phase (peak under \
     load), summed over the process and its children; MB = 10^6 bytes.",
    "Ready is from spawning the process to the first good answer (GET /healthz for tocsin, \
     any answer for gunicorn), polled every millisecond.",
];

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
    pub kernel: String,
    pub memory_gb: f64,
}

impl Machine {
    pub fn read() -> Self {
        let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, name)| name.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        Self { nproc, cpu, kernel, memory_gb: kib * 1024.0 / 1e9 }
    }
}

/// One start of a server under test.
#[derive(Debug, Clone, Serialize)]
pub struct Start {
    pub server: String,
    pub phase: String,
    pub ready_ms: f64,
    pub idle_rss_mb: f64,
    pub peak_rss_mb: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub target: String,
    pub measured: String,
    /// None when it could not be measured.
    pub met: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub generated_at: String,
    pub machine: Machine,
    pub mode: String,
    pub method: Vec<&'static str>,
    pub targets: Vec<Target>,
    pub ramps: Vec<Ramp>,
    pub ingestion: Option<Ingestion>,
    /// The same ingestion with tocsin on PostgreSQL.
    pub ingestion_pg: Option<Ingestion>,
    pub fanout: Vec<Fanout>,
    pub sustained: Option<Sustained>,
    pub postmortem: Vec<Render>,
    pub metrics: Option<Scrapes>,
    pub cost: Option<Cost>,
    pub starts: Vec<Start>,
    pub failures: Vec<String>,
}

impl Report {
    pub fn new(machine: Machine, plan: &Plan) -> Self {
        let rates: Vec<String> = plan.rates.iter().map(u64::to_string).collect();
        let mode = format!(
            "{} ({} s steps at {}/s; {} flags ingested)",
            if plan.quick { "quick" } else { "full" },
            plan.step.as_secs_f64(),
            rates.join(", "),
            plan.ingest
        );
        Self {
            generated_at: chrono::Utc::now().to_rfc3339(),
            machine,
            mode,
            method: METHOD.to_vec(),
            targets: Vec::new(),
            ramps: Vec::new(),
            ingestion: None,
            ingestion_pg: None,
            fanout: Vec::new(),
            sustained: None,
            postmortem: Vec::new(),
            metrics: None,
            cost: None,
            starts: Vec::new(),
            failures: Vec::new(),
        }
    }

    pub fn failed(&mut self, phase: &str, error: &anyhow::Error) {
        eprintln!("{phase} failed: {error:#}");
        self.failures.push(format!("{phase}: {error:#}"));
    }

    fn ramp(&self, server: &str, request: &str) -> Option<&Ramp> {
        self.ramps.iter().find(|r| r.server == server && r.request.starts_with(request))
    }

    /// Checks the targets against what was measured.
    pub fn check_targets(&mut self) {
        let mut targets = Vec::new();
        // A ramp that did not run is not measured; one that ran and never
        // reached the rate did not meet the target.
        let p99_at = |request: &str, rate: u64, target: String| match self.ramp("tocsin", request) {
            None => unmeasured(&target),
            Some(r) => {
                let step = r.at(rate);
                Target {
                    target,
                    measured: step.map_or("not reached".into(), |s: &Step| {
                        format!("{:.2} ms ({} errors)", s.p99_ms, s.errors)
                    }),
                    met: Some(step.is_some_and(|s| s.p99_ms <= 10.0)),
                }
            }
        };
        for (request, what) in [("status", "read-only"), ("note", "state-changing")] {
            targets.push(p99_at(
                request,
                1000,
                format!("p99 ack <= 10 ms at 1,000 commands/s ({what})"),
            ));
        }
        targets.push(p99_at(
            "note",
            2000,
            "p99 ack <= 10 ms at 2,000 notes/s, all on one incident".into(),
        ));
        let note = self.ramp("tocsin", "note");
        targets.push(match note {
            Some(r) => Target {
                target: "state-changing commands at saturation >= 5,000/s".into(),
                measured: format!(
                    "{:.0}/s{}",
                    r.saturation_per_s,
                    if r.saturated { "" } else { " (not saturated: a lower bound)" }
                ),
                met: Some(r.saturation_per_s >= 5000.0),
            },
            None => unmeasured("state-changing commands at saturation >= 5,000/s"),
        });
        targets.push(self.ratio_target());
        for (ingestion, store, floor) in
            [(&self.ingestion, "SQLite", 10_000.0), (&self.ingestion_pg, "PostgreSQL", 5_000.0)]
        {
            let name = format!("flags recorded durably on {store} >= {floor:.0}/s");
            targets.push(match ingestion {
                Some(i) => Target {
                    target: name,
                    measured: format!(
                        "{:.0}/s ({} of {} recorded)",
                        i.durable_per_s, i.recorded, i.flags
                    ),
                    met: Some(i.durable_per_s >= floor && i.recorded == i.flags),
                },
                None => unmeasured(&name),
            });
        }
        let name = "5 updates to 100 subscribers within 5% of the ideal 4 s, no 429 storms";
        targets.push(match &self.sustained {
            Some(s) => Target {
                target: name.into(),
                measured: format!(
                    "{:.2} s (x{:.3}); {:.3} posts/s per channel (slowest {:.3}), {} 429s in {} posts",
                    s.elapsed_s,
                    s.ratio_to_ideal,
                    s.mean_channel_rate_per_s,
                    s.slowest_channel_rate_per_s,
                    s.rate_limited,
                    s.posts
                ),
                met: Some(s.ratio_to_ideal <= 1.05 && s.rate_limited * 100 <= s.posts),
            },
            None => unmeasured(name),
        });
        let render = |n: usize| self.postmortem.iter().find(|r| r.entries == n);
        targets.push(match render(10_000) {
            Some(r) => Target {
                target: "postmortem of 10,000 entries <= 100 ms".into(),
                measured: format!("{:.2} ms", r.median_ms),
                met: Some(r.median_ms <= 100.0),
            },
            None => unmeasured("postmortem of 10,000 entries <= 100 ms"),
        });
        targets.push(match (render(10_000), render(100_000)) {
            (Some(a), Some(b)) => {
                let growth = b.ms_per_1000_entries / a.ms_per_1000_entries.max(1e-9);
                Target {
                    target: "postmortem cost grows linearly (per-entry cost 100k / 10k <= 1.5)"
                        .into(),
                    measured: format!(
                        "{:.3} → {:.3} ms per 1,000 entries (x{growth:.2})",
                        a.ms_per_1000_entries, b.ms_per_1000_entries
                    ),
                    met: Some(growth <= 1.5),
                }
            }
            _ => unmeasured("postmortem cost grows linearly"),
        });
        let name = "/metrics costs the same over 1,000,000 delivered rows as over none (x <= 1.5)";
        targets.push(match &self.metrics {
            Some(m) => Target {
                target: name.into(),
                measured: format!(
                    "median {:.2} ms → {:.2} ms (x{:.2})",
                    m.empty_median_ms,
                    m.full_median_ms,
                    m.ratio()
                ),
                met: Some(m.ratio() <= 1.5),
            },
            None => unmeasured(name),
        });
        let runs: Vec<&Start> = self.starts.iter().filter(|s| s.server == "tocsin").collect();
        let peak = runs.iter().map(|s| s.peak_rss_mb).reduce(f64::max);
        targets.push(match peak {
            Some(mb) => Target {
                target: "RSS <= 50 MB under load".into(),
                measured: format!("{mb:.1} MB peak (largest of {} runs)", runs.len()),
                met: Some(mb <= 50.0),
            },
            None => unmeasured("RSS <= 50 MB under load"),
        });
        let ready = runs.iter().map(|s| s.ready_ms).reduce(f64::max);
        targets.push(match ready {
            Some(r) => Target {
                target: "ready <= 200 ms".into(),
                measured: format!("{r:.1} ms (slowest of {} starts)", runs.len()),
                met: Some(r <= 200.0),
            },
            None => unmeasured("ready <= 200 ms"),
        });
        self.targets = targets;
    }

    fn ratio_target(&self) -> Target {
        let name = "throughput at saturation >= 10x the Bolt baseline";
        let (Some(ours), Some(bolt)) = (self.ramp("tocsin", "status"), self.ramp("bolt", "status"))
        else {
            return unmeasured(name);
        };
        let ratio = ours.saturation_per_s / bolt.saturation_per_s.max(1e-9);
        let bound = if ours.saturated { "" } else { ", tocsin not saturated: a lower bound" };
        Target {
            target: name.into(),
            measured: format!(
                "{:.0}/s vs {:.0}/s = x{ratio:.1}{bound}",
                ours.saturation_per_s, bolt.saturation_per_s
            ),
            met: Some(ratio >= 10.0),
        }
    }

    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut out = format!(
            "# tocsin load report\n\n{} x {}, {:.1} GB, Linux {} · {} · {}\n\n",
            m.nproc, m.cpu, m.memory_gb, m.kernel, self.mode, self.generated_at
        );
        out.push_str("## Targets\n\n| target | measured | met |\n|---|---|---|\n");
        for t in &self.targets {
            let met = match t.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "not measured",
            };
            out.push_str(&format!("| {} | {} | {met} |\n", t.target, t.measured));
        }
        self.ack_tables(&mut out);
        self.other_tables(&mut out);
        out.push_str("\n## Method\n\n");
        for note in &self.method {
            out.push_str(&format!("- {note}\n"));
        }
        if !self.failures.is_empty() {
            out.push_str("\n## Failures\n\n");
            for f in &self.failures {
                out.push_str(&format!("- {f}\n"));
            }
        }
        out
    }

    fn ack_tables(&self, out: &mut String) {
        out.push_str("\n## Ack latency, open loop\n\n");
        out.push_str(
            "| server | request | offered/s | achieved/s | p50 ms | p99 ms | max ms | errors \
             | send lag p99 ms |\n|---|---|---|---|---|---|---|---|---|\n",
        );
        for r in &self.ramps {
            for s in &r.steps {
                out.push_str(&format!(
                    "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {} | {:.2} |\n",
                    r.server,
                    r.request,
                    s.offered_per_s,
                    s.achieved_per_s,
                    s.p50_ms,
                    s.p99_ms,
                    s.max_ms,
                    s.errors,
                    s.send_lag_p99_ms
                ));
            }
        }
        out.push('\n');
        for r in &self.ramps {
            let how = if r.saturated { "saturated" } else { "not saturated: a lower bound" };
            out.push_str(&format!(
                "- {} {}: {:.0}/s at saturation ({how})\n",
                r.server, r.request, r.saturation_per_s
            ));
        }
    }

    fn other_tables(&self, out: &mut String) {
        let ingestions = [("SQLite", &self.ingestion), ("PostgreSQL", &self.ingestion_pg)];
        if ingestions.iter().any(|(_, i)| i.is_some()) {
            out.push_str("\n## Timeline ingestion\n\n");
            out.push_str(
                "| store | flags | in flight | acked/s | durable/s | recorded | errors |\n",
            );
            out.push_str("|---|---|---|---|---|---|---|\n");
        }
        for (store, i) in ingestions {
            if let Some(i) = i {
                out.push_str(&format!(
                    "| {store} | {} | {} | {:.0} | {:.0} | {} | {} |\n",
                    i.flags, i.concurrency, i.acked_per_s, i.durable_per_s, i.recorded, i.errors
                ));
            }
        }
        if !self.fanout.is_empty() {
            out.push_str("\n## Fan-out of one status update (1 post/s per channel enforced)\n\n");
            out.push_str("| subscribers | ack ms | first channel ms | all channels ms | posts/s ");
            out.push_str("| 429s |\n|---|---|---|---|---|---|\n");
            for f in &self.fanout {
                out.push_str(&format!(
                    "| {} | {:.1} | {:.0} | {:.0} | {:.0} | {} |\n",
                    f.subscribers, f.ack_ms, f.first_ms, f.all_ms, f.posts_per_s, f.rate_limited
                ));
            }
        }
        if let Some(s) = &self.sustained {
            out.push_str(&format!(
                "\nSustained: {} updates to {} subscribers in {:.2} s (ideal {:.0} s, x{:.2}); \
                 {:.3} posts/s per channel (slowest {:.3}, shortest gap {:.0} ms); {} 429s.\n",
                s.updates,
                s.subscribers,
                s.elapsed_s,
                s.ideal_s,
                s.ratio_to_ideal,
                s.mean_channel_rate_per_s,
                s.slowest_channel_rate_per_s,
                s.min_gap_ms,
                s.rate_limited
            ));
        }
        if !self.postmortem.is_empty() {
            out.push_str("\n## Postmortem render\n\n| entries | median ms | ms per 1,000 entries ");
            out.push_str("| output kB | runs |\n|---|---|---|---|---|\n");
            for r in &self.postmortem {
                out.push_str(&format!(
                    "| {} | {:.2} | {:.3} | {:.0} | {} |\n",
                    r.entries, r.median_ms, r.ms_per_1000_entries, r.output_kb, r.runs
                ));
            }
        }
        if let Some(m) = &self.metrics {
            out.push_str("\n## /metrics over a long history\n\n| delivered rows | median ms ");
            out.push_str("| p99 ms |\n|---|---|---|\n");
            out.push_str(&format!("| 0 | {:.2} | {:.2} |\n", m.empty_median_ms, m.empty_p99_ms));
            out.push_str(&format!(
                "| {} | {:.2} | {:.2} |\n",
                m.delivered_rows, m.full_median_ms, m.full_p99_ms
            ));
        }
        if let Some(c) = &self.cost {
            out.push_str("\n## Instructions per flag (callgrind, tocsin's user space)\n\n");
            out.push_str("| flags | instructions | callgrind output in target/bench |\n");
            out.push_str("|---|---|---|\n");
            for r in [&c.small, &c.large] {
                let name = r.profile.file_name().unwrap_or_default().to_string_lossy();
                out.push_str(&format!("| {} | {} | {name} |\n", r.flags, r.instructions));
            }
            out.push_str(&format!("\n{:.0} instructions per flag.\n", c.per_flag));
        }
        if !self.starts.is_empty() {
            out.push_str("\n## Servers\n\n| server | phase | ready ms | idle RSS MB ");
            out.push_str("| peak RSS MB |\n|---|---|---|---|---|\n");
            for s in &self.starts {
                out.push_str(&format!(
                    "| {} | {} | {:.1} | {:.1} | {:.1} |\n",
                    s.server, s.phase, s.ready_ms, s.idle_rss_mb, s.peak_rss_mb
                ));
            }
        }
    }
}

fn unmeasured(target: &str) -> Target {
    Target { target: target.into(), measured: "not measured".into(), met: None }
}
