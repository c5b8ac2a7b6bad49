//! Doubles of what tocsin pages and calls, on 127.0.0.1: PagerDuty's Events
//! API v2 (`POST /v2/enqueue`), Opsgenie's Alert API (`POST /v2/alerts`,
//! `POST /v2/alerts/{alias}/close?identifierType=alias`) and a webhook
//! receiver that verifies the HMAC signature. Each checks the fields its
//! documentation requires and answers 400/401/422 the way the service does;
//! what breaks a rule is kept as a violation for the test to assert empty.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// The Opsgenie API key the double accepts.
pub const GENIE_KEY: &str = "eb243592-faa2-4ba2-a551q-1afdf565c889";
/// The PagerDuty routing key (an integration key is 32 characters).
pub const ROUTING_KEY: &str = "R0123456789abcdef0123456789abcde";
/// The webhook receiver's shared secret.
pub const HOOK_SECRET: &str = "a-webhook-secret-of-32-characters";

/// A PagerDuty event as received.
#[derive(Debug, Clone)]
pub struct PdEvent {
    pub action: String,
    pub dedup_key: String,
    pub body: Value,
}

/// An Opsgenie call: "create" with its body, or "close" with the alias.
#[derive(Debug, Clone)]
pub struct GenieCall {
    pub action: String,
    pub alias: String,
    pub body: Value,
}

/// A webhook call whose signature checked out.
#[derive(Debug, Clone)]
pub struct HookCall {
    pub event: String,
    pub delivery: String,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    pagerduty: Vec<PdEvent>,
    opsgenie: Vec<GenieCall>,
    hooks: Vec<HookCall>,
    /// Statuses to answer the next PagerDuty calls with, before handling any.
    pd_failures: VecDeque<u16>,
    violations: Vec<String>,
}

