//! Delivery workers: lease rows lane by lane, perform them through the
//! platform's `ChatApi`, retry with backoff, honour Retry-After.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tracing::{debug, warn};

use super::api::{ChatApi, ChatError};
use super::counters::Counters;
use super::delivery::{Delivery, Dest};
use crate::incident::{IncidentId, Platform, Rules};
use crate::store::{Claimed, Store, StoreError};

/// How hard to try.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max_delay: Duration,
    /// Transient failures before a row is given up on and marked failed.
    pub max_attempts: i64,
    /// How long a claimed row stays leased to this worker.
    pub lease: Duration,
    pub batch: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            // With the 5-minute cap this keeps trying for about four hours.
            max_attempts: 60,
            lease: Duration::from_secs(60),
            batch: 32,
        }
    }
}

impl RetryPolicy {
    pub fn backoff(&self, attempts: i64, row: i64) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempts.clamp(1, 16).saturating_sub(1) as u32);
        // Spread retries of different rows a little without a random source.
        let jitter = Duration::from_millis((row.unsigned_abs() * 7919) % 250);
        exp.min(self.max_delay) + jitter
    }
}

/// What rendering the postmortem needs.
#[derive(Clone)]
pub struct PostmortemSettings {
    pub rules: Rules,
    pub template: Option<String>,
}

#[derive(Clone)]
pub struct Outbox {
    store: Arc<dyn Store>,
    apis: Arc<BTreeMap<Platform, Arc<dyn ChatApi>>>,
    postmortem: Arc<PostmortemSettings>,
    policy: Arc<RetryPolicy>,
    worker: Arc<str>,
    wake: Arc<Notify>,
    /// The earliest time a row this worker put off is due again.
    soonest: Arc<std::sync::Mutex<Option<tokio::time::Instant>>>,
    pub counters: Arc<Counters>,
}

enum Failure {
    Chat(ChatError),
    Store(StoreError),
}

impl From<ChatError> for Failure {
    fn from(e: ChatError) -> Self {
        Failure::Chat(e)
    }
}
impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

impl Outbox {
    /// The platforms this worker has adapters for.
    pub fn platforms(&self) -> Vec<Platform> {
        self.apis.keys().copied().collect()
    }

    pub fn new(
        store: Arc<dyn Store>,
        apis: Vec<Arc<dyn ChatApi>>,
        postmortem: PostmortemSettings,
        policy: RetryPolicy,
        worker: &str,
    ) -> Self {
        Self {
            store,
            apis: Arc::new(apis.into_iter().map(|a| (a.platform(), a)).collect()),
            postmortem: Arc::new(postmortem),
            policy: Arc::new(policy),
            worker: worker.into(),
            wake: Arc::new(Notify::new()),
            soonest: Arc::default(),
            counters: Arc::new(Counters::default()),
        }
    }

    /// Tells an idle worker loop that new rows were committed.
    pub fn notifier(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Claims one batch and delivers it (lanes in parallel); returns how many rows it handled.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let now = Utc::now();
        let lease = now + chrono::Duration::from_std(self.policy.lease).expect("lease fits");
        let platforms = self.platforms();
        let batch =
            self.store.claim(&self.worker, now, lease, self.policy.batch, &platforms).await?;
        let n = batch.len();
        let mut set = JoinSet::new();
        for row in batch {
            let me = self.clone();
            set.spawn(async move { me.deliver(row).await });
        }
        while set.join_next().await.is_some() {}
        Ok(n)
    }

    /// Delivers until nothing is due now. The console uses it after each line.
    pub async fn drain(&self) -> Result<(), StoreError> {
        while self.run_once().await? > 0 {}
        Ok(())
    }

