//! What each `tocsin` subcommand does, behind the clap definitions in main.rs.

mod console;
mod export;
mod report;
pub mod retention;
pub mod web;

use std::fmt;
use std::sync::Arc;

use tracing_subscriber::EnvFilter;

use crate::config::Config;
use crate::startup::{StartupError, redact};
use crate::store::Store;

pub use console::console;
pub use export::{export, export_all, import};
pub use report::report;

/// A failed subcommand and its exit code: 2 for usage or configuration, 1 otherwise.
pub struct CliError {
    error: anyhow::Error,
    code: u8,
}

impl CliError {
    pub fn usage(msg: impl Into<String>) -> Self {
        Self { error: anyhow::anyhow!(msg.into()), code: 2 }
    }

    /// 2 for bad usage or configuration (also a setting `serve` found it
    /// cannot use), 1 for anything else.
    pub fn exit_code(&self) -> u8 {
        match self.error.downcast_ref::<StartupError>() {
            Some(StartupError::Config(_)) => 2,
            _ => self.code,
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for CliError {
    fn from(e: E) -> Self {
        Self { error: e.into(), code: 1 }
    }
}

impl fmt::Debug for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#} (exit code {})", self.error, self.code)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() { write!(f, "{:#}", self.error) } else { write!(f, "{}", self.error) }
    }
}

pub type CliResult = Result<(), CliError>;

/// Logs go to stderr; `RUST_LOG` overrides the level.
pub fn init_logging(verbose: bool) {
    let default = if verbose { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Opens the configured database (applying migrations), naming it on failure.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, CliError> {
    Ok(crate::startup::open_store(config).await?)
}

pub async fn migrate(config: Config) -> CliResult {
    let store = open_store(&config).await?;
    println!("database {} is up to date ({})", redact(&config.database.url), store.backend());
    Ok(())
}

pub fn config_check(config: &Config) -> CliResult {
    println!("{}: ok", config.source());
    println!("  database: {}", redact(&config.database.url));
    println!("  listen: {}", config.server.listen);
    let on = |b: bool| if b { "on" } else { "off" };
    println!("  slack: {}", on(config.slack.is_some()));
    println!("  discord: {}", on(config.discord.is_some()));
    println!("  severities: {}", config.incidents.severities.join(", "));
    let roles: Vec<&str> = config.roles.iter().map(|r| r.key.as_str()).collect();
    println!("  roles: {}", roles.join(", "));
    println!("  teams: {}", config.teams.len());
    match &config.alerts {
        Some(a) => println!("  alerts: on ({} rules, incidents on {})", a.rules.len(), a.platform),
        None => println!("  alerts: off"),
    }
    let paged: Vec<&str> = config
        .teams
        .iter()
        .filter(|t| t.pagerduty_routing_key.is_some() || t.opsgenie_api_key.is_some())
        .map(|t| t.name.as_str())
        .collect();
    println!("  paging: {}", if paged.is_empty() { "off".into() } else { paged.join(", ") });
    println!("  webhooks: {}", config.webhooks.len());
    println!("  working hours: {}", config.report.describe());
    println!("  web pages: {}", config.web_base());
    match &config.status_page {
        Some(p) => println!(
            "  status page: {}/status ({:?}; {})",
            config.web_base(),
            p.title,
            p.components.join(", ")
        ),
        None => println!("  status page: off"),
    }
    Ok(())
}

pub fn manifest_slack(config: &Config) -> CliResult {
    let url = config.server.public_url.as_deref();
    if url.is_none() {
        eprintln!(
            "note: server.public_url is not set, so the manifest turns on Socket Mode; set slack.app_token (xapp-…) to use it"
        );
    }
    let m = crate::chat::slack::manifest::manifest(url);
    println!("{}", serde_json::to_string_pretty(&m)?);
    Ok(())
}

pub async fn commands_discord(config: &Config, register: bool) -> CliResult {
    use crate::chat::discord::commands::{Choices, application_commands};
    let roles: Vec<String> = config.roles.iter().map(|r| r.key.clone()).collect();
    let teams: Vec<String> = config.teams.iter().map(|t| t.name.clone()).collect();
    let choices =
        Choices { severities: &config.incidents.severities, roles: &roles, teams: &teams };
    let commands = application_commands(&choices);
    if !register {
        println!("{}", serde_json::to_string_pretty(&commands)?);
        return Ok(());
    }
    let Some(discord) = &config.discord else {
        return Err(CliError::usage(format!(
            "{}: --register needs a [discord] section (bot_token, application_id, guild_id)",
            config.source()
        )));
    };
    let chat = crate::chat::discord::client::DiscordChat::new(discord);
    let n = chat
        .register(&commands)
        .await
        .map_err(|e| anyhow::anyhow!("Discord did not take the commands: {e}"))?;
    println!("registered {n} commands in guild {}", discord.guild_id);
    Ok(())
}

pub async fn serve(config: Config) -> CliResult {
    Ok(crate::startup::serve(config).await?)
}
