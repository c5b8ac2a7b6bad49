//! The group writer's short way, for a batch of plain commits (events,
//! timeline entries, incident updates, audit lines, outbox rows: the bulk of
//! what changes the record). Instead of each commit's own statements in its
//! own savepoint, the batch is written in a few statements: one read of what
//! its checks depend on (events seen, entry and incident versions), every
//! check made here in arrival order against that and against the commits
//! before it (deciding a stale change again, as the careful way does), then
//! a multi-row insert per table (in a few pieces, `shapes.rs`) and one
//! update per incident and per entry at its final state. A statement that
//! fails anyway sends the whole batch the careful way, from a fresh
//! transaction. A batch that only adds rows skips the read: the tables'
//! unique keys make its checks, and one that fails is written again, read
//! first.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, QueryBuilder, Type};

use super::group::Waiting;
use super::shapes;
use super::sql::{Asked, Backend, Found, NewRows, SqlStore, incident, to_json};
use super::{Commit, Result, StoreError, Versioned, Write};
use crate::incident::{Incident, IncidentId, MessageKey, TimelineEntry};

/// Rows per statement, well under SQLite's 32,766 bound values; a power
/// of two, as every statement's size is (`shapes.rs`).
const ROWS: usize = 256;

/// A commit the short way can write: it opens no incident and touches no
/// subscription, alert group or room.
pub(super) fn plain(c: &Commit) -> bool {
    !matches!(c.incident, Some(Write::Insert(_)))
        && c.subscriptions.is_empty()
        && c.alert_group.is_none()
        && c.room.is_none()
}

/// A plain commit that only adds rows: it changes no incident and no entry
/// already there. Its checks (an event seen before, an entry already
/// there) are then the tables' own unique keys, and the batch may be
/// written without reading them first ([`Reading::Assumed`]).
pub(super) fn adds_only(c: &Commit) -> bool {
    plain(c) && c.incident.is_none() && c.entries.iter().all(|e| matches!(e, Write::Insert(_)))
}

/// How the short way learns what its checks depend on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Reading {
    /// Read from the database first.
    Read,
    /// Assumed absent: no event seen, no entry there. Only for a batch that
    /// [`adds_only`]: a key the database holds after all makes an insert
    /// fail ([`key_taken`]), and the batch is written again, read first.
    Assumed,
}

/// The short way failed because a row it added was there already: a
/// unique key said what a read would have. Nothing of the statement that
/// failed was written.
pub(super) fn key_taken(why: &Fallback) -> bool {
    matches!(why, Fallback::Fault(StoreError::Db(sqlx::Error::Database(e))) if e.is_unique_violation())
}

/// What the checks depend on, as the database holds it, moved on as each
/// commit of the batch is decided.
#[derive(Default)]
struct Held {
    events: HashSet<String>,
    /// Every entry key read, found or not.
    asked: HashSet<MessageKey>,
    entries: HashMap<MessageKey, i64>,
    /// `None`: gone (or never there).
    incidents: HashMap<IncidentId, Option<Versioned<Incident>>>,
}

impl Held {
    /// Everything `c`'s checks depend on was read for the batch.
    fn foresees(&self, c: &Commit) -> bool {
        let incident = c.incident_version().is_none_or(|(id, _)| self.incidents.contains_key(&id));
        let mut keys = c.entries.iter().filter_map(|w| entry_of(w).0.key.as_ref());
        incident && keys.all(|k| self.asked.contains(k))
    }
}

/// What the batch changes: each incident and keyed entry with the version
/// it had before the batch (`None` for an entry the batch inserts).
#[derive(Default)]
struct Touched {
    incidents: HashMap<IncidentId, i64>,
    entries: HashMap<MessageKey, Option<i64>>,
}

/// The way out of the short way: the caller rolls back and writes the
/// batch the careful way.
pub(super) enum Fallback {
    /// A redecided commit left what was read for the batch.
    Unforeseen,
    Fault(StoreError),
}

impl From<sqlx::Error> for Fallback {
    fn from(e: sqlx::Error) -> Self {
        Fallback::Fault(e.into())
    }
}

impl From<StoreError> for Fallback {
    fn from(e: StoreError) -> Self {
        Fallback::Fault(e)
    }
}

enum Decision {
    Write,
    /// Decided again, it now writes nothing.
    Nothing,
    Refused(StoreError),
}

