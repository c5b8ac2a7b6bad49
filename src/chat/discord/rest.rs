//! Discord's REST API over reqwest, with Discord's rate limits kept here.
//!
//! serenity's own `Http` cannot be used for this: with its rate limiter on it
//! ignores `api_base_url` (serenity issue #1739), and with it off a 429 comes
//! back without its body or headers, so `retry_after` is lost. This client
//! keeps both: a 429 (per route or global) blocks that bucket (or every call)
//! until Discord's `retry_after` passes, and calls into a blocked bucket fail
//! at once with [`ChatError::Paced`] instead of storming the API.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::outbox::ChatError;

/// The bucket that stands for Discord's global limit.
const GLOBAL: &str = "*";

/// A request body.
pub enum Body {
    Empty,
    Json(Value),
    /// `payload_json` plus files as `files[n]`: (filename, bytes).
    Multipart(Value, Vec<(String, Vec<u8>)>),
}

/// An error answer from Discord: the HTTP status and Discord's own code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: u64,
    pub message: String,
}

impl Refusal {
    /// Discord's "Unknown Message/Channel/User/Member" and plain 404s.
    pub fn is_unknown(&self) -> bool {
        self.status == 404
    }
}

/// Why a call failed: retryable trouble, or Discord saying no.
#[derive(Debug)]
pub enum CallError {
    Retry(ChatError),
    Refused(Refusal),
}

impl From<CallError> for ChatError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Retry(c) => c,
            CallError::Refused(r) => ChatError::Rejected(format!(
                "Discord {} (code {}): {}",
                r.status, r.code, r.message
            )),
        }
    }
}

pub struct Rest {
    client: reqwest::Client,
    /// `{api_base_url}/api/v10`
    base: String,
    auth: String,
    /// Buckets that may not be called before the instant.
    blocked: Mutex<HashMap<String, Instant>>,
}

impl Rest {
    pub fn new(token: &str, api_base_url: &str) -> Self {
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                "DiscordBot (https://github.com/tocsin, ",
                env!("CARGO_PKG_VERSION"),
                ")"
            ))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .build()
            .expect("the HTTP client builds");
        Self {
            client,
            base: format!("{}/api/v10", api_base_url.trim_end_matches('/')),
            auth: format!("Bot {token}"),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// Calls `path` (starting with `/`); `Ok(None)` for an empty success.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Body,
    ) -> Result<Option<Value>, CallError> {
        let bucket = bucket(&method, path);
        if let Some(wait) = self.wait(&bucket) {
            return Err(CallError::Retry(ChatError::Paced(wait)));
        }
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("authorization", &self.auth);
        req = match body {
            Body::Empty => req,
            Body::Json(v) => req.json(&v),
            Body::Multipart(payload, files) => {
                let mut form =
                    reqwest::multipart::Form::new().text("payload_json", payload.to_string());
                for (i, (name, bytes)) in files.into_iter().enumerate() {
                    let part = reqwest::multipart::Part::bytes(bytes)
                        .file_name(name)
                        .mime_str("text/markdown")
                        .expect("a valid mime type");
                    form = form.part(format!("files[{i}]"), part);
                }
                req.multipart(form)
            }
        };
        // reqwest's errors name the URL, and interaction and webhook URLs
        // carry a token: leave it out.
        let resp = req
            .send()
            .await
            .map_err(|e| CallError::Retry(ChatError::Unavailable(e.without_url().to_string())))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        if header("x-ratelimit-remaining").as_deref() == Some("0")
            && let Some(after) =
                header("x-ratelimit-reset-after").and_then(|s| s.parse::<f64>().ok())
        {
            self.block(&bucket, seconds(after));
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| CallError::Retry(ChatError::Unavailable(e.without_url().to_string())))?;
        let json: Option<Value> = serde_json::from_slice(&bytes).ok();
        if status.is_success() {
            return Ok(json);
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let body_wait = json.as_ref().and_then(|j| j["retry_after"].as_f64());
            let header_wait = header("retry-after").and_then(|s| s.parse::<f64>().ok());
            let wait = seconds(body_wait.or(header_wait).unwrap_or(1.0));
            let global = json.as_ref().is_some_and(|j| j["global"] == Value::Bool(true))
                || header("x-ratelimit-global").is_some_and(|v| v.eq_ignore_ascii_case("true"));
            self.block(if global { GLOBAL } else { &bucket }, wait);
            let route = redacted(path);
            tracing::warn!(route, global, wait_ms = wait.as_millis() as u64, "Discord rate limit");
            return Err(CallError::Retry(ChatError::RateLimited(wait)));
        }
        if status.is_server_error() {
            return Err(CallError::Retry(ChatError::Unavailable(format!(
                "Discord answered {status}"
            ))));
        }
        // A 401 is a token being rotated as often as a wrong one: keep the
        // rows and try again rather than drop them.
        if status == StatusCode::UNAUTHORIZED {
            return Err(CallError::Retry(ChatError::Unauthorized(format!(
                "Discord answered {status}"
            ))));
        }
        let (code, message) = match &json {
            Some(j) => {
                (j["code"].as_u64().unwrap_or(0), j["message"].as_str().unwrap_or("").to_string())
            }
            None => (0, String::from_utf8_lossy(&bytes).chars().take(200).collect()),
        };
        Err(CallError::Refused(Refusal { status: status.as_u16(), code, message }))
    }

    /// How long `bucket` (or everything) is blocked for, if it is.
    /// Interaction answers are exempt from Discord's global limit.
    fn wait(&self, bucket: &str) -> Option<Duration> {
        let mut blocked = self.blocked.lock().expect("rate-limit table");
        let now = Instant::now();
        blocked.retain(|_, until| *until > now);
        let global = if exempt_from_global(bucket) { None } else { blocked.get(GLOBAL) };
        global.into_iter().chain(blocked.get(bucket)).max().map(|until| *until - now)
    }

    fn block(&self, bucket: &str, wait: Duration) {
        let until = Instant::now() + wait;
        let mut blocked = self.blocked.lock().expect("rate-limit table");
        let e = blocked.entry(bucket.to_string()).or_insert(until);
        *e = (*e).max(until);
    }
}

