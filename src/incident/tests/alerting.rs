//! Incidents opened and fed by alerts, and the pages they send.

use std::collections::BTreeMap;

use super::*;
use crate::incident::alerting::{self, Alert, AlertBatch, AlertStatus, Opening};

fn alert(fingerprint: &str, status: AlertStatus) -> Alert {
    Alert {
        fingerprint: fingerprint.into(),
        status,
        labels: BTreeMap::from([("alertname".to_string(), format!("Alert{fingerprint}"))]),
        annotations: BTreeMap::new(),
        starts_at: t(0),
        link: Some(format!("http://prometheus/graph?{fingerprint}")),
    }
}

fn batch(alerts: Vec<Alert>) -> AlertBatch {
    AlertBatch {
        source: "alertmanager".into(),
        group: "{}:{alertname=\"HighErrorRate\"}".into(),
        alerts,
        common_labels: BTreeMap::new(),
        common_annotations: BTreeMap::new(),
    }
}

fn paging_rules() -> Rules {
    Rules { pageable_teams: ["payments".to_string()].into(), ..Rules::default() }
}

fn opening(private: bool) -> Opening {
    Opening {
        rule: "checkout".into(),
        severity: "sev1".into(),
        title: "High error rate on checkout".into(),
        private,
        teams: vec![
            ("payments".into(), vec![bob()]),
            // A team with no pager: its members come, nothing is paged.
            ("web".into(), vec![carol()]),
        ],
    }
}

fn opened() -> Incident {
    let b = batch(vec![alert("a1", AlertStatus::Firing)]);
    alerting::open(&paging_rules(), IncidentId(3), &b, &opening(false), Platform::Slack, t(0))
        .unwrap()
        .incident
}

fn pages(effects: &[Effect]) -> Vec<(String, bool)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Page { team, resolve, .. } => Some((team.clone(), *resolve)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_alert_opens_an_incident_without_a_commander_and_pages_only_teams_with_a_pager() {
    let b = batch(vec![alert("a1", AlertStatus::Firing)]);
    let d =
        alerting::open(&paging_rules(), IncidentId(3), &b, &opening(false), Platform::Slack, t(0))
            .unwrap();
    let inc = &d.incident;
    assert_eq!(inc.severity, "SEV1");
    assert_eq!(inc.holder("commander"), None, "nobody commands until someone takes it");
    assert_eq!(inc.acknowledged, None);
    assert!(inc.is_responder(&bob()) && inc.is_responder(&carol()));
    assert_eq!(inc.teams, ["payments", "web"]);
    assert_eq!(inc.paged, ["payments"]);
    assert_eq!(pages(&d.effects), [("payments".to_string(), false)]);
    assert_eq!(inc.origin.as_ref().unwrap().rule, "checkout");
    assert_eq!(inc.alerts.len(), 1);
    assert!(d.effects.iter().any(|e| matches!(e, Effect::Post { to: Audience::Announce, .. })));
    assert!(d.effects.iter().any(|e| matches!(e, Effect::Hook { event: HookEvent::Declared, .. })));
    let kinds: Vec<EntryKind> = d.entries.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EntryKind::Declared,
            EntryKind::Responders,
            EntryKind::Paged,
            EntryKind::Responders,
            EntryKind::Alert
        ]
    );
}

#[test]
fn a_private_alert_incident_is_not_announced() {
    let b = batch(vec![alert("a1", AlertStatus::Firing)]);
    let d =
        alerting::open(&paging_rules(), IncidentId(3), &b, &opening(true), Platform::Slack, t(0))
            .unwrap();
    assert!(d.incident.private);
    assert!(
        !d.effects.iter().any(|e| matches!(
            e,
            Effect::Post { to: Audience::Announce | Audience::Subscribers, .. }
        ))
    );
}

#[test]
fn a_repeated_notification_changes_nothing_and_new_or_resolved_alerts_add_one_entry_each() {
    let inc = opened();
    let again = batch(vec![alert("a1", AlertStatus::Firing)]);
    assert!(alerting::absorb(&inc, &again, t(5)).is_none(), "a repeat is nothing new");

    let more = batch(vec![alert("a1", AlertStatus::Firing), alert("a2", AlertStatus::Firing)]);
    let d = alerting::absorb(&inc, &more, t(6)).unwrap();
    assert_eq!(d.entries.len(), 1);
    assert_eq!(d.entries[0].text, "Alert firing: Alerta2");
    assert_eq!(d.effects.len(), 1, "one post: {:?}", d.effects);
    let inc = d.incident;

    let resolved =
        batch(vec![alert("a1", AlertStatus::Resolved), alert("a2", AlertStatus::Firing)]);
    let d = alerting::absorb(&inc, &resolved, t(9)).unwrap();
    assert_eq!(d.entries.len(), 1);
    assert_eq!(d.entries[0].text, "Alert resolved: Alerta1");
    assert_eq!(
        d.incident.status,
        Status::Investigating,
        "a resolved alert never resolves the incident"
    );
    assert!(pages(&d.effects).is_empty());
    assert!(alerting::absorb(&d.incident, &resolved, t(10)).is_none());
}

#[test]
fn an_unknown_resolved_alert_is_nothing_new() {
    let inc = opened();
    assert!(
        alerting::absorb(&inc, &batch(vec![alert("zz", AlertStatus::Resolved)]), t(1)).is_none()
    );
}

#[test]
fn resolving_resolves_every_page_and_taking_command_acknowledges() {
    let inc = opened();
    let rules = paging_rules();
    let take = Change::AssignRole { role: "commander".into(), user: alice() };
    let d = decide(&inc, &rules, take, &bob(), t(4)).unwrap();
    let ack = d.incident.acknowledged.clone().expect("taking command acknowledges");
    assert_eq!((ack.by, ack.at), (alice(), t(4)));

    let d =
        decide(&d.incident, &rules, Change::Resolve { message: None }, &alice(), t(30)).unwrap();
    assert_eq!(pages(&d.effects), [("payments".to_string(), true)]);
    assert!(d.effects.iter().any(|e| matches!(e, Effect::Hook { event: HookEvent::Resolved, .. })));
}

#[test]
fn the_first_acknowledgement_counts_and_a_second_is_refused() {
    let inc = opened();
    let rules = paging_rules();
    let d = decide(&inc, &rules, Change::Acknowledge, &carol(), t(3)).unwrap();
    assert_eq!(d.incident.acknowledged.as_ref().map(|a| a.at), Some(t(3)));
    assert_eq!(d.entries[0].kind, EntryKind::Acknowledged);
    let again = decide(&d.incident, &rules, Change::Acknowledge, &bob(), t(4)).unwrap_err();
    assert_eq!(again.to_string(), "INC-3 was acknowledged by carol at 14:03 UTC");
}

#[test]
fn paging_a_team_twice_or_a_team_with_no_pager_is_refused() {
    let inc = opened();
    let rules = paging_rules();
    let page = |team: &str| Change::Page { team: team.into(), members: vec![] };
    let twice = decide(&inc, &rules, page("payments"), &bob(), t(1)).unwrap_err();
    assert!(twice.to_string().starts_with("payments is already paged for INC-3"), "{twice}");
    let no_pager = decide(&inc, &rules, page("web"), &bob(), t(1)).unwrap_err();
    assert!(no_pager.to_string().starts_with("web has no pager"), "{no_pager}");

    let invite = Change::Invite { users: vec![], teams: vec!["payments".into()] };
    let d = decide(&inc, &rules, invite, &bob(), t(1));
    assert!(d.is_err(), "inviting an already paged team with nobody new changes nothing");
}
