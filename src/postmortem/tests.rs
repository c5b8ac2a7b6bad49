//! Rendering the draft from realistic records built with the core's own decisions.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::format::duration;
use super::*;
use crate::incident::*;

fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap() + Duration::minutes(min)
}

fn u(name: &str) -> UserRef {
    UserRef::new(Platform::Console, name)
}

fn pin(user: &str) -> Flag {
    Flag { user: u(user), via: FlagVia::Reaction }
}

fn message(id: &str, text: &str, at: DateTime<Utc>) -> FlaggedMessage {
    FlaggedMessage {
        key: MessageKey {
            platform: Platform::Console,
            channel: "inc-7".into(),
            message: id.into(),
        },
        author: u("dave"),
        text: text.into(),
        at,
        link: None,
        files: vec![],
    }
}

struct Record {
    incident: Incident,
    entries: Vec<TimelineEntry>,
}

impl Record {
    /// INC-7, SEV2, declared by alice at 14:00.
    fn declared() -> Self {
        let cmd = Declare {
            title: "Checkout errors".into(),
            severity: Some("SEV2".into()),
            private: false,
            platform: Platform::Console,
        };
        let d = declare(&Rules::default(), IncidentId(7), cmd, &u("alice"), t(0)).unwrap();
        Record { incident: d.incident, entries: d.entries }
    }

    fn at(mut self, min: i64, by: &str, change: Change) -> Self {
        let d = decide(&self.incident, &Rules::default(), change, &u(by), t(min)).unwrap();
        self.incident = d.incident;
        self.entries.extend(d.entries);
        self
    }

    fn flagged(&self, msg: &FlaggedMessage) -> TimelineEntry {
        timeline::flag(&self.incident, None, msg, pin("carol"), msg.at + Duration::seconds(30))
            .unwrap()
            .unwrap()
    }

    fn render(&self, template: Option<&str>) -> String {
        render(&self.incident, &self.entries, &Rules::default(), template).unwrap()
    }
}

/// Declared 14:00, first update 14:05, mitigated 14:20, resolved 14:42, closed 15:47.
fn walked_through() -> Record {
    Record::declared()
        .at(2, "alice", Change::AssignRole { role: "commander".into(), user: u("bob") })
        .at(5, "bob", Change::Update { status: Status::Identified, message: "bad deploy".into() })
        .at(20, "bob", Change::Update { status: Status::Monitoring, message: "rolled back".into() })
        .at(42, "bob", Change::Resolve { message: Some("all good".into()) })
        .at(107, "bob", Change::Close)
}

/// The timeline section only, one string per table row after the header.
fn timeline_rows(md: &str) -> Vec<&str> {
    let table = md.split("| Time (UTC) | Who | Kind | What |").nth(1).expect("a timeline table");
    table.lines().skip(2).take_while(|l| l.starts_with('|')).collect()
}

/// The cells of a table row the way GitHub splits them: `\x` is one escaped character.
fn cells(row: &str) -> usize {
    let mut pipes = 0;
    let mut chars = row.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '|' => pipes += 1,
            _ => {}
        }
    }
    pipes - 1
}

#[test]
fn the_timeline_is_ordered_by_each_messages_own_time() {
    let mut r = Record::declared();
    let late = r.flagged(&message("m1", "flagged late, said at 14:30", t(30)));
    let early = r.flagged(&message("m2", "flagged second, said at 14:10", t(10)));
    let tie_a = r.flagged(&message("m3", "same minute, given first", t(20)));
    let tie_b = r.flagged(&message("m4", "same minute, given second", t(20)));
    let before = r.flagged(&message("m5", "the alert, before it was declared", t(-3)));
    // Out of order on purpose: the slice is not sorted by time.
    r.entries = vec![late, tie_a, early, r.entries[0].clone(), tie_b, before];
    let md = r.render(None);
    let rows = timeline_rows(&md);
    let order = [
        "the alert, before it was declared",
        "Declared INC-7",
        "flagged second, said at 14:10",
        "same minute, given first",
        "same minute, given second",
        "flagged late, said at 14:30",
    ];
    assert_eq!(rows.len(), order.len(), "{md}");
    for (row, want) in rows.iter().zip(order) {
        assert!(row.contains(want), "{row} should contain {want}");
    }
    assert!(rows[0].starts_with("| 13:57:00 | @dave | message |"), "{}", rows[0]);
}

