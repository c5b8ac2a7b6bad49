//! bot.toml: the operator's settings, with `${ENV}` interpolation, unknown keys
//! rejected and every mistake reported as one line naming file, key and reason.

mod alerting;
mod env;
mod errors;
mod hours;
mod raw;
mod secret;
#[cfg(test)]
mod tests;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use alerting::{AlertRule, AlertsConfig, PagingConfig, WebhookConfig};
pub use secret::Secret;

/// The file `Config::load(None)` looks for in the current directory.
pub const DEFAULT_FILE: &str = "bot.toml";

const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
const DEFAULT_HEADER_TIMEOUT: u32 = 10;
const DEFAULT_MAX_CONNECTIONS: u32 = 4096;
const DEFAULT_RETENTION_DAYS: u32 = 30;
const DEFAULT_DATABASE_URL: &str = "sqlite://tocsin.db";
const DEFAULT_SLACK_API: &str = "https://slack.com/api";
const DEFAULT_SLACK_REACTION: &str = "pushpin";
const DEFAULT_DISCORD_API: &str = "https://discord.com";
const DEFAULT_DISCORD_REACTION: &str = "📌";
const DEFAULT_CHANNEL_PREFIX: &str = "inc";
const DEFAULT_SEVERITIES: [&str; 4] = ["SEV1", "SEV2", "SEV3", "SEV4"];
const DEFAULT_SEVERITY: &str = "SEV3";
const DEFAULT_REMINDERS: [(&str, u32); 4] =
    [("SEV1", 15), ("SEV2", 30), ("SEV3", 60), ("SEV4", 240)];
const DEFAULT_PURGE_GRACE_HOURS: u32 = 48;
const DEFAULT_ROLE_REMINDER: u32 = 10;
const DEFAULT_CONSOLE_USER: &str = "you";
const DEFAULT_CONSOLE_CHANNEL: &str = "general";
/// Discord shows at most 25 choices for an option, and severities are offered as choices.
const MAX_SEVERITIES: usize = 25;
const MAX_SEVERITY_LEN: usize = 20;
const MAX_PREFIX_LEN: usize = 20;

/// A configuration problem. Its `Display` is one line naming the file, the key
/// (when there is one) and the reason.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{origin}: cannot read: {error}")]
    Read { origin: String, error: std::io::Error },
    /// The file is not valid TOML.
    #[error("{origin}: {}invalid TOML: {reason}", at_line(.line))]
    Syntax { origin: String, line: Option<usize>, reason: String },
    /// A key is unknown, missing, of the wrong type or has a bad value.
    #[error("{origin}: {key}: {reason}")]
    Invalid { origin: String, key: String, reason: String },
}

fn at_line(line: &Option<usize>) -> String {
    line.map(|n| format!("line {n}: ")).unwrap_or_default()
}

impl ConfigError {
    /// The dotted key the error is about, e.g. `incidents.default_severity` or `roles[1].key`.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::Read { .. } | ConfigError::Syntax { .. } => None,
        }
    }

    /// The file the error is about.
    pub fn origin(&self) -> &str {
        match self {
            ConfigError::Read { origin, .. }
            | ConfigError::Syntax { origin, .. }
            | ConfigError::Invalid { origin, .. } => origin,
        }
    }
}

/// Everything in bot.toml, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    /// `None` when the `[slack]` section is absent: Slack is off.
    pub slack: Option<SlackConfig>,
    /// `None` when the `[discord]` section is absent: Discord is off.
    pub discord: Option<DiscordConfig>,
    pub incidents: IncidentsConfig,
    pub roles: Vec<RoleConfig>,
    pub teams: Vec<TeamConfig>,
    pub postmortem: PostmortemConfig,
    pub console: ConsoleConfig,
    /// `None` when the `[alerts]` section is absent: the alert endpoints are off.
    pub alerts: Option<AlertsConfig>,
    pub paging: PagingConfig,
    pub webhooks: Vec<WebhookConfig>,
    /// `[report]`: the working hours `tocsin report` measures out-of-hours by.
    pub report: crate::report::WorkingHours,
    /// `None` when the `[status_page]` section is absent: nothing is public.
    pub status_page: Option<StatusPageConfig>,
    source: String,
}

