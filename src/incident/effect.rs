//! What a decision asks the outside world to do, in platform-neutral terms.
//!
//! Targets are symbolic: `Audience::IncidentChannel` is resolved when the
//! effect is delivered, so a post can follow the channel creation that an
//! earlier effect in the same lane asked for.

use serde::{Deserialize, Serialize};

use super::{ChannelRef, IncidentId, Message, Platform, UserRef};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The incident's own channel on its home platform.
    IncidentChannel,
    /// The announce channel of every enabled platform.
    Announce,
    /// Every channel subscribed to this incident, on any platform.
    Subscribers,
    /// One particular channel.
    Channel(ChannelRef),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    OpenChannel {
        incident: IncidentId,
        platform: Platform,
        name: String,
        private: bool,
        topic: String,
    },
    Invite {
        incident: IncidentId,
        platform: Platform,
        users: Vec<UserRef>,
    },
    SetTopic {
        incident: IncidentId,
        platform: Platform,
        topic: String,
    },
    Post {
        incident: IncidentId,
        to: Audience,
        message: Message,
        pin: bool,
    },
    PublishPostmortem {
        incident: IncidentId,
        platform: Platform,
    },
    ArchiveChannel {
        incident: IncidentId,
        platform: Platform,
    },
    /// Page a team's on-call (PagerDuty, Opsgenie), or resolve its page.
    Page {
        incident: IncidentId,
        team: String,
        resolve: bool,
    },
    /// Tell the configured webhooks.
    Hook {
        incident: IncidentId,
        event: HookEvent,
    },
}

/// What webhooks hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookEvent {
    Declared,
    Updated,
    Severity,
    Resolved,
    Closed,
}

impl HookEvent {
    pub const ALL: [HookEvent; 5] = [
        HookEvent::Declared,
        HookEvent::Updated,
        HookEvent::Severity,
        HookEvent::Resolved,
        HookEvent::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::Declared => "declared",
            HookEvent::Updated => "updated",
            HookEvent::Severity => "severity",
            HookEvent::Resolved => "resolved",
            HookEvent::Closed => "closed",
        }
    }
}

impl Effect {
    pub fn incident(&self) -> IncidentId {
        match self {
            Effect::OpenChannel { incident, .. }
            | Effect::Invite { incident, .. }
            | Effect::SetTopic { incident, .. }
            | Effect::Post { incident, .. }
            | Effect::PublishPostmortem { incident, .. }
            | Effect::ArchiveChannel { incident, .. }
            | Effect::Page { incident, .. }
            | Effect::Hook { incident, .. } => *incident,
        }
    }
}
