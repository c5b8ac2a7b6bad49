//! The console's chat room: channels and numbered messages, shared by the
//! person typing and the bot posting, printed as they happen.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct RoomMessage {
    pub channel: String,
    pub author: String,
    pub text: String,
    pub at: DateTime<Utc>,
    pub deleted: bool,
}

#[derive(Debug, Clone, Default)]
pub struct RoomChannel {
    pub topic: String,
    pub private: bool,
    pub archived: bool,
    pub members: Vec<String>,
    pub pinned: Vec<u64>,
}

struct State {
    next: u64,
    messages: BTreeMap<u64, RoomMessage>,
    channels: BTreeMap<String, RoomChannel>,
    out: Box<dyn Write + Send>,
}

/// Cheap to clone; all clones share one room.
#[derive(Clone)]
pub struct Room(Arc<Mutex<State>>);

impl Room {
    pub fn new(out: Box<dyn Write + Send>, channels: &[&str]) -> Self {
        let channels = channels.iter().map(|c| (c.to_string(), RoomChannel::default())).collect();
        Self(Arc::new(Mutex::new(State { next: 1, messages: BTreeMap::new(), channels, out })))
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.0.lock().expect("room lock"))
    }

    /// Prints a line of the transcript.
    pub fn say(&self, line: &str) {
        self.with(|s| {
            let _ = writeln!(s.out, "{line}");
            let _ = s.out.flush();
        });
    }

    /// Adds a message and prints it; returns its number.
    pub fn post(&self, channel: &str, author: &str, text: &str, at: DateTime<Utc>) -> u64 {
        self.with(|s| {
            let n = s.next;
            s.next += 1;
            s.channels.entry(channel.to_string()).or_default();
            s.messages.insert(
                n,
                RoomMessage {
                    channel: channel.into(),
                    author: author.into(),
                    text: text.into(),
                    at,
                    deleted: false,
                },
            );
            let body = text.replace('\n', "\n    ");
            let _ = writeln!(s.out, "#{channel} [{n}] {author}: {body}");
            let _ = s.out.flush();
            n
        })
    }

    pub fn message(&self, n: u64) -> Option<RoomMessage> {
        self.with(|s| s.messages.get(&n).cloned())
    }

    pub fn edit(&self, n: u64, text: &str) -> Option<RoomMessage> {
        self.with(|s| {
            let m = s.messages.get_mut(&n).filter(|m| !m.deleted)?;
            m.text = text.to_string();
            Some(m.clone())
        })
    }

    pub fn delete(&self, n: u64) -> Option<RoomMessage> {
        self.with(|s| {
            let m = s.messages.get_mut(&n).filter(|m| !m.deleted)?;
            m.deleted = true;
            Some(m.clone())
        })
    }

    pub fn has_channel(&self, name: &str) -> bool {
        self.with(|s| s.channels.contains_key(name))
    }

    /// Creates a channel; false when the name is taken.
    pub fn create(&self, name: &str, private: bool, topic: &str) -> bool {
        self.with(|s| {
            if s.channels.contains_key(name) {
                return false;
            }
            let ch = RoomChannel { topic: topic.into(), private, ..Default::default() };
            s.channels.insert(name.into(), ch);
            true
        })
    }

    pub fn update_channel<T>(
        &self,
        name: &str,
        f: impl FnOnce(&mut RoomChannel) -> T,
    ) -> Option<T> {
        self.with(|s| s.channels.get_mut(name).map(f))
    }

    pub fn channels(&self) -> Vec<(String, RoomChannel)> {
        self.with(|s| s.channels.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}
