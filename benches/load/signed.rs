//! Requests as Slack sends them: slash commands (form) and Events API callbacks (JSON), signed
//! with the app's signing secret (`X-Slack-Signature`, HMAC-SHA256 over `v0:{ts}:{body}`).

use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, StatusCode};
use tocsin::chat::slack::verify::sign;

/// The signing secret every server under test is configured with.
pub const SECRET: &str = "bench-8f742231b10e8888abcd99yyyzzz85a5";

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// A signed request, ready to send.
pub struct Req {
    pub path: &'static str,
    pub ctype: &'static str,
    pub body: String,
    pub timestamp: String,
    pub signature: String,
    /// A successful answer's body contains this ("" accepts any).
    pub expect: &'static str,
}

fn signed(path: &'static str, ctype: &'static str, body: String, expect: &'static str) -> Req {
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let signature = sign(SECRET, &timestamp, body.as_bytes());
    Req { path, ctype, body, timestamp, signature, expect }
}

/// `/incident <text>` typed by `user` in `channel`.
pub fn command(user: &str, channel: &str, text: &str, expect: &'static str) -> Req {
    let name = user.to_lowercase();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("command", "/incident"),
            ("user_id", user),
            ("user_name", name.as_str()),
            ("channel_id", channel),
            ("text", text),
            ("team_id", "T1"),
        ])
        .finish();
    signed("/slack/commands", FORM, body, expect)
}

/// `user` added the timeline reaction (📌) to the message `ts` in `channel`.
pub fn reaction_added(event_id: &str, user: &str, channel: &str, ts: &str) -> Req {
    let body = serde_json::json!({
        "type": "event_callback",
        "team_id": "T1",
        "api_app_id": "A1",
        "event_id": event_id,
        "event_time": 1_700_000_000,
        "event": {
            "type": "reaction_added",
            "user": user,
            "reaction": "pushpin",
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": ts
        }
    });
    signed("/slack/events", JSON, body.to_string(), "")
}

/// Sends one request; the answer's status and body.
pub async fn send(client: &Client, url: &str, req: Req) -> reqwest::Result<(StatusCode, String)> {
    let response = client
        .post(url)
        .header(CONTENT_TYPE, req.ctype)
        .header("x-slack-request-timestamp", req.timestamp)
        .header("x-slack-signature", req.signature)
        .body(req.body)
        .send()
        .await?;
    let status = response.status();
    Ok((status, response.text().await?))
}

/// Sends `/incident <text>` and returns the ephemeral reply's text.
pub async fn ask(
    client: &Client,
    base: &str,
    user: &str,
    channel: &str,
    text: &str,
) -> anyhow::Result<String> {
    let req = command(user, channel, text, "");
    let url = format!("{base}{}", req.path);
    let (status, body) = send(client, &url, req).await?;
    if !status.is_success() {
        anyhow::bail!("/incident {text}: HTTP {status}: {body}");
    }
    let reply: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| anyhow::anyhow!("/incident {text}: the reply is not JSON ({e}): {body}"))?;
    Ok(reply["text"].as_str().unwrap_or_default().to_string())
}
