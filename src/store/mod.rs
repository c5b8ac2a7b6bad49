//! Storage in domain terms. One trait, one implementation per backend, each
//! with its own migrations; the backend is chosen by the URL's scheme.

mod batched;
mod chores;
mod group;
mod lead;
mod postgres;
mod reads;
pub mod record;
mod retention;
mod shapes;
mod sql;
mod sqlite;
mod tally;
mod web;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::incident::{
    ChannelRef, Incident, IncidentId, MessageKey, Platform, Scope, Subscription, TimelineEntry,
};

pub use lead::{Lead, Leadership};
pub use postgres::PgStore;
pub use retention::{Audit, BackedUp, Backup, Retention};
pub use sql::{Backend, SqlStore};
pub use sqlite::SqliteStore;
pub use tally::{Batching, Totals};
pub use web::{Web, WebLink, WebSession};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone else wrote first; reload, decide again, retry.
    #[error("a concurrent write won; retry")]
    Conflict,
    /// The inbox already holds this platform event: it was processed before.
    #[error("event already processed")]
    Duplicate,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored row does not decode: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Url(String),
    /// A group commit's transaction failed, so this commit was not written
    /// either (the cause is said once, in the log and here); `maybe` when
    /// it failed at or after COMMIT, so it might have been.
    #[error("not written: {why}")]
    NotWritten { why: String, transient: bool, maybe: bool },
    /// A backup is read only into an empty database.
    #[error("the database is not empty: it has incidents, subscriptions or an audit log")]
    NotEmpty,
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// How many times one commit is decided again before `Conflict` is given up.
const REDECISIONS: usize = 30;

impl StoreError {
    /// The database could not be reached or was busy: trying again later
    /// may work.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Db(e) => match e {
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
                sqlx::Error::Database(db) => {
                    let code = db.code().unwrap_or_default();
                    // SQLite busy or locked; PostgreSQL connection trouble,
                    // shutdown, serialization failures and deadlocks.
                    matches!(code.as_ref(), "5" | "6" | "517" | "261" | "57P01" | "40001" | "40P01")
                        || code.starts_with("08")
                }
                _ => false,
            },
            StoreError::NotWritten { transient, .. } => *transient,
            _ => false,
        }
    }

    /// The server refused the statement itself: data it cannot take, a key
    /// or reference the rows break, a serialization failure or a deadlock.
    /// A statement run outside a transaction then wrote nothing. Any other
    /// error (a connection lost, a backend ended, even with a message from
    /// the server) may have come after it committed.
    pub(crate) fn statement_refused(&self) -> bool {
        let StoreError::Db(sqlx::Error::Database(db)) = self else {
            return false;
        };
        let code = db.code().unwrap_or_default();
        code.starts_with("22")
            || code.starts_with("23")
            || matches!(code.as_ref(), "40001" | "40P01")
    }

    /// Nothing was written: the database refused before any change (busy,
    /// locked, no connection to be had). Trying again cannot write twice.
    pub fn nothing_written(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::PoolTimedOut) => true,
            // Its whole group's transaction was rolled back before COMMIT.
            StoreError::NotWritten { maybe, .. } => !maybe,
            StoreError::Db(sqlx::Error::Database(db)) => {
                matches!(db.code().unwrap_or_default().as_ref(), "5" | "6" | "517" | "261")
            }
            _ => false,
        }
    }
}

/// An incident, and a message's entry on its timeline if it has one. The
/// incident is shared: the reader keeps it decoded for the next flag of the
/// same incident, and a copy of it for every flag cost more than the read.
pub type IncidentAndEntry = (Arc<Versioned<Incident>>, Option<Versioned<TimelineEntry>>);

/// A value with the version it was read at, for optimistic concurrency.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: i64,
}

/// Insert a new row, or update one that must still be at `version`.
#[derive(Debug, Clone, PartialEq)]
pub enum Write<T> {
    Insert(T),
    Update { value: T, version: i64 },
}

#[derive(Debug, Clone, PartialEq)]
pub enum SubscriptionChange {
    Add(Subscription),
    Remove { channel: ChannelRef, scope: Scope },
}

/// Where a delivery goes: a chat platform, the paging services, or one of
/// the configured webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sink {
    Chat(Platform),
    /// PagerDuty and Opsgenie.
    Pager,
    /// The webhook at this position in the configuration.
    Hook(u16),
}

