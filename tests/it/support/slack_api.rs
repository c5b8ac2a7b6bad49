//! A local double of the Slack Web API on 127.0.0.1: keeps channels, members,
//! messages, pins and files; answers with Slack's shapes and errors; checks
//! every call against the official spec (../shared/specs) when it is present.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde_json::{Map, Value, json};

/// Methods the 2020 spec predates; their docs are followed instead.
/// Socket Mode (apps.connections.open) came in 2021.
/// The bot's own user id in the double's workspace.
pub const BOT_USER: &str = "UTOCSIN";

const NEWER_THAN_SPEC: &[&str] =
    &["files.getUploadURLExternal", "files.completeUploadExternal", "apps.connections.open"];

#[derive(Debug, Clone)]
pub enum Failure {
    /// An HTTP status with no Slack body (5xx from a load balancer).
    Status(u16),
    /// 429 with Retry-After in seconds.
    RateLimited(u64),
    /// `{"ok": false, "error": code}`.
    Api(&'static str),
    /// The call takes effect, then the answer is lost: this status comes back instead.
    AfterApplying(u16),
    /// No failure: the call waits until the test lets it go, then is carried out.
    Held(Arc<tokio::sync::Notify>),
}

#[derive(Debug, Clone, Default)]
pub struct Channel {
    pub name: String,
    pub private: bool,
    /// Who created it: the bot ("UTOCSIN") or, for channels that were there, nobody.
    pub creator: String,
    pub topic: String,
    pub purpose: String,
    pub members: Vec<String>,
    /// (ts, text, user, thread_ts), in ts order: every ts comes from one counter.
    pub messages: Vec<(String, String, String, Option<String>)>,
    /// By message ts: (reaction, user).
    pub reactions: BTreeMap<String, Vec<(String, String)>>,
    /// Message ts → index in `messages`.
    by_ts: HashMap<String, usize>,
    /// Thread ts → indexes of its replies.
    replies: HashMap<String, Vec<usize>>,
    pub pins: Vec<String>,
    pub archived: bool,
}

#[derive(Debug, Clone, Default)]
pub struct File {
    pub title: String,
    pub comment: String,
    pub channel: String,
    pub content: Vec<u8>,
}

#[derive(Default)]
struct Workspace {
    channels: BTreeMap<String, Channel>,
    files: BTreeMap<String, File>,
    /// Users that exist; inviting anyone else fails with user_not_found.
    users: BTreeSet<String>,
    failures: BTreeMap<String, VecDeque<Failure>>,
    violations: Vec<String>,
    calls: Vec<String>,
    responses: Vec<String>,
    /// Open Socket Mode connections.
    sockets: Vec<tokio::sync::mpsc::UnboundedSender<String>>,
    /// Acknowledgements received: (envelope_id, payload).
    acks: Vec<(String, Value)>,
    next: u64,
    /// Where this workspace's channel ids start: Slack never hands out one
    /// id twice, so two doubles in one process (a restart on the same
    /// database) must not either.
    channel_base: u64,
    /// Slack's 1 message per second per channel, when on.
    post_interval: Option<Duration>,
    post_times: HashMap<String, Vec<Instant>>,
    rate_limited: usize,
}

#[derive(Clone)]
pub struct SlackApi {
    pub addr: SocketAddr,
    ws: Arc<Mutex<Workspace>>,
}

struct Shared {
    ws: Arc<Mutex<Workspace>>,
    spec: Option<Value>,
    addr: SocketAddr,
    socket_addr: SocketAddr,
}

impl SlackApi {
    /// Starts the double with these channels (id → name) and users.
    pub async fn start(channels: &[(&str, &str)], users: &[&str]) -> Self {
        static WORKSPACES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let mut ws = Workspace {
            channel_base: WORKSPACES.fetch_add(1, std::sync::atomic::Ordering::Relaxed) * 100_000,
            ..Workspace::default()
        };
        for (id, name) in channels {
            ws.channels
                .insert(id.to_string(), Channel { name: name.to_string(), ..Default::default() });
        }
        ws.users = users.iter().map(|u| u.to_string()).collect();
        let ws = Arc::new(Mutex::new(ws));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let spec_path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/specs/slack-web-openapi-v2.json");
        let spec = std::fs::read(spec_path)
            .ok()
            .map(|b| serde_json::from_slice(&b).expect("spec is JSON"));
        let sockets = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let socket_addr = sockets.local_addr().unwrap();
        tokio::spawn(accept_sockets(sockets, ws.clone()));
        let shared = Arc::new(Shared { ws: ws.clone(), spec, addr, socket_addr });
        let app = Router::new()
            .route("/api/{method}", any(api))
            .route("/upload/{file}", post(upload))
            .route("/respond/{id}", post(respond))
            .with_state(shared);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, ws }
    }

