//! The SQL both backends share. The statements are the same text on SQLite and
//! PostgreSQL (`$N` placeholders, `ON CONFLICT`, `RETURNING`); what differs —
//! how a write transaction begins and how outbox rows are claimed — is passed in
//! by `sqlite.rs` and `postgres.rs`. A macro rather than generics because
//! sqlx's per-database trait bounds would otherwise repeat on every function.

use crate::incident::{Incident, Platform, Subscription, TimelineEntry};

use super::{Result, StoreError};

pub(super) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain types serialize")
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(super) fn platform(s: &str) -> Result<Platform> {
    Platform::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown platform {s:?}")))
}

pub(super) fn incident(state: &str) -> Result<Incident> {
    from_json("incident", state)
}

pub(super) fn entry(body: &str) -> Result<TimelineEntry> {
    from_json("timeline entry", body)
}

pub(super) fn subscription(body: &str) -> Result<Subscription> {
    from_json("subscription", body)
}

/// Decodes an optional `(json, version)` row.
pub(super) fn versioned<T>(
    row: Option<(String, i64)>,
    decode: fn(&str) -> Result<T>,
) -> Result<Option<super::Versioned<T>>> {
    row.map(|(json, version)| Ok(super::Versioned { value: decode(&json)?, version })).transpose()
}

/// Maps a unique-constraint violation to `Conflict`.
pub(super) fn conflict(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Db(e),
    }
}

