//! SQLite: a file database in WAL mode, the default backend. Commits and
//! the outbox's writes go through one group writer (`group.rs`), and the
//! log is checkpointed beside it.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::mpsc;

use super::sql::{Backend, SqlStore};
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
