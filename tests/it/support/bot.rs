//! `tocsin serve` started in-process on port 0 with the platform doubles wired
//! in through `api_base_url`: Discord always (gateway and REST), Slack when asked.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tocsin::config::{Config, DiscordConfig, DiscordInteractions, SlackConfig, TeamConfig};
use tocsin::incident::{IncidentId, MessageKey, Platform, TimelineEntry};
use tocsin::startup::Options;
use tocsin::store::Store;

use super::discord_api::DiscordApi;
use super::eventually;
use super::http::{request, slack_command_body, slack_signed};
use super::slack_api::SlackApi;

pub const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
/// The Discord application's signing key (the double's side of it).
pub const DISCORD_SIGNING_KEY: [u8; 32] = [9; 32];

/// Discord channels and people in the double.
pub const GENERAL: &str = "100000000000000001";
pub const ANNOUNCE: &str = "100000000000000002";
pub const STAKE: &str = "100000000000000003";
pub const ALICE: &str = "200000000000000001";
pub const BOB: &str = "200000000000000002";
pub const CAROL: &str = "200000000000000003";
pub const DAVE: &str = "200000000000000004";

pub struct Bot {
    pub server: tocsin::startup::Running,
    pub discord: DiscordApi,
    pub slack: Option<SlackApi>,
    pub store: Arc<dyn Store>,
}

pub fn public_key() -> String {
    let key = ed25519_dalek::SigningKey::from_bytes(&DISCORD_SIGNING_KEY);
    hex::encode(key.verifying_key().to_bytes())
}

impl Bot {
    pub async fn start(url: &str, interactions: DiscordInteractions, with_slack: bool) -> Self {
        Self::start_with(url, interactions, with_slack, |_, _| {}).await
    }

    /// Like [`Bot::start`], with the configuration changed by `tweak` before it starts.
    pub async fn start_with(
        url: &str,
        interactions: DiscordInteractions,
        with_slack: bool,
        tweak: impl FnOnce(&mut Config, &mut Options),
    ) -> Self {
        super::logs();
        let discord = DiscordApi::start(
            &[(GENERAL, "general"), (ANNOUNCE, "announce"), (STAKE, "stakeholders")],
            &[ALICE, BOB, CAROL, DAVE],
        )
        .await;
        let mut config = Config::default();
        config.server.listen = "127.0.0.1:0".into();
        config.database.url = url.into();
        let mut dc = DiscordConfig::new(
            "discord-bot-token",
            crate::support::discord_api::APP_ID,
            public_key(),
            crate::support::discord_api::GUILD,
        );
        dc.api_base_url = discord.base_url();
        dc.category_id = Some(crate::support::discord_api::CATEGORY.into());
        dc.announce_channel = Some(ANNOUNCE.into());
        dc.interactions = interactions;
        config.discord = Some(dc);
        config.teams = vec![TeamConfig {
            name: "payments".into(),
            discord_users: vec![CAROL.into(), DAVE.into()],
            ..Default::default()
        }];
        let slack = if with_slack {
            let api = SlackApi::start(
                &[("CGENERAL", "general"), ("CANNOUNCE", "announce"), ("CSTAKE", "stakeholders")],
                &["UALICE", "UBOB"],
            )
            .await;
            let mut sc = SlackConfig::new("xoxb-test-token", SLACK_SECRET);
            sc.api_base_url = api.base_url();
            sc.announce_channel = Some("CANNOUNCE".into());
            config.slack = Some(sc);
            Some(api)
        } else {
            None
        };
        let mut options = Options::default();
        tweak(&mut config, &mut options);
        let server = tocsin::startup::start_with(config, options).await.expect("server starts");
        let store = tocsin::store::connect(url).await.unwrap();
        let bot = Self { server, discord, slack, store };
        if interactions == DiscordInteractions::Gateway {
            let d = bot.discord.clone();
            eventually("the gateway session to be ready", Duration::from_secs(10), || {
                let d = d.clone();
                async move { d.gateway_sessions() >= 1 }
            })
            .await;
        }
        bot
    }

