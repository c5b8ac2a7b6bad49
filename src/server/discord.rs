//! Discord's interactions and events, whichever way they arrive: the HTTP
//! endpoint (signature and freshness checked before the body is read) or the
//! gateway. Every interaction is answered within Discord's 3 seconds: inline
//! when the work is quick, deferred and followed up when it is not.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use serenity::interactions_endpoint::Verifier;
use tracing::{error, warn};

use super::ServerState;
use crate::app::{Ctx, Outcome, Reply};
use crate::chat::ChatError;
use crate::chat::discord::client::{Answer, DiscordChat};
use crate::chat::discord::events::{self, Inbound};
use crate::chat::discord::render::markdown;
use crate::command::ParseContext;
use crate::incident::{ChannelRef, FlagVia, FlaggedMessage, MessageKey, Platform, UserRef};

/// Requests signed longer ago (or further ahead) than this are refused.
const FRESHNESS: i64 = 5 * 60;
/// Work that takes longer than this is answered "thinking…" and followed up.
const DEFER_AFTER: Duration = Duration::from_millis(1000);

/// What the Discord handlers need besides the engine.
pub struct DiscordState {
    pub chat: Arc<DiscordChat>,
    /// Present in `interactions = "http"` mode.
    pub verifier: Option<Verifier>,
    /// A Unicode emoji or `name:id`.
    pub reaction: String,
    /// Whether this replica runs the gateway now.
    pub gateway_leader: std::sync::atomic::AtomicBool,
}

pub fn routes() -> Router<ServerState> {
    Router::new().route("/discord/interactions", post(endpoint))
}

fn ctx(user: UserRef, channel: &str, event_id: Option<String>) -> Ctx {
    Ctx { user, channel: ChannelRef::new(Platform::Discord, channel), event_id }
}

pub fn key(channel: &str, message: &str) -> MessageKey {
    MessageKey { platform: Platform::Discord, channel: channel.into(), message: message.into() }
}

/// Checks `X-Signature-Ed25519` over `timestamp || body`, and that the
/// timestamp is within five minutes of now.
fn verified(
    verifier: &Verifier,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), &'static str> {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let (Some(sig), Some(ts)) = (header("x-signature-ed25519"), header("x-signature-timestamp"))
    else {
        return Err("unsigned request");
    };
    let Ok(when) = ts.parse::<i64>() else { return Err("unreadable timestamp") };
    if (now - when).abs() > FRESHNESS {
        return Err("stale request");
    }
    verifier.verify(sig, ts, body).map_err(|()| "bad signature")
}

async fn endpoint(State(s): State<ServerState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(d) = s.discord.clone() else { return StatusCode::NOT_FOUND.into_response() };
    let Some(verifier) = &d.verifier else { return StatusCode::NOT_FOUND.into_response() };
    if let Err(why) = verified(verifier, &headers, &body, Utc::now().timestamp()) {
        warn!(why, "refused a Discord interaction");
        return (StatusCode::UNAUTHORIZED, format!("{why}\n")).into_response();
    }
    let inbound = match events::parse(&body) {
        Ok(i) => i,
        Err(e) => {
            warn!(error = e, "unreadable Discord interaction");
            return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
        }
    };
    axum::Json(answer(&s, &d, inbound).await.to_json()).into_response()
}

/// The interaction's id and token, when it has them.
pub fn ids(inbound: &Inbound) -> Option<(String, String)> {
    match inbound {
        Inbound::Ping => None,
        Inbound::Command { id, token, .. }
        | Inbound::AddToTimeline { id, token, .. }
        | Inbound::Unknown { id, token } => Some((id.clone(), token.clone())),
    }
}