/// A path fit for logs: interaction and webhook tokens left out.
fn redacted(path: &str) -> String {
    let mut out = Vec::new();
    let mut previous = ("", "");
    for seg in path.split('/') {
        let token = matches!(previous.0, "interactions" | "webhooks") && !previous.1.is_empty();
        out.push(if token { "***" } else { seg });
        previous = (previous.1, seg);
    }
    out.join("/")
}

fn exempt_from_global(bucket: &str) -> bool {
    let path = bucket.trim_start_matches(|c: char| c.is_ascii_uppercase());
    path.starts_with("/interactions/") || path.starts_with("/webhooks/")
}

fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.05, 3600.0))
}

/// Discord limits per route and per "major parameter" (the channel, guild or
/// webhook): ids in those places are kept, other ids are folded together.
fn bucket(method: &Method, path: &str) -> String {
    let mut out = method.as_str().to_string();
    let mut after_major = false;
    let mut previous = "";
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        let is_id = seg.chars().all(|c| c.is_ascii_digit());
        let major = matches!(previous, "channels" | "guilds" | "webhooks") && !after_major;
        out.push('/');
        if is_id && !major {
            out.push_str("{id}");
        } else {
            out.push_str(seg);
            after_major |= major;
        }
        previous = seg;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_left_out_of_logged_paths() {
        assert_eq!(redacted("/interactions/12/s3cr3t/callback"), "/interactions/12/***/callback");
        assert_eq!(
            redacted("/webhooks/99/s3cr3t/messages/@original"),
            "/webhooks/99/***/messages/@original"
        );
        assert_eq!(redacted("/channels/12/messages"), "/channels/12/messages");
    }

    #[test]
    fn buckets_keep_the_major_parameter_and_fold_the_rest() {
        assert_eq!(bucket(&Method::POST, "/channels/12/messages"), "POST/channels/12/messages");
        assert_eq!(
            bucket(&Method::PUT, "/channels/12/messages/pins/34"),
            "PUT/channels/12/messages/pins/{id}"
        );
        assert_eq!(
            bucket(&Method::PUT, "/channels/12/messages/pins/56"),
            bucket(&Method::PUT, "/channels/12/messages/pins/34")
        );
        assert_ne!(
            bucket(&Method::POST, "/channels/1/messages"),
            bucket(&Method::POST, "/channels/2/messages")
        );
    }

    #[test]
    fn a_blocked_bucket_answers_rate_limited_without_calling() {
        let rest = Rest::new("t", "http://127.0.0.1:9");
        rest.block("POST/channels/1/messages", Duration::from_secs(30));
        assert!(rest.wait("POST/channels/1/messages").is_some());
        assert!(rest.wait("POST/channels/2/messages").is_none());
        rest.block(GLOBAL, Duration::from_secs(5));
        assert!(rest.wait("POST/channels/2/messages").is_some());
        let callback = bucket(&Method::POST, "/interactions/9/tok/callback");
        assert!(
            rest.wait(&callback).is_none(),
            "interaction answers are exempt from the global limit"
        );
    }
}
