//! An Events API body read straight into the few fields tocsin acts on,
//! borrowing its strings: no tree of every key and value is built first.
//! A field holds what Slack sends there (a string, or an object); anything
//! else there reads as absent (an object as empty), as it would through a
//! `serde_json::Value`, and a body that is not an object is understood and
//! ignored. Values of
//! fields tocsin does not read are skipped without being checked.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::events::{Request, ts_time, unescape};

/// An Events API body.
pub fn parse_event(body: &[u8]) -> Result<Request, String> {
    let body: Obj<Envelope> =
        serde_json::from_slice(body).map_err(|e| format!("unreadable event: {e}"))?;
    body.0.request()
}

/// An Events API envelope, already parsed as JSON (Socket Mode delivers it so).
pub fn event_json(v: &Value) -> Result<Request, String> {
    let body = Obj::<Envelope>::deserialize(v).map_err(|e| format!("unreadable event: {e}"))?;
    body.0.request()
}

/// Every field may be missing (`default`); its strings borrow from the
/// body (`'de: 'a`). So for each struct below.
#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: Str<'a>,
    challenge: Str<'a>,
    event_id: Str<'a>,
    event: Obj<Event<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: Str<'a>,
    subtype: Str<'a>,
    user: Str<'a>,
    reaction: Str<'a>,
    channel: Str<'a>,
    deleted_ts: Str<'a>,
    event_ts: Str<'a>,
    item: Obj<Item<'a>>,
    message: Obj<Edited<'a>>,
}

/// What a reaction is on.
#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Item<'a> {
    #[serde(rename = "type")]
    kind: Str<'a>,
    channel: Str<'a>,
    ts: Str<'a>,
}

/// The message as it is after an edit.
#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Edited<'a> {
    ts: Str<'a>,
    text: Str<'a>,
    edited: Obj<EditedAt<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct EditedAt<'a> {
    ts: Str<'a>,
}

impl Envelope<'_> {
    /// What tocsin acts on; an error names the field a known event lacks.
    fn request(&self) -> Result<Request, String> {
        match self.kind.get() {
            Some("url_verification") => Ok(Request::UrlVerification {
                challenge: self.challenge.owned().ok_or("no challenge")?,
            }),
            Some("event_callback") => {
                let event_id = self.event_id.owned().ok_or("the event has no event_id")?;
                self.event.0.request(event_id)
            }
            _ => Ok(Request::Ignored),
        }
    }
}

impl Event<'_> {
    fn request(&self, event_id: String) -> Result<Request, String> {
        let need =
            |s: &Str, what: &str| s.owned().ok_or_else(|| format!("the event has no {what}"));
        let (item, message) = (&self.item.0, &self.message.0);
        match (self.kind.get(), self.subtype.get()) {
            (Some(t @ ("reaction_added" | "reaction_removed")), _) => {
                if item.kind.get() != Some("message") {
                    return Ok(Request::Ignored);
                }
                let (user, reaction) =
                    (need(&self.user, "user")?, need(&self.reaction, "reaction")?);
                let (channel, ts) = (need(&item.channel, "channel")?, need(&item.ts, "ts")?);
                Ok(if t == "reaction_added" {
                    Request::ReactionAdded { event_id, user, channel, ts, reaction }
                } else {
                    Request::ReactionRemoved { event_id, user, channel, ts, reaction }
                })
            }
            (Some("message"), Some("message_changed")) => Ok(Request::MessageChanged {
                event_id,
                channel: need(&self.channel, "channel")?,
                ts: need(&message.ts, "message ts")?,
                text: unescape(message.text.get().unwrap_or_default()),
                edited: message.edited.0.ts.get().or(self.event_ts.get()).and_then(ts_time),
            }),
            (Some("message"), Some("message_deleted")) => Ok(Request::MessageDeleted {
                event_id,
                channel: need(&self.channel, "channel")?,
                ts: need(&self.deleted_ts, "deleted_ts")?,
            }),
            _ => Ok(Request::Ignored),
        }
    }
}

/// A string field; any other JSON value there reads as absent.
#[derive(Default)]
struct Str<'a>(Option<Cow<'a, str>>);

