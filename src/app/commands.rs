//! One handler per subcommand. Handlers that change an incident go through the
//! core's `decide`; the rest read the record.

use crate::chat::Message;
use crate::command::{Cmd, Invitee, Invocation, help};
use crate::incident::{
    self, Change, Declare, Incident, IncidentId, Scope, Status, Subscription, subscription,
};
use crate::store::{Commit, SubscriptionChange, Versioned, Write};

use super::{App, Ctx, Failure, Step};

/// The subcommands with a handler here; a test holds this equal to the specs.
pub const HANDLED: &[&str] = &[
    "close",
    "declare",
    "followup",
    "help",
    "invite",
    "list",
    "note",
    "postmortem",
    "resolve",
    "role",
    "roles",
    "severity",
    "status",
    "subscribe",
    "timeline",
    "unsubscribe",
    "update",
];

pub(super) async fn run(app: &App, ctx: &Ctx, inv: Invocation) -> Result<Message, Failure> {
    match inv.cmd.clone() {
        Cmd::Declare { severity, title, private } => {
            declare(app, ctx, severity, title, private).await
        }
        Cmd::Update { status, message } => {
            change(app, ctx, &inv, Change::Update { status, message }).await
        }
        Cmd::Severity { level } => change(app, ctx, &inv, Change::Severity { level }).await,
        Cmd::Role { role, user } => change(app, ctx, &inv, Change::AssignRole { role, user }).await,
        Cmd::Invite { invitees } => {
            let mut users = Vec::new();
            for i in invitees {
                match i {
                    Invitee::User(u) => users.push(u),
                    Invitee::Team(t) => users.extend(app.team_members(&t, ctx.channel.platform)?),
                }
            }
            change(app, ctx, &inv, Change::Invite { users }).await
        }
        Cmd::Note { text } => change(app, ctx, &inv, Change::Note { text }).await,
        Cmd::FollowUp { text, owner } => {
            change(app, ctx, &inv, Change::FollowUp { text, owner }).await
        }
        Cmd::Resolve { message } => change(app, ctx, &inv, Change::Resolve { message }).await,
        Cmd::Postmortem => change(app, ctx, &inv, Change::Postmortem).await,
        Cmd::Close => change(app, ctx, &inv, Change::Close).await,
        Cmd::Roles => roles(app, &required(app, ctx, &inv).await?.value),
        Cmd::Timeline => timeline(app, &required(app, ctx, &inv).await?.value).await,
        Cmd::Subscribe { incident, min_severity } => {
            subscribe(app, ctx, incident, min_severity).await
        }
        Cmd::Unsubscribe { incident } => unsubscribe(app, ctx, incident).await,
        Cmd::List => list(app, ctx).await,
        Cmd::Status => match optional(app, ctx, &inv).await? {
            Some(v) => Ok(status(&v.value)),
            None => list(app, ctx).await,
        },
        Cmd::Help { subcommand } => {
            Ok(match subcommand.as_deref().filter(|t| crate::command::spec::find(t).is_none()) {
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
    }
}

/// The incident a command names or is run in, if any; private incidents are
/// invisible to non-responders outside their channel.
async fn optional(
    app: &App,
    ctx: &Ctx,
    inv: &Invocation,
) -> Result<Option<Versioned<Incident>>, Failure> {
    match inv.incident {
        Some(id) => {
            let found = app.store.incident(id).await?;
            let in_its_channel =
                app.store.incident_in_channel(&ctx.channel).await?.map(|v| v.value.id) == Some(id);
            match found {
                Some(v)
                    if !v.value.private || v.value.is_responder(&ctx.user) || in_its_channel =>
                {
                    Ok(Some(v))
                }
                _ => Err(Failure::user(format!("there is no {id}"))),
            }
        }
        None => Ok(app.store.incident_in_channel(&ctx.channel).await?),
    }
}

async fn required(app: &App, ctx: &Ctx, inv: &Invocation) -> Result<Versioned<Incident>, Failure> {
    optional(app, ctx, inv).await?.ok_or_else(|| {
        let name = &inv.spec.name;
        Failure::user(format!(
            "`{name}` needs an incident: run it in the incident's channel, or name it, as in `/incident {name} INC-7 …`"
        ))
    })
}

async fn declare(
    app: &App,
    ctx: &Ctx,
    severity: Option<String>,
    title: String,
    private: bool,
) -> Result<Message, Failure> {
    let (title, severity) = (&title, &severity);
    app.transact(ctx, || {
        Box::pin(async move {
            let id = app.store.next_incident_id().await?;
            let cmd = Declare {
                title: title.clone(),
                severity: severity.clone(),
                private,
                platform: ctx.channel.platform,
            };
            let d = incident::declare(&app.rules, id, cmd, &ctx.user, app.now())?;
            let outbox = app.outbox_items(&d.incident, d.effects).await?;
            let commit = Commit {
                incident: Some(Write::Insert(d.incident)),
                entries: d.entries.into_iter().map(Write::Insert).collect(),
                outbox,
                ..Default::default()
            };
            Ok(Step::write(commit, d.reply))
        })
    })
    .await
}

async fn change(
    app: &App,
    ctx: &Ctx,
    inv: &Invocation,
    change: Change,
) -> Result<Message, Failure> {
    let change = &change;
    app.transact(ctx, || {
        Box::pin(async move {
            let v = required(app, ctx, inv).await?;
            incident::authorize(&v.value, inv.spec.who, &ctx.user, change)?;
            let d = incident::decide(&v.value, &app.rules, change.clone(), &ctx.user, app.now())?;
            let outbox = app.outbox_items(&d.incident, d.effects).await?;
            let commit = Commit {
                incident: Some(Write::Update { value: d.incident, version: v.version }),
                entries: d.entries.into_iter().map(Write::Insert).collect(),
                outbox,
                ..Default::default()
            };
            Ok(Step::write(commit, d.reply))
        })
    })
    .await
}

fn roles(app: &App, inc: &Incident) -> Result<Message, Failure> {
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

async fn timeline(app: &App, inc: &Incident) -> Result<Message, Failure> {
    const SHOWN: usize = 25;
    let entries: Vec<_> =
        app.store.timeline(inc.id).await?.into_iter().filter(|e| e.is_visible()).collect();
    let noun = if entries.len() == 1 { "entry" } else { "entries" };
    let mut m = Message::new().plain(format!("Timeline of {} ({} {noun}", inc.id, entries.len()));
    if entries.len() > SHOWN {
        m = m.plain(format!(", latest {SHOWN} shown; `postmortem` has them all"));
    }
    m = m.plain("):");
    for e in entries.iter().skip(entries.len().saturating_sub(SHOWN)) {
        m = m
            .line()
            .plain(format!("{} ", e.at.format("%H:%M")))
            .user(&e.author)
            .plain(": ")
            .text(&e.text);
        if e.state == incident::EntryState::Deleted {
            m = m.plain(" (message deleted)");
        }
    }
    Ok(m)
}

fn status(inc: &Incident) -> Message {
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
    m = m.plain(format!(" · {} responders", inc.responders.len()));
    if let Some(u) = inc.updates.last() {
        m = m
            .line()
            .plain(format!("Latest update ({}, {}): ", u.status, u.at.format("%H:%M")))
            .text(&u.message);
    }
    m
}

async fn list(app: &App, ctx: &Ctx) -> Result<Message, Failure> {
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

async fn subscribe(
    app: &App,
    ctx: &Ctx,
    incident: Option<IncidentId>,
    min: Option<String>,
) -> Result<Message, Failure> {
    let min = &min;
    app.transact(ctx, || {
        Box::pin(async move {
            let named = match incident {
                // A private incident does not exist for those outside it.
                Some(id) => Some(
                    app.store
                        .incident(id)
                        .await?
                        .map(|v| v.value)
                        .filter(|i| !i.private || i.is_responder(&ctx.user))
                        .ok_or_else(|| Failure::user(format!("there is no {id}")))?,
                ),
                None => None,
            };
            let home = app.store.incident_in_channel(&ctx.channel).await?.map(|v| v.value);
            let sub = subscription::subscribe(
                &app.rules,
                &ctx.channel,
                named.as_ref(),
                home.as_ref(),
                min.as_deref(),
                &ctx.user,
                app.now(),
            )?;
            let mut changes = Vec::new();
            // A channel has one severity filter: a new one replaces the old.
            if let Scope::AtLeast(_) = sub.scope {
                for old in channel_subscriptions(app, ctx).await? {
                    if matches!(old.scope, Scope::AtLeast(_)) && old.scope != sub.scope {
                        changes.push(SubscriptionChange::Remove {
                            channel: old.channel,
                            scope: old.scope,
                        });
                    }
                }
            }
            let reply = match &sub.scope {
                Scope::Incident(id) => format!("This channel now follows {id}'s status updates."),
                Scope::AtLeast(sev) => {
                    format!("This channel now follows every public incident at {sev} or above.")
                }
            };
            changes.push(SubscriptionChange::Add(sub));
            Ok(Step::write(
                Commit { subscriptions: changes, ..Default::default() },
                Message::new().plain(reply),
            ))
        })
    })
    .await
}

async fn unsubscribe(
    app: &App,
    ctx: &Ctx,
    incident: Option<IncidentId>,
) -> Result<Message, Failure> {
    app.transact(ctx, || Box::pin(async move {
        let subs = channel_subscriptions(app, ctx).await?;
        let gone: Vec<Subscription> = subs
            .into_iter()
            .filter(|s| match incident {
                Some(id) => s.scope == Scope::Incident(id),
                None => matches!(s.scope, Scope::AtLeast(_)),
            })
            .collect();
        if gone.is_empty() {
            return Err(Failure::user(match incident {
                Some(id) => format!("this channel does not follow {id}"),
                None => "this channel does not follow incidents by severity; name the incident to stop following it".into(),
            }));
        }
        let reply = match incident {
            Some(id) => format!("This channel no longer follows {id}."),
            None => "This channel no longer follows incidents by severity.".into(),
        };
        let changes = gone.into_iter().map(|s| SubscriptionChange::Remove { channel: s.channel, scope: s.scope }).collect();
        Ok(Step::write(Commit { subscriptions: changes, ..Default::default() }, Message::new().plain(reply)))
    }))
    .await
}

async fn channel_subscriptions(app: &App, ctx: &Ctx) -> Result<Vec<Subscription>, Failure> {
    Ok(app.store.subscriptions().await?.into_iter().filter(|s| s.channel == ctx.channel).collect())
}

#[cfg(test)]
mod tests {
    use super::HANDLED;
    use crate::command::spec;

    #[test]
    fn every_spec_has_a_handler_and_every_handler_a_spec() {
        let specs: Vec<&str> = spec::all().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(specs, HANDLED, "commands/*.toml and the handlers differ");
        for s in spec::all() {
            let inv = crate::command::parse(
                &s.examples[0],
                &crate::command::ParseContext {
                    rules: &crate::incident::Rules::default(),
                    teams: &["payments".to_string()],
                    platform: crate::incident::Platform::Console,
                },
            )
            .unwrap();
            assert_eq!(inv.cmd.name(), s.name, "the spec's example dispatches to its own handler");
        }
    }
}
