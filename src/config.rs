//! bot.toml: the operator's settings, with `${ENV}` interpolation, unknown keys
//! rejected and every mistake reported as one line naming file, key and reason.

mod reader;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use reader::{Cx, Section};

/// The file `Config::load(None)` looks for in the current directory.
pub const DEFAULT_FILE: &str = "bot.toml";

const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
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
const DEFAULT_CONSOLE_USER: &str = "you";
const DEFAULT_CONSOLE_CHANNEL: &str = "general";
/// Discord shows at most 25 choices for an option, and severities are offered as choices.
const MAX_SEVERITIES: usize = 25;
const MAX_SEVERITY_LEN: usize = 20;
const MAX_PREFIX_LEN: usize = 20;

const TOP_KEYS: &[&str] = &[
    "server",
    "database",
    "slack",
    "discord",
    "incidents",
    "roles",
    "teams",
    "postmortem",
    "console",
];
const SERVER_KEYS: &[&str] = &["listen", "public_url"];
const DATABASE_KEYS: &[&str] = &["url"];
const SLACK_KEYS: &[&str] = &[
    "bot_token",
    "signing_secret",
    "app_token",
    "api_base_url",
    "announce_channel",
    "timeline_reaction",
];
const DISCORD_KEYS: &[&str] = &[
    "bot_token",
    "application_id",
    "public_key",
    "guild_id",
    "category_id",
    "announce_channel",
    "interactions",
    "api_base_url",
    "timeline_reaction",
];
const INCIDENTS_KEYS: &[&str] = &[
    "channel_prefix",
    "severities",
    "default_severity",
    "update_reminder_minutes",
    "purge_grace_hours",
];
const ROLE_KEYS: &[&str] = &["key", "name", "description"];
const TEAM_KEYS: &[&str] = &["name", "slack_users", "discord_users", "console_users"];
const POSTMORTEM_KEYS: &[&str] = &["template"];
const CONSOLE_KEYS: &[&str] = &["user", "channel"];

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
    source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `IP:PORT` the HTTP server binds; always parses as a `SocketAddr`.
    pub listen: String,
    /// Where the server is reachable from the internet, without a trailing slash.
    pub public_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// `sqlite:...`, `postgres://...` or `postgresql://...`.
    pub url: String,
}

#[derive(Clone, PartialEq, Eq)]
pub struct SlackConfig {
    pub bot_token: String,
    pub signing_secret: String,
    /// Socket Mode app-level token; `None` means events arrive over HTTP.
    pub app_token: Option<String>,
    /// Without a trailing slash.
    pub api_base_url: String,
    pub announce_channel: Option<String>,
    /// Emoji name without colons.
    pub timeline_reaction: String,
}

#[derive(Clone, PartialEq, Eq)]
pub struct DiscordConfig {
    pub bot_token: String,
    pub application_id: String,
    pub public_key: String,
    pub guild_id: String,
    pub category_id: Option<String>,
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
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostmortemConfig {
    /// A Markdown template overriding the built-in one, resolved against the
    /// config file's directory; it existed when the config was loaded.
    pub template: Option<PathBuf>,
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
            source: "defaults".to_owned(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { listen: DEFAULT_LISTEN.to_owned(), public_url: None }
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
        DatabaseConfig { url: DEFAULT_DATABASE_URL.to_owned() }
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
            bot_token: bot_token.into(),
            signing_secret: signing_secret.into(),
            app_token: None,
            api_base_url: DEFAULT_SLACK_API.to_owned(),
            announce_channel: None,
            timeline_reaction: DEFAULT_SLACK_REACTION.to_owned(),
        }
    }
}

impl fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackConfig")
            .field("bot_token", &Redacted)
            .field("signing_secret", &Redacted)
            .field("app_token", &self.app_token.as_ref().map(|_| Redacted))
            .field("api_base_url", &self.api_base_url)
            .field("announce_channel", &self.announce_channel)
            .field("timeline_reaction", &self.timeline_reaction)
            .finish()
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
            bot_token: bot_token.into(),
            application_id: application_id.into(),
            public_key: public_key.into(),
            guild_id: guild_id.into(),
            category_id: None,
            announce_channel: None,
            interactions: DiscordInteractions::Gateway,
            api_base_url: DEFAULT_DISCORD_API.to_owned(),
            timeline_reaction: DEFAULT_DISCORD_REACTION.to_owned(),
        }
    }
}

