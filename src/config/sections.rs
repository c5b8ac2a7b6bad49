//! Reading each section of bot.toml into its typed form, checking every value.

use super::*;

pub(super) const TOP_KEYS: &[&str] = &[
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
pub(super) const SERVER_KEYS: &[&str] = &["listen", "public_url"];
pub(super) const DATABASE_KEYS: &[&str] = &["url"];
pub(super) const SLACK_KEYS: &[&str] = &[
    "bot_token",
    "signing_secret",
    "app_token",
    "api_base_url",
    "announce_channel",
    "timeline_reaction",
];
pub(super) const DISCORD_KEYS: &[&str] = &[
    "bot_token",
    "application_id",
    "public_key",
    "guild_id",
    "category_id",
    "archive_category_id",
    "announce_channel",
    "interactions",
    "api_base_url",
    "timeline_reaction",
];
pub(super) const INCIDENTS_KEYS: &[&str] = &[
    "channel_prefix",
    "severities",
    "default_severity",
    "update_reminder_minutes",
    "purge_grace_hours",
];
pub(super) const ROLE_KEYS: &[&str] = &["key", "name", "description"];
pub(super) const TEAM_KEYS: &[&str] = &["name", "slack_users", "discord_users", "console_users"];
pub(super) const POSTMORTEM_KEYS: &[&str] = &["template"];
pub(super) const CONSOLE_KEYS: &[&str] = &["user", "channel"];

pub(super) fn parse(
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
    if public_key.len() != 64 || !public_key.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(s.err(
            "public_key",
            "is not a public key (64 hexadecimal characters, from General Information)",
        ));
    }
    let category_id = s.optional_string("category_id")?;
    let archive_category_id = s.optional_string("archive_category_id")?;
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
        archive_category_id,
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
    let text = match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => std::fs::read_to_string(&path)
            .map_err(|e| s.err("template", format!("cannot read \"{}\": {e}", path.display())))?,
        Ok(_) => return Err(s.err("template", format!("\"{}\" is not a file", path.display()))),
        Err(e) => {
            return Err(s.err("template", format!("cannot read \"{}\": {e}", path.display())));
        }
    };
    crate::postmortem::check_template(&text)
        .map_err(|e| s.err("template", format!("\"{}\": {e}", path.display())))?;
    Ok(PostmortemConfig { template: Some(path), text: Some(text) })
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