    /// What the bot's `api_base_url` should be.
    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    pub fn fail(&self, method: &str, failures: impl IntoIterator<Item = Failure>) {
        self.ws.lock().unwrap().failures.entry(method.into()).or_default().extend(failures);
    }

    /// A channel someone (not the bot) made.
    pub fn make_channel(&self, id: &str, name: &str, creator: &str) {
        let ch = Channel { name: name.into(), creator: creator.into(), ..Default::default() };
        self.ws.lock().unwrap().channels.insert(id.into(), ch);
    }

    pub fn channel(&self, id: &str) -> Option<Channel> {
        self.ws.lock().unwrap().channels.get(id).cloned()
    }

    pub fn channel_named(&self, name: &str) -> Option<(String, Channel)> {
        let ws = self.ws.lock().unwrap();
        ws.channels.iter().find(|(_, c)| c.name == name).map(|(id, c)| (id.clone(), c.clone()))
    }

    pub fn texts(&self, id: &str) -> Vec<String> {
        self.channel(id).map(|c| c.messages.into_iter().map(|m| m.1).collect()).unwrap_or_default()
    }

    /// Someone posts in a channel (in a thread when `thread` is given); returns the ts.
    pub fn say(&self, channel: &str, user: &str, text: &str, thread: Option<&str>) -> String {
        let mut ws = self.ws.lock().unwrap();
        ws.next += 1;
        let ts = format!("1700000000.{:06}", ws.next);
        let ch = ws.channels.get_mut(channel).expect("channel exists");
        ch.by_ts.insert(ts.clone(), ch.messages.len());
        if let Some(t) = thread {
            ch.replies.entry(t.to_string()).or_default().push(ch.messages.len());
        }
        ch.messages.push((ts.clone(), text.into(), user.into(), thread.map(String::from)));
        ts
    }

    /// Someone adds a reaction to a message (the event is sent separately).
    pub fn react(&self, channel: &str, ts: &str, reaction: &str, user: &str) {
        let mut ws = self.ws.lock().unwrap();
        let ch = ws.channels.get_mut(channel).expect("channel exists");
        ch.reactions.entry(ts.into()).or_default().push((reaction.into(), user.into()));
    }

    /// Someone takes a reaction back.
    pub fn unreact(&self, channel: &str, ts: &str, reaction: &str, user: &str) {
        let mut ws = self.ws.lock().unwrap();
        let ch = ws.channels.get_mut(channel).expect("channel exists");
        if let Some(rs) = ch.reactions.get_mut(ts) {
            rs.retain(|r| !(r.0 == reaction && r.1 == user));
        }
    }

    /// Someone edits a message.
    pub fn edit(&self, channel: &str, ts: &str, text: &str) {
        let mut ws = self.ws.lock().unwrap();
        let ch = ws.channels.get_mut(channel).expect("channel exists");
        let i = *ch.by_ts.get(ts).expect("message exists");
        ch.messages[i].1 = text.into();
    }

    /// Enforces Slack's limit on chat.postMessage: `per_second` posts per
    /// second per channel, 429 with Retry-After beyond it.
    pub fn limit_posts_per_channel(&self, per_second: u32) {
        self.ws.lock().unwrap().post_interval = Some(Duration::from_secs(1) / per_second.max(1));
    }

    /// How many 429s the per-channel limit has served.
    pub fn rate_limited(&self) -> usize {
        self.ws.lock().unwrap().rate_limited
    }

