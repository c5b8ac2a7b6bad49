//! The Discord gateway, through serenity: interactions (in the default
//! `interactions = "gateway"` mode) and the events HTTP cannot deliver —
//! reactions, edits and deletions of messages.

use std::sync::Arc;
use std::time::Duration;

use serenity::all::{
    ChannelId, Context, EventHandler, GatewayIntents, GuildId, Interaction, Message, MessageId,
    MessageUpdateEvent, Reaction, ReactionType, Ready,
};
use serenity::client::ClientBuilder;
use serenity::gateway::ShardManager;
use serenity::http::HttpBuilder;
use tokio::sync::watch;
use tracing::{error, info, warn};

use super::endpoint::{DiscordState, answer, ctx, ids, key, on_event};
use super::events::from_interaction;
use crate::app::{Event, Inbound};
use crate::config::DiscordConfig;
use crate::incident::{FlagVia, Platform, UserRef};

/// What tocsin asks the gateway for. MESSAGE_CONTENT (privileged) lets it read
/// the text of a message flagged by reaction and of its edits.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::GUILD_MESSAGE_REACTIONS
        | GatewayIntents::MESSAGE_CONTENT
}

struct Handler {
    discord: Arc<DiscordState>,
}

impl Handler {
    fn emoji(r: &ReactionType) -> String {
        match r {
            ReactionType::Unicode(s) => s.clone(),
            ReactionType::Custom { id, name, .. } => {
                format!("{}:{id}", name.as_deref().unwrap_or_default())
            }
            other => other.to_string(),
        }
    }

    /// The timeline reaction in tocsin's terms (who, channel, message);
    /// `None` for any other reaction.
    fn reaction(&self, r: &Reaction) -> Option<(UserRef, String, String)> {
        let user = r.user_id?.to_string();
        (Self::emoji(&r.emoji) == self.discord.reaction).then(|| {
            let mut who = UserRef::new(Platform::Discord, user);
            // A guild reaction carries the member: their server nickname first.
            who.name = r.member.as_ref().map(|m| {
                m.nick.clone().or_else(|| m.user.global_name.clone()).unwrap_or(m.user.name.clone())
            });
            (who, r.channel_id.to_string(), r.message_id.to_string())
        })
    }

    /// Who the platform's own events are recorded as.
    fn system() -> UserRef {
        UserRef::new(Platform::Discord, "discord")
    }

    async fn event(&self, user: UserRef, channel: &str, event: Event) {
        on_event(&self.discord, Inbound::new(ctx(user, channel, None), event)).await;
    }
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _: Context, ready: Ready) {
        info!(user = ready.user.name, "Discord gateway connected");
    }

    async fn interaction_create(&self, _: Context, interaction: Interaction) {
        let received = std::time::Instant::now();
        let inbound = from_interaction(&interaction);
        let Some((id, token)) = ids(&inbound) else { return };
        let reply = answer(&self.discord, inbound).await;
        if let Err(e) = self.discord.chat.answer(&id, &token, &reply, received).await {
            warn!(error = %e, "could not answer a Discord interaction");
        }
    }

    async fn reaction_add(&self, _: Context, r: Reaction) {
        if let Some((user, channel, message)) = self.reaction(&r) {
            let event =
                Event::Flag { key: key(&channel, &message), via: FlagVia::Reaction, message: None };
            self.event(user, &channel, event).await;
        }
    }

    async fn reaction_remove(&self, _: Context, r: Reaction) {
        if let Some((user, channel, message)) = self.reaction(&r) {
            let event = Event::Unflag { key: key(&channel, &message), via: FlagVia::Reaction };
            self.event(user, &channel, event).await;
        }
    }

    async fn reaction_remove_all(&self, _: Context, c: ChannelId, m: MessageId) {
        let (channel, message) = (c.to_string(), m.to_string());
        let event = Event::ReactionsCleared { key: key(&channel, &message) };
        self.event(Self::system(), &channel, event).await;
    }

    async fn reaction_remove_emoji(&self, _: Context, r: Reaction) {
        if Self::emoji(&r.emoji) != self.discord.reaction {
            return;
        }
        let (channel, message) = (r.channel_id.to_string(), r.message_id.to_string());
        let event = Event::ReactionsCleared { key: key(&channel, &message) };
        self.event(Self::system(), &channel, event).await;
    }

    async fn message_update(
        &self,
        _: Context,
        _: Option<Message>,
        _: Option<Message>,
        e: MessageUpdateEvent,
    ) {
        let Some(content) = e.content else { return };
        let at = e.edited_timestamp.map_or_else(chrono::Utc::now, |t| *t);
        let (channel, message) = (e.channel_id.to_string(), e.id.to_string());
        let event = Event::Edited { key: key(&channel, &message), text: content, at };
        self.event(Self::system(), &channel, event).await;
    }

    async fn message_delete(&self, _: Context, c: ChannelId, m: MessageId, _: Option<GuildId>) {
        let (channel, message) = (c.to_string(), m.to_string());
        let event = Event::Deleted { key: key(&channel, &message), at: chrono::Utc::now() };
        self.event(Self::system(), &channel, event).await;
    }

    async fn message_delete_bulk(
        &self,
        _: Context,
        c: ChannelId,
        ms: Vec<MessageId>,
        _: Option<GuildId>,
    ) {
        let channel = c.to_string();
        for m in ms {
            let event =
                Event::Deleted { key: key(&channel, &m.to_string()), at: chrono::Utc::now() };
            self.event(Self::system(), &channel, event).await;
        }
    }
}

