//! The application: every inbound surface hands it an [`Inbound`]; it
//! dedupes by the platform's event id, turns commands and flags into
//! decisions of the core, commits them with their effects, and answers the
//! person who acted.

pub mod alerts;
mod audit;
mod channels;
mod error;
mod fanout;
mod flags;
mod handlers;
mod inbound;
mod locks;
mod names;
mod reminders;
mod removals;
mod room;
pub mod signin;
pub mod timings;

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Notify;

pub use error::{Failure, Outcome, Reply};
pub use inbound::{AlertMatch, CommandInput, Ctx, Event, Inbound, MessageSource, Seen};

use crate::clock::Clock;
use crate::command::{self, ParseContext};
use crate::config::Config;
use crate::incident::{Incident, Message, Platform, Rules, UserRef};
use crate::store::{Commit, Store, StoreError, Versioned, Write};

/// How many times a decision is made again after losing a race.
const ATTEMPTS: usize = 30;

/// How long a command keeps trying while the database is busy or out of reach.
pub const COMMAND_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// The console's announce channel.
pub const CONSOLE_ANNOUNCE: &str = "announce";

pub struct App {
    pub store: Arc<dyn Store>,
    pub rules: Rules,
    team_names: Vec<String>,
    /// Teams, webhooks and announce channels: where effects go.
    fanout: Arc<fanout::Fanout>,
    clock: Arc<dyn Clock>,
    wake: Option<Arc<Notify>>,
    /// Where a reaction's message is looked up, per platform.
    sources: BTreeMap<Platform, Arc<dyn MessageSource>>,
    /// Writers to one incident queue here once they have collided.
    queues: locks::Queues,
    /// Reaction removals lately handled, for flags recorded meanwhile.
    removals: removals::Removals,
    /// Channels seen to be incidents', where a reaction is worth a look.
    incident_channels: channels::IncidentChannels,
    /// Where incidents alerts open get their channel, when alerts are on.
    alerts_platform: Option<Platform>,
    alert_counts: Arc<alerts::AlertCounts>,
    timings: Arc<timings::Timings>,
    /// Where the web pages are, for sign-in links.
    web_base: String,
}

/// What [`App::transact_telling`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handled {
    /// Its commit is written.
    Wrote,
    /// It decided there was nothing to write.
    Nothing,
    /// The event was handled before; nothing more is done.
    Seen,
}

fn already_done() -> (Message, Handled) {
    (Message::new().plain("Already done."), Handled::Seen)
}

/// One attempt of a handler: load, decide, say what to write.
pub(crate) type Attempt<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Step, Failure>> + Send + 'a>>;

/// What one attempt of a handler decided.
pub(crate) enum Step {
    /// Write this, then answer with the message; once written, the
    /// milestones it reached are observed for `/metrics`. With a [`Redo`],
    /// a store that finds the incident moved on decides again itself.
    Commit(Box<Commit>, Message, Vec<timings::Reached>, Option<Redo>),
    /// Nothing to write.
    Done(Message),
    /// A decision made again cannot be made without reading more: the
    /// handler's attempt runs again.
    Again,
}

/// Makes a decision again against the incident as it now stands, without
/// reading anything (it runs inside the store's writer).
pub(crate) type Redo = Box<dyn FnMut(&Versioned<Incident>) -> Result<Step, Failure> + Send>;

impl Step {
    /// A write; a new incident's milestones (a declarer acknowledges) count.
    pub(crate) fn write(commit: Commit, reply: Message) -> Self {
        let reached = match &commit.incident {
            Some(Write::Insert(new)) => timings::reached(None, new),
            _ => Vec::new(),
        };
        Step::Commit(Box::new(commit), reply, reached, None)
    }

    /// A write that changes `before`: the milestones it reaches count.
    pub(crate) fn write_change(before: &Incident, commit: Commit, reply: Message) -> Self {
        let reached = match &commit.incident {
            Some(Write::Update { value, .. }) => timings::reached(Some(before), value),
            _ => Vec::new(),
        };
        Step::Commit(Box::new(commit), reply, reached, None)
    }

