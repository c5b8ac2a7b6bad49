//! Stakeholder subscriptions: a channel follows one incident, or every
//! incident at or above a severity.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ChannelRef, Incident, IncidentId, Rules, UserError, UserRef};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", content = "value", rename_all = "snake_case")]
pub enum Scope {
    Incident(IncidentId),
    /// Every public incident at this severity or more severe.
    AtLeast(String),
}

impl Scope {
    /// A stable text form for storage: `INC-7` or `>=SEV2`.
    pub fn key(&self) -> String {
        match self {
            Scope::Incident(id) => id.label(),
            Scope::AtLeast(sev) => format!(">={sev}"),
        }
    }

    pub fn from_key(s: &str) -> Option<Self> {
        match s.strip_prefix(">=") {
            Some(sev) => Some(Scope::AtLeast(sev.to_string())),
            None => IncidentId::parse(s).map(Scope::Incident),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub channel: ChannelRef,
    pub scope: Scope,
    pub by: UserRef,
    pub at: DateTime<Utc>,
}

impl Subscription {
    /// Whether this subscription receives the incident's updates now.
    /// Private incidents reach only channels subscribed to them by name.
    pub fn matches(&self, incident: &Incident, rules: &Rules) -> bool {
        match &self.scope {
            Scope::Incident(id) => *id == incident.id,
            Scope::AtLeast(sev) => {
                !incident.private && rules.rank(&incident.severity) <= rules.rank(sev)
            }
        }
    }
}

/// Decides a subscription request from `channel`. `incident` is the incident
/// named (if any), `home` the incident whose channel the request came from (if any).
pub fn subscribe(
    rules: &Rules,
    channel: &ChannelRef,
    incident: Option<&Incident>,
    home: Option<&Incident>,
    min_severity: Option<&str>,
    by: &UserRef,
    now: DateTime<Utc>,
) -> Result<Subscription, UserError> {
    let scope = match (incident, min_severity) {
        (Some(_), Some(_)) => {
            return Err(UserError::new("name an incident or give --min-severity, not both"));
        }
        (Some(inc), None) => {
            if inc.private && !inc.is_responder(by) {
                return Err(UserError::new(format!(
                    "{} is private; only its responders can share it with another channel",
                    inc.id
                )));
            }
            if home.map(|h| h.id) == Some(inc.id) {
                return Err(own_channel(inc.id));
            }
            Scope::Incident(inc.id)
        }
        (None, sev) => {
            if let Some(h) = home
                && sev.is_none()
            {
                return Err(own_channel(h.id));
            }
            let sev = match sev {
                Some(s) => rules.severity(s)?,
                None => rules.severities.last().cloned().unwrap_or_default(),
            };
            Scope::AtLeast(sev)
        }
    };
    Ok(Subscription { channel: channel.clone(), scope, by: by.clone(), at: now })
}

fn own_channel(id: IncidentId) -> UserError {
    UserError::new(format!(
        "this is {id}'s own channel and already gets every update; run subscribe in the channel that should follow it"
    ))
}
