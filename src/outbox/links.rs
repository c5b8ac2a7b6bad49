//! Channel links in a message: an incident's channel is named symbolically
//! when a decision is made and looked up when the message is sent, on the
//! platform it is sent to.

use crate::incident::{Message, Platform, Span};
use crate::store::{Result, Store};

/// Replaces incident-channel references in a message with the channel on
/// `platform`, or the incident's label where it has none there.
pub async fn resolve_channels(
    store: &dyn Store,
    message: &Message,
    platform: Platform,
) -> Result<Message> {
    let mut out = Message::new();
    for span in &message.spans {
        out.spans.push(match span {
            Span::IncidentChannel(id) => match store.channel(*id, platform).await? {
                Some((id, name)) => Span::Channel { id, name },
                None => Span::Plain(id.label()),
            },
            other => other.clone(),
        });
    }
    Ok(out)
}
