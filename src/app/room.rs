//! The incident rooms on the web: a message is kept and mirrored into the
//! incident's chat channel in one commit, so the outbox delivers it when the
//! platform is back if it is failing now.

use std::sync::Arc;

use super::{App, Ctx, Failure, Reply, Step};
use crate::incident::{ChannelRef, Incident, IncidentId, MessageKey, Platform, UserRef, room};
use crate::store::{Commit, IncidentAndEntry, Versioned};

impl App {
    /// Whether `who` may see the incident: anyone a public one, its
    /// responders a private one.
    pub fn may_see(incident: &Incident, who: &UserRef) -> bool {
        !incident.private || incident.is_responder(who)
    }

    /// The incident a channel belongs to; a web room's channel is the
    /// incident's own label.
    pub(super) async fn incident_of_channel(
        &self,
        channel: &ChannelRef,
    ) -> Result<Option<Versioned<Incident>>, Failure> {
        if channel.platform == Platform::Web {
            let Some(id) = IncidentId::parse(&channel.id) else { return Ok(None) };
            return Ok(self.store.incident(id).await?);
        }
        Ok(self.store.incident_in_channel(channel).await?)
    }

    /// The incident a message's channel belongs to, with the message's
    /// timeline entry if it has one.
    pub(super) async fn incident_and_entry(
        &self,
        key: &MessageKey,
    ) -> Result<Option<IncidentAndEntry>, Failure> {
        if key.platform != Platform::Web {
            return Ok(self.store.incident_and_entry(key).await?);
        }
        let channel = ChannelRef::new(key.platform, key.channel.clone());
        let Some(found) = self.incident_of_channel(&channel).await? else { return Ok(None) };
        Ok(Some((Arc::new(found), self.store.entry(key).await?)))
    }

    pub(super) async fn say(&self, ctx: &Ctx, id: IncidentId, text: &str) -> Reply {
        let result = self
            .transact(ctx, || {
                Box::pin(async move {
                    let v = match self.store.incident(id).await? {
                        Some(v) if Self::may_see(&v.value, &ctx.user) => v,
                        _ => return Err(Failure::user(format!("there is no {id}"))),
                    };
                    let (message, d) = room::say(&v.value, &ctx.user, text, self.now())?;
                    let outbox = self.outbox_items(&d.incident, d.effects).await?;
                    let commit = Commit { room: Some(message), outbox, ..Default::default() };
                    Ok(Step::write(commit, d.reply))
                })
            })
            .await;
        match result {
            Ok(m) => Reply::done(m),
            Err(f) => Reply::from_failure(f, "say"),
        }
    }
}
