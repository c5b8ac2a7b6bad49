//! `/healthz`, `/readyz` and `/metrics` (Prometheus text).

use std::fmt::Write;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Health;
use crate::store::Sink;

/// Liveness: the process answers. Stays up through platform and database trouble.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: 200 "ready" when the database answers and no platform has
/// been failing for longer than the outbox's `degraded_after`; 503
/// "degraded: …" naming what is wrong otherwise. A single 429 or blip does
/// not take a replica out of its load balancer. The outbox keeps everything
/// meanwhile.
pub async fn readyz(State(s): State<Health>) -> Response {
    if let Err(e) = s.store.ping().await {
        tracing::warn!(error = %e, "readyz: database unavailable");
        return (StatusCode::SERVICE_UNAVAILABLE, "degraded: database unavailable\n")
            .into_response();
    }
    let now = s.outbox.now();
    let after = s.outbox.policy().degraded_after;
    let degraded: Vec<_> = s
        .outbox
        .sinks()
        .into_iter()
        .filter_map(|p| s.outbox.counters.degraded(p, now, after).map(|streak| (p, streak)))
        .collect();
    if degraded.is_empty() {
        // The probe runs often: the backlog is read only when there is something to report.
        return "ready\n".into_response();
    }
    let backlogs = match s.store.outbox_stats().await {
        Ok(st) => st.by_sink,
        Err(_) => Vec::new(),
    };
    let mut problems = Vec::new();
    for (p, streak) in degraded {
        let backlog = backlogs.iter().find(|b| b.sink == p);
        let waiting = backlog.map_or(0, |b| b.pending);
        let oldest =
            backlog.and_then(|b| b.oldest_pending).map_or(0, |t| (now - t).num_seconds().max(0));
        problems.push(format!(
            "{p} is failing (for {}s: {}; {waiting} deliveries waiting, oldest {oldest}s)",
            (now - streak.since).num_seconds().max(0),
            streak.why
        ));
    }
    (StatusCode::SERVICE_UNAVAILABLE, format!("degraded: {}\n", problems.join("; ")))
        .into_response()
}

pub async fn metrics(State(s): State<Health>) -> Response {
    let stats = match s.store.outbox_stats().await {
        Ok(st) => st,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: database unavailable");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
        }
    };
    // Every chat platform (0 when off), and every other destination in use.
    let mut sinks: std::collections::BTreeSet<Sink> = Sink::CHAT.into_iter().collect();
    sinks.extend(s.outbox.sinks());
    sinks.extend(stats.by_sink.iter().map(|b| b.sink));
    let mut out = String::new();
    gauge_line(
        &mut out,
        "tocsin_outbox_pending",
        "Deliveries waiting in the outbox.",
        stats.pending as f64,
    );
    gauge_line(
        &mut out,
        "tocsin_outbox_retrying",
        "Pending deliveries that failed at least once.",
        stats.retrying as f64,
    );
    let age = stats
        .oldest_pending
        .map(|t| (s.outbox.now() - t).num_milliseconds().max(0) as f64 / 1000.0);
    gauge_line(
        &mut out,
        "tocsin_outbox_oldest_pending_seconds",
        "Age of the oldest pending delivery.",
        age.unwrap_or(0.0),
    );
    for (name, help, pick) in [
        ("tocsin_deliveries_total", "Deliveries made by this process.", 0),
        ("tocsin_delivery_failures_total", "Deliveries given up on by this process.", 1),
        ("tocsin_delivery_retries_total", "Deliveries rescheduled after a platform fault.", 2),
        ("tocsin_delivery_paced_total", "Deliveries held back to keep within rate limits.", 3),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for p in &sinks {
            let c = s.outbox.counters.get(*p);
            let v = [c.delivered, c.failed, c.retried, c.paced][pick];
            let _ = writeln!(out, "{name}{{platform=\"{p}\"}} {v}");
        }
    }
    for extra in s.metrics.iter() {
        extra(&mut out);
    }
    let now = s.outbox.now();
    for (name, help) in [
        ("tocsin_outbox_pending_by_platform", "Deliveries waiting, per platform."),
        (
            "tocsin_outbox_oldest_pending_seconds_by_platform",
            "Age of the oldest waiting delivery, per platform.",
        ),
        (
            "tocsin_platform_degraded",
            "1 when the platform has been failing for longer than readiness allows.",
        ),
        (
            "tocsin_platform_failing_seconds",
            "How long the platform's current run of faults has lasted (0: none).",
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for p in sinks.iter().copied() {
            let b = stats.by_sink.iter().find(|b| b.sink == p);
            let v = match name {
                "tocsin_outbox_pending_by_platform" => b.map_or(0.0, |b| b.pending as f64),
                "tocsin_platform_degraded" => f64::from(u8::from(
                    s.outbox.counters.degraded(p, now, s.outbox.policy().degraded_after).is_some(),
                )),
                "tocsin_platform_failing_seconds" => s
                    .outbox
                    .counters
                    .failing(p)
                    .map_or(0.0, |f| (now - f.since).num_milliseconds().max(0) as f64 / 1000.0),
                _ => b
                    .and_then(|b| b.oldest_pending)
                    .map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0),
            };
            let _ = writeln!(out, "{name}{{platform=\"{p}\"}} {v}");
        }
    }
    let name = "tocsin_platform_fault";
    let _ = writeln!(
        out,
        "# HELP {name} 1 for the kind of fault a failing platform's deliveries wait on.\n# TYPE {name} gauge"
    );
    for p in sinks.iter().copied() {
        if let Some(f) = s.outbox.counters.failing(p) {
            let _ = writeln!(out, "{name}{{platform=\"{p}\",cause=\"{}\"}} 1", f.cause.as_str());
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

fn gauge_line(out: &mut String, name: &str, help: &str, v: f64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
}