    /// When each accepted post reached a channel (with the limit on).
    pub fn post_times(&self, channel: &str) -> Vec<Instant> {
        self.ws.lock().unwrap().post_times.get(channel).cloned().unwrap_or_default()
    }

    /// How many Socket Mode connections are open.
    pub fn sockets(&self) -> usize {
        self.ws.lock().unwrap().sockets.iter().filter(|s| !s.is_closed()).count()
    }

    /// Sends a Socket Mode envelope on an open connection; returns its id.
    pub fn push(&self, kind: &str, payload: Value) -> String {
        let mut ws = self.ws.lock().unwrap();
        ws.next += 1;
        let id = format!("env-{}", ws.next);
        let frame = json!({"envelope_id": id, "type": kind, "payload": payload, "accepts_response_payload": kind == "slash_commands"});
        let open =
            ws.sockets.iter().find(|s| !s.is_closed()).expect("a Socket Mode connection is open");
        open.send(frame.to_string()).unwrap();
        id
    }

    /// The acknowledgement of an envelope, when it came.
    pub fn ack(&self, envelope_id: &str) -> Option<Value> {
        let ws = self.ws.lock().unwrap();
        ws.acks.iter().find(|(id, _)| id == envelope_id).map(|(_, p)| p.clone())
    }

    /// What was posted to response_urls.
    pub fn responses(&self) -> Vec<String> {
        self.ws.lock().unwrap().responses.clone()
    }

    pub fn response_url(&self) -> String {
        format!("http://{}/respond/1", self.addr)
    }

    pub fn files(&self) -> Vec<File> {
        self.ws.lock().unwrap().files.values().cloned().collect()
    }

    pub fn calls(&self, method: &str) -> usize {
        self.ws.lock().unwrap().calls.iter().filter(|c| *c == method).count()
    }

    /// Spec violations seen so far; tests assert there are none.
    pub fn violations(&self) -> Vec<String> {
        self.ws.lock().unwrap().violations.clone()
    }
}

fn ok(mut body: Value) -> Response {
    body["ok"] = json!(true);
    axum::Json(body).into_response()
}

fn error(code: &str) -> Response {
    axum::Json(json!({"ok": false, "error": code})).into_response()
}

/// Query, form and JSON parameters, merged.
fn params(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Map<String, Value> {
    let mut out = Map::new();
    let mut form = |s: &str| {
        for (k, v) in url::form_urlencoded::parse(s.as_bytes()) {
            out.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    };
    if let Some(q) = query {
        form(q);
    }
    let ctype = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if ctype.starts_with("application/x-www-form-urlencoded") {
        form(std::str::from_utf8(body).unwrap_or(""));
    } else if ctype.starts_with("application/json")
        && let Ok(Value::Object(m)) = serde_json::from_slice(body)
    {
        out.extend(m);
    }
    out
}

fn check_spec(spec: &Value, method: &str, p: &Map<String, Value>, authed: bool) -> Option<String> {
    if NEWER_THAN_SPEC.contains(&method) {
        return None;
    }
    let Some(ops) = spec["paths"].get(format!("/{method}")) else {
        return Some(format!("{method}: no such method in the Web API spec"));
    };
    for op in ops.as_object().into_iter().flat_map(|o| o.values()) {
        for param in op["parameters"].as_array().into_iter().flatten() {
            if param["required"] != json!(true) {
                continue;
            }
            let name = param["name"].as_str().unwrap_or("");
            let present = if name == "token" {
                authed || p.contains_key("token")
            } else {
                p.contains_key(name)
            };
            if !present {
                return Some(format!("{method}: required argument {name} missing"));
            }
        }
    }
    None
}

/// A message as the Web API shows it, with its reactions.
fn as_shown(ch: &Channel, m: &(String, String, String, Option<String>)) -> Value {
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in ch.reactions.get(&m.0).into_iter().flatten() {
        by_name.entry(&r.0).or_default().push(&r.1);
    }
    let reactions: Vec<Value> = by_name
        .into_iter()
        .map(|(name, users)| json!({"name": name, "count": users.len(), "users": users}))
        .collect();
    json!({"type": "message", "ts": m.0, "text": m.1, "user": m.2, "thread_ts": m.3, "reactions": reactions})
}

/// A ts in time order: its seconds, then its fraction read as microseconds.
fn ts_order(ts: &str) -> (u64, u64) {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, ""));
    let frac = format!("{frac:0<6}");
    (secs.parse().unwrap_or(0), frac.get(..6).and_then(|f| f.parse().ok()).unwrap_or(0))
}