    /// The worker loop; returns when `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.run_once().await {
                Ok(0) => {
                    // Idle until new rows are committed, a put-off row is due, or
                    // half a second passes (rows put off by other replicas).
                    let due = self.soonest.lock().expect("soonest").take();
                    let idle = tokio::time::Instant::now() + Duration::from_millis(500);
                    let until = due.map_or(idle, |d| d.min(idle));
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep_until(until) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    warn!(error = %e, "outbox: cannot claim rows; retrying in 1s");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.changed() => {}
                    }
                }
            }
        }
    }

    async fn deliver(&self, row: Claimed) {
        let platform = row.platform;
        let delivery: Delivery = match serde_json::from_str(&row.payload) {
            Ok(d) => d,
            Err(e) => return self.give_up(&row, &format!("unreadable payload: {e}")).await,
        };
        let Some(api) = self.apis.get(&platform).cloned() else {
            let at = Utc::now() + chrono::Duration::minutes(5);
            let why = format!("the {platform} adapter is not running in this process");
            if let Err(e) = self.store.retry_at(row.id, &self.worker, at, &why).await {
                warn!(error = %e, row = row.id, "outbox: cannot reschedule");
            }
            return;
        };
        // A platform that accepts the connection and never answers must not hold the worker.
        let limit = self.policy.lease / 2;
        let outcome =
            match tokio::time::timeout(limit, self.perform(&*api, row.incident, &delivery)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Failure::Chat(ChatError::Unavailable(format!(
                    "no answer within {limit:?}"
                )))),
            };
        match outcome {
            Ok(()) => {
                self.counters.delivered(platform);
                debug!(row = row.id, %platform, kind = delivery.kind(), "delivered");
                if let Err(e) = self.store.finish(row.id, &self.worker, Utc::now(), None).await {
                    // The lease runs out and the row is delivered again: the documented window.
                    warn!(error = %e, row = row.id, "outbox: delivered but could not record it");
                }
            }
            Err(Failure::Chat(ChatError::RateLimited(after))) => {
                self.counters.retried(platform);
                self.counters.fault(platform);
                self.reschedule(&row, after, "rate limited").await;
            }
            Err(Failure::Chat(ChatError::Paced(after))) => {
                self.counters.paced(platform);
                self.reschedule(&row, after, "paced").await;
            }
            Err(Failure::Chat(ChatError::Unavailable(why)))
                if row.attempts < self.policy.max_attempts =>
            {
                self.counters.retried(platform);
                self.counters.fault(platform);
                self.reschedule(&row, self.policy.backoff(row.attempts, row.id), &why).await;
            }
            Err(Failure::Store(e)) => {
                self.counters.retried(platform);
                let why = format!("database: {e}");
                self.reschedule(&row, self.policy.backoff(row.attempts, row.id), &why).await;
            }
            Err(Failure::Chat(e)) => self.give_up(&row, &e.to_string()).await,
        }
    }

    async fn reschedule(&self, row: &Claimed, after: Duration, why: &str) {
        // A platform's Retry-After is honoured up to an hour; beyond that it is not a wait, it is a fault.
        let after = after.min(Duration::from_secs(3600));
        {
            let due = tokio::time::Instant::now() + after;
            let mut soonest = self.soonest.lock().expect("soonest");
            *soonest = Some(soonest.map_or(due, |s| s.min(due)));
        }
        let at = Utc::now() + chrono::Duration::from_std(after).expect("an hour fits");
        debug!(row = row.id, ?after, why, "outbox: retry later");
        if let Err(e) = self.store.retry_at(row.id, &self.worker, at, why).await {
            warn!(error = %e, row = row.id, "outbox: cannot reschedule; the lease will expire instead");
        }
    }

    async fn give_up(&self, row: &Claimed, why: &str) {
        self.counters.failed(row.platform);
        warn!(row = row.id, incident = %row.incident, platform = %row.platform, why, "outbox: giving up on a delivery");
        if let Err(e) = self.store.finish(row.id, &self.worker, Utc::now(), Some(why)).await {
            warn!(error = %e, row = row.id, "outbox: cannot record the failure");
        }
    }

    async fn channel(&self, incident: IncidentId, platform: Platform) -> Result<String, Failure> {
        match self.store.channel(incident, platform).await? {
            Some((id, _)) => Ok(id),
            // Lanes are ordered: the channel's creation already ran, and failed for good.
            None => {
                Err(ChatError::Rejected(format!("{incident} has no {platform} channel")).into())
            }
        }
    }

    async fn perform(
        &self,
        api: &dyn ChatApi,
        incident: IncidentId,
        d: &Delivery,
    ) -> Result<(), Failure> {
        let platform = api.platform();
        match d {
            Delivery::OpenChannel { name, private, topic } => {
                if self.store.channel(incident, platform).await?.is_some() {
                    return Ok(());
                }
                for n in 1..=20 {
                    let candidate = if n == 1 { name.clone() } else { suffixed(name, n, platform) };
                    match api.open_channel(&candidate, *private, topic).await {
                        Ok(ch) => {
                            self.store.set_channel(incident, platform, &ch.id, &ch.name).await?;
                            return Ok(());
                        }
                        Err(ChatError::NameTaken) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(ChatError::Rejected(format!("no free channel name like {name}")).into())
            }
            Delivery::Invite { users } => {
                let ch = self.channel(incident, platform).await?;
                let users: Vec<_> =
                    users.iter().filter(|u| u.platform == platform).cloned().collect();
                if users.is_empty() {
                    return Ok(());
                }
                Ok(api.invite(&ch, &users).await?)
            }
            Delivery::SetTopic { topic } => {
                let ch = self.channel(incident, platform).await?;
                Ok(api.set_topic(&ch, topic).await?)
            }
            Delivery::Post { to, message, pin } => {
                let ch = match to {
                    Dest::IncidentChannel => self.channel(incident, platform).await?,
                    Dest::Channel(c) => c.clone(),
                };
                let message =
                    super::links::resolve_channels(&*self.store, message, platform).await?;
                let id = api.post(&ch, &message).await?;
                if *pin {
                    // The post is out; a failed pin must not make the retry post it twice.
                    if let Err(e) = api.pin(&ch, &id).await {
                        warn!(error = %e, %incident, "could not pin the header message");
                    }
                }
                Ok(())
            }
            Delivery::PublishPostmortem => {
                let ch = self.channel(incident, platform).await?;
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
            Delivery::Archive => {
                let ch = self.channel(incident, platform).await?;
                Ok(api.archive(&ch).await?)
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
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        let secs = |a| p.backoff(a, 0).as_secs();
        assert_eq!((secs(1), secs(2), secs(3), secs(20)), (1, 2, 4, 300));
    }

    #[test]
    fn a_taken_name_gets_a_numbered_suffix_within_the_limit() {
        assert_eq!(suffixed("inc-7-db", 2, Platform::Slack), "inc-7-db-2");
        let long = "a".repeat(80);
        assert_eq!(suffixed(&long, 12, Platform::Slack).len(), 80);
    }
}
