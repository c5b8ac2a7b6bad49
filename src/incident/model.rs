//! The incident record's nouns: ids, people, channels, statuses and the incident itself.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An incident's number; shown as `INC-7`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentId(pub i64);

impl IncidentId {
    pub fn label(self) -> String {
        format!("INC-{}", self.0)
    }

    /// Parses `INC-7` in any case. (Not `#7`: free text starting with `#2`
    /// must not be taken for another incident.)
    pub fn parse(s: &str) -> Option<Self> {
        let digits = s.get(..4).filter(|p| p.eq_ignore_ascii_case("INC-")).map(|_| &s[4..])?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|n| *n > 0).map(IncidentId)
    }
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "INC-{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Slack,
    Discord,
    Console,
    /// The web command center: its rooms' messages are keyed here.
    Web,
}

impl Platform {
    pub const ALL: [Platform; 4] =
        [Platform::Slack, Platform::Discord, Platform::Console, Platform::Web];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Slack => "slack",
            Platform::Discord => "discord",
            Platform::Console => "console",
            Platform::Web => "web",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The longest channel name the platform accepts.
    pub fn max_channel_name(self) -> usize {
        match self {
            Platform::Discord => 100,
            Platform::Slack | Platform::Console | Platform::Web => 80,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person on one platform. Equality is by platform and id; the name is a
/// best-effort label for the record and the postmortem.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRef {
    pub platform: Platform,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl UserRef {
    pub fn new(platform: Platform, id: impl Into<String>) -> Self {
        Self { platform, id: id.into(), name: None }
    }

    pub fn named(platform: Platform, id: impl Into<String>, name: impl Into<String>) -> Self {
        Self { platform, id: id.into(), name: Some(name.into()) }
    }

    pub fn display(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

impl PartialEq for UserRef {
    fn eq(&self, other: &Self) -> bool {
        self.platform == other.platform && self.id == other.id
    }
}
impl Eq for UserRef {}

/// A channel on one platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChannelRef {
    pub platform: Platform,
    pub id: String,
}

impl ChannelRef {
    pub fn new(platform: Platform, id: impl Into<String>) -> Self {
        Self { platform, id: id.into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Closed,
}

impl Status {
    /// The statuses a responder may post an update with.
    pub const UPDATABLE: [Status; 4] =
        [Status::Investigating, Status::Identified, Status::Monitoring, Status::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Investigating => "investigating",
            Status::Identified => "identified",
            Status::Monitoring => "monitoring",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Status::Investigating => "Investigating",
            Status::Identified => "Identified",
            Status::Monitoring => "Monitoring",
            Status::Resolved => "Resolved",
            Status::Closed => "Closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.to_ascii_lowercase();
        [Self::UPDATABLE.as_slice(), &[Status::Closed]]
            .concat()
            .into_iter()
            .find(|st| st.as_str() == s)
    }

    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Someone is on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub by: UserRef,
    pub at: DateTime<Utc>,
}

/// One holder of one role, from `at` until the next assignment of that role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub role: String,
    pub user: UserRef,
    pub by: UserRef,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Responder {
    pub user: UserRef,
    pub added_by: UserRef,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusUpdate {
    pub status: Status,
    pub message: String,
    pub by: UserRef,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityChange {
    pub from: String,
    pub to: String,
    pub by: UserRef,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub number: u32,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<UserRef>,
    pub by: UserRef,
    pub at: DateTime<Utc>,
}

/// The incident aggregate: everything but the timeline, which is kept entry by
/// entry (an incident may collect many thousands of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: IncidentId,
    pub title: String,
    pub severity: String,
    pub status: Status,
    pub private: bool,
    /// The platform it was declared on; its channel lives there.
    pub platform: Platform,
    pub declared_by: UserRef,
    pub declared_at: DateTime<Utc>,
    #[serde(default)]
    pub roles: Vec<RoleAssignment>,
    #[serde(default)]
    pub responders: Vec<Responder>,
    #[serde(default)]
    pub updates: Vec<StatusUpdate>,
    #[serde(default)]
    pub severity_changes: Vec<SeverityChange>,
    #[serde(default)]
    pub followups: Vec<FollowUp>,
    /// The first acknowledgement: declaring, taking command or `ack`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledgement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    /// Reminders sent so far.
    #[serde(default, skip_serializing_if = "is_default")]
    pub reminded: super::reminders::Reminded,
    /// The alert rule and group that opened it; `None` for one declared in chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<super::alerting::Origin>,
    /// The alerts of its group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<super::alerting::Tracked>,
    /// Teams brought in (invited or paged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<String>,
    /// Teams paged: their pages resolve when the incident does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paged: Vec<String>,
    /// What the public status page shows of it.
    #[serde(default, skip_serializing_if = "super::public::Public::is_empty")]
    pub public: super::public::Public,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl Incident {
    /// The current holder of a role.
    pub fn holder(&self, role: &str) -> Option<&UserRef> {
        self.roles.iter().rev().find(|a| a.role == role).map(|a| &a.user)
    }

    pub fn is_responder(&self, user: &UserRef) -> bool {
        self.responders.iter().any(|r| &r.user == user)
    }

    pub fn first_update_at(&self) -> Option<DateTime<Utc>> {
        self.updates.first().map(|u| u.at)
    }

    pub fn is_closed(&self) -> bool {
        self.status == Status::Closed
    }
}
