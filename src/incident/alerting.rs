//! Incidents that alerts open: one per alert group while it is open. A new
//! alert in the group and a resolved one each add an entry and a post; a
//! repeated notification changes nothing; a resolved alert never resolves
//! the incident — people do.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::decide::Decision;
use super::effect::HookEvent;
use super::steps::{add_responders, event, opening_posts, post};
use super::timeline::EntryKind;
use super::{
    Audience, Effect, Incident, IncidentId, Message, Platform, Rules, Status, UserError, UserRef,
    channel_name,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

/// One alert as a monitoring system sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Its identity within the source (Alertmanager's fingerprint).
    pub fingerprint: String,
    pub status: AlertStatus,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    pub link: Option<String>,
}

impl Alert {
    /// A short line for people: the summary, else the alert's name and instance.
    pub fn summary(&self) -> String {
        if let Some(s) = self.annotations.get("summary").filter(|s| !s.trim().is_empty()) {
            return s.trim().to_string();
        }
        let name = self.labels.get("alertname").map_or("alert", String::as_str);
        match self.labels.get("instance") {
            Some(i) => format!("{name} on {i}"),
            None => name.to_string(),
        }
    }
}

/// One notification about a group of alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertBatch {
    /// `alertmanager`, `grafana`, or the generic payload's `source`.
    pub source: String,
    /// The group's key: alerts of one group belong to one incident.
    pub group: String,
    pub alerts: Vec<Alert>,
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
}

/// What the alert rule that matched says of the incident to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    pub rule: String,
    pub severity: String,
    pub title: String,
    pub private: bool,
    /// The teams the rule invites (and pages), with their members on the platform.
    pub teams: Vec<(String, Vec<UserRef>)>,
}

/// Where an incident came from, when an alert opened it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub source: String,
    pub rule: String,
    pub group: String,
}

/// An alert the incident knows of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracked {
    pub fingerprint: String,
    pub summary: String,
    pub status: AlertStatus,
    pub since: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// The alert source as an author in the record.
pub fn source_user(platform: Platform, batch: &AlertBatch, rule: &str) -> UserRef {
    UserRef::named(
        platform,
        format!("alerts:{}", batch.source),
        format!("{} ({rule})", batch.source),
    )
}

/// Opens an incident for a firing group the rule matched. It has no
/// commander until someone acknowledges or takes the role.
pub fn open(
    rules: &Rules,
    id: IncidentId,
    batch: &AlertBatch,
    opening: &Opening,
    platform: Platform,
    now: DateTime<Utc>,
) -> Result<Decision, UserError> {
    let title: String = opening.title.trim().chars().take(200).collect();
    if title.is_empty() {
        return Err(UserError::new("the alert has no title"));
    }
    let by = source_user(platform, batch, &opening.rule);
    let severity =
        rules.severity(&opening.severity).unwrap_or_else(|_| rules.default_severity.clone());
    let mut incident = Incident {
        id,
        title: title.clone(),
        severity: severity.clone(),
        status: Status::Investigating,
        private: opening.private,
        platform,
        declared_by: by.clone(),
        declared_at: now,
        roles: Vec::new(),
        responders: Vec::new(),
        updates: Vec::new(),
        severity_changes: Vec::new(),
        followups: Vec::new(),
        acknowledged: None,
        mitigated_at: None,
        resolved_at: None,
        closed_at: None,
        reminded: Default::default(),
        origin: Some(Origin {
            source: batch.source.clone(),
            rule: opening.rule.clone(),
            group: batch.group.clone(),
        }),
        alerts: Vec::new(),
        teams: Vec::new(),
        paged: Vec::new(),
        public: Default::default(),
    };
    let name = channel_name(&rules.channel_prefix, id, &title, platform.max_channel_name());
    let mut d = Decision {
        incident: incident.clone(),
        entries: vec![event(
            id,
            EntryKind::Declared,
            &by,
            now,
            format!("Opened by alert rule {} ({}): {title}", opening.rule, batch.source),
        )],
        effects: vec![Effect::OpenChannel {
            incident: id,
            platform,
            name,
            private: opening.private,
            topic: super::topic(&incident, rules),
        }],
        reply: Message::new(),
    };
    d.effects.extend(opening_posts(&incident, rules, "opened by an alert"));
    for (team, members) in &opening.teams {
        add_responders(&mut incident, &mut d, members, &by, now);
        page(&mut incident, &mut d, rules, team, &by, now);
    }
    absorb_into(&mut incident, &mut d, batch, &by, now);
    d.effects.push(Effect::Hook { incident: id, event: HookEvent::Declared });
    d.reply = Message::new().plain(format!("Opened {id} ({severity}) from the alert"));
    d.incident = incident;
    Ok(d)
}