fn str_param<'a>(p: &'a Map<String, Value>, k: &str) -> &'a str {
    p.get(k).and_then(Value::as_str).unwrap_or("")
}

async fn api(
    State(s): State<Arc<Shared>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = params(query.as_deref(), &headers, &body);
    let token_kind =
        if method == "apps.connections.open" { "Bearer xapp-" } else { "Bearer xoxb-" };
    let authed = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(token_kind));
    // A held call waits with the workspace unlocked, then is carried out.
    let gate = {
        let mut ws = s.ws.lock().unwrap();
        ws.calls.push(method.clone());
        if !authed {
            ws.violations.push(format!("{method}: no bot token sent"));
            return error("not_authed");
        }
        if let Some(v) = s.spec.as_ref().and_then(|spec| check_spec(spec, &method, &p, authed)) {
            ws.violations.push(v);
            return error("invalid_arguments");
        }
        match ws.failures.get_mut(&method).and_then(VecDeque::pop_front) {
            None => return apply(&s, &mut ws, &method, &p),
            Some(Failure::Held(gate)) => gate,
            Some(Failure::Status(code)) => {
                return StatusCode::from_u16(code).unwrap().into_response();
            }
            Some(Failure::RateLimited(secs)) => {
                return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", secs.to_string())], "")
                    .into_response();
            }
            Some(Failure::Api(code)) => return error(code),
            Some(Failure::AfterApplying(code)) => {
                drop(apply(&s, &mut ws, &method, &p));
                return StatusCode::from_u16(code).unwrap().into_response();
            }
        }
    };
    gate.notified().await;
    apply(&s, &mut s.ws.lock().unwrap(), &method, &p)
}

