//! Requests to the bot under test, through reqwest.

use std::net::SocketAddr;
use std::time::Duration;

/// Sends one request and returns the status code and the body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, String) {
    try_request(addr, method, path, headers, body).await.expect("an answer")
}

/// A client of its own per request: each test runs its own runtime, and a
/// pooled connection belongs to the runtime that opened it.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(0)
        .build()
        .expect("the test HTTP client builds")
}

/// Like [`request`], but `None` when the connection fails or breaks (a server that died).
pub async fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Option<(u16, String)> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let mut req = client().request(method, format!("http://{addr}{path}")).body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = req.send().await.ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.text().await.ok()?))
}

pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    request(addr, "GET", path, &[], b"").await
}

/// Headers that sign `body` for Slack with `secret`, timestamped now.
pub fn slack_signed(secret: &str, body: &str, ctype: &str) -> Vec<(&'static str, String)> {
    let ts = chrono::Utc::now().timestamp().to_string();
    vec![
        ("Content-Type", ctype.to_string()),
        ("X-Slack-Request-Timestamp", ts.clone()),
        ("X-Slack-Signature", tocsin::chat::slack::verify::sign(secret, &ts, body.as_bytes())),
    ]
}

/// The form Slack posts for `/incident <text>` typed by `user` in `channel`.
pub fn slack_command_body(user: &str, channel: &str, text: &str) -> String {
    slack_command_form(user, channel, text, &[])
}

/// The same, with more fields (`response_url`, `trigger_id`).
pub fn slack_command_form(user: &str, channel: &str, text: &str, more: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("command", "/incident"),
            ("user_id", user),
            ("user_name", &user.to_lowercase()),
            ("channel_id", channel),
            ("text", text),
            ("team_id", "T1"),
        ])
        .extend_pairs(more.iter().copied())
        .finish()
}