#[derive(Clone)]
pub struct PagingApi {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl PagingApi {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/v2/enqueue", post(pagerduty))
            .route("/v2/alerts", post(genie_create))
            .route("/v2/alerts/{alias}/close", post(genie_close))
            .route("/hook", post(hook))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, inner }
    }

    pub fn pagerduty_url(&self) -> String {
        format!("http://{}/v2/enqueue", self.addr)
    }
    pub fn opsgenie_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn hook_url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn pagerduty(&self) -> Vec<PdEvent> {
        self.inner.lock().unwrap().pagerduty.clone()
    }
    pub fn opsgenie(&self) -> Vec<GenieCall> {
        self.inner.lock().unwrap().opsgenie.clone()
    }
    pub fn hooks(&self) -> Vec<HookCall> {
        self.inner.lock().unwrap().hooks.clone()
    }
    pub fn violations(&self) -> Vec<String> {
        self.inner.lock().unwrap().violations.clone()
    }
    /// The next PagerDuty calls get these statuses (e.g. 500, 429) instead of an answer.
    pub fn fail_pagerduty(&self, statuses: &[u16]) {
        self.inner.lock().unwrap().pd_failures.extend(statuses);
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

fn json_body(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// What the Events API v2 refuses (docs: send-alert-event).
fn pagerduty_errors(v: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    if text(v, "routing_key").is_none() {
        errors.push("'routing_key' is missing or blank".to_string());
    }
    let action = text(v, "event_action").unwrap_or("");
    if !["trigger", "acknowledge", "resolve"].contains(&action) {
        errors.push(format!("'event_action' is invalid: {action:?}"));
    }
    match text(v, "dedup_key") {
        Some(k) if k.len() > 255 => errors.push("'dedup_key' is longer than 255".into()),
        None if action != "trigger" => errors.push("'dedup_key' is required".into()),
        _ => {}
    }
    if action == "trigger" {
        let p = &v["payload"];
        match text(p, "summary") {
            None => errors.push("'payload.summary' is missing or blank".into()),
            Some(s) if s.chars().count() > 1024 => errors.push("'payload.summary' > 1024".into()),
            _ => {}
        }
        if text(p, "source").is_none() {
            errors.push("'payload.source' is missing or blank".into());
        }
        let sev = text(p, "severity").unwrap_or("");
        if !["critical", "error", "warning", "info"].contains(&sev) {
            errors.push(format!("'payload.severity' is invalid: {sev:?}"));
        }
    }
    errors
}

async fn pagerduty(State(s): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let mut inner = s.lock().unwrap();
    if let Some(status) = inner.pd_failures.pop_front() {
        return StatusCode::from_u16(status).unwrap().into_response();
    }
    if !headers.get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"application/json")) {
        inner.violations.push("PagerDuty: no JSON content type".into());
    }
    let v = match json_body(&body) {
        Ok(v) => v,
        Err(e) => {
            inner.violations.push(format!("PagerDuty: {e}"));
            return (StatusCode::BAD_REQUEST, axum::Json(json!({"status": "Unrecognized object", "message": "Event object format is unrecognized", "errors": ["JSON parse error"]}))).into_response();
        }
    };
    let errors = pagerduty_errors(&v);
    if !errors.is_empty() {
        inner.violations.push(format!("PagerDuty: {errors:?} in {v}"));
        let body = json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    let dedup_key = text(&v, "dedup_key").unwrap_or("generated").to_string();
    inner.pagerduty.push(PdEvent {
        action: text(&v, "event_action").unwrap().to_string(),
        dedup_key: dedup_key.clone(),
        body: v,
    });
    let answer = json!({"status": "success", "message": "Event processed", "dedup_key": dedup_key});
    (StatusCode::ACCEPTED, axum::Json(answer)).into_response()
}

/// Opsgenie's checks common to every call: the GenieKey and a JSON body.
fn genie_checked(
    inner: &mut Inner,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, Box<Response>> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if auth != format!("GenieKey {GENIE_KEY}") {
        inner.violations.push(format!("Opsgenie: authorization {auth:?}"));
        let body = json!({"message": "Could not authenticate", "took": 0.0, "requestId": "r"});
        return Err(Box::new((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()));
    }
    json_body(body).map_err(|e| {
        inner.violations.push(format!("Opsgenie: {e}"));
        Box::new((StatusCode::BAD_REQUEST, axum::Json(json!({"message": e}))).into_response())
    })
}

fn accepted() -> Response {
    let body = json!({"result": "Request will be processed", "took": 0.302, "requestId": "43a29c5c-3dbf-4fa4-9c26-f4f71023e120"});
    (StatusCode::ACCEPTED, axum::Json(body)).into_response()
}

async fn genie_create(State(s): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let mut inner = s.lock().unwrap();
    let v = match genie_checked(&mut inner, &headers, &body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let mut errors = BTreeMap::new();
    match text(&v, "message") {
        None => drop(errors.insert("message", "Message can not be empty.".to_string())),
        Some(m) if m.chars().count() > 130 => {
            drop(errors.insert("message", "longer than 130".into()))
        }
        _ => {}
    }
    if text(&v, "alias").is_some_and(|a| a.chars().count() > 512) {
        errors.insert("alias", "longer than 512".into());
    }
    if let Some(p) = v.get("priority").and_then(Value::as_str)
        && !["P1", "P2", "P3", "P4", "P5"].contains(&p)
    {
        errors.insert("priority", format!("invalid priority {p}"));
    }
    let tags = v.get("tags").and_then(Value::as_array).cloned().unwrap_or_default();
    if tags.len() > 20 || tags.iter().any(|t| t.as_str().is_none_or(|t| t.chars().count() > 50)) {
        errors.insert("tags", "at most 20 tags of at most 50 characters".into());
    }
    if !errors.is_empty() {
        inner.violations.push(format!("Opsgenie: {errors:?}"));
        let body = json!({"message": "Request body is not processable. Please check the errors.", "errors": errors, "took": 0.08, "requestId": "r"});
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response();
    }
    let alias = text(&v, "alias").unwrap_or("").to_string();
    inner.opsgenie.push(GenieCall { action: "create".into(), alias, body: v });
    accepted()
}

async fn genie_close(
    State(s): Shared,
    Path(alias): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut inner = s.lock().unwrap();
    let v = match genie_checked(&mut inner, &headers, &body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    if q.get("identifierType").map(String::as_str) != Some("alias") {
        inner.violations.push(format!("Opsgenie close without identifierType=alias: {q:?}"));
    }
    inner.opsgenie.push(GenieCall { action: "close".into(), alias, body: v });
    accepted()
}

/// Verifies `X-Tocsin-Signature` the way a receiver would, with the secret
/// it was given: HMAC-SHA256 over `timestamp.body`, compared in constant time.
async fn hook(State(s): Shared, headers: HeaderMap, body: Bytes) -> Response {
    use hmac::{Hmac, KeyInit, Mac};
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let timestamp = header("x-tocsin-timestamp");
    let signature = header("x-tocsin-signature");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&body);
    let given = signature.strip_prefix("sha256=").and_then(|h| hex::decode(h).ok());
    let mut inner = s.lock().unwrap();
    if given.is_none_or(|g| mac.verify_slice(&g).is_err()) {
        inner.violations.push(format!("webhook: bad signature {signature:?}"));
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().unwrap_or(0);
    if age.abs() > 300 {
        inner.violations.push(format!("webhook: timestamp {age} s old"));
    }
    let body = match json_body(&body) {
        Ok(v) => v,
        Err(e) => {
            inner.violations.push(format!("webhook: {e}"));
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    inner.hooks.push(HookCall {
        event: header("x-tocsin-event"),
        delivery: header("x-tocsin-delivery"),
        body,
    });
    StatusCode::NO_CONTENT.into_response()
}
