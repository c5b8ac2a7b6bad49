//! Slack's endpoints: every request's signature is checked before its body is
//! parsed (401 and nothing changes otherwise); what it asks becomes an
//! `Inbound` for the engine; commands are answered inline and ephemerally,
//! slow work goes through the outbox.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use tracing::warn;

use super::client::SlackChat;
use super::envelope;
use super::events::{self, Request, Shortcut};
use super::lookups::Lookups;
use super::render::mrkdwn;
use super::source::SlackSource;
use super::verify;
use crate::app::{App, Ctx, Event, Inbound, MessageSource};
use crate::chat::names::Names;
use crate::incident::{
    ChannelRef, FlagVia, FlaggedMessage, Message, MessageKey, Platform, UserRef,
};

/// What the Slack endpoints and Socket Mode share.
pub struct SlackState {
    pub app: Arc<App>,
    pub signing_secret: String,
    pub chat: Arc<SlackChat>,
    /// The reaction name that flags a message, without colons.
    pub reaction: String,
}

impl SlackState {
    /// How the engine reads messages flagged by reaction on Slack.
    pub fn source(
        chat: Arc<SlackChat>,
        lookups: Arc<Lookups>,
        reaction: &str,
    ) -> Arc<dyn MessageSource> {
        Arc::new(SlackSource {
            chat,
            lookups,
            reaction: reaction.to_string(),
            names: Names::default(),
        })
    }
}

pub fn routes(state: Arc<SlackState>) -> Router {
    Router::new()
        .route("/slack/commands", post(commands))
        .route("/slack/interactions", post(interactions))
        .route("/slack/events", post(events_endpoint))
        .with_state(state)
}

/// Slack wants an answer within 3 seconds; past this, "working on it".
const ANSWER_WITHIN: Duration = Duration::from_millis(2_500);

/// Checks the signature before anything reads the body.
fn check(slack: &SlackState, headers: &HeaderMap, body: &[u8]) -> Result<(), verify::VerifyError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    verify::verify(
        &slack.signing_secret,
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        body,
        now,
    )
    .inspect_err(|e| warn!(reason = %e, "refused a Slack request"))
}