    /// `/incident <sub>` over the gateway; returns what the person was told.
    pub async fn command(&self, user: &str, channel: &str, sub: &str, options: Value) -> String {
        let (id, payload) = self.discord.command_interaction(user, channel, sub, options);
        self.discord.dispatch("INTERACTION_CREATE", payload.clone());
        self.answer(&id, &payload).await
    }

    /// "Add to timeline" on a message, over the gateway.
    pub async fn add_to_timeline(&self, user: &str, channel: &str, message: &str) -> String {
        let (id, payload) = self.discord.message_interaction(user, channel, message);
        self.discord.dispatch("INTERACTION_CREATE", payload.clone());
        self.answer(&id, &payload).await
    }

    /// The ephemeral answer to an interaction, following a deferral through.
    pub async fn answer(&self, id: &str, payload: &Value) -> String {
        let d = self.discord.clone();
        let id2 = id.to_string();
        eventually("the interaction to be answered", Duration::from_secs(10), || {
            let d = d.clone();
            let id = id2.clone();
            async move { d.callback(&id).is_some() }
        })
        .await;
        let cb = self.discord.callback(id).unwrap();
        assert_eq!(cb["data"]["flags"], 64, "answers are ephemeral: {cb}");
        if cb["type"] == 4 {
            assert_eq!(cb["data"]["allowed_mentions"]["parse"], json!([]));
            return cb["data"]["content"].as_str().unwrap().to_string();
        }
        assert_eq!(cb["type"], 5, "deferred otherwise: {cb}");
        let token = payload["token"].as_str().unwrap().to_string();
        let d = self.discord.clone();
        let t2 = token.clone();
        eventually("the deferred answer to follow", Duration::from_secs(20), || {
            let d = d.clone();
            let t = t2.clone();
            async move { d.followups().iter().any(|(tok, _)| *tok == t) }
        })
        .await;
        let f = self.discord.followups().into_iter().find(|(t, _)| *t == token).unwrap().1;
        f["content"].as_str().unwrap().to_string()
    }

    /// `/incident <text>` from Slack, signed.
    pub async fn slack_command(&self, user: &str, channel: &str, text: &str) -> String {
        let body = slack_command_body(user, channel, text);
        let headers = slack_signed(SLACK_SECRET, &body, "application/x-www-form-urlencoded");
        let (status, reply) =
            request(self.server.addr, "POST", "/slack/commands", &headers, body.as_bytes()).await;
        assert_eq!(status, 200, "{reply}");
        let v: Value = serde_json::from_str(&reply).expect("JSON reply");
        v["text"].as_str().unwrap().to_string()
    }

    /// The incident's channel on `platform`, once the outbox has opened it.
    pub async fn channel_of(&self, id: i64, platform: Platform) -> String {
        let store = self.store.clone();
        eventually("the incident channel to be opened", Duration::from_secs(20), || {
            let store = store.clone();
            async move { store.channel(IncidentId(id), platform).await.unwrap().is_some() }
        })
        .await;
        let ch = self.store.channel(IncidentId(id), platform).await.unwrap();
        ch.expect("the incident channel was opened").0
    }

    pub async fn entry(&self, channel: &str, message: &str) -> Option<TimelineEntry> {
        let key = MessageKey {
            platform: Platform::Discord,
            channel: channel.into(),
            message: message.into(),
        };
        self.store.entry(&key).await.unwrap().map(|v| v.value)
    }

    /// Waits until the outbox has nothing left to deliver.
    pub async fn settled(&self) {
        let store = self.store.clone();
        eventually("the outbox to drain", Duration::from_secs(30), || {
            let store = store.clone();
            async move { store.outbox_stats().await.unwrap().pending == 0 }
        })
        .await;
    }
}