/// The answer to give now. Work still running after [`DEFER_AFTER`] goes on
/// in the background and replaces the "thinking…" answer when it is done.
pub async fn answer(s: &ServerState, d: &Arc<DiscordState>, inbound: Inbound) -> Answer {
    let Some((_, token)) = ids(&inbound) else { return Answer::Pong };
    let mut work = tokio::spawn(run(s.clone(), d.clone(), inbound));
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
    const MAX: usize = crate::chat::discord::render::MAX_CONTENT;
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
async fn run(s: ServerState, d: Arc<DiscordState>, inbound: Inbound) -> String {
    let reply = match inbound {
        Inbound::Command { id, user, channel, subcommand, options, .. } => {
            let c = ctx(user, &channel, Some(format!("discord:{id}")));
            let pc = ParseContext {
                rules: &s.app.rules,
                teams: s.app.team_names(),
                platform: Platform::Discord,
            };
            match crate::command::from_options(&subcommand, &options, &pc) {
                Ok(inv) => s.app.invoke(&c, inv).await,
                Err(e) => Reply::from_failure(e.into(), "parse"),
            }
        }
        Inbound::AddToTimeline { id, user, channel, message, fetched, .. } => {
            let msg = FlaggedMessage {
                key: key(&channel, &message),
                author: fetched.author,
                text: fetched.content,
                at: fetched.at,
                link: Some(d.chat.jump_link(&channel, &message)),
                files: fetched.files,
            };
            s.app
                .flag(&ctx(user, &channel, Some(format!("discord:{id}"))), msg, FlagVia::Action)
                .await
        }
        Inbound::Unknown { .. } | Inbound::Ping => {
            return "tocsin does not know that one; try `/incident help`.".into();
        }
    };
    fit(markdown(&reply.message))
}

/// A gateway event's handling: recorded (or nothing to record), or try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    Recorded,
    Retry,
}

impl Handled {
    fn from_reply(reply: &Reply) -> Self {
        if reply.outcome == Outcome::Internal { Handled::Retry } else { Handled::Recorded }
    }
}

/// A gateway event, in tocsin's terms.
#[derive(Debug, Clone)]
pub enum Event {
    ReactionAdded {
        user: String,
        channel: String,
        message: String,
        emoji: String,
    },
    ReactionRemoved {
        user: String,
        channel: String,
        message: String,
        emoji: String,
    },
    Edited {
        channel: String,
        message: String,
        content: String,
        at: DateTime<Utc>,
    },
    Deleted {
        channel: String,
        message: String,
    },
    /// A moderator cleared the message's reactions (all, or every one of an emoji).
    ReactionsCleared {
        channel: String,
        message: String,
        emoji: Option<String>,
    },
}

