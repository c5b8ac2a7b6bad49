//! Group commit on SQLite. One writer takes every commit waiting at that
//! moment and writes them in one transaction — one fsync for all of them —
//! each inside a savepoint, so a commit that fails (a concurrent write won,
//! a platform event seen before) is undone alone and the rest go ahead.
//! Each caller hears back only once the transaction is durable, so
//! "acknowledged means recorded" holds as before. Commits are written in the
//! order they arrived.

use chrono::{DateTime, Utc};
use sqlx::{Pool, Sqlite};
use tokio::sync::{mpsc, oneshot};

use super::sql::SqlStore;
use super::{Commit, Result, StoreError};

/// At most this many commits share one transaction.
const MOST: usize = 512;

type Waiting = (Commit, DateTime<Utc>, oneshot::Sender<Result<()>>);

/// The way to the writer; the writer stops when the last one is dropped.
pub(super) struct GroupWriter {
    to_writer: mpsc::Sender<Waiting>,
}

impl GroupWriter {
    pub(super) fn spawn(pool: Pool<Sqlite>) -> Self {
        let (to_writer, mut waiting) = mpsc::channel::<Waiting>(4 * MOST);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MOST);
            while waiting.recv_many(&mut batch, MOST).await > 0 {
                write(&pool, std::mem::take(&mut batch)).await;
            }
        });
        Self { to_writer }
    }

    /// Writes `c` with the commits around it; returns once it is durable.
    /// `Err(c)` gives the commit back, unwritten, when the writer is gone
    /// (its runtime ended, or it panicked): the caller writes it alone.
    pub(super) async fn commit(
        &self,
        c: Commit,
        at: DateTime<Utc>,
    ) -> std::result::Result<Result<()>, Commit> {
        let (done, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError((c, _, _))) = self.to_writer.send((c, at, done)).await {
            return Err(c);
        }
        // The writer took it and went away before answering: it may or may
        // not have been written, and it must not be written again blindly.
        Ok(answer.await.unwrap_or_else(|_| {
            Err(StoreError::NotWritten {
                why: "the group writer stopped".into(),
                transient: true,
                maybe: true,
            })
        }))
    }
}

/// One transaction for the whole batch.
async fn write(pool: &Pool<Sqlite>, batch: Vec<Waiting>) {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => return refuse(batch, &e.into(), false),
    };
    // `None`: the caller gave up waiting before its turn, so it is not written.
    let mut outcomes: Vec<Option<Result<()>>> = Vec::with_capacity(batch.len());
    for (c, at, done) in &batch {
        if done.is_closed() {
            outcomes.push(None);
            continue;
        }
        if let Err(e) = sqlx::query("SAVEPOINT one_commit").execute(&mut *tx).await {
            return refuse(batch, &e.into(), false);
        }
        let written = SqlStore::<Sqlite>::write_commit(&mut tx, c, *at).await;
        if let Err(why) = &written
            && sqlx::query("ROLLBACK TO one_commit").execute(&mut *tx).await.is_err()
        {
            // SQLite gave the whole transaction up (disk full, I/O): the
            // commit's own error says why.
            return refuse(batch, why, false);
        }
        if let Err(e) = sqlx::query("RELEASE one_commit").execute(&mut *tx).await {
            return refuse(batch, &e.into(), false);
        }
        outcomes.push(Some(written));
    }
    if let Err(e) = tx.commit().await {
        // A COMMIT that failed (an fsync error) may still be found written
        // after recovery: not a "nothing written".
        return refuse(batch, &e.into(), true);
    }
    for ((_, _, done), outcome) in batch.into_iter().zip(outcomes) {
        if let Some(outcome) = outcome {
            let _ = done.send(outcome); // the caller may have gone; it is written all the same
        }
    }
}

/// Tells every commit of the batch that it was not written, and why;
/// `maybe` when the transaction reached COMMIT, so it might have been.
fn refuse(batch: Vec<Waiting>, why: &StoreError, maybe: bool) {
    tracing::warn!(error = %why, commits = batch.len(), "a group of commits was not written");
    for (_, _, done) in batch {
        let _ = done.send(Err(StoreError::NotWritten {
            why: why.to_string(),
            transient: why.is_transient(),
            maybe,
        }));
    }
}
