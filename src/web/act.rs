//! Acting from the web: each form becomes the same event a chat command or
//! message would, for the signed-in person, through [`App::handle`]. The
//! form's token is checked first; its nonce is the event id, so a form sent
//! twice (a double click, a reload) acts once.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::session::{Viewer, viewer};
use super::{WebState, harden, message};
use crate::app::{CommandInput, Ctx, Event, Inbound, Outcome, Reply};
use crate::command::OptionValue;
use crate::incident::room::room_key;
use crate::incident::{ChannelRef, FlagVia, FlaggedMessage, Incident, Platform};

type Fields = HashMap<String, String>;

/// The viewer of a form post and the incident it acts on, once the
/// session and the form's token check out.
async fn checked(
    s: &WebState,
    id: &str,
    headers: &HeaderMap,
    f: &Fields,
) -> Result<(Viewer, Incident), Response> {
    let who = viewer(s, &Method::POST, "", headers).await?;
    if !who.csrf_ok(f.get("csrf").map_or("", String::as_str)) {
        tracing::info!("a web form without its session's token was refused");
        return Err(message(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form did not carry this session's token; reload the page and try again.",
        ));
    }
    let inc = s.visible(id, &who).await?;
    Ok((who, inc))
}

/// The event context of the viewer acting on `inc`; the form's nonce, when
/// it looks like one, makes the event id.
fn ctx(who: &Viewer, inc: &Incident, f: &Fields) -> Ctx {
    let nonce = f.get("nonce").filter(|n| {
        (8..=80).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    Ctx {
        user: who.person.clone(),
        channel: ChannelRef::new(inc.platform, ""),
        event_id: nonce.map(|n| format!("web:{n}")),
    }
}

/// Back to the incident, with what happened: the note is signed for this
/// session, so a crafted link cannot show anyone a made-up one.
fn back(who: &Viewer, inc: &Incident, ok: bool, said: &str) -> Response {
    let key = if ok { "ok" } else { "error" };
    let sig = who.flash_sig(said);
    let said: String = url::form_urlencoded::byte_serialize(said.as_bytes()).collect();
    harden(Redirect::to(&format!("/incidents/{}?{key}={said}&sig={sig}", inc.id)).into_response())
}

fn answered(who: &Viewer, inc: &Incident, reply: &Reply) -> Response {
    back(who, inc, reply.outcome == Outcome::Done, &reply.message.to_plain())
}

/// A form's `platform:id` person, as a user option on the incident's platform.
fn person(inc: &Incident, value: &str) -> Result<OptionValue, String> {
    let (platform, id) = value.split_once(':').ok_or("pick someone from the list")?;
    if Platform::parse(platform) != Some(inc.platform) || id.is_empty() {
        return Err(format!("{} runs on {}; pick someone from there", inc.id, inc.platform));
    }
    let name = inc.responders.iter().find(|r| r.user.id == id).and_then(|r| r.user.name.clone());
    Ok(OptionValue::User { id: id.to_string(), name })
}

/// The subcommand and options a form stands for.
fn command(inc: &Incident, f: &Fields) -> Result<(String, Vec<(String, OptionValue)>), String> {
    let text = |k: &str| OptionValue::Text(f.get(k).cloned().unwrap_or_default());
    let mut options = vec![("incident".to_string(), OptionValue::Text(inc.id.label()))];
    let mut add = |k: &str, v: OptionValue| options.push((k.to_string(), v));
    let what = f.get("do").map_or("", String::as_str);
    match what {
        "update" => {
            add("status", text("status"));
            add("message", text("message"));
        }
        "severity" => add("level", text("level")),
        "role" => {
            add("role", text("role"));
            add("user", person(inc, f.get("user").map_or("", String::as_str))?);
        }
        "note" => add("text", text("text")),
        "followup" => {
            add("text", text("text"));
            if let Some(owner) = f.get("owner").filter(|o| !o.is_empty()) {
                add("owner", person(inc, owner)?);
            }
        }
        "resolve" => add("message", text("message")),
        "publish" => add("message", text("message")),
        "impact" => {
            add("level", text("level"));
            add("component", text("component"));
        }
        "ack" => {}
        _ => return Err("that is not something the page offers".into()),
    }
    Ok((what.to_string(), options))
}

pub async fn act(
    State(s): State<Arc<WebState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let (who, inc) = match checked(&s, &id, &headers, &f).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (subcommand, options) = match command(&inc, &f) {
        Ok(c) => c,
        Err(why) => return back(&who, &inc, false, &why),
    };
    let event = Event::Command(CommandInput::Options { subcommand, options });
    let reply = s.app.handle(Inbound::new(ctx(&who, &inc, &f), event)).await;
    answered(&who, &inc, &reply)
}

pub async fn say(
    State(s): State<Arc<WebState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let (who, inc) = match checked(&s, &id, &headers, &f).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let text = f.get("text").cloned().unwrap_or_default();
    let event = Event::Say { incident: inc.id, text };
    let reply = s.app.handle(Inbound::new(ctx(&who, &inc, &f), event)).await;
    if reply.outcome == Outcome::Done {
        // Back to the room, not to a notice.
        return harden(Redirect::to(&format!("/incidents/{}#room-h", inc.id)).into_response());
    }
    answered(&who, &inc, &reply)
}

pub async fn flag(
    State(s): State<Arc<WebState>>,
    Path((id, message_id)): Path<(String, i64)>,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let (who, inc) = match checked(&s, &id, &headers, &f).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let m = match s.app.store.room_message(message_id).await {
        Ok(Some(m)) if m.incident == inc.id => m,
        Ok(_) => return message(StatusCode::NOT_FOUND, "Not found", "There is no such message."),
        Err(e) => return super::pages::unavailable(e),
    };
    let key = room_key(inc.id, m.id);
    let flagged = FlaggedMessage {
        key: key.clone(),
        author: m.author.clone(),
        text: m.text.clone(),
        at: m.at,
        link: Some(format!("{}/incidents/{}#m-{}", s.app.web_base(), inc.id, m.id)),
        files: Vec::new(),
    };
    let event = Event::Flag { key, via: FlagVia::Action, message: Some(flagged) };
    let ctx = Ctx { event_id: None, ..ctx(&who, &inc, &f) };
    let ctx = Ctx { channel: ChannelRef::new(Platform::Web, inc.id.label()), ..ctx };
    let reply = s.app.handle(Inbound::new(ctx, event)).await;
    answered(&who, &inc, &reply)
}
