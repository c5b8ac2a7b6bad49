//! The outbox's view of Discord: channels under the incident category,
//! private ones through permission overwrites, posts that cannot ping anyone
//! the bot did not mean to, pins, the postmortem as an attachment, and a lock
//! on close. Also the calls the interaction handlers need.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::render::{self, escape};
use super::rest::{Body, CallError, Rest};
use crate::incident::{Message, Platform, UserRef};
use crate::outbox::{ChatApi, ChatError, OpenedChannel};

/// Discord permission bits tocsin sets.
pub mod perm {
    pub const ADD_REACTIONS: u64 = 1 << 6;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const MANAGE_MESSAGES: u64 = 1 << 13;
    pub const ATTACH_FILES: u64 = 1 << 15;
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    pub const CREATE_PUBLIC_THREADS: u64 = 1 << 35;
    pub const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
    pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
    /// What a member of a private incident channel is allowed.
    pub const MEMBER: u64 = VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | ADD_REACTIONS;
    /// What the bot keeps in a private channel it made. Not MANAGE_ROLES:
    /// Discord lets only administrators grant that in a channel overwrite;
    /// the bot's server role carries it.
    pub const BOT: u64 = MEMBER | MANAGE_CHANNELS | MANAGE_MESSAGES | ATTACH_FILES;
    /// What closing a channel takes away.
    pub const POSTING: u64 =
        SEND_MESSAGES | SEND_MESSAGES_IN_THREADS | CREATE_PUBLIC_THREADS | CREATE_PRIVATE_THREADS;
}

/// Overwrite types.
const ROLE: u8 = 0;
const MEMBER: u8 = 1;
/// Discord's "Unknown User" and "Unknown Member".
const UNKNOWN_USER: [u64; 2] = [10013, 10007];

/// A message fetched to be flagged.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub author: UserRef,
    pub content: String,
    pub at: DateTime<Utc>,
    pub files: Vec<String>,
}

pub struct DiscordChat {
    rest: Rest,
    guild: String,
    application: String,
    category: Option<String>,
    archive_category: Option<String>,
    bot_user: OnceCell<String>,
}

impl DiscordChat {
    pub fn new(config: &crate::config::DiscordConfig) -> Self {
        Self {
            rest: Rest::new(&config.bot_token, &config.api_base_url),
            guild: config.guild_id.clone(),
            application: config.application_id.clone(),
            category: config.category_id.clone(),
            archive_category: config.archive_category_id.clone(),
            bot_user: OnceCell::new(),
        }
    }

    pub fn guild(&self) -> &str {
        &self.guild
    }

    /// Where a message lives on discord.com.
    pub fn jump_link(&self, channel: &str, message: &str) -> String {
        format!("https://discord.com/channels/{}/{channel}/{message}", self.guild)
    }

    async fn call(&self, method: Method, path: &str, body: Body) -> Result<Value, ChatError> {
        Ok(self.rest.call(method, path, body).await?.unwrap_or(Value::Null))
    }

    /// The bot's own user id, asked once.
    pub async fn bot_user(&self) -> Result<String, ChatError> {
        self.bot_user
            .get_or_try_init(|| async {
                let me = self.call(Method::GET, "/users/@me", Body::Empty).await?;
                id(&me)
            })
            .await
            .cloned()
    }

    /// The message, or `None` when it is gone.
    pub async fn fetch_message(
        &self,
        channel: &str,
        message: &str,
    ) -> Result<Option<Fetched>, ChatError> {
        let m = match self
            .rest
            .call(Method::GET, &format!("/channels/{channel}/messages/{message}"), Body::Empty)
            .await
        {
            Ok(m) => m.unwrap_or(Value::Null),
            Err(CallError::Refused(r)) if r.is_unknown() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some(fetched(&m)))
    }

    /// Whether `user` has reacted to the message with `emoji` (a Unicode
    /// emoji or `name:id`).
    pub async fn has_reacted(
        &self,
        channel: &str,
        message: &str,
        emoji: &str,
        user: &str,
    ) -> Result<bool, ChatError> {
        let emoji: String = url::form_urlencoded::byte_serialize(emoji.as_bytes()).collect();
        // Normal reactions (type 0), then super reactions (type 1).
        for kind in [0, 1] {
            let mut after = String::new();
            loop {
                let path = format!(
                    "/channels/{channel}/messages/{message}/reactions/{emoji}?type={kind}&limit=100{after}"
                );
                let users = match self.rest.call(Method::GET, &path, Body::Empty).await {
                    Ok(v) => v.unwrap_or(Value::Null),
                    Err(CallError::Refused(r)) if r.is_unknown() => return Ok(false),
                    Err(e) => return Err(e.into()),
                };
                let users = users.as_array().cloned().unwrap_or_default();
                if users.iter().any(|u| u["id"] == user) {
                    return Ok(true);
                }
                match users.last() {
                    Some(last) if users.len() == 100 => {
                        after = format!("&after={}", last["id"].as_str().unwrap_or(""));
                    }
                    _ => break,
                }
            }
        }
        Ok(false)
    }