/// Carries out a method on the workspace and answers as Slack does.
fn apply(s: &Shared, ws: &mut Workspace, method: &str, p: &Map<String, Value>) -> Response {
    let p = p.clone();
    ws.next += 1;
    let n = ws.next;
    let channel_id = str_param(&p, "channel").to_string();
    if method == "chat.postMessage"
        && let Some(every) = ws.post_interval
    {
        let now = Instant::now();
        let times = ws.post_times.entry(channel_id.clone()).or_default();
        if times.last().is_some_and(|t| now.duration_since(*t) < every) {
            ws.rate_limited += 1;
            return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "").into_response();
        }
        times.push(now);
    }
    match method {
        "auth.test" => ok(json!({
            "url": "https://tocsin-test.slack.com/", "team": "Test", "user": "tocsin",
            "team_id": "T1", "user_id": BOT_USER, "bot_id": "B1"
        })),
        "users.info" => {
            let id = str_param(&p, "user");
            if !ws.users.iter().any(|u| u == id) {
                return error("user_not_found");
            }
            ok(json!({"user": {
                "id": id, "team_id": "T1", "name": id.to_lowercase(), "real_name": display_name(id),
                "deleted": false, "is_bot": false,
                "profile": {"display_name": display_name(id), "real_name": display_name(id)},
            }}))
        }
        "conversations.list" => {
            let channels: Vec<Value> = ws
                .channels
                .iter()
                .filter(|(_, c)| !c.archived || str_param(&p, "exclude_archived") != "true")
                .map(|(id, c)| {
                    json!({
                        "id": id, "name": c.name, "is_channel": !c.private, "is_private": c.private,
                        "is_archived": c.archived, "created": 1_700_000_000, "creator": c.creator,
                    })
                })
                .collect();
            ok(json!({"channels": channels, "response_metadata": {"next_cursor": ""}}))
        }
        "conversations.create" => {
            let name = str_param(&p, "name").to_string();
            if ws.channels.values().any(|c| c.name == name) {
                return error("name_taken");
            }
            let private = p.get("is_private").is_some_and(|v| v == &json!(true) || v == "true");
            let id = format!("C{:08}", ws.channel_base + n);
            let ch = Channel {
                name: name.clone(),
                private,
                creator: BOT_USER.into(),
                ..Default::default()
            };
            ws.channels.insert(id.clone(), ch);
            ok(
                json!({"channel": {"id": id, "name": name, "created": 1_700_000_000 + n, "is_private": private}}),
            )
        }
        "conversations.setTopic"
        | "conversations.setPurpose"
        | "conversations.invite"
        | "pins.add"
        | "conversations.archive"
        | "chat.postMessage" => {
            let Some(ch) = ws.channels.get_mut(&channel_id) else {
                return error("channel_not_found");
            };
            if ch.archived {
                return error("is_archived");
            }
            match method {
                "conversations.setTopic" => ch.topic = str_param(&p, "topic").into(),
                "conversations.setPurpose" => ch.purpose = str_param(&p, "purpose").into(),
                "pins.add" => ch.pins.push(str_param(&p, "timestamp").into()),
                "conversations.archive" => ch.archived = true,
                "chat.postMessage" => {
                    let ts = format!("1700000000.{n:06}");
                    ch.by_ts.insert(ts.clone(), ch.messages.len());
                    ch.messages.push((
                        ts.clone(),
                        str_param(&p, "text").into(),
                        "UTOCSIN".into(),
                        None,
                    ));
                    return ok(
                        json!({"channel": channel_id, "ts": ts, "message": {"ts": ts, "text": str_param(&p, "text")}}),
                    );
                }
                _ => {
                    let users: Vec<String> = match p.get("users") {
                        Some(Value::Array(a)) => {
                            a.iter().filter_map(|v| v.as_str().map(String::from)).collect()
                        }
                        Some(Value::String(s)) => s.split(',').map(String::from).collect(),
                        _ => vec![],
                    };
                    let known = ws.users.clone();
                    let ch = ws.channels.get_mut(&channel_id).unwrap();
                    if users.iter().any(|u| !known.contains(u)) {
                        return error("user_not_found");
                    }
                    if users.iter().all(|u| ch.members.contains(u)) {
                        return error("already_in_channel");
                    }
                    for u in users {
                        if !ch.members.contains(&u) {
                            ch.members.push(u);
                        }
                    }
                }
            }
            ok(json!({"channel": {"id": channel_id, "created": 1_700_000_000}}))
        }
        "apps.connections.open" => ok(json!({"url": format!("ws://{}/link", s.socket_addr)})),
        "conversations.replies" => {
            let Some(ch) = ws.channels.get(&channel_id) else { return error("channel_not_found") };
            let ts = str_param(&p, "ts");
            let parent = ch.by_ts.get(ts).map(|i| &ch.messages[*i]);
            let replies = ch.replies.get(ts).into_iter().flatten().map(|i| &ch.messages[*i]);
            let found: Vec<Value> =
                parent.into_iter().chain(replies).map(|m| as_shown(ch, m)).collect();
            if found.is_empty() {
                return error("thread_not_found");
            }
            ok(json!({"messages": found, "has_more": false}))
        }
        "conversations.history" => {
            let Some(ch) = ws.channels.get(&channel_id) else { return error("channel_not_found") };
            let stamp = |k: &str| {
                p.get(k)
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), String::from))
                    .map(|t| ts_order(&t))
            };
            let (oldest, latest) = (stamp("oldest"), stamp("latest"));
            let inclusive = matches!(p.get("inclusive"), Some(v) if v == "true" || v == "1" || v == &json!(true));
            let limit = p
                .get("limit")
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
                .unwrap_or(100) as usize;
            let after =
                |t: &(u64, u64)| oldest.as_ref().is_none_or(|o| t > o || (inclusive && t == o));
            let before =
                |t: &(u64, u64)| latest.as_ref().is_none_or(|l| t < l || (inclusive && t == l));
            // Messages are kept in ts order: from the newest in the span
            // back, a thread's replies left in their thread, as in Slack.
            let end = ch.messages.partition_point(|m| before(&ts_order(&m.0)));
            let mut found: Vec<Value> = ch.messages[..end]
                .iter()
                .rev()
                .take_while(|m| after(&ts_order(&m.0)))
                .filter(|m| m.3.as_ref().is_none_or(|t| *t == m.0))
                .take(limit + 1)
                .map(|m| as_shown(ch, m))
                .collect();
            let has_more = found.len() > limit;
            found.truncate(limit);
            ok(
                json!({"messages": found, "has_more": has_more, "pin_count": ch.pins.len(), "channel_actions_ts": null, "channel_actions_count": 0}),
            )
        }
        "chat.getPermalink" => {
            let ts = str_param(&p, "message_ts");
            let mut link = format!(
                "https://tocsin-test.slack.com/archives/{channel_id}/p{}",
                ts.replace('.', "")
            );
            // A reply's link opens its thread, as Slack's does.
            let thread = ws.channels.get(&channel_id).and_then(|ch| {
                ch.by_ts.get(ts).and_then(|i| ch.messages[*i].3.clone()).filter(|t| t != ts)
            });
            if let Some(thread) = thread {
                link += &format!("?thread_ts={thread}&cid={channel_id}");
            }
            ok(json!({"channel": channel_id, "permalink": link}))
        }
        "files.getUploadURLExternal" => {
            let id = format!("F{n:08}");
            ws.files.insert(id.clone(), File::default());
            ok(json!({"upload_url": format!("http://{}/upload/{id}", s.addr), "file_id": id}))
        }
        "files.completeUploadExternal" => {
            let files = p.get("files").cloned().unwrap_or_default();
            let files: Vec<Value> = match files {
                Value::String(s) => serde_json::from_str(&s).unwrap_or_default(),
                Value::Array(a) => a,
                _ => vec![],
            };
            let target = str_param(&p, "channel_id").to_string();
            if !ws.channels.contains_key(&target) {
                return error("channel_not_found");
            }
            for f in &files {
                let id = f["id"].as_str().unwrap_or("");
                let Some(file) = ws.files.get_mut(id) else { return error("file_not_found") };
                file.title = f["title"].as_str().unwrap_or("").into();
                file.comment = str_param(&p, "initial_comment").into();
                file.channel = target.clone();
            }
            ok(json!({"files": files}))
        }
        other => {
            ws.violations.push(format!("{other}: the double does not implement this method"));
            error("unknown_method")
        }
    }
}

