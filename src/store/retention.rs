//! Staged deletion, the audit log and backups. Nothing is removed in one
//! step: an incident is first marked (and hidden), can be restored until its
//! grace period ends, and only then is purged. Every step is audited, as is
//! every change the engine commits. A backup is read back in one
//! transaction, audit log included, so no incident number comes back.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::sql::{self, Backend, SqlStore};
use super::{Commit, Result, StoreError, SubscriptionChange, Write};
use crate::incident::{Incident, IncidentId, Platform, Subscription, TimelineEntry};

/// One line of the audit log: who did what, when, to which incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    pub at: DateTime<Utc>,
    /// `platform:user` for chat, the operator's name for the command line.
    pub actor: String,
    pub action: String,
    pub incident: Option<IncidentId>,
    pub detail: String,
}

/// Everything a backup holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Backup {
    pub incidents: Vec<BackedUp>,
    pub subscriptions: Vec<Subscription>,
    /// Oldest first.
    pub audit: Vec<Audit>,
}

/// One incident's whole record in a backup.
#[derive(Debug, Clone, PartialEq)]
pub struct BackedUp {
    pub incident: Incident,
    /// (platform, channel id, channel name)
    pub channels: Vec<(Platform, String, String)>,
    pub timeline: Vec<TimelineEntry>,
    /// The room's messages, with their ids (timeline entries refer to them).
    pub room: Vec<crate::incident::room::RoomMessage>,
    /// Set when the incident is marked for deletion.
    pub delete_after: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait Retention: Send + Sync {
    /// Writes a backup into an empty database, all in one transaction:
    /// either all of it is there afterwards, or none of it.
    async fn import(&self, backup: &Backup) -> Result<()>;
    /// Hides the incident and schedules its purge; `false` when there is no
    /// such visible incident.
    async fn mark_deleted(
        &self,
        id: IncidentId,
        purge_after: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool>;
    /// Undoes [`Retention::mark_deleted`]; `false` when it is not marked (or is gone).
    async fn restore(&self, id: IncidentId, audit: Audit) -> Result<bool>;
    /// Incidents marked for deletion, with when each will be purged.
    async fn marked(&self) -> Result<Vec<(Incident, DateTime<Utc>)>>;
    /// Removes every marked incident whose time has come; returns their ids.
    async fn purge_due(&self, now: DateTime<Utc>, actor: &str) -> Result<Vec<IncidentId>>;
    /// The newest `limit` audit lines, for one incident or all, newest first.
    async fn audit_log(&self, incident: Option<IncidentId>, limit: i64) -> Result<Vec<Audit>>;
}

#[async_trait]
impl<DB> Retention for SqlStore<DB>
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
    async fn import(&self, backup: &Backup) -> Result<()> {
        let mut tx = self.writes.begin_with(DB::BEGIN).await?;
        let (present,): (i64,) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM incidents) + (SELECT COUNT(*) FROM subscriptions)
                    + (SELECT COUNT(*) FROM audit_log)",
        )
        .fetch_one(&mut *tx)
        .await?;
        if present > 0 {
            return Err(StoreError::NotEmpty);
        }
        let now = Utc::now();
        for b in &backup.incidents {
            let commit = Commit {
                incident: Some(Write::Insert(b.incident.clone())),
                entries: b.timeline.iter().cloned().map(Write::Insert).collect(),
                ..Default::default()
            };
            Self::write_commit(&mut tx, &commit, now).await?;
            for (platform, id, name) in &b.channels {
                sqlx::query(
                    "INSERT INTO incident_channels (incident_id, platform, channel_id, name)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(b.incident.id.0)
                .bind(platform.as_str())
                .bind(id.as_str())
                .bind(name.as_str())
                .execute(&mut *tx)
                .await?;
            }
            for m in &b.room {
                sqlx::query(
                    "INSERT INTO room_messages (id, incident_id, at, body) VALUES ($1, $2, $3, $4)",
                )
                .bind(m.id)
                .bind(m.incident.0)
                .bind(m.at)
                .bind(super::sql::to_json(m))
                .execute(&mut *tx)
                .await?;
            }
            if let Some(at) = b.delete_after {
                sqlx::query("UPDATE incidents SET delete_after = $1 WHERE id = $2")
                    .bind(at)
                    .bind(b.incident.id.0)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let subscriptions = Commit {
            subscriptions: backup
                .subscriptions
                .iter()
                .cloned()
                .map(SubscriptionChange::Add)
                .collect(),
            ..Default::default()
        };
        Self::write_commit(&mut tx, &subscriptions, now).await?;
        for a in &backup.audit {
            Self::insert_audit(&mut tx, a).await?;
        }
        for statement in DB::AFTER_IMPORT {
            sqlx::query(*statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn mark_deleted(
        &self,
        id: IncidentId,
        purge_after: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool> {
        let mut tx = self.writes.begin_with(DB::BEGIN).await?;
        let done = sqlx::query(
            "UPDATE incidents SET delete_after = $1 WHERE id = $2 AND delete_after IS NULL",
        )
        .bind(purge_after)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        if DB::affected(&done) == 0 {
            return Ok(false);
        }
        Self::insert_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn restore(&self, id: IncidentId, audit: Audit) -> Result<bool> {
        let mut tx = self.writes.begin_with(DB::BEGIN).await?;
        let done = sqlx::query(
            "UPDATE incidents SET delete_after = NULL WHERE id = $1 AND delete_after IS NOT NULL",
        )
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        if DB::affected(&done) == 0 {
            return Ok(false);
        }
        Self::insert_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn marked(&self) -> Result<Vec<(Incident, DateTime<Utc>)>> {
        let rows: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT state, delete_after FROM incidents WHERE delete_after IS NOT NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|(s, at)| Ok((sql::incident(&s)?, at))).collect()
    }

    async fn purge_due(&self, now: DateTime<Utc>, actor: &str) -> Result<Vec<IncidentId>> {
        let due: Vec<(i64,)> = sqlx::query_as(
                "SELECT id FROM incidents WHERE delete_after IS NOT NULL AND delete_after <= $1 ORDER BY id",
            )
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        let mut purged = Vec::new();
        for (id,) in due {
            let mut tx = self.writes.begin_with(DB::BEGIN).await?;
            // Restored in the meantime? Then it stays.
            let still: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM incidents WHERE id = $1 AND delete_after IS NOT NULL AND delete_after <= $2",
                )
                .bind(id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if still.is_none() {
                continue;
            }
            for delete in [
                "DELETE FROM timeline_entries WHERE incident_id = $1",
                "DELETE FROM incident_channels WHERE incident_id = $1",
                "DELETE FROM outbox WHERE incident_id = $1",
                "DELETE FROM room_messages WHERE incident_id = $1",
            ] {
                sqlx::query(delete).bind(id).execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM incidents WHERE id = $1").bind(id).execute(&mut *tx).await?;
            let audit = Audit {
                at: now,
                actor: actor.to_string(),
                action: "purge".into(),
                incident: Some(IncidentId(id)),
                detail: "grace period over; record removed".into(),
            };
            Self::insert_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            purged.push(IncidentId(id));
        }
        Ok(purged)
    }

    async fn audit_log(&self, incident: Option<IncidentId>, limit: i64) -> Result<Vec<Audit>> {
        let rows: Vec<(DateTime<Utc>, String, String, Option<i64>, String)> = sqlx::query_as(
            "SELECT at, actor, action, incident_id, detail FROM audit_log
                     WHERE $1 IS NULL OR incident_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(incident.map(|i| i.0))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at, actor, action, incident, detail)| Audit {
                at,
                actor,
                action,
                incident: incident.map(IncidentId),
                detail,
            })
            .collect())
    }
}
