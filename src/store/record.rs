//! One incident's whole record as it is exported: the incident, its
//! channels, its timeline and its room. `tocsin export` and the web's
//! JSON download read the same thing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Result, Store};
use crate::incident::room::RoomMessage;
use crate::incident::{Incident, IncidentId, Platform, TimelineEntry};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelOut {
    pub platform: Platform,
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub incident: Incident,
    pub channels: Vec<ChannelOut>,
    pub timeline: Vec<TimelineEntry>,
    /// What was said in the incident's room on the web.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub room: Vec<RoomMessage>,
    /// Set when the incident is marked for deletion: it is purged after this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_after: Option<DateTime<Utc>>,
}

/// The record of a visible incident, if there is one.
pub async fn record(store: &dyn Store, id: IncidentId) -> Result<Option<Record>> {
    let Some(inc) = store.incident(id).await? else { return Ok(None) };
    Ok(Some(record_of(store, inc.value, None).await?))
}

/// The record of `inc`, which may be marked for deletion.
pub async fn record_of(
    store: &dyn Store,
    inc: Incident,
    delete_after: Option<DateTime<Utc>>,
) -> Result<Record> {
    let id = inc.id;
    let mut channels = Vec::new();
    for p in Platform::ALL {
        if let Some((cid, name)) = store.channel(id, p).await? {
            channels.push(ChannelOut { platform: p, id: cid, name });
        }
    }
    let timeline = store.timeline(id).await?;
    let mut room = Vec::new();
    loop {
        let after = room.last().map_or(0, |m: &RoomMessage| m.id);
        let page = store.room(id, after, 1_000).await?;
        if page.is_empty() {
            break;
        }
        room.extend(page);
    }
    Ok(Record { incident: inc, channels, timeline, room, delete_after })
}