fn bad_request(why: String) -> Response {
    warn!(why, "unreadable Slack request");
    (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response()
}

fn ctx(user: UserRef, channel: &str, event_id: Option<String>) -> Ctx {
    Ctx { user, channel: ChannelRef::new(Platform::Slack, channel), event_id }
}

fn key(channel: &str, ts: &str) -> MessageKey {
    MessageKey { platform: Platform::Slack, channel: channel.into(), message: ts.into() }
}

/// What handling one Slack request came to.
pub enum Handled {
    /// Answer the person, ephemerally.
    Reply(Message),
    Challenge(String),
    /// The request's effect is recorded (or there was nothing to record).
    Recorded,
    /// It could not be recorded now; Slack should deliver it again.
    Retry,
}

impl Handled {
    fn recorded(recorded: bool) -> Self {
        if recorded { Handled::Recorded } else { Handled::Retry }
    }

    fn into_response(self) -> Response {
        match self {
            Handled::Reply(m) => {
                axum::Json(json!({"response_type": "ephemeral", "text": mrkdwn(&m)}))
                    .into_response()
            }
            Handled::Challenge(c) => axum::Json(json!({ "challenge": c })).into_response(),
            Handled::Recorded => StatusCode::OK.into_response(),
            Handled::Retry => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
}

/// The engine's event for a Slack request, or what to answer without one.
fn inbound(slack: &SlackState, request: Request) -> Result<Inbound, Handled> {
    let system = || UserRef::new(Platform::Slack, "slack");
    let (c, event) = match request {
        Request::Command { user, channel, text, trigger_id, .. } => {
            let id = trigger_id.map(|t| format!("slack:command:{t}"));
            return Ok(Inbound::command(ctx(user, &channel, id), text));
        }
        Request::UrlVerification { challenge } => return Err(Handled::Challenge(challenge)),
        Request::ReactionAdded { event_id, user, channel, ts, reaction }
            if reaction == slack.reaction =>
        {
            let who = UserRef::new(Platform::Slack, user);
            let event =
                Event::Flag { key: key(&channel, &ts), via: FlagVia::Reaction, message: None };
            (ctx(who, &channel, Some(event_id)), event)
        }
        Request::ReactionRemoved { event_id, user, channel, ts, reaction }
            if reaction == slack.reaction =>
        {
            let who = UserRef::new(Platform::Slack, user);
            (
                ctx(who, &channel, Some(event_id)),
                Event::Unflag { key: key(&channel, &ts), via: FlagVia::Reaction },
            )
        }
        Request::MessageChanged { event_id, channel, ts, text, edited } => {
            let at = edited.unwrap_or_else(chrono::Utc::now);
            let event = Event::Edited { key: key(&channel, &ts), text, at };
            (ctx(system(), &channel, Some(event_id)), event)
        }
        Request::MessageDeleted { event_id, channel, ts } => {
            let event = Event::Deleted { key: key(&channel, &ts), at: chrono::Utc::now() };
            (ctx(system(), &channel, Some(event_id)), event)
        }
        _ => return Err(Handled::Recorded),
    };
    Ok(Inbound::new(c, event))
}

/// Acts on one request, whichever way it came (HTTP or Socket Mode).
pub async fn handle(slack: &SlackState, request: Request) -> Handled {
    if let Request::Shortcut(s) = request {
        return shortcut(slack, s).await;
    }
    let response_url = match &request {
        Request::Command { response_url, .. } => Some(response_url.clone()),
        _ => None,
    };
    match (inbound(slack, request), response_url) {
        (Ok(command), Some(url)) => Handled::Reply(answer_within(slack, command, url).await),
        (Ok(event), None) => Handled::recorded(slack.app.handle(event).await.recorded()),
        (Err(handled), _) => handled,
    }
}

/// What the person sees when a command outlasts Slack's 3 seconds.
pub const WORKING: &str = "Working on it… the answer will follow here.";

/// Runs a command; answers with its result when it is done within
/// [`ANSWER_WITHIN`], otherwise "working on it" now and the result through
/// the response_url when it is done (Slack drops an answer after 3 s).
async fn answer_within(slack: &SlackState, command: Inbound, url: Option<String>) -> Message {
    let app = slack.app.clone();
    let mut work = tokio::spawn(async move { app.handle(command).await });
    match tokio::time::timeout(ANSWER_WITHIN, &mut work).await {
        Ok(done) => done.map(|r| r.message).unwrap_or_else(|e| crashed(&e)),
        Err(_) => {
            let chat = slack.chat.clone();
            tokio::spawn(async move {
                let reply = work.await.map(|r| r.message).unwrap_or_else(|e| crashed(&e));
                let Some(url) = url else {
                    warn!("a slow command has no response_url to answer on");
                    return;
                };
                // A response_url takes five answers within 30 minutes: try a few times.
                let mut pause = Duration::from_millis(500);
                for _ in 0..4 {
                    match chat.respond(&url, mrkdwn(&reply)).await {
                        Ok(()) => return,
                        Err(e) => warn!(error = %e, "could not answer on the response_url"),
                    }
                    tokio::time::sleep(pause).await; // backoff between answers
                    pause *= 4;
                }
            });
            Message::new().plain(WORKING)
        }
    }
}

fn crashed(e: &tokio::task::JoinError) -> Message {
    tracing::error!(error = %e, "a Slack command handler crashed");
    Message::new().plain("Sorry, something went wrong on tocsin's side; it has been logged.")
}

/// The "Add to timeline" shortcut: the message comes with it; its link is
/// made (or, while the workspace's address is unknown, asked for within a
/// deadline) and the answer goes to the response_url.
async fn shortcut(slack: &SlackState, s: Shortcut) -> Handled {
    let Shortcut { user, channel, ts, thread_ts, author, text, files, response_url } = s;
    let Some(at) = events::ts_time(&ts) else {
        warn!(ts, "a shortcut on a message with an unreadable ts");
        return Handled::Recorded;
    };
    let link = tokio::time::timeout(
        Duration::from_secs(2),
        slack.chat.permalink(&channel, &ts, thread_ts.as_deref()),
    )
    .await
    .ok()
    .flatten();
    let author = UserRef::new(Platform::Slack, author);
    let message = FlaggedMessage { key: key(&channel, &ts), author, text, at, link, files };
    let event =
        Event::Flag { key: message.key.clone(), via: FlagVia::Action, message: Some(message) };
    let reply = slack.app.handle(Inbound::new(ctx(user, &channel, None), event)).await;
    if let Some(url) = response_url {
        // The person who used the shortcut sees the answer; the flag is recorded already.
        let (chat, text) = (slack.chat.clone(), mrkdwn(&reply.message));
        tokio::spawn(async move {
            if let Err(e) = chat.respond(&url, text).await {
                warn!(error = %e, "could not answer on the response_url");
            }
        });
    }
    Handled::recorded(reply.recorded())
}

/// Verifies, parses with `parse`, handles.
async fn endpoint(
    slack: Arc<SlackState>,
    headers: HeaderMap,
    body: Bytes,
    parse: fn(&[u8]) -> Result<Request, String>,
) -> Response {
    if let Err(e) = check(&slack, &headers, &body) {
        return (StatusCode::UNAUTHORIZED, format!("{e}\n")).into_response();
    }
    match parse(&body) {
        Ok(request) => handle(&slack, request).await.into_response(),
        Err(e) => bad_request(e),
    }
}

async fn commands(State(s): State<Arc<SlackState>>, headers: HeaderMap, body: Bytes) -> Response {
    endpoint(s, headers, body, events::parse_command).await
}

async fn interactions(
    State(s): State<Arc<SlackState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    endpoint(s, headers, body, events::parse_interaction).await
}

async fn events_endpoint(
    State(s): State<Arc<SlackState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    endpoint(s, headers, body, envelope::parse_event).await
}
