//! The pure parts of the pages: the status page's summary, the postmortem's
//! HTML and which links may be drawn.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::status::summarize;
use super::views::web_link;
use crate::config::StatusPageConfig;
use crate::incident::public::Impact;
use crate::incident::{
    Change, Declare, Incident, IncidentId, Platform, Rules, UserRef, decide, declare,
};

fn t(days: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap() + Duration::days(days)
}

fn rules() -> Rules {
    Rules { status_components: Some(vec!["API".into(), "Checkout".into()]), ..Rules::default() }
}

fn config() -> StatusPageConfig {
    StatusPageConfig { title: "Acme".into(), components: vec!["API".into(), "Checkout".into()] }
}

/// An incident declared on `day`, changed by `changes` in turn, a minute apart.
fn incident(n: i64, day: i64, private: bool, changes: Vec<Change>) -> Incident {
    let alice = UserRef::named(Platform::Slack, "UALICE", "alice");
    let cmd = Declare {
        title: format!("Internal title {n}"),
        severity: None,
        private,
        platform: Platform::Slack,
    };
    let mut inc = declare(&rules(), IncidentId(n), cmd, &alice, t(day)).unwrap().incident;
    for (k, c) in changes.into_iter().enumerate() {
        inc = decide(&inc, &rules(), c, &alice, t(day) + Duration::minutes(k as i64 + 1))
            .unwrap()
            .incident;
    }
    inc
}

fn impact(component: &str, level: &str) -> Change {
    Change::Impact { component: component.into(), level: level.into() }
}

fn publish(text: &str) -> Change {
    Change::Publish { message: text.into() }
}

#[test]
fn the_summary_shows_how_things_stand_now_and_ninety_days_of_history() {
    let resolve = || Change::Resolve { message: None };
    let incidents = vec![
        // Open, downgraded from major to degraded: shown as degraded now.
        incident(1, 0, false, vec![impact("Checkout", "major"), impact("Checkout", "degraded")]),
        // Open, published but never internal: a notice, everything operational.
        incident(2, 0, false, vec![publish("Scheduled maintenance tonight")]),
        // Resolved 30 days ago: history, under the worst it got.
        incident(3, -30, false, vec![impact("API", "major"), impact("API", "degraded"), resolve()]),
        // Resolved 100 days ago: past the history.
        incident(4, -100, false, vec![impact("API", "major"), resolve()]),
        // Never published, and a private one: not there at all.
        incident(5, 0, false, vec![]),
        incident(6, 0, true, vec![]),
    ];
    let s = summarize(&config(), &incidents, t(0) + Duration::hours(1));
    let states: Vec<(&str, Impact)> =
        s.components.iter().map(|c| (c.name.as_str(), c.status)).collect();
    assert_eq!(states, vec![("API", Impact::Operational), ("Checkout", Impact::Degraded)]);
    assert_eq!(
        (s.status.indicator, s.status.description.as_str()),
        ("minor", "Some systems are degraded")
    );
    let active: Vec<&str> = s.incidents.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(active.len(), 2);
    assert!(active.contains(&"Degraded performance: Checkout"), "{active:?}");
    assert!(active.contains(&"Service notice"), "{active:?}");
    let history: Vec<&str> = s.history.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(history, vec!["Major outage: API"]);
    assert_eq!(s.history[0].status, "resolved");
    let json = serde_json::to_string(&s).unwrap();
    assert!(!json.contains("Internal title") && !json.contains("alice"), "{json}");
    let ids: std::collections::BTreeSet<&str> =
        s.incidents.iter().chain(&s.history).map(|i| i.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "ids are distinct");
}

#[test]
fn with_nothing_published_all_systems_are_operational() {
    let s = summarize(&config(), &[incident(1, 0, false, vec![])], t(0));
    assert_eq!(
        (s.status.indicator, s.status.description.as_str()),
        ("none", "All systems operational")
    );
    assert!(s.incidents.is_empty() && s.history.is_empty());
}

#[test]
fn the_postmortem_page_shows_raw_html_as_text_but_keeps_line_breaks_in_cells() {
    let html = super::pages::markdown_to_html(
        "| a | b |\n|---|---|\n| one<br>two | <script>alert(1)</script> |\n\n<img src=x onerror=alert(1)>",
    );
    assert!(html.contains("one<br />"), "{html}");
    assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"), "{html}");
    assert!(!html.contains("<img"), "{html}");
}

#[test]
fn only_http_links_are_drawn() {
    assert_eq!(
        web_link(Some(" https://grafana.example/d/1 ")).as_deref(),
        Some("https://grafana.example/d/1")
    );
    assert_eq!(web_link(Some("HTTP://x.example")).as_deref(), Some("HTTP://x.example"));
    for bad in ["javascript:alert(1)", "data:text/html,hi", "//evil.example", "", "JaVaScRiPt:x"] {
        assert_eq!(web_link(Some(bad)), None, "{bad}");
    }
}
