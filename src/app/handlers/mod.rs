//! One handler per subcommand, registered once in [`HANDLERS`]. The spec's
//! `where` decides, before a handler runs, which incident it works on;
//! handlers that change an incident only say what the change is, and the
//! engine loads the incident, checks who may, asks the core to decide and
//! commits. Adding a subcommand means its spec in `commands/`, its entry
//! here, and its test.

mod read;
mod web;
mod write;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::fanout::{Fanout, Followers, needs_followers};
use super::{App, Ctx, Failure, Step};
use crate::clock::Clock;
use crate::command::{Args, Invitee, Invocation, Where};
use crate::incident::{self, Change, Incident, IncidentId, Message, UserRef, Who};
use crate::store::{Commit, Versioned, Write};

pub(super) type Fut<'a> = Pin<Box<dyn Future<Output = Result<Message, Failure>> + Send + 'a>>;

/// How a subcommand runs.
pub(super) enum Run {
    /// Changes the incident the command names or is run in.
    Change(fn(&App, &Ctx, &mut Args) -> Result<Change, Failure>),
    /// Reads; gets the incident when there is one.
    Read(for<'a> fn(&'a App, &'a Ctx, Option<Incident>, Args) -> Fut<'a>),
    /// Writes something other than a change to one incident: declaring one,
    /// subscriptions. Gets the incident id as named, if one was.
    Write(for<'a> fn(&'a App, &'a Ctx, Option<IncidentId>, Args) -> Fut<'a>),
}

pub(super) struct Handler {
    pub name: &'static str,
    pub run: Run,
}

const fn handler(name: &'static str, run: Run) -> Handler {
    Handler { name, run }
}

/// Every subcommand, by its spec's name; a test holds this equal to `commands/`.
pub(super) static HANDLERS: &[Handler] = &[
    handler("ack", Run::Change(|_, _, _| Ok(Change::Acknowledge))),
    handler("close", Run::Change(|_, _, _| Ok(Change::Close))),
    handler("declare", Run::Write(|app, ctx, _, args| Box::pin(write::declare(app, ctx, args)))),
    handler(
        "followup",
        Run::Change(|_, _, a| {
            Ok(Change::FollowUp { text: need(a.text("text"))?, owner: a.user("owner") })
        }),
    ),
    handler("help", Run::Read(|_, _, _, args| Box::pin(read::help(args)))),
    handler(
        "impact",
        Run::Change(|_, _, a| {
            Ok(Change::Impact {
                component: need(a.text("component"))?,
                level: need(a.text("level"))?,
            })
        }),
    ),
    handler("invite", Run::Change(invite)),
    handler("list", Run::Read(|app, ctx, _, _| Box::pin(read::list(app, ctx)))),
    handler("note", Run::Change(|_, _, a| Ok(Change::Note { text: need(a.text("text"))? }))),
    handler("page", Run::Change(page)),
    handler("postmortem", Run::Change(|_, _, _| Ok(Change::Postmortem))),
    handler(
        "publish",
        Run::Change(|_, _, a| Ok(Change::Publish { message: need(a.text("message"))? })),
    ),
    handler("resolve", Run::Change(|_, _, a| Ok(Change::Resolve { message: a.text("message") }))),
    handler(
        "role",
        Run::Change(|_, _, a| {
            Ok(Change::AssignRole { role: need(a.text("role"))?, user: need(a.user("user"))? })
        }),
    ),
    handler("roles", Run::Read(|app, _, inc, _| Box::pin(read::roles(app, inc)))),
    handler(
        "severity",
        Run::Change(|_, _, a| Ok(Change::Severity { level: need(a.text("level"))? })),
    ),
    handler("status", Run::Read(|app, ctx, inc, _| Box::pin(read::status(app, ctx, inc)))),
    handler(
        "subscribe",
        Run::Write(|app, ctx, _, args| Box::pin(write::subscribe(app, ctx, args))),
    ),
    handler("timeline", Run::Read(|app, _, inc, _| Box::pin(read::timeline(app, inc)))),
    handler(
        "unsubscribe",
        Run::Write(|app, ctx, _, args| Box::pin(write::unsubscribe(app, ctx, args))),
    ),
    handler(
        "update",
        Run::Change(|_, _, a| {
            Ok(Change::Update {
                status: need(a.status("status"))?,
                message: need(a.text("message"))?,
            })
        }),
    ),
    handler("web", Run::Read(|app, ctx, inc, _| Box::pin(web::link(app, ctx, inc)))),
];

/// A value the spec says is there; missing, the spec and the handler disagree.
fn need<T>(v: Option<T>) -> Result<T, Failure> {
    v.ok_or_else(|| {
        Failure::Internal(anyhow::anyhow!("the command's spec and its handler disagree"))
    })
}

fn invite(app: &App, ctx: &Ctx, a: &mut Args) -> Result<Change, Failure> {
    let (mut users, mut teams) = (Vec::new(), Vec::new());
    for i in need(a.invitees("user"))? {
        match i {
            Invitee::User(u) => users.push(u),
            Invitee::Team(t) => {
                users.extend(app.team_members(&t, ctx.channel.platform)?);
                teams.push(t);
            }
        }
    }
    Ok(Change::Invite { users, teams })
}

