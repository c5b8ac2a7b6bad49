use std::collections::BTreeMap;
use std::path::Path;

use super::raw::{self, keys};
use super::*;

mod interpolation;
mod keys;
mod severities;

const EXAMPLE: &str = include_str!("../../../bot.toml.example");

fn no_env(_: &str) -> Option<String> {
    None
}

/// Every variable is "x", but for the ones that must be a key or a long secret.
fn env_x(name: &str) -> Option<String> {
    Some(match name {
        "DISCORD_PUBLIC_KEY" => "ab".repeat(32),
        "TOCSIN_ALERTS_TOKEN" | "TOCSIN_WEBHOOK_SECRET" => "x".repeat(32),
        _ => "x".to_owned(),
    })
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, "bot.toml", &no_env)
}

fn error(text: &str) -> String {
    match parse(text) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(e) => e.to_string(),
    }
}

/// The example with every commented-out table header and `key = value` line
/// switched on; prose comments (and indented examples) stay comments.
fn example_fully_uncommented() -> String {
    let setting = regex::Regex::new(r"^# (\[\[?[a-z_.]+\]\]?|[a-z_]+ = .*)$").unwrap();
    EXAMPLE
        .lines()
        .map(|line| match setting.captures(line) {
            Some(c) => c[1].to_owned(),
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let c = Config::default();
    assert_eq!(c.source(), "defaults");
    assert_eq!(c.server.listen, "127.0.0.1:3000");
    assert_eq!(c.server.listen_addr().unwrap(), "127.0.0.1:3000".parse().unwrap());
    assert_eq!(c.server.public_url, None);
    assert_eq!(c.database.url, "sqlite://tocsin.db");
    assert!(c.database.is_sqlite());
    assert!(c.slack.is_none());
    assert!(c.discord.is_none());
    assert_eq!(c.incidents.channel_prefix, "inc");
    assert_eq!(c.incidents.severities, ["SEV1", "SEV2", "SEV3", "SEV4"]);
    assert_eq!(c.incidents.default_severity, "SEV3");
    let reminders: BTreeMap<String, u32> =
        [("SEV1", 15), ("SEV2", 30), ("SEV3", 60), ("SEV4", 240)]
            .map(|(k, v)| (k.to_owned(), v))
            .into();
    assert_eq!(c.incidents.update_reminder_minutes, reminders);
    assert_eq!(c.incidents.purge_grace_hours, 48);
    let keys: Vec<&str> = c.roles.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["commander", "comms", "scribe"]);
    assert_eq!(c.roles[0].name, "Incident commander");
    assert_eq!(c.roles[0].description, "Leads the response and makes the calls");
    assert_eq!(c.roles[1].name, "Communications lead");
    assert_eq!(c.roles[1].description, "Keeps stakeholders informed");
    assert_eq!(c.roles[2].name, "Scribe");
    assert_eq!(c.roles[2].description, "Keeps the timeline");
    assert!(c.teams.is_empty());
    assert_eq!(c.postmortem.template, None);
    assert_eq!(c.console.user, "you");
    assert_eq!(c.console.channel, "general");
}

#[test]
fn an_empty_file_gives_the_defaults() {
    let c = parse("").unwrap();
    assert_eq!(c.source(), "bot.toml");
    assert_eq!(c, Config { source: "bot.toml".to_owned(), ..Config::default() });
}

#[test]
fn the_config_rules_match_the_incident_core_defaults() {
    assert_eq!(Config::default().rules(), crate::incident::Rules::default());
}

#[test]
fn the_example_file_as_shipped_loads_to_the_defaults() {
    let c = Config::from_toml(EXAMPLE, "bot.toml.example", &no_env).unwrap();
    assert_eq!(c, Config { source: "bot.toml.example".to_owned(), ..Config::default() });
}

#[test]
fn the_example_file_with_every_setting_uncommented_loads() {
    let text = example_fully_uncommented();
    assert!(text.contains("\n[slack]\n") && text.contains("\n[discord]\n"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("postmortem.md"), "# {title}\n").unwrap();
    let origin = dir.path().join("bot.toml");
    let c = Config::from_toml(&text, origin.to_str().unwrap(), &env_x).unwrap();

    assert_eq!(c.server.public_url.as_deref(), Some("https://tocsin.example.com"));
    let slack = c.slack.as_ref().expect("slack on");
    assert_eq!(slack.bot_token, "x");
    assert_eq!(slack.signing_secret, "x");
    assert_eq!(slack.app_token.as_deref(), Some("x"));
    assert_eq!(slack.announce_channel.as_deref(), Some("x"));
    assert_eq!(slack.timeline_reaction, "pushpin");
    assert_eq!(slack.api_base_url, "https://slack.com/api");
    let discord = c.discord.as_ref().expect("discord on");
    assert_eq!(discord.guild_id, "x");
    assert_eq!(discord.category_id.as_deref(), Some("x"));
    assert_eq!(discord.interactions, DiscordInteractions::Gateway);
    assert_eq!(discord.timeline_reaction, "📌");
    assert_eq!(discord.api_base_url, "https://discord.com");
    assert_eq!(c.teams.len(), 1);
    assert_eq!(c.teams[0].name, "payments");
    assert_eq!(c.teams[0].console_users, ["alice", "bob"]);
    assert_eq!(c.postmortem.template, Some(dir.path().join("postmortem.md")));
    let alerts = c.alerts.as_ref().expect("alerts on");
    assert_eq!(alerts.platform, crate::incident::Platform::Slack);
    assert_eq!(alerts.rules[0].invite, ["payments"]);
    assert_eq!(c.webhooks.len(), 1);
    assert_eq!(c.teams[0].pagerduty_routing_key.as_deref(), Some("x"));
}

#[test]
fn working_hours_are_checked() {
    assert_eq!(
        error("[report]\ntimezone = \"Mars/Olympus\"\n"),
        r#"bot.toml: report.timezone: "Mars/Olympus" is not a time zone name like "Europe/Berlin" or "UTC""#
    );
    assert_eq!(
        error("[report]\nworking_hours = \"9 to 5\"\n"),
        r#"bot.toml: report.working_hours: "9 to 5" is not a span like "09:00-17:00" (or "22:00-06:00" past midnight)"#
    );
    assert_eq!(
        error("[report]\nworking_days = [\"mon\", \"funday\"]\n"),
        r#"bot.toml: report.working_days[1]: "funday" is not a day of the week like "mon" or "Monday""#
    );
    assert_eq!(
        error("[report]\nworking_days = []\n"),
        "bot.toml: report.working_days: needs at least one day"
    );
    let night = parse("[report]\ntimezone = \"Asia/Tokyo\"\nworking_hours = \"22:00-06:00\"\nworking_days = [\"Saturday\", \"sun\"]\n").unwrap();
    assert_eq!(night.report.describe(), "Sat, Sun 22:00–06:00 Asia/Tokyo");
}

#[test]
fn alert_rules_and_webhooks_are_checked() {
    let base = "[slack]\nbot_token = \"t\"\nsigning_secret = \"s\"\n";
    let with = |more: &str| error(&format!("{base}{more}"));
    assert_eq!(
        with("[alerts]\ntoken = \"short\"\n"),
        "bot.toml: alerts.token: must be at least 16 characters (a shared secret)"
    );
    let token = "[alerts]\ntoken = \"0123456789abcdef\"\n";
    assert_eq!(
        with(&format!("{token}platform = \"discord\"\n")),
        r#"bot.toml: alerts.platform: "discord" is not a configured chat platform (configured: slack)"#
    );
    assert_eq!(
        with(&format!("{token}[[alerts.rules]]\nname = \"r\"\ninvite = [\"ops\"]\n")),
        r#"bot.toml: alerts.rules[0].invite[0]: there is no team "ops""#
    );
    assert!(
        with(&format!("{token}[[alerts.rules]]\nname = \"r\"\nmatch_re = {{ job = \"(\" }}\n"))
            .starts_with("bot.toml: alerts.rules[0].match_re.job: not a regular expression"),
    );
    assert_eq!(
        with(&format!("{token}[[alerts.rules]]\nname = \"r\"\nseverity = \"P1\"\n")),
        r#"bot.toml: alerts.rules[0].severity: "P1" is not one of the severities (SEV1, SEV2, SEV3, SEV4)"#
    );
    let console_only = parse("[alerts]\ntoken = \"0123456789abcdef\"\n").unwrap();
    assert_eq!(
        console_only.alerts.unwrap().platform,
        crate::incident::Platform::Console,
        "for `tocsin console`"
    );
    assert_eq!(
        error(
            "[[webhooks]]\nurl = \"https://h.example\"\nsecret = \"0123456789abcdef\"\nevents = [\"paged\"]\n"
        ),
        r#"bot.toml: webhooks[0].events[0]: "paged" is not one of: declared, updated, severity, resolved, closed"#
    );
    let c = parse(&format!("{base}{token}[[alerts.rules]]\nname = \"all\"\n")).unwrap();
    let alerts = c.alerts.unwrap();
    assert_eq!((alerts.platform, alerts.rules.len()), (crate::incident::Platform::Slack, 1));
}

#[test]
fn every_key_the_parser_knows_is_in_the_example() {
    let text = example_fully_uncommented();
    let sections: [(&str, &[&str]); 16] = [
        ("[server]", keys::<raw::Server>()),
        ("[database]", keys::<raw::Database>()),
        ("[slack]", keys::<raw::Slack>()),
        ("[discord]", keys::<raw::Discord>()),
        ("[incidents]", keys::<raw::Incidents>()),
        ("[[roles]]", keys::<raw::Role>()),
        ("[[teams]]", keys::<raw::Team>()),
        ("[postmortem]", keys::<raw::Postmortem>()),
        ("[console]", keys::<raw::Console>()),
        ("[alerts]", keys::<raw::Alerts>()),
        ("[[alerts.rules]]", keys::<raw::AlertRule>()),
        ("[pagerduty]", keys::<raw::PagerDuty>()),
        ("[opsgenie]", keys::<raw::Opsgenie>()),
        ("[[webhooks]]", keys::<raw::Webhook>()),
        ("[report]", keys::<raw::Report>()),
        ("[status_page]", keys::<raw::StatusPage>()),
    ];
    // alerts.rules is a table of its own here.
    assert_eq!(keys::<raw::File>().len() + 1, sections.len(), "a table is left out here");
    for (header, keys) in sections {
        assert!(text.contains(&format!("\n{header}\n")), "{header} missing from the example");
        let section = header.trim_matches(['[', ']']);
        for key in keys {
            let line = format!("\n{key} = ");
            let table = format!("\n[{section}.{key}]\n");
            let tables = format!("\n[[{section}.{key}]]\n");
            assert!(
                text.contains(&line) || text.contains(&table) || text.contains(&tables),
                "{header} {key} missing from the example"
            );
        }
    }
}

#[test]
fn a_platform_section_turns_the_platform_on() {
    let c = parse(
        "[slack]\nbot_token = \"t\"\nsigning_secret = \"s\"\n\
         timeline_reaction = \":eyes:\"\napi_base_url = \"http://127.0.0.1:9/api/\"\n\
         [discord]\nbot_token = \"t\"\napplication_id = \"1\"\npublic_key = \"abababababababababababababababababababababababababababababababab\"\n\
         guild_id = \"2\"\ninteractions = \"http\"\n",
    )
    .unwrap();
    let slack = c.slack.unwrap();
    assert_eq!(slack.timeline_reaction, "eyes");
    assert_eq!(slack.api_base_url, "http://127.0.0.1:9/api");
    let discord = c.discord.unwrap();
    assert_eq!(discord.interactions, DiscordInteractions::Http);
    assert_eq!(
        discord,
        DiscordConfig {
            interactions: DiscordInteractions::Http,
            ..DiscordConfig::new(
                "t",
                "1",
                "abababababababababababababababababababababababababababababababab",
                "2"
            )
        }
    );
}

#[test]
fn a_public_key_that_is_not_64_hex_characters_is_rejected() {
    assert_eq!(
        error(
            "[discord]\nbot_token = \"t\"\napplication_id = \"1\"\npublic_key = \"k\"\nguild_id = \"2\"\n"
        ),
        "bot.toml: discord.public_key: is not a public key (64 hexadecimal characters, from General Information)"
    );
}

#[test]
fn an_unknown_interactions_mode_is_rejected() {
    assert_eq!(
        error(
            "[discord]\nbot_token = \"t\"\napplication_id = \"1\"\npublic_key = \"abababababababababababababababababababababababababababababababab\"\n\
             guild_id = \"2\"\ninteractions = \"websocket\"\n"
        ),
        r#"bot.toml: discord.interactions: "websocket" is not one of: gateway, http"#
    );
}

#[test]
fn secrets_are_redacted_from_debug_output() {
    let c = Config {
        slack: Some(SlackConfig {
            app_token: Some("xapp-hunter4".into()),
            ..SlackConfig::new("xoxb-hunter2", "hunter3")
        }),
        discord: Some(DiscordConfig::new("hunter5", "1", "k", "2")),
        ..Config::default()
    };
    let debug = format!("{c:?}");
    assert!(!debug.contains("hunter"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}

#[test]
fn the_channel_prefix_is_checked() {
    assert_eq!(
        parse("[incidents]\nchannel_prefix = \"outage\"\n").unwrap().incidents.channel_prefix,
        "outage"
    );
    assert_eq!(
        error("[incidents]\nchannel_prefix = \"INC\"\n"),
        r#"bot.toml: incidents.channel_prefix: "INC" must be 1 to 20 lowercase letters, digits or hyphens"#
    );
    assert!(parse("[incidents]\nchannel_prefix = \"abcdefghijklmnopqrstu\"\n").is_err());
    assert!(parse("[incidents]\nchannel_prefix = \"\"\n").is_err());
}

#[test]
fn a_purge_grace_of_zero_is_rejected() {
    assert_eq!(
        parse("[incidents]\npurge_grace_hours = 0\n").unwrap_err().key(),
        Some("incidents.purge_grace_hours")
    );
    assert_eq!(
        parse("[incidents]\npurge_grace_hours = 1\n").unwrap().incidents.purge_grace_hours,
        1
    );
}

#[test]
fn a_bad_database_scheme_is_rejected_without_echoing_the_url() {
    let e = error("[database]\nurl = \"mysql://root:hunter2@db/tocsin\"\n");
    assert_eq!(
        e,
        r#"bot.toml: database.url: unsupported scheme "mysql:" (expected sqlite:, postgres:// or postgresql://)"#
    );
    assert!(!e.contains("hunter2"));
    let e = error("[database]\nurl = \"tocsin.db\"\n");
    assert!(e.starts_with("bot.toml: database.url: no scheme"), "{e}");
    assert!(parse("[database]\nurl = \"sqlite:\"\n").is_err());
    for url in
        ["sqlite::memory:", "sqlite:data/t.db", "postgresql://localhost/t", "postgres://u@h/t"]
    {
        let c = parse(&format!("[database]\nurl = \"{url}\"\n")).unwrap();
        assert_eq!(c.database.url, url);
    }
}

#[test]
fn the_listen_address_and_public_url_are_checked() {
    assert_eq!(
        error("[server]\nlisten = \"localhost:3000\"\n"),
        r#"bot.toml: server.listen: "localhost:3000" is not an IP address and port (e.g. "127.0.0.1:3000", or "0.0.0.0:3000" for all interfaces)"#
    );
    assert_eq!(
        error("[server]\npublic_url = \"tocsin.example.com\"\n"),
        r#"bot.toml: server.public_url: "tocsin.example.com" must start with http:// or https://"#
    );
    let c = parse("[server]\nlisten = \"[::1]:8080\"\npublic_url = \"https://t.example.com/\"\n")
        .unwrap();
    assert_eq!(c.server.listen_addr().unwrap().port(), 8080);
    assert_eq!(c.server.public_url.as_deref(), Some("https://t.example.com"));
}

#[test]
fn teams_are_read_and_checked() {
    let c = parse(
        "[[teams]]\nname = \"payments\"\nslack_users = [\"U1\", \"U2\"]\n\
         [[teams]]\nname = \"db-oncall\"\ndiscord_users = [\"42\"]\nconsole_users = [\"bob\"]\n",
    )
    .unwrap();
    assert_eq!(
        c.teams,
        [
            TeamConfig {
                name: "payments".to_owned(),
                slack_users: vec!["U1".to_owned(), "U2".to_owned()],
                ..TeamConfig::default()
            },
            TeamConfig {
                name: "db-oncall".to_owned(),
                discord_users: vec!["42".to_owned()],
                console_users: vec!["bob".to_owned()],
                ..TeamConfig::default()
            },
        ]
    );
    assert_eq!(c.team("DB-ONCALL").map(|t| t.discord_users.len()), Some(1));
    assert_eq!(
        error("[[teams]]\nname = \"Payments\"\n"),
        r#"bot.toml: teams[0].name: "Payments" must match ^[a-z0-9][a-z0-9_-]*$ (lowercase letters, digits, _ and -, starting with a letter or digit)"#
    );
    assert_eq!(
        error("[[teams]]\nname = \"a\"\n[[teams]]\nname = \"a\"\n"),
        r#"bot.toml: teams[1].name: "a" is already used by teams[0]"#
    );
    assert_eq!(error("[[teams]]\nslack_users = []\n"), "bot.toml: teams[0].name: missing");
    assert_eq!(
        error("[[teams]]\nname = \"a\"\nslack_users = [\"U1\", \"\"]\n"),
        "bot.toml: teams[0].slack_users[1]: must not be empty"
    );
}

#[test]
fn a_relative_template_path_is_resolved_against_the_config_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(dir.path().join("docs/pm.md"), "# Postmortem\n").unwrap();
    let origin = dir.path().join("bot.toml");
    let text = "[postmortem]\ntemplate = \"docs/pm.md\"\n";
    let c = Config::from_toml(text, origin.to_str().unwrap(), &no_env).unwrap();
    assert_eq!(c.postmortem.template, Some(dir.path().join("docs/pm.md")));

    // Through load, too.
    std::fs::write(&origin, text).unwrap();
    let c = Config::load(Some(&origin)).unwrap();
    assert_eq!(c.postmortem.template, Some(dir.path().join("docs/pm.md")));
    assert_eq!(c.source(), origin.display().to_string());
}

#[test]
fn an_absolute_template_path_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("pm.md");
    std::fs::write(&template, "# Postmortem\n").unwrap();
    let text = format!("[postmortem]\ntemplate = {:?}\n", template.to_str().unwrap());
    let c = Config::from_toml(&text, "elsewhere/bot.toml", &no_env).unwrap();
    assert_eq!(c.postmortem.template, Some(template));
}

#[test]
fn a_missing_template_is_an_error_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let origin = dir.path().join("bot.toml");
    let e = Config::from_toml(
        "[postmortem]\ntemplate = \"nope.md\"\n",
        origin.to_str().unwrap(),
        &no_env,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: postmortem.template: cannot read \"{}\": No such file or directory (os error 2)",
            origin.display(),
            dir.path().join("nope.md").display()
        )
    );
    let e =
        Config::from_toml("[postmortem]\ntemplate = \".\"\n", origin.to_str().unwrap(), &no_env)
            .unwrap_err();
    assert!(e.to_string().ends_with("is not a file"), "{e}");
}

