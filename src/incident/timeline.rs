//! Timeline entries and the flagging rules that keep each message on the record exactly once.
//!
//! A flagged message is keyed by (platform, channel, message id). Flagging it
//! again, by anyone and by any means, adds a flag to the same entry; the entry
//! is retracted only when its last flag is removed; edits update it; deletion
//! marks it deleted and keeps it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Incident, IncidentId, Platform, UserError, UserRef};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Declared,
    Update,
    Severity,
    Role,
    Responders,
    Note,
    FollowUp,
    Resolved,
    Closed,
    /// A chat message someone flagged.
    Message,
    Acknowledged,
    /// An alert of the incident's group fired or resolved.
    Alert,
    /// A team was paged, or its page resolved.
    Paged,
    /// Something went on the public status page.
    Published,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Declared => "declared",
            EntryKind::Update => "update",
            EntryKind::Severity => "severity",
            EntryKind::Role => "role",
            EntryKind::Responders => "responders",
            EntryKind::Note => "note",
            EntryKind::FollowUp => "follow_up",
            EntryKind::Resolved => "resolved",
            EntryKind::Closed => "closed",
            EntryKind::Message => "message",
            EntryKind::Acknowledged => "acknowledged",
            EntryKind::Alert => "alert",
            EntryKind::Paged => "paged",
            EntryKind::Published => "published",
        }
    }

    /// How people read it: `status update`, `follow-up`.
    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Update => "status update",
            EntryKind::FollowUp => "follow-up",
            other => other.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use EntryKind::*;
        [
            Declared,
            Update,
            Severity,
            Role,
            Responders,
            Note,
            FollowUp,
            Resolved,
            Closed,
            Message,
            Acknowledged,
            Alert,
            Paged,
            Published,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    Active,
    /// Every flag was removed; kept in the record, left out of the postmortem.
    Retracted,
    /// The message was deleted in chat; kept, shown as deleted.
    Deleted,
}

impl EntryState {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryState::Active => "active",
            EntryState::Retracted => "retracted",
            EntryState::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [EntryState::Active, EntryState::Retracted, EntryState::Deleted]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Where a flagged message lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageKey {
    pub platform: Platform,
    pub channel: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagVia {
    /// The "Add to timeline" message action (or the console's `:pin`).
    Action,
    /// The configured reaction.
    Reaction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub user: UserRef,
    pub via: FlagVia,
}

/// A chat message as the platform shows it, at the moment it is flagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlaggedMessage {
    pub key: MessageKey,
    pub author: UserRef,
    pub text: String,
    /// The message's own time, not the time of flagging.
    pub at: DateTime<Utc>,
    pub link: Option<String>,
    pub files: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub incident: IncidentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<MessageKey>,
    pub kind: EntryKind,
    pub author: UserRef,
    pub at: DateTime<Utc>,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
    pub state: EntryState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    pub recorded_at: DateTime<Utc>,
}

impl TimelineEntry {
    /// An entry the bot records for a state change.
    pub fn event(
        incident: IncidentId,
        kind: EntryKind,
        author: &UserRef,
        at: DateTime<Utc>,
        text: impl Into<String>,
    ) -> Self {
        Self {
            incident,
            key: None,
            kind,
            author: author.clone(),
            at,
            text: text.into(),
            link: None,
            files: Vec::new(),
            flags: Vec::new(),
            state: EntryState::Active,
            edited_at: None,
            deleted_at: None,
            recorded_at: at,
        }
    }

    /// Shown in the postmortem: active entries and deleted messages (marked).
    pub fn is_visible(&self) -> bool {
        self.state != EntryState::Retracted
    }
}

/// Flags a message onto an incident's timeline. `Ok(None)` means nothing
/// changes: this exact flag is already there.
pub fn flag(
    incident: &Incident,
    existing: Option<&TimelineEntry>,
    msg: &FlaggedMessage,
    flag: Flag,
    now: DateTime<Utc>,
) -> Result<Option<TimelineEntry>, UserError> {
    if incident.is_closed() {
        return Err(UserError::new(format!(
            "{} is closed; its timeline can no longer change",
            incident.id
        )));
    }
    let Some(entry) = existing else {
        return Ok(Some(TimelineEntry {
            incident: incident.id,
            key: Some(msg.key.clone()),
            kind: EntryKind::Message,
            author: msg.author.clone(),
            at: msg.at,
            text: msg.text.clone(),
            link: msg.link.clone(),
            files: msg.files.clone(),
            flags: vec![flag],
            state: EntryState::Active,
            edited_at: None,
            deleted_at: None,
            recorded_at: now,
        }));
    };
    if entry.state == EntryState::Deleted {
        return Ok(None);
    }
    let already = entry.flags.contains(&flag);
    if already && entry.state == EntryState::Active {
        return Ok(None);
    }
    let mut next = entry.clone();
    if !already {
        next.flags.push(flag);
    }
    next.state = EntryState::Active;
    if next.text != msg.text {
        next.text = msg.text.clone();
        next.edited_at = Some(now);
    }
    Ok(Some(next))
}

/// Removes one flag; the entry is retracted when no flag remains.
pub fn unflag(existing: Option<&TimelineEntry>, flag: &Flag) -> Option<TimelineEntry> {
    let entry = existing?;
    if !entry.flags.contains(flag) {
        return None;
    }
    let mut next = entry.clone();
    next.flags.retain(|f| f != flag);
    if next.flags.is_empty() && next.state == EntryState::Active {
        next.state = EntryState::Retracted;
    }
    Some(next)
}

/// Mirrors an edit of a flagged message.
pub fn edit(
    existing: Option<&TimelineEntry>,
    text: &str,
    at: DateTime<Utc>,
) -> Option<TimelineEntry> {
    let entry = existing?;
    // Edits can arrive out of order (events are handled concurrently, and
    // retried): an edit older than the one recorded changes nothing.
    let stale = entry.edited_at.is_some_and(|t| t > at);
    if entry.state == EntryState::Deleted || entry.text == text || stale {
        return None;
    }
    let mut next = entry.clone();
    next.text = text.to_string();
    next.edited_at = Some(at);
    Some(next)
}

/// Mirrors the deletion of a flagged message: the entry stays, keeping who
/// said it, when, and that it was deleted; what it said and its files go
/// with the message (a pasted password must not outlive its deletion).
pub fn delete(existing: Option<&TimelineEntry>, at: DateTime<Utc>) -> Option<TimelineEntry> {
    let entry = existing?;
    if entry.state == EntryState::Deleted {
        return None;
    }
    let mut next = entry.clone();
    next.state = EntryState::Deleted;
    next.deleted_at = Some(at);
    next.text.clear();
    next.files.clear();
    next.link = None;
    Some(next)
}