/// What the batch's checks read: its events, entry keys and incidents.
fn asked(batch: &[Waiting]) -> Asked<'_> {
    // Sized for the batch up front: grown one insert at a time, the sets
    // were rehashed several times a batch.
    let n = batch.len();
    let (mut events, mut keys, mut incidents) =
        (HashSet::with_capacity(n), HashSet::with_capacity(n), HashSet::new());
    for c in batch.iter().map(|w| &w.commit) {
        events.extend(c.event_id.as_deref());
        keys.extend(c.entries.iter().filter_map(|e| entry_of(e).0.key.as_ref()));
        incidents.extend(c.incident_version().map(|(id, _)| id));
    }
    Asked {
        events: events.into_iter().collect(),
        keys: keys.into_iter().collect(),
        incidents: incidents.into_iter().collect(),
    }
}

fn entry_of(w: &Write<TimelineEntry>) -> (&TimelineEntry, Option<i64>) {
    match w {
        Write::Insert(e) => (e, None),
        Write::Update { value, version } => (value, Some(*version)),
    }
}

/// What was asked, as `found` says the database holds it.
fn held(asked: &Asked<'_>, found: Found) -> std::result::Result<Held, Fallback> {
    let (events, keys) = (found.events.len() + asked.events.len(), asked.keys.len());
    let mut held = Held {
        events: HashSet::with_capacity(events),
        asked: HashSet::with_capacity(keys),
        entries: HashMap::with_capacity(keys),
        incidents: HashMap::new(),
    };
    held.events.extend(found.events);
    held.asked.extend(asked.keys.iter().map(|k| (*k).clone()));
    for (platform, channel, message, version) in found.entries {
        let Some(platform) = crate::incident::Platform::parse(&platform) else {
            return Err(StoreError::Corrupt(format!("unknown platform {platform:?}")).into());
        };
        held.entries.insert(MessageKey { platform, channel, message }, version);
    }
    held.incidents.extend(asked.incidents.iter().map(|id| (*id, None)));
    for (id, state, version) in found.incidents {
        held.incidents
            .insert(IncidentId(id), Some(Versioned { value: incident(&state)?, version }));
    }
    Ok(held)
}

/// Decides one commit against what is held, in arrival order: a change to
/// an incident that moved on is decided again first; then the same checks
/// the careful way's statements make (an event seen before is a duplicate,
/// a version that moved on a conflict). A commit that passes moves `held`
/// on.
///
/// The commit decided again is kept here, not in `w`: should the batch go
/// the careful way after all, that way starts from what the caller sent
/// and decides again itself (`w.redecided` says it must).
fn decide(
    w: &mut Waiting,
    held: &mut Held,
    touched: &mut Touched,
) -> std::result::Result<(Decision, Option<Commit>), Fallback> {
    // An event seen before is refused before anything is decided again.
    if let Some(e) = &w.commit.event_id
        && held.events.contains(e)
    {
        return Ok((Decision::Refused(StoreError::Duplicate), None));
    }
    let mut again: Option<Commit> = None;
    for _ in 0..super::REDECISIONS {
        let c = again.as_ref().unwrap_or(&w.commit);
        let Some((id, version)) = c.incident_version() else { break };
        let Some(redecide) = &mut w.redecide else { break };
        let Some(now) = held.incidents.get(&id).ok_or(Fallback::Unforeseen)? else { break };
        if now.version == version {
            break;
        }
        w.redecided = true;
        match redecide(now) {
            Some(next) if plain(&next) && held.foresees(&next) => again = Some(next),
            Some(_) => return Err(Fallback::Unforeseen),
            None => return Ok((Decision::Nothing, None)),
        }
    }
    let decision = check(again.as_ref().unwrap_or(&w.commit), held, touched)?;
    Ok((decision, again))
}

