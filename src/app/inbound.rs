//! What arrives, from any surface, in one shape: who acted, where, the
//! platform's id for the event, and what happened. Adapters verify and parse
//! their platform's requests into an [`Inbound`] and hand it to
//! [`App::handle`](super::App::handle); nothing else reaches the engine.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::command::OptionValue;
use crate::incident::alerting::AlertBatch;
use crate::incident::{
    ChannelRef, FlagVia, FlaggedMessage, IncidentId, MessageKey, Platform, UserRef,
};
use crate::outbox::ChatError;

/// Who acted, where, and the platform's id for the event (for dedupe).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub user: UserRef,
    pub channel: ChannelRef,
    pub event_id: Option<String>,
}

/// One thing that happened on a surface.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub ctx: Ctx,
    pub event: Event,
}

#[derive(Debug, Clone)]
pub enum Event {
    /// `/incident …`.
    Command(CommandInput),
    /// A message was flagged for the timeline. `message` is the message as
    /// the surface delivered it; when it is `None` (a reaction, which carries
    /// only the message's id) the engine asks the platform's
    /// [`MessageSource`] for it, and checks the reaction is still there.
    Flag { key: MessageKey, via: FlagVia, message: Option<FlaggedMessage> },
    /// A flag was taken back (the reaction removed).
    Unflag { key: MessageKey, via: FlagVia },
    /// A message was edited at `at` (the edit's own time).
    Edited { key: MessageKey, text: String, at: DateTime<Utc> },
    /// A message was deleted.
    Deleted { key: MessageKey, at: DateTime<Utc> },
    /// A moderator cleared the message's timeline reactions at once.
    ReactionsCleared { key: MessageKey },
    /// Time passed: reminders that are due now are sent.
    Tick,
    /// A notification about a group of alerts, and the rule it matched.
    Alert { batch: AlertBatch, rule: Option<AlertMatch> },
    /// Something said in an incident's room on the web.
    Say { incident: IncidentId, text: String },
}

/// What the first matching alert rule makes of a group's alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMatch {
    pub rule: String,
    /// `None`: the default severity.
    pub severity: Option<String>,
    pub title: String,
    pub private: bool,
    /// Teams to invite and page.
    pub teams: Vec<String>,
}

/// A command as typed (Slack, the console) or as named options (Discord, the web).
#[derive(Debug, Clone)]
pub enum CommandInput {
    Text(String),
    Options { subcommand: String, options: Vec<(String, OptionValue)> },
}

impl Inbound {
    pub fn new(ctx: Ctx, event: Event) -> Self {
        Self { ctx, event }
    }

    /// `/incident <text>`.
    pub fn command(ctx: Ctx, text: impl Into<String>) -> Self {
        Self::new(ctx, Event::Command(CommandInput::Text(text.into())))
    }

    /// The clock's tick, from tocsin itself.
    pub fn tick() -> Self {
        let me = UserRef::named(Platform::Console, "tocsin", "tocsin");
        let ctx = Ctx { user: me, channel: ChannelRef::new(Platform::Console, ""), event_id: None };
        Self::new(ctx, Event::Tick)
    }
}

/// A platform's messages as the engine needs to see them when a reaction
/// flags one, and its people's names: the adapter implements it with its
/// platform's API.
#[async_trait]
pub trait MessageSource: Send + Sync {
    /// The message as the platform shows it now, and whether `reactor` has
    /// the timeline reaction on it; `None` when the message is gone.
    async fn look(&self, key: &MessageKey, reactor: &str) -> Result<Option<Seen>, ChatError>;
    /// Whether `user` has the timeline reaction on the message now.
    async fn reacted(&self, key: &MessageKey, user: &str) -> Result<bool, ChatError>;
    /// How the platform names the person with this id, when it says; the
    /// engine asks once, when the person enters the record.
    async fn name(&self, _user: &str) -> Option<String> {
        None
    }
}

/// A message looked up for a reaction flag.
#[derive(Debug, Clone)]
pub struct Seen {
    pub message: FlaggedMessage,
    pub reacted: bool,
}
