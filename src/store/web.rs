//! What the web command center keeps: one-time sign-in links and sessions
//! (by the SHA-256 of their secrets, never the secrets), and the incident
//! rooms' messages (written with the commit that mirrors them to chat).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::sql::{from_json, to_json};
use super::{Backend, Result, SqlStore};
use crate::incident::room::RoomMessage;
use crate::incident::{IncidentId, UserRef};

/// A sign-in link, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct WebLink {
    pub token_hash: String,
    pub person: UserRef,
    /// Where the person lands after signing in (a path on this server).
    pub next: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebSession {
    pub id_hash: String,
    pub person: UserRef,
    /// Every form carries it; a post without it is refused.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait Web: Send + Sync {
    async fn create_link(&self, link: &WebLink) -> Result<()>;
    /// Uses the link: the person and where to go, once, before it expires;
    /// `None` for an unknown, used or expired link.
    async fn redeem_link(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(UserRef, String)>>;
    async fn create_session(&self, session: &WebSession) -> Result<()>;
    /// The session, while it has not expired.
    async fn session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<Option<WebSession>>;
    async fn end_session(&self, id_hash: &str) -> Result<()>;
    /// The room's messages after `after` (an id), oldest first, at most `limit`.
    async fn room(&self, incident: IncidentId, after: i64, limit: i64) -> Result<Vec<RoomMessage>>;
    /// The newest `limit` messages of the room, oldest first.
    async fn room_latest(&self, incident: IncidentId, limit: i64) -> Result<Vec<RoomMessage>>;
    async fn room_message(&self, id: i64) -> Result<Option<RoomMessage>>;
    /// Forgets expired sessions and links; returns how many.
    async fn prune_web(&self, now: DateTime<Utc>) -> Result<u64>;
}

fn message(id: i64, body: &str) -> Result<RoomMessage> {
    let mut m: RoomMessage = from_json("room message", body)?;
    m.id = id;
    Ok(m)
}

impl<DB> SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    /// Keeps a room message inside an open write transaction.
    pub(super) async fn insert_room_message(
        tx: &mut DB::Connection,
        m: &RoomMessage,
    ) -> Result<()> {
        sqlx::query("INSERT INTO room_messages (incident_id, at, body) VALUES ($1, $2, $3)")
            .bind(m.incident.0)
            .bind(m.at)
            .bind(to_json(m).as_str())
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl<DB> Web for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    async fn create_link(&self, link: &WebLink) -> Result<()> {
        sqlx::query(
            "INSERT INTO web_links (token_hash, person, next_path, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(link.token_hash.as_str())
        .bind(to_json(&link.person).as_str())
        .bind(link.next.as_str())
        .bind(link.created_at)
        .bind(link.expires_at)
        .execute(&self.writes)
        .await?;
        Ok(())
    }

    async fn redeem_link(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(UserRef, String)>> {
        // One statement: of two requests racing with one link, one wins.
        let row: Option<(String, String)> = sqlx::query_as(
            "UPDATE web_links SET used_at = $1
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
             RETURNING person, next_path",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&self.writes)
        .await?;
        row.map(|(person, next)| Ok((from_json("person", &person)?, next))).transpose()
    }

    async fn create_session(&self, s: &WebSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO web_sessions (id_hash, person, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(s.id_hash.as_str())
        .bind(to_json(&s.person).as_str())
        .bind(s.csrf.as_str())
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&self.writes)
        .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<Option<WebSession>> {
        let row: Option<(String, String, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
            "SELECT person, csrf, created_at, expires_at FROM web_sessions
             WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(person, csrf, created_at, expires_at)| {
            Ok(WebSession {
                id_hash: id_hash.to_string(),
                person: from_json("person", &person)?,
                csrf,
                created_at,
                expires_at,
            })
        })
        .transpose()
    }

    async fn end_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.writes)
            .await?;
        Ok(())
    }

    async fn room(&self, incident: IncidentId, after: i64, limit: i64) -> Result<Vec<RoomMessage>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, body FROM room_messages WHERE incident_id = $1 AND id > $2
             ORDER BY id LIMIT $3",
        )
        .bind(incident.0)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|(id, body)| message(*id, body)).collect()
    }

    async fn room_latest(&self, incident: IncidentId, limit: i64) -> Result<Vec<RoomMessage>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, body FROM room_messages WHERE incident_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(incident.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().rev().map(|(id, body)| message(*id, body)).collect()
    }

    async fn room_message(&self, id: i64) -> Result<Option<RoomMessage>> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT id, body FROM room_messages WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(id, body)| message(id, &body)).transpose()
    }

    async fn prune_web(&self, now: DateTime<Utc>) -> Result<u64> {
        let mut n = 0;
        for expired in [
            "DELETE FROM web_sessions WHERE expires_at <= $1",
            "DELETE FROM web_links WHERE expires_at <= $1",
        ] {
            let done = sqlx::query(expired).bind(now).execute(&self.writes).await?;
            n += DB::affected(&done);
        }
        Ok(n)
    }
}
