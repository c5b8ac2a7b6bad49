//! Reminders, driven by the clock: every tick, each open incident whose
//! reminder is due gets it, committed like any change (a replica that loses
//! the race decides again and finds nothing due), so each fires once.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::{App, Ctx, Inbound, Reply, Step};
use crate::incident::{ChannelRef, Message, reminders};
use crate::store::{Commit, Write};

/// The longest the reminder loop sleeps: incidents other replicas declared
/// or changed are seen within it.
const LOOK_AT_LEAST_EVERY: Duration = Duration::from_secs(15);

impl App {
    /// Sends every reminder due now.
    pub(super) async fn remind(&self) -> Reply {
        let now = self.now();
        let open = match self.store.incidents(false).await {
            Ok(open) => open,
            Err(e) => return Reply::from_failure(e.into(), "reminders"),
        };
        let mut sent = 0;
        for inc in open {
            if reminders::next_due(&inc, &self.rules).is_none_or(|due| due > now) {
                continue;
            }
            let ctx = Ctx {
                user: reminders::reminder_author(&inc),
                channel: ChannelRef::new(inc.platform, ""),
                event_id: None,
            };
            let id = inc.id;
            let result = self
                .transact(&ctx, || {
                    Box::pin(async move {
                        let Some(v) = self.store.incident(id).await? else {
                            return Ok(Step::Done(Message::new()));
                        };
                        let Some(d) = reminders::remind(&v.value, &self.rules, self.now()) else {
                            return Ok(Step::Done(Message::new()));
                        };
                        let outbox = self.outbox_items(&d.incident, d.effects).await?;
                        let commit = Commit {
                            incident: Some(Write::Update { value: d.incident, version: v.version }),
                            outbox,
                            ..Default::default()
                        };
                        Ok(Step::write(commit, Message::new().plain("reminded")))
                    })
                })
                .await;
            match result {
                Ok(m) if !m.spans.is_empty() => sent += 1,
                Ok(_) => {}
                Err(f) => return Reply::from_failure(f, "reminders"),
            }
        }
        Reply::done(Message::new().plain(format!("{sent} reminders sent")))
    }

    /// When the next reminder falls due, over every open incident.
    pub async fn next_reminder(&self) -> Option<DateTime<Utc>> {
        let open = self.store.incidents(false).await.ok()?;
        open.iter().filter_map(|i| reminders::next_due(i, &self.rules)).min()
    }

    /// The reminder loop `serve` runs: a tick when the next reminder is due,
    /// and at least every few seconds; returns when `stop` turns true.
    pub async fn remind_periodically(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            self.handle(Inbound::tick()).await;
            let wait = match self.next_reminder().await {
                Some(due) => (due - self.now()).to_std().unwrap_or_default(),
                None => LOOK_AT_LEAST_EVERY,
            };
            let wait = wait.clamp(Duration::from_millis(200), LOOK_AT_LEAST_EVERY);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {} // until the next reminder is due
                _ = async { let _ = stop.wait_for(|s| *s).await; } => return,
            }
        }
    }
}
