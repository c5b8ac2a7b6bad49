//! `${VAR}` interpolation in the configuration file.

use super::*;

#[test]
fn environment_variables_are_interpolated_and_double_dollar_is_literal() {
    let env = |name: &str| match name {
        "SLACK_TOKEN" => Some("xoxb-1".to_owned()),
        "QUOTED" => Some(r#"se"cr\et"#.to_owned()),
        "HOST" => Some("db.internal".to_owned()),
        _ => None,
    };
    let text = r#"
        [database]
        url = "postgres://tocsin:p$$ss@${HOST}/tocsin"
        [slack]
        bot_token = "${SLACK_TOKEN}"
        signing_secret = "${QUOTED}"
        announce_channel = "$${NOT_A_VAR} costs $5"
    "#;
    let c = Config::from_toml(text, "bot.toml", &env).unwrap();
    assert_eq!(c.database.url, "postgres://tocsin:p$$ss@db.internal/tocsin");
    assert!(c.database.is_postgres());
    let slack = c.slack.unwrap();
    assert_eq!(slack.bot_token, "xoxb-1");
    assert_eq!(slack.signing_secret, r#"se"cr\et"#);
    assert_eq!(slack.announce_channel.as_deref(), Some("${NOT_A_VAR} costs $5"));
}

#[test]
fn interpolated_values_are_not_interpolated_again() {
    let env = |name: &str| (name == "A").then(|| "${B}".to_owned());
    let c = Config::from_toml("[console]\nuser = \"${A}\"", "bot.toml", &env);
    // "${B}" contains no whitespace, so it is a valid console user name.
    assert_eq!(c.unwrap().console.user, "${B}");
}

#[test]
fn an_unset_environment_variable_is_named_with_its_key() {
    let e = error("[slack]\nbot_token = \"${SLACK_BOT_TOKEN}\"\nsigning_secret = \"s\"\n");
    assert_eq!(e, "bot.toml: slack.bot_token: environment variable SLACK_BOT_TOKEN is not set");
}

#[test]
fn a_variable_mentioned_in_a_comment_is_not_looked_up() {
    let c = parse("# token = \"${UNSET}\"\n[server] # ${ALSO_UNSET}\nlisten = \"0.0.0.0:80\"\n");
    assert_eq!(c.unwrap().server.listen, "0.0.0.0:80");
}

#[test]
fn a_malformed_variable_reference_is_an_error() {
    let e = error("[console]\nuser = \"${oops\"\n");
    assert_eq!(e, r#"bot.toml: console.user: unterminated "${" (write "$${" for a literal "${")"#);
    let e = error("[console]\nuser = \"${1X}\"\n");
    assert!(e.starts_with(r#"bot.toml: console.user: "${1X}" is not a valid environment"#), "{e}");
}

#[test]
fn interpolate_handles_dollars_at_every_position() {
    let env = |n: &str| (n == "V").then(|| "v".to_owned());
    let run = |s: &str| env::interpolate(s, &env);
    assert_eq!(run("").unwrap(), "");
    assert_eq!(run("$").unwrap(), "$");
    assert_eq!(run("$$").unwrap(), "$$");
    assert_eq!(run("a$b").unwrap(), "a$b");
    assert_eq!(run("${V}${V}").unwrap(), "vv");
    assert_eq!(run("$${V}").unwrap(), "${V}");
    assert_eq!(run("$$${V}").unwrap(), "$${V}");
    assert_eq!(run("x${V}y").unwrap(), "xvy");
    assert_eq!(run("€${V}€").unwrap(), "€v€");
    assert_eq!(run("${W}").unwrap_err(), "environment variable W is not set");
    assert!(run("${}").is_err());
    assert!(run("${V").is_err());
}