impl fmt::Debug for DiscordConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordConfig")
            .field("bot_token", &Redacted)
            .field("application_id", &self.application_id)
            .field("public_key", &self.public_key)
            .field("guild_id", &self.guild_id)
            .field("category_id", &self.category_id)
            .field("announce_channel", &self.announce_channel)
            .field("interactions", &self.interactions)
            .field("api_base_url", &self.api_base_url)
            .field("timeline_reaction", &self.timeline_reaction)
            .finish()
    }
}

/// Stands in for a secret in `Debug` output.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
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
        }
    }
}

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
    let cx = Cx { origin, env };
    let root = Section::new(&cx, Some(&table), String::new(), TOP_KEYS)?;

    let server = server(&root.section("server", SERVER_KEYS)?)?;
    let database = database(&root.section("database", DATABASE_KEYS)?)?;
    let slack = root.section("slack", SLACK_KEYS)?;
    let slack = if slack.present() { Some(self::slack(&slack)?) } else { None };
    let discord = root.section("discord", DISCORD_KEYS)?;
    let discord = if discord.present() { Some(self::discord(&discord)?) } else { None };
    let incidents = incidents(&root.section("incidents", INCIDENTS_KEYS)?)?;
    let roles = roles(&root)?;
    let teams = teams(&root)?;
    let postmortem = postmortem(&root.section("postmortem", POSTMORTEM_KEYS)?, base_dir)?;
    let console = console(&root.section("console", CONSOLE_KEYS)?)?;

    Ok(Config {
        server,
        database,
        slack,
        discord,
        incidents,
        roles,
        teams,
        postmortem,
        console,
        source: origin.to_owned(),
    })
}

/// The 1-based line holding byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn server(s: &Section<'_>) -> Result<ServerConfig, ConfigError> {
    let listen = s.string_or("listen", DEFAULT_LISTEN)?;
    if listen.parse::<SocketAddr>().is_err() {
        return Err(s.err(
            "listen",
            format!(
                "{listen:?} is not an IP address and port \
                 (e.g. \"127.0.0.1:3000\", or \"0.0.0.0:3000\" for all interfaces)"
            ),
        ));
    }
    let public_url =
        s.optional_string("public_url")?.map(|u| http_url(s, "public_url", u)).transpose()?;
    Ok(ServerConfig { listen, public_url })
}

/// Checks an http(s) URL and drops its trailing slashes.
fn http_url(s: &Section<'_>, key: &str, url: String) -> Result<String, ConfigError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        None => Err(s.err(key, format!("{url:?} must start with http:// or https://"))),
        Some(rest) if rest.trim_end_matches('/').is_empty() => {
            Err(s.err(key, format!("{url:?} has no host")))
        }
        Some(_) if url.contains(char::is_whitespace) => {
            Err(s.err(key, format!("{url:?} contains whitespace")))
        }
        Some(_) => Ok(url.trim_end_matches('/').to_owned()),
    }
}

fn database(s: &Section<'_>) -> Result<DatabaseConfig, ConfigError> {
    const EXPECTED: &str = "expected sqlite:, postgres:// or postgresql://";
    let url = s.string_or("url", DEFAULT_DATABASE_URL)?;
    // The URL may hold a password: only ever echo its scheme.
    let path = if let Some(rest) = url.strip_prefix("sqlite:") {
        rest.strip_prefix("//").unwrap_or(rest)
    } else if let Some(rest) =
        url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://"))
    {
        rest
    } else {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme).filter(|scheme| {
            !scheme.is_empty()
                && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        });
        return Err(match scheme {
            Some(scheme) => s.err("url", format!("unsupported scheme \"{scheme}:\" ({EXPECTED})")),
            None => s.err("url", format!("no scheme ({EXPECTED}, e.g. \"sqlite://tocsin.db\")")),
        });
    };
    if path.is_empty() {
        return Err(s.err("url", "names no database (e.g. \"sqlite://tocsin.db\")"));
    }
    Ok(DatabaseConfig { url })
}

fn slack(s: &Section<'_>) -> Result<SlackConfig, ConfigError> {
    let bot_token = s.required_string("bot_token")?;
    let signing_secret = s.required_string("signing_secret")?;
    let app_token = s.optional_string("app_token")?;
    let api_base_url =
        http_url(s, "api_base_url", s.string_or("api_base_url", DEFAULT_SLACK_API)?)?;
    let announce_channel = s.optional_string("announce_channel")?;
    let timeline_reaction = s.string_or("timeline_reaction", DEFAULT_SLACK_REACTION)?;
    // Accept ":pushpin:" as well as "pushpin"; Slack reports the bare name.
    let timeline_reaction = timeline_reaction.trim_matches(':').to_owned();
    if timeline_reaction.is_empty() || timeline_reaction.contains(char::is_whitespace) {
        return Err(s.err(
            "timeline_reaction",
            format!("{timeline_reaction:?} is not an emoji name (e.g. \"pushpin\")"),
        ));
    }
    Ok(SlackConfig {
        bot_token,
        signing_secret,
        app_token,
        api_base_url,
        announce_channel,
        timeline_reaction,
    })
}

