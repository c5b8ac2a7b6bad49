//! The outbox worker's writes: leasing rows, marking them done, putting
//! them off, noting how far a post got. They go through the group writer
//! like commits do, so a delivery's bookkeeping shares the flush to disk of
//! the commits around it instead of paying its own, and a commit never
//! waits in line behind a worker's one-statement transaction.

use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::Result;
use super::sql::{Backend, SqlStore};

/// One outbox write, made inside the group's transaction.
pub(super) enum Chore {
    /// Leases up to `limit` lane heads for the sinks in `wanted` (`,a,b,`).
    Claim {
        worker: String,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        wanted: String,
    },
    /// Marks a leased row done; `error` says why it was given up on.
    Finish { id: i64, worker: String, now: DateTime<Utc>, error: Option<String> },
    /// Releases a leased row to be tried again `at`.
    Retry { id: i64, worker: String, at: DateTime<Utc>, error: String },
    /// Records how far a leased row got.
    Progress { id: i64, worker: String, progress: String },
}

/// What a chore gives back: the rows a claim leased (none for the others),
/// as stored: id, incident, sink, payload, attempts, progress. They are
/// read after the transaction, so that one unreadable row fails only the
/// claim that met it.
pub(super) type Leased = Vec<(i64, i64, String, String, i64, Option<String>)>;

impl<DB> SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<String>: Decode<'q, DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    /// Makes `chore` through the group writer, or alone when it is gone.
    pub(super) async fn chore(&self, chore: Chore) -> Result<Leased> {
        let chore = match self.group.chore(chore).await {
            Ok(done) => return done,
            Err(chore) => chore,
        };
        let mut tx = self.writes.begin_with(DB::BEGIN).await?;
        let leased = Self::make_chore(&mut tx, &chore).await?;
        tx.commit().await?;
        Ok(leased)
    }

    /// Makes one chore inside an open write transaction.
    pub(super) async fn make_chore(tx: &mut DB::Connection, chore: &Chore) -> Result<Leased> {
        match chore {
            Chore::Claim { worker, now, lease_until, limit, wanted } => {
                return Ok(sqlx::query_as(DB::CLAIM)
                    .bind(*now)
                    .bind(*limit)
                    .bind(worker.as_str())
                    .bind(*lease_until)
                    .bind(wanted.as_str())
                    .fetch_all(&mut *tx)
                    .await?);
            }
            Chore::Finish { id, worker, now, error } => {
                let outcome = if error.is_some() { "failed" } else { "delivered" };
                let done = sqlx::query(
                    "UPDATE outbox SET done_at = $1, outcome = $2, last_error = COALESCE($3, last_error),
                     leased_by = NULL, lease_until = NULL WHERE id = $4 AND leased_by = $5",
                )
                .bind(*now)
                .bind(outcome)
                .bind(error.as_deref())
                .bind(*id)
                .bind(worker.as_str())
                .execute(&mut *tx)
                .await?;
                if DB::affected(&done) == 1 {
                    sqlx::query(
                        "INSERT INTO outbox_totals (outcome, n) VALUES ($1, 1)
                         ON CONFLICT (outcome) DO UPDATE SET n = outbox_totals.n + 1",
                    )
                    .bind(outcome)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            Chore::Retry { id, worker, at, error } => {
                sqlx::query(
                    "UPDATE outbox SET next_attempt_at = $1, last_error = $2, leased_by = NULL,
                     lease_until = NULL WHERE id = $3 AND leased_by = $4",
                )
                .bind(*at)
                .bind(error.as_str())
                .bind(*id)
                .bind(worker.as_str())
                .execute(&mut *tx)
                .await?;
            }
            Chore::Progress { id, worker, progress } => {
                sqlx::query("UPDATE outbox SET progress = $1 WHERE id = $2 AND leased_by = $3")
                    .bind(progress.as_str())
                    .bind(*id)
                    .bind(worker.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        Ok(Vec::new())
    }
}
