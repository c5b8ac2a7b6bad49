//! Group commit. One writer per process takes every commit waiting at that
//! moment and writes them in one transaction — one flush to disk for all
//! of them —
//! each inside a savepoint, so a commit that fails (a concurrent write won,
//! a platform event seen before) is undone alone and the rest go ahead.
//! Each caller hears back only once the transaction is durable, so
//! "acknowledged means recorded" holds as before. Commits are written in the
//! order they arrived; a decision about an incident that an earlier commit
//! of the batch (or any write since) moved on is made again, here, against
//! the incident as it now stands. A batch of plain commits (the bulk: no
//! new incident, subscription, alert group or room message) goes the short
//! way of `batched.rs`, a few statements for the whole batch; anything
//! else, or anything that way did not foresee, goes the careful way below.
//! On PostgreSQL each replica has its own writer: the version checks decide
//! between replicas, and a conflict with another replica's write is decided
//! again here like one within the batch. The outbox worker's writes
//! (`chores.rs`) share the transaction too, after the commits.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::DateTime;
use chrono::Utc;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Type};
use tokio::sync::{mpsc, oneshot};

use super::batched::{self, Reading};
use super::chores::{Chore, Leased};
use super::sql::{Backend, SqlStore};
use super::tally::{Batch, Tally};
use super::{Commit, Redecide, Result, StoreError, Versioned, Write};
use crate::incident::{Incident, IncidentId};

/// At most this many commits and chores share one transaction.
const MOST: usize = 512;

pub(super) struct Waiting {
    pub(super) commit: Commit,
    /// Makes the decision again when its incident has moved on.
    pub(super) redecide: Option<Redecide>,
    /// The short way decided it again, then the batch went the careful way:
    /// that way decides it again too, so the caller's answer is the one for
    /// what is written.
    pub(super) redecided: bool,
    pub(super) done: oneshot::Sender<Result<()>>,
}

/// What the writer is given: a commit, or an outbox chore.
pub(super) enum Job {
    Commit(Box<Waiting>),
    Chore(Chore, oneshot::Sender<Result<Leased>>),
}

/// The way to the writer; the writer stops when the last one is dropped.
pub(super) struct GroupWriter {
    to_writer: mpsc::Sender<Job>,
    pub(super) tally: Arc<Tally>,
}

/// The writer took a job and went away before answering: it may or may not
/// have been written, and it must not be written again blindly.
fn stopped() -> StoreError {
    StoreError::NotWritten { why: "the group writer stopped".into(), transient: true, maybe: true }
}

impl GroupWriter {
    /// Writes `c` with the commits around it; returns once it is durable.
    /// `Err` gives the commit back, unwritten, when the writer is gone (its
    /// runtime ended, or it panicked): the caller writes it alone.
    pub(super) async fn commit(
        &self,
        commit: Commit,
        redecide: Option<Redecide>,
    ) -> std::result::Result<Result<()>, (Commit, Option<Redecide>)> {
        let (done, answer) = oneshot::channel();
        let job = Job::Commit(Box::new(Waiting { commit, redecide, redecided: false, done }));
        if let Err(mpsc::error::SendError(Job::Commit(w))) = self.to_writer.send(job).await {
            return Err((w.commit, w.redecide));
        }
        Ok(answer.await.unwrap_or_else(|_| Err(stopped())))
    }

    /// Makes `chore` in the next transaction; returns once it is durable.
    /// `Err` gives it back, not made, when the writer is gone.
    pub(super) async fn chore(&self, chore: Chore) -> std::result::Result<Result<Leased>, Chore> {
        let (done, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(Job::Chore(chore, _))) =
            self.to_writer.send(Job::Chore(chore, done)).await
        {
            return Err(chore);
        }
        Ok(answer.await.unwrap_or_else(|_| Err(stopped())))
    }
}

/// The chores of one transaction, each with the way to its caller.
type Chores = Vec<(Chore, oneshot::Sender<Result<Leased>>)>;

/// The incidents this transaction has written so far, as they now stand:
/// a decision made on an older version is made again against these, with
/// no read.
type Known = HashMap<IncidentId, Versioned<Incident>>;

/// What a written commit made of its incident.
fn learn(known: &mut Known, c: &Commit) {
    match &c.incident {
        Some(Write::Insert(i)) => {
            known.insert(i.id, Versioned { value: i.clone(), version: 1 });
        }
        Some(Write::Update { value, version }) => {
            known.insert(value.id, Versioned { value: value.clone(), version: version + 1 });
        }
        None => {}
    }
}