fn discord(s: &Section<'_>) -> Result<DiscordConfig, ConfigError> {
    let bot_token = s.required_string("bot_token")?;
    let application_id = s.required_string("application_id")?;
    let public_key = s.required_string("public_key")?;
    let guild_id = s.required_string("guild_id")?;
    let category_id = s.optional_string("category_id")?;
    let announce_channel = s.optional_string("announce_channel")?;
    let interactions = match s.string("interactions")?.as_deref() {
        None => DiscordInteractions::default(),
        Some(v) if v.eq_ignore_ascii_case("gateway") => DiscordInteractions::Gateway,
        Some(v) if v.eq_ignore_ascii_case("http") => DiscordInteractions::Http,
        Some(v) => {
            return Err(s.err("interactions", format!("{v:?} is not one of: gateway, http")));
        }
    };
    let api_base_url =
        http_url(s, "api_base_url", s.string_or("api_base_url", DEFAULT_DISCORD_API)?)?;
    let timeline_reaction = s.string_or("timeline_reaction", DEFAULT_DISCORD_REACTION)?;
    if timeline_reaction.contains(char::is_whitespace) {
        return Err(s.err(
            "timeline_reaction",
            format!("{timeline_reaction:?} is not an emoji (e.g. \"📌\", or \"name:id\" for a custom one)"),
        ));
    }
    Ok(DiscordConfig {
        bot_token,
        application_id,
        public_key,
        guild_id,
        category_id,
        announce_channel,
        interactions,
        api_base_url,
        timeline_reaction,
    })
}

fn incidents(s: &Section<'_>) -> Result<IncidentsConfig, ConfigError> {
    let defaults = IncidentsConfig::default();

    let channel_prefix = s.string_or("channel_prefix", DEFAULT_CHANNEL_PREFIX)?;
    let prefix_ok = (1..=MAX_PREFIX_LEN).contains(&channel_prefix.len())
        && channel_prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !prefix_ok {
        return Err(s.err(
            "channel_prefix",
            format!(
                "{channel_prefix:?} must be 1 to {MAX_PREFIX_LEN} lowercase letters, digits or hyphens"
            ),
        ));
    }

    let severities = match s.strings("severities")? {
        None => defaults.severities,
        Some(list) => {
            if list.is_empty() {
                return Err(s.err("severities", "must list at least one severity"));
            }
            if list.len() > MAX_SEVERITIES {
                return Err(s.err(
                    "severities",
                    format!("at most {MAX_SEVERITIES} severities are allowed (Discord's limit for choices)"),
                ));
            }
            for (i, sev) in list.iter().enumerate() {
                let ok = sev.len() <= MAX_SEVERITY_LEN
                    && sev.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !ok {
                    return Err(s.err_at("severities", i, format!(
                        "{sev:?} is not a valid severity (letters, digits, - and _, up to {MAX_SEVERITY_LEN} characters)"
                    )));
                }
                if let Some(j) = list[..i].iter().position(|other| other.eq_ignore_ascii_case(sev))
                {
                    return Err(s.err_at(
                        "severities",
                        i,
                        format!("{sev:?} is already listed as {}", s.index_path("severities", j)),
                    ));
                }
            }
            list
        }
    };
    let find = |sev: &str| severities.iter().find(|s| s.eq_ignore_ascii_case(sev)).cloned();
    let listed = || severities.join(", ");

    let default_severity = match s.string("default_severity")? {
        Some(sev) => find(&sev).ok_or_else(|| {
            s.err(
                "default_severity",
                format!("{sev:?} is not one of the severities ({})", listed()),
            )
        })?,
        None => find(DEFAULT_SEVERITY).ok_or_else(|| {
            s.err(
                "default_severity",
                format!(
                    "missing, and the built-in default {DEFAULT_SEVERITY:?} is not one of the severities ({})",
                    listed()
                ),
            )
        })?,
    };

    let update_reminder_minutes = match s.raw_table("update_reminder_minutes")? {
        None => DEFAULT_REMINDERS
            .iter()
            .filter_map(|&(sev, minutes)| Some((find(sev)?, minutes)))
            .collect(),
        Some(table) => {
            let mut map = BTreeMap::new();
            for (key, value) in table {
                let path = reader::join(&s.path_of("update_reminder_minutes"), key);
                let Some(sev) = find(key) else {
                    return Err(s.err_path(
                        &path,
                        format!("{key:?} is not one of the severities ({})", listed()),
                    ));
                };
                let minutes = reader::u32_value(s.cx(), &path, value)?;
                if minutes == 0 {
                    return Err(s.err_path(
                        &path,
                        "must be at least 1 (leave a severity out to send it no reminders)",
                    ));
                }
                if map.insert(sev.clone(), minutes).is_some() {
                    return Err(s.err_path(&path, format!("{sev:?} is given twice")));
                }
            }
            map
        }
    };

    let purge_grace_hours = s.u32("purge_grace_hours")?.unwrap_or(DEFAULT_PURGE_GRACE_HOURS);
    if purge_grace_hours == 0 {
        return Err(s.err(
            "purge_grace_hours",
            "must be at least 1: deleting an incident record is always undoable for a while",
        ));
    }

    Ok(IncidentsConfig {
        channel_prefix,
        severities,
        default_severity,
        update_reminder_minutes,
        purge_grace_hours,
    })
}

