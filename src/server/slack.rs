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

/// 200 when recorded (or nothing to record); 503 otherwise, so Slack retries.
fn recorded(reply: &Reply) -> Response {
    match reply.outcome {
        Outcome::Internal => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        _ => StatusCode::OK.into_response(),
    }
}

fn ctx(user: UserRef, channel: &str, event_id: Option<String>) -> Ctx {
    Ctx { user, channel: ChannelRef::new(Platform::Slack, channel), event_id }
}

fn key(channel: &str, ts: &str) -> MessageKey {
    MessageKey { platform: Platform::Slack, channel: channel.into(), message: ts.into() }
}

async fn commands(State(s): State<ServerState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = check(&s, &headers, &body) {
        return r.into_response();
    }
    let Inbound::Command { user, channel, text } = (match events::parse_command(&body) {
        Ok(i) => i,
        Err(e) => return bad_request(e),
    }) else {
        return StatusCode::OK.into_response();
    };
    let reply = s.app.command(&ctx(user, &channel, None), &text).await;
    axum::Json(json!({"response_type": "ephemeral", "text": mrkdwn(&reply.message)}))
        .into_response()
}

async fn interactions(State(s): State<ServerState>, headers: HeaderMap, body: Bytes) -> Response {
    let slack = match check(&s, &headers, &body) {
        Ok(sl) => sl,
        Err(r) => return r.into_response(),
    };
    let Inbound::Shortcut { user, channel, ts, author, text, files, response_url } =
        (match events::parse_interaction(&body) {
            Ok(i) => i,
            Err(e) => return bad_request(e),
        })
    else {
        return StatusCode::OK.into_response();
    };
    let Some(at) = events::ts_time(&ts) else { return bad_request(format!("bad message ts {ts}")) };
    let link = within(slack.chat.permalink(&channel, &ts)).await.flatten();
    let msg = FlaggedMessage {
        key: key(&channel, &ts),
        author: UserRef::new(Platform::Slack, author),
        text,
        at,
        link,
        files,
    };
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
    recorded(&reply)
}

async fn events_endpoint(
    State(s): State<ServerState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let slack = match check(&s, &headers, &body) {
        Ok(sl) => sl,
        Err(r) => return r.into_response(),
    };
    let inbound = match events::parse_event(&body) {
        Ok(i) => i,
        Err(e) => return bad_request(e),
    };
    match inbound {
        Inbound::UrlVerification { challenge } => {
            axum::Json(json!({ "challenge": challenge })).into_response()
        }
        Inbound::ReactionAdded { event_id, user, channel, ts, reaction }
            if reaction == slack.reaction =>
        {
            flag_by_reaction(&s, &slack, event_id, user, channel, ts).await
        }
        Inbound::ReactionRemoved { event_id, user, channel, ts, reaction }
            if reaction == slack.reaction =>
        {
            let who = UserRef::new(Platform::Slack, user);
            recorded(
                &s.app
                    .unflag(
                        &ctx(who, &channel, Some(event_id)),
                        &key(&channel, &ts),
                        FlagVia::Reaction,
                    )
                    .await,
            )
        }
        Inbound::MessageChanged { event_id, channel, ts, text } => {
            let at = chrono::Utc::now();
            let who = UserRef::new(Platform::Slack, "slack");
            recorded(
                &s.app
                    .message_edited(
                        &ctx(who, &channel, Some(event_id)),
                        &key(&channel, &ts),
                        &text,
                        at,
                    )
                    .await,
            )
        }
        Inbound::MessageDeleted { event_id, channel, ts } => {
            let at = chrono::Utc::now();
            let who = UserRef::new(Platform::Slack, "slack");
            recorded(
                &s.app
                    .message_deleted(&ctx(who, &channel, Some(event_id)), &key(&channel, &ts), at)
                    .await,
            )
        }
        _ => StatusCode::OK.into_response(),
    }
}

/// A 📌 (or the configured reaction) on a message in an incident channel.
async fn flag_by_reaction(
    s: &ServerState,
    slack: &SlackState,
    event_id: String,
    user: String,
    channel: String,
    ts: String,
) -> Response {
    let here = ChannelRef::new(Platform::Slack, channel.clone());
    match s.app.store.incident_in_channel(&here).await {
        Ok(Some(_)) => {}
        Ok(None) => return StatusCode::OK.into_response(),
        Err(e) => {
            warn!(error = %e, "cannot look up the channel; Slack will retry");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    let Some(at) = events::ts_time(&ts) else { return bad_request(format!("bad message ts {ts}")) };
    let fetched = match within(slack.chat.fetch_message(&channel, &ts)).await {
        Some(Ok(Some(m))) => m,
        Some(Ok(None)) => return StatusCode::OK.into_response(),
        Some(Err(e)) => {
            warn!(error = %e, "cannot fetch the flagged message; Slack will retry");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        None => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let link = within(slack.chat.permalink(&channel, &ts)).await.flatten();
    let msg = FlaggedMessage {
        key: key(&channel, &ts),
        author: UserRef::new(Platform::Slack, fetched.user),
        text: fetched.text,
        at,
        link,
        files: fetched.files,
    };
    let who = UserRef::new(Platform::Slack, user);
    recorded(&s.app.flag(&ctx(who, &channel, Some(event_id)), msg, FlagVia::Reaction).await)
}

/// Slack wants an answer within 3 seconds: platform calls in the request path get 2.
async fn within<T>(f: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::time::timeout(Duration::from_secs(2), f).await.ok()
}
