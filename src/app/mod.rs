//! The application: turns invocations and chat events into decisions of the
//! core, commits them with their effects, and answers the person who acted.

mod audit;
mod clock;
mod commands;
mod error;
mod fanout;
mod flags;
mod locks;

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Notify;

pub use clock::{Clock, ManualClock, SystemClock};
pub use commands::HANDLED;
pub use error::{Failure, Outcome, Reply};

use crate::chat::Message;
use crate::command::{self, ParseContext};
use crate::config::{Config, TeamConfig};
use crate::incident::{ChannelRef, Platform, Rules, UserRef};
use crate::store::{Commit, Store, StoreError};

/// How many times a decision is made again after losing a race.
const ATTEMPTS: usize = 30;

/// The console's announce channel.
pub const CONSOLE_ANNOUNCE: &str = "announce";

/// Who acted, where, and the platform's id for the event (for dedupe).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub user: UserRef,
    pub channel: ChannelRef,
    pub event_id: Option<String>,
}

pub struct App {
    pub store: Arc<dyn Store>,
    pub rules: Rules,
    teams: Vec<TeamConfig>,
    team_names: Vec<String>,
    /// Announce channel per enabled platform.
    announce: BTreeMap<Platform, String>,
    clock: Arc<dyn Clock>,
    wake: Option<Arc<Notify>>,
    /// Writers to one incident queue here once they have collided.
    queues: locks::Queues,
}

/// One attempt of a handler: load, decide, say what to write.
pub(crate) type Attempt<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Step, Failure>> + Send + 'a>>;

/// What one attempt of a handler decided.
pub(crate) enum Step {
    /// Write this, then answer with the message.
    Commit(Box<Commit>, Message),
    /// Nothing to write.
    Done(Message),
}

impl Step {
    pub(crate) fn write(commit: Commit, reply: Message) -> Self {
        Step::Commit(Box::new(commit), reply)
    }
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
            };
            if let Some(c) = channel {
                announce.insert(*p, c);
            }
        }
        Self {
            store,
            rules: config.rules(),
            team_names: config.teams.iter().map(|t| t.name.clone()).collect(),
            teams: config.teams.clone(),
            announce,
            clock,
            wake: None,
            queues: locks::Queues::default(),
        }
    }

    /// Wakes the outbox worker after each commit.
    pub fn with_outbox_notifier(mut self, wake: Arc<Notify>) -> Self {
        self.wake = Some(wake);
        self
    }

    /// The configured teams' names, for parsing invitations.
    pub fn team_names(&self) -> &[String] {
        &self.team_names
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Runs the text after `/incident`.
    pub async fn command(&self, ctx: &Ctx, text: &str) -> Reply {
        match self.parse(ctx, text) {
            Ok(inv) => self.invoke(ctx, inv).await,
            Err(reply) => reply,
        }
    }

    /// Parses the text after `/incident` with this team's rules; a mistake
    /// comes back as the reply to show.
    pub fn parse(&self, ctx: &Ctx, text: &str) -> Result<command::Invocation, Reply> {
        let pc = ParseContext {
            rules: &self.rules,
            teams: &self.team_names,
            platform: ctx.channel.platform,
        };
        command::parse(text, &pc).map_err(|e| Reply::from_failure(e.into(), "parse"))
    }

    /// Runs an already typed invocation (Discord's options arrive typed).
    pub async fn invoke(&self, ctx: &Ctx, inv: command::Invocation) -> Reply {
        let usage = inv.spec.usage.clone();
        let name = inv.spec.name.clone();
        let result = match commands::run(self, ctx, inv).await {
            // The change is committed: a failed lookup of channel names must not
            // tell the person it failed (they would run it again).
            Ok(m) => Ok(crate::store::resolve_channels(&*self.store, &m, ctx.channel.platform)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "could not resolve channel links in a reply");
                    m
                })),
            Err(f) => Err(f),
        };
        match result {
            Ok(m) => Reply::done(m),
            Err(f) => Reply::from_failure(f.with_usage(&usage), &name),
        }
    }

    /// Decides and commits, deciding again when a concurrent write won.
    pub(crate) async fn transact<'a>(
        &'a self,
        ctx: &Ctx,
        attempt: impl Fn() -> Attempt<'a>,
    ) -> Result<Message, Failure> {
        if let Some(ev) = &ctx.event_id
            && self.store.seen_event(ev).await?
        {
            return Ok(Message::new().plain("Already done."));
        }
        // Optimistic first; after a collision, wait in the incident's queue so
        // that busy incidents take turns instead of colliding again and again.
        let mut turn = None;
        for _ in 0..ATTEMPTS {
            match attempt().await? {
                Step::Done(m) => return Ok(m),
                Step::Commit(mut c, reply) => {
                    c.event_id = ctx.event_id.clone();
                    c.audit = Some(audit::of(ctx, &c, self.now()));
                    let incident = c.incident_id();
                    match self.store.commit(*c).await {
                        Ok(()) => {
                            if let Some(w) = &self.wake {
                                w.notify_one();
                            }
                            return Ok(reply);
                        }
                        Err(StoreError::Conflict) => {
                            if turn.is_none()
                                && let Some(id) = incident
                            {
                                turn = Some(self.queues.wait(id).await);
                            }
                            continue;
                        }
                        Err(StoreError::Duplicate) => {
                            return Ok(Message::new().plain("Already done."));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Err(Failure::Internal(anyhow::anyhow!(
            "gave up after {ATTEMPTS} conflicting concurrent writes"
        )))
    }

    fn team_members(&self, name: &str, platform: Platform) -> Result<Vec<UserRef>, Failure> {
        let team = self
            .teams
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| Failure::user(format!("there is no team \"{name}\"")))?;
        let ids = match platform {
            Platform::Slack => &team.slack_users,
            Platform::Discord => &team.discord_users,
            Platform::Console => &team.console_users,
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
