//! The real engine (App + Outbox + store) wired to in-memory chat doubles.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tocsin::app::{App, Ctx, Event, Inbound, Reply};
use tocsin::clock::ManualClock;
use tocsin::config::{Config, DiscordConfig, SlackConfig, TeamConfig};
use tocsin::incident::{ChannelRef, FlagVia, FlaggedMessage, MessageKey, Platform, UserRef};
use tocsin::outbox::ChatApi;
use tocsin::outbox::{Outbox, PostmortemSettings, RetryPolicy};
use tocsin::store::{self, Store};

use super::chat::MemoryChat;

pub const ANNOUNCE: &str = "CANNOUNCE";

pub struct Engine<C = MemoryChat> {
    pub app: Arc<App>,
    pub outbox: Outbox,
    pub store: Arc<dyn Store>,
    /// The one platform's client (named for the usual one).
    pub slack: Arc<C>,
    pub platform: Platform,
    /// The clock the engine and the outbox read; tests drive it.
    pub clock: Arc<ManualClock>,
}

/// Retries fast, so outage tests finish quickly.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        lease: Duration::from_secs(2),
        ..RetryPolicy::default()
    }
}

impl Engine<MemoryChat> {
    /// One platform ("slack", served by the in-memory double) with an announce channel and a team.
    pub async fn start(url: &str) -> Self {
        let slack = Arc::new(MemoryChat::new(Platform::Slack, &["CGENERAL", ANNOUNCE, "CSTAKE"]));
        Self::start_with(url, slack).await
    }
}

impl<C: ChatApi + 'static> Engine<C> {
    /// The engine with `chat` as its Slack.
    pub async fn start_with(url: &str, slack: Arc<C>) -> Self {
        Self::start_on(url, ANNOUNCE, slack, &["UDAVE", "UERIN"]).await
    }

    /// The engine with `chat` as its one platform, announcing in `announce`,
    /// with a team "payments" of `team`.
    pub async fn start_on(url: &str, announce: &str, chat: Arc<C>, team: &[&str]) -> Self {
        Self::build(url, announce, chat, team, quick_retries()).await
    }

    /// The engine with `chat` as its Slack and the outbox's own retry policy:
    /// backoff up to five minutes, for tests that drive the clock through long outages.
    pub async fn start_patient(url: &str, chat: Arc<C>) -> Self {
        Self::build(url, ANNOUNCE, chat, &["UDAVE", "UERIN"], RetryPolicy::default()).await
    }

    async fn build(
        url: &str,
        announce: &str,
        chat: Arc<C>,
        team: &[&str],
        policy: RetryPolicy,
    ) -> Self {
        let platform = chat.platform();
        let slack = chat;
        let mut config = Config::default();
        let members: Vec<String> = team.iter().map(|s| s.to_string()).collect();
        let mut team = TeamConfig { name: "payments".into(), ..Default::default() };
        if platform == Platform::Discord {
            let mut dc = DiscordConfig::new("t", "1", "ab".repeat(32), "1");
            dc.announce_channel = Some(announce.into());
            config.discord = Some(dc);
            team.discord_users = members;
        } else {
            let mut slack_config = SlackConfig::new("xoxb-test", "secret");
            slack_config.announce_channel = Some(announce.into());
            config.slack = Some(slack_config);
            team.slack_users = members;
        }
        config.teams = vec![team];
        let store = store::connect(url).await.expect("store");
        let clock = Arc::new(ManualClock::new());
        let dyn_clock: Arc<dyn tocsin::clock::Clock> = clock.clone();
        let settings = PostmortemSettings { rules: config.rules(), template: None };
        let apis: Vec<Arc<dyn ChatApi>> = vec![slack.clone()];
        let outbox = Outbox::new(store.clone(), apis, settings, policy, "test-worker", dyn_clock);
        let app = Arc::new(App::new(store.clone(), &config, &[platform], clock.clone()));
        Self { app, outbox, store, slack, platform, clock }
    }

    pub async fn run(&self, user: &str, channel: &str, text: &str) -> Reply {
        self.app.handle(Inbound::command(ctx_on(self.platform, user, channel), text)).await
    }

    /// `ctx.user` flags `msg` (which comes with the event, as an action's does).
    pub async fn flag(&self, ctx: &Ctx, msg: FlaggedMessage, via: FlagVia) -> Reply {
        let event = Event::Flag { key: msg.key.clone(), via, message: Some(msg) };
        self.app.handle(Inbound::new(ctx.clone(), event)).await
    }

    pub async fn unflag(&self, ctx: &Ctx, key: &MessageKey, via: FlagVia) -> Reply {
        let event = Event::Unflag { key: key.clone(), via };
        self.app.handle(Inbound::new(ctx.clone(), event)).await
    }

    pub async fn message_deleted(&self, ctx: &Ctx, key: &MessageKey, at: DateTime<Utc>) -> Reply {
        let event = Event::Deleted { key: key.clone(), at };
        self.app.handle(Inbound::new(ctx.clone(), event)).await
    }

    /// Delivers until the outbox is empty, waiting out retry delays, within a deadline.
    pub async fn deliver_all(&self) {
        let store = self.store.clone();
        let outbox = self.outbox.clone();
        super::eventually("the outbox to drain", Duration::from_secs(20), || {
            let store = store.clone();
            let outbox = outbox.clone();
            async move {
                outbox.drain().await.expect("drain");
                store.outbox_stats().await.expect("stats").pending == 0
            }
        })
        .await;
    }

    /// The incident's channel id on the double.
    pub async fn channel_of(&self, id: i64) -> String {
        let ch = self
            .store
            .channel(tocsin::incident::IncidentId(id), self.platform)
            .await
            .expect("store");
        ch.expect("the incident channel was opened").0
    }
}

/// Who acts where, on Slack.
pub fn ctx(user: &str, channel: &str) -> Ctx {
    ctx_on(Platform::Slack, user, channel)
}

pub fn ctx_on(platform: Platform, user: &str, channel: &str) -> Ctx {
    Ctx {
        user: UserRef::new(platform, user),
        channel: ChannelRef::new(platform, channel),
        event_id: None,
    }
}
