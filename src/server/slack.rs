//! Slack's endpoints: every request's signature is checked before its body is
//! parsed (401 and nothing changes otherwise); commands are answered inline
//! and ephemerally; slow work goes through the outbox.

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

use super::ServerState;
use crate::app::{Ctx, Outcome, Reply};
use crate::chat::slack::client::SlackChat;
use crate::chat::slack::events::{self, Inbound};
use crate::chat::slack::render::mrkdwn;
use crate::chat::slack::verify;
use crate::incident::{ChannelRef, FlagVia, FlaggedMessage, MessageKey, Platform, UserRef};

/// What the Slack endpoints need besides the engine.
pub struct SlackState {
    pub signing_secret: String,
    pub chat: Arc<SlackChat>,
    /// The reaction name that flags a message, without colons.
    pub reaction: String,
}

pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/slack/commands", post(commands))
        .route("/slack/interactions", post(interactions))
        .route("/slack/events", post(events_endpoint))
}

/// Why a request was turned away before its body was read.
enum Refused {
    NotEnabled,
    Unsigned(verify::VerifyError),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::NotEnabled => StatusCode::NOT_FOUND.into_response(),
            Refused::Unsigned(e) => (StatusCode::UNAUTHORIZED, format!("{e}\n")).into_response(),
        }
    }
}