impl Sink {
    /// The chat platforms.
    pub const CHAT: [Sink; 3] =
        [Sink::Chat(Platform::Slack), Sink::Chat(Platform::Discord), Sink::Chat(Platform::Console)];

    pub fn name(self) -> String {
        match self {
            Sink::Chat(p) => p.as_str().to_string(),
            Sink::Pager => "pager".into(),
            Sink::Hook(n) => format!("hook-{n}"),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        if s == "pager" {
            return Some(Sink::Pager);
        }
        if let Some(n) = s.strip_prefix("hook-") {
            return n.parse().ok().map(Sink::Hook);
        }
        Platform::parse(s).map(Sink::Chat)
    }

    pub fn platform(self) -> Option<Platform> {
        match self {
            Sink::Chat(p) => Some(p),
            _ => None,
        }
    }
}

impl From<Platform> for Sink {
    fn from(p: Platform) -> Self {
        Sink::Chat(p)
    }
}

impl std::fmt::Display for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// An effect to deliver, already expanded to one destination.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub incident: IncidentId,
    pub sink: Sink,
    /// JSON of the delivery; the outbox module owns its shape.
    pub payload: String,
    /// A post into a channel other than the incident's own: it is ordered
    /// only with the incident's other posts into that channel, so a hundred
    /// subscriber channels are posted to side by side, each at its own pace.
    pub channel: Option<String>,
}

impl OutboxItem {
    /// Rows of one lane are delivered one at a time, in order.
    pub fn lane(&self) -> String {
        match &self.channel {
            None => format!("{}/{}", self.incident.0, self.sink),
            Some(c) => format!("{}/{}/{c}", self.incident.0, self.sink),
        }
    }
}

impl Commit {
    /// The incident this commit updates, and the version it was decided on.
    pub fn incident_version(&self) -> Option<(IncidentId, i64)> {
        match &self.incident {
            Some(Write::Update { value, version }) => Some((value.id, *version)),
            _ => None,
        }
    }

    /// The incident this commit writes to, if any.
    pub fn incident_id(&self) -> Option<IncidentId> {
        match &self.incident {
            Some(Write::Insert(i)) | Some(Write::Update { value: i, .. }) => Some(i.id),
            None => self.entries.first().map(|e| match e {
                Write::Insert(e) | Write::Update { value: e, .. } => e.incident,
            }),
        }
    }
}

/// Decides a commit again against the incident as it now stands (see
/// [`Store::commit_deciding`]); `None` when it now writes nothing.
pub type Redecide = Box<dyn FnMut(&Versioned<Incident>) -> Option<Commit> + Send>;

/// Everything one decision writes, in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Commit {
    /// The platform event that caused it; a second commit with the same id is a `Duplicate`.
    pub event_id: Option<String>,
    pub incident: Option<Write<Incident>>,
    pub entries: Vec<Write<TimelineEntry>>,
    pub subscriptions: Vec<SubscriptionChange>,
    pub outbox: Vec<OutboxItem>,
    /// Who did it, for the audit log.
    pub audit: Option<Audit>,
    /// When it was decided, by the engine's clock (now when not given): the
    /// inbox row's time, and when its outbox rows are first due.
    pub at: Option<DateTime<Utc>>,
    /// An alert group's new incident.
    pub alert_group: Option<AlertGroup>,
    /// A message said in an incident's room on the web.
    pub room: Option<crate::incident::room::RoomMessage>,
}

/// The incident an alert group opened. `previous` is the one the group had
/// when this was decided (a resolved or closed one), so that two
/// notifications racing to open one incident for a group cannot both win.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertGroup {
    pub source: String,
    pub group: String,
    pub incident: IncidentId,
    pub previous: Option<IncidentId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub id: i64,
    pub incident: IncidentId,
    pub sink: Sink,
    pub payload: String,
    /// Including this one.
    pub attempts: i64,
    /// What an earlier attempt recorded of its progress (a post's parts sent).
    pub progress: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
/// What waits in the outbox; read from the pending rows alone, so it costs
/// the same however many delivered rows history holds.
pub struct OutboxStats {
    pub pending: i64,
    pub retrying: i64,
    /// Deliveries ever made, and given up on (kept as counts: pruning old
    /// rows does not change them).
    pub delivered: i64,
    pub failed: i64,
    pub oldest_pending: Option<DateTime<Utc>>,
    /// What waits, per destination (those with nothing waiting are left out).
    pub by_sink: Vec<Backlog>,
}