fn page(app: &App, ctx: &Ctx, a: &mut Args) -> Result<Change, Failure> {
    let team = need(a.text("team"))?;
    let team = app
        .team_names()
        .iter()
        .find(|t| t.eq_ignore_ascii_case(&team))
        .cloned()
        .ok_or_else(|| Failure::user(format!("there is no team \"{team}\"")))?;
    // Paging works for a team with no members on this platform too.
    let members = app.team_members(&team, ctx.channel.platform).unwrap_or_default();
    Ok(Change::Page { team, members })
}

/// Runs an invocation with its registered handler.
pub(super) async fn run(app: &App, ctx: &Ctx, inv: Invocation) -> Result<Message, Failure> {
    let name = inv.name();
    let Some(h) = HANDLERS.iter().find(|h| h.name == name) else {
        return Err(Failure::Internal(anyhow::anyhow!("no handler for {name}")));
    };
    match &h.run {
        Run::Change(build) => {
            let mut args = inv.args.clone();
            let mut change = build(app, ctx, &mut args)?;
            app.name_all(&mut change).await;
            change_incident(app, ctx, &inv, change).await
        }
        Run::Read(read) => {
            let incident = match inv.spec.place {
                Where::Anywhere => None,
                Where::Incident => Some(required(app, ctx, &inv).await?),
                Where::OptionalIncident => optional(app, ctx, &inv).await?,
            };
            read(app, ctx, incident.map(|v| v.value), inv.args).await
        }
        Run::Write(write) => write(app, ctx, inv.incident, inv.args).await,
    }
}

/// The incident a command names or is run in, if any; private incidents are
/// invisible to non-responders outside their channel.
async fn optional(
    app: &App,
    ctx: &Ctx,
    inv: &Invocation,
) -> Result<Option<crate::store::Versioned<Incident>>, Failure> {
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

async fn required(
    app: &App,
    ctx: &Ctx,
    inv: &Invocation,
) -> Result<crate::store::Versioned<Incident>, Failure> {
    optional(app, ctx, inv).await?.ok_or_else(|| {
        let name = &inv.spec.name;
        Failure::user(format!(
            "`{name}` needs an incident: run it in the incident's channel, or name it, as in `/incident {name} INC-7 …`"
        ))
    })
}

/// Loads the incident, checks who may, decides, commits. Where another write
/// moved the incident on first, the store decides again against it (see
/// [`decide_change`]); only what that cannot do runs the whole attempt again.
async fn change_incident(
    app: &App,
    ctx: &Ctx,
    inv: &Invocation,
    change: Change,
) -> Result<Message, Failure> {
    let change = &change;
    app.transact(ctx, || {
        Box::pin(async move {
            let v = required(app, ctx, inv).await?;
            let decide = DecideChange {
                fanout: app.fanout.clone(),
                who: inv.spec.who,
                user: ctx.user.clone(),
                change: change.clone(),
                clock: app.clock.clone(),
            };
            let d = decide.decision(&v.value)?;
            let followers = match needs_followers(&d.effects) {
                true => Some(app.followers(&d.incident).await?),
                false => None,
            };
            let step = decide.step(&v, d, followers.as_ref())?;
            Ok(step.or_again(Box::new(move |now| decide.again(now, followers.as_ref()))))
        })
    })
    .await
}

/// One change to an incident, decided with nothing but what it is given:
/// so the store's writer can decide it again.
struct DecideChange {
    fanout: Arc<Fanout>,
    who: Who,
    user: UserRef,
    change: Change,
    clock: Arc<dyn Clock>,
}

impl DecideChange {
    fn decision(&self, inc: &Incident) -> Result<incident::Decision, Failure> {
        incident::authorize(inc, self.who, &self.user, &self.change)?;
        let now = self.clock.now();
        Ok(incident::decide(inc, &self.fanout.rules, self.change.clone(), &self.user, now)?)
    }

    fn step(
        &self,
        v: &Versioned<Incident>,
        d: incident::Decision,
        followers: Option<&Followers>,
    ) -> Result<Step, Failure> {
        let followers = match (needs_followers(&d.effects), followers) {
            (true, None) => return Ok(Step::Again),
            (_, f) => f.cloned().unwrap_or_default(),
        };
        let outbox = self.fanout.items(&d.incident, d.effects, &followers, self.clock.now());
        let commit = Commit {
            incident: Some(Write::Update { value: d.incident, version: v.version }),
            entries: d.entries.into_iter().map(Write::Insert).collect(),
            outbox,
            ..Default::default()
        };
        Ok(Step::write_change(&v.value, commit, d.reply))
    }

    /// Decides again against the incident as it now stands. A private
    /// incident that this person might no longer see is left to the full
    /// attempt, which checks where the command was run.
    fn again(
        &self,
        now: &Versioned<Incident>,
        followers: Option<&Followers>,
    ) -> Result<Step, Failure> {
        if now.value.private && !now.value.is_responder(&self.user) {
            return Ok(Step::Again);
        }
        let d = self.decision(&now.value)?;
        self.step(now, d, followers)
    }
}

#[cfg(test)]
mod tests {
    use super::HANDLERS;
    use crate::command::spec;

    #[test]
    fn every_spec_has_a_handler_and_every_handler_a_spec() {
        let specs: Vec<&str> = spec::all().iter().map(|s| s.name.as_str()).collect();
        let handlers: Vec<&str> = HANDLERS.iter().map(|h| h.name).collect();
        assert_eq!(specs, handlers, "commands/*.toml and the handlers differ");
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
            assert_eq!(inv.name(), s.name, "the spec's example dispatches to its own handler");
        }
    }
}
