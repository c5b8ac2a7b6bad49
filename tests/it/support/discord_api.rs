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

#[path = "discord_gateway.rs"]
mod gateway;

use gateway::{Session, channel_json, event_message, member_json, message_json, user_json};

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

/// The routes the double implements, with the spec's template names.
const ROUTES: &[&str] = &[
    "GET /gateway",
    "GET /gateway/bot",
    "GET /users/@me",
    "GET /applications/@me",
    "GET /oauth2/applications/@me",
    "GET /guilds/{guild_id}/channels",
    "POST /guilds/{guild_id}/channels",
    "GET /channels/{channel_id}",
    "PATCH /channels/{channel_id}",
    "PUT /channels/{channel_id}/permissions/{overwrite_id}",
    "POST /channels/{channel_id}/messages",
    "PUT /channels/{channel_id}/pins/{message_id}",
    "PUT /channels/{channel_id}/messages/pins/{message_id}",
    "GET /channels/{channel_id}/messages/{message_id}",
    "GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}",
    "POST /interactions/{interaction_id}/{interaction_token}/callback",
    "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original",
    "PUT /applications/{application_id}/guilds/{guild_id}/commands",
];

/// Routes that take no bot token (used when the spec is absent; otherwise the spec decides).
const NO_TOKEN_NEEDED: &[&str] = &[
    "GET /gateway",
    "POST /interactions/{}/{}/callback",
    "PATCH /webhooks/{}/{}/messages/@original",
];

/// Body keys Discord accepts and documents but the OpenAPI spec lacks: serenity 0.12.5's
/// CreateCommand always sends `nsfw`, and ChannelId::create_permission sends the overwrite `id`.
const SPEC_GAPS: &[(&str, &str)] = &[
    ("PUT /applications/{}/guilds/{}/commands", "nsfw"),
    ("PUT /channels/{}/permissions/{}", "id"),
];

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

fn timestamp_of(snowflake: &str) -> String {
    let ms = (snowflake.parse::<u64>().unwrap_or(0) >> 22) + DISCORD_EPOCH_MS;
    let at = chrono::DateTime::from_timestamp_millis(ms as i64).expect("a valid time");
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

fn pinned(ch: &Channel, message: &str) -> bool {
    ch.pins.iter().any(|p| p == message)
}

fn bare(status: u16) -> Response {
    StatusCode::from_u16(status).expect("a status").into_response()
}

fn ok(body: Value) -> Response {
    axum::Json(body).into_response()
}

fn error(status: u16, code: u64, message: &str) -> Response {
    let status = StatusCode::from_u16(status).expect("a status");
    (status, axum::Json(json!({"code": code, "message": message}))).into_response()
}

/// 400 "Invalid Form Body" with the error nested at a dotted path, as Discord does.
fn form_error(path: &str, code: &str, message: &str) -> Response {
    let mut errors = json!({"_errors": [{"code": code, "message": message}]});
    for key in path.rsplit('.').filter(|k| !k.is_empty()) {
        let mut outer = Map::new();
        outer.insert(key.to_string(), errors);
        errors = Value::Object(outer);
    }
    let body = json!({"code": 50035, "message": "Invalid Form Body", "errors": errors});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

fn rate_limited(retry_after: f64, global: bool) -> Response {
    let message = "You are being rate limited.";
    let body = json!({"message": message, "retry_after": retry_after, "global": global});
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    let h = response.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after.ceil() as u64));
    h.insert("x-ratelimit-scope", HeaderValue::from_static(if global { "global" } else { "user" }));
    if global {
        h.insert("x-ratelimit-global", HeaderValue::from_static("true"));
    }
    response
}

type Params = BTreeMap<String, String>;
type Files = Vec<(String, Vec<u8>)>;