/// `[status_page]`: the public page's title and the components it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPageConfig {
    pub title: String,
    /// In the order the page lists them; names unique regardless of case.
    pub components: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `IP:PORT` the HTTP server binds; always parses as a `SocketAddr`.
    pub listen: String,
    /// Where the server is reachable from the internet, without a trailing slash.
    pub public_url: Option<String>,
    /// How long a connection may take to send a request's headers, and stay
    /// idle between requests, before it is closed.
    pub header_timeout_seconds: u32,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// `sqlite:...`, `postgres://...` or `postgresql://...`.
    pub url: String,
    /// Delivered outbox rows and remembered platform event ids older than
    /// this many days are pruned.
    pub retention_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackConfig {
    pub bot_token: Secret,
    pub signing_secret: Secret,
    /// Socket Mode app-level token; `None` means events arrive over HTTP.
    pub app_token: Option<Secret>,
    /// Without a trailing slash.
    pub api_base_url: String,
    pub announce_channel: Option<String>,
    /// Emoji name without colons.
    pub timeline_reaction: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordConfig {
    pub bot_token: Secret,
    pub application_id: String,
    pub public_key: String,
    pub guild_id: String,
    pub category_id: Option<String>,
    /// Where `close` moves the channel; `None` leaves it in place, locked.
    pub archive_category_id: Option<String>,
    pub announce_channel: Option<String>,
    pub interactions: DiscordInteractions,
    /// Without a trailing slash.
    pub api_base_url: String,
    pub timeline_reaction: String,
}

/// How Discord delivers slash commands and other interactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiscordInteractions {
    /// Over the gateway websocket (no public URL needed).
    #[default]
    Gateway,
    /// POSTed to `/discord/interactions`.
    Http,
}

