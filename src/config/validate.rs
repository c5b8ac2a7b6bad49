//! The checks on each table of bot.toml that its types cannot express, and
//! the defaults for what was left out.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use super::raw;
use super::*;

/// Builds errors that name the file.
pub(super) struct Cx<'a> {
    pub origin: &'a str,
}

impl Cx<'_> {
    pub fn err(&self, key: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin.to_owned(),
            key: key.to_owned(),
            reason: reason.into(),
        }
    }

    /// A required string: present but empty is an error.
    pub(super) fn filled(&self, key: &str, s: String) -> Result<String, ConfigError> {
        if s.is_empty() { Err(self.err(key, "must not be empty")) } else { Ok(s) }
    }

    /// A string with a default: present but empty is an error.
    fn or(&self, key: &str, s: Option<String>, default: &str) -> Result<String, ConfigError> {
        match s {
            None => Ok(default.to_owned()),
            Some(s) => self.filled(key, s),
        }
    }
}

/// An optional string: empty means "not set".
fn set(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

pub(super) fn config(file: raw::File, cx: &Cx<'_>, base_dir: &Path) -> Result<Config, ConfigError> {
    let slack = file.slack.map(|s| slack(cx, s)).transpose()?;
    let discord = file.discord.map(|d| discord(cx, d)).transpose()?;
    let incidents = incidents(cx, file.incidents)?;
    let teams = teams(cx, file.teams)?;
    let mut platforms = Vec::new();
    if slack.is_some() {
        platforms.push(crate::incident::Platform::Slack);
    }
    if discord.is_some() {
        platforms.push(crate::incident::Platform::Discord);
    }
    let team_names: Vec<String> = teams.iter().map(|t| t.name.clone()).collect();
    let alerts = alerting::alerts(cx, file.alerts, &platforms, &team_names, &incidents.severities)?;
    Ok(Config {
        server: server(cx, file.server)?,
        database: database(cx, file.database)?,
        slack,
        discord,
        incidents,
        roles: roles(cx, file.roles)?,
        teams,
        postmortem: postmortem(cx, file.postmortem, base_dir)?,
        console: console(cx, file.console)?,
        alerts,
        paging: alerting::paging(cx, file.pagerduty, file.opsgenie)?,
        webhooks: alerting::webhooks(cx, file.webhooks)?,
        report: super::hours::working_hours(cx, file.report)?,
        status_page: file.status_page.map(|p| status_page(cx, p)).transpose()?,
        source: cx.origin.to_owned(),
    })
}

fn server(cx: &Cx<'_>, s: raw::Server) -> Result<ServerConfig, ConfigError> {
    let listen = cx.or("server.listen", s.listen, DEFAULT_LISTEN)?;
    if listen.parse::<SocketAddr>().is_err() {
        return Err(cx.err(
            "server.listen",
            format!(
                "{listen:?} is not an IP address and port \
                 (e.g. \"127.0.0.1:3000\", or \"0.0.0.0:3000\" for all interfaces)"
            ),
        ));
    }
    let public_url = set(s.public_url).map(|u| http_url(cx, "server.public_url", u)).transpose()?;
    let header_timeout_seconds = s.header_timeout_seconds.unwrap_or(DEFAULT_HEADER_TIMEOUT);
    if !(1..=60).contains(&header_timeout_seconds) {
        return Err(cx.err(
            "server.header_timeout_seconds",
            "must be 1 to 60: Slack and Discord send their requests at once",
        ));
    }
    let max_connections = s.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    if max_connections < 16 {
        return Err(cx.err("server.max_connections", "must be at least 16"));
    }
    Ok(ServerConfig { listen, public_url, header_timeout_seconds, max_connections })
}

/// Checks an http(s) URL and drops its trailing slashes.
pub(super) fn http_url(cx: &Cx<'_>, key: &str, url: String) -> Result<String, ConfigError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        None => Err(cx.err(key, format!("{url:?} must start with http:// or https://"))),
        Some(rest) if rest.trim_end_matches('/').is_empty() => {
            Err(cx.err(key, format!("{url:?} has no host")))
        }
        Some(_) if url.contains(char::is_whitespace) => {
            Err(cx.err(key, format!("{url:?} contains whitespace")))
        }
        Some(_) => Ok(url.trim_end_matches('/').to_owned()),
    }
}

