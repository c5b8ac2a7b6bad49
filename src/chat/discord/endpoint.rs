//! Discord's interactions, whichever way they arrive: the HTTP endpoint
//! (signature and freshness checked before the body is read) or the gateway.
//! Every interaction is answered within Discord's 3 seconds: inline when the
//! work is quick, deferred and followed up when it is not.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use serenity::interactions_endpoint::Verifier;
use tracing::{error, warn};

use super::client::{Answer, DiscordChat};
use super::events::{self, Interaction};
use super::render::markdown;
use super::source::DiscordSource;
use super::verify::verified;
use crate::app::{App, CommandInput, Ctx, Event, Inbound, MessageSource};
use crate::incident::{ChannelRef, FlagVia, FlaggedMessage, MessageKey, Platform, UserRef};
use crate::outbox::ChatError;

/// Work that takes longer than this is answered "thinking…" and followed up.
const DEFER_AFTER: Duration = Duration::from_millis(1000);

/// What the Discord endpoint and gateway share.
pub struct DiscordState {
    pub app: Arc<App>,
    pub chat: Arc<DiscordChat>,
    /// Present in `interactions = "http"` mode.
    pub verifier: Option<Verifier>,
    /// A Unicode emoji or `name:id`.
    pub reaction: String,
    /// Whether this replica runs the gateway now.
    pub gateway_leader: AtomicBool,
}

impl DiscordState {
    /// How the engine reads messages flagged by reaction on Discord.
    pub fn source(chat: Arc<DiscordChat>, reaction: &str) -> Arc<dyn MessageSource> {
        Arc::new(DiscordSource { chat, reaction: reaction.to_string() })
    }

    /// This replica's part in `/metrics`.
    pub fn metrics(&self, out: &mut String) {
        let leads = u8::from(self.gateway_leader.load(Ordering::Relaxed));
        out.push_str(&format!(
            "# HELP tocsin_discord_gateway_leader Whether this replica runs the Discord gateway (1) or another does (0).\n\
             # TYPE tocsin_discord_gateway_leader gauge\ntocsin_discord_gateway_leader {leads}\n"
        ));
    }
}

/// `POST /discord/interactions`, for `interactions = "http"`.
pub fn routes(state: Arc<DiscordState>) -> Router {
    Router::new().route("/discord/interactions", post(endpoint)).with_state(state)
}

pub(super) fn ctx(user: UserRef, channel: &str, event_id: Option<String>) -> Ctx {
    Ctx { user, channel: ChannelRef::new(Platform::Discord, channel), event_id }
}

pub fn key(channel: &str, message: &str) -> MessageKey {
    MessageKey { platform: Platform::Discord, channel: channel.into(), message: message.into() }
}

async fn endpoint(State(d): State<Arc<DiscordState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(verifier) = &d.verifier else { return StatusCode::NOT_FOUND.into_response() };
    if let Err(why) = verified(verifier, &headers, &body, Utc::now().timestamp()) {
        warn!(why, "refused a Discord interaction");
        return (StatusCode::UNAUTHORIZED, format!("{why}\n")).into_response();
    }
    let interaction = match events::parse(&body) {
        Ok(i) => i,
        Err(e) => {
            warn!(error = e, "unreadable Discord interaction");
            return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
        }
    };
    axum::Json(answer(&d, interaction).await.to_json()).into_response()
}

/// The interaction's id and token, when it has them.
pub fn ids(interaction: &Interaction) -> Option<(String, String)> {
    match interaction {
        Interaction::Ping => None,
        Interaction::Command { id, token, .. }
        | Interaction::AddToTimeline { id, token, .. }
        | Interaction::Unknown { id, token } => Some((id.clone(), token.clone())),
    }
}

/// The answer to give now. Work still running after [`DEFER_AFTER`] goes on
/// in the background and replaces the "thinking…" answer when it is done.
pub async fn answer(d: &Arc<DiscordState>, interaction: Interaction) -> Answer {
    let Some((_, token)) = ids(&interaction) else { return Answer::Pong };
    let mut work = tokio::spawn(run(d.clone(), interaction));
    match tokio::time::timeout(DEFER_AFTER, &mut work).await {
        Ok(done) => Answer::Say(done.unwrap_or_else(|e| crashed(&e))),
        Err(_) => {
            let chat = d.chat.clone();
            tokio::spawn(async move {
                let content = work.await.unwrap_or_else(|e| crashed(&e));
                // Follow-ups work for 15 minutes; try for a few of them.
                retrying("a deferred interaction answer", || async {
                    match chat.follow_up(&token, &content).await {
                        Ok(()) => Ok(()),
                        // A 404 can mean the deferral has not reached Discord yet.
                        Err(ChatError::Rejected(r)) if !r.starts_with("Discord 404") => {
                            warn!(reason = r, "Discord refused a follow-up; giving up on it");
                            Ok(())
                        }
                        Err(e) => Err(e.to_string()),
                    }
                })
                .await;
            });
            Answer::Defer
        }
    }
}

/// An answer fits in one Discord message (2,000 characters).
fn fit(mut content: String) -> String {
    const MAX: usize = super::render::MAX_CONTENT;
    if let Some((cut, _)) = content.char_indices().nth(MAX - 1) {
        content.truncate(cut);
        content.push('…');
    }
    content
}

fn crashed(e: &tokio::task::JoinError) -> String {
    error!(error = %e, "a Discord interaction handler crashed");
    "Sorry, something went wrong on tocsin's side; it has been logged.".into()
}

/// Does what the interaction asks; returns what to tell the person.
async fn run(d: Arc<DiscordState>, interaction: Interaction) -> String {
    let inbound = match interaction {
        Interaction::Command { id, user, channel, subcommand, options, .. } => Inbound::new(
            ctx(user, &channel, Some(format!("discord:{id}"))),
            Event::Command(CommandInput::Options { subcommand, options }),
        ),
        Interaction::AddToTimeline { id, user, channel, message, fetched, .. } => {
            let message = FlaggedMessage {
                key: key(&channel, &message),
                author: fetched.author,
                text: fetched.content,
                at: fetched.at,
                link: Some(d.chat.jump_link(&channel, &message)),
                files: fetched.files,
            };
            let event = Event::Flag {
                key: message.key.clone(),
                via: FlagVia::Action,
                message: Some(message),
            };
            Inbound::new(ctx(user, &channel, Some(format!("discord:{id}"))), event)
        }
        Interaction::Unknown { .. } | Interaction::Ping => {
            return "tocsin does not know that one; try `/incident help`.".into();
        }
    };
    fit(markdown(&d.app.handle(inbound).await.message))
}

/// Hands a gateway event to the engine, retrying for a few minutes: the
/// gateway does not deliver an event twice, so a database or API blip must
/// not drop it.
pub async fn on_event(d: &DiscordState, inbound: Inbound) {
    let what = format!("{:?}", inbound.event);
    retrying("a Discord event", || async {
        if d.app.handle(inbound.clone()).await.recorded() { Ok(()) } else { Err(what.clone()) }
    })
    .await;
}

async fn retrying<F, Fut>(what: &str, mut attempt: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut wait = Duration::from_millis(250);
    for n in 1..=12 {
        match attempt().await {
            Ok(()) => return,
            Err(e) => {
                warn!(what, attempt = n, error = e, "will try again");
                tokio::time::sleep(wait).await; // backoff between attempts
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    }
    error!(what, "gave up after 12 attempts");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_answer_is_cut_to_one_discord_message() {
        assert_eq!(fit("é".repeat(2500)).chars().count(), 2000);
        assert_eq!(fit("short".into()), "short");
    }
}