async fn upload(State(s): State<Arc<Shared>>, Path(file): Path<String>, body: Bytes) -> Response {
    let mut ws = s.ws.lock().unwrap();
    match ws.files.get_mut(&file) {
        Some(f) => {
            f.content = body.to_vec();
            (StatusCode::OK, "OK - uploaded").into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn respond(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let text: Value = serde_json::from_slice(&body).unwrap_or_default();
    s.ws.lock().unwrap().responses.push(text["text"].as_str().unwrap_or("").to_string());
    ok(json!({}))
}

/// Socket Mode: each connection gets `hello`, then whatever tests push; acks are recorded.
async fn accept_sockets(listener: tokio::net::TcpListener, ws: Arc<Mutex<Workspace>>) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as Frame;
    while let Ok((tcp, _)) = listener.accept().await {
        let ws = ws.clone();
        tokio::spawn(async move {
            let Ok(conn) = tokio_tungstenite::accept_async(tcp).await else { return };
            let (mut sink, mut stream) = conn.split();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
            let hello = json!({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}, "debug_info": {"host": "double"}});
            tx.send(hello.to_string()).unwrap();
            ws.lock().unwrap().sockets.push(tx);
            let writer = tokio::spawn(async move {
                while let Some(text) = rx.recv().await {
                    if sink.send(Frame::Text(text.into())).await.is_err() {
                        break;
                    }
                }
            });
            while let Some(Ok(frame)) = stream.next().await {
                if let Frame::Text(text) = frame {
                    let v: Value = serde_json::from_str(&text).unwrap_or_default();
                    if let Some(id) = v["envelope_id"].as_str() {
                        ws.lock().unwrap().acks.push((id.to_string(), v["payload"].clone()));
                    }
                }
            }
            writer.abort();
        });
    }
}

/// How the double's workspace names a person: `UALICE` is "Alice".
pub fn display_name(id: &str) -> String {
    let name = id.strip_prefix('U').unwrap_or(id).to_lowercase();
    let mut chars = name.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
