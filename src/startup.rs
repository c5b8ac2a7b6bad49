//! Wiring: opens the store, builds the outbox and the engine, starts the
//! workers, the purge loop, each configured platform and the HTTP server.
//! `tocsin serve` and `tocsin console` both start here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::info;

use crate::app::{App, MessageSource};
use crate::chat::discord::{self, DiscordState, client::DiscordChat, gateway};
use crate::chat::slack::{self, SlackState, client::SlackChat, lookups::Lookups, socket};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, DiscordInteractions};
use crate::incident::Platform;
use crate::outbox::{ChatApi, Outbox, PostmortemSettings, RetryPolicy};
use crate::server::{self, Health, Metrics};
use crate::store::{self, Store, StoreError};

/// Why tocsin could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting that cannot work, named with its file and key.
    #[error("{0}")]
    Config(String),
    #[error("cannot open the database {url}: {source}")]
    Database { url: String, source: StoreError },
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Opens the configured database (applying migrations), naming it on failure.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StartupError> {
    let url = &config.database.url;
    store::connect(url).await.map_err(|source| StartupError::Database { url: redact(url), source })
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// What a test may change about how tocsin runs: the clock it reads, and
/// how the outbox retries.
#[derive(Clone)]
pub struct Options {
    pub clock: Arc<dyn Clock>,
    pub retry: RetryPolicy,
}

impl Default for Options {
    fn default() -> Self {
        Self { clock: Arc::new(SystemClock), retry: RetryPolicy::default() }
    }
}

/// The engine: the store, the outbox with these platforms' clients, and the App.
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub outbox: Outbox,
    pub app: Arc<App>,
}

/// Opens the store and builds the outbox and the App for `apis`; `sources`
/// read messages flagged by reaction.
pub async fn engine(
    config: &Config,
    apis: Vec<Arc<dyn ChatApi>>,
    sources: Vec<(Platform, Arc<dyn MessageSource>)>,
    options: &Options,
) -> Result<Engine, StartupError> {
    let store = open_store(config).await?;
    let platforms: Vec<Platform> = apis.iter().map(|a| a.platform()).collect();
    let settings =
        PostmortemSettings { rules: config.rules(), template: config.postmortem.text.clone() };
    let worker = format!("{}-{}", hostname(), std::process::id());
    let (clock, retry) = (options.clock.clone(), options.retry.clone());
    let mut outbox = Outbox::new(store.clone(), apis, settings, retry, &worker, clock.clone());
    if let Some(paging) = crate::paging::Paging::new(config) {
        outbox = outbox.with_notifier(Arc::new(paging));
    }
    let mut app =
        App::new(store.clone(), config, &platforms, clock).with_outbox_notifier(outbox.notifier());
    for (platform, source) in sources {
        app = app.with_source(platform, source);
    }
    Ok(Engine { store, outbox, app: Arc::new(app) })
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "tocsin".into())
}

/// A running `tocsin serve`: its address, and how to stop it.
pub struct Running {
    pub addr: SocketAddr,
    socket: Option<socket::Listener>,
    gateway: Option<gateway::Gateway>,
    stop: watch::Sender<bool>,
    http: tokio::task::JoinHandle<std::io::Result<()>>,
    worker: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, stops the worker.
    pub async fn stop(self) -> Result<(), StartupError> {
        if let Some(listener) = &self.socket {
            listener.shutdown().await;
        }
        if let Some(gateway) = self.gateway {
            gateway.shutdown().await;
        }
        let _ = self.stop.send(true);
        let served = self.http.await.map_err(anyhow::Error::from)?;
        let _ = self.worker.await;
        served.map_err(anyhow::Error::from)?;
        Ok(())
    }
}

/// Migrates, binds `server.listen` (port 0 picks a free one), starts the
/// outbox worker, the purge loop, the platforms and the HTTP server.
pub async fn start(config: Config) -> Result<Running, StartupError> {
    start_with(config, Options::default()).await
}

