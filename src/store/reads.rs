//! Batched reads of what a flag is decided on: the incident of the flagged
//! message's channel and the message's entry. Every flag, edit and deletion
//! starts with this read, so under load it was one hand-off to sqlx's SQLite
//! thread (one round trip on PostgreSQL) per event. One reader per process
//! takes every read waiting at that moment and answers them all from one
//! statement; the reads that arrive meanwhile wait for the next. A read
//! alone still takes one statement, as before.
//!
//! Nothing is decided from these reads that the writer does not check
//! again: they carry versions, as single reads did.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, QueryBuilder, Type};
use tokio::sync::{mpsc, oneshot};

use super::shapes;
use super::sql::{Backend, SqlStore, entry, incident, versioned};
use super::tally::Tally;
use super::{IncidentAndEntry, Result, Versioned};
use crate::incident::{Incident, MessageKey};

/// Keys per statement: four bound values each, well under SQLite's 32,766;
/// a power of two, as every statement's size is (`shapes.rs`).
const MOST: usize = 256;

/// Incidents the reader has decoded, by id and version, with the record
/// they were decoded from: a record read again that is the same text is
/// not decoded again (comparing text costs far less than decoding JSON),
/// so one flagged incident is decoded once, not once a batch.
pub(super) type Decoded = HashMap<(i64, i64), (String, Arc<Versioned<Incident>>)>;

/// Incidents the reader keeps decoded at most; it forgets them all when
/// one more would not fit.
const KEEP: usize = 64;

/// What a read is answered with; `None` when the batch's statement failed,
/// and the caller reads alone, so that it hears its own error.
type Answer = oneshot::Sender<Option<Option<IncidentAndEntry>>>;

/// The way to the reader; the reader stops when the last one is dropped.
pub(super) struct EntryReader {
    to_reader: mpsc::Sender<(MessageKey, Answer)>,
    pub(super) tally: Arc<Tally>,
}

impl EntryReader {
    /// The incident of `key`'s channel and `key`'s entry, read with the
    /// reads around it; `None` when the reader could not answer (it is
    /// gone, or its statement failed): the caller reads alone.
    pub(super) async fn read(&self, key: MessageKey) -> Option<Option<IncidentAndEntry>> {
        let (answer, answered) = oneshot::channel();
        self.to_reader.send((key, answer)).await.ok()?;
        answered.await.ok().flatten()
    }
}

/// The batched reads, on either database: only what their one statement
/// binds and decodes.
impl<DB> SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
{
    /// Starts this process's reader of incidents and entries on `pool`.
    pub(super) fn entry_reader(pool: Pool<DB>) -> EntryReader {
        let (to_reader, mut asked) = mpsc::channel::<(MessageKey, Answer)>(4 * MOST);
        let tally = Arc::new(Tally::default());
        let counted = tally.clone();
        tokio::spawn(async move {
            let mut jobs = Vec::with_capacity(MOST);
            let mut decoded = Decoded::new();
            while asked.recv_many(&mut jobs, MOST).await > 0 {
                // A caller that gave up is not read for.
                jobs.retain(|(_, answer)| !answer.is_closed());
                if jobs.is_empty() {
                    continue;
                }
                let keys: Vec<&MessageKey> = jobs.iter().map(|(k, _)| k).collect();
                let counting = counted.start(keys.len());
                let found = Self::incidents_and_entries(&pool, &keys, &mut decoded).await;
                counting.end();
                match found {
                    Ok(found) => {
                        for ((_, answer), found) in jobs.drain(..).zip(found) {
                            let _ = answer.send(Some(found));
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, reads = jobs.len(), "a batch of reads goes one by one");
                        for (_, answer) in jobs.drain(..) {
                            let _ = answer.send(None);
                        }
                    }
                }
            }
        });
        EntryReader { to_reader, tally }
    }

    /// For each of at most [`MOST`] keys, in order: the incident of its
    /// channel (unless deleted) and its entry. An incident in `decoded` at
    /// the version and with the text read is not decoded again; one decoded
    /// here is added.
    pub(super) async fn incidents_and_entries(
        pool: &Pool<DB>,
        keys: &[&MessageKey],
        decoded: &mut Decoded,
    ) -> Result<Vec<Option<IncidentAndEntry>>> {
        let mut q = QueryBuilder::<DB>::new("WITH k (n, p, c, m) AS (");
        q.push_values(shapes::padded(keys).enumerate(), |mut row, (n, k)| {
            row.push_bind(n as i64)
                .push_bind(k.map(|k| k.platform.as_str()))
                .push_bind(k.map(|k| k.channel.as_str()))
                .push_bind(k.map(|k| k.message.as_str()));
        });
        q.push(
            ") SELECT k.n, i.id, i.state, i.version, e.body, e.version FROM k
             JOIN incident_channels c ON c.platform = k.p AND c.channel_id = k.c
             JOIN incidents i ON i.id = c.incident_id
             LEFT JOIN timeline_entries e
               ON e.platform = k.p AND e.channel_id = k.c AND e.message_id = k.m
             WHERE i.delete_after IS NULL",
        );
        type Row = (i64, i64, String, i64, Option<String>, Option<i64>);
        let rows: Vec<Row> = q.build_query_as().fetch_all(pool).await?;
        let mut found: Vec<Option<IncidentAndEntry>> = vec![None; keys.len()];
        for (n, id, state, version, body, entry_version) in rows {
            let inc = match decoded.get(&(id, version)) {
                Some((text, inc)) if *text == state => inc.clone(),
                _ => {
                    let inc = Arc::new(Versioned { value: incident(&state)?, version });
                    if decoded.len() >= KEEP {
                        decoded.clear();
                    }
                    decoded.insert((id, version), (state, inc.clone()));
                    inc
                }
            };
            let on_timeline = versioned(body.zip(entry_version), entry)?;
            if let Some(slot) = usize::try_from(n).ok().and_then(|n| found.get_mut(n)) {
                *slot = Some((inc, on_timeline));
            }
        }
        Ok(found)
    }
}
