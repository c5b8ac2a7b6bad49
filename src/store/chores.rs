//! The outbox worker's writes: leasing rows, marking them done, putting
//! them off, noting how far a post got. They go through the group writer
//! like commits do, so a delivery's bookkeeping shares the flush to disk of
//! the commits around it instead of paying its own, and commits do not
//! wait in line behind a transaction and a flush per delivery.

use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::sql::{Backend, SqlStore};
use super::{Result, StoreError};

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
/// as stored: id, incident, sink, payload, attempts, progress. Their sink
/// is made sense of by the caller, after the transaction, so that an
/// unknown one fails only the claim that met it.
pub(super) type Leased = Vec<(i64, i64, String, String, i64, Option<String>)>;

/// Deliveries made and given up on in one transaction, counted once at
/// its end.
#[derive(Default)]
struct Counts {
    delivered: i64,
    failed: i64,
}

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
        let mut counts = Counts::default();
        let leased = Self::make_chore(&mut tx, &chore, &mut counts).await?;
        Self::count(&mut tx, &counts).await?;
        tx.commit().await?;
        Ok(leased)
    }

    /// Makes the chores inside an open write transaction, each in a
    /// savepoint of its own: one that fails (on PostgreSQL, say, a lock wait
    /// that met another replica's) is undone alone and its caller told, and
    /// the commits before it stand. `None` is a claim nobody waits for any
    /// more: it is not made, so it holds back no rows. The deliveries are
    /// counted once, last, so the one row every finish adds to is held for
    /// as short a time as can be, and by every replica in the same order.
    /// `Err` is a fault that sinks the whole transaction.
    pub(super) async fn make_chores(
        tx: &mut DB::Connection,
        chores: &[Option<&Chore>],
    ) -> Result<Vec<Result<Leased>>> {
        let mut counts = Counts::default();
        let mut made = Vec::with_capacity(chores.len());
        sqlx::query("SAVEPOINT chores").execute(&mut *tx).await?;
        for chore in chores {
            let Some(chore) = chore else {
                made.push(Ok(Vec::new()));
                continue;
            };
            sqlx::query("SAVEPOINT one_chore").execute(&mut *tx).await?;
            let mut these = Counts::default();
            let result = Self::make_chore(tx, chore, &mut these).await;
            if result.is_err() {
                sqlx::query("ROLLBACK TO one_chore").execute(&mut *tx).await?;
            } else {
                counts.delivered += these.delivered;
                counts.failed += these.failed;
            }
            sqlx::query("RELEASE one_chore").execute(&mut *tx).await?;
            made.push(result);
        }
        if let Err(e) = Self::count(tx, &counts).await {
            // Counted or not at all: every chore is undone, the commits stand.
            sqlx::query("ROLLBACK TO chores").execute(&mut *tx).await?;
            let not = || StoreError::NotWritten {
                why: e.to_string(),
                transient: e.is_transient(),
                maybe: false,
            };
            made = made.iter().map(|_| Err(not())).collect();
        }
        sqlx::query("RELEASE chores").execute(&mut *tx).await?;
        Ok(made)
    }

    /// Adds a transaction's deliveries to the totals, in a fixed order.
    async fn count(tx: &mut DB::Connection, counts: &Counts) -> Result<()> {
        for (outcome, n) in [("delivered", counts.delivered), ("failed", counts.failed)] {
            if n > 0 {
                sqlx::query(
                    "INSERT INTO outbox_totals (outcome, n) VALUES ($1, $2)
                     ON CONFLICT (outcome) DO UPDATE SET n = outbox_totals.n + $2",
                )
                .bind(outcome)
                .bind(n)
                .execute(&mut *tx)
                .await?;
            }
        }
        Ok(())
    }

    /// Makes one chore inside an open write transaction; a finish is
    /// counted in `counts`.
    async fn make_chore(
        tx: &mut DB::Connection,
        chore: &Chore,
        counts: &mut Counts,
    ) -> Result<Leased> {
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
                    match error {
                        Some(_) => counts.failed += 1,
                        None => counts.delivered += 1,
                    }
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