/// [`start`] with a clock and retry policy of the caller's.
pub async fn start_with(mut config: Config, options: Options) -> Result<Running, StartupError> {
    let started = Instant::now();
    if config.alerts.as_ref().is_some_and(|a| a.platform == Platform::Console) {
        return Err(StartupError::Config(format!(
            "{}: alerts: needs [slack] or [discord] for the incidents alerts open (`tocsin console` tries the rules with :alert)",
            config.source()
        )));
    }
    let slack_chat =
        config.slack.as_ref().map(|c| Arc::new(SlackChat::new(&c.bot_token, &c.api_base_url)));
    let discord_chat = config.discord.as_ref().map(|c| Arc::new(DiscordChat::new(c)));
    let slack_lookups = slack_chat.as_ref().map(|chat| Lookups::new(chat.clone()));
    let mut apis: Vec<Arc<dyn ChatApi>> = Vec::new();
    let mut sources: Vec<(Platform, Arc<dyn MessageSource>)> = Vec::new();
    if let (Some(c), Some(chat), Some(lookups)) = (&config.slack, &slack_chat, &slack_lookups) {
        apis.push(chat.clone());
        let source = SlackState::source(chat.clone(), lookups.clone(), &c.timeline_reaction);
        sources.push((Platform::Slack, source));
        // Links to flagged messages are made from the workspace's address.
        let learn = chat.clone();
        tokio::spawn(async move { learn.learn_workspace().await });
    }
    if let (Some(c), Some(chat)) = (&config.discord, &discord_chat) {
        apis.push(chat.clone());
        sources.push((Platform::Discord, DiscordState::source(chat.clone(), &c.timeline_reaction)));
    }
    if apis.is_empty() {
        info!(
            "no [slack] or [discord] section: serving HTTP and the outbox only; `tocsin console` runs a local chat room"
        );
    }
    let listen = config.server.listen.clone();
    let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| {
        StartupError::Config(format!(
            "{}: server.listen: cannot listen on {listen}: {e}",
            config.source()
        ))
    })?;
    let addr = listener.local_addr().map_err(anyhow::Error::from)?;
    // Port 0 became a real port: links to the web pages name that one.
    config.server.listen = addr.to_string();
    let Engine { store, outbox, app } = engine(&config, apis, sources, &options).await?;
    let (stop, stop_rx) = watch::channel(false);
    let worker = tokio::spawn(outbox.clone().run(stop_rx.clone()));
    let retention = chrono::Duration::days(i64::from(config.database.retention_days));
    tokio::spawn(purge_periodically(store.clone(), retention, stop_rx.clone()));
    tokio::spawn(app.clone().remind_periodically(stop_rx.clone()));

    let mut surfaces = Vec::new();
    let mut metrics: Vec<Metrics> = Vec::new();
    let mut socket = None;
    if let Some(lookups) = slack_lookups {
        metrics.push(Arc::new(move |out: &mut String| lookups.metrics(out)));
    }
    if let (Some(c), Some(chat)) = (&config.slack, slack_chat) {
        let state = Arc::new(SlackState {
            app: app.clone(),
            signing_secret: c.signing_secret.to_string(),
            chat,
            reaction: c.timeline_reaction.clone(),
        });
        surfaces.push(slack::routes(state.clone()));
        if let Some(token) = &c.app_token {
            let listener = socket::start(token, &c.api_base_url, state)
                .await
                .map_err(|e| anyhow::anyhow!("Slack Socket Mode could not connect: {e}"))?;
            info!("Slack Socket Mode connected");
            socket = Some(listener);
        }
    }
    let mut gw = None;
    if let (Some(c), Some(chat)) = (&config.discord, discord_chat) {
        let verifier = match c.interactions {
            DiscordInteractions::Gateway => None,
            DiscordInteractions::Http => {
                Some(discord::verify::verifier(&c.public_key).ok_or_else(|| {
                    StartupError::Config(format!(
                        "{}: discord.public_key: is not an Ed25519 public key",
                        config.source()
                    ))
                })?)
            }
        };
        let http = verifier.is_some();
        let state = Arc::new(DiscordState {
            app: app.clone(),
            chat,
            verifier,
            reaction: c.timeline_reaction.clone(),
            gateway_leader: Default::default(),
        });
        if http {
            surfaces.push(discord::routes(state.clone()));
        }
        let d = state.clone();
        metrics.push(Arc::new(move |out: &mut String| d.metrics(out)));
        gw = Some(gateway::start(c, state));
    }

    if let Some(alerts) = &config.alerts {
        let state =
            crate::alerts::AlertsState::new(app.clone(), alerts, &config.incidents.severities);
        surfaces.push(crate::alerts::routes(Arc::new(state)));
    }
    let web = crate::web::WebState {
        app: app.clone(),
        outbox: outbox.clone(),
        secure: config.web_base().starts_with("https://"),
        discord_guild: config.discord.as_ref().map(|d| d.guild_id.clone()),
        severities: config.incidents.severities.clone(),
        hours: config.report.clone(),
        postmortem_template: config.postmortem.text.clone(),
        status_page: config.status_page.clone(),
        status_cache: Default::default(),
    };
    surfaces.push(crate::web::routes(Arc::new(web)));
    let counts = app.alert_counts();
    metrics.push(Arc::new(move |out: &mut String| counts.metrics(out)));
    let timings = app.timings();
    metrics.push(Arc::new(move |out: &mut String| timings.metrics(out)));
    let batching = store.clone();
    metrics.push(Arc::new(move |out: &mut String| batching.batching().metrics(out)));
    let health = Health { store: store.clone(), outbox, metrics: Arc::new(metrics) };
    let router = server::router(health, surfaces);
    let limits = server::Limits::new(
        Duration::from_secs(u64::from(config.server.header_timeout_seconds)),
        config.server.max_connections as usize,
    );
    let http = tokio::spawn(server::serve(listener, router, limits, stop_rx));
    info!(%addr, backend = store.backend(), ready_ms = started.elapsed().as_millis() as u64, "tocsin is ready");
    Ok(Running { addr, socket, gateway: gw, stop, http, worker })
}

