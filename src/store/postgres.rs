//! PostgreSQL: for several replicas sharing one database.

use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::PgPoolOptions;

use super::Result;
use super::sql::{Backend, SqlStore};

pub type PgStore = SqlStore<Postgres>;

impl Backend for Postgres {
    const STORE: &'static str = "postgres";
    const ONE_PROCESS: bool = false;
    const BEGIN: &'static str = "BEGIN";
    // SKIP LOCKED: replicas claiming at once take different rows, never the same one.
    const CLAIM: &'static str = "WITH heads AS (
       SELECT o.id FROM outbox o
       WHERE o.done_at IS NULL AND o.next_attempt_at <= $1
         AND (o.lease_until IS NULL OR o.lease_until < $1)
         AND strpos($5, ',' || o.platform || ',') > 0
         AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.lane = o.lane AND p.id < o.id AND p.done_at IS NULL)
       ORDER BY o.id LIMIT $2
       FOR UPDATE SKIP LOCKED)
     UPDATE outbox SET leased_by = $3, lease_until = $4, attempts = outbox.attempts + 1
     FROM heads WHERE outbox.id = heads.id
     RETURNING outbox.id, outbox.incident_id, outbox.platform, outbox.payload, outbox.attempts, outbox.progress";

    const AFTER_IMPORT: &'static [&'static str] =
        &["SELECT setval(pg_get_serial_sequence('room_messages', 'id'),
                       COALESCE((SELECT MAX(id) FROM room_messages), 0) + 1, false)"];

    fn affected(result: &sqlx::postgres::PgQueryResult) -> u64 {
        result.rows_affected()
    }
}

impl SqlStore<Postgres> {
    /// Connects and applies migrations (the migrator holds an advisory lock,
    /// so replicas starting together migrate once).
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            // Within Slack's and Discord's 3 s: a request that cannot get a connection
            // is refused in time for the platform to retry it.
            .acquire_timeout(Duration::from_secs(2))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let group = Self::group_writer(pool.clone(), None);
        let reads = Self::entry_reader(pool.clone());
        Ok(Self { writes: pool.clone(), pool, group, reads })
    }
}

/// The advisory lock lives on a connection taken out of the pool for good.
struct PgLeader(sqlx::PgConnection);

#[async_trait::async_trait]
impl super::Leadership for PgLeader {
    async fn held(&mut self) -> bool {
        sqlx::query("SELECT 1").execute(&mut self.0).await.is_ok()
    }
}

#[async_trait::async_trait]
impl super::Lead for SqlStore<Postgres> {
    async fn try_lead(&self, name: &str) -> Result<Option<Box<dyn super::Leadership>>> {
        let mut conn = self.pool.acquire().await?.detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(super::lead::key(name))
            .fetch_one(&mut conn)
            .await?;
        Ok(got.then(|| Box::new(PgLeader(conn)) as Box<dyn super::Leadership>))
    }
}
