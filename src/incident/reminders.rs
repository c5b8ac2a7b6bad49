//! Reminders, decided from the record alone: a status update overdue for
//! the severity's cadence (naming the commander), and roles still vacant a
//! while after declaring. What was reminded is recorded in the incident, so
//! whichever replica looks, before or after a restart, a reminder fires once.
//! Nothing is reminded once the incident is resolved.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::decide::Decision;
use super::steps::post;
use super::{Audience, Incident, Message, Rules, UserRef};

/// What has been reminded so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminded {
    /// The last update reminder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_at: Option<DateTime<Utc>>,
    /// When vacant roles were pointed out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles_at: Option<DateTime<Utc>>,
}

/// When the next reminder for this incident is due, if any will be.
pub fn next_due(incident: &Incident, rules: &Rules) -> Option<DateTime<Utc>> {
    if !incident.status.is_open() {
        return None;
    }
    [update_due(incident, rules), roles_due(incident, rules)].into_iter().flatten().min()
}

fn update_due(incident: &Incident, rules: &Rules) -> Option<DateTime<Utc>> {
    let minutes = rules.update_reminders.get(&incident.severity)?;
    let last = [
        Some(incident.declared_at),
        incident.updates.last().map(|u| u.at),
        incident.reminded.update_at,
    ]
    .into_iter()
    .flatten()
    .max()?;
    Some(last + Duration::minutes(i64::from(*minutes)))
}

fn roles_due(incident: &Incident, rules: &Rules) -> Option<DateTime<Utc>> {
    let minutes = rules.role_reminder_minutes?;
    if incident.reminded.roles_at.is_some() || vacant(incident, rules).is_empty() {
        return None;
    }
    Some(incident.declared_at + Duration::minutes(i64::from(minutes)))
}

/// Roles nobody holds, commander first.
fn vacant(incident: &Incident, rules: &Rules) -> Vec<String> {
    let mut roles: Vec<&str> = rules.roles.iter().map(|r| r.key.as_str()).collect();
    roles.sort_by_key(|r| *r != "commander");
    roles.into_iter().filter(|r| incident.holder(r).is_none()).map(str::to_string).collect()
}

/// The reminders due at `now`, as a decision: posts in the incident's
/// channel and the record of having sent them. `None` when nothing is due.
pub fn remind(incident: &Incident, rules: &Rules, now: DateTime<Utc>) -> Option<Decision> {
    if !incident.status.is_open() || incident.is_closed() {
        return None;
    }
    let id = incident.id;
    let mut next = incident.clone();
    let mut effects = Vec::new();
    if update_due(incident, rules).is_some_and(|due| due <= now) {
        let minutes = rules.update_reminders.get(&incident.severity).copied().unwrap_or_default();
        let mut text =
            Message::new().plain(format!("⏰ {id}: no status update for {minutes} minutes. "));
        text = match incident.holder("commander") {
            Some(c) => text.user(c).plain(", time for `/incident update <status> <message>`."),
            None => text.plain("There is no commander: `/incident role commander @someone`."),
        };
        effects.push(post(id, Audience::IncidentChannel, text));
        next.reminded.update_at = Some(now);
    }
    if roles_due(incident, rules).is_some_and(|due| due <= now) {
        let names: Vec<String> = vacant(incident, rules)
            .iter()
            .filter_map(|k| rules.role(k).ok().map(|r| r.name.to_lowercase()))
            .collect();
        let text = Message::new().plain(format!(
            "👤 {id} still has no {}: `/incident role <role> @someone` (`/incident roles` lists them).",
            names.join(", ")
        ));
        effects.push(post(id, Audience::IncidentChannel, text));
        next.reminded.roles_at = Some(now);
    }
    if effects.is_empty() {
        return None;
    }
    Some(Decision { incident: next, entries: Vec::new(), effects, reply: Message::new() })
}

/// Who reminders come from.
pub fn reminder_author(incident: &Incident) -> UserRef {
    UserRef::named(incident.platform, "tocsin", "tocsin")
}
