//! Webhook calls: a JSON POST signed with HMAC-SHA256 over
//! `timestamp.body`, the signature in `X-Tocsin-Signature: sha256=<hex>`,
//! with `X-Tocsin-Timestamp`, `X-Tocsin-Event` and `X-Tocsin-Delivery` (the
//! same on a retry, for the receiver to drop repeats).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{classify, unreachable};
use crate::config::WebhookConfig;
use crate::outbox::ChatError;

pub const SIGNATURE: &str = "x-tocsin-signature";

/// `sha256=<hex>` of HMAC-SHA256(secret, `timestamp.body`).
pub fn sign(secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub(super) async fn call(
    http: &reqwest::Client,
    hook: &WebhookConfig,
    row: i64,
    event: &str,
    body: &str,
) -> Result<(), ChatError> {
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let resp = http
        .post(&hook.url)
        .header("content-type", "application/json")
        .header(SIGNATURE, sign(&hook.secret, &timestamp, body))
        .header("x-tocsin-timestamp", &timestamp)
        .header("x-tocsin-event", event)
        .header("x-tocsin-delivery", row.to_string())
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| unreachable("the webhook", e))?;
    classify(resp, "the webhook").await
}