/// Checks the signature before anything reads the body.
fn check(s: &ServerState, headers: &HeaderMap, body: &[u8]) -> Result<Arc<SlackState>, Refused> {
    let Some(slack) = s.slack.clone() else { return Err(Refused::NotEnabled) };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    match verify::verify(
        &slack.signing_secret,
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        body,
        now,
    ) {
        Ok(()) => Ok(slack),
        Err(e) => {
            warn!(reason = %e, "refused a Slack request");
            Err(Refused::Unsigned(e))
        }
    }
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

/// What handling one inbound Slack request came to.
pub enum Handled {
    /// Answer the person, ephemerally.
    Reply(crate::chat::Message),
    Challenge(String),
    /// The request's effect is recorded (or there was nothing to record).
    Recorded,
    /// It could not be recorded now; Slack should deliver it again.
    Retry,
}

impl Handled {
    fn from_reply(reply: &Reply) -> Self {
        if reply.outcome == Outcome::Internal { Handled::Retry } else { Handled::Recorded }
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

/// Acts on one inbound request, whichever way it came (HTTP or Socket Mode).
pub async fn handle(s: &ServerState, slack: &SlackState, inbound: Inbound) -> Handled {
    match inbound {
        Inbound::Command { user, channel, text } => {
            Handled::Reply(s.app.command(&ctx(user, &channel, None), &text).await.message)
        }
        Inbound::UrlVerification { challenge } => Handled::Challenge(challenge),
        Inbound::Shortcut { user, channel, ts, author, text, files, response_url } => {
            let Some(at) = events::ts_time(&ts) else {
                warn!(ts, "a shortcut on a message with an unreadable ts");
                return Handled::Recorded;
            };
            let link = within(slack.chat.permalink(&channel, &ts)).await.flatten();
            let author = UserRef::new(Platform::Slack, author);
            let msg = FlaggedMessage { key: key(&channel, &ts), author, text, at, link, files };
            let reply = s.app.flag(&ctx(user, &channel, None), msg, FlagVia::Action).await;
            if let Some(url) = response_url {
                // The person who used the shortcut sees the answer; the flag is recorded already.
                let (chat, text) = (slack.chat.clone(), mrkdwn(&reply.message));
                tokio::spawn(async move {
                    if let Err(e) = chat.respond(&url, text).await {
                        warn!(error = %e, "could not answer on the response_url");
                    }
                });
            }
            Handled::from_reply(&reply)
        }
        Inbound::ReactionAdded { event_id, user, channel, ts, reaction }
            if reaction == slack.reaction =>
        {
            flag_by_reaction(s, slack, event_id, user, channel, ts).await
        }
        Inbound::ReactionRemoved { event_id, user, channel, ts, reaction }
            if reaction == slack.reaction =>
        {
            let who = UserRef::new(Platform::Slack, user);
            let reply = s
                .app
                .unflag(&ctx(who, &channel, Some(event_id)), &key(&channel, &ts), FlagVia::Reaction)
                .await;
            Handled::from_reply(&reply)
        }
        Inbound::MessageChanged { event_id, channel, ts, text } => {
            let who = UserRef::new(Platform::Slack, "slack");
            let c = ctx(who, &channel, Some(event_id));
            Handled::from_reply(
                &s.app.message_edited(&c, &key(&channel, &ts), &text, chrono::Utc::now()).await,
            )
        }
        Inbound::MessageDeleted { event_id, channel, ts } => {
            let who = UserRef::new(Platform::Slack, "slack");
            let c = ctx(who, &channel, Some(event_id));
            Handled::from_reply(
                &s.app.message_deleted(&c, &key(&channel, &ts), chrono::Utc::now()).await,
            )
        }
        _ => Handled::Recorded,
    }
}

/// Verifies, parses with `parse`, handles.
async fn endpoint(
    s: ServerState,
    headers: HeaderMap,
    body: Bytes,
    parse: fn(&[u8]) -> Result<Inbound, String>,
) -> Response {
    let slack = match check(&s, &headers, &body) {
        Ok(sl) => sl,
        Err(r) => return r.into_response(),
    };
    match parse(&body) {
        Ok(inbound) => handle(&s, &slack, inbound).await.into_response(),
        Err(e) => bad_request(e),
    }
}

async fn commands(State(s): State<ServerState>, headers: HeaderMap, body: Bytes) -> Response {
    endpoint(s, headers, body, events::parse_command).await
}

async fn interactions(State(s): State<ServerState>, headers: HeaderMap, body: Bytes) -> Response {
    endpoint(s, headers, body, events::parse_interaction).await
}

async fn events_endpoint(
    State(s): State<ServerState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    endpoint(s, headers, body, events::parse_event).await
}

/// A 📌 (or the configured reaction) on a message in an incident channel.
async fn flag_by_reaction(
    s: &ServerState,
    slack: &SlackState,
    event_id: String,
    user: String,
    channel: String,
    ts: String,
) -> Handled {
    let here = ChannelRef::new(Platform::Slack, channel.clone());
    match s.app.store.incident_in_channel(&here).await {
        Ok(Some(_)) => {}
        Ok(None) => return Handled::Recorded,
        Err(e) => {
            warn!(error = %e, "cannot look up the channel; Slack will retry");
            return Handled::Retry;
        }
    }
    let Some(at) = events::ts_time(&ts) else {
        warn!(ts, "a reaction on a message with an unreadable ts");
        return Handled::Recorded;
    };
    // The message and its link at once, within one deadline.
    let both = async {
        tokio::join!(slack.chat.fetch_message(&channel, &ts), slack.chat.permalink(&channel, &ts))
    };
    let (fetched, link) = match within(both).await {
        Some((Ok(Some(m)), link)) => (m, link),
        Some((Ok(None), _)) => return Handled::Recorded,
        Some((Err(e), _)) => {
            warn!(error = %e, "cannot fetch the flagged message; Slack will retry");
            return Handled::Retry;
        }
        None => {
            warn!("fetching the flagged message took too long; Slack will retry");
            return Handled::Retry;
        }
    };
    // The reaction may have been removed before this event was handled (or
    // before Slack's retry of it): only a reaction that is still there flags.
    if !fetched.has_reaction(&slack.reaction, &user) {
        tracing::debug!(channel, ts, user, "the reaction is gone; nothing to flag");
        return Handled::Recorded;
    }
    let msg = FlaggedMessage {
        key: key(&channel, &ts),
        author: UserRef::new(Platform::Slack, fetched.user),
        text: fetched.text,
        at,
        link,
        files: fetched.files,
    };
    let who = UserRef::new(Platform::Slack, user.clone());
    let handled = Handled::from_reply(
        &s.app.flag(&ctx(who.clone(), &channel, Some(event_id)), msg, FlagVia::Reaction).await,
    );
    // A reaction_removed handled while this flag was on its way found nothing
    // to take off: look again now that the flag is recorded.
    // It runs after the answer, so Slack's 3 seconds are not spent on it.
    if matches!(handled, Handled::Recorded) {
        let (app, chat, reaction) = (s.app.clone(), slack.chat.clone(), slack.reaction.clone());
        tokio::spawn(async move {
            if let Some(Ok(Some(now))) = within(chat.fetch_message(&channel, &ts)).await
                && !now.has_reaction(&reaction, &user)
            {
                app.unflag(&ctx(who, &channel, None), &key(&channel, &ts), FlagVia::Reaction).await;
            }
        });
    }
    handled
}

/// Slack wants an answer within 3 seconds: platform calls in a request's path
/// get 2 in all, leaving room for the database.
async fn within<T>(f: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::time::timeout(Duration::from_secs(2), f).await.ok()
}
