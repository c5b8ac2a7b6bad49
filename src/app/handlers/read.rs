//! Handlers that read the record: roles, timeline, status, list, help.

use crate::command::{Args, help, spec};
use crate::incident::{EntryState, Incident, Message, Status};

use super::super::{App, Ctx, Failure};

pub(super) async fn roles(app: &App, inc: Option<Incident>) -> Result<Message, Failure> {
    let inc = inc.ok_or_else(missing)?;
    let mut m = Message::new().plain(format!("Roles in {}:", inc.id));
    for r in &app.rules.roles {
        m = m.line().plain(format!("• {}: ", r.name));
        m = match inc.holder(&r.key) {
            Some(u) => m.user(u),
            None => m.plain("vacant"),
        };
        m = m.plain(format!(" — {} (`role {} @someone`)", r.description, r.key));
    }
    Ok(m)
}

pub(super) async fn timeline(app: &App, inc: Option<Incident>) -> Result<Message, Failure> {
    const SHOWN: usize = 25;
    let inc = inc.ok_or_else(missing)?;
    let entries: Vec<_> =
        app.store.timeline(inc.id).await?.into_iter().filter(|e| e.is_visible()).collect();
    let noun = if entries.len() == 1 { "entry" } else { "entries" };
    let mut m = Message::new().plain(format!("Timeline of {} ({} {noun}", inc.id, entries.len()));
    if entries.len() > SHOWN {
        m = m.plain(format!(", latest {SHOWN} shown; `postmortem` has them all"));
    }
    m = m.plain("):");
    for e in entries.iter().skip(entries.len().saturating_sub(SHOWN)) {
        m = m.line().plain(format!("{} ", e.at.format("%H:%M"))).user(&e.author).plain(": ");
        m = if e.state == EntryState::Deleted {
            m.plain("(message deleted)")
        } else {
            m.text(&e.text)
        };
    }
    Ok(m)
}

/// One incident at a glance, or the list when the command names none.
pub(super) async fn status(
    app: &App,
    ctx: &Ctx,
    inc: Option<Incident>,
) -> Result<Message, Failure> {
    let Some(inc) = inc else { return list(app, ctx).await };
    let mut m = Message::new()
        .plain(format!("{} · {} · {} · ", inc.id, inc.severity, inc.status.title()))
        .strong(&inc.title)
        .plain(" · ")
        .channel(inc.id)
        .line()
        .plain(format!("Declared {} · Commander: ", inc.declared_at.format("%Y-%m-%d %H:%M UTC")));
    m = match inc.holder("commander") {
        Some(u) => m.user(u),
        None => m.plain("vacant"),
    };
    let n = inc.responders.len();
    m = m.plain(format!(" · {n} responder{}", if n == 1 { "" } else { "s" })).line();
    m = match &inc.acknowledged {
        Some(a) => m.plain("Acknowledged by ").user(&a.by).plain(format!(
            " at {} ({} after declaring)",
            a.at.format("%H:%M UTC"),
            crate::postmortem::duration(a.at - inc.declared_at)
        )),
        None => m.plain("Not acknowledged yet: `/incident ack` when you are on it"),
    };
    if let Some(origin) = &inc.origin {
        m = m.line().plain(format!("Opened by alert rule {} ({})", origin.rule, origin.source));
    }
    if let Some(u) = inc.updates.last() {
        m = m
            .line()
            .plain(format!("Latest update ({}, {}): ", u.status, u.at.format("%H:%M")))
            .text(&u.message);
    }
    Ok(m)
}

pub(super) async fn list(app: &App, ctx: &Ctx) -> Result<Message, Failure> {
    let mut open: Vec<Incident> = app
        .store
        .incidents(false)
        .await?
        .into_iter()
        .filter(|i| !i.private || i.is_responder(&ctx.user))
        .collect();
    if open.is_empty() {
        return Ok(Message::new().plain("No open incidents."));
    }
    open.sort_by_key(|i| (app.rules.rank(&i.severity), i.status == Status::Resolved, -i.id.0));
    let mut m = Message::new().plain(format!("{} open incidents:", open.len()));
    for i in &open {
        let lock = if i.private { " 🔒" } else { "" };
        m = m
            .line()
            .plain(format!("• {} · {} · {}{lock} · ", i.id, i.severity, i.status))
            .text(&i.title)
            .plain(" · ")
            .channel(i.id);
    }
    Ok(m)
}

pub(super) async fn help(mut args: Args) -> Result<Message, Failure> {
    let subcommand = args.text("subcommand");
    Ok(match subcommand.as_deref().filter(|t| spec::find(t).is_none()) {
        // The word came from the user: it travels as text, escaped on every platform.
        Some(unknown) => Message::new()
            .plain("There is no subcommand \"")
            .text(unknown)
            .plain("\".")
            .line()
            .plain(help::overview()),
        None => Message::new().plain(help::for_topic(subcommand.as_deref())),
    })
}

/// The engine gives `where = "incident"` handlers their incident.
fn missing() -> Failure {
    Failure::Internal(anyhow::anyhow!("a handler that needs an incident ran without one"))
}