/// Implements `Store` for `$store` (which has a `pool` field).
/// `$begin` is the statement that opens a write transaction; `$claim` the
/// statement that leases outbox rows, with binds now, limit, worker, lease end
/// and the wanted platforms as `,a,b,`.
macro_rules! impl_store {
    ($store:ty, $name:literal, $begin:literal, $claim:expr) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                $name
            }

            async fn next_incident_id(&self) -> $crate::store::Result<$crate::incident::IncidentId> {
                // Purged incidents live on in the audit log: their numbers are never reused.
                let n: i64 = sqlx::query_scalar(
                    "SELECT COALESCE(MAX(n), 0) + 1 FROM
                     (SELECT MAX(id) AS n FROM incidents UNION ALL SELECT MAX(incident_id) FROM audit_log) AS ids",
                )
                    .fetch_one(&self.pool)
                    .await?;
                Ok($crate::incident::IncidentId(n))
            }

            async fn incident(
                &self,
                id: $crate::incident::IncidentId,
            ) -> $crate::store::Result<Option<$crate::store::Versioned<$crate::incident::Incident>>> {
                let row: Option<(String, i64)> =
                    sqlx::query_as("SELECT state, version FROM incidents WHERE id = $1 AND delete_after IS NULL")
                        .bind(id.0)
                        .fetch_optional(&self.pool)
                        .await?;
                sql::versioned(row, sql::incident)
            }

            async fn incident_in_channel(
                &self,
                channel: &$crate::incident::ChannelRef,
            ) -> $crate::store::Result<Option<$crate::store::Versioned<$crate::incident::Incident>>> {
                let row: Option<(String, i64)> = sqlx::query_as(
                    "SELECT i.state, i.version FROM incidents i
                     JOIN incident_channels c ON c.incident_id = i.id
                     WHERE c.platform = $1 AND c.channel_id = $2 AND i.delete_after IS NULL",
                )
                .bind(channel.platform.as_str())
                .bind(&channel.id)
                .fetch_optional(&self.pool)
                .await?;
                sql::versioned(row, sql::incident)
            }

            async fn incidents(&self, include_closed: bool) -> $crate::store::Result<Vec<$crate::incident::Incident>> {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT state FROM incidents WHERE delete_after IS NULL AND ($1 OR status <> 'closed')
                     ORDER BY id DESC",
                )
                .bind(include_closed)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|(s,)| sql::incident(s)).collect()
            }

            async fn channel(
                &self,
                id: $crate::incident::IncidentId,
                platform: $crate::incident::Platform,
            ) -> $crate::store::Result<Option<(String, String)>> {
                Ok(sqlx::query_as(
                    "SELECT channel_id, name FROM incident_channels WHERE incident_id = $1 AND platform = $2",
                )
                .bind(id.0)
                .bind(platform.as_str())
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn set_channel(
                &self,
                id: $crate::incident::IncidentId,
                platform: $crate::incident::Platform,
                channel_id: &str,
                name: &str,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO incident_channels (incident_id, platform, channel_id, name)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (incident_id, platform) DO UPDATE SET channel_id = $3, name = $4",
                )
                .bind(id.0)
                .bind(platform.as_str())
                .bind(channel_id)
                .bind(name)
                .execute(&self.pool)
                .await
                .map_err(sql::conflict)?;
                Ok(())
            }

            async fn entry(
                &self,
                key: &$crate::incident::MessageKey,
            ) -> $crate::store::Result<Option<$crate::store::Versioned<$crate::incident::TimelineEntry>>> {
                let row: Option<(String, i64)> = sqlx::query_as(
                    "SELECT body, version FROM timeline_entries
                     WHERE platform = $1 AND channel_id = $2 AND message_id = $3",
                )
                .bind(key.platform.as_str())
                .bind(&key.channel)
                .bind(&key.message)
                .fetch_optional(&self.pool)
                .await?;
                sql::versioned(row, sql::entry)
            }

            async fn timeline(
                &self,
                id: $crate::incident::IncidentId,
            ) -> $crate::store::Result<Vec<$crate::incident::TimelineEntry>> {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT body FROM timeline_entries WHERE incident_id = $1 ORDER BY at, id",
                )
                .bind(id.0)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|(b,)| sql::entry(b)).collect()
            }

            async fn subscriptions(&self) -> $crate::store::Result<Vec<$crate::incident::Subscription>> {
                let rows: Vec<(String,)> =
                    sqlx::query_as("SELECT body FROM subscriptions ORDER BY platform, channel_id, scope")
                        .fetch_all(&self.pool)
                        .await?;
                rows.iter().map(|(b,)| sql::subscription(b)).collect()
            }

            async fn ping(&self) -> $crate::store::Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn seen_event(&self, event_id: &str) -> $crate::store::Result<bool> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE event_id = $1")
                    .bind(event_id)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n > 0)
            }

            async fn commit(&self, c: $crate::store::Commit) -> $crate::store::Result<()> {
                use $crate::store::{SubscriptionChange, Write};
                let now = chrono::Utc::now();
                let mut tx = self.pool.begin_with($begin).await?;
                if let Some(event) = &c.event_id {
                    let done = sqlx::query(
                        "INSERT INTO inbox (event_id, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    )
                    .bind(event)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Err($crate::store::StoreError::Duplicate);
                    }
                }
                match &c.incident {
                    None => {}
                    Some(Write::Insert(inc)) => {
                        sqlx::query(
                            "INSERT INTO incidents (id, title, severity, status, private, platform, declared_at, version, state)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)",
                        )
                        .bind(inc.id.0)
                        .bind(&inc.title)
                        .bind(&inc.severity)
                        .bind(inc.status.as_str())
                        .bind(inc.private)
                        .bind(inc.platform.as_str())
                        .bind(inc.declared_at)
                        .bind(sql::to_json(inc))
                        .execute(&mut *tx)
                        .await
                        .map_err(sql::conflict)?;
                    }
                    Some(Write::Update { value: inc, version }) => {
                        let done = sqlx::query(
                            "UPDATE incidents SET title = $1, severity = $2, status = $3, private = $4,
                             version = version + 1, state = $5 WHERE id = $6 AND version = $7",
                        )
                        .bind(&inc.title)
                        .bind(&inc.severity)
                        .bind(inc.status.as_str())
                        .bind(inc.private)
                        .bind(sql::to_json(inc))
                        .bind(inc.id.0)
                        .bind(*version)
                        .execute(&mut *tx)
                        .await?;
                        if done.rows_affected() != 1 {
                            return Err($crate::store::StoreError::Conflict);
                        }
                    }
                }
                for w in &c.entries {
                    let (e, version) = match w {
                        Write::Insert(e) => (e, None),
                        Write::Update { value, version } => (value, Some(*version)),
                    };
                    let (platform, channel, message) = match &e.key {
                        Some(k) => (Some(k.platform.as_str()), Some(k.channel.as_str()), Some(k.message.as_str())),
                        None => (None, None, None),
                    };
                    let done = match version {
                        None => sqlx::query(
                            "INSERT INTO timeline_entries
                             (incident_id, platform, channel_id, message_id, kind, at, state, version, body)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8) ON CONFLICT DO NOTHING",
                        )
                        .bind(e.incident.0)
                        .bind(platform)
                        .bind(channel)
                        .bind(message)
                        .bind(e.kind.as_str())
                        .bind(e.at)
                        .bind(e.state.as_str())
                        .bind(sql::to_json(e))
                        .execute(&mut *tx)
                        .await?,
                        Some(v) => sqlx::query(
                            "UPDATE timeline_entries SET state = $1, version = version + 1, body = $2
                             WHERE platform = $3 AND channel_id = $4 AND message_id = $5 AND version = $6",
                        )
                        .bind(e.state.as_str())
                        .bind(sql::to_json(e))
                        .bind(platform)
                        .bind(channel)
                        .bind(message)
                        .bind(v)
                        .execute(&mut *tx)
                        .await?,
                    };
                    if done.rows_affected() != 1 {
                        return Err($crate::store::StoreError::Conflict);
                    }
                }
                for change in &c.subscriptions {
                    match change {
                    SubscriptionChange::Add(s) => {
                        sqlx::query(
                            "INSERT INTO subscriptions (platform, channel_id, scope, body) VALUES ($1, $2, $3, $4)
                             ON CONFLICT (platform, channel_id, scope) DO UPDATE SET body = $4",
                        )
                        .bind(s.channel.platform.as_str())
                        .bind(&s.channel.id)
                        .bind(s.scope.key())
                        .bind(sql::to_json(s))
                        .execute(&mut *tx)
                        .await?;
                    }
                    SubscriptionChange::Remove { channel, scope } => {
                        sqlx::query("DELETE FROM subscriptions WHERE platform = $1 AND channel_id = $2 AND scope = $3")
                            .bind(channel.platform.as_str())
                            .bind(&channel.id)
                            .bind(scope.key())
                            .execute(&mut *tx)
                            .await?;
                    }
                    }
                }
                if let Some(a) = &c.audit {
                    $crate::store::retention::insert_audit!(tx, a);
                }
                for item in &c.outbox {
                    sqlx::query(
                        "INSERT INTO outbox (lane, incident_id, platform, payload, created_at, next_attempt_at)
                         VALUES ($1, $2, $3, $4, $5, $5)",
                    )
                    .bind(item.lane())
                    .bind(item.incident.0)
                    .bind(item.platform.as_str())
                    .bind(&item.payload)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn claim(
                &self,
                worker: &str,
                now: chrono::DateTime<chrono::Utc>,
                lease_until: chrono::DateTime<chrono::Utc>,
                limit: i64,
                platforms: &[$crate::incident::Platform],
            ) -> $crate::store::Result<Vec<$crate::store::Claimed>> {
                // ",slack,console," — matched against ',' || platform || ',' in SQL.
                let wanted: String = platforms.iter().map(|p| format!(",{p}")).collect::<String>() + ",";
                let rows: Vec<(i64, i64, String, String, i64)> = sqlx::query_as($claim)
                    .bind(now)
                    .bind(limit)
                    .bind(worker)
                    .bind(lease_until)
                    .bind(wanted)
                    .fetch_all(&self.pool)
                    .await?;
                let mut out = Vec::with_capacity(rows.len());
                for (id, incident, platform, payload, attempts) in rows {
                    out.push($crate::store::Claimed {
                        id,
                        incident: $crate::incident::IncidentId(incident),
                        platform: sql::platform(&platform)?,
                        payload,
                        attempts,
                    });
                }
                out.sort_by_key(|c| c.id);
                Ok(out)
            }

            async fn finish(
                &self,
                id: i64,
                worker: &str,
                now: chrono::DateTime<chrono::Utc>,
                error: Option<&str>,
            ) -> $crate::store::Result<()> {
                let outcome = if error.is_some() { "failed" } else { "delivered" };
                sqlx::query(
                    "UPDATE outbox SET done_at = $1, outcome = $2, last_error = COALESCE($3, last_error),
                     leased_by = NULL, lease_until = NULL WHERE id = $4 AND leased_by = $5",
                )
                .bind(now)
                .bind(outcome)
                .bind(error)
                .bind(id)
                .bind(worker)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn retry_at(
                &self,
                id: i64,
                worker: &str,
                at: chrono::DateTime<chrono::Utc>,
                error: &str,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "UPDATE outbox SET next_attempt_at = $1, last_error = $2, leased_by = NULL, lease_until = NULL
                     WHERE id = $3 AND leased_by = $4",
                )
                .bind(at)
                .bind(error)
                .bind(id)
                .bind(worker)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn outbox_stats(&self) -> $crate::store::Result<$crate::store::OutboxStats> {
                let (pending, retrying, delivered, failed): (i64, i64, i64, i64) = sqlx::query_as(
                    "SELECT
                       COALESCE(SUM(CASE WHEN done_at IS NULL THEN 1 ELSE 0 END), 0),
                       COALESCE(SUM(CASE WHEN done_at IS NULL AND last_error IS NOT NULL THEN 1 ELSE 0 END), 0),
                       COALESCE(SUM(CASE WHEN outcome = 'delivered' THEN 1 ELSE 0 END), 0),
                       COALESCE(SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END), 0)
                     FROM outbox",
                )
                .fetch_one(&self.pool)
                .await?;
                let oldest: Option<chrono::DateTime<chrono::Utc>> =
                    sqlx::query_scalar("SELECT MIN(created_at) FROM outbox WHERE done_at IS NULL")
                        .fetch_one(&self.pool)
                        .await?;
                let rows: Vec<(String, i64, Option<chrono::DateTime<chrono::Utc>>)> = sqlx::query_as(
                    "SELECT platform, COUNT(*), MIN(created_at) FROM outbox WHERE done_at IS NULL
                     GROUP BY platform ORDER BY platform",
                )
                .fetch_all(&self.pool)
                .await?;
                let by_platform = rows
                    .into_iter()
                    .map(|(p, pending, oldest)| {
                        Ok($crate::store::Backlog { platform: sql::platform(&p)?, pending, oldest_pending: oldest })
                    })
                    .collect::<$crate::store::Result<Vec<_>>>()?;
                Ok($crate::store::OutboxStats {
                    pending,
                    retrying,
                    delivered,
                    failed,
                    oldest_pending: oldest,
                    by_platform,
                })
            }
        }
    };
}

pub(super) use impl_store;