fn roles(root: &Section<'_>) -> Result<Vec<RoleConfig>, ConfigError> {
    let Some(sections) = root.sections("roles", ROLE_KEYS)? else {
        return Ok(RoleConfig::defaults());
    };
    let mut roles: Vec<RoleConfig> = Vec::with_capacity(sections.len());
    for s in &sections {
        let key = s.required_string("key")?;
        if !is_role_key(&key) {
            return Err(s.err(
                "key",
                format!(
                    "{key:?} must match ^[a-z][a-z0-9_-]{{0,31}}$ \
                     (a lowercase letter, then up to 31 lowercase letters, digits, _ or -)"
                ),
            ));
        }
        if let Some(j) = roles.iter().position(|r| r.key == key) {
            return Err(s.err("key", format!("{key:?} is already used by roles[{j}]")));
        }
        let name = s.required_string("name")?;
        let description = s.string("description")?.unwrap_or_default();
        roles.push(RoleConfig { key, name, description });
    }
    if !roles.iter().any(|r| r.key == "commander") {
        return Err(root.err(
            "roles",
            "no role has key \"commander\" (it is required: the commander leads every incident)",
        ));
    }
    Ok(roles)
}

fn is_role_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    key.len() <= 32
        && matches!(bytes.next(), Some(b) if b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn teams(root: &Section<'_>) -> Result<Vec<TeamConfig>, ConfigError> {
    let Some(sections) = root.sections("teams", TEAM_KEYS)? else { return Ok(Vec::new()) };
    let mut teams: Vec<TeamConfig> = Vec::with_capacity(sections.len());
    for s in &sections {
        let name = s.required_string("name")?;
        let mut bytes = name.bytes();
        let ok = matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
            && bytes
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return Err(s.err(
                "name",
                format!(
                    "{name:?} must match ^[a-z0-9][a-z0-9_-]*$ \
                     (lowercase letters, digits, _ and -, starting with a letter or digit)"
                ),
            ));
        }
        if let Some(j) = teams.iter().position(|t| t.name == name) {
            return Err(s.err("name", format!("{name:?} is already used by teams[{j}]")));
        }
        teams.push(TeamConfig {
            name,
            slack_users: s.strings("slack_users")?.unwrap_or_default(),
            discord_users: s.strings("discord_users")?.unwrap_or_default(),
            console_users: s.strings("console_users")?.unwrap_or_default(),
        });
    }
    Ok(teams)
}

fn postmortem(s: &Section<'_>, base_dir: &Path) -> Result<PostmortemConfig, ConfigError> {
    let Some(template) = s.string("template")? else { return Ok(PostmortemConfig::default()) };
    let template = Path::new(&template);
    let path =
        if template.is_relative() { base_dir.join(template) } else { template.to_path_buf() };
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(PostmortemConfig { template: Some(path) }),
        Ok(_) => Err(s.err("template", format!("\"{}\" is not a file", path.display()))),
        Err(e) => Err(s.err("template", format!("cannot read \"{}\": {e}", path.display()))),
    }
}

fn console(s: &Section<'_>) -> Result<ConsoleConfig, ConfigError> {
    let user = s.string_or("user", DEFAULT_CONSOLE_USER)?;
    let channel = s.string_or("channel", DEFAULT_CONSOLE_CHANNEL)?;
    let channel = channel.strip_prefix('#').unwrap_or(&channel).to_owned();
    for (key, value) in [("user", &user), ("channel", &channel)] {
        if value.is_empty() || value.contains(char::is_whitespace) {
            return Err(s.err(key, format!("{value:?} must be one word")));
        }
    }
    Ok(ConsoleConfig { user, channel })
}
