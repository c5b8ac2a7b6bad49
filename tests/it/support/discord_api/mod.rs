//! A local double of the Discord HTTP API v10 and gateway on 127.0.0.1: keeps one guild's
//! channels, overwrites, messages, pins, reactions and interactions; answers with Discord's
//! shapes and errors; checks every call against the official spec (../shared/specs) when present.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

mod body;
mod gateway;
mod responses;
mod routes;
mod spec;

use body::*;
use gateway::{Session, channel_json, event_message, member_json, message_json, user_json};
use responses::*;
use routes::*;
use spec::*;

pub const GUILD: &str = "900000000000000001";
/// The incidents category (type 4).
pub const CATEGORY: &str = "900000000000000002";
pub const APP_ID: &str = "900000000000000003";
pub const BOT_USER_ID: &str = "900000000000000004";
/// The command id interactions carry before any command was registered.
const UNREGISTERED_COMMAND: &str = "900000000000000005";
/// Every permission bit: what members and the app hold in interactions.
const ALL_PERMISSIONS: &str = "2251799813685247";
/// Discord snowflakes count milliseconds from 2015-01-01.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
const MAX_CONTENT: usize = 2000;

#[derive(Debug, Clone)]
pub enum Failure {
    /// A bare status with no Discord body (5xx from the edge).
    Status(u16),
    /// 429 with `retry_after` (seconds); a global one makes every route answer 429 until it passes.
    RateLimited { retry_after: f64, global: bool },
    /// A Discord JSON error, e.g. 403 50013 "Missing Permissions".
    Api { status: u16, code: u64, message: &'static str },
    /// The request takes effect, then the answer is lost: a bare status comes back instead.
    StatusAfterApplying(u16),
    /// This call goes through (to fail a later one).
    Pass,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overwrite {
    pub id: String,
    /// 0 role, 1 member.
    pub kind: u8,
    pub allow: u64,
    pub deny: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Msg {
    pub id: String,
    pub author: String,
    pub content: String,
    pub timestamp: String,
    pub edited_timestamp: Option<String>,
    /// Exactly as sent; Null when absent.
    pub allowed_mentions: Value,
    /// (filename, bytes)
    pub attachments: Vec<(String, Vec<u8>)>,
    /// (emoji, user)
    pub reactions: Vec<(String, String)>,
    pub deleted: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Channel {
    pub name: String,
    /// 0 text, 4 category.
    pub kind: u8,
    pub position: u16,
    pub parent_id: Option<String>,
    pub topic: String,
    pub overwrites: Vec<Overwrite>,
    pub pins: Vec<String>,
    pub messages: Vec<Msg>,
}

/// An interaction handed to the bot, and what it answered.
struct Issued {
    id: String,
    token: String,
    channel: String,
    created: Instant,
    acked: bool,
    /// The original response and whether it is public (public ones are in the channel too).
    original: Option<(Msg, bool)>,
}

#[derive(Default)]
struct World {
    channels: BTreeMap<String, Channel>,
    /// Guild members; overwrites for anyone else fail with Unknown User.
    users: BTreeSet<String>,
    failures: BTreeMap<String, VecDeque<Failure>>,
    calls: Vec<String>,
    violations: Vec<String>,
    global_until: Option<Instant>,
    calls_while_limited: usize,
    commands: Vec<Value>,
    issued: Vec<Issued>,
    callbacks: Vec<(String, Value)>,
    followups: Vec<(String, Value)>,
    sessions: Vec<Session>,
    next_session: u64,
    identifies: usize,
    gateway_url: String,
    last_id: u64,
}

#[derive(Clone)]
pub struct DiscordApi {
    pub addr: SocketAddr,
    pub gateway_addr: SocketAddr,
    world: Arc<Mutex<World>>,
}

impl DiscordApi {
    /// Starts the double: one guild, the incidents category, these text channels (id, name) and
    /// these members (the bot is one too).
    pub async fn start(channels: &[(&str, &str)], users: &[&str]) -> Self {
        let mut w = World::default();
        let category = Channel { name: "incidents".into(), kind: 4, ..Default::default() };
        w.channels.insert(CATEGORY.into(), category);
        for (i, (id, name)) in channels.iter().enumerate() {
            let ch =
                Channel { name: name.to_string(), position: i as u16 + 1, ..Default::default() };
            w.channels.insert(id.to_string(), ch);
        }
        w.users = users.iter().map(|u| u.to_string()).chain([BOT_USER_ID.to_string()]).collect();
        let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gw = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (addr, gateway_addr) = (api.local_addr().unwrap(), gw.local_addr().unwrap());
        w.gateway_url = format!("ws://{gateway_addr}");
        let world = Arc::new(Mutex::new(w));
        tokio::spawn(gateway::serve(gw, world.clone()));
        let app = Router::new().fallback(rest).with_state(world.clone());
        tokio::spawn(async move { axum::serve(api, app).await.unwrap() });
        Self { addr, gateway_addr, world }
    }

    /// What the bot's `api_base_url` should be (it appends `/api/v10`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The gateway URL `/gateway` and `/gateway/bot` hand out.
    pub fn gateway_url(&self) -> String {
        format!("ws://{}", self.gateway_addr)
    }

    fn w(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }

    /// The next calls of `route` (e.g. `"POST /channels/{channel_id}/messages"`) fail in order.
    pub fn fail(&self, route: &str, failures: impl IntoIterator<Item = Failure>) {
        self.w().failures.entry(norm(route)).or_default().extend(failures);
    }

    pub fn channel(&self, id: &str) -> Option<Channel> {
        self.w().channels.get(id).cloned()
    }

    /// Every channel id, the category's included.
    pub fn channel_ids(&self) -> Vec<String> {
        self.w().channels.keys().cloned().collect()
    }

    pub fn channel_named(&self, name: &str) -> Option<(String, Channel)> {
        let w = self.w();
        w.channels.iter().find(|(_, c)| c.name == name).map(|(id, c)| (id.clone(), c.clone()))
    }

    /// Every message of a channel, deleted ones included (marked).
    pub fn messages(&self, channel: &str) -> Vec<Msg> {
        self.channel(channel).map(|c| c.messages).unwrap_or_default()
    }

    /// The contents of the channel's messages that are not deleted.
    pub fn contents(&self, channel: &str) -> Vec<String> {
        self.messages(channel).into_iter().filter(|m| !m.deleted).map(|m| m.content).collect()
    }

    /// How often `route` was called; placeholder names don't matter.
    pub fn calls(&self, route: &str) -> usize {
        let route = norm(route);
        self.w().calls.iter().filter(|c| **c == route).count()
    }

    /// Calls that arrived while a served global rate limit was still running.
    pub fn calls_while_globally_limited(&self) -> usize {
        self.w().calls_while_limited
    }

    /// Spec violations seen so far; tests assert there are none.
    pub fn violations(&self) -> Vec<String> {
        self.w().violations.clone()
    }

    /// The guild commands registered last, as answered (with ids).
    pub fn commands(&self) -> Value {
        Value::Array(self.w().commands.clone())
    }

    /// Accepted interaction callbacks: (interaction id, body).
    pub fn callbacks(&self) -> Vec<(String, Value)> {
        self.w().callbacks.clone()
    }

    pub fn callback(&self, interaction_id: &str) -> Option<Value> {
        let w = self.w();
        w.callbacks.iter().find(|(id, _)| id == interaction_id).map(|(_, body)| body.clone())
    }

    /// Edits of original interaction responses: (interaction token, body).
    pub fn followups(&self) -> Vec<(String, Value)> {
        self.w().followups.clone()
    }

    /// Open gateway sessions that identified and got READY.
    pub fn gateway_sessions(&self) -> usize {
        self.w().sessions.iter().filter(|s| s.ready && !s.tx.is_closed()).count()
    }

    pub fn identifies(&self) -> usize {
        self.w().identifies
    }

    /// Sends a dispatch (op 0) to every ready gateway session.
    pub fn dispatch(&self, t: &str, d: Value) {
        self.w().dispatch(t, d);
    }

    /// Someone posts in a channel; returns the message id. MESSAGE_CREATE is dispatched.
    pub fn say(&self, channel: &str, user: &str, content: &str) -> String {
        let mut w = self.w();
        let id = w.next_id();
        let msg = Msg {
            id: id.clone(),
            author: user.into(),
            content: content.into(),
            timestamp: timestamp_of(&id),
            ..Default::default()
        };
        let event = event_message(channel, &msg, false);
        w.channels.get_mut(channel).expect("channel exists").messages.push(msg);
        w.dispatch("MESSAGE_CREATE", event);
        id
    }

    /// Someone reacts; MESSAGE_REACTION_ADD is dispatched (nothing when they already had).
    pub fn react(&self, channel: &str, message: &str, emoji: &str, user: &str) {
        let mut w = self.w();
        let m = w.message_mut(channel, message).expect("message exists");
        if m.reactions.iter().any(|(e, u)| e == emoji && u == user) {
            return;
        }
        m.reactions.push((emoji.into(), user.into()));
        let mut d = gateway::reaction_json(channel, message, emoji, user);
        d["message_author_id"] = json!(m.author);
        d["member"] = member_json(user, true);
        w.dispatch("MESSAGE_REACTION_ADD", d);
    }

    /// Someone takes a reaction back; MESSAGE_REACTION_REMOVE is dispatched.
    pub fn unreact(&self, channel: &str, message: &str, emoji: &str, user: &str) {
        let mut w = self.w();
        let m = w.message_mut(channel, message).expect("message exists");
        let before = m.reactions.len();
        m.reactions.retain(|(e, u)| e != emoji || u != user);
        if m.reactions.len() < before {
            w.dispatch(
                "MESSAGE_REACTION_REMOVE",
                gateway::reaction_json(channel, message, emoji, user),
            );
        }
    }

    /// Someone edits a message; MESSAGE_UPDATE (the full message) is dispatched.
    pub fn edit(&self, channel: &str, message: &str, content: &str) {
        let mut w = self.w();
        let is_pinned = w.channels.get(channel).is_some_and(|c| pinned(c, message));
        let m = w.message_mut(channel, message).expect("message exists");
        m.content = content.into();
        m.edited_timestamp = Some(now());
        let d = event_message(channel, m, is_pinned);
        w.dispatch("MESSAGE_UPDATE", d);
    }

    /// Someone deletes a message: it is marked deleted and unpinned; MESSAGE_DELETE is dispatched.
    pub fn delete(&self, channel: &str, message: &str) {
        let mut w = self.w();
        let ch = w.channels.get_mut(channel).expect("channel exists");
        let m = ch.messages.iter_mut().find(|m| m.id == message).expect("message exists");
        m.deleted = true;
        ch.pins.retain(|p| p != message);
        w.dispatch(
            "MESSAGE_DELETE",
            json!({"id": message, "channel_id": channel, "guild_id": GUILD}),
        );
    }

    /// `/incident <sub>` with these options (a JSON array); returns the interaction id and the
    /// INTERACTION_CREATE payload. Nothing is sent: dispatch it or POST it, as the bot is set up.
    pub fn command_interaction(
        &self,
        user: &str,
        channel: &str,
        sub: &str,
        options: Value,
    ) -> (String, Value) {
        let options = if options.is_array() { options } else { json!([]) };
        let mut resolved = json!({});
        for o in options.as_array().into_iter().flatten() {
            if let (Some(6 | 9), Some(id)) = (o["type"].as_u64(), o["value"].as_str()) {
                resolved["users"][id] = user_json(id);
                resolved["members"][id] = member_json(id, false);
            }
        }
        let mut w = self.w();
        let data = json!({
            "id": w.command_id("incident"), "name": "incident", "type": 1, "guild_id": GUILD,
            "options": [{"name": sub, "type": 1, "options": options}], "resolved": resolved
        });
        w.interaction(user, channel, data)
    }

    /// The message context-menu command "Add to timeline" on a message; like
    /// [`Self::command_interaction`], nothing is sent.
    pub fn message_interaction(
        &self,
        user: &str,
        channel: &str,
        message_id: &str,
    ) -> (String, Value) {
        let mut w = self.w();
        let ch = w.channels.get(channel).expect("channel exists");
        let m = ch.messages.iter().find(|m| m.id == message_id).expect("message exists");
        let mut messages = Map::new();
        messages.insert(message_id.into(), message_json(channel, m, pinned(ch, message_id)));
        let data = json!({
            "id": w.command_id("Add to timeline"), "name": "Add to timeline", "type": 3,
            "guild_id": GUILD, "target_id": message_id, "resolved": {"messages": messages}
        });
        w.interaction(user, channel, data)
    }
}

impl World {
    /// A snowflake from the current time, always above the last one handed out.
    fn next_id(&mut self) -> String {
        let ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        self.last_id = (ms.saturating_sub(DISCORD_EPOCH_MS) << 22).max(self.last_id + 1);
        self.last_id.to_string()
    }

    fn message_mut(&mut self, channel: &str, id: &str) -> Option<&mut Msg> {
        self.channels.get_mut(channel)?.messages.iter_mut().find(|m| m.id == id && !m.deleted)
    }

    fn command_id(&self, name: &str) -> String {
        let found = self.commands.iter().find(|c| c["name"] == name);
        found.and_then(|c| c["id"].as_str()).unwrap_or(UNREGISTERED_COMMAND).to_string()
    }

    /// An application-command interaction (type 2) from `user` in `channel`.
    fn interaction(&mut self, user: &str, channel: &str, data: Value) -> (String, Value) {
        let id = self.next_id();
        let token = format!("interaction-token-{id}");
        let ch = self.channels.get(channel).expect("channel exists");
        let mut partial = channel_json(channel, ch);
        partial["permissions"] = json!(ALL_PERMISSIONS);
        let mut member = member_json(user, true);
        member["permissions"] = json!(ALL_PERMISSIONS);
        let d = json!({
            "id": id, "application_id": APP_ID, "type": 2, "data": data, "guild_id": GUILD,
            "channel_id": channel, "channel": partial, "member": member, "token": token,
            "version": 1, "app_permissions": ALL_PERMISSIONS, "locale": "en-US",
            "guild_locale": "en-US", "entitlements": [], "context": 0,
            "authorizing_integration_owners": {"0": GUILD}, "attachment_size_limit": 10_485_760
        });
        let channel = channel.to_string();
        let created = Instant::now();
        let issued =
            Issued { id: id.clone(), token, channel, created, acked: false, original: None };
        self.issued.push(issued);
        (id, d)
    }

    /// The answer while a served global rate limit runs, counting the call.
    fn globally_limited(&mut self) -> Option<Response> {
        let left = self.global_until?.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.global_until = None;
            return None;
        }
        self.calls_while_limited += 1;
        Some(rate_limited(left.as_secs_f64(), true))
    }

    fn serve_failure(&mut self, failure: Failure) -> Response {
        match failure {
            Failure::Status(code) | Failure::StatusAfterApplying(code) => bare(code),
            Failure::Pass => unreachable!("a passing call is handled, not failed"),
            Failure::RateLimited { retry_after, global } => {
                if global {
                    self.global_until = Some(Instant::now() + Duration::from_secs_f64(retry_after));
                }
                rate_limited(retry_after, global)
            }
            Failure::Api { status, code, message } => error(status, code, message),
        }
    }
}