/// The checks the careful way's statements make, and what a commit that
/// passes them moves on.
fn check(
    c: &Commit,
    held: &mut Held,
    touched: &mut Touched,
) -> std::result::Result<Decision, Fallback> {
    if let Some(e) = &c.event_id
        && held.events.contains(e)
    {
        return Ok(Decision::Refused(StoreError::Duplicate));
    }
    if let Some((id, version)) = c.incident_version() {
        match held.incidents.get(&id).ok_or(Fallback::Unforeseen)? {
            Some(now) if now.version == version => {}
            _ => return Ok(Decision::Refused(StoreError::Conflict)),
        }
    }
    // The entries' versions after this commit, checked before any is kept:
    // a commit has one entry or a few, so a list, not a map.
    let mut after: Vec<(&MessageKey, i64)> = Vec::with_capacity(c.entries.len());
    for write in &c.entries {
        let (e, version) = entry_of(write);
        let Some(key) = &e.key else {
            if version.is_some() {
                return Ok(Decision::Refused(StoreError::Conflict));
            }
            continue;
        };
        let mine = after.iter().position(|(k, _)| *k == key);
        let now = mine.map(|i| after[i].1).or_else(|| held.entries.get(key).copied());
        let next = match (now, version) {
            (None, None) => 1,
            (Some(now), Some(v)) if now == v => v + 1,
            _ => return Ok(Decision::Refused(StoreError::Conflict)),
        };
        match mine {
            Some(i) => after[i].1 = next,
            None => after.push((key, next)),
        }
    }
    if let Some(e) = &c.event_id {
        held.events.insert(e.clone());
    }
    if let Some(Write::Update { value, version }) = &c.incident {
        touched.incidents.entry(value.id).or_insert(*version);
        held.incidents
            .insert(value.id, Some(Versioned { value: value.clone(), version: version + 1 }));
    }
    for (key, version) in after {
        touched.entries.entry(key.clone()).or_insert_with(|| held.entries.get(key).copied());
        held.entries.insert(key.clone(), version);
    }
    Ok(Decision::Write)
}

