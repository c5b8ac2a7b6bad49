//! Postmortem rendering from a realistic record.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::incident::*;

fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap() + Duration::minutes(min)
}

fn u(name: &str) -> UserRef {
    UserRef::new(Platform::Console, name)
}

/// Declared 14:00, first update 14:05, mitigated 14:20, resolved 14:42.
fn record() -> (Incident, Vec<TimelineEntry>) {
    let rules = Rules::default();
    let cmd = Declare {
        title: "Checkout | errors".into(),
        severity: Some("SEV2".into()),
        private: false,
        platform: Platform::Console,
    };
    let d = declare(&rules, IncidentId(7), cmd, &u("alice"), t(0)).unwrap();
    let mut entries = d.entries;
    let mut inc = d.incident;
    let steps = [
        (2, Change::AssignRole { role: "commander".into(), user: u("bob") }),
        (5, Change::Update { status: Status::Identified, message: "bad deploy".into() }),
        (20, Change::Update { status: Status::Monitoring, message: "rolled back".into() }),
        (25, Change::FollowUp { text: "canary deploys".into(), owner: Some(u("erin")) }),
        (42, Change::Resolve { message: Some("all good".into()) }),
    ];
    for (min, change) in steps {
        let d = decide(&inc, &rules, change, &u("alice"), t(min)).unwrap();
        inc = d.incident;
        entries.extend(d.entries);
    }
    let flag = |id: &str, text: &str, min: i64| {
        let msg = FlaggedMessage {
            key: MessageKey {
                platform: Platform::Console,
                channel: "inc-7".into(),
                message: id.into(),
            },
            author: u("dave"),
            text: text.into(),
            at: t(min),
            link: Some(format!("https://chat.example/{id}")),
            files: vec![],
        };
        timeline::flag(&inc, None, &msg, Flag { user: u("carol"), via: FlagVia::Reaction }, t(30))
            .unwrap()
            .unwrap()
    };
    let late = flag("m3", "second flagged", 15);
    let early =
        timeline::edit(Some(&flag("m1", "first flagged", 3)), "first flagged, edited", t(31))
            .unwrap();
    let gone = timeline::unflag(
        Some(&flag("m2", "taken back", 10)),
        &Flag { user: u("carol"), via: FlagVia::Reaction },
    )
    .unwrap();
    let deleted = timeline::delete(Some(&flag("m4", "later deleted", 16)), t(33)).unwrap();
    entries.extend([late, gone, early, deleted]);
    (inc, entries)
}

#[test]
fn the_timeline_is_ordered_by_each_messages_own_time_without_retracted_entries() {
    let (inc, entries) = record();
    let md = render(&inc, &entries, &Rules::default(), None).unwrap();
    let first = md.find("first flagged, edited _(edited)_").expect("edited text with marker");
    let second = md.find("second flagged").unwrap();
    assert!(first < second);
    assert!(!md.contains("taken back"));
    assert!(md.contains("later deleted _(message deleted)_"));
    assert!(md.contains("[link](https://chat.example/m1)"));
}

#[test]
fn key_times_and_durations_are_computed() {
    let (inc, entries) = record();
    let md = render(&inc, &entries, &Rules::default(), None).unwrap();
    assert!(md.contains("| Declared | 2026-11-22 14:00:00 UTC | 0s |"), "{md}");
    assert!(md.contains("| Resolved | 2026-11-22 14:42:00 UTC | 42m |"));
    assert!(md.contains("| Closed | — | — |"));
    assert!(md.contains(
        "Time to first update: **5m** · time to mitigate: **20m** · time to resolve: **42m**"
    ));
}

#[test]
fn roles_show_handovers_and_follow_ups_their_owners() {
    let (inc, entries) = record();
    let md = render(&inc, &entries, &Rules::default(), None).unwrap();
    assert!(
        md.contains("- **Incident commander**: @bob (since 14:02; before: @alice 14:00–14:02)"),
        "{md}"
    );
    assert!(md.contains("- **Scribe**: vacant"));
    assert!(md.contains("1. canary deploys — @erin"));
    assert!(md.contains("- 2026-11-22 14:05:00 UTC **Identified** — bad deploy (@alice)"));
    assert!(md.starts_with("# Postmortem: INC-7 — Checkout \\| errors"));
    for prompt in [
        "## Summary",
        "## Impact",
        "## Root cause",
        "## What went well",
        "## What did not go well",
        "## Lessons",
    ] {
        assert!(md.contains(prompt), "{prompt}");
    }
}

#[test]
fn a_custom_template_renders_only_what_it_asks_for_and_unknown_placeholders_are_refused() {
    let (inc, entries) = record();
    let md = render(&inc, &entries, &Rules::default(), Some("{{id}}: {{ status }}\n")).unwrap();
    assert_eq!(md, "INC-7: Resolved\n");
    let err = check_template("# x\n\n{{title}} {{owner}}").unwrap_err();
    assert_eq!(err.line, 3);
    assert!(
        err.to_string().starts_with("line 3: unknown placeholder {{owner}}; known: id, title"),
        "{err}"
    );
    assert!(check_template("{{title").is_err());
    assert!(check_template(DEFAULT_TEMPLATE).is_ok());
}

#[test]
fn durations_read_like_a_person_would_write_them() {
    let d = |s| super::sections::human(Duration::seconds(s));
    assert_eq!(
        [d(12), d(300), d(2530), d(3900), d(183_600)],
        ["12s", "5m", "42m 10s", "1h 05m", "2d 3h"]
    );
}

#[test]
fn ten_thousand_entries_render() {
    let (inc, mut entries) = record();
    let base = entries[0].clone();
    for n in 0..10_000 {
        let mut e = base.clone();
        e.text = format!("entry {n}");
        e.at = t(n % 600);
        entries.push(e);
    }
    let md = render(&inc, &entries, &Rules::default(), None).unwrap();
    assert_eq!(md.matches("entry ").count(), 10_000);
}
