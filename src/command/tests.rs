//! Parser tests: every spec, its examples, and the mistakes people make.

use super::*;
use crate::incident::{IncidentId, Platform, Rules, Status, UserRef};

fn ctx(rules: &Rules) -> ParseContext<'_> {
    static TEAMS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    ParseContext {
        rules,
        teams: TEAMS.get_or_init(|| vec!["payments".into()]),
        platform: Platform::Console,
    }
}

fn ok(text: &str) -> Invocation {
    let rules = Rules::default();
    parse(text, &ctx(&rules)).unwrap_or_else(|e| panic!("{text}: {}", e.render()))
}

fn err(text: &str) -> String {
    let rules = Rules::default();
    parse(text, &ctx(&rules)).expect_err(text).render()
}

#[test]
fn every_spec_file_parses_and_every_example_runs_its_own_command() {
    assert_eq!(spec::files().count(), spec::all().len());
    assert_eq!(spec::all().len(), 22);
    for s in spec::all() {
        assert!(!s.examples.is_empty(), "{} has no example", s.name);
        for e in &s.examples {
            let inv = ok(e);
            assert_eq!(inv.name(), s.name, "example {e:?}");
        }
    }
}

#[test]
fn declare_takes_an_optional_severity_a_title_and_a_private_switch() {
    let inv = ok("declare sev2 Checkout   failing --private");
    assert_eq!(
        inv.args,
        Args::of([
            ("severity", Value::Severity("SEV2".into())),
            ("title", Value::Text("Checkout   failing".into())),
            ("private", Value::Flag(true)),
        ])
    );
    let inv = ok("declare Login slow");
    assert_eq!(inv.args, Args::of([("title", Value::Text("Login slow".into()))]));
}

#[test]
fn an_unknown_severity_is_refused_not_taken_as_a_title_word() {
    assert_eq!(
        err("declare SEV9 db down"),
        "unknown severity \"SEV9\"; expected one of SEV1, SEV2, SEV3, SEV4\nUsage: /incident declare [SEV] <title…> [--private]"
    );
}

#[test]
fn an_unknown_subcommand_lists_the_known_ones() {
    let e = err("delcare SEV1 x");
    assert!(
        e.starts_with("unknown subcommand \"delcare\"; expected one of ack, close, declare,"),
        "{e}"
    );
}

#[test]
fn an_incident_can_be_named_before_the_arguments() {
    let inv = ok("update INC-7 monitoring Rolled back");
    assert_eq!(inv.incident, Some(IncidentId(7)));
    assert_eq!(
        inv.args,
        Args::of([
            ("status", Value::Status(Status::Monitoring)),
            ("message", Value::Text("Rolled back".into())),
        ])
    );
    let inv = ok("update monitoring fixed by reverting INC-6's change");
    assert_eq!(inv.incident, None, "an incident mentioned in the message is just text");
}

#[test]
fn a_switch_is_known_whatever_its_dashes_and_case() {
    for text in [
        "declare SEV1 Payroll export leaked —private",
        "declare SEV1 Payroll export leaked –private",
        "declare SEV1 Payroll export leaked --PRIVATE",
        "declare SEV1 Payroll export leaked -Private",
    ] {
        let inv = ok(text);
        assert_eq!(inv.args.get("private"), Some(&Value::Flag(true)), "{text}");
        assert_eq!(
            inv.args.get("title"),
            Some(&Value::Text("Payroll export leaked".into())),
            "{text}"
        );
    }
    let inv = ok("subscribe —min_severity sev2");
    assert_eq!(inv.args.get("min_severity"), Some(&Value::Severity("SEV2".into())));
    let inv = ok("declare SEV3 Latency up -5% since the deploy");
    assert_eq!(
        inv.args.get("title"),
        Some(&Value::Text("Latency up -5% since the deploy".into())),
        "a dash before a digit is text"
    );
}

#[test]
fn mistakes_get_one_clear_sentence_and_the_usage() {
    let cases = [
        ("update", "missing status: investigating, identified, monitoring or resolved"),
        (
            "update fixed it",
            "unknown status \"fixed\"; expected one of investigating, identified, monitoring, resolved",
        ),
        ("update identified", "missing message: what responders and stakeholders should know"),
        ("role janitor @bob", "unknown role \"janitor\"; expected one of commander, comms, scribe"),
        ("role commander bob", "expected a person, like @name, not \"bob\""),
        (
            "invite @bob platform",
            "\"platform\" is neither a person (@name) nor a team (teams: payments)",
        ),
        ("subscribe INC-x", "\"INC-x\" is not an incident; incidents look like INC-7"),
        ("subscribe --min-severity", "--min-severity needs a value"),
        (
            "subscribe --min-severity SEV7",
            "unknown severity \"SEV7\"; expected one of SEV1, SEV2, SEV3, SEV4",
        ),
        ("close now", "unexpected \"now\""),
        ("list --all", "unknown option \"--all\"; it takes no options"),
        (
            "declare SEV1 Payroll export leaked --privat",
            "unknown option \"--privat\"; it takes --private",
        ),
        (
            "declare SEV1 Payroll export leaked --private=false",
            "\"--private=false\": --private takes no value; write --private on its own, or leave it out",
        ),
        (
            "subscribe --min-severity=SEV2",
            "\"--min-severity=SEV2\": write --min-severity SEV2, without \"=\"",
        ),
        ("note", "missing text: the note"),
    ];
    for (text, want) in cases {
        let e = err(text);
        let (first, usage) = e.split_once('\n').expect("usage line");
        assert_eq!(first, want, "{text}");
        assert!(usage.starts_with("Usage: /incident "), "{text}: {usage}");
    }
}

