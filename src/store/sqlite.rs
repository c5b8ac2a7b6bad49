//! SQLite: a file database in WAL mode, the default backend. Commits and
//! the outbox's writes go through one group writer (`group.rs`), and the
//! log is checkpointed beside it.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::future::BoxFuture;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Executor, Sqlite};
use tokio::sync::mpsc;

use super::sql::{Backend, NewRows, SqlStore, to_json};
use super::{Result, StoreError};

pub type SqliteStore = SqlStore<Sqlite>;

/// How long a write waits for the database before it is refused: half in
/// this process's queue for the write connection, half for another process
/// (a `tocsin` command, a backup) that holds SQLite's write lock.
const BUSY: Duration = Duration::from_secs(2);

/// How often, at most, the log is checkpointed while writes go on.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// The log's length, in pages, at which the writer checkpoints it itself:
/// a backstop for when the checkpointer is not running (the runtime that
/// opened the store has ended). Normally it has long been done by then.
const WAL_BACKSTOP_PAGES: &str = "10000";

impl Backend for Sqlite {
    const STORE: &'static str = "sqlite";
    const ONE_PROCESS: bool = true;
    // Take the write lock at once: a transaction that reads, then writes,
    // would otherwise fail at its first write when another got there first.
    const BEGIN: &'static str = "BEGIN IMMEDIATE";
    // One statement: SQLite runs it atomically, with one writer at a time.
    // Each lane's head comes from one pass over the pending-rows index
    // (lane, id), so a long backlog costs a scan of that index, not a lookup
    // per row.
    const CLAIM: &'static str = "UPDATE outbox SET leased_by = $3, lease_until = $4, attempts = attempts + 1
     WHERE id IN (
       SELECT o.id FROM (SELECT MIN(id) AS id FROM outbox WHERE done_at IS NULL GROUP BY lane) AS heads
       JOIN outbox o ON o.id = heads.id
       WHERE o.next_attempt_at <= $1
         AND (o.lease_until IS NULL OR o.lease_until < $1)
         AND instr($5, ',' || o.platform || ',') > 0
       ORDER BY o.id LIMIT $2)
     RETURNING id, incident_id, platform, payload, attempts, progress";

    // AUTOINCREMENT follows the largest id written, imported ones too.
    const AFTER_IMPORT: &'static [&'static str] = &[];

    fn affected(result: &sqlx::sqlite::SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    /// Every table's new rows in one call on the connection's thread: each
    /// table's rows as one JSON array, inserted in its order, whatever the
    /// batch holds. (Rows bound as values took a statement per table and
    /// size, each its own hand-off to that thread.)
    fn add_at_once<'c>(
        conn: &'c mut SqliteConnection,
        rows: &'c NewRows<'c>,
    ) -> BoxFuture<'c, std::result::Result<(), sqlx::Error>> {
        Box::pin(async move {
            let inbox = array(rows.inbox.iter().map(|(e, at)| (e, text(at))))?;
            let entries = array(rows.entries.iter().map(|(e, version)| {
                let key = e.key.as_ref();
                (
                    e.incident.0,
                    key.map(|k| k.platform.as_str()),
                    key.map(|k| k.channel.as_str()),
                    key.map(|k| k.message.as_str()),
                    e.kind.as_str(),
                    text(&e.at),
                    e.state.as_str(),
                    version,
                    to_json(*e),
                )
            }))?;
            let audit = array(rows.audit.iter().map(|a| {
                let incident = a.incident.map(|i| i.0);
                (text(&a.at), a.actor.as_str(), a.action.as_str(), incident, a.detail.as_str())
            }))?;
            let outbox = array(rows.outbox.iter().map(|(o, at)| {
                (o.lane(), o.incident.0, o.sink.name(), o.payload.as_str(), text(at))
            }))?;
            let added = conn
                .execute(
                    sqlx::query(ADD_AT_ONCE).bind(inbox).bind(entries).bind(audit).bind(outbox),
                )
                .await?;
            // A row missing here would be lost without an error (an array
            // left unbound reads as none): the batch goes the careful way.
            let wanted =
                rows.inbox.len() + rows.entries.len() + rows.audit.len() + rows.outbox.len();
            if added.rows_affected() != wanted as u64 {
                return Err(sqlx::Error::Protocol(format!(
                    "{wanted} rows to add, {} added",
                    added.rows_affected()
                )));
            }
            Ok(())
        })
    }
}

