//! Reminders decided from the record: due once, recorded, silent after resolve.

use super::*;
use crate::incident::reminders::{next_due, remind};

fn texts(d: &Decision) -> Vec<String> {
    d.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Post { message, .. } => Some(message.to_plain()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_overdue_update_is_reminded_once_naming_the_commander() {
    let rules = Rules { role_reminder_minutes: None, ..Rules::default() };
    let inc = declared(false); // SEV2: every 30 minutes
    assert_eq!(next_due(&inc, &rules), Some(t(30)));
    assert!(remind(&inc, &rules, t(29)).is_none(), "not due yet");
    let d = remind(&inc, &rules, t(31)).unwrap();
    assert_eq!(
        texts(&d),
        [
            "⏰ INC-7: no status update for 30 minutes. @alice, time for `/incident update <status> <message>`."
        ]
    );
    assert!(d.entries.is_empty(), "reminders stay out of the timeline");
    assert!(remind(&d.incident, &rules, t(31)).is_none(), "reminded once");
    assert_eq!(
        next_due(&d.incident, &rules),
        Some(t(61)),
        "the next cadence counts from the reminder"
    );

    let updated = apply(&d.incident, update(Status::Identified), &alice(), 40).unwrap().incident;
    assert_eq!(next_due(&updated, &rules), Some(t(70)), "an update restarts the clock");
}

#[test]
fn vacant_roles_are_pointed_out_once() {
    let inc = declared(false);
    let rules = Rules { update_reminders: Default::default(), ..Rules::default() };
    assert_eq!(next_due(&inc, &rules), Some(t(10)));
    let d = remind(&inc, &rules, t(10)).unwrap();
    assert_eq!(
        texts(&d),
        [
            "👤 INC-7 still has no communications lead, scribe: `/incident role <role> @someone` (`/incident roles` lists them)."
        ]
    );
    assert_eq!(next_due(&d.incident, &rules), None);
}

#[test]
fn a_vacant_commander_comes_first_and_the_update_reminder_says_there_is_none() {
    let mut inc = declared(false);
    inc.roles.clear();
    let d = remind(&inc, &Rules::default(), t(45)).unwrap();
    let said = texts(&d);
    assert_eq!(said.len(), 2);
    assert!(
        said[0].ends_with("There is no commander: `/incident role commander @someone`."),
        "{said:?}"
    );
    assert!(
        said[1]
            .starts_with("👤 INC-7 still has no incident commander, communications lead, scribe"),
        "{said:?}"
    );
}

#[test]
fn nothing_is_reminded_after_resolve() {
    let rules = Rules::default();
    let inc = declared(false);
    let resolved = apply(&inc, Change::Resolve { message: None }, &alice(), 5).unwrap().incident;
    assert_eq!(next_due(&resolved, &rules), None);
    assert!(remind(&resolved, &rules, t(600)).is_none());
}