fn database(cx: &Cx<'_>, d: raw::Database) -> Result<DatabaseConfig, ConfigError> {
    const EXPECTED: &str = "expected sqlite:, postgres:// or postgresql://";
    let url = cx.or("database.url", d.url, DEFAULT_DATABASE_URL)?;
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
            Some(scheme) => {
                cx.err("database.url", format!("unsupported scheme \"{scheme}:\" ({EXPECTED})"))
            }
            None => cx.err(
                "database.url",
                format!("no scheme ({EXPECTED}, e.g. \"sqlite://tocsin.db\")"),
            ),
        });
    };
    if path.is_empty() {
        return Err(cx.err("database.url", "names no database (e.g. \"sqlite://tocsin.db\")"));
    }
    let retention_days = d.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS);
    if retention_days == 0 {
        return Err(cx.err(
            "database.retention_days",
            "must be at least 1: platforms redeliver events for hours, and the inbox must remember them",
        ));
    }
    Ok(DatabaseConfig { url, retention_days })
}

fn slack(cx: &Cx<'_>, s: raw::Slack) -> Result<SlackConfig, ConfigError> {
    let bot_token = cx.filled("slack.bot_token", s.bot_token)?;
    let signing_secret = cx.filled("slack.signing_secret", s.signing_secret)?;
    let api_base_url = http_url(
        cx,
        "slack.api_base_url",
        cx.or("slack.api_base_url", s.api_base_url, DEFAULT_SLACK_API)?,
    )?;
    let reaction = cx.or("slack.timeline_reaction", s.timeline_reaction, DEFAULT_SLACK_REACTION)?;
    // Accept ":pushpin:" as well as "pushpin"; Slack reports the bare name.
    let timeline_reaction = reaction.trim_matches(':').to_owned();
    if timeline_reaction.is_empty() || timeline_reaction.contains(char::is_whitespace) {
        return Err(cx.err(
            "slack.timeline_reaction",
            format!("{timeline_reaction:?} is not an emoji name (e.g. \"pushpin\")"),
        ));
    }
    Ok(SlackConfig {
        bot_token: bot_token.into(),
        signing_secret: signing_secret.into(),
        app_token: set(s.app_token).map(Secret::from),
        api_base_url,
        announce_channel: set(s.announce_channel),
        timeline_reaction,
    })
}

fn discord(cx: &Cx<'_>, d: raw::Discord) -> Result<DiscordConfig, ConfigError> {
    let bot_token = cx.filled("discord.bot_token", d.bot_token)?;
    let application_id = cx.filled("discord.application_id", d.application_id)?;
    let public_key = cx.filled("discord.public_key", d.public_key)?;
    let guild_id = cx.filled("discord.guild_id", d.guild_id)?;
    if public_key.len() != 64 || !public_key.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(cx.err(
            "discord.public_key",
            "is not a public key (64 hexadecimal characters, from General Information)",
        ));
    }
    let interactions = match d.interactions.filter(|v| !v.is_empty()).as_deref() {
        None => DiscordInteractions::default(),
        Some(v) if v.eq_ignore_ascii_case("gateway") => DiscordInteractions::Gateway,
        Some(v) if v.eq_ignore_ascii_case("http") => DiscordInteractions::Http,
        Some(v) => {
            return Err(
                cx.err("discord.interactions", format!("{v:?} is not one of: gateway, http"))
            );
        }
    };
    let api_base_url = http_url(
        cx,
        "discord.api_base_url",
        cx.or("discord.api_base_url", d.api_base_url, DEFAULT_DISCORD_API)?,
    )?;
    let timeline_reaction =
        cx.or("discord.timeline_reaction", d.timeline_reaction, DEFAULT_DISCORD_REACTION)?;
    if timeline_reaction.contains(char::is_whitespace) {
        return Err(cx.err(
            "discord.timeline_reaction",
            format!("{timeline_reaction:?} is not an emoji (e.g. \"📌\", or \"name:id\" for a custom one)"),
        ));
    }
    Ok(DiscordConfig {
        bot_token: bot_token.into(),
        application_id,
        public_key,
        guild_id,
        category_id: set(d.category_id),
        archive_category_id: set(d.archive_category_id),
        announce_channel: set(d.announce_channel),
        interactions,
        api_base_url,
        timeline_reaction,
    })
}