/// Tells every commit and chore of the transaction that it was not
/// written, and why; `maybe` when the transaction reached COMMIT, so it
/// might have been.
fn refuse(counting: Batch<'_>, batch: Vec<Waiting>, chores: Chores, why: &StoreError, maybe: bool) {
    counting.end();
    tracing::warn!(error = %why, commits = batch.len(), chores = chores.len(), "a group of commits was not written");
    let not =
        || StoreError::NotWritten { why: why.to_string(), transient: why.is_transient(), maybe };
    for w in batch {
        let _ = w.done.send(Err(not()));
    }
    for (_, done) in chores {
        let _ = done.send(Err(not()));
    }
}

/// Tells every commit and chore of a durable transaction its outcome (a
/// commit whose caller gave up before its turn has none).
fn answer(
    counting: Batch<'_>,
    batch: Vec<Waiting>,
    outcomes: Vec<Option<Result<()>>>,
    chores: Chores,
    made: Vec<Result<Leased>>,
) {
    counting.end();
    for (w, outcome) in batch.into_iter().zip(outcomes) {
        if let Some(outcome) = outcome {
            let _ = w.done.send(outcome); // the caller may have gone; it is written all the same
        }
    }
    for ((_, done), m) in chores.into_iter().zip(made) {
        let _ = done.send(m);
    }
}