async fn rest(
    State(world): State<Arc<Mutex<World>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut w = world.lock().unwrap();
    let raw = format!("{method} {}", uri.path());
    let Some(path) = uri.path().strip_prefix("/api/v10/") else {
        w.calls.push(raw.clone());
        w.violations.push(format!("{raw}: not under /api/v10"));
        return error(404, 0, "404: Not Found");
    };
    let segs: Vec<String> = path.split('/').map(percent_decode).collect();
    let route = route_of(method.as_str(), &segs);
    let key = route.as_ref().map_or(raw.clone(), |(r, _)| norm(r));
    w.calls.push(key.clone());
    let op = spec().map(|spec| spec_op(spec, method.as_str(), &segs));
    let token_optional = match op {
        Some(Some(op)) => op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s.as_object().is_some_and(|o| o.is_empty()))),
        _ => NO_TOKEN_NEEDED.iter().any(|r| *r == key),
    };
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let authed = auth.is_some_and(|a| a.starts_with("Bot ") && a.len() > 4);
    let allowed = authed || (auth.is_none() && token_optional);
    if !allowed {
        w.violations.push(format!("{raw}: no `Authorization: Bot <token>` header"));
        return error(401, 0, "401: Unauthorized");
    }
    if let Some(None) = op {
        w.violations.push(format!("{raw}: no such route in the Discord API spec"));
        return error(404, 0, "404: Not Found");
    }
    let (payload, files) = match parse_body(&headers, &body) {
        Ok(parsed) => parsed,
        Err(why) => {
            w.violations.push(format!("{raw}: {why}"));
            return error(400, 50109, "The request body contains invalid JSON.");
        }
    };
    if let (Some(spec), Some(Some(op))) = (spec(), op)
        && let Some(v) = check_body(spec, op, &key, &payload)
    {
        w.violations.push(v);
    }
    let Some((route, params)) = route else {
        w.violations.push(format!("{raw}: the double does not implement this route"));
        return error(404, 0, "404: Not Found");
    };
    if let Some(limited) = w.globally_limited() {
        return limited;
    }
    match w.failures.get_mut(&key).and_then(VecDeque::pop_front) {
        None => handle(&mut w, route, &params, payload, files),
        Some(Failure::StatusAfterApplying(code)) => {
            drop(handle(&mut w, route, &params, payload, files));
            bare(code)
        }
        Some(failure) => w.serve_failure(failure),
    }
}