impl DiscordInteractions {
    pub fn as_str(self) -> &'static str {
        match self {
            DiscordInteractions::Gateway => "gateway",
            DiscordInteractions::Http => "http",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentsConfig {
    /// Lowercase `[a-z0-9-]`, 1 to 20 characters.
    pub channel_prefix: String,
    /// Most severe first; unique (case-insensitively); never empty.
    pub severities: Vec<String>,
    /// One of `severities`, in its configured spelling.
    pub default_severity: String,
    /// Minutes between status-update reminders, keyed by severity in its
    /// configured spelling. A severity without an entry gets no reminders.
    pub update_reminder_minutes: BTreeMap<String, u32>,
    /// How long a staged deletion can still be undone.
    pub purge_grace_hours: u32,
    /// Minutes after declaring before vacant roles are pointed out (0: never).
    pub role_reminder_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleConfig {
    pub key: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TeamConfig {
    pub name: String,
    pub slack_users: Vec<String>,
    pub discord_users: Vec<String>,
    pub console_users: Vec<String>,
    /// The team's PagerDuty service integration key (Events API v2).
    pub pagerduty_routing_key: Option<Secret>,
    /// The team's Opsgenie API integration key.
    pub opsgenie_api_key: Option<Secret>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostmortemConfig {
    /// A Markdown template overriding the built-in one, resolved against the
    /// config file's directory; it existed when the config was loaded.
    pub template: Option<PathBuf>,
    /// The template's text, read and checked when the config was loaded.
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// The name the console user posts as.
    pub user: String,
    /// The room the console starts in.
    pub channel: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            slack: None,
            discord: None,
            incidents: IncidentsConfig::default(),
            roles: RoleConfig::defaults(),
            teams: Vec::new(),
            postmortem: PostmortemConfig::default(),
            console: ConsoleConfig::default(),
            alerts: None,
            paging: PagingConfig::default(),
            webhooks: Vec::new(),
            report: crate::report::WorkingHours::default(),
            status_page: None,
            source: "defaults".to_owned(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: DEFAULT_LISTEN.to_owned(),
            public_url: None,
            header_timeout_seconds: DEFAULT_HEADER_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl ServerConfig {
    /// `listen` as an address; always `Ok` for a loaded config (checked at load).
    pub fn listen_addr(&self) -> Result<SocketAddr, std::net::AddrParseError> {
        self.listen.parse()
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: DEFAULT_DATABASE_URL.to_owned(),
            retention_days: DEFAULT_RETENTION_DAYS,
        }
    }
}

impl DatabaseConfig {
    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres://") || self.url.starts_with("postgresql://")
    }

    pub fn is_sqlite(&self) -> bool {
        self.url.starts_with("sqlite:")
    }
}

impl SlackConfig {
    /// The two required keys, everything else at its default.
    pub fn new(bot_token: impl Into<String>, signing_secret: impl Into<String>) -> Self {
        SlackConfig {
            bot_token: Secret::new(bot_token),
            signing_secret: Secret::new(signing_secret),
            app_token: None,
            api_base_url: DEFAULT_SLACK_API.to_owned(),
            announce_channel: None,
            timeline_reaction: DEFAULT_SLACK_REACTION.to_owned(),
        }
    }
}

impl DiscordConfig {
    /// The four required keys, everything else at its default.
    pub fn new(
        bot_token: impl Into<String>,
        application_id: impl Into<String>,
        public_key: impl Into<String>,
        guild_id: impl Into<String>,
    ) -> Self {
        DiscordConfig {
            bot_token: Secret::new(bot_token),
            application_id: application_id.into(),
            public_key: public_key.into(),
            guild_id: guild_id.into(),
            category_id: None,
            archive_category_id: None,
            announce_channel: None,
            interactions: DiscordInteractions::Gateway,
            api_base_url: DEFAULT_DISCORD_API.to_owned(),
            timeline_reaction: DEFAULT_DISCORD_REACTION.to_owned(),
        }
    }
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        IncidentsConfig {
            channel_prefix: DEFAULT_CHANNEL_PREFIX.to_owned(),
            severities: DEFAULT_SEVERITIES.map(String::from).to_vec(),
            default_severity: DEFAULT_SEVERITY.to_owned(),
            update_reminder_minutes: DEFAULT_REMINDERS
                .iter()
                .map(|&(sev, minutes)| (sev.to_owned(), minutes))
                .collect(),
            purge_grace_hours: DEFAULT_PURGE_GRACE_HOURS,
            role_reminder_minutes: DEFAULT_ROLE_REMINDER,
        }
    }
}

impl RoleConfig {
    /// commander, comms and scribe: the roles used when bot.toml has no `[[roles]]`.
    pub fn defaults() -> Vec<RoleConfig> {
        let role = |key: &str, name: &str, description: &str| RoleConfig {
            key: key.to_owned(),
            name: name.to_owned(),
            description: description.to_owned(),
        };
        vec![
            role("commander", "Incident commander", "Leads the response and makes the calls"),
            role("comms", "Communications lead", "Keeps stakeholders informed"),
            role("scribe", "Scribe", "Keeps the timeline"),
        ]
    }
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            user: DEFAULT_CONSOLE_USER.to_owned(),
            channel: DEFAULT_CONSOLE_CHANNEL.to_owned(),
        }
    }
}

impl Config {
    /// Loads `path` if given (it must exist), otherwise `bot.toml` in the
    /// current directory if it exists, otherwise the defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let env = |name: &str| std::env::var(name).ok();
        let (path, required) = match path {
            Some(path) => (path, true),
            None => (Path::new(DEFAULT_FILE), false),
        };
        let origin = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Config::default());
            }
            Err(error) => return Err(ConfigError::Read { origin, error }),
        };
        let base_dir = path.parent().unwrap_or(Path::new(""));
        parse(&text, &origin, base_dir, &env)
    }

    /// Parses TOML text. `origin` is the file name used in error messages, and
    /// its directory is the one relative paths (postmortem.template) are
    /// resolved against. `env` looks up environment variables for `${NAME}`.
    pub fn from_toml(
        text: &str,
        origin: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let base_dir = Path::new(origin).parent().unwrap_or(Path::new(""));
        parse(text, origin, base_dir, env)
    }

    /// The file this configuration came from, or "defaults".
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The index of `sev` in the severities (0 is the most severe), matched case-insensitively.
    pub fn severity_rank(&self, sev: &str) -> Option<usize> {
        self.incidents.severities.iter().position(|s| s.eq_ignore_ascii_case(sev))
    }

    /// The configured spelling of `sev`, matched case-insensitively.
    pub fn severity(&self, sev: &str) -> Option<&str> {
        self.severity_rank(sev).map(|i| self.incidents.severities[i].as_str())
    }

    /// Minutes between update reminders for `sev`, if it gets reminders.
    pub fn reminder_minutes(&self, sev: &str) -> Option<u32> {
        let sev = self.severity(sev)?;
        self.incidents.update_reminder_minutes.get(sev).copied()
    }

    /// The role with this key (case-insensitive).
    pub fn role(&self, key: &str) -> Option<&RoleConfig> {
        self.roles.iter().find(|r| r.key.eq_ignore_ascii_case(key))
    }

    /// Where the web pages are reached: `server.public_url`, else the
    /// address tocsin listens on.
    pub fn web_base(&self) -> String {
        match &self.server.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.server.listen),
        }
    }

    /// The team with this name (case-insensitive).
    pub fn team(&self, name: &str) -> Option<&TeamConfig> {
        self.teams.iter().find(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// The rules the incident core decides by.
    pub fn rules(&self) -> crate::incident::Rules {
        crate::incident::Rules {
            severities: self.incidents.severities.clone(),
            default_severity: self.incidents.default_severity.clone(),
            roles: self
                .roles
                .iter()
                .map(|r| crate::incident::RoleDef {
                    key: r.key.clone(),
                    name: r.name.clone(),
                    description: r.description.clone(),
                })
                .collect(),
            channel_prefix: self.incidents.channel_prefix.clone(),
            update_reminders: self.incidents.update_reminder_minutes.clone(),
            role_reminder_minutes: Some(self.incidents.role_reminder_minutes).filter(|m| *m > 0),
            pageable_teams: self
                .teams
                .iter()
                .filter(|t| t.pagerduty_routing_key.is_some() || t.opsgenie_api_key.is_some())
                .map(|t| t.name.clone())
                .collect(),
            status_components: self.status_page.as_ref().map(|p| p.components.clone()),
        }
    }
}

/// TOML text to a checked configuration: parse, fill in `${ENV}`, read into
/// the file's types, then check what the types cannot say.
fn parse(
    text: &str,
    origin: &str,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let span = e.span();
        let mut reason = one_line(e.message());
        // toml says "duplicate key" without naming it; the span covers it.
        if reason == "duplicate key"
            && let Some(key) = span.clone().and_then(|span| text.get(span))
            && !key.is_empty()
            && !key.contains('\n')
        {
            reason = format!("duplicate key `{key}`");
        }
        ConfigError::Syntax {
            origin: origin.to_owned(),
            line: span.map(|span| line_of(text, span.start)),
            reason,
        }
    })?;
    let cx = validate::Cx { origin };
    let mut value = toml::Value::Table(table);
    env::fill(&mut value, "", env).map_err(|(key, reason)| cx.err(&key, reason))?;
    let file: raw::File = serde_path_to_error::deserialize(value).map_err(|e| {
        let (key, reason) = errors::explain(e);
        cx.err(&key, reason)
    })?;
    validate::config(file, &cx, base_dir)
}

/// The 1-based line holding byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