fn incidents(cx: &Cx<'_>, i: raw::Incidents) -> Result<IncidentsConfig, ConfigError> {
    let channel_prefix =
        cx.or("incidents.channel_prefix", i.channel_prefix, DEFAULT_CHANNEL_PREFIX)?;
    let prefix_ok = (1..=MAX_PREFIX_LEN).contains(&channel_prefix.len())
        && channel_prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !prefix_ok {
        return Err(cx.err(
            "incidents.channel_prefix",
            format!(
                "{channel_prefix:?} must be 1 to {MAX_PREFIX_LEN} lowercase letters, digits or hyphens"
            ),
        ));
    }
    let severities = match i.severities {
        None => DEFAULT_SEVERITIES.map(String::from).to_vec(),
        Some(list) => severities(cx, list)?,
    };
    let find = |sev: &str| severities.iter().find(|s| s.eq_ignore_ascii_case(sev)).cloned();
    let listed = || severities.join(", ");
    let default_severity = match i.default_severity {
        Some(sev) => {
            let sev = cx.filled("incidents.default_severity", sev)?;
            find(&sev).ok_or_else(|| {
                cx.err(
                    "incidents.default_severity",
                    format!("{sev:?} is not one of the severities ({})", listed()),
                )
            })?
        }
        None => find(DEFAULT_SEVERITY).ok_or_else(|| {
            cx.err(
                "incidents.default_severity",
                format!(
                    "missing, and the built-in default {DEFAULT_SEVERITY:?} is not one of the severities ({})",
                    listed()
                ),
            )
        })?,
    };
    let update_reminder_minutes = match i.update_reminder_minutes {
        None => DEFAULT_REMINDERS
            .iter()
            .filter_map(|&(sev, minutes)| Some((find(sev)?, minutes)))
            .collect(),
        Some(table) => {
            let mut map = BTreeMap::new();
            for (key, minutes) in table {
                let path = env::join("incidents.update_reminder_minutes", &key);
                let Some(sev) = find(&key) else {
                    return Err(cx.err(
                        &path,
                        format!("{key:?} is not one of the severities ({})", listed()),
                    ));
                };
                if minutes == 0 {
                    return Err(cx.err(
                        &path,
                        "must be at least 1 (leave a severity out to send it no reminders)",
                    ));
                }
                if map.insert(sev.clone(), minutes).is_some() {
                    return Err(cx.err(&path, format!("{sev:?} is given twice")));
                }
            }
            map
        }
    };
    let purge_grace_hours = i.purge_grace_hours.unwrap_or(DEFAULT_PURGE_GRACE_HOURS);
    if purge_grace_hours == 0 {
        return Err(cx.err(
            "incidents.purge_grace_hours",
            "must be at least 1: deleting an incident record is always undoable for a while",
        ));
    }
    Ok(IncidentsConfig {
        channel_prefix,
        severities,
        default_severity,
        update_reminder_minutes,
        purge_grace_hours,
        role_reminder_minutes: i.role_reminder_minutes.unwrap_or(DEFAULT_ROLE_REMINDER),
    })
}

fn severities(cx: &Cx<'_>, list: Vec<String>) -> Result<Vec<String>, ConfigError> {
    const KEY: &str = "incidents.severities";
    if list.is_empty() {
        return Err(cx.err(KEY, "must list at least one severity"));
    }
    if list.len() > MAX_SEVERITIES {
        return Err(cx.err(
            KEY,
            format!(
                "at most {MAX_SEVERITIES} severities are allowed (Discord's limit for choices)"
            ),
        ));
    }
    for (i, sev) in list.iter().enumerate() {
        let at = format!("{KEY}[{i}]");
        let ok = !sev.is_empty()
            && sev.len() <= MAX_SEVERITY_LEN
            && sev.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(cx.err(&at, format!(
                "{sev:?} is not a valid severity (letters, digits, - and _, up to {MAX_SEVERITY_LEN} characters)"
            )));
        }
        if let Some(j) = list[..i].iter().position(|other| other.eq_ignore_ascii_case(sev)) {
            return Err(cx.err(&at, format!("{sev:?} is already listed as {KEY}[{j}]")));
        }
    }
    Ok(list)
}