/// The short way's statements, on either database.
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
    /// Decides and writes every live commit of `batch` (all [`plain`]) inside
    /// `tx`; each one's outcome, `None` for a caller that gave up before its
    /// turn.
    pub(super) async fn write_plain(
        tx: &mut DB::Connection,
        batch: &mut [Waiting],
        reading: Reading,
    ) -> std::result::Result<Vec<Option<Result<()>>>, Fallback> {
        let asked = asked(batch);
        let found = match reading {
            Reading::Read => Self::read(tx, &asked).await?,
            Reading::Assumed => Found::default(),
        };
        let mut held = held(&asked, found)?;
        let entries = HashMap::with_capacity(asked.keys.len());
        let mut touched = Touched { incidents: HashMap::new(), entries };
        let mut outcomes = Vec::with_capacity(batch.len());
        // Each commit of the batch that is written, and its decision made
        // again if it was.
        let mut written: Vec<(usize, Option<Commit>)> = Vec::with_capacity(batch.len());
        for (n, w) in batch.iter_mut().enumerate() {
            if w.done.is_closed() {
                outcomes.push(None);
                continue;
            }
            let (decision, again) = decide(w, &mut held, &mut touched)?;
            if matches!(decision, Decision::Write) {
                written.push((n, again));
            }
            outcomes.push(Some(match decision {
                Decision::Write | Decision::Nothing => Ok(()),
                Decision::Refused(e) => Err(e),
            }));
        }
        let commits = written.iter().map(|(n, again)| again.as_ref().unwrap_or(&batch[*n].commit));
        Self::write_decided(tx, commits.collect(), &held, &touched).await?;
        Ok(outcomes)
    }

    /// Reads, for the whole batch, which of its events were seen before and
    /// the versions of the entries and incidents it writes.
    async fn read(
        tx: &mut DB::Connection,
        asked: &Asked<'_>,
    ) -> std::result::Result<Found, sqlx::Error> {
        let nothing =
            asked.events.is_empty() && asked.keys.is_empty() && asked.incidents.is_empty();
        if nothing {
            Ok(Found::default())
        } else if let Some(reading) = DB::read_at_once(tx, asked) {
            reading.await
        } else {
            Self::read_by_table(tx, asked).await
        }
    }

    /// [`Self::read`]'s statements where there is no one statement for
    /// them: one per table and piece, with the keys as lists.
    async fn read_by_table(
        tx: &mut DB::Connection,
        asked: &Asked<'_>,
    ) -> std::result::Result<Found, sqlx::Error> {
        let mut found = Found::default();
        for chunk in asked.events.chunks(ROWS) {
            let mut q = QueryBuilder::<DB>::new("SELECT event_id FROM inbox WHERE event_id IN (");
            let mut list = q.separated(", ");
            for e in shapes::padded(chunk) {
                list.push_bind(e);
            }
            q.push(")");
            let seen: Vec<(String,)> = q.build_query_as().fetch_all(&mut *tx).await?;
            found.events.extend(seen.into_iter().map(|(e,)| e));
        }
        for chunk in asked.keys.chunks(ROWS) {
            let mut q = QueryBuilder::<DB>::new("WITH k (p, c, m) AS (");
            q.push_values(shapes::padded(chunk), |mut row, k| {
                row.push_bind(k.map(|k| k.platform.as_str()))
                    .push_bind(k.map(|k| k.channel.as_str()))
                    .push_bind(k.map(|k| k.message.as_str()));
            });
            q.push(
            ") SELECT t.platform, t.channel_id, t.message_id, t.version FROM k
             JOIN timeline_entries t ON t.platform = k.p AND t.channel_id = k.c AND t.message_id = k.m",
        );
            found.entries.extend(q.build_query_as().fetch_all(&mut *tx).await?);
        }
        for chunk in asked.incidents.chunks(ROWS) {
            let mut q = QueryBuilder::<DB>::new(
                "SELECT id, state, version FROM incidents WHERE delete_after IS NULL AND id IN (",
            );
            let mut list = q.separated(", ");
            for id in shapes::padded(chunk) {
                list.push_bind(id.map(|id| id.0));
            }
            q.push(")");
            found.incidents.extend(q.build_query_as().fetch_all(&mut *tx).await?);
        }
        Ok(found)
    }

    /// Writes what the batch decided: each incident and entry once, at its
    /// final state, then the new rows of every table in arrival order.
    async fn write_decided(
        tx: &mut DB::Connection,
        commits: Vec<&Commit>,
        held: &Held,
        touched: &Touched,
    ) -> std::result::Result<(), Fallback> {
        // Incidents in one order, so that two replicas' batches wait on each
        // other rather than deadlock.
        let mut incidents: Vec<(&IncidentId, &i64)> = touched.incidents.iter().collect();
        incidents.sort();
        for (id, from) in incidents {
            let Some(Some(inc)) = held.incidents.get(id) else {
                return Err(Fallback::Unforeseen);
            };
            let done = sqlx::query(
                "UPDATE incidents SET title = $1, severity = $2, status = $3, private = $4,
                 version = $5, state = $6 WHERE id = $7 AND version = $8",
            )
            .bind(&inc.value.title)
            .bind(&inc.value.severity)
            .bind(inc.value.status.as_str())
            .bind(inc.value.private)
            .bind(inc.version)
            .bind(to_json(&inc.value))
            .bind(id.0)
            .bind(from)
            .execute(&mut *tx)
            .await?;
            if DB::affected(&done) != 1 {
                return Err(Fallback::Unforeseen);
            }
        }
        let now = Utc::now();
        let at = |c: &Commit| c.at.unwrap_or(now);
        let rows = NewRows {
            inbox: commits
                .iter()
                .filter_map(|c| c.event_id.as_deref().map(|e| (e, at(c))))
                .collect(),
            entries: Self::update_entries(tx, &commits, held, touched).await?,
            audit: commits.iter().filter_map(|c| c.audit.as_ref()).collect(),
            outbox: commits.iter().flat_map(|c| c.outbox.iter().map(move |o| (o, at(c)))).collect(),
        };
        if let Some(adding) = DB::add_at_once(tx, &rows) {
            return Ok(adding.await?);
        }
        Self::add_by_table(tx, &rows).await
    }

    /// Updates the entries that were there, one statement each, and returns
    /// the new ones in the order they were first written, each at its final
    /// state.
    async fn update_entries<'c>(
        tx: &mut DB::Connection,
        commits: &[&'c Commit],
        held: &Held,
        touched: &Touched,
    ) -> std::result::Result<Vec<(&'c TimelineEntry, i64)>, Fallback> {
        let mut last: HashMap<&MessageKey, &TimelineEntry> = HashMap::new();
        let mut order: Vec<Option<&MessageKey>> = Vec::new();
        let mut keyless: Vec<&TimelineEntry> = Vec::new();
        for write in commits.iter().flat_map(|c| &c.entries) {
            let (e, _) = entry_of(write);
            match &e.key {
                None => {
                    keyless.push(e);
                    order.push(None);
                }
                Some(k) => {
                    if last.insert(k, e).is_none() {
                        order.push(Some(k));
                    }
                }
            }
        }
        let mut keyless = keyless.into_iter();
        let mut inserts: Vec<(&TimelineEntry, i64)> = Vec::new();
        for key in order {
            match key {
                None => inserts.extend(keyless.next().map(|e| (e, 1))),
                Some(k) => {
                    let version = *held.entries.get(k).ok_or(Fallback::Unforeseen)?;
                    match touched.entries.get(k).ok_or(Fallback::Unforeseen)? {
                        None => inserts.push((last[k], version)),
                        Some(from) => Self::update_entry(tx, last[k], version, *from).await?,
                    }
                }
            }
        }
        Ok(inserts)
    }

    /// The new rows in a multi-row insert per table, in a few pieces each.
    async fn add_by_table(
        tx: &mut DB::Connection,
        rows: &NewRows<'_>,
    ) -> std::result::Result<(), Fallback> {
        for chunk in shapes::pieces(&rows.inbox, ROWS) {
            let mut q = QueryBuilder::<DB>::new("INSERT INTO inbox (event_id, received_at) ");
            q.push_values(chunk, |mut row, (e, at)| {
                row.push_bind(*e).push_bind(*at);
            });
            q.build().execute(&mut *tx).await?;
        }
        for chunk in shapes::pieces(&rows.entries, ROWS) {
            let mut q = QueryBuilder::<DB>::new(
                "INSERT INTO timeline_entries
             (incident_id, platform, channel_id, message_id, kind, at, state, version, body) ",
            );
            q.push_values(chunk, |mut row, (e, version)| {
                let key = e.key.as_ref();
                row.push_bind(e.incident.0)
                    .push_bind(key.map(|k| k.platform.as_str()))
                    .push_bind(key.map(|k| k.channel.as_str()))
                    .push_bind(key.map(|k| k.message.as_str()))
                    .push_bind(e.kind.as_str())
                    .push_bind(e.at)
                    .push_bind(e.state.as_str())
                    .push_bind(*version)
                    .push_bind(to_json(*e));
            });
            q.build().execute(&mut *tx).await?;
        }
        for chunk in shapes::pieces(&rows.audit, ROWS) {
            let mut q = QueryBuilder::<DB>::new(
                "INSERT INTO audit_log (at, actor, action, incident_id, detail) ",
            );
            q.push_values(chunk, |mut row, a| {
                row.push_bind(a.at)
                    .push_bind(a.actor.as_str())
                    .push_bind(a.action.as_str())
                    .push_bind(a.incident.map(|i| i.0))
                    .push_bind(a.detail.as_str());
            });
            q.build().execute(&mut *tx).await?;
        }
        for chunk in shapes::pieces(&rows.outbox, ROWS) {
            let mut q = QueryBuilder::<DB>::new(
                "INSERT INTO outbox (lane, incident_id, platform, payload, created_at, next_attempt_at) ",
            );
            q.push_values(chunk, |mut row, (item, at)| {
                row.push_bind(item.lane())
                    .push_bind(item.incident.0)
                    .push_bind(item.sink.name())
                    .push_bind(item.payload.as_str())
                    .push_bind(*at)
                    .push_bind(*at);
            });
            q.build().execute(&mut *tx).await?;
        }
        Ok(())
    }

    async fn update_entry(
        tx: &mut DB::Connection,
        e: &TimelineEntry,
        version: i64,
        from: i64,
    ) -> std::result::Result<(), Fallback> {
        let Some(k) = &e.key else { return Err(Fallback::Unforeseen) };
        let done = sqlx::query(
            "UPDATE timeline_entries SET state = $1, version = $2, body = $3
         WHERE platform = $4 AND channel_id = $5 AND message_id = $6 AND version = $7",
        )
        .bind(e.state.as_str())
        .bind(version)
        .bind(to_json(e))
        .bind(k.platform.as_str())
        .bind(k.channel.as_str())
        .bind(k.message.as_str())
        .bind(from)
        .execute(&mut *tx)
        .await?;
        if DB::affected(&done) != 1 {
            return Err(Fallback::Unforeseen);
        }
        Ok(())
    }
}
