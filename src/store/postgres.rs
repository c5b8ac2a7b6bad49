//! PostgreSQL: for several replicas sharing one database.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sqlx::Postgres;
use sqlx::postgres::{PgConnection, PgPoolOptions};

use super::Result;
use super::sql::{Asked, Backend, Found, NewRows, SqlStore, to_json};
use crate::incident::MessageKey;

pub type PgStore = SqlStore<Postgres>;

impl Backend for Postgres {
    const STORE: &'static str = "postgres";
    const ONE_PROCESS: bool = false;
    const BEGIN: &'static str = "BEGIN";
    const ADDS_AT_ONCE: bool = true;
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

    /// The batch's reads in one statement: the keys as arrays, each looked
    /// up on its own by its unique index (`LATERAL … LIMIT 1`), so that how
    /// many there are and how big the tables have grown cannot lead the
    /// planner to scan a whole table, and the one prepared plan serves every
    /// batch.
    fn read_at_once<'c>(
        conn: &'c mut PgConnection,
        asked: &'c Asked<'c>,
    ) -> Option<BoxFuture<'c, std::result::Result<Found, sqlx::Error>>> {
        Some(Box::pin(async move {
            let key = |f: fn(&MessageKey) -> &str| -> Vec<&str> {
                asked.keys.iter().map(|k| f(k)).collect()
            };
            let rows: Vec<(i32, String, String, String, i64, i64)> = sqlx::query_as(READ_AT_ONCE)
                .bind(&asked.events)
                .bind(key(|k| k.platform.as_str()))
                .bind(key(|k| k.channel.as_str()))
                .bind(key(|k| k.message.as_str()))
                .bind(asked.incidents.iter().map(|i| i.0).collect::<Vec<i64>>())
                .fetch_all(conn)
                .await?;
            let mut found = Found::default();
            for (kind, a, b, c, n, m) in rows {
                match kind {
                    0 => found.events.push(a),
                    1 => found.entries.push((a, b, c, n)),
                    _ => found.incidents.push((n, a, m)),
                }
            }
            Ok(found)
        }))
    }

    /// Every table's new rows in one statement, each table's as arrays
    /// unnested in order: one round trip to the server whatever the batch
    /// holds, and one prepared statement.
    fn add_at_once<'c>(
        conn: &'c mut PgConnection,
        rows: &'c NewRows<'c>,
    ) -> Option<BoxFuture<'c, std::result::Result<(), sqlx::Error>>> {
        Some(Box::pin(async move {
            let (events, received): (Vec<&str>, Vec<DateTime<Utc>>) =
                rows.inbox.iter().copied().unzip();
            let e = &rows.entries;
            let key = |f: fn(&MessageKey) -> &str| -> Vec<Option<&str>> {
                e.iter().map(|(e, _)| e.key.as_ref().map(f)).collect()
            };
            let a = &rows.audit;
            let o = &rows.outbox;
            sqlx::query(ADD_AT_ONCE)
                .bind(events)
                .bind(received)
                .bind(e.iter().map(|(e, _)| e.incident.0).collect::<Vec<i64>>())
                .bind(key(|k| k.platform.as_str()))
                .bind(key(|k| k.channel.as_str()))
                .bind(key(|k| k.message.as_str()))
                .bind(e.iter().map(|(e, _)| e.kind.as_str()).collect::<Vec<_>>())
                .bind(e.iter().map(|(e, _)| e.at).collect::<Vec<_>>())
                .bind(e.iter().map(|(e, _)| e.state.as_str()).collect::<Vec<_>>())
                .bind(e.iter().map(|(_, v)| *v).collect::<Vec<i64>>())
                .bind(e.iter().map(|(e, _)| to_json(*e)).collect::<Vec<String>>())
                .bind(a.iter().map(|a| a.at).collect::<Vec<_>>())
                .bind(a.iter().map(|a| a.actor.as_str()).collect::<Vec<_>>())
                .bind(a.iter().map(|a| a.action.as_str()).collect::<Vec<_>>())
                .bind(a.iter().map(|a| a.incident.map(|i| i.0)).collect::<Vec<Option<i64>>>())
                .bind(a.iter().map(|a| a.detail.as_str()).collect::<Vec<_>>())
                .bind(o.iter().map(|(o, _)| o.lane()).collect::<Vec<String>>())
                .bind(o.iter().map(|(o, _)| o.incident.0).collect::<Vec<i64>>())
                .bind(o.iter().map(|(o, _)| o.sink.name()).collect::<Vec<_>>())
                .bind(o.iter().map(|(o, _)| o.payload.as_str()).collect::<Vec<_>>())
                .bind(o.iter().map(|(_, at)| *at).collect::<Vec<_>>())
                .execute(conn)
                .await?;
            Ok(())
        }))
    }
}

/// [`Backend::read_at_once`]'s statement. Each row says what it is: 0, an
/// event seen before; 1, an entry (platform, channel, message, version);
/// 2, an incident (state, id, version).
const READ_AT_ONCE: &str = "SELECT 0, i.event_id, '', '', 0::int8, 0::int8
       FROM UNNEST($1::text[]) AS k (e)
       CROSS JOIN LATERAL (SELECT event_id FROM inbox WHERE event_id = k.e LIMIT 1) i
     UNION ALL
     SELECT 1, t.platform, t.channel_id, t.message_id, t.version, 0::int8
       FROM UNNEST($2::text[], $3::text[], $4::text[]) AS k (p, c, m)
       CROSS JOIN LATERAL (SELECT platform, channel_id, message_id, version FROM timeline_entries
                           WHERE platform = k.p AND channel_id = k.c AND message_id = k.m LIMIT 1) t
     UNION ALL
     SELECT 2, s.state, '', '', s.id, s.version
       FROM UNNEST($5::int8[]) AS k (id)
       CROSS JOIN LATERAL (SELECT id, state, version FROM incidents
                           WHERE id = k.id AND delete_after IS NULL LIMIT 1) s";

/// [`Backend::add_at_once`]'s statement. Each `INSERT … SELECT` keeps its
/// arrays' order (`ORDER BY n`), so ids are given out in arrival order.
const ADD_AT_ONCE: &str = "WITH inbox_rows AS (
       INSERT INTO inbox (event_id, received_at)
       SELECT * FROM UNNEST($1::text[], $2::timestamptz[])
     ), audit_rows AS (
       INSERT INTO audit_log (at, actor, action, incident_id, detail)
       SELECT at, actor, action, incident_id, detail
       FROM UNNEST($12::timestamptz[], $13::text[], $14::text[], $15::int8[], $16::text[])
         WITH ORDINALITY AS a (at, actor, action, incident_id, detail, n)
       ORDER BY n
     ), outbox_rows AS (
       INSERT INTO outbox (lane, incident_id, platform, payload, created_at, next_attempt_at)
       SELECT lane, incident_id, platform, payload, at, at
       FROM UNNEST($17::text[], $18::int8[], $19::text[], $20::text[], $21::timestamptz[])
         WITH ORDINALITY AS o (lane, incident_id, platform, payload, at, n)
       ORDER BY n
     )
     INSERT INTO timeline_entries
       (incident_id, platform, channel_id, message_id, kind, at, state, version, body)
     SELECT incident_id, platform, channel_id, message_id, kind, at, state, version, body
     FROM UNNEST($3::int8[], $4::text[], $5::text[], $6::text[], $7::text[],
                 $8::timestamptz[], $9::text[], $10::int8[], $11::text[])
       WITH ORDINALITY AS e (incident_id, platform, channel_id, message_id, kind, at, state, version, body, n)
     ORDER BY n";

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
