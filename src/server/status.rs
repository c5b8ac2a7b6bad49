//! `/status`: open public incidents and their latest update.

use std::fmt::Write;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::Health;

pub async fn status(State(s): State<Health>) -> Response {
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
