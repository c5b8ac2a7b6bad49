//! Delivery workers: lease each lane's oldest row, perform it through the
//! platform's `ChatApi`, and on a fault put it off with backoff for as long
//! as it takes. Only a definite refusal of that one row drops it. Deliveries
//! run side by side, a few per platform: a call that hangs holds back its own
//! lane only.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tracing::{debug, warn};

use super::api::{ChatApi, ChatError, Notifier};
use super::counters::{Cause, Counters};
use super::delivery::Delivery;
use crate::clock::Clock;
use crate::incident::{Platform, Rules};
use crate::store::{Claimed, Sink, Store, StoreError};

/// Put-off rows whose due time an idle worker remembers, to wake for.
const MOST_DUE: usize = 4096;

/// How hard to try.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub base: Duration,
    /// Backoff doubles up to this, and stays there: a platform that is down
    /// for days is tried every few minutes until it is back.
    pub max_delay: Duration,
    /// How long a claimed row stays leased to this worker.
    pub lease: Duration,
    /// Rows claimed at once by `run_once`.
    pub batch: i64,
    /// Deliveries in flight at once per platform, in the worker loop.
    pub per_platform: usize,
    /// How long a platform's faults must last before `/readyz` says degraded.
    pub degraded_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            lease: Duration::from_secs(60),
            batch: 32,
            per_platform: 16,
            degraded_after: Duration::from_secs(60),
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
    pub(super) store: Arc<dyn Store>,
    apis: Arc<BTreeMap<Platform, Arc<dyn ChatApi>>>,
    /// Paging services and webhooks, when any are configured.
    notifier: Option<Arc<dyn Notifier>>,
    pub(super) postmortem: Arc<PostmortemSettings>,
    policy: Arc<RetryPolicy>,
    pub(super) worker: Arc<str>,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    /// When the rows this worker put off are due again (and which rows), so
    /// that an idle loop wakes for each of them, not only for the first.
    due: Arc<std::sync::Mutex<BTreeSet<(tokio::time::Instant, i64)>>>,
    pub counters: Arc<Counters>,
}