    /// The same write, decided again by `redo` where the incident moved on.
    pub(crate) fn or_again(self, redo: Redo) -> Self {
        match self {
            Step::Commit(c, reply, reached, _) => Step::Commit(c, reply, reached, Some(redo)),
            other => other,
        }
    }
}

/// What became of a decision that was handed to the store.
enum Decided {
    Wrote(Message, Vec<timings::Reached>),
    Done(Message),
    Failed(Failure),
    Again,
}

/// Marks a commit with its event, time and audit line.
fn stamp(ctx: &Ctx, mut c: Commit, now: chrono::DateTime<chrono::Utc>) -> Commit {
    c.event_id = ctx.event_id.clone();
    c.at = Some(now);
    c.audit = Some(audit::of(ctx, &c, now));
    c
}

impl App {
    /// `platforms` are the adapters running in this process.
    pub fn new(
        store: Arc<dyn Store>,
        config: &Config,
        platforms: &[Platform],
        clock: Arc<dyn Clock>,
    ) -> Self {
        let mut announce = BTreeMap::new();
        for p in platforms {
            let channel = match p {
                Platform::Slack => config.slack.as_ref().and_then(|s| s.announce_channel.clone()),
                Platform::Discord => {
                    config.discord.as_ref().and_then(|d| d.announce_channel.clone())
                }
                Platform::Console => Some(CONSOLE_ANNOUNCE.to_string()),
                Platform::Web => None,
            };
            if let Some(c) = channel {
                announce.insert(*p, c);
            }
        }
        Self {
            store,
            rules: config.rules(),
            team_names: config.teams.iter().map(|t| t.name.clone()).collect(),
            fanout: Arc::new(fanout::Fanout {
                rules: config.rules(),
                teams: config.teams.clone(),
                hooks: config.webhooks.clone(),
                announce,
            }),
            clock,
            wake: None,
            sources: BTreeMap::new(),
            queues: locks::Queues::default(),
            removals: removals::Removals::default(),
            incident_channels: channels::IncidentChannels::default(),
            alerts_platform: config.alerts.as_ref().map(|a| a.platform),
            alert_counts: Arc::default(),
            timings: Arc::default(),
            web_base: config.web_base(),
        }
    }

    /// Wakes the outbox worker after each commit that adds outbox rows.
    pub fn with_outbox_notifier(mut self, wake: Arc<Notify>) -> Self {
        self.wake = Some(wake);
        self
    }

    /// Where messages flagged by reaction on `platform` are looked up.
    pub fn with_source(mut self, platform: Platform, source: Arc<dyn MessageSource>) -> Self {
        self.sources.insert(platform, source);
        self
    }

    /// What became of alert notifications, for `/metrics`.
    pub fn alert_counts(&self) -> Arc<alerts::AlertCounts> {
        self.alert_counts.clone()
    }

    /// How long incidents took to reach their milestones, for `/metrics`.
    pub fn timings(&self) -> Arc<timings::Timings> {
        self.timings.clone()
    }

    /// Where the web pages are reached.
    pub fn web_base(&self) -> &str {
        &self.web_base
    }

