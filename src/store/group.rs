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
    pub(super) async fn commit(&self, c: Commit, at: DateTime<Utc>) -> Result<()> {
        let (done, answer) = oneshot::channel();
        let gone = || StoreError::Db(sqlx::Error::PoolClosed);
        self.to_writer.send((c, at, done)).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// One transaction for the whole batch.
async fn write(pool: &Pool<Sqlite>, batch: Vec<Waiting>) {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => return refuse(batch, &e.into()),
    };
    let mut outcomes = Vec::with_capacity(batch.len());
    for (c, at, _) in &batch {
        let outcome = async {
            sqlx::query("SAVEPOINT one_commit").execute(&mut *tx).await?;
            let written = SqlStore::<Sqlite>::write_commit(&mut tx, c, *at).await;
            if written.is_err() {
                sqlx::query("ROLLBACK TO one_commit").execute(&mut *tx).await?;
            }
            sqlx::query("RELEASE one_commit").execute(&mut *tx).await?;
            Ok::<_, StoreError>(written)
        };
        match outcome.await {
            Ok(written) => outcomes.push(written),
            // The transaction itself is in trouble: none of it is kept.
            Err(e) => return refuse(batch, &e),
        }
    }
    if let Err(e) = tx.commit().await {
        return refuse(batch, &e.into());
    }
    for ((_, _, done), outcome) in batch.into_iter().zip(outcomes) {
        let _ = done.send(outcome); // the caller may have gone; it is written all the same
    }
}

/// Tells every commit of the batch that it was not written, and why.
fn refuse(batch: Vec<Waiting>, why: &StoreError) {
    tracing::warn!(error = %why, commits = batch.len(), "a group of commits was not written");
    for (_, _, done) in batch {
        let _ = done.send(Err(StoreError::NotWritten {
            why: why.to_string(),
            transient: why.is_transient(),
        }));
    }
}
