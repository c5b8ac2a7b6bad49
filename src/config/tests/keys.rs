//! Unknown, missing, empty and mistyped keys, and syntax errors: each named.

use super::*;

#[test]
fn an_unknown_key_at_the_top_level_is_named_in_the_error() {
    assert_eq!(
        error("slak = 1\n"),
        "bot.toml: slak: unknown key (expected one of: server, database, slack, discord, \
         incidents, roles, teams, postmortem, console, alerts, pagerduty, opsgenie, webhooks, report, status_page)"
    );
}

#[test]
fn an_unknown_key_is_named_in_the_error() {
    assert_eq!(
        error("[server]\nlistn = \"0.0.0.0:3000\"\n"),
        "bot.toml: server.listn: unknown key (expected one of: listen, public_url, \
         header_timeout_seconds, max_connections)"
    );
}

#[test]
fn an_unknown_key_in_a_list_of_tables_names_its_index() {
    let e = error(
        "[[roles]]\nkey = \"commander\"\nname = \"IC\"\n\
         [[roles]]\nkey = \"comms\"\nnmae = \"Comms\"\n",
    );
    assert_eq!(e, "bot.toml: roles[1].nmae: unknown key (expected one of: key, name, description)");
    assert_eq!(
        parse("[[teams]]\nname = \"a\"\nusers = []").unwrap_err().key(),
        Some("teams[0].users")
    );
}

#[test]
fn an_unknown_key_with_odd_characters_is_quoted() {
    let e = error("[server]\n\"lis ten\" = 1\n");
    assert!(e.starts_with(r#"bot.toml: server."lis ten": unknown key"#), "{e}");
}

#[test]
fn a_missing_required_key_is_named() {
    assert_eq!(error("[slack]\nbot_token = \"t\"\n"), "bot.toml: slack.signing_secret: missing");
    assert_eq!(
        error(
            "[discord]\nbot_token = \"t\"\napplication_id = \"1\"\npublic_key = \"abababababababababababababababababababababababababababababababab\"\n"
        ),
        "bot.toml: discord.guild_id: missing"
    );
}

#[test]
fn a_required_key_set_to_an_empty_string_is_an_error() {
    let env = |_: &str| Some(String::new());
    let e = Config::from_toml(
        "[slack]\nbot_token = \"${SLACK_BOT_TOKEN}\"\nsigning_secret = \"s\"\n",
        "bot.toml",
        &env,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "bot.toml: slack.bot_token: must not be empty");
}

#[test]
fn an_optional_key_set_to_an_empty_string_is_not_set() {
    let c =
        parse("[slack]\nbot_token = \"t\"\nsigning_secret = \"s\"\napp_token = \"\"\n").unwrap();
    assert_eq!(c.slack.unwrap().app_token, None);
}

#[test]
fn a_value_of_the_wrong_type_is_named() {
    assert_eq!(
        error("[server]\nlisten = 3000\n"),
        "bot.toml: server.listen: expected a string, found an integer"
    );
    assert_eq!(
        error("server = \"x\"\n"),
        "bot.toml: server: expected a table ([server]), found a string"
    );
    assert_eq!(
        error("[roles]\nkey = \"commander\"\n"),
        "bot.toml: roles: expected an array of tables ([[roles]]), found a table"
    );
    assert_eq!(
        error("[incidents]\nsevertities = 1\n").split(':').nth(1),
        Some(" incidents.severtities")
    );
    assert_eq!(
        error("[incidents]\nseverities = [\"SEV1\", 2]\n"),
        "bot.toml: incidents.severities[1]: expected a string, found an integer"
    );
    assert_eq!(
        error("[incidents]\npurge_grace_hours = -1\n"),
        "bot.toml: incidents.purge_grace_hours: -1 is out of range (0 to 4294967295)"
    );
}

#[test]
fn a_syntax_error_gives_a_line_number() {
    let e = error("[server]\nlisten = \"127.0.0.1:3000\"\n\nlisten2 = 127.0.0.1:3000\n");
    assert!(e.starts_with("bot.toml: line 4: invalid TOML: "), "{e}");
    assert!(!e.contains('\n'), "{e}");
    assert_eq!(parse("a = 1\na = 2\n").unwrap_err().key(), None);
}

#[test]
fn a_duplicate_key_is_a_syntax_error_with_its_line() {
    let e = error("[console]\nuser = \"a\"\nuser = \"b\"\n");
    assert_eq!(e, "bot.toml: line 3: invalid TOML: duplicate key `user`");
}