fn handle(w: &mut World, route: &str, p: &Params, body: Value, files: Files) -> Response {
    let arg = |k: &str| p.get(k).map_or("", String::as_str);
    let unknown_channel = || error(404, 10003, "Unknown Channel");
    let unknown_message = || error(404, 10008, "Unknown Message");
    match route {
        "GET /gateway" => ok(json!({"url": w.gateway_url})),
        "GET /gateway/bot" => ok(json!({
            "url": w.gateway_url, "shards": 1,
            "session_start_limit":
                {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        })),
        "GET /users/@me" => ok(gateway::current_user_json()),
        "GET /applications/@me" | "GET /oauth2/applications/@me" => ok(gateway::application_json()),
        "GET /guilds/{guild_id}/channels" | "POST /guilds/{guild_id}/channels"
            if arg("guild_id") != GUILD =>
        {
            error(404, 10004, "Unknown Guild")
        }
        "GET /guilds/{guild_id}/channels" => {
            ok(w.channels.iter().map(|(id, c)| channel_json(id, c)).collect())
        }
        "POST /guilds/{guild_id}/channels" => create_channel(w, &body),
        "GET /channels/{channel_id}" => match w.channels.get(arg("channel_id")) {
            Some(c) => ok(channel_json(arg("channel_id"), c)),
            None => unknown_channel(),
        },
        "PATCH /channels/{channel_id}" => edit_channel(w, arg("channel_id"), &body),
        "PUT /channels/{channel_id}/permissions/{overwrite_id}" => {
            put_overwrite(w, arg("channel_id"), arg("overwrite_id"), &body)
        }
        "POST /channels/{channel_id}/messages" => post_message(w, arg("channel_id"), body, files),
        "PUT /channels/{channel_id}/pins/{message_id}"
        | "PUT /channels/{channel_id}/messages/pins/{message_id}" => {
            let (cid, mid) = (arg("channel_id"), arg("message_id"));
            let Some(ch) = w.channels.get_mut(cid) else { return unknown_channel() };
            if !ch.messages.iter().any(|m| m.id == mid && !m.deleted) {
                return unknown_message();
            }
            if !pinned(ch, mid) {
                ch.pins.push(mid.into());
            }
            StatusCode::NO_CONTENT.into_response()
        }
        "GET /channels/{channel_id}/messages/{message_id}" => {
            let (cid, mid) = (arg("channel_id"), arg("message_id"));
            let Some(ch) = w.channels.get(cid) else { return unknown_channel() };
            match ch.messages.iter().find(|m| m.id == mid && !m.deleted) {
                Some(m) => ok(message_json(cid, m, pinned(ch, mid))),
                None => unknown_message(),
            }
        }
        "GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}" => {
            let (cid, mid, emoji) = (arg("channel_id"), arg("message_id"), arg("emoji_name"));
            let Some(ch) = w.channels.get(cid) else { return unknown_channel() };
            match ch.messages.iter().find(|m| m.id == mid && !m.deleted) {
                Some(m) => {
                    let who = m.reactions.iter().filter(|(e, _)| e == emoji);
                    ok(who.map(|(_, user)| user_json(user)).collect())
                }
                None => unknown_message(),
            }
        }
        "POST /interactions/{interaction_id}/{interaction_token}/callback" => {
            callback(w, arg("interaction_id"), arg("interaction_token"), body)
        }
        "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original" => {
            edit_original(w, arg("webhook_id"), arg("webhook_token"), body)
        }
        "PUT /applications/{application_id}/guilds/{guild_id}/commands" => {
            put_commands(w, arg("application_id"), arg("guild_id"), body)
        }
        other => error(404, 0, &format!("{other}: not implemented")),
    }
}

/// Discord's form checks on a channel body: name, topic and parent category.
fn check_channel(w: &World, body: &Value, kind: u8) -> Option<Response> {
    if let Some(name) = body.get("name") {
        let name = name.as_str().unwrap_or("");
        if !(1..=100).contains(&name.chars().count()) {
            let why = "Must be between 1 and 100 in length.";
            return Some(form_error("name", "BASE_TYPE_BAD_LENGTH", why));
        }
        if kind != 4 && (name != name.to_lowercase() || name.contains(char::is_whitespace)) {
            let why = "Text channel names must be lowercase, without spaces.";
            return Some(form_error("name", "CHANNEL_NAME_INVALID", why));
        }
    }
    if body["topic"].as_str().is_some_and(|t| t.chars().count() > 1024) {
        let why = "Must be 1024 or fewer in length.";
        return Some(form_error("topic", "BASE_TYPE_MAX_LENGTH", why));
    }
    if let Some(parent) = body["parent_id"].as_str()
        && w.channels.get(parent).is_none_or(|c| c.kind != 4)
    {
        let why = "Category does not exist.";
        return Some(form_error("parent_id", "CHANNEL_PARENT_INVALID", why));
    }
    None
}

fn create_channel(w: &mut World, body: &Value) -> Response {
    let kind = body["type"].as_u64().unwrap_or(0) as u8;
    if body.get("name").is_none() {
        return form_error("name", "BASE_TYPE_REQUIRED", "This field is required");
    }
    if let Some(bad) = check_channel(w, body, kind) {
        return bad;
    }
    let id = w.next_id();
    let ch = Channel {
        name: body["name"].as_str().unwrap_or("").into(),
        kind,
        position: w.channels.len() as u16,
        parent_id: body["parent_id"].as_str().map(String::from),
        topic: body["topic"].as_str().unwrap_or("").into(),
        overwrites: overwrites(&body["permission_overwrites"]),
        ..Default::default()
    };
    let out = channel_json(&id, &ch);
    w.channels.insert(id, ch);
    (StatusCode::CREATED, axum::Json(out)).into_response()
}

fn edit_channel(w: &mut World, cid: &str, body: &Value) -> Response {
    let Some(kind) = w.channels.get(cid).map(|c| c.kind) else {
        return error(404, 10003, "Unknown Channel");
    };
    if let Some(bad) = check_channel(w, body, kind) {
        return bad;
    }
    let ch = w.channels.get_mut(cid).expect("checked above");
    if let Some(name) = body["name"].as_str() {
        ch.name = name.into();
    }
    if let Some(topic) = body.get("topic") {
        ch.topic = topic.as_str().unwrap_or("").into();
    }
    if let Some(parent) = body.get("parent_id") {
        ch.parent_id = parent.as_str().map(String::from);
    }
    if let Some(o) = body.get("permission_overwrites") {
        ch.overwrites = overwrites(o);
    }
    ok(channel_json(cid, ch))
}

fn put_overwrite(w: &mut World, cid: &str, target: &str, body: &Value) -> Response {
    if !w.channels.contains_key(cid) {
        return error(404, 10003, "Unknown Channel");
    }
    let kind = match body["type"].as_u64() {
        Some(1) if !w.users.contains(target) => return error(404, 10013, "Unknown User"),
        // The only role is @everyone, whose id is the guild's.
        Some(0) if target != GUILD => return error(404, 10011, "Unknown Role"),
        Some(kind @ (0 | 1)) => kind as u8,
        _ => return form_error("type", "BASE_TYPE_CHOICES", "Value must be one of {0, 1}."),
    };
    let ch = w.channels.get_mut(cid).expect("checked above");
    ch.overwrites.retain(|o| o.id != target);
    let (allow, deny) = (bits(&body["allow"]), bits(&body["deny"]));
    ch.overwrites.push(Overwrite { id: target.into(), kind, allow, deny });
    StatusCode::NO_CONTENT.into_response()
}

fn post_message(w: &mut World, cid: &str, body: Value, files: Files) -> Response {
    let content = body["content"].as_str().unwrap_or("").to_string();
    if content.chars().count() > MAX_CONTENT {
        let why = "Must be 2000 or fewer in length.";
        return form_error("content", "BASE_TYPE_MAX_LENGTH", why);
    }
    let Some(kind) = w.channels.get(cid).map(|c| c.kind) else {
        return error(404, 10003, "Unknown Channel");
    };
    if kind == 4 {
        return error(400, 50008, "Cannot send messages in a non-text channel");
    }
    let has_embeds = body["embeds"].as_array().is_some_and(|e| !e.is_empty());
    if content.is_empty() && files.is_empty() && !has_embeds {
        return error(400, 50006, "Cannot send an empty message");
    }
    let id = w.next_id();
    let msg = Msg {
        id: id.clone(),
        author: BOT_USER_ID.into(),
        content,
        timestamp: timestamp_of(&id),
        allowed_mentions: body["allowed_mentions"].clone(),
        attachments: files,
        ..Default::default()
    };
    let out = message_json(cid, &msg, false);
    let event = event_message(cid, &msg, false);
    w.channels.get_mut(cid).expect("checked above").messages.push(msg);
    w.dispatch("MESSAGE_CREATE", event);
    ok(out)
}

/// The initial response to an interaction: within 3 s, once.
fn callback(w: &mut World, iid: &str, token: &str, body: Value) -> Response {
    let found = w.issued.iter().position(|i| i.id == iid && i.token == token);
    let Some(i) = found.filter(|i| w.issued[*i].created.elapsed() <= Duration::from_secs(3)) else {
        return error(404, 10062, "Unknown interaction");
    };
    if w.issued[i].acked {
        return error(400, 40060, "Interaction has already been acknowledged.");
    }
    let kind = body["type"].as_u64().unwrap_or(0);
    if !matches!(kind, 4 | 5 | 9) {
        let why = "Value must be one of {4, 5, 9}.";
        return form_error("type", "BASE_TYPE_CHOICES", why);
    }
    let content = body["data"]["content"].as_str().unwrap_or("");
    if content.chars().count() > MAX_CONTENT {
        let why = "Must be 2000 or fewer in length.";
        return form_error("data.content", "BASE_TYPE_MAX_LENGTH", why);
    }
    if kind != 9 {
        let id = w.next_id();
        let public = (body["data"]["flags"].as_u64().unwrap_or(0) & 64) == 0;
        let msg = Msg {
            id: id.clone(),
            author: BOT_USER_ID.into(),
            content: content.into(),
            timestamp: timestamp_of(&id),
            allowed_mentions: body["data"]["allowed_mentions"].clone(),
            ..Default::default()
        };
        let channel = w.issued[i].channel.clone();
        if public && let Some(ch) = w.channels.get_mut(&channel) {
            ch.messages.push(msg.clone());
            w.dispatch("MESSAGE_CREATE", event_message(&channel, &msg, false));
        }
        w.issued[i].original = Some((msg, public));
    }
    w.issued[i].acked = true;
    w.callbacks.push((iid.into(), body));
    StatusCode::NO_CONTENT.into_response()
}

/// Editing the original response; the token works for 15 minutes.
fn edit_original(w: &mut World, app: &str, token: &str, body: Value) -> Response {
    let found = w.issued.iter().position(|i| i.token == token).filter(|_| app == APP_ID);
    let Some(i) = found else { return error(404, 10015, "Unknown Webhook") };
    if w.issued[i].created.elapsed() > Duration::from_secs(15 * 60) {
        return error(401, 50027, "Invalid Webhook Token");
    }
    let content = body["content"].as_str();
    if content.is_some_and(|c| c.chars().count() > MAX_CONTENT) {
        let why = "Must be 2000 or fewer in length.";
        return form_error("content", "BASE_TYPE_MAX_LENGTH", why);
    }
    let channel = w.issued[i].channel.clone();
    // Answered inline over HTTP (the double did not see that), the original is new here.
    let (mut msg, public) = match w.issued[i].original.clone() {
        Some(original) => original,
        None => {
            let id = w.next_id();
            let timestamp = timestamp_of(&id);
            (Msg { id, author: BOT_USER_ID.into(), timestamp, ..Default::default() }, false)
        }
    };
    if let Some(c) = content {
        msg.content = c.into();
    }
    if let Some(mentions) = body.get("allowed_mentions") {
        msg.allowed_mentions = mentions.clone();
    }
    msg.edited_timestamp = Some(now());
    let shown = w
        .channels
        .get_mut(&channel)
        .and_then(|c| c.messages.iter_mut().find(|m| m.id == msg.id && public));
    if let Some(m) = shown {
        *m = msg.clone();
    }
    let mut out = message_json(&channel, &msg, false);
    out["webhook_id"] = json!(APP_ID);
    out["application_id"] = json!(APP_ID);
    out["type"] = json!(20);
    out["flags"] = json!(if public { 0 } else { 64 });
    w.issued[i].original = Some((msg, public));
    w.followups.push((token.into(), body));
    ok(out)
}

/// Bulk overwrite: the list replaces what was there; same-named commands keep their ids.
fn put_commands(w: &mut World, app: &str, guild: &str, body: Value) -> Response {
    if app != APP_ID {
        return error(403, 50001, "Missing Access");
    }
    if guild != GUILD {
        return error(404, 10004, "Unknown Guild");
    }
    let Value::Array(list) = body else {
        return form_error("", "ARRAY_TYPE_CONVERT", "Only iterables may be used");
    };
    let mut out = Vec::new();
    for (n, mut c) in list.into_iter().enumerate() {
        let slash = c["type"].as_u64().unwrap_or(1) == 1;
        if let Some((path, code, why)) = command_problem(&c, &n.to_string(), slash) {
            return form_error(&path, code, why);
        }
        let kind = c["type"].as_u64().unwrap_or(1);
        let same = w.commands.iter().find(|p| p["name"] == c["name"] && p["type"] == kind);
        let id = same.map(|p| p["id"].clone());
        c["id"] = id.unwrap_or_else(|| json!(w.next_id()));
        c["type"] = json!(kind);
        c["application_id"] = json!(APP_ID);
        c["guild_id"] = json!(GUILD);
        c["version"] = json!(w.next_id());
        if c["description"].is_null() {
            c["description"] = json!("");
        }
        out.push(c);
    }
    w.commands = out.clone();
    ok(Value::Array(out))
}

/// Where a body is wrong, Discord's error code for it, and why.
type Problem = (String, &'static str, &'static str);

/// Discord's checks on a command or option: names 1–32 chars (lowercase without spaces for
/// slash commands and options), descriptions 1–100 chars, at most 25 options.
fn command_problem(c: &Value, path: &str, slash: bool) -> Option<Problem> {
    if !c.is_object() {
        return Some((path.into(), "MODEL_TYPE_CONVERT", "Only dictionaries may be used"));
    }
    let name = c["name"].as_str().unwrap_or("");
    let bad_case = slash && (name != name.to_lowercase() || name.contains(' '));
    if !(1..=32).contains(&name.chars().count()) || bad_case {
        return Some((format!("{path}.name"), "APPLICATION_COMMAND_INVALID_NAME", "Invalid name"));
    }
    let described = c["description"].as_str().map_or(0, |d| d.chars().count());
    if slash && !(1..=100).contains(&described) {
        let why = "Must be between 1 and 100 in length.";
        return Some((format!("{path}.description"), "BASE_TYPE_BAD_LENGTH", why));
    }
    let options = c["options"].as_array().map(Vec::as_slice).unwrap_or_default();
    if options.len() > 25 {
        let why = "Must be 25 or fewer in length.";
        return Some((format!("{path}.options"), "BASE_TYPE_MAX_LENGTH", why));
    }
    let mut nested = options.iter().enumerate();
    nested.find_map(|(i, o)| command_problem(o, &format!("{path}.options.{i}"), true))
}

fn overwrites(v: &Value) -> Vec<Overwrite> {
    let list = v.as_array().into_iter().flatten();
    list.map(|o| Overwrite {
        id: o["id"].as_str().map_or_else(|| o["id"].to_string(), String::from),
        kind: o["type"].as_u64().unwrap_or(0) as u8,
        allow: bits(&o["allow"]),
        deny: bits(&o["deny"]),
    })
    .collect()
}

/// A permission bit set sent as a string (as Discord documents) or a number.
fn bits(v: &Value) -> u64 {
    v.as_u64().or_else(|| v.as_str()?.parse().ok()).unwrap_or(0)
}

/// `POST /channels/{channel_id}/messages` → `POST /channels/{}/messages`, so that route keys
/// match whatever the placeholders are called.
fn norm(route: &str) -> String {
    let mut out = String::with_capacity(route.len());
    let mut inside = false;
    for c in route.chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            _ if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = if b[i] == b'%' { b.get(i + 1..i + 3) } else { None };
        let byte = hex.and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match byte {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How many literal segments of `template` match `segs`; None when it does not fit.
fn fits(template: &str, segs: &[String]) -> Option<usize> {
    let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    if parts.len() != segs.len() {
        return None;
    }
    let mut literal = 0;
    for (t, s) in parts.iter().zip(segs) {
        if t.starts_with('{') {
            if s.is_empty() {
                return None;
            }
        } else if t == s {
            literal += 1;
        } else {
            return None;
        }
    }
    Some(literal)
}

fn route_of(method: &str, segs: &[String]) -> Option<(&'static str, Params)> {
    let candidates = ROUTES.iter().copied().filter_map(|r| {
        let (m, template) = r.split_once(' ')?;
        Some((fits(template, segs).filter(|_| m == method)?, r, template))
    });
    let (_, route, template) = candidates.max_by_key(|(literal, _, _)| *literal)?;
    let names = template.trim_start_matches('/').split('/').zip(segs);
    let params = names.filter_map(|(t, s)| {
        Some((t.strip_prefix('{')?.strip_suffix('}')?.to_string(), s.clone()))
    });
    Some((route, params.collect()))
}

fn spec() -> Option<&'static Value> {
    static SPEC: OnceLock<Option<Value>> = OnceLock::new();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/specs/discord-openapi.json");
    let load = || {
        let bytes = std::fs::read(path).ok()?;
        Some(serde_json::from_slice::<Value>(&bytes).expect("the Discord spec is JSON"))
    };
    SPEC.get_or_init(load).as_ref()
}

/// The spec operation for this method and path, preferring literal segments (`@me`).
fn spec_op(spec: &'static Value, method: &str, segs: &[String]) -> Option<&'static Value> {
    let method = method.to_ascii_lowercase();
    let paths = spec["paths"].as_object()?;
    let fitting = paths.iter().filter_map(|(template, ops)| {
        let op = ops.get(method.as_str())?;
        Some((fits(template, segs)?, op))
    });
    fitting.max_by_key(|(literal, _)| *literal).map(|(_, op)| op)
}

/// Properties and required keys of one object a request schema allows.
type Shape = (BTreeSet<String>, BTreeSet<String>);

/// The object shapes a schema allows: one per oneOf/anyOf branch, allOf merged, `$ref` followed.
fn shapes(spec: &Value, schema: &Value, depth: u8) -> Vec<Shape> {
    if depth > 8 {
        return vec![];
    }
    if let Some(target) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
        let resolved = target.split('/').fold(spec, |v, key| &v[key]);
        return shapes(spec, resolved, depth + 1);
    }
    for union in ["oneOf", "anyOf"] {
        if let Some(branches) = schema[union].as_array() {
            return branches.iter().flat_map(|b| shapes(spec, b, depth + 1)).collect();
        }
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut merged: Shape = Default::default();
        for (props, required) in parts.iter().flat_map(|p| shapes(spec, p, depth + 1)) {
            merged.0.extend(props);
            merged.1.extend(required);
        }
        return if merged.0.is_empty() { vec![] } else { vec![merged] };
    }
    let Some(props) = schema["properties"].as_object() else { return vec![] };
    let required = schema["required"].as_array().into_iter().flatten();
    vec![(
        props.keys().cloned().collect(),
        required.filter_map(|r| r.as_str().map(String::from)).collect(),
    )]
}

/// Every top-level body key must be a property, and required ones present, of some shape the
/// operation's JSON schema allows (for array bodies: of each item). Unresolvable: no opinion.
fn check_body(spec: &Value, op: &Value, route: &str, body: &Value) -> Option<String> {
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    let (schema, items): (&Value, Vec<&Value>) = match body {
        Value::Array(list) => (&schema["items"], list.iter().collect()),
        Value::Object(_) => (schema, vec![body]),
        _ => return None,
    };
    let allowed = shapes(spec, schema, 0);
    if allowed.is_empty() {
        return None;
    }
    for item in items {
        let Some(obj) = item.as_object() else { continue };
        let gap = |k: &str| SPEC_GAPS.iter().any(|(r, key)| *r == route && *key == k);
        let keys: BTreeSet<&str> = obj.keys().map(String::as_str).filter(|k| !gap(k)).collect();
        let fit = |(props, required): &Shape| {
            keys.iter().all(|k| props.contains(*k))
                && required.iter().all(|r| keys.contains(r.as_str()))
        };
        if !allowed.iter().any(fit) {
            let unknown: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|k| !allowed.iter().any(|s| s.0.contains(*k)))
                .collect();
            return Some(format!(
                "{route}: body keys {keys:?} fit no request schema (unknown: {unknown:?})"
            ));
        }
    }
    None
}

/// The JSON payload and the files of a body sent as JSON or as multipart/form-data
/// (`payload_json` plus `files[n]` parts).
fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<(Value, Files), String> {
    let ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let boundary = ctype
        .strip_prefix("multipart/form-data")
        .and_then(|rest| rest.split("boundary=").nth(1))
        .map(|b| b.split(';').next().unwrap_or(b).trim().trim_matches('"'));
    let Some(boundary) = boundary else {
        if body.is_empty() {
            return Ok((Value::Null, vec![]));
        }
        let parsed = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
        return Ok((parsed, vec![]));
    };
    let delimiter = format!("--{boundary}");
    let (mut payload, mut files) = (Value::Null, vec![]);
    let mut marks = vec![];
    let mut at = 0;
    while let Some(found) = find(body, delimiter.as_bytes(), at) {
        marks.push(found);
        at = found + delimiter.len();
    }
    for pair in marks.windows(2) {
        let part = &body[pair[0] + delimiter.len()..pair[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(split) = find(part, b"\r\n\r\n", 0) else { continue };
        let head = String::from_utf8_lossy(&part[..split]);
        let content = &part[split + 4..];
        let name = disposition(&head, "name").unwrap_or_default();
        if name == "payload_json" {
            payload = serde_json::from_slice(content)
                .map_err(|e| format!("payload_json is not JSON: {e}"))?;
        } else if let Some(filename) = disposition(&head, "filename") {
            files.push((percent_decode(&filename), content.to_vec()));
        } else if payload.is_null() || payload.is_object() {
            payload[name] = Value::String(String::from_utf8_lossy(content).into_owned());
        }
    }
    Ok((payload, files))
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let at = hay.get(from..)?.windows(needle.len()).position(|w| w == needle)?;
    Some(at + from)
}

/// A parameter of a part's Content-Disposition header, e.g. `filename`.
fn disposition(head: &str, key: &str) -> Option<String> {
    let needle = format!("; {key}=\"");
    let start = head.find(&needle)? + needle.len();
    let end = head[start..].find('"')? + start;
    Some(head[start..end].to_string())
}
