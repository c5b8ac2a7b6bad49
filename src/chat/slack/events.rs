//! What Slack sends, parsed into what tocsin acts on: slash commands (form),
//! the "Add to timeline" message shortcut (form with a JSON payload) and
//! Events API callbacks (JSON). Parsing never panics; bad input is an error.

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::envelope::Envelope;

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

/// An Events API body.
pub fn parse_event(body: &[u8]) -> Result<Request, String> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| format!("unreadable event: {e}"))?;
    envelope.request()
}

/// An Events API envelope, already parsed as JSON (Socket Mode delivers it so).
pub fn event_json(v: &Value) -> Result<Request, String> {
    Envelope::deserialize(v).map_err(|e| format!("unreadable event: {e}"))?.request()
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
    fn reaction_and_message_events_are_understood() {
        let added = br#"{"type":"event_callback","event_id":"Ev1","event":{"type":"reaction_added","user":"U2","reaction":"pushpin","item":{"type":"message","channel":"C1","ts":"1700000000.000100"},"event_ts":"1"}}"#;
        assert_eq!(
            parse_event(added).unwrap(),
            Request::ReactionAdded {
                event_id: "Ev1".into(),
                user: "U2".into(),
                channel: "C1".into(),
                ts: "1700000000.000100".into(),
                reaction: "pushpin".into()
            }
        );
        let changed = br#"{"type":"event_callback","event_id":"Ev2","event":{"type":"message","subtype":"message_changed","channel":"C1","message":{"ts":"1.2","text":"new","edited":{"user":"U1","ts":"1700000060.000100"}}}}"#;
        assert_eq!(
            parse_event(changed).unwrap(),
            Request::MessageChanged {
                event_id: "Ev2".into(),
                channel: "C1".into(),
                ts: "1.2".into(),
                text: "new".into(),
                edited: ts_time("1700000060.000100"),
            }
        );
        let deleted = br#"{"type":"event_callback","event_id":"Ev3","event":{"type":"message","subtype":"message_deleted","channel":"C1","deleted_ts":"1.2"}}"#;
        assert_eq!(
            parse_event(deleted).unwrap(),
            Request::MessageDeleted {
                event_id: "Ev3".into(),
                channel: "C1".into(),
                ts: "1.2".into()
            }
        );
        let plain = br#"{"type":"event_callback","event_id":"Ev4","event":{"type":"message","channel":"C1","ts":"1.3","text":"hi"}}"#;
        assert_eq!(parse_event(plain).unwrap(), Request::Ignored);
        assert_eq!(
            parse_event(br#"{"type":"url_verification","challenge":"abc"}"#).unwrap(),
            Request::UrlVerification { challenge: "abc".into() }
        );
    }

    #[test]
    fn a_field_of_another_type_reads_as_absent_and_a_repeated_key_is_refused() {
        let ignored = [
            br#"{"type":5}"#.as_slice(),
            br#"{"type":"event_callback","event_id":"Ev1","event":[1,{"type":"x"}]}"#,
            br#"{"type":"event_callback","event_id":"Ev1","event":{"type":"reaction_added","item":"message"}}"#,
            br#"[{"type":"url_verification","challenge":"abc"}]"#,
        ];
        for body in ignored {
            assert_eq!(
                parse_event(body),
                Ok(Request::Ignored),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let numeric_user = br#"{"type":"event_callback","event_id":"Ev1","event":{"type":"reaction_added","user":7,"reaction":"pushpin","item":{"type":"message","channel":"C1","ts":"1.2"}}}"#;
        assert_eq!(parse_event(numeric_user).unwrap_err(), "the event has no user");
        let escaped = br#"{"type":"event_callback","event_id":"Ev\u0031","event":{"type":"message","subtype":"message_changed","channel":"C1","message":{"ts":"1.2","text":"a \"quote\" &amp; more","edited":null},"event_ts":"1700000060.000100"}}"#;
        assert_eq!(
            parse_event(escaped).unwrap(),
            Request::MessageChanged {
                event_id: "Ev1".into(),
                channel: "C1".into(),
                ts: "1.2".into(),
                text: "a \"quote\" & more".into(),
                edited: ts_time("1700000060.000100"),
            }
        );
        let twice = br#"{"type":"url_verification","challenge":"a","challenge":"b"}"#;
        assert!(parse_event(twice).unwrap_err().starts_with("unreadable event: duplicate field"));
        assert!(parse_event(b"{").unwrap_err().starts_with("unreadable event: "));
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

    /// A JSON value for one of an event's fields: mostly one of `pool`, or
    /// something else Slack would not send there.
    fn field(pool: &'static [&'static str]) -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            6 => prop::sample::select(pool).prop_map(|s| Some(Value::from(s))),
            1 => Just(None),
            1 => any::<i64>().prop_map(|n| Some(Value::from(n))),
            1 => Just(Some(Value::Null)),
            1 => Just(Some(serde_json::json!(["message", {"ts": "1.2"}]))),
        ]
    }

    const KINDS: &[&str] = &["reaction_added", "reaction_removed", "message", "url_verification"];
    const SUBTYPES: &[&str] = &["message_changed", "message_deleted", "bot_message"];
    const WORDS: &[&str] =
        &["C1", "U2", "pushpin", "message", "1700000000.000100", "a \"b\" &amp;"];

    fn object(fields: &[(&str, Option<Value>)]) -> Value {
        let kept = fields.iter().filter_map(|(k, v)| Some((k.to_string(), v.clone()?)));
        Value::Object(kept.collect())
    }

    proptest! {
        /// Socket Mode's events arrive as a JSON value, the Events API's as
        /// bytes: both read the same.
        #[test]
        fn an_event_reads_the_same_from_bytes_and_from_a_json_value(
            kind in prop_oneof![3 => Just(Some(Value::from("event_callback"))), 1 => field(KINDS)],
            top in prop::collection::vec(field(WORDS), 2),
            event in (field(KINDS), field(SUBTYPES), prop::collection::vec(field(WORDS), 6)),
            inner in prop::collection::vec(field(WORDS), 6),
        ) {
            let item = object(&[("type", inner[0].clone()), ("channel", inner[1].clone()), ("ts", inner[2].clone())]);
            let edited = object(&[("ts", inner[5].clone())]);
            let message = object(&[("ts", inner[3].clone()), ("text", inner[4].clone()), ("edited", Some(edited))]);
            let event = object(&[
                ("type", event.0), ("subtype", event.1), ("user", event.2[0].clone()),
                ("reaction", event.2[1].clone()), ("channel", event.2[2].clone()),
                ("deleted_ts", event.2[3].clone()), ("event_ts", event.2[4].clone()),
                ("item", Some(item)), ("message", Some(message)), ("extra", event.2[5].clone()),
            ]);
            let v = object(&[("type", kind), ("event_id", top[0].clone()), ("challenge", top[1].clone()), ("event", Some(event))]);
            prop_assert_eq!(parse_event(&serde_json::to_vec(&v).unwrap()), event_json(&v));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Arbitrary bytes give an error or a value, never a panic.
        #[test]
        fn the_parsers_never_panic_on_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_command(&body);
            let _ = parse_interaction(&body);
            let _ = parse_event(&body);
            if let Ok(text) = std::str::from_utf8(&body) {
                let _ = ts_time(text);
            }
        }
    }
}
