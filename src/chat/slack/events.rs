//! What Slack sends, parsed into what tocsin acts on: slash commands (form),
//! the "Add to timeline" message shortcut (form with a JSON payload) and
//! Events API callbacks (JSON, read in `envelope.rs`). Parsing never panics;
//! bad input is an error.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use crate::incident::{Platform, UserRef};

/// The message shortcut's callback id, as in the app manifest.
pub const SHORTCUT_CALLBACK: &str = "add_to_timeline";

/// The "Add to timeline" shortcut: who used it on which message, and the
/// message as the payload carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortcut {
    pub user: UserRef,
    pub channel: String,
    pub ts: String,
    /// The thread's first message, when this one is a reply in it.
    pub thread_ts: Option<String>,
    pub author: String,
    pub text: String,
    pub files: Vec<String>,
    pub response_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Command {
        user: UserRef,
        channel: String,
        text: String,
        /// Slack's id for this use of the command: a second delivery of it
        /// changes nothing twice.
        trigger_id: Option<String>,
        /// Where to answer when the work outlasts Slack's 3 seconds.
        response_url: Option<String>,
    },
    UrlVerification {
        challenge: String,
    },
    /// The "Add to timeline" shortcut on a message.
    Shortcut(Shortcut),
    ReactionAdded {
        event_id: String,
        user: String,
        channel: String,
        ts: String,
        reaction: String,
    },
    ReactionRemoved {
        event_id: String,
        user: String,
        channel: String,
        ts: String,
        reaction: String,
    },
    MessageChanged {
        event_id: String,
        channel: String,
        ts: String,
        text: String,
        /// When the edit was made (`message.edited.ts`), so that a retried
        /// older edit cannot overwrite a newer one.
        edited: Option<DateTime<Utc>>,
    },
    MessageDeleted {
        event_id: String,
        channel: String,
        ts: String,
    },
    /// Understood, and nothing to do.
    Ignored,
}

/// Slack sends user text with `&`, `<` and `>` as entities; the record keeps
/// what the person typed (every renderer escapes again on the way out).
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn field<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn s(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().map(str::to_string)
}

/// A slash command's form body.
pub fn parse_command(body: &[u8]) -> Result<Request, String> {
    let f = form(body);
    let need =
        |k: &str| field(&f, k).map(str::to_string).ok_or_else(|| format!("the command has no {k}"));
    let user_id = need("user_id")?;
    let mut user = UserRef::new(Platform::Slack, user_id);
    user.name = field(&f, "user_name").filter(|n| !n.is_empty()).map(str::to_string);
    let optional = |k: &str| field(&f, k).filter(|v| !v.is_empty()).map(str::to_string);
    Ok(Request::Command {
        user,
        channel: need("channel_id")?,
        text: unescape(field(&f, "text").unwrap_or("")),
        trigger_id: optional("trigger_id"),
        response_url: optional("response_url"),
    })
}

/// An interaction's form body (`payload=<json>`).
pub fn parse_interaction(body: &[u8]) -> Result<Request, String> {
    let f = form(body);
    let payload = field(&f, "payload").ok_or("the interaction has no payload")?;
    let v: Value =
        serde_json::from_str(payload).map_err(|e| format!("the payload is not JSON: {e}"))?;
    interaction_json(&v)
}

/// An interaction payload, already parsed as JSON (Socket Mode delivers it so).
pub fn interaction_json(v: &Value) -> Result<Request, String> {
    let kind = s(v, &["type"]).unwrap_or_default();
    if kind != "message_action" || s(v, &["callback_id"]).as_deref() != Some(SHORTCUT_CALLBACK) {
        return Ok(Request::Ignored);
    }
    let user_id = s(v, &["user", "id"]).ok_or("the shortcut has no user")?;
    let mut user = UserRef::new(Platform::Slack, user_id);
    user.name = s(v, &["user", "username"]).or_else(|| s(v, &["user", "name"]));
    let files = v["message"]["files"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .filter_map(|f| s(f, &["permalink"]).or_else(|| s(f, &["url_private"])))
                .collect()
        })
        .unwrap_or_default();
    Ok(Request::Shortcut(Shortcut {
        user,
        channel: s(v, &["channel", "id"]).ok_or("the shortcut has no channel")?,
        ts: s(v, &["message", "ts"])
            .or_else(|| s(v, &["message_ts"]))
            .ok_or("the shortcut has no message")?,
        thread_ts: s(v, &["message", "thread_ts"]),
        author: s(v, &["message", "user"]).unwrap_or_default(),
        text: unescape(&s(v, &["message", "text"]).unwrap_or_default()),
        files,
        response_url: s(v, &["response_url"]),
    }))
}

/// A Slack ts (`1700000000.000900`) as a time.
pub fn ts_time(ts: &str) -> Option<DateTime<Utc>> {
    let (secs, micros) = ts.split_once('.').unwrap_or((ts, "0"));
    let secs: i64 = secs.parse().ok()?;
    let micros: u32 = format!("{micros:0<6}").get(..6)?.parse().ok()?;
    Utc.timestamp_opt(secs, micros * 1000).single()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_slash_command_form_is_understood() {
        let body = b"team_id=T1&channel_id=C42&user_id=U7&user_name=alice&command=%2Fincident&text=declare+SEV2+Checkout+%3C%21channel%3E";
        assert_eq!(
            parse_command(body).unwrap(),
            Request::Command {
                user: UserRef::named(Platform::Slack, "U7", "alice"),
                channel: "C42".into(),
                text: "declare SEV2 Checkout <!channel>".into(),
                trigger_id: None,
                response_url: None,
            }
        );
        assert_eq!(parse_command(b"text=list").unwrap_err(), "the command has no user_id");
    }

    #[test]
    fn slack_entities_are_decoded_so_the_record_keeps_what_was_typed() {
        let body = b"channel_id=C1&user_id=U7&text=declare+Checkout+%26amp%3B+payments+%26lt%3Bdown%26gt%3B";
        let Request::Command { text, .. } = parse_command(body).unwrap() else { panic!() };
        assert_eq!(text, "declare Checkout & payments <down>");
        assert_eq!(unescape("&amp;lt;"), "&lt;", "decoded once, not twice");
    }

    #[test]
    fn a_ts_is_the_messages_own_time() {
        let t = ts_time("1700000000.000900").unwrap();
        assert_eq!(t.timestamp(), 1_700_000_000);
        assert_eq!(t.timestamp_subsec_micros(), 900);
        assert_eq!(ts_time("nonsense"), None);
        assert_eq!(ts_time("1.x"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Arbitrary bytes give an error or a value, never a panic.
        #[test]
        fn the_parsers_never_panic_on_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_command(&body);
            let _ = parse_interaction(&body);
            if let Ok(text) = std::str::from_utf8(&body) {
                let _ = ts_time(text);
            }
        }
    }
}