    /// Answers an interaction now: an ephemeral message, or "thinking…".
    /// Discord allows 3 s; a 5xx or a dropped connection is tried again
    /// until about 2.3 s have passed since `received`.
    pub async fn answer(
        &self,
        id: &str,
        token: &str,
        answer: &Answer,
        received: std::time::Instant,
    ) -> Result<(), ChatError> {
        let path = format!("/interactions/{id}/{token}/callback");
        loop {
            match self.call(Method::POST, &path, Body::Json(answer.to_json())).await {
                Err(ChatError::Unavailable(e))
                    if received.elapsed() < std::time::Duration::from_millis(2300) =>
                {
                    tracing::warn!(error = e, "answering an interaction failed; trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await; // brief pause before retrying
                }
                other => return other.map(drop),
            }
        }
    }

    /// Replaces a deferred answer with the real one.
    pub async fn follow_up(&self, token: &str, content: &str) -> Result<(), ChatError> {
        let path = format!("/webhooks/{}/{token}/messages/@original", self.application);
        self.call(
            Method::PATCH,
            &path,
            Body::Json(json!({"content": content, "allowed_mentions": quiet(&[])})),
        )
        .await
        .map(drop)
    }

    /// Bulk-overwrites the guild's application commands; returns how many there are now.
    pub async fn register(&self, commands: &Value) -> Result<usize, ChatError> {
        let path = format!("/applications/{}/guilds/{}/commands", self.application, self.guild);
        let v = self.call(Method::PUT, &path, Body::Json(commands.clone())).await?;
        Ok(v.as_array().map_or(0, Vec::len))
    }

    /// Whether @everyone is denied the view of this channel object.
    fn is_private(&self, c: &Value) -> bool {
        c["permission_overwrites"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|o| o["id"] == self.guild.as_str() && bits(&o["deny"]) & perm::VIEW_CHANNEL != 0)
    }

    async fn channel(&self, channel: &str) -> Result<Value, ChatError> {
        self.call(Method::GET, &format!("/channels/{channel}"), Body::Empty).await
    }

    async fn post_content(
        &self,
        channel: &str,
        content: String,
        users: &[String],
    ) -> Result<String, ChatError> {
        let body = json!({"content": content, "allowed_mentions": quiet(users)});
        id(&self
            .call(Method::POST, &format!("/channels/{channel}/messages"), Body::Json(body))
            .await?)
    }
}

/// How an interaction is answered at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// An ephemeral message (type 4).
    Say(String),
    /// "tocsin is thinking…" (type 5); the real answer follows.
    Defer,
    /// PONG (type 1).
    Pong,
}

impl Answer {
    pub fn to_json(&self) -> Value {
        match self {
            Answer::Say(content) => json!({
                "type": 4,
                "data": {"content": content, "flags": 64, "allowed_mentions": quiet(&[])},
            }),
            Answer::Defer => json!({"type": 5, "data": {"flags": 64}}),
            Answer::Pong => json!({"type": 1}),
        }
    }
}

/// `allowed_mentions` that lets nothing ping but these users.
fn quiet(users: &[String]) -> Value {
    if users.is_empty() { json!({"parse": []}) } else { json!({"parse": [], "users": users}) }
}