fn roles(cx: &Cx<'_>, list: Option<Vec<raw::Role>>) -> Result<Vec<RoleConfig>, ConfigError> {
    let Some(list) = list else { return Ok(RoleConfig::defaults()) };
    let mut roles: Vec<RoleConfig> = Vec::with_capacity(list.len());
    for (i, r) in list.into_iter().enumerate() {
        let at = |key: &str| format!("roles[{i}].{key}");
        let key = cx.filled(&at("key"), r.key)?;
        if !is_role_key(&key) {
            return Err(cx.err(
                &at("key"),
                format!(
                    "{key:?} must match ^[a-z][a-z0-9_-]{{0,31}}$ \
                     (a lowercase letter, then up to 31 lowercase letters, digits, _ or -)"
                ),
            ));
        }
        if let Some(j) = roles.iter().position(|r| r.key == key) {
            return Err(cx.err(&at("key"), format!("{key:?} is already used by roles[{j}]")));
        }
        let name = cx.filled(&at("name"), r.name)?;
        roles.push(RoleConfig { key, name, description: r.description.unwrap_or_default() });
    }
    if !roles.iter().any(|r| r.key == "commander") {
        return Err(cx.err(
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

fn teams(cx: &Cx<'_>, list: Option<Vec<raw::Team>>) -> Result<Vec<TeamConfig>, ConfigError> {
    let mut teams: Vec<TeamConfig> = Vec::new();
    for (i, t) in list.unwrap_or_default().into_iter().enumerate() {
        let name = cx.filled(&format!("teams[{i}].name"), t.name)?;
        let mut bytes = name.bytes();
        let ok = matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
            && bytes
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return Err(cx.err(
                &format!("teams[{i}].name"),
                format!(
                    "{name:?} must match ^[a-z0-9][a-z0-9_-]*$ \
                     (lowercase letters, digits, _ and -, starting with a letter or digit)"
                ),
            ));
        }
        if let Some(j) = teams.iter().position(|t| t.name == name) {
            return Err(cx.err(
                &format!("teams[{i}].name"),
                format!("{name:?} is already used by teams[{j}]"),
            ));
        }
        let ids = |key: &str, list: Vec<String>| -> Result<Vec<String>, ConfigError> {
            for (n, id) in list.iter().enumerate() {
                if id.is_empty() {
                    return Err(cx.err(&format!("teams[{i}].{key}[{n}]"), "must not be empty"));
                }
            }
            Ok(list)
        };
        teams.push(TeamConfig {
            name,
            slack_users: ids("slack_users", t.slack_users)?,
            discord_users: ids("discord_users", t.discord_users)?,
            console_users: ids("console_users", t.console_users)?,
            pagerduty_routing_key: set(t.pagerduty_routing_key).map(Secret::from),
            opsgenie_api_key: set(t.opsgenie_api_key).map(Secret::from),
        });
    }
    Ok(teams)
}

fn postmortem(
    cx: &Cx<'_>,
    p: raw::Postmortem,
    base_dir: &Path,
) -> Result<PostmortemConfig, ConfigError> {
    const KEY: &str = "postmortem.template";
    let Some(template) = p.template else { return Ok(PostmortemConfig::default()) };
    let template = cx.filled(KEY, template)?;
    let template = Path::new(&template);
    let path =
        if template.is_relative() { base_dir.join(template) } else { template.to_path_buf() };
    let text = match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => std::fs::read_to_string(&path)
            .map_err(|e| cx.err(KEY, format!("cannot read \"{}\": {e}", path.display())))?,
        Ok(_) => return Err(cx.err(KEY, format!("\"{}\" is not a file", path.display()))),
        Err(e) => return Err(cx.err(KEY, format!("cannot read \"{}\": {e}", path.display()))),
    };
    crate::postmortem::check_template(&text)
        .map_err(|e| cx.err(KEY, format!("\"{}\": {e}", path.display())))?;
    Ok(PostmortemConfig { template: Some(path), text: Some(text) })
}

fn console(cx: &Cx<'_>, c: raw::Console) -> Result<ConsoleConfig, ConfigError> {
    let user = cx.or("console.user", c.user, DEFAULT_CONSOLE_USER)?;
    let channel = cx.or("console.channel", c.channel, DEFAULT_CONSOLE_CHANNEL)?;
    let channel = channel.strip_prefix('#').unwrap_or(&channel).to_owned();
    for (key, value) in [("console.user", &user), ("console.channel", &channel)] {
        if value.is_empty() || value.contains(char::is_whitespace) {
            return Err(cx.err(key, format!("{value:?} must be one word")));
        }
    }
    Ok(ConsoleConfig { user, channel })
}

fn status_page(cx: &Cx<'_>, p: raw::StatusPage) -> Result<super::StatusPageConfig, ConfigError> {
    let title = p.title.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    let title = title.unwrap_or_else(|| "Status".into());
    if title.chars().count() > 80 {
        return Err(cx.err("status_page.title", "is longer than 80 characters"));
    }
    let mut components: Vec<String> = Vec::new();
    for (i, c) in p.components.iter().enumerate() {
        let key = format!("status_page.components[{i}]");
        let c = c.trim();
        if c.is_empty() || c.chars().count() > 60 {
            return Err(cx.err(&key, "a component needs a name of 1 to 60 characters"));
        }
        if components.iter().any(|k| k.eq_ignore_ascii_case(c)) {
            return Err(cx.err(&key, format!("{c:?} is listed twice")));
        }
        components.push(c.to_string());
    }
    if components.is_empty() {
        return Err(cx.err(
            "status_page.components",
            "list the components customers see, as in components = [\"API\", \"Checkout\"]",
        ));
    }
    Ok(super::StatusPageConfig { title, components })
}
