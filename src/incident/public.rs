//! What an incident shows on the public status page: only what someone
//! published. A public message is separate from the internal updates, and a
//! component's impact is set by hand; a private incident publishes nothing.
//! Resolving an incident ends its impact.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::steps::{event, post, require_text};
use super::timeline::EntryKind;
use super::{Audience, Decision, Incident, Message, Rules, Status, UserError, UserRef};

/// How a component is doing, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    Operational,
    Degraded,
    PartialOutage,
    MajorOutage,
}

impl Impact {
    pub const ALL: [Impact; 4] =
        [Impact::Operational, Impact::Degraded, Impact::PartialOutage, Impact::MajorOutage];

    pub fn as_str(self) -> &'static str {
        match self {
            Impact::Operational => "operational",
            Impact::Degraded => "degraded",
            Impact::PartialOutage => "partial_outage",
            Impact::MajorOutage => "major_outage",
        }
    }

    /// How the page says it.
    pub fn label(self) -> &'static str {
        match self {
            Impact::Operational => "Operational",
            Impact::Degraded => "Degraded performance",
            Impact::PartialOutage => "Partial outage",
            Impact::MajorOutage => "Major outage",
        }
    }

    /// `operational`, `degraded`, `partial`, `major`, with or without
    /// `_outage` / `-outage`, in any case.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.to_ascii_lowercase().replace('-', "_");
        let s = s.strip_suffix("_outage").unwrap_or(&s);
        match s {
            "operational" | "ok" => Some(Impact::Operational),
            "degraded" => Some(Impact::Degraded),
            "partial" => Some(Impact::PartialOutage),
            "major" => Some(Impact::MajorOutage),
            _ => None,
        }
    }
}

/// A message published on the status page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicPost {
    /// The incident's status when it was published.
    pub status: Status,
    pub message: String,
    pub by: UserRef,
    pub at: DateTime<Utc>,
}

/// A component's impact, as set at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpactChange {
    pub component: String,
    pub impact: Impact,
    pub by: UserRef,
    pub at: DateTime<Utc>,
}

/// Everything of an incident that is public.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Public {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub posts: Vec<PublicPost>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub impacts: Vec<ImpactChange>,
}

impl Public {
    pub fn is_empty(&self) -> bool {
        self.posts.is_empty() && self.impacts.is_empty()
    }

    /// When it first went public.
    pub fn since(&self) -> Option<DateTime<Utc>> {
        let first_post = self.posts.first().map(|p| p.at);
        let first_impact = self.impacts.first().map(|i| i.at);
        first_post.into_iter().chain(first_impact).min()
    }

    /// Each component's latest impact, in the order first set.
    pub fn current(&self) -> Vec<(&str, Impact)> {
        let mut out: Vec<(&str, Impact)> = Vec::new();
        for c in &self.impacts {
            match out.iter_mut().find(|(name, _)| *name == c.component) {
                Some(slot) => slot.1 = c.impact,
                None => out.push((&c.component, c.impact)),
            }
        }
        out
    }
}

/// Whether the incident may show anything on the status page at all.
fn publishable(incident: &Incident, rules: &Rules) -> Result<(), UserError> {
    if rules.status_components.is_none() {
        return Err(UserError::new(
            "there is no status page; add a [status_page] table to bot.toml to have one",
        ));
    }
    if incident.private {
        return Err(UserError::new(format!(
            "{} is private; nothing of it goes on the status page",
            incident.id
        )));
    }
    Ok(())
}

/// A public message for the status page.
pub(super) fn publish(
    incident: &mut Incident,
    rules: &Rules,
    message: String,
    by: &UserRef,
    now: DateTime<Utc>,
    d: &mut Decision,
) -> Result<(), UserError> {
    publishable(incident, rules)?;
    // No control characters: the message goes into HTML, JSON and an Atom feed.
    let message: String =
        message.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\t')).collect();
    let message = require_text(message, "a public message needs text")?;
    if message.chars().count() > 2_000 {
        return Err(UserError::new(
            "a public message is longer than 2,000 characters; keep it short",
        ));
    }
    let id = incident.id;
    let status = incident.status;
    incident.public.posts.push(PublicPost {
        status,
        message: message.clone(),
        by: by.clone(),
        at: now,
    });
    d.entries.push(event(
        id,
        EntryKind::Published,
        by,
        now,
        format!("Published on the status page ({}): {message}", status.title()),
    ));
    let text = Message::new()
        .plain(format!("🌐 Published on the status page ({}): ", status.title()))
        .text(&message)
        .plain(" (")
        .user(by)
        .plain(")");
    d.effects.push(post(id, Audience::IncidentChannel, text));
    d.reply = Message::new().plain(format!("Published on the status page for {id}"));
    Ok(())
}

/// A component's impact on the status page.
pub(super) fn impact(
    incident: &mut Incident,
    rules: &Rules,
    component: &str,
    level: &str,
    by: &UserRef,
    now: DateTime<Utc>,
    d: &mut Decision,
) -> Result<(), UserError> {
    publishable(incident, rules)?;
    let id = incident.id;
    let components = rules.status_components.as_deref().unwrap_or_default();
    let Some(component) = components.iter().find(|c| c.eq_ignore_ascii_case(component.trim()))
    else {
        return Err(UserError::new(format!(
            "there is no component \"{}\" on the status page; it has {}",
            component.trim(),
            components.join(", ")
        )));
    };
    let Some(level) = Impact::parse(level) else {
        return Err(UserError::new(format!(
            "\"{level}\" is not an impact; use operational, degraded, partial or major"
        )));
    };
    if matches!(incident.status, Status::Resolved | Status::Closed) {
        return Err(UserError::new(format!("{id} is resolved; its impact has ended")));
    }
    let was = incident.public.current().into_iter().find(|(c, _)| c == component).map(|x| x.1);
    if was.unwrap_or(Impact::Operational) == level {
        return Err(UserError::new(format!(
            "{component} is already shown as {} for {id}",
            level.label().to_lowercase()
        )));
    }
    incident.public.impacts.push(ImpactChange {
        component: component.clone(),
        impact: level,
        by: by.clone(),
        at: now,
    });
    let said = format!("{component}: {}", level.label().to_lowercase());
    d.entries.push(event(id, EntryKind::Published, by, now, format!("Status page: {said}")));
    let text = Message::new().plain(format!("🌐 Status page: {said} (")).user(by).plain(")");
    d.effects.push(post(id, Audience::IncidentChannel, text));
    d.reply = Message::new().plain(format!("The status page shows {said}"));
    Ok(())
}
