//! Socket Mode: with `slack.app_token` set, tocsin opens a websocket to Slack
//! and receives the same commands, shortcuts and events over it, so no public
//! URL is needed. They go through the same `handle` as HTTP; an event that
//! cannot be recorded is not acknowledged, so Slack delivers it again.

use std::sync::Arc;

use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tracing::warn;

use super::client::connector;
use super::endpoint::{Handled, SlackState, handle};
use super::envelope;
use super::events::{self, Request};
use super::render::mrkdwn;
use crate::incident::{Platform, UserRef};

#[derive(Clone)]
struct Shared {
    slack: Arc<SlackState>,
}

pub type Listener = SlackClientSocketModeListener<SlackClientHyperHttpsConnector>;

/// Connects (through `apps.connections.open`) and starts receiving.
pub async fn start(
    app_token: &str,
    api_base_url: &str,
    slack: Arc<SlackState>,
) -> Result<Listener, SlackClientError> {
    let client = Arc::new(SlackClient::new(connector(api_base_url)));
    let env = Arc::new(
        SlackClientEventsListenerEnvironment::new(client)
            .with_user_state(Shared { slack })
            .with_error_handler(not_recorded),
    );
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_command_events(on_command)
        .with_interaction_events(on_interaction)
        .with_push_events(on_push);
    let listener =
        SlackClientSocketModeListener::new(&SlackClientSocketModeConfig::new(), env, callbacks);
    listener.listen_for(&SlackApiToken::new(SlackApiTokenValue::new(app_token.into()))).await?;
    listener.start().await;
    Ok(listener)
}

/// A callback failed: leave the envelope unacknowledged so Slack redelivers it.
fn not_recorded(
    err: Box<dyn std::error::Error + Send + Sync>,
    _client: Arc<SlackHyperClient>,
    _states: SlackClientEventsUserState,
) -> axum::http::StatusCode {
    warn!(error = %err, "a Socket Mode request was not recorded; Slack will deliver it again");
    axum::http::StatusCode::INTERNAL_SERVER_ERROR
}

#[derive(Debug)]
struct Unrecorded;

impl std::fmt::Display for Unrecorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("could not be recorded now")
    }
}

impl std::error::Error for Unrecorded {}

async fn shared(states: &SlackClientEventsUserState) -> Shared {
    states.read().await.get_user_state::<Shared>().cloned().expect("the listener carries its state")
}

async fn dispatch(
    states: &SlackClientEventsUserState,
    request: Request,
) -> UserCallbackResult<Handled> {
    let sh = shared(states).await;
    match handle(&sh.slack, request).await {
        Handled::Retry => Err(Box::new(Unrecorded)),
        other => Ok(other),
    }
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let request = Request::Command {
        user: UserRef::new(Platform::Slack, event.user_id.to_string()),
        channel: event.channel_id.to_string(),
        // Decoded as over HTTP: the record keeps what the person typed.
        text: events::unescape(&event.text.unwrap_or_default()),
        trigger_id: Some(event.trigger_id.to_string()),
        response_url: Some(event.response_url.0.to_string()),
    };
    let text = match dispatch(&states, request).await? {
        Handled::Reply(m) => mrkdwn(&m),
        _ => String::new(),
    };
    Ok(SlackCommandEventResponse::new(SlackMessageContent::new().with_text(text))
        .with_response_type(SlackMessageResponseType::Ephemeral))
}

async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let request = events::interaction_json(&serde_json::to_value(&event)?)
        .map_err(|e| Box::new(BadPayload(e)))?;
    dispatch(&states, request).await.map(|_| ())
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let mut v = serde_json::to_value(&event)?;
    v["type"] = serde_json::json!("event_callback");
    let request = envelope::event_json(&v).map_err(|e| Box::new(BadPayload(e)))?;
    dispatch(&states, request).await.map(|_| ())
}

#[derive(Debug)]
struct BadPayload(String);

impl std::fmt::Display for BadPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unreadable Socket Mode payload: {}", self.0)
    }
}

impl std::error::Error for BadPayload {}
