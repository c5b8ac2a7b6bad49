//! Reaction removals this process handled lately. A removal handled while
//! a flag for the same message and person was on its way finds nothing to
//! take off; the flag, once recorded, must look at the message again. With
//! one process on the database (SQLite) every removal passes through here,
//! so a flag looks again only when one did; with several replicas a
//! removal may have gone to another, so a flag always looks again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::incident::MessageKey;

/// How long a removal is remembered: far longer than a flag takes from its
/// event to its commit (the look is cut off at 2 s).
const KEEP: Duration = Duration::from_secs(60);

/// At most this many removals are remembered; beyond it (a flood of
/// removals) every flag looks again until the flood is forgotten.
const MOST: usize = 100_000;

#[derive(Default)]
pub(super) struct Removals {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// By message and person; `None` for every reaction cleared at once.
    at: HashMap<(MessageKey, Option<String>), Instant>,
    /// Until when every flag looks again: some removals were not remembered.
    flooded_until: Option<Instant>,
}

impl Removals {
    /// `user` is taking their reaction off `key`: noted before the
    /// removal reads the timeline, so that a flag committed after that read
    /// finds the note.
    pub(super) fn note(&self, key: &MessageKey, user: &str) {
        self.remember(key, Some(user));
    }

    /// Every reaction was cleared from `key` at once: whoever flagged it,
    /// a flag on its way looks again.
    pub(super) fn note_cleared(&self, key: &MessageKey) {
        self.remember(key, None);
    }

    fn remember(&self, key: &MessageKey, user: Option<&str>) {
        let now = Instant::now();
        let mut inner = self.inner.lock().expect("removals");
        if inner.at.len() >= MOST {
            inner.at.retain(|_, at| now.duration_since(*at) < KEEP);
        }
        if inner.at.len() >= MOST {
            inner.flooded_until = Some(now + KEEP);
            return;
        }
        inner.at.insert((key.clone(), user.map(str::to_string)), now);
    }

    /// Whether a flag `user` just recorded on `key` must look at the message
    /// again: a removal of theirs was handled lately, or one may have gone
    /// unnoticed.
    pub(super) fn look_again(&self, key: &MessageKey, user: &str) -> bool {
        let now = Instant::now();
        let inner = self.inner.lock().expect("removals");
        if inner.flooded_until.is_some_and(|until| now < until) {
            return true;
        }
        let lately = |who: Option<String>| {
            inner.at.get(&(key.clone(), who)).is_some_and(|at| now.duration_since(*at) < KEEP)
        };
        lately(Some(user.to_string())) || lately(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Platform;

    fn key(m: &str) -> MessageKey {
        MessageKey { platform: Platform::Slack, channel: "C1".into(), message: m.into() }
    }

    #[test]
    fn a_flag_looks_again_only_after_a_removal_of_the_same_person_on_the_same_message() {
        let r = Removals::default();
        assert!(!r.look_again(&key("1.0"), "U1"));
        r.note(&key("1.0"), "U1");
        assert!(r.look_again(&key("1.0"), "U1"));
        assert!(!r.look_again(&key("1.0"), "U2"), "another person's removal");
        assert!(!r.look_again(&key("2.0"), "U1"), "another message");
    }

    #[test]
    fn reactions_cleared_from_a_message_make_every_flag_on_it_look_again() {
        let r = Removals::default();
        r.note_cleared(&key("1.0"));
        assert!(r.look_again(&key("1.0"), "U1"));
        assert!(r.look_again(&key("1.0"), "U2"));
        assert!(!r.look_again(&key("2.0"), "U1"), "another message");
    }

    #[test]
    fn removals_beyond_what_is_remembered_make_every_flag_look_again() {
        let r = Removals::default();
        for n in 0..MOST {
            r.note(&key(&n.to_string()), "U1");
        }
        assert!(!r.look_again(&key("x"), "U1"));
        r.note(&key("one too many"), "U1");
        assert!(r.look_again(&key("x"), "U1"), "a removal was not remembered");
    }
}
