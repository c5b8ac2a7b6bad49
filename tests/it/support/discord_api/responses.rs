//! The double's answers: Discord's error bodies, 429s and timestamps.

use super::*;

pub(super) fn timestamp_of(snowflake: &str) -> String {
    let ms = (snowflake.parse::<u64>().unwrap_or(0) >> 22) + DISCORD_EPOCH_MS;
    let at = chrono::DateTime::from_timestamp_millis(ms as i64).expect("a valid time");
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

pub(super) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

pub(super) fn pinned(ch: &Channel, message: &str) -> bool {
    ch.pins.iter().any(|p| p == message)
}

pub(super) fn bare(status: u16) -> Response {
    StatusCode::from_u16(status).expect("a status").into_response()
}

pub(super) fn ok(body: Value) -> Response {
    axum::Json(body).into_response()
}

pub(super) fn error(status: u16, code: u64, message: &str) -> Response {
    let status = StatusCode::from_u16(status).expect("a status");
    (status, axum::Json(json!({"code": code, "message": message}))).into_response()
}

/// 400 "Invalid Form Body" with the error nested at a dotted path, as Discord does.
pub(super) fn form_error(path: &str, code: &str, message: &str) -> Response {
    let mut errors = json!({"_errors": [{"code": code, "message": message}]});
    for key in path.rsplit('.').filter(|k| !k.is_empty()) {
        let mut outer = Map::new();
        outer.insert(key.to_string(), errors);
        errors = Value::Object(outer);
    }
    let body = json!({"code": 50035, "message": "Invalid Form Body", "errors": errors});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

pub(super) fn rate_limited(retry_after: f64, global: bool) -> Response {
    let message = "You are being rate limited.";
    let body = json!({"message": message, "retry_after": retry_after, "global": global});
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    let h = response.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after.ceil() as u64));
    h.insert("x-ratelimit-scope", HeaderValue::from_static(if global { "global" } else { "user" }));
    if global {
        h.insert("x-ratelimit-global", HeaderValue::from_static("true"));
    }
    response
}