    /// The configured teams' names, for parsing invitations.
    pub fn team_names(&self) -> &[String] {
        &self.team_names
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The one way in: whatever happened on whichever surface. The reply is
    /// for the person who acted; an event that could not be recorded says so
    /// ([`Reply::recorded`]) so the surface can have it delivered again.
    pub async fn handle(self: &Arc<Self>, inbound: Inbound) -> Reply {
        let Inbound { mut ctx, event } = inbound;
        // A command's author enters the record by name; a flag names its
        // people itself, once it knows the flag is kept.
        if matches!(event, Event::Command(_)) {
            self.name(&mut ctx.user).await;
        }
        match event {
            Event::Command(input) => self.command(&ctx, input).await,
            Event::Flag { key, via, message } => self.flag(&ctx, key, via, message).await,
            Event::Unflag { key, via } => self.unflag(&ctx, &key, via).await,
            Event::Edited { key, text, at } => self.message_edited(&ctx, &key, &text, at).await,
            Event::Deleted { key, at } => self.message_deleted(&ctx, &key, at).await,
            Event::ReactionsCleared { key } => self.reactions_cleared(&ctx, &key).await,
            Event::Tick => self.remind().await,
            Event::Alert { batch, rule } => self.alert(&ctx, batch, rule).await,
            Event::Say { incident, text } => self.say(&ctx, incident, &text).await,
        }
    }

    async fn command(&self, ctx: &Ctx, input: CommandInput) -> Reply {
        let pc = ParseContext {
            rules: &self.rules,
            teams: &self.team_names,
            platform: ctx.channel.platform,
        };
        let parsed = match &input {
            CommandInput::Text(text) => command::parse(text, &pc),
            CommandInput::Options { subcommand, options } => {
                command::from_options(subcommand, options, &pc)
            }
        };
        let inv = match parsed {
            Ok(inv) => inv,
            Err(e) => return Reply::from_failure(e.into(), "parse"),
        };
        let usage = inv.spec.usage.clone();
        let name = inv.name();
        let result = match self.patiently(ctx, inv).await {
            // The change is committed: a failed lookup of channel names must not
            // tell the person it failed (they would run it again).
            Ok(m) => Ok(crate::outbox::resolve_channels(&*self.store, &m, ctx.channel.platform)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "could not resolve channel links in a reply");
                    m
                })),
            Err(f) => Err(f),
        };
        match result {
            Ok(m) => Reply::done(m),
            Err(f) => Reply::from_failure(f.with_usage(&usage), name),
        }
    }

    /// Runs a command, and runs it again while the database is busy or out
    /// of reach, for up to [`COMMAND_PATIENCE`]: the person asked once, and
    /// the surface answers "working on it" meanwhile. Only where a second
    /// run cannot write twice: the platform's id for the command dedupes it,
    /// or the database refused before writing anything.
    async fn patiently(&self, ctx: &Ctx, inv: command::Invocation) -> Result<Message, Failure> {
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(100);
        loop {
            match handlers::run(self, ctx, inv.clone()).await {
                Err(Failure::Unavailable(e))
                    if started.elapsed() < COMMAND_PATIENCE
                        && (ctx.event_id.is_some() || e.nothing_written()) =>
                {
                    tracing::warn!(error = %e, "the database is busy or out of reach; trying the command again");
                    tokio::time::sleep(pause).await; // backoff while the database recovers
                    pause = (pause * 2).min(std::time::Duration::from_secs(2));
                }
                other => return other,
            }
        }
    }

    /// Decides and commits, deciding again when a concurrent write won.
    pub(crate) async fn transact<'a>(
        &'a self,
        ctx: &Ctx,
        attempt: impl Fn() -> Attempt<'a>,
    ) -> Result<Message, Failure> {
        self.transact_telling(ctx, attempt).await.map(|(m, _)| m)
    }

    /// [`Self::transact`], telling also whether it wrote.
    pub(crate) async fn transact_telling<'a>(
        &'a self,
        ctx: &Ctx,
        attempt: impl Fn() -> Attempt<'a>,
    ) -> Result<(Message, Handled), Failure> {
        // An event seen before is found by its commit, which records the
        // event's id in the same transaction and is refused as a duplicate:
        // no read for it up front, which every event but a retry would pay.
        // Only a decision to write nothing (or a refusal) asks, to answer a
        // retry as one.
        // Optimistic first; after a collision, wait in the incident's queue so
        // that busy incidents take turns instead of colliding again and again.
        let mut turn = None;
        for _ in 0..ATTEMPTS {
            let step = match attempt().await {
                Ok(step) => step,
                Err(f @ Failure::User { .. }) => return self.unless_seen(ctx, Err(f)).await,
                Err(f) => return Err(f),
            };
            let (c, reply, reached, redo) = match step {
                Step::Done(m) => return self.unless_seen(ctx, Ok(m)).await,
                Step::Again => continue,
                Step::Commit(c, reply, reached, redo) => (c, reply, reached, redo),
            };
            let c = stamp(ctx, *c, self.now());
            let incident = c.incident_id();
            // Only new outbox rows give the worker anything to claim; a
            // decision made again may add some.
            let posts = !c.outbox.is_empty() || redo.is_some();
            let outcome = match redo {
                None => self.store.commit(c).await.map(|()| Decided::Wrote(reply, reached)),
                Some(redo) => {
                    let slot = Arc::new(std::sync::Mutex::new(Decided::Wrote(reply, reached)));
                    let redecide = self.redecide(ctx, redo, slot.clone());
                    let written = self.store.commit_deciding(c, redecide).await;
                    let mut slot = slot.lock().expect("decision slot");
                    written.map(|()| std::mem::replace(&mut *slot, Decided::Again))
                }
            };
            match outcome {
                Ok(Decided::Wrote(reply, reached)) => {
                    if posts && let Some(w) = &self.wake {
                        w.notify_one();
                    }
                    self.timings.observe(&reached);
                    return Ok((reply, Handled::Wrote));
                }
                Ok(Decided::Done(m)) => return self.unless_seen(ctx, Ok(m)).await,
                Ok(Decided::Failed(f @ Failure::User { .. })) => {
                    return self.unless_seen(ctx, Err(f)).await;
                }
                Ok(Decided::Failed(f)) => return Err(f),
                Ok(Decided::Again) => continue,
                Err(StoreError::Conflict) => {
                    if turn.is_none()
                        && let Some(id) = incident
                    {
                        turn = Some(self.queues.wait(id).await);
                    }
                }
                Err(StoreError::Duplicate) => return Ok(already_done()),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Failure::Internal(anyhow::anyhow!(
            "gave up after {ATTEMPTS} conflicting concurrent writes"
        )))
    }

    /// What was decided without a write, or "Already done." for an event
    /// handled before (whose first run may be why there is nothing to do).
    async fn unless_seen(
        &self,
        ctx: &Ctx,
        decided: Result<Message, Failure>,
    ) -> Result<(Message, Handled), Failure> {
        match &ctx.event_id {
            Some(ev) if self.store.seen_event(ev).await? => Ok(already_done()),
            _ => decided.map(|m| (m, Handled::Nothing)),
        }
    }

    /// Wraps a handler's [`Redo`] for the store: each decision made again is
    /// stamped like the first, and what it decided is left in `slot`.
    fn redecide(
        &self,
        ctx: &Ctx,
        mut redo: Redo,
        slot: Arc<std::sync::Mutex<Decided>>,
    ) -> crate::store::Redecide {
        let (ctx, clock) = (ctx.clone(), self.clock.clone());
        Box::new(move |now| {
            let (decided, commit) = match redo(now) {
                Ok(Step::Commit(c, reply, reached, _)) => {
                    (Decided::Wrote(reply, reached), Some(stamp(&ctx, *c, clock.now())))
                }
                Ok(Step::Done(m)) => (Decided::Done(m), None),
                Ok(Step::Again) => (Decided::Again, None),
                Err(f) => (Decided::Failed(f), None),
            };
            *slot.lock().expect("decision slot") = decided;
            commit
        })
    }

    fn team_members(&self, name: &str, platform: Platform) -> Result<Vec<UserRef>, Failure> {
        let team = self
            .fanout
            .teams
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| Failure::user(format!("there is no team \"{name}\"")))?;
        let ids = match platform {
            Platform::Slack => &team.slack_users,
            Platform::Discord => &team.discord_users,
            Platform::Console => &team.console_users,
            Platform::Web => &Vec::new(),
        };
        if ids.is_empty() {
            return Err(Failure::user(format!(
                "team {} has no {platform} members configured",
                team.name
            )));
        }
        Ok(ids.iter().map(|id| UserRef::new(platform, id)).collect())
    }
}
