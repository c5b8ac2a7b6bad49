//! A minimal HTTP/1.1 client for talking to the bot under test.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// Like [`request`], but `None` when the connection fails or breaks (a server that died).
pub async fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Option<(u16, String)> {
    let mut conn = tokio::net::TcpStream::connect(addr).await.ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).await.ok()?;
    conn.write_all(body).await.ok()?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.ok()?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let status = raw.get(9..12)?.parse().ok()?;
    let (head, body) =
        raw.split_once("\r\n\r\n").map(|(h, b)| (h.to_string(), b.to_string())).unwrap_or_default();
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    Some((status, if chunked { dechunk(&body) } else { body }))
}

pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    request(addr, "GET", path, &[], b"").await
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        let (Some(chunk), Some(after)) = (rest.get(..n), rest.get(n..)) else { break };
        out.push_str(chunk);
        s = after.trim_start_matches("\r\n");
    }
    out
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
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("command", "/incident"),
            ("user_id", user),
            ("user_name", &user.to_lowercase()),
            ("channel_id", channel),
            ("text", text),
            ("team_id", "T1"),
        ])
        .finish()
}