/// Handles a gateway event, retrying for a few minutes: the gateway does not
/// deliver an event twice, so a database or API blip must not drop it.
pub async fn on_event(s: &ServerState, d: &DiscordState, event: Event) {
    retrying("a Discord event", || async {
        match handle_event(s, d, &event).await {
            Handled::Recorded => Ok(()),
            Handled::Retry => Err(format!("{event:?}")),
        }
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

async fn handle_event(s: &ServerState, d: &DiscordState, event: &Event) -> Handled {
    let who = |u: &str| UserRef::new(Platform::Discord, u);
    let system = UserRef::new(Platform::Discord, "discord");
    match event {
        Event::ReactionAdded { user, channel, message, emoji } if *emoji == d.reaction => {
            flag_by_reaction(s, d, user, channel, message).await
        }
        Event::ReactionRemoved { user, channel, message, emoji } if *emoji == d.reaction => {
            let reply = s
                .app
                .unflag(&ctx(who(user), channel, None), &key(channel, message), FlagVia::Reaction)
                .await;
            Handled::from_reply(&reply)
        }
        Event::Edited { channel, message, content, at } => Handled::from_reply(
            &s.app
                .message_edited(&ctx(system, channel, None), &key(channel, message), content, *at)
                .await,
        ),
        Event::ReactionsCleared { channel, message, emoji } => {
            if emoji.as_ref().is_some_and(|e| *e != d.reaction) {
                return Handled::Recorded;
            }
            let key = key(channel, message);
            let entry = match s.app.store.entry(&key).await {
                Ok(e) => e,
                Err(e) => {
                    warn!(error = %e, "cannot read the entry of a cleared message");
                    return Handled::Retry;
                }
            };
            let flaggers: Vec<UserRef> = entry
                .into_iter()
                .flat_map(|e| e.value.flags)
                .filter(|f| f.via == FlagVia::Reaction)
                .map(|f| f.user)
                .collect();
            for user in flaggers {
                let reply = s.app.unflag(&ctx(user, channel, None), &key, FlagVia::Reaction).await;
                if Handled::from_reply(&reply) == Handled::Retry {
                    return Handled::Retry;
                }
            }
            Handled::Recorded
        }
        Event::Deleted { channel, message } => Handled::from_reply(
            &s.app
                .message_deleted(&ctx(system, channel, None), &key(channel, message), Utc::now())
                .await,
        ),
        _ => Handled::Recorded,
    }
}

/// The configured reaction on a message in an incident channel: fetch the
/// message (its text, time and files) and check the reaction is still there.
async fn flag_by_reaction(
    s: &ServerState,
    d: &DiscordState,
    user: &str,
    channel: &str,
    message: &str,
) -> Handled {
    match s.app.store.incident_in_channel(&ChannelRef::new(Platform::Discord, channel)).await {
        Ok(Some(_)) => {}
        Ok(None) => return Handled::Recorded,
        Err(e) => {
            warn!(error = %e, "cannot look up the channel");
            return Handled::Retry;
        }
    }
    let (fetched, present) = tokio::join!(
        d.chat.fetch_message(channel, message),
        d.chat.has_reacted(channel, message, &d.reaction, user)
    );
    let fetched = match (fetched, present) {
        (Ok(Some(f)), Ok(true)) => f,
        (Ok(_), Ok(_)) => return Handled::Recorded,
        (Err(ChatError::Rejected(r)), _) | (_, Err(ChatError::Rejected(r))) => {
            warn!(reason = r, channel, message, "Discord refused to show the flagged message");
            return Handled::Recorded;
        }
        (Err(e), _) | (_, Err(e)) => {
            warn!(error = %e, "cannot fetch the flagged message");
            return Handled::Retry;
        }
    };
    let msg = FlaggedMessage {
        key: key(channel, message),
        author: fetched.author,
        text: fetched.content,
        at: fetched.at,
        link: Some(d.chat.jump_link(channel, message)),
        files: fetched.files,
    };
    let c = ctx(UserRef::new(Platform::Discord, user), channel, None);
    let handled = Handled::from_reply(&s.app.flag(&c, msg, FlagVia::Reaction).await);
    // A removal handled while this flag was on its way found nothing to
    // take off: look again now that the flag is recorded.
    if handled == Handled::Recorded
        && let Ok(false) = d.chat.has_reacted(channel, message, &d.reaction, user).await
    {
        let c = ctx(UserRef::new(Platform::Discord, user), channel, None);
        s.app.unflag(&c, &key(channel, message), FlagVia::Reaction).await;
    }
    handled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_answer_is_cut_to_one_discord_message() {
        assert_eq!(fit("é".repeat(2500)).chars().count(), 2000);
        assert_eq!(fit("short".into()), "short");
    }

    #[test]
    fn a_stale_or_unsigned_request_is_refused_before_the_signature_is_checked() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        let verifier = Verifier::try_new(key.to_bytes()).unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(verified(&verifier, &h, b"{}", 1_000), Err("unsigned request"));
        h.insert("x-signature-ed25519", "00".parse().unwrap());
        h.insert("x-signature-timestamp", "600".parse().unwrap());
        assert_eq!(verified(&verifier, &h, b"{}", 1_000), Err("stale request"));
        assert_eq!(verified(&verifier, &h, b"{}", 700), Err("bad signature"));
    }
}