fn id(v: &Value) -> Result<String, ChatError> {
    v["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ChatError::Unavailable(format!("Discord answered without an id: {v}")))
}

/// Reads a message object.
pub fn fetched(m: &Value) -> Fetched {
    let author = &m["author"];
    let mut user = UserRef::new(Platform::Discord, author["id"].as_str().unwrap_or("unknown"));
    user.name = author["global_name"].as_str().or(author["username"].as_str()).map(str::to_string);
    let at = m["timestamp"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
    let files = m["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["url"].as_str().map(str::to_string))
        .collect();
    Fetched { author: user, content: m["content"].as_str().unwrap_or("").to_string(), at, files }
}

fn overwrite(id: &str, kind: u8, allow: u64, deny: u64) -> Value {
    json!({"id": id, "type": kind, "allow": allow.to_string(), "deny": deny.to_string()})
}

fn bits(v: &Value) -> u64 {
    v.as_str().and_then(|s| s.parse().ok()).or(v.as_u64()).unwrap_or(0)
}

#[async_trait]
impl ChatApi for DiscordChat {
    fn platform(&self) -> Platform {
        Platform::Discord
    }

    /// Adopts a channel of that name under the category if one is there: a
    /// crash between Discord creating it and tocsin recording it must not
    /// leave a twin behind (Discord allows duplicate names).
    async fn open_channel(
        &self,
        name: &str,
        private: bool,
        topic: &str,
    ) -> Result<OpenedChannel, ChatError> {
        let existing = self
            .call(Method::GET, &format!("/guilds/{}/channels", self.guild), Body::Empty)
            .await?;
        let parent = self.category.as_deref().map_or(Value::Null, |c| json!(c));
        // Only a channel like the one tocsin would make: same name, same
        // category, same privacy.
        if let Some(c) = existing.as_array().into_iter().flatten().find(|c| {
            c["type"] == 0
                && c["name"] == name
                && c["parent_id"] == parent
                && self.is_private(c) == private
        }) {
            tracing::info!(name, "adopting an existing Discord channel of that name");
            return Ok(OpenedChannel { id: id(c)?, name: name.to_string() });
        }
        let mut body = json!({"name": name, "type": 0, "topic": cut(topic, 1024)});
        if let Some(c) = &self.category {
            body["parent_id"] = json!(c);
        }
        if private {
            let bot = self.bot_user().await?;
            body["permission_overwrites"] = json!([
                overwrite(&self.guild, ROLE, 0, perm::VIEW_CHANNEL),
                overwrite(&bot, MEMBER, perm::BOT, 0),
            ]);
        }
        let c = self
            .call(Method::POST, &format!("/guilds/{}/channels", self.guild), Body::Json(body))
            .await?;
        Ok(OpenedChannel { id: id(&c)?, name: c["name"].as_str().unwrap_or(name).to_string() })
    }

    /// Public channels are open to everyone already; private ones get a
    /// member overwrite per person. Someone Discord does not know is skipped.
    async fn invite(&self, channel: &str, users: &[UserRef]) -> Result<(), ChatError> {
        let c = self.channel(channel).await?;
        if !self.is_private(&c) {
            return Ok(());
        }
        for u in users.iter().filter(|u| u.platform == Platform::Discord) {
            let path = format!("/channels/{channel}/permissions/{}", u.id);
            let body = json!({"type": MEMBER, "allow": perm::MEMBER.to_string(), "deny": "0"});
            match self.rest.call(Method::PUT, &path, Body::Json(body)).await {
                Ok(_) => {}
                Err(CallError::Refused(r))
                    if UNKNOWN_USER.contains(&r.code) || r.is_unknown() && r.code != 10003 =>
                {
                    tracing::warn!(user = %u.id, code = r.code, "Discord does not know this person; not added");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    async fn set_topic(&self, channel: &str, topic: &str) -> Result<(), ChatError> {
        self.call(
            Method::PATCH,
            &format!("/channels/{channel}"),
            Body::Json(json!({"topic": cut(topic, 1024)})),
        )
        .await
        .map(drop)
    }

    fn render(&self, message: &Message) -> Vec<String> {
        render::posts(message)
    }

    async fn post_part(
        &self,
        channel: &str,
        message: &Message,
        part: &str,
    ) -> Result<String, ChatError> {
        self.post_content(channel, part.to_string(), &render::mentioned(message)).await
    }

    async fn pin(&self, channel: &str, message_id: &str) -> Result<(), ChatError> {
        self.call(
            Method::PUT,
            &format!("/channels/{channel}/messages/pins/{message_id}"),
            Body::Empty,
        )
        .await
        .map(drop)
    }

    async fn upload(
        &self,
        channel: &str,
        filename: &str,
        title: &str,
        content: &str,
    ) -> Result<(), ChatError> {
        let payload = json!({
            "content": format!("**{}**", escape(title)),
            "allowed_mentions": quiet(&[]),
            "attachments": [{"id": 0, "filename": filename}],
        });
        let files = vec![(filename.to_string(), content.as_bytes().to_vec())];
        self.call(
            Method::POST,
            &format!("/channels/{channel}/messages"),
            Body::Multipart(payload, files),
        )
        .await
        .map(drop)
    }

    /// Locks the channel (nobody but the bot can post; reading stays as it
    /// was) and moves it to the archive category when one is configured.
    async fn archive(&self, channel: &str) -> Result<(), ChatError> {
        let c = self.channel(channel).await?;
        let bot = self.bot_user().await?;
        let mut overwrites: Vec<Value> = Vec::new();
        let mut everyone = false;
        for o in c["permission_overwrites"].as_array().into_iter().flatten() {
            let (oid, kind) =
                (o["id"].as_str().unwrap_or(""), o["type"].as_u64().unwrap_or(0) as u8);
            let (mut allow, mut deny) = (bits(&o["allow"]), bits(&o["deny"]));
            if oid == self.guild {
                everyone = true;
                deny |= perm::POSTING;
                allow &= !perm::POSTING;
            } else if oid != bot {
                allow &= !perm::POSTING;
            }
            overwrites.push(overwrite(oid, kind, allow, deny));
        }
        if !everyone {
            overwrites.push(overwrite(&self.guild, ROLE, 0, perm::POSTING));
        }
        let mut body = json!({"permission_overwrites": overwrites});
        if let Some(archive) = &self.archive_category {
            body["parent_id"] = json!(archive);
        }
        self.call(Method::PATCH, &format!("/channels/{channel}"), Body::Json(body)).await.map(drop)
    }
}

fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
