//! The HTTP server: health, metrics and the public status page; the platform
//! endpoints mount here as adapters are enabled.

pub mod discord;
pub mod discord_gateway;
mod pages;
pub mod slack;
pub mod slack_socket;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::sync::watch;
use tracing::info;

use crate::app::{App, SystemClock};
use crate::chat::ChatApi;
use crate::chat::discord::client::DiscordChat;
use crate::chat::slack::client::SlackChat;
use crate::cli::{CliError, CliResult, open_store, outbox};
use crate::config::{Config, DiscordInteractions};
use crate::incident::Platform;
use crate::outbox::Outbox;
use crate::store::Store;

/// What the handlers share.
#[derive(Clone)]
pub struct ServerState {
    pub store: Arc<dyn Store>,
    pub outbox: Outbox,
    pub app: Arc<App>,
    /// Present when the `[slack]` section is.
    pub slack: Option<Arc<slack::SlackState>>,
    /// Present when the `[discord]` section is.
    pub discord: Option<Arc<discord::DiscordState>>,
}

pub fn router(state: ServerState) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(pages::healthz))
        .route("/readyz", get(pages::readyz))
        .route("/metrics", get(pages::metrics))
        .route("/status", get(pages::status));
    if state.slack.is_some() {
        router = router.merge(slack::routes());
    }
    if state.discord.as_ref().is_some_and(|d| d.verifier.is_some()) {
        router = router.merge(discord::routes());
    }
    router.with_state(state)
}

/// A running server: its address, and how to stop it.
pub struct Running {
    pub addr: std::net::SocketAddr,
    socket: Option<slack_socket::Listener>,
    gateway: Option<discord_gateway::Gateway>,
    stop: watch::Sender<bool>,
    http: tokio::task::JoinHandle<std::io::Result<()>>,
    worker: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, stops the worker.
    pub async fn stop(self) -> CliResult {
        if let Some(listener) = &self.socket {
            listener.shutdown().await;
        }
        if let Some(gateway) = self.gateway {
            gateway.shutdown().await;
        }
        let _ = self.stop.send(true);
        let served = self.http.await.map_err(anyhow::Error::from)?;
        let _ = self.worker.await;
        served?;
        Ok(())
    }
}

/// Migrates, binds `server.listen` (port 0 picks a free one), starts the
/// outbox worker and the HTTP server.
pub async fn start(config: Config) -> Result<Running, CliError> {
    let started = std::time::Instant::now();
    let store = open_store(&config).await?;
    let mut apis: Vec<Arc<dyn ChatApi>> = Vec::new();
    let mut platforms = Vec::new();
    let slack = config.slack.as_ref().map(|c| {
        let chat = Arc::new(SlackChat::new(&c.bot_token, &c.api_base_url));
        apis.push(chat.clone());
        platforms.push(Platform::Slack);
        Arc::new(slack::SlackState {
            signing_secret: c.signing_secret.clone(),
            chat,
            reaction: c.timeline_reaction.clone(),
        })
    });
    let discord = match &config.discord {
        Some(c) => {
            let chat = Arc::new(DiscordChat::new(c));
            apis.push(chat.clone());
            platforms.push(Platform::Discord);
            let verifier = match c.interactions {
                DiscordInteractions::Gateway => None,
                DiscordInteractions::Http => Some(verifier(&config, &c.public_key)?),
            };
            Some(Arc::new(discord::DiscordState {
                chat,
                verifier,
                reaction: c.timeline_reaction.clone(),
                gateway_leader: Default::default(),
            }))
        }
        None => None,
    };
    if config.slack.is_none() && config.discord.is_none() {
        info!(
            "no [slack] or [discord] section: serving HTTP and the outbox only; `tocsin console` runs a local chat room"
        );
    }
    let outbox = outbox(&config, store.clone(), apis)?;
    let listen = config.server.listen.clone();
    let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| {
        CliError::usage(format!(
            "{}: server.listen: cannot listen on {listen}: {e}",
            config.source()
        ))
    })?;
    let addr = listener.local_addr()?;
    let (stop, stop_rx) = watch::channel(false);
    let worker = tokio::spawn(outbox.clone().run(stop_rx.clone()));
    tokio::spawn(crate::cli::retention::purge_periodically(store.clone(), stop_rx.clone()));
    let app = App::new(store.clone(), &config, &platforms, Arc::new(SystemClock))
        .with_outbox_notifier(outbox.notifier());
    let state = ServerState { store: store.clone(), outbox, app: Arc::new(app), slack, discord };
    let gateway = match (&config.discord, &state.discord) {
        (Some(c), Some(d)) => Some(discord_gateway::start(c, state.clone(), d.clone())),
        _ => None,
    };
    let socket = match (&config.slack, &state.slack) {
        (Some(c), Some(s)) if c.app_token.is_some() => {
            let token = c.app_token.as_deref().unwrap_or_default();
            let listener = slack_socket::start(token, &c.api_base_url, state.clone(), s.clone())
                .await
                .map_err(|e| anyhow::anyhow!("Slack Socket Mode could not connect: {e}"))?;
            info!("Slack Socket Mode connected");
            Some(listener)
        }
        _ => None,
    };
    let app = router(state);
    let mut http_stop = stop_rx;
    let http = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = http_stop.wait_for(|stopped| *stopped).await;
            })
            .await
    });
    info!(%addr, backend = store.backend(), ready_ms = started.elapsed().as_millis() as u64, "tocsin is ready");
    Ok(Running { addr, socket, gateway, stop, http, worker })
}

/// The interactions endpoint's signature checker for `public_key` (hex).
fn verifier(
    config: &Config,
    public_key: &str,
) -> Result<serenity::interactions_endpoint::Verifier, CliError> {
    let mut key = [0u8; 32];
    let bad = || {
        CliError::usage(format!(
            "{}: discord.public_key: is not an Ed25519 public key",
            config.source()
        ))
    };
    hex::decode_to_slice(public_key, &mut key).map_err(|_| bad())?;
    serenity::interactions_endpoint::Verifier::try_new(key).map_err(|_| bad())
}

/// `tocsin serve`: start, then run until Ctrl-C or SIGTERM.
pub async fn serve(config: Config) -> CliResult {
    let running = start(config).await?;
    shutdown_signal().await;
    info!("stopping");
    running.stop().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
