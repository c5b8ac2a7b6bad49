//! Expands a decision's symbolic effects into outbox rows, one per
//! destination: the announce channel of every running platform, every
//! subscribed channel whose filter matches (once each), the incident's own
//! channel, the paging services of a paged team, every webhook that wants
//! the event.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::App;
use crate::config::{TeamConfig, WebhookConfig};
use crate::incident::{
    Audience, ChannelRef, Effect, HookEvent, Incident, Platform, Rules, Subscription,
};
use crate::outbox::{Delivery, Dest, Page};
use crate::store::{OutboxItem, Sink, StoreError};

/// What expanding effects needs of the configuration; shared, so that a
/// decision made again inside the group writer expands its effects too.
pub(crate) struct Fanout {
    pub rules: Rules,
    pub teams: Vec<TeamConfig>,
    pub hooks: Vec<WebhookConfig>,
    /// Announce channel per enabled platform.
    pub announce: BTreeMap<Platform, String>,
}

/// What expanding effects reads from the store, read before deciding: every
/// subscription, and the incident's own channel.
#[derive(Debug, Clone, Default)]
pub(crate) struct Followers {
    subscriptions: Vec<Subscription>,
    own: Option<String>,
}

/// Whether expanding these effects needs the followers.
pub(crate) fn needs_followers(effects: &[Effect]) -> bool {
    effects.iter().any(|e| matches!(e, Effect::Post { to: Audience::Subscribers, .. }))
}

impl App {
    /// The decision's effects, one outbox row per destination.
    pub(crate) async fn outbox_items(
        &self,
        incident: &Incident,
        effects: Vec<Effect>,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let followers = if needs_followers(&effects) {
            self.followers(incident).await?
        } else {
            Followers::default()
        };
        Ok(self.fanout.items(incident, effects, &followers, self.now()))
    }

    /// The subscriptions and `incident`'s own channel.
    pub(crate) async fn followers(&self, incident: &Incident) -> Result<Followers, StoreError> {
        let subscriptions = self.store.subscriptions().await?;
        let own = match subscriptions.is_empty() {
            true => None,
            false => self.store.channel(incident.id, incident.platform).await?.map(|(id, _)| id),
        };
        Ok(Followers { subscriptions, own })
    }
}

impl Fanout {
    /// Expands effects; `followers` as read for this incident (see
    /// [`needs_followers`]).
    pub(crate) fn items(
        &self,
        incident: &Incident,
        effects: Vec<Effect>,
        followers: &Followers,
        now: DateTime<Utc>,
    ) -> Vec<OutboxItem> {
        let id = incident.id;
        let mut items = Vec::new();
        let mut push = |sink: Sink, d: Delivery| {
            // Platforms that pace posts per channel get a lane per channel;
            // the console prints everything in one order.
            let channel = match (&d, sink) {
                (
                    Delivery::Post { to: Dest::Channel(c), .. },
                    Sink::Chat(Platform::Slack | Platform::Discord),
                ) => Some(c.clone()),
                _ => None,
            };
            items.push(OutboxItem { incident: id, sink, payload: d.to_json(), channel });
        };
        for effect in effects {
            match effect {
                Effect::OpenChannel { platform, name, private, topic, .. } => {
                    push(platform.into(), Delivery::OpenChannel { name, private, topic })
                }
                Effect::Invite { platform, users, .. } => {
                    push(platform.into(), Delivery::Invite { users })
                }
                Effect::SetTopic { platform, topic, .. } => {
                    push(platform.into(), Delivery::SetTopic { topic })
                }
                Effect::PublishPostmortem { platform, .. } => {
                    push(platform.into(), Delivery::PublishPostmortem)
                }
                Effect::ArchiveChannel { platform, .. } => push(platform.into(), Delivery::Archive),
                Effect::Page { team, resolve, .. } => {
                    let pageable = self.teams.iter().any(|t| {
                        t.name == team
                            && (t.pagerduty_routing_key.is_some() || t.opsgenie_api_key.is_some())
                    });
                    if pageable {
                        push(Sink::Pager, Delivery::Page(self.page(incident, team, resolve)));
                    }
                }
                Effect::Hook { event, .. } => {
                    for (n, hook) in self.hooks.iter().enumerate() {
                        if hook.events.contains(&event) && (hook.private || !incident.private) {
                            let body = hook_body(incident, event, now);
                            push(
                                Sink::Hook(n as u16),
                                Delivery::Hook { event: event.as_str().into(), body },
                            );
                        }
                    }
                }
                Effect::Post { to, message, pin, .. } => {
                    let post = |to| Delivery::Post { to, message: message.clone(), pin };
                    match to {
                        Audience::IncidentChannel => {
                            push(incident.platform.into(), post(Dest::IncidentChannel))
                        }
                        Audience::Channel(ch) => {
                            push(ch.platform.into(), post(Dest::Channel(ch.id)))
                        }
                        Audience::Announce => {
                            for (platform, channel) in &self.announce {
                                push((*platform).into(), post(Dest::Channel(channel.clone())));
                            }
                        }
                        Audience::Subscribers => {
                            for ch in self.subscribed_channels(incident, followers) {
                                push(ch.platform.into(), post(Dest::Channel(ch.id)));
                            }
                        }
                    }
                }
            }
        }
        items
    }

    /// What a team's page says, fixed now.
    fn page(&self, incident: &Incident, team: String, resolve: bool) -> Page {
        Page {
            team,
            resolve,
            incident: incident.id.label(),
            title: incident.title.clone(),
            severity: incident.severity.clone(),
            rank: self.rules.rank(&incident.severity),
            of: self.rules.severities.len(),
            private: incident.private,
        }
    }

    /// Channels following the incident now, once each, leaving out announce
    /// channels (they get their own copy) and the incident's own channel.
    fn subscribed_channels(&self, incident: &Incident, followers: &Followers) -> Vec<ChannelRef> {
        let mut seen = BTreeSet::new();
        for sub in &followers.subscriptions {
            if !sub.matches(incident, &self.rules) {
                continue;
            }
            let ch = &sub.channel;
            let is_announce = self.announce.get(&ch.platform) == Some(&ch.id);
            let is_own = ch.platform == incident.platform && followers.own.as_ref() == Some(&ch.id);
            if !is_announce && !is_own {
                seen.insert(ch.clone());
            }
        }
        seen.into_iter().collect()
    }
}

/// A webhook's JSON body: the event, when, and the incident as it stands.
fn hook_body(incident: &Incident, event: HookEvent, at: chrono::DateTime<chrono::Utc>) -> String {
    let latest = incident.updates.last().map(|u| {
        serde_json::json!({"status": u.status, "message": u.message, "by": u.by.display(), "at": u.at})
    });
    serde_json::json!({
        "event": event.as_str(),
        "at": at,
        "incident": {
            "id": incident.id.label(),
            "number": incident.id.0,
            "title": incident.title,
            "severity": incident.severity,
            "status": incident.status,
            "private": incident.private,
            "platform": incident.platform,
            "declared_at": incident.declared_at,
            "acknowledged_at": incident.acknowledged.as_ref().map(|a| a.at),
            "mitigated_at": incident.mitigated_at,
            "resolved_at": incident.resolved_at,
            "closed_at": incident.closed_at,
            "commander": incident.holder("commander").map(|u| u.display().to_string()),
            "teams": incident.teams,
            "source": incident.origin.as_ref().map_or("chat", |o| o.source.as_str()),
        },
        "latest_update": latest,
    })
    .to_string()
}
