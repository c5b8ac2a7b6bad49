//! Severities, the reminders per severity, and roles.

use super::*;

#[test]
fn a_default_severity_that_is_not_a_severity_is_rejected() {
    assert_eq!(
        error("[incidents]\ndefault_severity = \"SEV9\"\n"),
        r#"bot.toml: incidents.default_severity: "SEV9" is not one of the severities (SEV1, SEV2, SEV3, SEV4)"#
    );
}

#[test]
fn severities_match_case_insensitively_and_keep_their_configured_spelling() {
    let c =
        parse("[incidents]\nseverities = [\"P1\", \"P2\", \"P3\"]\ndefault_severity = \"p2\"\n")
            .unwrap();
    assert_eq!(c.incidents.default_severity, "P2");
    assert_eq!(c.severity_rank("p1"), Some(0));
    assert_eq!(c.severity_rank("P3"), Some(2));
    assert_eq!(c.severity_rank("P4"), None);
    assert_eq!(c.severity("p3"), Some("P3"));
    // None of SEV1-SEV4 survive, so no reminders by default.
    assert!(c.incidents.update_reminder_minutes.is_empty());
}

#[test]
fn custom_severities_need_a_default_when_sev3_is_gone() {
    let e = error("[incidents]\nseverities = [\"P1\", \"P2\"]\n");
    assert_eq!(
        e,
        r#"bot.toml: incidents.default_severity: missing, and the built-in default "SEV3" is not one of the severities (P1, P2)"#
    );
}

#[test]
fn the_default_reminders_are_filtered_to_the_configured_severities() {
    let c = parse("[incidents]\nseverities = [\"sev1\", \"SEV3\", \"SEV5\"]\n").unwrap();
    let expected: BTreeMap<String, u32> = [("sev1".to_owned(), 15), ("SEV3".to_owned(), 60)].into();
    assert_eq!(c.incidents.update_reminder_minutes, expected);
    assert_eq!(c.reminder_minutes("SEV1"), Some(15));
    assert_eq!(c.reminder_minutes("SEV5"), None);
}

#[test]
fn a_reminder_table_replaces_the_defaults() {
    let c = parse("[incidents.update_reminder_minutes]\nsev1 = 5\nSEV2 = 10\n").unwrap();
    let expected: BTreeMap<String, u32> = [("SEV1".to_owned(), 5), ("SEV2".to_owned(), 10)].into();
    assert_eq!(c.incidents.update_reminder_minutes, expected);
    assert_eq!(c.reminder_minutes("SEV3"), None);
}

#[test]
fn a_reminder_for_an_unknown_severity_is_rejected() {
    assert_eq!(
        error("[incidents.update_reminder_minutes]\nSEV9 = 5\n"),
        r#"bot.toml: incidents.update_reminder_minutes.SEV9: "SEV9" is not one of the severities (SEV1, SEV2, SEV3, SEV4)"#
    );
    assert_eq!(
        parse("[incidents.update_reminder_minutes]\nSEV1 = 0\n").unwrap_err().key(),
        Some("incidents.update_reminder_minutes.SEV1")
    );
    assert_eq!(
        parse("[incidents.update_reminder_minutes]\nSEV1 = 5\nsev1 = 6\n").unwrap_err().key(),
        Some("incidents.update_reminder_minutes.sev1")
    );
}

#[test]
fn bad_severity_lists_are_rejected() {
    assert_eq!(
        error("[incidents]\nseverities = []\n"),
        "bot.toml: incidents.severities: must list at least one severity"
    );
    assert_eq!(
        error("[incidents]\nseverities = [\"SEV1\", \"sev1\"]\n"),
        r#"bot.toml: incidents.severities[1]: "sev1" is already listed as incidents.severities[0]"#
    );
    assert_eq!(
        parse("[incidents]\nseverities = [\"SEV 1\"]\n").unwrap_err().key(),
        Some("incidents.severities[0]")
    );
}

#[test]
fn duplicate_role_keys_are_rejected() {
    let e = error(
        "[[roles]]\nkey = \"commander\"\nname = \"IC\"\n\
         [[roles]]\nkey = \"comms\"\nname = \"Comms\"\n\
         [[roles]]\nkey = \"comms\"\nname = \"Comms again\"\n",
    );
    assert_eq!(e, r#"bot.toml: roles[2].key: "comms" is already used by roles[1]"#);
}

#[test]
fn roles_replace_the_defaults_and_must_include_a_commander() {
    let c = parse("[[roles]]\nkey = \"commander\"\nname = \"IC\"\n[[roles]]\nkey = \"ops-1\"\nname = \"Ops\"\n")
        .unwrap();
    assert_eq!(c.roles.len(), 2);
    assert_eq!(c.roles[1].description, "");
    assert_eq!(c.role("OPS-1").map(|r| r.name.as_str()), Some("Ops"));
    assert_eq!(
        error("[[roles]]\nkey = \"lead\"\nname = \"Lead\"\n"),
        r#"bot.toml: roles: no role has key "commander" (it is required: the commander leads every incident)"#
    );
    assert_eq!(parse("roles = []\n").unwrap_err().key(), Some("roles"));
    assert_eq!(
        parse("[[roles]]\nkey = \"Commander\"\nname = \"IC\"\n").unwrap_err().key(),
        Some("roles[0].key")
    );
    assert_eq!(
        parse("[[roles]]\nkey = \"commander\"\n").unwrap_err().to_string(),
        "bot.toml: roles[0].name: missing"
    );
    assert!(parse(&format!("[[roles]]\nkey = \"c{}\"\nname = \"x\"\n", "a".repeat(31))).is_err());
}
