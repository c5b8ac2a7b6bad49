//! The SQL both backends share, written once over sqlx's `Database`: the
//! statements are the same text on SQLite and PostgreSQL (`$N` placeholders,
//! `ON CONFLICT`, `RETURNING`). What differs — how a write transaction
//! begins and how outbox rows are claimed — each backend's [`Backend`] says,
//! in `sqlite.rs` and `postgres.rs`.

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Type};

use super::chores::Chore;
use super::{Commit, IncidentAndEntry, Result, StoreError, SubscriptionChange, Versioned, Write};
use crate::incident::{
    ChannelRef, Incident, IncidentId, MessageKey, Platform, Subscription, TimelineEntry,
};

/// What one database does its own way.
pub trait Backend: sqlx::Database {
    /// The store's name, for logs.
    const STORE: &'static str;
    /// Only one process uses the database (SQLite); else several replicas
    /// may share it (PostgreSQL).
    const ONE_PROCESS: bool;
    /// The statement that opens a write transaction.
    const BEGIN: &'static str;
    /// Leases outbox rows; binds now, limit, worker, lease end and the
    /// wanted platforms as `,a,b,`.
    const CLAIM: &'static str;
    /// [`Backend::add_at_once`] adds a batch's rows in one statement, which
    /// may then be a transaction of its own.
    const ADDS_AT_ONCE: bool = false;

    /// Run after an import wrote rows with their own ids, so that the next
    /// id given out comes after them.
    const AFTER_IMPORT: &'static [&'static str];

    /// How many rows a statement changed.
    fn affected(result: &Self::QueryResult) -> u64;

    /// Reads what a batch of plain commits asks, where this database has a
    /// way to, in one statement whatever the batch holds; `None` where it has
    /// not, and the caller reads table by table.
    fn read_at_once<'c>(
        _conn: &'c mut Self::Connection,
        _asked: &'c Asked<'c>,
    ) -> Option<BoxFuture<'c, std::result::Result<Found, sqlx::Error>>> {
        None
    }

    /// Adds a batch's new rows in one statement, where this database has a
    /// way to; `None` where it has not, and the caller adds them table by
    /// table.
    fn add_at_once<'c>(
        _conn: &'c mut Self::Connection,
        _rows: &'c NewRows<'c>,
    ) -> Option<BoxFuture<'c, std::result::Result<(), sqlx::Error>>> {
        None
    }
}

/// What a batch of plain commits reads before it is decided, each once.
pub struct Asked<'a> {
    pub events: Vec<&'a str>,
    pub keys: Vec<&'a MessageKey>,
    pub incidents: Vec<IncidentId>,
}

/// What the database holds of what was asked: the events seen before; the
/// entries there (platform, channel, message, version); the incidents there
/// and not being deleted (id, state, version).
#[derive(Default)]
pub struct Found {
    pub events: Vec<String>,
    pub entries: Vec<(String, String, String, i64)>,
    pub incidents: Vec<(i64, String, i64)>,
}