/// [`Backend::add_at_once`]'s statements, one a table, each over a JSON
/// array of rows in the array's order, so ids are given out in arrival
/// order. A time is text as sqlx writes it ([`text`]). Each statement has
/// one plain `?`: sqlx binds the values to a run of statements in turn.
/// (Numbered ones, `?4`, would go wrong: sqlx counts the numbers a
/// statement skips as plain ones, and the fourth array went unbound.)
const ADD_AT_ONCE: &str = "INSERT INTO inbox (event_id, received_at)
       SELECT value ->> 0, value ->> 1 FROM json_each(?) ORDER BY key;
     INSERT INTO timeline_entries
       (incident_id, platform, channel_id, message_id, kind, at, state, version, body)
       SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4,
              value ->> 5, value ->> 6, value ->> 7, value ->> 8
       FROM json_each(?) ORDER BY key;
     INSERT INTO audit_log (at, actor, action, incident_id, detail)
       SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4
       FROM json_each(?) ORDER BY key;
     INSERT INTO outbox (lane, incident_id, platform, payload, created_at, next_attempt_at)
       SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 4
       FROM json_each(?) ORDER BY key";

/// A time as sqlx's SQLite encoding writes it, so that rows added as JSON
/// read, sort and compare like rows added with bound values.
fn text(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// `rows` as one JSON array, each row an array of its columns.
fn array<T: serde::Serialize>(
    rows: impl Iterator<Item = T>,
) -> std::result::Result<String, sqlx::Error> {
    serde_json::to_string(&rows.collect::<Vec<T>>()).map_err(|e| sqlx::Error::Encode(e.into()))
}

impl SqlStore<Sqlite> {
    /// Opens (creating if missing) the file the URL names and applies migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StoreError::Url(
                "an in-memory SQLite database loses everything on exit; use sqlite://FILE".into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url(format!("database url \"{url}\": {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an acknowledged command survives power loss, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            // A lock held longer than this refuses the request (the platform retries)
            // rather than answering after the platform has given up.
            .busy_timeout(BUSY)
            .foreign_keys(true);
        let pool =
            SqlitePoolOptions::new().max_connections(8).connect_with(options.clone()).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        // The one writer, shared in turn; together the two waits stay
        // within the one a write had before.
        let writes = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(BUSY / 2)
            .test_before_acquire(false)
            .connect_with(
                options.busy_timeout(BUSY / 2).pragma("wal_autocheckpoint", WAL_BACKSTOP_PAGES),
            )
            .await?;
        let group = Self::group_writer(writes.clone(), Some(checkpointer(pool.clone())));
        let reads = Self::entry_reader(pool.clone());
        Ok(Self { pool, writes, group, reads })
    }
}

/// Copies the write-ahead log into the database file, off the writer's way.
/// SQLite's own checkpoint runs inside the commit that fills the log (about
/// every 1,000 pages), so the writer and every commit waiting on it would
/// stop while pages are copied and the database file is flushed. Here a
/// reader connection does it, at most every [`CHECKPOINT_EVERY`] while
/// anything is written; a passive checkpoint never blocks the writer, which
/// goes on appending to the log meanwhile. It stops with the group writer.
fn checkpointer(pool: sqlx::SqlitePool) -> mpsc::Sender<()> {
    let (wrote, mut written) = mpsc::channel(1);
    tokio::spawn(async move {
        while written.recv().await.is_some() {
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                // The writer's own checkpoint at the backstop takes over.
                tracing::warn!(error = %e, "cannot checkpoint the database's write-ahead log");
            }
            tokio::time::sleep(CHECKPOINT_EVERY).await; // a pace, not a wait for anything
        }
    });
    wrote
}

#[async_trait::async_trait]
impl super::Lead for SqlStore<Sqlite> {
    /// SQLite serves one process, which always leads.
    async fn try_lead(&self, _name: &str) -> Result<Option<Box<dyn super::Leadership>>> {
        Ok(Some(Box::new(super::lead::Always)))
    }
}
