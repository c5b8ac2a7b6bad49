//! Performing one delivery through a platform's `ChatApi`: opening the
//! incident's channel, inviting, topics, posts (resumed from the first part
//! not yet sent), the postmortem upload and archiving.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::warn;

use super::api::{ChatApi, ChatError};
use super::delivery::{Delivery, Dest};
use super::links::resolve_channels;
use super::worker::{Failure, Outbox};
use crate::incident::{IncidentId, Message, Platform, Span, channel_name, topic};
use crate::store::Claimed;

/// How long a post linking to the incident's channel waits for it to open.
const LINK_PATIENCE: Duration = Duration::from_secs(3);

/// How far a post split into several messages got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Progress {
    /// Parts posted.
    sent: usize,
    /// The first part's id (the one a header pin goes on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first: Option<String>,
}

impl Outbox {
    /// The incident's channel on the api's platform. Lanes are ordered, so
    /// when there is none its creation already ran and was refused: it is
    /// tried again here, so that one refusal does not sink every later row
    /// of the lane (each is refused, or not, on its own).
    async fn channel(&self, api: &dyn ChatApi, incident: IncidentId) -> Result<String, Failure> {
        let platform = api.platform();
        if let Some((id, _)) = self.store.channel(incident, platform).await? {
            return Ok(id);
        }
        let Some(inc) = self.store.incident(incident).await? else {
            return Err(ChatError::Rejected(format!("{incident} does not exist")).into());
        };
        let rules = &self.postmortem.rules;
        let inc = inc.value;
        let name =
            channel_name(&rules.channel_prefix, incident, &inc.title, platform.max_channel_name());
        self.open(api, incident, &name, inc.private, &topic(&inc, rules)).await
    }

    /// Opens the incident's channel under `name`, or `name-2`, `-3`... when
    /// taken by someone else, and records it.
    async fn open(
        &self,
        api: &dyn ChatApi,
        incident: IncidentId,
        name: &str,
        private: bool,
        topic: &str,
    ) -> Result<String, Failure> {
        let platform = api.platform();
        for n in 1..=20 {
            let candidate = if n == 1 { name.to_string() } else { suffixed(name, n, platform) };
            match api.open_channel(&candidate, private, topic).await {
                Ok(ch) => {
                    self.store.set_channel(incident, platform, &ch.id, &ch.name).await?;
                    return Ok(ch.id);
                }
                Err(ChatError::NameTaken) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ChatError::Rejected(format!("no free channel name like {name}")).into())
    }

    /// A post into another channel has a lane of its own, so it may come
    /// up before the incident's channel is open. One that links to that
    /// channel waits for it a little (the opening is usually a moment
    /// away, in the incident's lane), then goes out naming the incident
    /// instead of linking it; on a later attempt it does not wait.
    async fn link_ready(
        &self,
        platform: Platform,
        row: &Claimed,
        message: &Message,
    ) -> Result<(), Failure> {
        let incident = row.incident;
        let links = message.spans.contains(&Span::IncidentChannel(incident));
        if !links || row.attempts > 1 {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + LINK_PATIENCE;
        let mut home = None;
        while self.store.channel(incident, platform).await?.is_none() {
            if home.is_none() {
                home = self.store.incident(incident).await?.map(|v| v.value.platform);
            }
            // Only the incident's home platform gets a channel to link to.
            if home != Some(platform) || tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await; // poll for the channel
        }
        Ok(())
    }

    pub(super) async fn perform(
        &self,
        api: &dyn ChatApi,
        row: &Claimed,
        d: &Delivery,
    ) -> Result<(), Failure> {
        let (platform, incident) = (api.platform(), row.incident);
        match d {
            Delivery::OpenChannel { name, private, topic } => {
                if self.store.channel(incident, platform).await?.is_none() {
                    self.open(api, incident, name, *private, topic).await?;
                }
                Ok(())
            }
            Delivery::Invite { users } => {
                let ch = self.channel(api, incident).await?;
                let users: Vec<_> =
                    users.iter().filter(|u| u.platform == platform).cloned().collect();
                if users.is_empty() {
                    return Ok(());
                }
                Ok(api.invite(&ch, &users).await?)
            }
            Delivery::SetTopic { topic } => {
                let ch = self.channel(api, incident).await?;
                Ok(api.set_topic(&ch, topic).await?)
            }
            Delivery::Post { to, message, pin } => {
                let ch = match to {
                    Dest::IncidentChannel => self.channel(api, incident).await?,
                    Dest::Channel(c) => {
                        self.link_ready(platform, row, message).await?;
                        c.clone()
                    }
                };
                let message = resolve_channels(&*self.store, message, platform).await?;
                let parts = api.render(&message);
                let mut done: Progress = row
                    .progress
                    .as_deref()
                    .and_then(|p| serde_json::from_str(p).ok())
                    .unwrap_or_default();
                for part in parts.iter().skip(done.sent) {
                    let id = api.post_part(&ch, &message, part).await?;
                    done.sent += 1;
                    done.first.get_or_insert(id);
                    if parts.len() > 1 {
                        // A later part that fails must not post the earlier ones again.
                        let json = serde_json::to_string(&done).expect("progress serializes");
                        self.store.record_progress(row.id, &self.worker, &json).await?;
                    }
                }
                if *pin && let Some(first) = &done.first {
                    // The post is out; a failed pin must not make the retry post it twice.
                    if let Err(e) = api.pin(&ch, first).await {
                        warn!(error = %e, %incident, "could not pin the header message");
                    }
                }
                Ok(())
            }
            Delivery::PublishPostmortem => {
                let ch = self.channel(api, incident).await?;
                let Some(inc) = self.store.incident(incident).await? else {
                    return Err(ChatError::Rejected(format!("{incident} does not exist")).into());
                };
                let timeline = self.store.timeline(incident).await?;
                let pm = &self.postmortem;
                let text = crate::postmortem::render(
                    &inc.value,
                    &timeline,
                    &pm.rules,
                    pm.template.as_deref(),
                )
                .map_err(|e| ChatError::Rejected(format!("postmortem template: {e}")))?;
                let file = format!("{}-postmortem.md", incident.label());
                let title = format!("Postmortem draft: {} — {}", incident, inc.value.title);
                Ok(api.upload(&ch, &file, &title, &text).await?)
            }
            Delivery::Archive => match self.store.channel(incident, platform).await? {
                Some((ch, _)) => Ok(api.archive(&ch).await?),
                // It never came to be: nothing to archive.
                None => Ok(()),
            },
            Delivery::Page(_) | Delivery::Hook { .. } => {
                Err(ChatError::Rejected("not a chat delivery".into()).into())
            }
        }
    }
}

/// `name-2`, `name-3`, ... within the platform's length limit.
fn suffixed(name: &str, n: u32, platform: Platform) -> String {
    let suffix = format!("-{n}");
    let mut base = name.to_string();
    base.truncate(platform.max_channel_name() - suffix.len());
    format!("{}{suffix}", base.trim_end_matches('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_name_gets_a_numbered_suffix_within_the_limit() {
        assert_eq!(suffixed("inc-7-db", 2, Platform::Slack), "inc-7-db-2");
        let long = "a".repeat(80);
        assert_eq!(suffixed(&long, 12, Platform::Slack).len(), 80);
    }
}
