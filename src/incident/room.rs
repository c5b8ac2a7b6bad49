//! An incident's room on the web: what people say there is kept, mirrored
//! into the incident's chat channel as "name (web): …", and can be flagged
//! onto the timeline like any chat message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::decide::Decision;
use super::steps::post;
use super::{Audience, Incident, IncidentId, Message, MessageKey, Platform, UserError, UserRef};

/// The longest message the room takes (Slack's own limit is 4,000).
pub const MAX_ROOM_MESSAGE: usize = 4_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMessage {
    /// Given by the store; 0 until then.
    pub id: i64,
    pub incident: IncidentId,
    pub author: UserRef,
    pub text: String,
    pub at: DateTime<Utc>,
}

impl RoomMessage {
    /// Its key as a flaggable message: channel `INC-7` on the web.
    pub fn key(&self) -> MessageKey {
        room_key(self.incident, self.id)
    }
}

pub fn room_key(incident: IncidentId, id: i64) -> MessageKey {
    MessageKey { platform: Platform::Web, channel: incident.label(), message: id.to_string() }
}

/// `author` says `text` in the room of `incident`: the message to keep and
/// its mirror in the incident channel.
pub fn say(
    incident: &Incident,
    author: &UserRef,
    text: &str,
    now: DateTime<Utc>,
) -> Result<(RoomMessage, Decision), UserError> {
    let id = incident.id;
    if incident.is_closed() {
        return Err(UserError::new(format!("{id} is closed; its room is read-only")));
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(UserError::new("say something first"));
    }
    if text.chars().count() > MAX_ROOM_MESSAGE {
        return Err(UserError::new(format!(
            "a message takes at most {MAX_ROOM_MESSAGE} characters"
        )));
    }
    let message = RoomMessage {
        id: 0,
        incident: id,
        author: author.clone(),
        text: text.to_string(),
        at: now,
    };
    let mirror = Message::new().plain(format!("{} (web): ", author.display())).text(text);
    let d = Decision {
        incident: incident.clone(),
        entries: Vec::new(),
        effects: vec![post(id, Audience::IncidentChannel, mirror)],
        reply: Message::new().plain("Sent."),
    };
    Ok((message, d))
}