pub(super) enum Failure {
    Chat(ChatError),
    Store(StoreError),
    /// This process cannot deliver it (no adapter or notifier for the sink).
    Missing(String),
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
    pub fn new(
        store: Arc<dyn Store>,
        apis: Vec<Arc<dyn ChatApi>>,
        postmortem: PostmortemSettings,
        policy: RetryPolicy,
        worker: &str,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            apis: Arc::new(apis.into_iter().map(|a| (a.platform(), a)).collect()),
            notifier: None,
            postmortem: Arc::new(postmortem),
            policy: Arc::new(policy),
            worker: worker.into(),
            clock,
            wake: Arc::new(Notify::new()),
            due: Arc::default(),
            counters: Arc::new(Counters::default()),
        }
    }

    /// Sends pages and webhook calls through `notifier`.
    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// The chat platforms this worker has adapters for.
    pub fn platforms(&self) -> Vec<Platform> {
        self.apis.keys().copied().collect()
    }

    /// Every destination this worker delivers to.
    pub fn sinks(&self) -> Vec<Sink> {
        let mut sinks: Vec<Sink> = self.apis.keys().map(|p| Sink::Chat(*p)).collect();
        sinks.extend(self.notifier.iter().flat_map(|n| n.sinks()));
        sinks
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The outbox's clock: the system's, or one a test drives.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Tells an idle worker loop that new rows were committed.
    pub fn notifier(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    async fn claim(&self, sinks: &[Sink], limit: i64) -> Result<Vec<Claimed>, StoreError> {
        let now = self.now();
        let lease = now + chrono::Duration::from_std(self.policy.lease).expect("lease fits");
        self.store.claim(&self.worker, now, lease, limit, sinks).await
    }

    /// Claims one batch and delivers it (lanes side by side); returns how many rows it handled.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let batch = self.claim(&self.sinks(), self.policy.batch).await?;
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

    /// The worker loop; returns when `shutdown` turns true and the deliveries
    /// in flight are done. Claims for a platform whenever it has a free slot,
    /// so a slow delivery never holds back other lanes or the other platform.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut flying: JoinSet<Sink> = JoinSet::new();
        let mut busy: BTreeMap<Sink, usize> = BTreeMap::new();
        let done = |busy: &mut BTreeMap<Sink, usize>, p: Sink| {
            if let Some(n) = busy.get_mut(&p) {
                *n = n.saturating_sub(1);
            }
        };
        while !*shutdown.borrow() {
            while let Some(finished) = flying.try_join_next() {
                if let Ok(p) = finished {
                    done(&mut busy, p);
                }
            }
            let (mut claimed, mut trouble) = (0, false);
            for p in self.sinks() {
                let free =
                    self.policy.per_platform.saturating_sub(busy.get(&p).copied().unwrap_or(0));
                if free == 0 {
                    continue;
                }
                match self.claim(&[p], free as i64).await {
                    Ok(rows) => {
                        claimed += rows.len();
                        *busy.entry(p).or_default() += rows.len();
                        for row in rows {
                            let me = self.clone();
                            flying.spawn(async move {
                                me.deliver(row).await;
                                p
                            });
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "outbox: cannot claim rows; trying again shortly");
                        trouble = true;
                    }
                }
            }
            if claimed > 0 {
                continue;
            }
            // Idle until a delivery ends, new rows are committed, a put-off row
            // is due, or half a second passes (rows put off by other replicas).
            let now = tokio::time::Instant::now();
            let until = if trouble {
                now + Duration::from_secs(1)
            } else {
                let mut due = self.due.lock().expect("due rows");
                // Those due by now were claimed just above, or by another replica.
                while due.first().is_some_and(|(at, _)| *at <= now) {
                    due.pop_first();
                }
                let soonest = due.first().map(|(at, _)| *at);
                soonest.map_or(now + Duration::from_millis(500), |d| {
                    d.min(now + Duration::from_millis(500))
                })
            };
            tokio::select! {
                Some(finished) = flying.join_next(), if !flying.is_empty() => {
                    if let Ok(p) = finished {
                        done(&mut busy, p);
                    }
                }
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep_until(until) => {}
                _ = shutdown.changed() => {}
            }
        }
        while flying.join_next().await.is_some() {}
    }

    async fn deliver(&self, row: Claimed) {
        let platform = row.sink;
        let delivery: Delivery = match serde_json::from_str(&row.payload) {
            Ok(d) => d,
            Err(e) => return self.give_up(&row, &format!("unreadable payload: {e}")).await,
        };
        let work = async {
            match row.sink {
                Sink::Chat(p) => match self.apis.get(&p).cloned() {
                    Some(api) => self.perform(&*api, &row, &delivery).await,
                    None => Err(Failure::Missing(format!("the {p} adapter is not running here"))),
                },
                sink => match &self.notifier {
                    Some(n) => Ok(n.send(sink, row.id, &delivery).await?),
                    None => Err(Failure::Missing(format!("{sink} is not configured here"))),
                },
            }
        };
        // A platform that accepts the connection and never answers must not hold the lane.
        let limit = self.policy.lease / 2;
        let outcome = match tokio::time::timeout(limit, work).await {
            Ok(outcome) => outcome,
            Err(_) => {
                Err(Failure::Chat(ChatError::Unavailable(format!("no answer within {limit:?}"))))
            }
        };
        match outcome {
            Ok(()) => {
                self.counters.delivered(platform);
                debug!(row = row.id, %platform, kind = delivery.kind(), "delivered");
                if let Err(e) = self.store.finish(row.id, &self.worker, self.now(), None).await {
                    // The lease runs out and the row is delivered again: the documented window.
                    warn!(error = %e, row = row.id, "outbox: delivered but could not record it");
                }
            }
            Err(Failure::Chat(ChatError::Paced(after))) => {
                self.counters.paced(platform);
                self.reschedule(&row, after, "paced").await;
            }
            Err(Failure::Chat(e)) if e.is_transient() => {
                self.counters.retried(platform);
                let (cause, after) = match &e {
                    ChatError::RateLimited(after) => (Cause::RateLimited, *after),
                    ChatError::Unauthorized(_) => {
                        (Cause::Unauthorized, self.policy.backoff(row.attempts, row.id))
                    }
                    _ => (Cause::Unavailable, self.policy.backoff(row.attempts, row.id)),
                };
                let why = e.to_string();
                self.counters.fault(platform, self.now(), cause, &why);
                self.reschedule(&row, after, &why).await;
            }
            Err(Failure::Store(e)) => {
                self.counters.retried(platform);
                let why = format!("database: {e}");
                self.reschedule(&row, self.policy.backoff(row.attempts, row.id), &why).await;
            }
            // Another replica (or a later start) has what this one lacks.
            Err(Failure::Missing(why)) => {
                self.reschedule(&row, Duration::from_secs(300), &why).await
            }
            Err(Failure::Chat(e)) => self.give_up(&row, &e.to_string()).await,
        }
    }

    async fn reschedule(&self, row: &Claimed, after: Duration, why: &str) {
        // A platform's Retry-After is honoured up to an hour; beyond that it is not a wait, it is a fault.
        let after = after.min(Duration::from_secs(3600));
        {
            // A little after the stored time, so that the row is surely
            // claimable when the loop wakes for it.
            let due = tokio::time::Instant::now() + after + Duration::from_millis(2);
            let mut dues = self.due.lock().expect("due rows");
            dues.insert((due, row.id));
            if dues.len() > MOST_DUE {
                // A long outage puts off many rows: the latest are left to
                // the half-second check.
                dues.pop_last();
            }
        }
        let at = self.now() + chrono::Duration::from_std(after).expect("an hour fits");
        debug!(row = row.id, ?after, why, "outbox: retry later");
        if let Err(e) = self.store.retry_at(row.id, &self.worker, at, why).await {
            warn!(error = %e, row = row.id, "outbox: cannot reschedule; the lease will expire instead");
        }
    }

    /// Drops a row the platform refused for good (only that row).
    async fn give_up(&self, row: &Claimed, why: &str) {
        self.counters.failed(row.sink);
        warn!(row = row.id, incident = %row.incident, sink = %row.sink, why, "outbox: the destination refused a delivery; dropping it");
        if let Err(e) = self.store.finish(row.id, &self.worker, self.now(), Some(why)).await {
            warn!(error = %e, row = row.id, "outbox: cannot record the refusal");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_stays_there() {
        let p = RetryPolicy::default();
        let secs = |a| p.backoff(a, 0).as_secs();
        assert_eq!((secs(1), secs(2), secs(3), secs(20), secs(100_000)), (1, 2, 4, 300, 300));
    }
}
