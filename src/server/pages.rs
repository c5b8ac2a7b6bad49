//! `/healthz`, `/metrics` (Prometheus text) and `/status` (public incidents).

use std::fmt::Write;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::ServerState;
use crate::incident::Platform;

pub async fn healthz() -> &'static str {
    "ok\n"
}

pub async fn metrics(State(s): State<ServerState>) -> Response {
    let stats = match s.store.outbox_stats().await {
        Ok(st) => st,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: database unavailable");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
        }
    };
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, v: f64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
    };
    gauge("tocsin_outbox_pending", "Deliveries waiting in the outbox.", stats.pending as f64);
    gauge(
        "tocsin_outbox_retrying",
        "Pending deliveries that failed at least once.",
        stats.retrying as f64,
    );
    let age = stats
        .oldest_pending
        .map(|t| (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0);
    gauge(
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
        for p in Platform::ALL {
            let c = s.outbox.counters.get(p);
            let v = [c.delivered, c.failed, c.retried, c.paced][pick];
            let _ = writeln!(out, "{name}{{platform=\"{p}\"}} {v}");
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

pub async fn status(State(s): State<ServerState>) -> Response {
    let incidents = match s.store.incidents(false).await {
        Ok(list) => list,
        Err(e) => {
            tracing::warn!(error = %e, "status: database unavailable");
            return (StatusCode::SERVICE_UNAVAILABLE, "status unavailable\n").into_response();
        }
    };
    let public: Vec<_> = incidents.into_iter().filter(|i| !i.private).collect();
    let mut body =
        String::from("<!doctype html><meta charset=utf-8><title>Status</title><h1>Status</h1>");
    if public.is_empty() {
        body.push_str("<p>All systems operational: no open incidents.</p>");
    }
    for i in &public {
        let _ = write!(
            body,
            "<section><h2>{} · {} · {}</h2><p>{}</p>",
            i.id,
            esc(&i.severity),
            i.status.title(),
            esc(&i.title)
        );
        if let Some(u) = i.updates.last() {
            let _ = write!(
                body,
                "<p><time>{}</time> {}</p>",
                u.at.format("%Y-%m-%d %H:%M UTC"),
                esc(&u.message)
            );
        }
        body.push_str("</section>");
    }
    Html(body).into_response()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