/// The running gateway connection.
pub struct Gateway {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Gateway {
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// How often a replica tries for leadership, and the leader checks it still has it.
const LEAD_CHECK: Duration = Duration::from_secs(2);

/// Runs the gateway in whichever replica holds the "discord-gateway"
/// leadership (always this one on SQLite); a replica that loses it (its
/// database connection died) stops its gateway, and another takes over.
pub fn start(config: &DiscordConfig, discord: Arc<DiscordState>) -> Gateway {
    let (stop, mut stopped) = watch::channel(false);
    let (token, base) = (config.bot_token.to_string(), config.api_base_url.clone());
    let task = tokio::spawn(async move {
        loop {
            let mut lead = match discord.app.store.try_lead("discord-gateway").await {
                Ok(Some(lead)) => lead,
                Ok(None) => {
                    tracing::debug!("another replica runs the Discord gateway");
                    if pause(&mut stopped, LEAD_CHECK).await {
                        return;
                    }
                    continue;
                }
                Err(e) => {
                    warn!(error = %e, "cannot ask the database who runs the Discord gateway");
                    if pause(&mut stopped, LEAD_CHECK).await {
                        return;
                    }
                    continue;
                }
            };
            info!("this replica runs the Discord gateway");
            discord.gateway_leader.store(true, std::sync::atomic::Ordering::Relaxed);
            let (gw_stop, gw_stopped) = watch::channel(false);
            let gw =
                tokio::spawn(connect(token.clone(), base.clone(), discord.clone(), gw_stopped));
            let shutting_down = loop {
                if pause(&mut stopped, LEAD_CHECK).await {
                    break true;
                }
                if !lead.held().await {
                    warn!(
                        "lost the Discord gateway leadership (database connection gone); stopping the gateway"
                    );
                    break false;
                }
            };
            let _ = gw_stop.send(true);
            let _ = gw.await;
            discord.gateway_leader.store(false, std::sync::atomic::Ordering::Relaxed);
            drop(lead);
            if shutting_down {
                return;
            }
        }
    });
    Gateway { stop, task }
}

/// Waits `d`; true when told to stop meanwhile.
async fn pause(stopped: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => *stopped.borrow(), // the leadership check interval
        _ = async { let _ = stopped.wait_for(|s| *s).await; } => true,
    }
}

/// Connects, and reconnects (with backoff) whenever the connection ends for
/// good; serenity itself resumes dropped sessions.
async fn connect(
    token: String,
    base: String,
    discord: Arc<DiscordState>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut wait = Duration::from_secs(1);
    loop {
        // serenity's own rate limiter ignores a proxy (serenity #1739); the
        // gateway makes only a call or two through it.
        let http = HttpBuilder::new(&token).proxy(base.clone()).ratelimiter_disabled(true).build();
        let handler = Handler { discord: discord.clone() };
        let mut client =
            match ClientBuilder::new_with_http(http, intents()).event_handler(handler).await {
                Ok(c) => c,
                Err(e) => {
                    error!(error = %e, "cannot set up the Discord gateway");
                    return;
                }
            };
        let shards: Arc<ShardManager> = client.shard_manager.clone();
        tokio::select! {
            result = client.start() => match result {
                Ok(()) => info!("the Discord gateway closed"),
                Err(e) => warn!(error = %e, retry_in_s = wait.as_secs(), "the Discord gateway failed"),
            },
            _ = async { let _ = stopped.wait_for(|s| *s).await; } => {
                shards.shutdown_all().await;
                return;
            }
        }
        if pause(&mut stopped, wait).await {
            return;
        }
        wait = (wait * 2).min(Duration::from_secs(120));
    }
}