#[test]
fn retracted_entries_are_left_out() {
    let mut r = Record::declared();
    let kept = r.flagged(&message("m1", "keep me", t(3)));
    let taken_back =
        timeline::unflag(Some(&r.flagged(&message("m2", "taken back", t(4)))), &pin("carol"))
            .unwrap();
    assert_eq!(taken_back.state, EntryState::Retracted);
    r.entries.extend([kept, taken_back]);
    let md = r.render(None);
    assert!(md.contains("keep me"));
    assert!(!md.contains("taken back"), "{md}");
}

#[test]
fn an_edited_message_shows_its_latest_text_marked_edited() {
    let mut r = Record::declared();
    let first = r.flagged(&message("m1", "db is slow", t(3)));
    let edited = timeline::edit(Some(&first), "db is very slow", t(6)).unwrap();
    r.entries.push(edited);
    let md = r.render(None);
    assert!(md.contains("| 14:03:00 | @dave | message | db is very slow *(edited)* |"), "{md}");
    assert!(!md.contains("db is slow"));
}

#[test]
fn a_deleted_message_is_marked_deleted_and_what_it_said_is_gone() {
    let mut r = Record::declared();
    let first = r.flagged(&message("m1", "restarting the primary", t(3)));
    let deleted = timeline::delete(Some(&first), t(8)).unwrap();
    r.entries.push(deleted);
    let md = r.render(None);
    assert!(md.contains("| 14:03:00 | @dave | message | *(message deleted)* |"), "{md}");
    assert!(!md.contains("restarting the primary"), "{md}");
}

#[test]
fn key_times_and_the_durations_between_them_are_computed() {
    let md = walked_through().render(None);
    for row in [
        "| Declared | 2026-11-22 14:00:00 UTC |",
        "| First update | 2026-11-22 14:05:00 UTC |",
        "| Mitigated | 2026-11-22 14:20:00 UTC |",
        "| Resolved | 2026-11-22 14:42:00 UTC |",
        "| Closed | 2026-11-22 15:47:00 UTC |",
        "| Time to first update (declared → first update) | 5m |",
        "| Time to mitigate (declared → mitigated) | 20m |",
        "| Time to resolve (declared → resolved) | 42m |",
        "| Resolved → closed | 1h 05m |",
    ] {
        assert!(md.contains(row), "{row}\n{md}");
    }
}

#[test]
fn key_times_not_reached_yet_show_a_dash() {
    let md = Record::declared()
        .at(5, "alice", Change::Update { status: Status::Identified, message: "found it".into() })
        .render(None);
    assert!(md.contains("| Mitigated | — |"), "{md}");
    assert!(md.contains("| Closed | — |"));
    assert!(md.contains("| Time to first update (declared → first update) | 5m |"));
    assert!(md.contains("| Time to resolve (declared → resolved) | — |"));
    assert!(md.contains("| Resolved → closed | — |"));
}

#[test]
fn durations_read_like_a_person_would_write_them() {
    let d = |s| duration(Duration::seconds(s));
    assert_eq!(
        [d(0), d(12), d(300), d(2530), d(2705), d(3600), d(3900), d(183_600), d(172_800)],
        ["0s", "12s", "5m", "42m 10s", "45m 05s", "1h", "1h 05m", "2d 3h", "2d"]
    );
    assert_eq!(d(-90), "-1m 30s");
}

#[test]
fn role_handovers_show_each_holder_and_vacant_roles_say_so() {
    let md = Record::declared()
        .at(5, "alice", Change::AssignRole { role: "commander".into(), user: u("bob") })
        .at(9, "bob", Change::AssignRole { role: "commander".into(), user: u("carol") })
        .at(12, "bob", Change::AssignRole { role: "scribe".into(), user: u("dave") })
        .render(None);
    let roles = md.split("## Roles").nth(1).unwrap();
    assert!(
        roles.contains(
            "- **Incident commander**: @carol (since 14:09; before: @alice 14:00–14:05, @bob 14:05–14:09)\n\
             - **Communications lead**: vacant\n\
             - **Scribe**: @dave (since 14:12)\n"
        ),
        "{roles}"
    );
}

#[test]
fn follow_ups_are_numbered_with_their_owner_or_unowned() {
    let md = Record::declared()
        .at(30, "alice", Change::FollowUp { text: "Canary deploys".into(), owner: Some(u("erin")) })
        .at(31, "bob", Change::FollowUp { text: "Alert on p99 latency".into(), owner: None })
        .render(None);
    assert!(
        md.contains(
            "1. Canary deploys — owner: @erin (added by @alice, 14:30)\n\
             2. Alert on p99 latency — unowned (added by @bob, 14:31)\n"
        ),
        "{md}"
    );
    assert!(Record::declared().render(None).contains("No follow-ups were recorded."));
}