#[test]
fn mentions_and_teams_are_understood() {
    let inv = ok("invite @bob payments @carol");
    assert_eq!(
        inv.args,
        Args::of([(
            "user",
            Value::Invitees(vec![
                Invitee::User(UserRef::new(Platform::Console, "bob")),
                Invitee::Team("payments".into()),
                Invitee::User(UserRef::new(Platform::Console, "carol")),
            ])
        )])
    );
    let rules = Rules::default();
    let slack = ParseContext { rules: &rules, teams: &[], platform: Platform::Slack };
    let inv = parse("role scribe <@U024BE7LH|bob>", &slack).unwrap();
    assert_eq!(
        inv.args,
        Args::of([
            ("role", Value::Role("scribe".into())),
            ("user", Value::User(UserRef::named(Platform::Slack, "U024BE7LH", "bob"))),
        ])
    );
    let e = parse("role scribe @bob", &slack).unwrap_err();
    assert_eq!(e.message, "\"@bob\" is plain text; mention the person so slack links them");
}

#[test]
fn a_follow_up_owner_is_taken_from_the_end_of_the_text() {
    let inv = ok("followup Add an alert @bob");
    assert_eq!(
        inv.args,
        Args::of([
            ("text", Value::Text("Add an alert".into())),
            ("owner", Value::User(UserRef::new(Platform::Console, "bob"))),
        ])
    );
    let inv = ok("followup Ask @bob about the alert");
    assert_eq!(inv.args, Args::of([("text", Value::Text("Ask @bob about the alert".into()))]));
}

#[test]
fn user_text_keeps_its_characters_and_options_elsewhere_in_it() {
    let inv = ok("note use --force <!channel> & move on");
    assert_eq!(
        inv.args,
        Args::of([("text", Value::Text("use --force <!channel> & move on".into()))])
    );
}

#[test]
fn an_empty_command_and_help_render_from_the_specs() {
    let empty = ok("");
    assert_eq!((empty.name(), empty.args), ("help", Args::default()));
    let overview = help::overview();
    for s in spec::all() {
        assert!(overview.contains(&s.summary), "{}", s.name);
    }
    let d = help::for_topic(Some("declare"));
    assert!(d.starts_with("/incident declare [SEV] <title…> [--private]"), "{d}");
    assert!(d.contains("--private (optional): Private channel, no announcement"), "{d}");
    assert!(help::for_topic(Some("nope")).starts_with("There is no subcommand \"nope\"."));
}

mod fuzz {
    use proptest::prelude::*;

    use crate::command::{ParseContext, parse};
    use crate::incident::{Platform, Rules};

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "declare",
                "update",
                "role",
                "invite",
                "followup",
                "subscribe",
                "help",
                "SEV1",
                "sev9",
                "--private",
                "--min-severity",
                "--min-severity=SEV2",
                "--",
                "-",
                "INC-7",
                "inc-0",
                "#2",
                "<@U1>",
                "<@U1|ana>",
                "<@>",
                "<@!9>",
                "@bob",
                "@",
                "payments",
                "commander",
                "monitoring",
                "resolved",
                "é",
                "🚨",
                "\u{200b}",
            ])
            .prop_map(String::from),
            any::<String>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Any text after `/incident`, on any platform, is typed or refused
        /// with a usage error, never a panic.
        #[test]
        fn any_command_text_is_typed_or_refused(
            tokens in prop::collection::vec(token(), 0..8),
            platform in prop::sample::select(vec![Platform::Slack, Platform::Discord, Platform::Console]),
        ) {
            let rules = Rules::default();
            let teams = vec!["payments".to_string()];
            let ctx = ParseContext { rules: &rules, teams: &teams, platform };
            let _ = parse(&tokens.join(" "), &ctx);
        }
    }
}

#[test]
fn the_readme_lists_every_subcommand_as_its_spec_says() {
    let readme = include_str!("../../README.md");
    let start = readme.find("## Commands").expect("a Commands section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let rows: Vec<Vec<String>> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.trim_matches('|').split(" | ").map(|c| c.trim().replace("\\|", "|")).collect())
        .collect();
    let specs = spec::all();
    assert_eq!(rows.len(), specs.len(), "one row per subcommand");
    for (row, s) in rows.iter().zip(specs) {
        let who = serde_json::to_value(s.who).unwrap();
        let expected = [
            format!("`{}`", s.name),
            format!("`/incident {}`", s.usage),
            s.summary.clone(),
            who.as_str().unwrap().to_string(),
        ];
        assert_eq!(row[..], expected[..], "README row for {}", s.name);
    }
}
