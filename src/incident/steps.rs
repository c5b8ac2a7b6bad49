//! The small steps decisions are made of: statuses, responders, the posts
//! and topics a change sends, the incident's header and topic.

use chrono::{DateTime, Utc};

use super::decide::Decision;
use super::timeline::{EntryKind, TimelineEntry};
use super::{
    Audience, Effect, Incident, IncidentId, Message, Responder, Rules, Status, UserError, UserRef,
};

pub(super) fn apply_status(next: &mut Incident, status: Status, now: DateTime<Utc>) {
    next.status = status;
    if matches!(status, Status::Monitoring | Status::Resolved) && next.mitigated_at.is_none() {
        next.mitigated_at = Some(now);
    }
    if status == Status::Resolved {
        next.resolved_at = Some(now);
    } else {
        next.resolved_at = None;
    }
}

/// Adds the users who are not responders yet; returns them.
pub(super) fn add_responders(
    next: &mut Incident,
    d: &mut Decision,
    users: &[UserRef],
    by: &UserRef,
    now: DateTime<Utc>,
) -> Vec<UserRef> {
    let mut added: Vec<UserRef> = Vec::new();
    for u in users {
        if !next.is_responder(u) && !added.contains(u) {
            added.push(u.clone());
        }
    }
    if added.is_empty() {
        return added;
    }
    for u in &added {
        next.responders.push(Responder { user: u.clone(), added_by: by.clone(), at: now });
    }
    let names: Vec<&str> = added.iter().map(|u| u.display()).collect();
    let id = next.id;
    d.entries.push(event(
        id,
        EntryKind::Responders,
        by,
        now,
        format!("Added {}", names.join(", ")),
    ));
    d.effects.push(Effect::Invite { incident: id, platform: next.platform, users: added.clone() });
    d.effects.push(post(
        id,
        Audience::IncidentChannel,
        Message::new().user(by).plain(" added ").users(&added),
    ));
    added
}

pub(super) fn require_text(text: String, why: &str) -> Result<String, UserError> {
    let t = text.trim();
    if t.is_empty() { Err(UserError::new(why)) } else { Ok(t.to_string()) }
}

pub(super) fn event(
    id: IncidentId,
    kind: EntryKind,
    by: &UserRef,
    at: DateTime<Utc>,
    text: impl Into<String>,
) -> TimelineEntry {
    TimelineEntry::event(id, kind, by, at, text)
}

pub(super) fn post(incident: IncidentId, to: Audience, message: Message) -> Effect {
    Effect::Post { incident, to, message, pin: false }
}

/// Posts to the incident channel and, unless private, to the announce channel and subscribers.
pub(super) fn broadcast(d: &mut Decision, id: IncidentId, message: Message, public: bool) {
    d.effects.push(post(id, Audience::IncidentChannel, message.clone()));
    if public {
        d.effects.push(post(id, Audience::Announce, message.clone()));
    }
    d.effects.push(post(id, Audience::Subscribers, message));
}

pub(super) fn set_topic(incident: &Incident, rules: &Rules) -> Effect {
    Effect::SetTopic {
        incident: incident.id,
        platform: incident.platform,
        topic: topic(incident, rules),
    }
}

/// The channel topic: severity, status, commander and title at a glance.
pub fn topic(incident: &Incident, _rules: &Rules) -> String {
    let commander = incident
        .holder("commander")
        .map(|u| u.display().to_string())
        .unwrap_or_else(|| "none".into());
    format!(
        "{} · {} · Commander: {} · {}",
        incident.severity,
        incident.status.title(),
        commander,
        incident.title
    )
}

/// A new incident's first posts: its header, pinned in its channel, and —
/// unless it is private — "🚨 INC-7 (SEV2) {how}: title" to the announce
/// channel and subscribers.
pub(super) fn opening_posts(incident: &Incident, rules: &Rules, how: &str) -> Vec<Effect> {
    let id = incident.id;
    let header = header(incident, rules);
    let mut effects = vec![Effect::Post {
        incident: id,
        to: Audience::IncidentChannel,
        message: header,
        pin: true,
    }];
    if !incident.private {
        let text = Message::new()
            .plain(format!("🚨 {id} ({}) {how}: ", incident.severity))
            .strong(&incident.title)
            .plain(" — follow in ")
            .channel(id);
        effects.push(post(id, Audience::Announce, text.clone()));
        effects.push(post(id, Audience::Subscribers, text));
    }
    effects
}

pub(super) fn header(incident: &Incident, rules: &Rules) -> Message {
    let _ = rules;
    let m = Message::new()
        .plain(format!("🚨 {} · {} · ", incident.id, incident.severity))
        .strong(&incident.title)
        .line()
        .plain(format!("Status: {} · Commander: ", incident.status.title()));
    let m = match incident.holder("commander") {
        Some(c) => m.user(c),
        None => m.plain("none yet (`/incident role commander @you` to lead)"),
    };
    let m = match &incident.origin {
        Some(o) => m.line().plain(format!(
            "Opened by alert rule {} ({}); not acknowledged yet: `/incident ack` when you are on it.",
            o.rule, o.source
        )),
        None => m.line().plain("Declared (and acknowledged) by ").user(&incident.declared_by).plain("."),
    };
    m.plain(" Flag messages with 📌 or “Add to timeline” to put them on the record; `/incident help` lists the commands.")
}