#[test]
fn severity_changes_follow_the_initial_level() {
    let md = Record::declared()
        .at(4, "bob", Change::Severity { level: "SEV1".into() })
        .at(50, "bob", Change::Severity { level: "sev3".into() })
        .render(None);
    assert!(
        md.contains(
            "Declared as **SEV2**.\n\n\
             - 14:04: raised from SEV2 to **SEV1** by @bob\n\
             - 14:50: lowered from SEV1 to **SEV3** by @bob\n"
        ),
        "{md}"
    );
    assert!(md.contains("- **Severity:** SEV3"));
    let calm = Record::declared().render(None);
    assert!(calm.contains("Declared as **SEV2**.\n\nNo changes."), "{calm}");
}

#[test]
fn responders_and_status_updates_say_who_and_when() {
    let md = walked_through().render(Some("{{responders}}\n---\n{{updates}}\n"));
    assert_eq!(
        md,
        "- @alice — declared the incident at 14:00\n\
         - @bob — added by @alice at 14:02\n\
         ---\n\
         | Time (UTC) | Status | Update | By |\n\
         |---|---|---|---|\n\
         | 14:05:00 | Identified | bad deploy | @bob |\n\
         | 14:20:00 | Monitoring | rolled back | @bob |\n\
         | 14:42:00 | Resolved | all good | @bob |\n"
    );
}

#[test]
fn user_text_cannot_break_the_timeline_table() {
    let mut r = Record::declared();
    let mut msg = message("m1", "a | b\nsecond line\r\nthird \\| still one cell \\\\|", t(3));
    msg.author = UserRef::named(Platform::Slack, "U1", "Eve | Ops");
    msg.link = Some("https://chat.example/m1?a=(1)|2".into());
    msg.files = vec!["https://files.example/x/graph [1].png?sig=abc".into(), "notes.txt".into()];
    let entry = r.flagged(&msg);
    r.entries.push(entry);
    let md = r.render(None);
    let rows = timeline_rows(&md);
    assert_eq!(rows.len(), 2, "{md}");
    for row in &rows {
        assert_eq!(cells(row), 4, "{row}");
    }
    let row = rows[1];
    assert!(row.contains("a \\| b<br>second line<br>third "), "{row}");
    assert!(row.contains("[link](https://chat.example/m1?a=%281%29%7C2)"), "{row}");
    assert!(
        row.contains(
            "Files: [graph \\[1\\].png](https://files.example/x/graph%20[1].png?sig=abc), notes.txt"
        ),
        "{row}"
    );
    assert!(row.contains("| @Eve \\| Ops |"), "{row}");
}

#[test]
fn placeholders_inside_user_text_are_not_expanded() {
    let mut r = Record::declared();
    let entry = r.flagged(&message("m1", "literally {{title}} and {{nope}}", t(3)));
    r.entries.push(entry);
    let md = r.render(Some("{{timeline}}"));
    assert!(md.contains("literally {{title}} and {{nope}}"), "{md}");
}

#[test]
fn a_custom_template_with_an_unknown_placeholder_is_refused_with_its_line_number() {
    let err = check_template("# {{title}}\n\nOwner: {{owner}}\n").unwrap_err();
    assert_eq!(err, TemplateError::UnknownPlaceholder { name: "owner".into(), line: 3 });
    assert_eq!(
        err.to_string(),
        "unknown placeholder {{owner}} on line 3; known: id, title, severity, status, private, \
         key_times, severity_history, roles, responders, updates, timeline, followups"
    );
    let r = Record::declared();
    let refused = render(&r.incident, &r.entries, &Rules::default(), Some("x\n{{Title}}"));
    assert_eq!(
        refused.unwrap_err(),
        TemplateError::UnknownPlaceholder { name: "Title".into(), line: 2 }
    );
}

#[test]
fn an_unclosed_placeholder_is_refused_with_its_line_number() {
    let err = check_template("ok {{id}}\n{{title\n}}").unwrap_err();
    assert_eq!(err, TemplateError::Unclosed { line: 2 });
    assert_eq!(
        err.to_string(),
        "unclosed {{ on line 2; placeholders look like {{title}} on one line"
    );
}

#[test]
fn a_custom_template_renders_only_what_it_asks_for() {
    let r = walked_through();
    let md =
        r.render(Some("{{id}} ({{ severity }}, {{status}}, private: {{private}}): {{title}}\n"));
    assert_eq!(md, "INC-7 (SEV2, Closed, private: no): Checkout errors\n");
    assert_eq!(r.render(Some("no placeholders at all")), "no placeholders at all");
    assert_eq!(r.render(Some("")), "");
    assert!(check_template("# {title} uses single braces, which are plain text").is_ok());
}

