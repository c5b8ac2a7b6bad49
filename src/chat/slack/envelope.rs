//! An Events API body read straight into the few fields tocsin acts on,
//! borrowing its strings: no tree of every key and value is built first.
//! A field holds what Slack sends there (a string, or an object); anything
//! else there reads as absent, as it would through a `serde_json::Value`.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::events::{Request, ts_time, unescape};

#[derive(Deserialize, Default)]
pub struct Envelope<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Str<'a>,
    #[serde(borrow, default)]
    challenge: Str<'a>,
    #[serde(borrow, default)]
    event_id: Str<'a>,
    #[serde(borrow, default)]
    event: Obj<Event<'a>>,
}

#[derive(Deserialize, Default)]
struct Event<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Str<'a>,
    #[serde(borrow, default)]
    subtype: Str<'a>,
    #[serde(borrow, default)]
    user: Str<'a>,
    #[serde(borrow, default)]
    reaction: Str<'a>,
    #[serde(borrow, default)]
    channel: Str<'a>,
    #[serde(borrow, default)]
    deleted_ts: Str<'a>,
    #[serde(borrow, default)]
    event_ts: Str<'a>,
    #[serde(borrow, default)]
    item: Obj<Item<'a>>,
    #[serde(borrow, default)]
    message: Obj<Edited<'a>>,
}

/// What a reaction is on.
#[derive(Deserialize, Default)]
struct Item<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Str<'a>,
    #[serde(borrow, default)]
    channel: Str<'a>,
    #[serde(borrow, default)]
    ts: Str<'a>,
}

/// The message as it is after an edit.
#[derive(Deserialize, Default)]
struct Edited<'a> {
    #[serde(borrow, default)]
    ts: Str<'a>,
    #[serde(borrow, default)]
    text: Str<'a>,
    #[serde(borrow, default)]
    edited: Obj<EditedAt<'a>>,
}

#[derive(Deserialize, Default)]
struct EditedAt<'a> {
    #[serde(borrow, default)]
    ts: Str<'a>,
}

impl Envelope<'_> {
    /// What tocsin acts on; an error names the field a known event lacks.
    pub fn request(&self) -> Result<Request, String> {
        match self.kind.get() {
            Some("url_verification") => Ok(Request::UrlVerification {
                challenge: self.challenge.owned().ok_or("no challenge")?,
            }),
            Some("event_callback") => {
                let event_id = self.event_id.owned().ok_or("the event has no event_id")?;
                let e = self.event.get();
                e.map_or(Ok(Request::Ignored), |e| e.request(event_id))
            }
            _ => Ok(Request::Ignored),
        }
    }
}

impl Event<'_> {
    fn request(&self, event_id: String) -> Result<Request, String> {
        let need =
            |s: &Str, what: &str| s.owned().ok_or_else(|| format!("the event has no {what}"));
        let none = Item::default();
        let item = self.item.get().unwrap_or(&none);
        let unedited = Edited::default();
        let message = self.message.get().unwrap_or(&unedited);
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
                edited: message
                    .edited
                    .get()
                    .and_then(|e| e.ts.get())
                    .or(self.event_ts.get())
                    .and_then(ts_time),
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

/// An object field; any other JSON value there reads as absent.
struct Obj<T>(Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

impl<T> Obj<T> {
    fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lenient(PhantomData::<Str<'a>>))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
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

impl<'de, T: Deserialize<'de>> Wanted<'de> for Obj<T> {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|t| Obj(Some(t)))
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