/// A later notification for the group of an open incident: what is new.
/// `None` when nothing is (a re-sent notification).
pub fn absorb(incident: &Incident, batch: &AlertBatch, now: DateTime<Utc>) -> Option<Decision> {
    if incident.is_closed() {
        return None;
    }
    let rule = incident.origin.as_ref().map_or("alert", |o| o.rule.as_str());
    let by = source_user(incident.platform, batch, rule);
    let mut next = incident.clone();
    let mut d = Decision {
        incident: incident.clone(),
        entries: Vec::new(),
        effects: Vec::new(),
        reply: Message::new(),
    };
    absorb_into(&mut next, &mut d, batch, &by, now);
    if d.entries.is_empty() {
        return None;
    }
    d.reply = Message::new().plain(format!("Added the alerts to {}", incident.id));
    d.incident = next;
    Some(d)
}

/// Each alert that is new to the incident, or newly resolved: one entry and
/// one post in the incident's channel. Resolved alerts do not resolve it.
fn absorb_into(
    next: &mut Incident,
    d: &mut Decision,
    batch: &AlertBatch,
    by: &UserRef,
    now: DateTime<Utc>,
) {
    let id = next.id;
    for alert in &batch.alerts {
        let summary = alert.summary();
        let known = next.alerts.iter().position(|t| t.fingerprint == alert.fingerprint);
        let (record, text) = match (known, alert.status) {
            (None, AlertStatus::Firing) => {
                next.alerts.push(Tracked {
                    fingerprint: alert.fingerprint.clone(),
                    summary: summary.clone(),
                    status: AlertStatus::Firing,
                    since: alert.starts_at,
                    resolved_at: None,
                    link: alert.link.clone(),
                });
                (format!("Alert firing: {summary}"), Message::new().plain("🔔 Alert firing: "))
            }
            (Some(i), AlertStatus::Resolved) if next.alerts[i].status == AlertStatus::Firing => {
                next.alerts[i].status = AlertStatus::Resolved;
                next.alerts[i].resolved_at = Some(now);
                (
                    format!("Alert resolved: {summary}"),
                    Message::new().plain(
                        "✅ Alert resolved (the incident stays open until someone resolves it): ",
                    ),
                )
            }
            // Firing again after it resolved: new again.
            (Some(i), AlertStatus::Firing) if next.alerts[i].status == AlertStatus::Resolved => {
                next.alerts[i].status = AlertStatus::Firing;
                next.alerts[i].resolved_at = None;
                (
                    format!("Alert firing again: {summary}"),
                    Message::new().plain("🔔 Alert firing again: "),
                )
            }
            // Already known in this state, or resolved before it was ever seen.
            _ => continue,
        };
        let mut entry = event(id, EntryKind::Alert, by, now, record);
        entry.link = alert.link.clone();
        d.entries.push(entry);
        let mut text = text.text(&summary);
        if let Some(link) = &alert.link {
            text = text.plain(" · ").text(link);
        }
        d.effects.push(post(id, Audience::IncidentChannel, text));
    }
}

/// Pages a team for the incident (once while it is open).
pub(super) fn page(
    next: &mut Incident,
    d: &mut Decision,
    rules: &Rules,
    team: &str,
    by: &UserRef,
    now: DateTime<Utc>,
) {
    if !next.teams.iter().any(|t| t == team) {
        next.teams.push(team.to_string());
    }
    if !rules.pageable_teams.contains(team) || next.paged.iter().any(|t| t == team) {
        return;
    }
    next.paged.push(team.to_string());
    let id = next.id;
    d.entries.push(event(id, EntryKind::Paged, by, now, format!("Paged {team}")));
    d.effects.push(Effect::Page { incident: id, team: team.to_string(), resolve: false });
}

/// Resolves every page of the incident.
pub(super) fn resolve_pages(next: &Incident, d: &mut Decision) {
    for team in &next.paged {
        d.effects.push(Effect::Page { incident: next.id, team: team.clone(), resolve: true });
    }
}
