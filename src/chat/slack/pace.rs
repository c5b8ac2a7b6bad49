//! Slack allows about one message per second per channel. Posting faster only
//! earns 429s, so the client keeps to it: a post into a channel whose last
//! post finished less than a second ago (or is still on its way) is answered
//! "paced" without calling Slack, and the outbox lane tries again when the
//! second is up. Counting from when the last post *finished* keeps the gap a
//! full second at Slack's end too, whatever the network did.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A post still on its way after this long is taken to be lost.
const IN_FLIGHT_LIMIT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy)]
enum Slot {
    InFlight(Instant),
    Finished(Instant),
}

pub struct Pace {
    every: Duration,
    slots: Mutex<HashMap<String, Slot>>,
}

impl Pace {
    pub fn new(every: Duration) -> Self {
        Self { every, slots: Mutex::new(HashMap::new()) }
    }

    /// Takes `channel`'s next slot if it is free now; otherwise says how long
    /// until it should be. Call [`Pace::finished`] when the post is done.
    pub fn reserve(&self, channel: &str) -> Result<(), Duration> {
        self.reserve_at(channel, Instant::now())
    }

    /// The post that took the slot is done (whether it worked or not).
    pub fn finished(&self, channel: &str) {
        self.finished_at(channel, Instant::now());
    }

    fn finished_at(&self, channel: &str, now: Instant) {
        let mut slots = self.slots.lock().expect("pace table");
        slots.insert(channel.to_string(), Slot::Finished(now));
    }

    fn reserve_at(&self, channel: &str, now: Instant) -> Result<(), Duration> {
        let mut slots = self.slots.lock().expect("pace table");
        match slots.get(channel) {
            Some(Slot::InFlight(t)) if now.duration_since(*t) < IN_FLIGHT_LIMIT => {
                return Err(self.every / 4);
            }
            Some(Slot::Finished(t)) if now.duration_since(*t) < self.every => {
                return Err(self.every - now.duration_since(*t));
            }
            _ => {}
        }
        if slots.len() > 10_000 {
            let every = self.every;
            slots.retain(|_, s| {
                matches!(s, Slot::InFlight(_)) || {
                    let Slot::Finished(t) = s else { return true };
                    now.duration_since(*t) < every
                }
            });
        }
        slots.insert(channel.to_string(), Slot::InFlight(now));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_gets_one_post_per_second_counted_from_when_the_last_finished() {
        let pace = Pace::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(pace.reserve_at("C1", t0), Ok(()));
        assert_eq!(pace.reserve_at("C2", t0), Ok(()), "other channels are not held up");
        assert!(pace.reserve_at("C1", t0).is_err(), "one post at a time per channel");
        let done = t0 + Duration::from_millis(50);
        pace.finished_at("C1", done);
        let wait = pace.reserve_at("C1", done + Duration::from_millis(300)).unwrap_err();
        assert_eq!(wait, Duration::from_millis(700));
        assert_eq!(pace.reserve_at("C1", done + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn a_post_lost_in_flight_frees_its_slot_eventually() {
        let pace = Pace::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(pace.reserve_at("C1", t0), Ok(()));
        assert_eq!(pace.reserve_at("C1", t0 + IN_FLIGHT_LIMIT), Ok(()));
    }
}