/// The group writer's transactions, on either database.
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
    /// Starts this process's group writer on `pool`; after each transaction
    /// it writes, it tells `wrote` (when given, and not already told).
    pub(super) fn group_writer(pool: Pool<DB>, wrote: Option<mpsc::Sender<()>>) -> GroupWriter {
        let (to_writer, mut waiting) = mpsc::channel::<Job>(4 * MOST);
        let tally = Arc::new(Tally::default());
        let counted = tally.clone();
        tokio::spawn(async move {
            let mut jobs = Vec::with_capacity(MOST);
            while waiting.recv_many(&mut jobs, MOST).await > 0 {
                let (mut batch, mut chores) = (Vec::new(), Vec::new());
                for job in jobs.drain(..) {
                    match job {
                        Job::Commit(w) => batch.push(*w),
                        Job::Chore(c, done) => chores.push((c, done)),
                    }
                }
                let counting = counted.start(batch.len() + chores.len());
                Self::write_group(&pool, batch, chores, counting).await;
                if let Some(wrote) = &wrote {
                    let _ = wrote.try_send(());
                }
            }
        });
        GroupWriter { to_writer, tally }
    }

    /// One transaction for the whole batch: the short way when every commit is
    /// plain (first without reading, when it only adds rows), else (or when
    /// the short way meets the unforeseen) the careful way; then the chores.
    /// The batch is counted before anyone hears back.
    async fn write_group(
        pool: &Pool<DB>,
        mut batch: Vec<Waiting>,
        chores: Chores,
        counting: Batch<'_>,
    ) {
        // `adds_only` implies `plain`: the second look is needed only when
        // the first finds a commit that changes something.
        let adds = !batch.is_empty() && batch.iter().all(|w| batched::adds_only(&w.commit));
        let plain = adds || (!batch.is_empty() && batch.iter().all(|w| batched::plain(&w.commit)));
        let mut ways: &[Reading] = if adds {
            &[Reading::Assumed, Reading::Read]
        } else if plain {
            &[Reading::Read]
        } else {
            &[]
        };
        // Rows added in one statement, and no chore to share the
        // transaction: the statement is a transaction of its own, with no
        // BEGIN and COMMIT to wait for.
        if adds && chores.is_empty() && DB::ADDS_AT_ONCE {
            let mut conn = match pool.acquire().await {
                Ok(conn) => conn,
                Err(e) => return refuse(counting, batch, chores, &e.into(), false),
            };
            match Self::write_plain(&mut conn, &mut batch, Reading::Assumed).await {
                Ok(outcomes) => return answer(counting, batch, outcomes, chores, Vec::new()),
                Err(why) if batched::key_taken(&why) => ways = &[Reading::Read],
                Err(batched::Fallback::Unforeseen) => ways = &[Reading::Read],
                // The server refused the statement, so nothing was written:
                // one commit's bad row must not sink the others, so each
                // goes the careful way, alone.
                Err(batched::Fallback::Fault(e)) if e.statement_refused() => {
                    tracing::debug!(error = %e, "the batch's one statement failed; it goes the careful way");
                    ways = &[];
                }
                // A connection lost on the way, or a server error that may
                // come after the statement committed (a backend ended
                // while it waited for a standby): it may be written.
                Err(batched::Fallback::Fault(e)) => {
                    return refuse(counting, batch, chores, &e, true);
                }
            }
        }
        let begin = || pool.begin_with(DB::BEGIN);
        let mut tx = match begin().await {
            Ok(tx) => tx,
            Err(e) => return refuse(counting, batch, chores, &e.into(), false),
        };
        // `None`: the caller gave up waiting before its turn, so it is not written.
        let mut outcomes = batch.is_empty().then(Vec::new);
        for &reading in ways {
            match Self::write_plain(&mut tx, &mut batch, reading).await {
                Ok(o) => {
                    outcomes = Some(o);
                    break;
                }
                Err(why) => {
                    let again = reading == Reading::Assumed && batched::key_taken(&why);
                    if let batched::Fallback::Fault(e) = &why {
                        tracing::debug!(error = %e, again, "the short way failed; the batch goes again, read first, or the careful way");
                    }
                    let fresh = match tx.rollback().await {
                        Ok(()) => begin().await,
                        Err(e) => Err(e),
                    };
                    tx = match fresh {
                        Ok(tx) => tx,
                        Err(e) => return refuse(counting, batch, chores, &e.into(), false),
                    };
                    if !again {
                        break;
                    }
                }
            }
        }
        let outcomes = match outcomes {
            Some(o) => o,
            None => match Self::write_carefully(&mut tx, &mut batch).await {
                Ok(o) => o,
                Err(e) => return refuse(counting, batch, chores, &e, false),
            },
        };
        // After the commits, so that the careful way's fresh start cannot
        // undo them; a claim whose caller has gone is not made.
        let made = if chores.is_empty() {
            Vec::new()
        } else {
            let wanted: Vec<Option<&Chore>> = chores
                .iter()
                .map(|(c, done)| {
                    (!(done.is_closed() && matches!(c, Chore::Claim { .. }))).then_some(c)
                })
                .collect();
            match Self::make_chores(&mut tx, &wanted).await {
                Ok(m) => m,
                Err(e) => return refuse(counting, batch, chores, &e, false),
            }
        };
        if let Err(e) = tx.commit().await {
            // A COMMIT that failed (an fsync error) may still be found written
            // after recovery: not a "nothing written".
            return refuse(counting, batch, chores, &e.into(), true);
        }
        answer(counting, batch, outcomes, chores, made);
    }

    /// Each commit in a savepoint of its own.
    async fn write_carefully(
        tx: &mut DB::Connection,
        batch: &mut [Waiting],
    ) -> std::result::Result<Vec<Option<Result<()>>>, StoreError> {
        let mut known = Known::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        for w in batch {
            if w.done.is_closed() {
                outcomes.push(None);
                continue;
            }
            outcomes.push(Some(Self::write_one(tx, w, &mut known).await?));
        }
        Ok(outcomes)
    }

    /// Writes one commit in a savepoint of its own, so that one that fails (a
    /// version check, an event seen before) is undone alone. A decision made on
    /// an incident that has moved on is made again first, in arrival order.
    /// The outer `Err` is a fault that sinks the whole transaction.
    async fn write_one(
        tx: &mut DB::Connection,
        w: &mut Waiting,
        known: &mut Known,
    ) -> std::result::Result<Result<()>, StoreError> {
        if std::mem::take(&mut w.redecided)
            && let (Some((id, _)), Some(redecide)) = (w.commit.incident_version(), &mut w.redecide)
        {
            let now = match known.get(&id) {
                Some(now) => now.clone(),
                None => match Self::incident_in(tx, id).await? {
                    Some(now) => now,
                    None => return Ok(Err(StoreError::Conflict)),
                },
            };
            match redecide(&now) {
                Some(next) => w.commit = next,
                None => return Ok(Ok(())),
            }
        }
        for _ in 0..super::REDECISIONS {
            if let (Some((id, version)), Some(redecide)) =
                (w.commit.incident_version(), &mut w.redecide)
                && let Some(now) = known.get(&id)
                && now.version != version
            {
                match redecide(now) {
                    Some(next) => w.commit = next,
                    None => return Ok(Ok(())),
                }
            }
            sqlx::query("SAVEPOINT one_commit").execute(&mut *tx).await?;
            let at = w.commit.at.unwrap_or_else(Utc::now);
            let written = Self::write_commit(tx, &w.commit, at).await;
            if let Err(why) = &written
                && sqlx::query("ROLLBACK TO one_commit").execute(&mut *tx).await.is_err()
            {
                // SQLite gave the whole transaction up (disk full, I/O): the
                // commit's own error says why.
                return Err(StoreError::NotWritten {
                    why: why.to_string(),
                    transient: why.is_transient(),
                    maybe: false,
                });
            }
            sqlx::query("RELEASE one_commit").execute(&mut *tx).await?;
            match written {
                Ok(()) => {
                    learn(known, &w.commit);
                    return Ok(Ok(()));
                }
                // Its incident moved on before this transaction: read it once,
                // and decide again against it.
                Err(StoreError::Conflict) if w.redecide.is_some() => {
                    let Some((id, version)) = w.commit.incident_version() else {
                        return Ok(Err(StoreError::Conflict));
                    };
                    match Self::incident_in(tx, id).await? {
                        Some(now) if now.version != version => known.insert(id, now),
                        // Gone, or the conflict was not the incident's version.
                        _ => return Ok(Err(StoreError::Conflict)),
                    };
                }
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Err(StoreError::Conflict))
    }
}
