//! Alerts in: `POST /alerts/alertmanager`, `/alerts/grafana` and
//! `/alerts/generic`. The bearer token is checked (in constant time) before
//! the body is read; a malformed body gets 400 naming what is wrong; the
//! first matching rule decides what incident to open, and the answer comes
//! only once the engine has recorded the alert, so a sender that retries on
//! a failure (Alertmanager does) loses nothing.

mod payload;
mod rules;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tracing::warn;

use crate::app::{App, Ctx, Event, Inbound};
use crate::config::AlertsConfig;
use crate::incident::alerting::AlertBatch;
use crate::incident::{ChannelRef, Platform, UserRef};

pub use payload::{generic, notification};

pub struct AlertsState {
    app: Arc<App>,
    token: String,
    platform: Platform,
    rules: Vec<rules::Rule>,
    severities: Vec<String>,
}

impl AlertsState {
    pub fn new(app: Arc<App>, config: &AlertsConfig, severities: &[String]) -> Self {
        Self {
            app,
            token: config.token.to_string(),
            platform: config.platform,
            rules: config.rules.iter().map(rules::Rule::new).collect(),
            severities: severities.to_vec(),
        }
    }
}

pub fn routes(state: Arc<AlertsState>) -> Router {
    Router::new()
        .route("/alerts/alertmanager", post(alertmanager))
        .route("/alerts/grafana", post(grafana))
        .route("/alerts/generic", post(generic_endpoint))
        .with_state(state)
}

/// Whether the request carries `Authorization: Bearer <token>`.
fn authorized(state: &AlertsState, headers: &HeaderMap) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .unwrap_or("");
    // Compared as hashes, so neither the length nor the bytes leak through timing.
    let (a, b) = (Sha256::digest(given.trim().as_bytes()), Sha256::digest(state.token.as_bytes()));
    bool::from(a[..].ct_eq(&b[..])) && !given.is_empty()
}

async fn alertmanager(
    State(s): State<Arc<AlertsState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(&s, &headers, &body, |b| notification("alertmanager", b)).await
}

async fn grafana(State(s): State<Arc<AlertsState>>, headers: HeaderMap, body: Bytes) -> Response {
    receive(&s, &headers, &body, |b| notification("grafana", b)).await
}

async fn generic_endpoint(
    State(s): State<Arc<AlertsState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = s.app.now();
    receive(&s, &headers, &body, |b| generic(b, now)).await
}

async fn receive(
    s: &AlertsState,
    headers: &HeaderMap,
    body: &[u8],
    parse: impl FnOnce(&[u8]) -> Result<AlertBatch, String>,
) -> Response {
    if !authorized(s, headers) {
        warn!("refused an alert without the right bearer token");
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "unauthorized\n",
        )
            .into_response();
    }
    let batch = match parse(body) {
        Ok(b) => b,
        Err(why) => {
            warn!(why, "unreadable alert");
            return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": why}))).into_response();
        }
    };
    let rule = rules::first_match(&s.rules, &batch, &s.severities);
    let me = UserRef::named(s.platform, format!("alerts:{}", batch.source), batch.source.clone());
    let ctx = Ctx {
        user: me,
        channel: ChannelRef::new(s.platform, ""),
        event_id: Some(event_id(&batch)),
    };
    let reply = s.app.handle(Inbound::new(ctx, Event::Alert { batch, rule })).await;
    let said = reply.message.to_plain();
    if reply.recorded() {
        (StatusCode::OK, axum::Json(json!({"result": said}))).into_response()
    } else {
        // Not recorded: the sender tries again.
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"error": said}))).into_response()
    }
}

/// A notification's identity: the same alerts in the same states from the
/// same group (a retry, or a repeat every repeat_interval) is the same event.
fn event_id(batch: &AlertBatch) -> String {
    let mut alerts: Vec<String> = batch
        .alerts
        .iter()
        .map(|a| format!("{}|{:?}|{}", a.fingerprint, a.status, a.starts_at.timestamp_millis()))
        .collect();
    alerts.sort();
    let mut h = Sha256::new();
    h.update(batch.source.as_bytes());
    h.update([0]);
    h.update(batch.group.as_bytes());
    for a in alerts {
        h.update([0]);
        h.update(a.as_bytes());
    }
    format!("alert:{}", hex::encode(&h.finalize()[..16]))
}