/// One destination's share of the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Backlog {
    pub sink: Sink,
    pub pending: i64,
    pub oldest_pending: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait Store: Retention + Lead + Web + Send + Sync {
    fn backend(&self) -> &'static str;

    /// Every write passes through this process: no other replica shares
    /// the database.
    fn one_process(&self) -> bool;

    /// What this process's group writer and batched reader have done.
    fn batching(&self) -> Batching;

    /// The number the next declared incident would get.
    async fn next_incident_id(&self) -> Result<IncidentId>;
    async fn incident(&self, id: IncidentId) -> Result<Option<Versioned<Incident>>>;
    /// The incident whose channel this is.
    async fn incident_in_channel(
        &self,
        channel: &ChannelRef,
    ) -> Result<Option<Versioned<Incident>>>;
    /// The incident whose channel holds this message, with the message's
    /// timeline entry if it has one: what a flag is decided on, in one read.
    /// Only mapped channels: a web room's message (whose channel is the
    /// incident's label) is `None` here.
    async fn incident_and_entry(&self, key: &MessageKey) -> Result<Option<IncidentAndEntry>>;
    /// Incidents, newest first.
    async fn incidents(&self, include_closed: bool) -> Result<Vec<Incident>>;

    /// The incident's channel on a platform: (channel id, name).
    async fn channel(&self, id: IncidentId, platform: Platform)
    -> Result<Option<(String, String)>>;
    async fn set_channel(
        &self,
        id: IncidentId,
        platform: Platform,
        channel_id: &str,
        name: &str,
    ) -> Result<()>;

    async fn entry(&self, key: &MessageKey) -> Result<Option<Versioned<TimelineEntry>>>;
    /// The whole timeline, ordered by each entry's own time.
    async fn timeline(&self, id: IncidentId) -> Result<Vec<TimelineEntry>>;

    async fn subscriptions(&self) -> Result<Vec<Subscription>>;

    /// The incident an alert group last opened.
    async fn alert_group(&self, source: &str, group: &str) -> Result<Option<IncidentId>>;

    /// Whether the database answers.
    async fn ping(&self) -> Result<()>;

    /// Whether the inbox already holds this platform event id.
    async fn seen_event(&self, event_id: &str) -> Result<bool>;

    /// Writes a decision atomically: inbox row, incident, entries, subscription, outbox.
    async fn commit(&self, commit: Commit) -> Result<()>;

    /// Writes a decision about one incident; where that incident has moved
    /// on since the decision was made, `redecide` makes it again against the
    /// incident as it now stands (on SQLite inside the group writer, in the
    /// order commits arrived) instead of failing with `Conflict`. `Ok` also
    /// when a decision made again writes nothing: `redecide` said why.
    async fn commit_deciding(&self, commit: Commit, redecide: Redecide) -> Result<()>;

    /// Leases up to `limit` outbox rows for `sinks`, each the oldest undone
    /// row of its lane. A worker never takes rows it has no adapter for.
    async fn claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        sinks: &[Sink],
    ) -> Result<Vec<Claimed>>;
    /// Marks a leased row done; `error` is set when it was given up on.
    async fn finish(
        &self,
        id: i64,
        worker: &str,
        now: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()>;
    /// Releases a leased row to be tried again at `at`.
    async fn retry_at(&self, id: i64, worker: &str, at: DateTime<Utc>, error: &str) -> Result<()>;
    /// Records how far a leased row got, for the next attempt to resume from.
    async fn record_progress(&self, id: i64, worker: &str, progress: &str) -> Result<()>;
    async fn outbox_stats(&self) -> Result<OutboxStats>;
    /// Removes up to `batch` delivered (or given up) outbox rows and up to
    /// `batch` inbox rows older than `before`; returns how many of each.
    async fn prune(&self, before: DateTime<Utc>, batch: i64) -> Result<(u64, u64)>;
}

/// Opens the store a URL names: `sqlite://path` or `postgres://…`. Migrations are applied.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(SqliteStore::connect(url).await?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(PgStore::connect(url).await?)
    } else {
        return Err(StoreError::Url(format!(
            "database url \"{url}\" has an unknown scheme; use sqlite://FILE or postgres://…"
        )));
    };
    Ok(store)
}