#[test]
fn the_default_template_has_every_section_and_only_known_placeholders() {
    check_template(DEFAULT_TEMPLATE).unwrap();
    for name in PLACEHOLDERS {
        assert!(DEFAULT_TEMPLATE.contains(&format!("{{{{{name}}}}}")), "{name} is not used");
        check_template(&format!("{{{{ {name} }}}}")).unwrap();
    }
    let md = walked_through().render(None);
    assert!(md.starts_with("# Postmortem: INC-7 — Checkout errors\n"), "{md}");
    assert!(md.contains("**Draft** generated by tocsin from the incident record"));
    let headings: Vec<&str> = md.lines().filter(|l| l.starts_with("##")).collect();
    assert_eq!(
        headings,
        [
            "## Summary",
            "## Impact",
            "## Key times",
            "## Root cause",
            "### Five whys",
            "## What went well",
            "## What did not go well",
            "## Lessons",
            "## Follow-ups",
            "## Severity",
            "## Roles",
            "## Responders",
            "## Status updates",
            "## Timeline",
        ]
    );
    for prompt in ["## Summary", "## Impact", "## Root cause", "## What went well", "## Lessons"] {
        let after = md.split(prompt).nth(1).unwrap();
        let first_line = after.trim_start().lines().next().unwrap();
        assert!(first_line.starts_with('_') && first_line.ends_with('_'), "{prompt}: {first_line}");
    }
    for n in 1..=5 {
        assert!(md.contains(&format!("{n}. Why …? Because …")));
    }
    assert!(!md.contains("{{"), "every placeholder is filled");
}

#[test]
fn times_on_another_day_carry_their_date() {
    let r = Record::declared().at(
        60 * 24 + 5,
        "alice",
        Change::Update { status: Status::Identified, message: "next day".into() },
    );
    let md = r.render(None);
    assert!(md.contains("| 2026-11-23 14:05:00 | Identified | next day | @alice |"), "{md}");
    assert!(md.contains("| Time to first update (declared → first update) | 1d |"));
}

/// `n` messages like `base`, "entry 0" onwards, out of time order over ten
/// hours: past 600, several share a minute.
fn numbered_entries(base: &TimelineEntry, n: i64) -> Vec<TimelineEntry> {
    (0..n)
        .map(|n| {
            let mut e = base.clone();
            e.kind = EntryKind::Message;
            e.text = format!("entry {n}");
            e.at = t((n * 7919) % 600);
            e
        })
        .collect()
}

#[test]
fn ten_thousand_entries_render() {
    let mut r = walked_through();
    let entries = numbered_entries(&r.entries[0], 10_000);
    r.entries.extend(entries);
    let md = r.render(None);
    assert_eq!(md.matches("| entry ").count(), 10_000);
    assert_eq!(timeline_rows(&md).len(), 10_000 + 7);
}

#[test]
fn a_large_timeline_given_out_of_order_comes_out_by_time_then_as_given() {
    let mut r = Record::declared();
    r.entries = numbered_entries(&r.entries[0], 3_000);
    let mut want: Vec<(DateTime<Utc>, usize)> =
        r.entries.iter().enumerate().map(|(n, e)| (e.at, n)).collect();
    want.sort_by_key(|(at, _)| *at);
    let md = r.render(None);
    let got: Vec<usize> = timeline_rows(&md)
        .iter()
        .map(|row| {
            let at = row.find("entry ").expect("a row of an entry") + "entry ".len();
            let digits: String = row[at..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse().expect("the entry's number")
        })
        .collect();
    assert_eq!(got, want.into_iter().map(|(_, n)| n).collect::<Vec<_>>());
}

#[test]
fn chat_text_cannot_put_html_images_or_links_into_the_draft() {
    let mut r = Record::declared();
    let evil = "<img src=x onerror=alert(1)> ![pic](https://evil.example/x.png) \
                [click](https://evil.example) <https://evil.example> \\[again](https://evil.example) & done";
    let entry = r.flagged(&message("m1", evil, t(3)));
    r.entries.push(entry);
    r = r.at(5, "alice", Change::Update { status: Status::Identified, message: evil.into() });
    r = r.at(6, "alice", Change::FollowUp { text: evil.into(), owner: None });
    let md = r.render(None);
    for bad in ["<img", "![pic](", "[click](", "<https://", "[again]("] {
        assert!(!md.contains(bad), "{bad} survived: {md}");
    }
    assert!(md.contains("&lt;img src=x onerror=alert(1)&gt;"), "{md}");
    assert!(md.contains("!\\[pic\\](https://evil.example/x.png)"), "{md}");
    assert!(md.contains("&amp; done"), "{md}");
}