impl Str<'_> {
    fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }

    fn owned(&self) -> Option<String> {
        self.get().map(str::to_string)
    }
}

/// An object field; any other JSON value there reads as an empty object,
/// every field of it absent.
#[derive(Default)]
struct Obj<T>(T);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lenient(PhantomData::<Str<'a>>))
    }
}

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lenient(PhantomData::<Obj<T>>))
    }
}

/// Reads any JSON value: what the field wants is kept, anything else is
/// skipped over and reads as absent.
struct Lenient<F>(PhantomData<F>);

/// How a lenient field takes the value it wants.
trait Wanted<'de>: Default {
    fn from_str<E: Error>(_: Cow<'de, str>) -> Result<Self, E> {
        Ok(Self::default())
    }

    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Self::default())
    }
}

impl<'de: 'a, 'a> Wanted<'de> for Str<'a> {
    fn from_str<E: Error>(s: Cow<'de, str>) -> Result<Self, E> {
        Ok(Str(Some(s)))
    }
}

impl<'de, T: Deserialize<'de> + Default> Wanted<'de> for Obj<T> {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Obj)
    }
}

impl<'de, F: Wanted<'de>> Visitor<'de> for Lenient<F> {
    type Value = F;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: Error>(self, s: &'de str) -> Result<F, E> {
        F::from_str(Cow::Borrowed(s))
    }

    fn visit_str<E: Error>(self, s: &str) -> Result<F, E> {
        F::from_str(Cow::Owned(s.to_string()))
    }

    fn visit_string<E: Error>(self, s: String) -> Result<F, E> {
        F::from_str(Cow::Owned(s))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<F, A::Error> {
        F::from_map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<F, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(F::default())
    }

    fn visit_bool<E: Error>(self, _: bool) -> Result<F, E> {
        Ok(F::default())
    }

    fn visit_i64<E: Error>(self, _: i64) -> Result<F, E> {
        Ok(F::default())
    }

    fn visit_u64<E: Error>(self, _: u64) -> Result<F, E> {
        Ok(F::default())
    }

    fn visit_f64<E: Error>(self, _: f64) -> Result<F, E> {
        Ok(F::default())
    }

    fn visit_unit<E: Error>(self) -> Result<F, E> {
        Ok(F::default())
    }

    fn visit_none<E: Error>(self) -> Result<F, E> {
        Ok(F::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
            br#"["url_verification","abc"]"#,
            br#"["event_callback",null,"Ev1",{"type":"reaction_added"}]"#,
            br#""event_callback""#,
            b"5",
            b"null",
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

    /// How events were read before this reader: through a `Value`, walked.
    /// The property below holds the reader to it.
    fn walked(v: &Value) -> Result<Request, String> {
        let s = |v: &Value, path: &[&str]| {
            path.iter().try_fold(v, |cur, p| cur.get(p))?.as_str().map(str::to_string)
        };
        match s(v, &["type"]).as_deref() {
            Some("url_verification") => Ok(Request::UrlVerification {
                challenge: s(v, &["challenge"]).ok_or("no challenge")?,
            }),
            Some("event_callback") => {
                let event_id = s(v, &["event_id"]).ok_or("the event has no event_id")?;
                let e = &v["event"];
                let get = |path: &[&str], what: &str| {
                    s(e, path).ok_or_else(|| format!("the event has no {what}"))
                };
                match (s(e, &["type"]).as_deref(), s(e, &["subtype"]).as_deref()) {
                    (Some(t @ ("reaction_added" | "reaction_removed")), _) => {
                        if s(e, &["item", "type"]).as_deref() != Some("message") {
                            return Ok(Request::Ignored);
                        }
                        let (user, reaction) =
                            (get(&["user"], "user")?, get(&["reaction"], "reaction")?);
                        let (channel, ts) =
                            (get(&["item", "channel"], "channel")?, get(&["item", "ts"], "ts")?);
                        Ok(if t == "reaction_added" {
                            Request::ReactionAdded { event_id, user, channel, ts, reaction }
                        } else {
                            Request::ReactionRemoved { event_id, user, channel, ts, reaction }
                        })
                    }
                    (Some("message"), Some("message_changed")) => Ok(Request::MessageChanged {
                        event_id,
                        channel: get(&["channel"], "channel")?,
                        ts: get(&["message", "ts"], "message ts")?,
                        text: unescape(&s(e, &["message", "text"]).unwrap_or_default()),
                        edited: s(e, &["message", "edited", "ts"])
                            .or_else(|| s(e, &["event_ts"]))
                            .and_then(|t| ts_time(&t)),
                    }),
                    (Some("message"), Some("message_deleted")) => Ok(Request::MessageDeleted {
                        event_id,
                        channel: get(&["channel"], "channel")?,
                        ts: get(&["deleted_ts"], "deleted_ts")?,
                    }),
                    _ => Ok(Request::Ignored),
                }
            }
            _ => Ok(Request::Ignored),
        }
    }

    /// Mostly one of `pool`; sometimes absent, or a value of another type.
    fn field(pool: &'static [&'static str]) -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            6 => prop::sample::select(pool).prop_map(|s| Some(Value::from(s))),
            1 => Just(None),
            1 => any::<i64>().prop_map(|n| Some(Value::from(n))),
            1 => Just(Some(Value::Null)),
            1 => Just(Some(serde_json::json!(["message", {"ts": "1.2"}]))),
        ]
    }

    /// Mostly an object of `fields`; sometimes absent, or another value.
    fn object(fields: Vec<(&str, Option<Value>)>, other: Option<Value>) -> Option<Value> {
        let kept = fields.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?)));
        match other {
            None => Some(Value::Object(kept.collect())),
            Some(Value::Bool(true)) => None,
            other => other,
        }
    }

    fn other() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            8 => Just(None),
            1 => Just(Some(Value::Bool(true))),
            1 => field(WORDS),
        ]
    }

    const KINDS: &[&str] =
        &["reaction_added", "reaction_removed", "message", "url_verification", "event_callback"];
    const SUBTYPES: &[&str] = &["message_changed", "message_deleted", "bot_message"];
    const WORDS: &[&str] =
        &["C1", "U2", "pushpin", "message", "1700000000.000100", "a \"b\" &amp;"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Bytes and a `Value` (Socket Mode's form) read as the walk over a
        /// `Value` did, whatever type each field has.
        #[test]
        fn an_event_reads_as_the_walk_over_a_json_value_did(
            kind in prop_oneof![3 => Just(Some(Value::from("event_callback"))), 1 => field(KINDS)],
            top in prop::collection::vec(field(WORDS), 2),
            event in (field(KINDS), field(SUBTYPES), prop::collection::vec(field(WORDS), 6)),
            inner in prop::collection::vec(field(WORDS), 6),
            others in prop::collection::vec(other(), 5),
        ) {
            let item = object(vec![("type", inner[0].clone()), ("channel", inner[1].clone()), ("ts", inner[2].clone())], others[0].clone());
            let edited = object(vec![("ts", inner[5].clone())], others[1].clone());
            let message = object(vec![("ts", inner[3].clone()), ("text", inner[4].clone()), ("edited", edited)], others[2].clone());
            let event = object(vec![
                ("type", event.0), ("subtype", event.1), ("user", event.2[0].clone()),
                ("reaction", event.2[1].clone()), ("channel", event.2[2].clone()),
                ("deleted_ts", event.2[3].clone()), ("event_ts", event.2[4].clone()),
                ("item", item), ("message", message), ("extra", event.2[5].clone()),
            ], others[3].clone());
            let v = object(vec![("type", kind), ("event_id", top[0].clone()), ("challenge", top[1].clone()), ("event", event)], others[4].clone())
                .unwrap_or(Value::Null);
            let expected = walked(&v);
            prop_assert_eq!(&parse_event(&serde_json::to_vec(&v).unwrap()), &expected);
            prop_assert_eq!(&event_json(&v), &expected);
        }

        /// Arbitrary bytes give an error or a value, never a panic.
        #[test]
        fn the_event_reader_never_panics_on_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_event(&body);
        }
    }
}
