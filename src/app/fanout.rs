//! Expands a decision's symbolic effects into outbox rows, one per platform
//! and destination: the announce channel of every running platform, every
//! subscribed channel whose filter matches (once each), the incident's own channel.

use std::collections::BTreeSet;

use super::App;
use crate::incident::{Audience, ChannelRef, Effect, Incident};
use crate::outbox::{Delivery, Dest};
use crate::store::{OutboxItem, StoreError};

impl App {
    pub(crate) async fn outbox_items(
        &self,
        incident: &Incident,
        effects: Vec<Effect>,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let id = incident.id;
        let mut items = Vec::new();
        let mut push = |platform, d: Delivery| {
            items.push(OutboxItem { incident: id, platform, payload: d.to_json() });
        };
        for effect in effects {
            match effect {
                Effect::OpenChannel { platform, name, private, topic, .. } => {
                    push(platform, Delivery::OpenChannel { name, private, topic })
                }
                Effect::Invite { platform, users, .. } => {
                    push(platform, Delivery::Invite { users })
                }
                Effect::SetTopic { platform, topic, .. } => {
                    push(platform, Delivery::SetTopic { topic })
                }
                Effect::PublishPostmortem { platform, .. } => {
                    push(platform, Delivery::PublishPostmortem)
                }
                Effect::ArchiveChannel { platform, .. } => push(platform, Delivery::Archive),
                Effect::Post { to, message, pin, .. } => {
                    let post = |to| Delivery::Post { to, message: message.clone(), pin };
                    match to {
                        Audience::IncidentChannel => {
                            push(incident.platform, post(Dest::IncidentChannel))
                        }
                        Audience::Channel(ch) => push(ch.platform, post(Dest::Channel(ch.id))),
                        Audience::Announce => {
                            for (platform, channel) in &self.announce {
                                push(*platform, post(Dest::Channel(channel.clone())));
                            }
                        }
                        Audience::Subscribers => {
                            for ch in self.subscribed_channels(incident).await? {
                                push(ch.platform, post(Dest::Channel(ch.id)));
                            }
                        }
                    }
                }
            }
        }
        Ok(items)
    }

    /// Channels following the incident now, once each, leaving out announce
    /// channels (they get their own copy) and the incident's own channel.
    async fn subscribed_channels(
        &self,
        incident: &Incident,
    ) -> Result<Vec<ChannelRef>, StoreError> {
        let matching: Vec<_> = self
            .store
            .subscriptions()
            .await?
            .into_iter()
            .filter(|s| s.matches(incident, &self.rules))
            .collect();
        if matching.is_empty() {
            return Ok(Vec::new());
        }
        let own = self.store.channel(incident.id, incident.platform).await?;
        let mut seen = BTreeSet::new();
        for sub in matching {
            let ch = sub.channel;
            let is_announce = self.announce.get(&ch.platform) == Some(&ch.id);
            let is_own = ch.platform == incident.platform
                && own.as_ref().is_some_and(|(id, _)| *id == ch.id);
            if !is_announce && !is_own {
                seen.insert(ch);
            }
        }
        Ok(seen.into_iter().collect())
    }
}
