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
use chrono::{DateTime, Utc};

pub use payload::{generic, notification};

/// Where an alert came in, and how its body reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Alertmanager,
    Grafana,
    Generic,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "alertmanager" => Some(Kind::Alertmanager),
            "grafana" => Some(Kind::Grafana),
            "generic" => Some(Kind::Generic),
            _ => None,
        }
    }
}

/// Alert bodies to engine events: parsed, matched against the rules.
/// The HTTP endpoints and the console's `:alert` share it.
pub struct Intake {
    platform: Platform,
    rules: Vec<rules::Rule>,
    severities: Vec<String>,
}

impl Intake {
    pub fn new(config: &AlertsConfig, severities: &[String]) -> Self {
        Self {
            platform: config.platform,
            rules: config.rules.iter().map(rules::Rule::new).collect(),
            severities: severities.to_vec(),
        }
    }

    /// The event for one notification, or what is wrong with its body.
    pub fn read(&self, kind: Kind, body: &[u8], now: DateTime<Utc>) -> Result<Inbound, String> {
        let batch = match kind {
            Kind::Alertmanager => notification("alertmanager", body)?,
            Kind::Grafana => notification("grafana", body)?,
            Kind::Generic => generic(body, now)?,
        };
        let rule = rules::first_match(&self.rules, &batch, &self.severities);
        let me =
            UserRef::named(self.platform, format!("alerts:{}", batch.source), batch.source.clone());
        let ctx = Ctx {
            user: me,
            channel: ChannelRef::new(self.platform, ""),
            event_id: Some(event_id(&batch)),
        };
        Ok(Inbound::new(ctx, Event::Alert { batch, rule }))
    }
}

pub struct AlertsState {
    app: Arc<App>,
    token: String,
    intake: Intake,
}

impl AlertsState {
    pub fn new(app: Arc<App>, config: &AlertsConfig, severities: &[String]) -> Self {
        Self { app, token: config.token.to_string(), intake: Intake::new(config, severities) }
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
    receive(&s, &headers, &body, Kind::Alertmanager).await
}

async fn grafana(State(s): State<Arc<AlertsState>>, headers: HeaderMap, body: Bytes) -> Response {
    receive(&s, &headers, &body, Kind::Grafana).await
}

async fn generic_endpoint(
    State(s): State<Arc<AlertsState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(&s, &headers, &body, Kind::Generic).await
}

async fn receive(s: &AlertsState, headers: &HeaderMap, body: &[u8], kind: Kind) -> Response {
    if !authorized(s, headers) {
        warn!("refused an alert without the right bearer token");
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "unauthorized\n",
        )
            .into_response();
    }
    let inbound = match s.intake.read(kind, body, s.app.now()) {
        Ok(i) => i,
        Err(why) => {
            warn!(why, "unreadable alert");
            return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": why}))).into_response();
        }
    };
    let reply = s.app.handle(inbound).await;
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
