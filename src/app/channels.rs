//! Channels this process has seen to be incident channels, so that a
//! reaction in one goes to the platform without asking the database first.
//! A channel that is an incident's stays that incident's, or stops being
//! any incident's (a purge, a mark for deletion, a channel made anew); then
//! the flag's own read of the record finds no incident and records nothing,
//! at the cost of one needless look at the platform. Other channels are not remembered (one may become an
//! incident's), so a 📌 elsewhere still costs one read.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::incident::ChannelRef;

/// At most this many are remembered; past it, the memory starts over.
const MOST: usize = 10_000;

#[derive(Default)]
pub(super) struct IncidentChannels {
    known: Mutex<HashSet<ChannelRef>>,
}

impl IncidentChannels {
    pub(super) fn known(&self, channel: &ChannelRef) -> bool {
        self.known.lock().expect("incident channels").contains(channel)
    }

    pub(super) fn note(&self, channel: &ChannelRef) {
        let mut known = self.known.lock().expect("incident channels");
        if known.len() >= MOST {
            known.clear();
        }
        known.insert(channel.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Platform;

    #[test]
    fn a_noted_channel_is_known_and_no_other() {
        let channels = IncidentChannels::default();
        let inc = ChannelRef::new(Platform::Slack, "C1");
        channels.note(&inc);
        assert!(channels.known(&inc));
        assert!(!channels.known(&ChannelRef::new(Platform::Discord, "C1")));
    }

    #[test]
    fn memory_is_bounded() {
        let channels = IncidentChannels::default();
        for i in 0..=MOST {
            channels.note(&ChannelRef::new(Platform::Slack, format!("C{i}")));
        }
        assert_eq!(channels.known.lock().unwrap().len(), 1, "started over at the bound");
        assert!(channels.known(&ChannelRef::new(Platform::Slack, format!("C{MOST}"))));
    }
}