/// The rows a batch of plain commits adds, table by table, each in arrival
/// order.
pub struct NewRows<'a> {
    /// Event ids, with when they came.
    pub inbox: Vec<(&'a str, DateTime<Utc>)>,
    /// New entries, each with its version.
    pub entries: Vec<(&'a TimelineEntry, i64)>,
    pub audit: Vec<&'a super::Audit>,
    /// Deliveries, with when they were made.
    pub outbox: Vec<(&'a super::OutboxItem, DateTime<Utc>)>,
}

/// The store on one database: `SqlStore<Sqlite>` or `SqlStore<Postgres>`.
pub struct SqlStore<DB: Backend> {
    pub(super) pool: Pool<DB>,
    /// Where every write goes. On SQLite, a pool of one connection: the
    /// database has one writer at a time anyway, and the pool's queue hands
    /// it out in turn, where SQLite's own busy handler would leave a loser
    /// sleeping in growing steps (about a third of a second after a dozen
    /// tries) while others take the lock. On PostgreSQL, the same pool.
    pub(super) writes: Pool<DB>,
    /// The group writer: this process's commits and the outbox worker's
    /// writes share transactions and flushes to disk. Replicas on
    /// PostgreSQL each have their own, side by side; the version checks
    /// decide between them.
    pub(super) group: super::group::GroupWriter,
    /// Reads the incident and entry a flag is decided on, many at once.
    pub(super) reads: super::reads::EntryReader,
}

pub(super) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain types serialize")
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn decode_sink(s: &str) -> Result<super::Sink> {
    super::Sink::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown destination {s:?}")))
}

pub(super) fn incident(state: &str) -> Result<Incident> {
    from_json("incident", state)
}

pub(super) fn entry(body: &str) -> Result<TimelineEntry> {
    from_json("timeline entry", body)
}

fn subscription(body: &str) -> Result<Subscription> {
    from_json("subscription", body)
}

/// Decodes an optional `(json, version)` row.
pub(super) fn versioned<T>(
    row: Option<(String, i64)>,
    decode: fn(&str) -> Result<T>,
) -> Result<Option<Versioned<T>>> {
    row.map(|(json, version)| Ok(Versioned { value: decode(&json)?, version })).transpose()
}

/// One incident, as it stands, with its version.
const INCIDENT: &str =
    "SELECT state, version FROM incidents WHERE id = $1 AND delete_after IS NULL";

/// Maps a unique-constraint violation to `Conflict`.
fn conflict(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Db(e),
    }
}

impl<DB> SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    /// Appends an audit line inside an open write transaction.
    pub(super) async fn insert_audit(tx: &mut DB::Connection, a: &super::Audit) -> Result<()> {
        sqlx::query(
                "INSERT INTO audit_log (at, actor, action, incident_id, detail) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(a.at)
            .bind(a.actor.as_str())
            .bind(a.action.as_str())
            .bind(a.incident.map(|i| i.0))
            .bind(a.detail.as_str())
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// Writes one commit in a transaction of its own.
    async fn write_alone(&self, c: &Commit) -> Result<()> {
        let mut tx = self.writes.begin_with(DB::BEGIN).await?;
        Self::write_commit(&mut tx, c, c.at.unwrap_or_else(Utc::now)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The incident as it stands, read inside an open transaction.
    pub(super) async fn incident_in(
        tx: &mut DB::Connection,
        id: IncidentId,
    ) -> Result<Option<Versioned<Incident>>> {
        let row: Option<(String, i64)> =
            sqlx::query_as(INCIDENT).bind(id.0).fetch_optional(&mut *tx).await?;
        versioned(row, incident)
    }

    /// Writes one commit inside an open write transaction.
    pub(super) async fn write_commit(
        tx: &mut DB::Connection,
        c: &Commit,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if let Some(event) = &c.event_id {
            let done = sqlx::query(
                "INSERT INTO inbox (event_id, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(event)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if DB::affected(&done) == 0 {
                return Err(StoreError::Duplicate);
            }
        }
        match &c.incident {
            None => {}
            Some(Write::Insert(inc)) => {
                sqlx::query(
                        "INSERT INTO incidents (id, title, severity, status, private, platform, declared_at, version, state)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)",
                    )
                    .bind(inc.id.0)
                    .bind(&inc.title)
                    .bind(&inc.severity)
                    .bind(inc.status.as_str())
                    .bind(inc.private)
                    .bind(inc.platform.as_str())
                    .bind(inc.declared_at)
                    .bind(to_json(inc))
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict)?;
            }
            Some(Write::Update { value: inc, version }) => {
                let done = sqlx::query(
                    "UPDATE incidents SET title = $1, severity = $2, status = $3, private = $4,
                         version = version + 1, state = $5 WHERE id = $6 AND version = $7",
                )
                .bind(&inc.title)
                .bind(&inc.severity)
                .bind(inc.status.as_str())
                .bind(inc.private)
                .bind(to_json(inc))
                .bind(inc.id.0)
                .bind(*version)
                .execute(&mut *tx)
                .await?;
                if DB::affected(&done) != 1 {
                    return Err(StoreError::Conflict);
                }
            }
        }
        for w in &c.entries {
            let (e, version) = match w {
                Write::Insert(e) => (e, None),
                Write::Update { value, version } => (value, Some(*version)),
            };
            let (platform, channel, message) = match &e.key {
                Some(k) => {
                    (Some(k.platform.as_str()), Some(k.channel.as_str()), Some(k.message.as_str()))
                }
                None => (None, None, None),
            };
            let done = match version {
                    None => sqlx::query(
                        "INSERT INTO timeline_entries
                         (incident_id, platform, channel_id, message_id, kind, at, state, version, body)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8) ON CONFLICT DO NOTHING",
                    )
                    .bind(e.incident.0)
                    .bind(platform)
                    .bind(channel)
                    .bind(message)
                    .bind(e.kind.as_str())
                    .bind(e.at)
                    .bind(e.state.as_str())
                    .bind(to_json(e))
                    .execute(&mut *tx)
                    .await?,
                    Some(v) => sqlx::query(
                        "UPDATE timeline_entries SET state = $1, version = version + 1, body = $2
                         WHERE platform = $3 AND channel_id = $4 AND message_id = $5 AND version = $6",
                    )
                    .bind(e.state.as_str())
                    .bind(to_json(e))
                    .bind(platform)
                    .bind(channel)
                    .bind(message)
                    .bind(v)
                    .execute(&mut *tx)
                    .await?,
                };
            if DB::affected(&done) != 1 {
                return Err(StoreError::Conflict);
            }
        }
        for change in &c.subscriptions {
            match change {
                SubscriptionChange::Add(s) => {
                    sqlx::query(
                        "INSERT INTO subscriptions (platform, channel_id, scope, body) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (platform, channel_id, scope) DO UPDATE SET body = $4",
                    )
                    .bind(s.channel.platform.as_str())
                    .bind(&s.channel.id)
                    .bind(s.scope.key())
                    .bind(to_json(s))
                    .execute(&mut *tx)
                    .await?;
                }
                SubscriptionChange::Remove { channel, scope } => {
                    sqlx::query("DELETE FROM subscriptions WHERE platform = $1 AND channel_id = $2 AND scope = $3")
                        .bind(channel.platform.as_str())
                        .bind(&channel.id)
                        .bind(scope.key())
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        if let Some(g) = &c.alert_group {
            let done = match g.previous {
                None => sqlx::query(
                    "INSERT INTO alert_groups (source, group_key, incident_id) VALUES ($1, $2, $3)
                         ON CONFLICT DO NOTHING",
                )
                .bind(g.source.as_str())
                .bind(g.group.as_str())
                .bind(g.incident.0)
                .execute(&mut *tx)
                .await?,
                Some(previous) => {
                    sqlx::query(
                        "UPDATE alert_groups SET incident_id = $1
                         WHERE source = $2 AND group_key = $3 AND incident_id = $4",
                    )
                    .bind(g.incident.0)
                    .bind(g.source.as_str())
                    .bind(g.group.as_str())
                    .bind(previous.0)
                    .execute(&mut *tx)
                    .await?
                }
            };
            if DB::affected(&done) != 1 {
                return Err(StoreError::Conflict);
            }
        }
        if let Some(m) = &c.room {
            Self::insert_room_message(tx, m).await?;
        }
        if let Some(a) = &c.audit {
            Self::insert_audit(tx, a).await?;
        }
        for item in &c.outbox {
            sqlx::query(
                    "INSERT INTO outbox (lane, incident_id, platform, payload, created_at, next_attempt_at)
                     VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(item.lane())
                .bind(item.incident.0)
                .bind(item.sink.name())
                .bind(&item.payload)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl<DB> super::Store for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    Self: super::Lead,
{
    fn backend(&self) -> &'static str {
        DB::STORE
    }

    fn one_process(&self) -> bool {
        DB::ONE_PROCESS
    }

    fn batching(&self) -> super::Batching {
        super::Batching { writes: self.group.tally.now(), reads: self.reads.tally.now() }
    }

    async fn next_incident_id(&self) -> Result<IncidentId> {
        // Purged incidents live on in the audit log: their numbers are never reused.
        let n: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(n), 0) + 1 FROM
                 (SELECT MAX(id) AS n FROM incidents UNION ALL SELECT MAX(incident_id) FROM audit_log) AS ids",
            )
                .fetch_one(&self.pool)
                .await?;
        Ok(IncidentId(n))
    }

    async fn incident(&self, id: IncidentId) -> Result<Option<Versioned<Incident>>> {
        let row: Option<(String, i64)> =
            sqlx::query_as(INCIDENT).bind(id.0).fetch_optional(&self.pool).await?;
        versioned(row, incident)
    }

    async fn incident_in_channel(
        &self,
        channel: &ChannelRef,
    ) -> Result<Option<Versioned<Incident>>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT i.state, i.version FROM incidents i
                 JOIN incident_channels c ON c.incident_id = i.id
                 WHERE c.platform = $1 AND c.channel_id = $2 AND i.delete_after IS NULL",
        )
        .bind(channel.platform.as_str())
        .bind(&channel.id)
        .fetch_optional(&self.pool)
        .await?;
        versioned(row, incident)
    }

    async fn incident_and_entry(&self, key: &MessageKey) -> Result<Option<IncidentAndEntry>> {
        if let Some(found) = self.reads.read(key.clone()).await {
            return Ok(found);
        }
        let mut alone =
            Self::incidents_and_entries(&self.pool, &[key], &mut Default::default()).await?;
        Ok(alone.pop().flatten())
    }

    async fn incidents(&self, include_closed: bool) -> Result<Vec<Incident>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT state FROM incidents WHERE delete_after IS NULL AND ($1 OR status <> 'closed')
                 ORDER BY id DESC",
        )
        .bind(include_closed)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|(s,)| incident(s)).collect()
    }

    async fn channel(
        &self,
        id: IncidentId,
        platform: Platform,
    ) -> Result<Option<(String, String)>> {
        Ok(sqlx::query_as(
                "SELECT channel_id, name FROM incident_channels WHERE incident_id = $1 AND platform = $2",
            )
            .bind(id.0)
            .bind(platform.as_str())
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn set_channel(
        &self,
        id: IncidentId,
        platform: Platform,
        channel_id: &str,
        name: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO incident_channels (incident_id, platform, channel_id, name)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (incident_id, platform) DO UPDATE SET channel_id = $3, name = $4",
        )
        .bind(id.0)
        .bind(platform.as_str())
        .bind(channel_id)
        .bind(name)
        .execute(&self.writes)
        .await
        .map_err(conflict)?;
        Ok(())
    }

    async fn entry(&self, key: &MessageKey) -> Result<Option<Versioned<TimelineEntry>>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT body, version FROM timeline_entries
                 WHERE platform = $1 AND channel_id = $2 AND message_id = $3",
        )
        .bind(key.platform.as_str())
        .bind(&key.channel)
        .bind(&key.message)
        .fetch_optional(&self.pool)
        .await?;
        versioned(row, entry)
    }

    async fn timeline(&self, id: IncidentId) -> Result<Vec<TimelineEntry>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT body FROM timeline_entries WHERE incident_id = $1 ORDER BY at, id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|(b,)| entry(b)).collect()
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT body FROM subscriptions ORDER BY platform, channel_id, scope")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|(b,)| subscription(b)).collect()
    }

    async fn alert_group(&self, source: &str, group: &str) -> Result<Option<IncidentId>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT incident_id FROM alert_groups WHERE source = $1 AND group_key = $2",
        )
        .bind(source)
        .bind(group)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id,)| IncidentId(id)))
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn seen_event(&self, event_id: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE event_id = $1")
            .bind(event_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    async fn commit(&self, c: Commit) -> Result<()> {
        let c = match self.group.commit(c, None).await {
            Ok(written) => return written,
            // The writer is gone: write this one alone.
            Err((c, _)) => c,
        };
        self.write_alone(&c).await
    }

    async fn commit_deciding(&self, c: Commit, mut redecide: super::Redecide) -> Result<()> {
        let mut c = match self.group.commit(c, Some(redecide)).await {
            Ok(written) => return written,
            Err((c, r)) => {
                redecide = r.expect("the writer gives back what it was given");
                c
            }
        };
        // The writer is gone: optimistic, one commit at a time.
        for _ in 0..super::REDECISIONS {
            match self.write_alone(&c).await {
                Err(StoreError::Conflict) => {
                    let Some((id, _)) = c.incident_version() else {
                        return Err(StoreError::Conflict);
                    };
                    let Some(now) = super::Store::incident(self, id).await? else {
                        return Err(StoreError::Conflict);
                    };
                    match redecide(&now) {
                        Some(next) => c = next,
                        None => return Ok(()),
                    }
                }
                other => return other,
            }
        }
        Err(StoreError::Conflict)
    }

    async fn claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        sinks: &[super::Sink],
    ) -> Result<Vec<super::Claimed>> {
        // ",slack,pager," — matched against ',' || platform || ',' in SQL.
        let wanted: String = sinks.iter().map(|p| format!(",{p}")).collect::<String>() + ",";
        let worker = worker.to_string();
        let rows = self.chore(Chore::Claim { worker, now, lease_until, limit, wanted }).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, incident, platform, payload, attempts, progress) in rows {
            out.push(super::Claimed {
                id,
                incident: IncidentId(incident),
                sink: decode_sink(&platform)?,
                payload,
                attempts,
                progress,
            });
        }
        out.sort_by_key(|c| c.id);
        Ok(out)
    }

    async fn finish(
        &self,
        id: i64,
        worker: &str,
        now: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()> {
        let (worker, error) = (worker.to_string(), error.map(str::to_string));
        self.chore(Chore::Finish { id, worker, now, error }).await?;
        Ok(())
    }

    async fn retry_at(&self, id: i64, worker: &str, at: DateTime<Utc>, error: &str) -> Result<()> {
        let (worker, error) = (worker.to_string(), error.to_string());
        self.chore(Chore::Retry { id, worker, at, error }).await?;
        Ok(())
    }

    async fn record_progress(&self, id: i64, worker: &str, progress: &str) -> Result<()> {
        let (worker, progress) = (worker.to_string(), progress.to_string());
        self.chore(Chore::Progress { id, worker, progress }).await?;
        Ok(())
    }

    async fn prune(&self, before: DateTime<Utc>, batch: i64) -> Result<(u64, u64)> {
        let outbox = sqlx::query(
            "DELETE FROM outbox WHERE id IN
             (SELECT id FROM outbox WHERE done_at IS NOT NULL AND done_at < $1 ORDER BY done_at LIMIT $2)",
        )
        .bind(before)
        .bind(batch)
        .execute(&self.writes)
        .await?;
        let inbox = sqlx::query(
            "DELETE FROM inbox WHERE event_id IN
             (SELECT event_id FROM inbox WHERE received_at < $1 ORDER BY received_at LIMIT $2)",
        )
        .bind(before)
        .bind(batch)
        .execute(&self.writes)
        .await?;
        Ok((DB::affected(&outbox), DB::affected(&inbox)))
    }

    async fn outbox_stats(&self) -> Result<super::OutboxStats> {
        let (pending, retrying): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN last_error IS NOT NULL THEN 1 ELSE 0 END), 0)
             FROM outbox WHERE done_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        let totals: Vec<(String, i64)> =
            sqlx::query_as("SELECT outcome, n FROM outbox_totals").fetch_all(&self.pool).await?;
        let total = |o: &str| totals.iter().find(|(k, _)| k == o).map_or(0, |(_, n)| *n);
        let (delivered, failed) = (total("delivered"), total("failed"));
        let oldest: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT MIN(created_at) FROM outbox WHERE done_at IS NULL")
                .fetch_one(&self.pool)
                .await?;
        let rows: Vec<(String, i64, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT platform, COUNT(*), MIN(created_at) FROM outbox WHERE done_at IS NULL
                 GROUP BY platform ORDER BY platform",
        )
        .fetch_all(&self.pool)
        .await?;
        let by_sink = rows
            .into_iter()
            .map(|(p, pending, oldest)| {
                Ok(super::Backlog { sink: decode_sink(&p)?, pending, oldest_pending: oldest })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(super::OutboxStats {
            pending,
            retrying,
            delivered,
            failed,
            oldest_pending: oldest,
            by_sink,
        })
    }
}