#[test]
fn a_template_with_an_unknown_placeholder_is_an_error_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let origin = dir.path().join("bot.toml");
    std::fs::write(dir.path().join("pm.md"), "# {{title}}\n\n{{owner}}\n").unwrap();
    let text = "[postmortem]\ntemplate = \"pm.md\"\n";
    let e = Config::from_toml(text, origin.to_str().unwrap(), &no_env).unwrap_err();
    let want = format!(
        "{}: postmortem.template: \"{}\": unknown placeholder",
        origin.display(),
        dir.path().join("pm.md").display()
    );
    assert!(e.to_string().starts_with(&want), "{e}");
    assert!(e.to_string().contains("{{owner}} on line 3"), "{e}");
    std::fs::write(dir.path().join("pm.md"), "# {{title}}\n").unwrap();
    let c = Config::from_toml(text, origin.to_str().unwrap(), &no_env).unwrap();
    assert_eq!(c.postmortem.text.as_deref(), Some("# {{title}}\n"));
}

#[test]
fn a_missing_file_named_on_the_command_line_is_an_error() {
    let e = Config::load(Some(Path::new("missing.toml"))).unwrap_err();
    assert_eq!(e.to_string(), "missing.toml: cannot read: No such file or directory (os error 2)");
    assert_eq!(e.key(), None);
    assert_eq!(e.origin(), "missing.toml");
}

#[test]
fn console_settings_are_read() {
    let c = parse("[console]\nuser = \"alice\"\nchannel = \"#ops\"\n").unwrap();
    assert_eq!(c.console, ConsoleConfig { user: "alice".to_owned(), channel: "ops".to_owned() });
    assert_eq!(
        error("[console]\nuser = \"alice smith\"\n"),
        r#"bot.toml: console.user: "alice smith" must be one word"#
    );
}