/// `tocsin serve`: start, then run until Ctrl-C or SIGTERM.
pub async fn serve(config: Config) -> Result<(), StartupError> {
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

/// Every ten minutes: purges incident records past their grace period,
/// prunes delivered outbox rows and inbox rows older than `retention`, and
/// forgets expired web links and sessions.
async fn purge_periodically(
    store: Arc<dyn Store>,
    retention: chrono::Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        prune(&*store, chrono::Utc::now() - retention).await;
        if let Err(e) = store.prune_web(chrono::Utc::now()).await {
            tracing::warn!(error = %e, "pruning expired web sign-ins failed; will try again");
        }
        match store.purge_due(chrono::Utc::now(), "tocsin").await {
            Ok(ids) if !ids.is_empty() => {
                let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
                info!(purged = %ids.join(", "), "purged incidents past their grace period")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purge failed; will try again"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(600)) => {} // the purge interval
            _ = async { let _ = stop.wait_for(|s| *s).await; } => return,
        }
    }
}

/// Prunes in small batches, so that commands are never held up for long.
pub async fn prune(store: &dyn Store, before: chrono::DateTime<chrono::Utc>) {
    const BATCH: i64 = 1_000;
    let (mut outbox, mut inbox) = (0, 0);
    loop {
        match store.prune(before, BATCH).await {
            Ok((o, i)) => {
                outbox += o;
                inbox += i;
                if o < BATCH as u64 && i < BATCH as u64 {
                    break;
                }
                tokio::task::yield_now().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "pruning old rows failed; will try again");
                break;
            }
        }
    }
    if outbox + inbox > 0 {
        info!(outbox, inbox, "pruned delivered rows and remembered events past their retention");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_database_password_is_not_shown() {
        assert_eq!(
            super::redact("postgres://bot:s3cret@db:5432/tocsin"),
            "postgres://bot:***@db:5432/tocsin"
        );
        assert_eq!(super::redact("sqlite://tocsin.db"), "sqlite://tocsin.db");
    }
}
