//! Table and property tests of the state machine.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::*;

fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap() + Duration::minutes(min)
}

fn alice() -> UserRef {
    UserRef::new(Platform::Console, "alice")
}
fn bob() -> UserRef {
    UserRef::new(Platform::Console, "bob")
}
fn carol() -> UserRef {
    UserRef::new(Platform::Console, "carol")
}

fn declared(private: bool) -> Incident {
    let cmd = Declare {
        title: "Checkout errors".into(),
        severity: Some("sev2".into()),
        private,
        platform: Platform::Console,
    };
    declare(&Rules::default(), IncidentId(7), cmd, &alice(), t(0)).unwrap().incident
}

fn apply(inc: &Incident, change: Change, by: &UserRef, min: i64) -> Result<Decision, UserError> {
    decide(inc, &Rules::default(), change, by, t(min))
}

fn update(status: Status) -> Change {
    Change::Update { status, message: "progress".into() }
}

#[test]
fn declaring_opens_a_channel_announces_and_makes_the_declarer_commander() {
    let cmd = Declare {
        title: "Checkout errors".into(),
        severity: Some("sev2".into()),
        private: false,
        platform: Platform::Slack,
    };
    let d = declare(&Rules::default(), IncidentId(7), cmd, &alice(), t(0)).unwrap();
    assert_eq!(d.incident.severity, "SEV2");
    assert_eq!(d.incident.status, Status::Investigating);
    assert_eq!(d.incident.holder("commander"), Some(&alice()));
    assert!(d.incident.is_responder(&alice()));
    assert!(
        matches!(&d.effects[0], Effect::OpenChannel { name, private: false, .. } if name == "inc-7-checkout-errors")
    );
    assert!(d.effects.iter().any(|e| matches!(e, Effect::Post { to: Audience::Announce, .. })));
    assert!(
        d.effects
            .iter()
            .any(|e| matches!(e, Effect::Post { to: Audience::IncidentChannel, pin: true, .. }))
    );
    assert_eq!(d.entries.len(), 1);
    assert_eq!(d.reply.to_plain(), "Declared INC-7 (SEV2) → #inc-7-checkout-errors");
}

#[test]
fn a_private_incident_is_never_announced() {
    let cmd = Declare {
        title: "Data leak".into(),
        severity: None,
        private: true,
        platform: Platform::Slack,
    };
    let d = declare(&Rules::default(), IncidentId(1), cmd, &alice(), t(0)).unwrap();
    assert!(d.effects.iter().all(|e| !matches!(
        e,
        Effect::Post { to: Audience::Announce | Audience::Subscribers, .. }
    )));
    let inc = d.incident;
    let up = apply(&inc, update(Status::Identified), &alice(), 1).unwrap();
    assert!(up.effects.iter().all(|e| !matches!(e, Effect::Post { to: Audience::Announce, .. })));
}

#[test]
fn declaring_with_an_unknown_severity_names_the_known_ones() {
    let cmd = Declare {
        title: "x".into(),
        severity: Some("SEV9".into()),
        private: false,
        platform: Platform::Console,
    };
    let err = declare(&Rules::default(), IncidentId(1), cmd, &alice(), t(0)).unwrap_err();
    assert_eq!(err.message, "unknown severity \"SEV9\"; expected one of SEV1, SEV2, SEV3, SEV4");
}

#[test]
fn the_status_walks_from_investigating_to_resolved_and_records_key_times() {
    let inc = declared(false);
    let inc = apply(&inc, update(Status::Identified), &alice(), 5).unwrap().incident;
    let inc = apply(&inc, update(Status::Monitoring), &alice(), 20).unwrap().incident;
    let inc = apply(&inc, Change::Resolve { message: Some("fixed".into()) }, &alice(), 30)
        .unwrap()
        .incident;
    assert_eq!(inc.status, Status::Resolved);
    assert_eq!(inc.first_update_at(), Some(t(5)));
    assert_eq!(inc.mitigated_at, Some(t(20)));
    assert_eq!(inc.resolved_at, Some(t(30)));
    let inc = apply(&inc, Change::Close, &alice(), 40).unwrap().incident;
    assert_eq!(inc.closed_at, Some(t(40)));
}

#[test]
fn illegal_transitions_are_refused_with_one_sentence() {
    let open = declared(false);
    let resolved = apply(&open, Change::Resolve { message: None }, &alice(), 1).unwrap().incident;
    let closed = apply(&resolved, Change::Close, &alice(), 2).unwrap().incident;
    let cases: Vec<(&Incident, Change, &str)> = vec![
        (&closed, update(Status::Monitoring), "INC-7 is closed; it can no longer change"),
        (&closed, Change::Note { text: "late".into() }, "INC-7 is closed; it can no longer change"),
        (&open, Change::Close, "INC-7 is still investigating; resolve it before closing"),
        (&resolved, Change::Resolve { message: None }, "INC-7 is already resolved"),
        (&open, Change::Severity { level: "SEV2".into() }, "INC-7 is already SEV2"),
        (
            &open,
            Change::Severity { level: "SEV9".into() },
            "unknown severity \"SEV9\"; expected one of SEV1, SEV2, SEV3, SEV4",
        ),
        (
            &open,
            Change::AssignRole { role: "janitor".into(), user: bob() },
            "unknown role \"janitor\"; expected one of commander, comms, scribe",
        ),
        (
            &open,
            Change::AssignRole { role: "commander".into(), user: alice() },
            "alice is already the incident commander of INC-7",
        ),
        (
            &open,
            Change::Invite { users: vec![alice()], teams: vec![] },
            "everyone named is already a responder of INC-7",
        ),
        (
            &open,
            Change::Update { status: Status::Identified, message: "  ".into() },
            "a status update needs a message",
        ),
        (&open, update(Status::Closed), "use `close` to close an incident"),
    ];
    for (inc, change, want) in cases {
        let err =
            apply(inc, change.clone(), &alice(), 3).expect_err(&format!("{change:?} should fail"));
        assert_eq!(err.message, want, "{change:?}");
    }
}

#[test]
fn a_role_handover_keeps_the_previous_holder_and_adds_the_new_one_as_responder() {
    let inc = declared(false);
    let d = apply(&inc, Change::AssignRole { role: "commander".into(), user: bob() }, &alice(), 3)
        .unwrap();
    assert_eq!(d.incident.holder("commander"), Some(&bob()));
    assert!(d.incident.is_responder(&bob()));
    assert_eq!(d.incident.roles.len(), 2, "the handover is kept");
    assert!(
        d.effects
            .iter()
            .any(|e| matches!(e, Effect::Invite { users, .. } if users == &vec![bob()]))
    );
    assert!(
        d.entries.iter().any(|e| e.text == "bob is now Incident commander, taking over from alice")
    );
    assert!(
        d.effects.iter().any(
            |e| matches!(e, Effect::SetTopic { topic, .. } if topic.contains("Commander: bob"))
        )
    );
}

#[test]
fn only_responders_change_an_incident_and_only_the_commander_or_holder_hands_over() {
    let inc = declared(false);
    let note = Change::Note { text: "x".into() };
    assert!(authorize(&inc, Who::Responder, &alice(), &note).is_ok());
    let err = authorize(&inc, Who::Responder, &bob(), &note).unwrap_err();
    assert_eq!(
        err.message,
        "only responders of INC-7 can do that; ask the commander to invite you"
    );
    let inc =
        apply(&inc, Change::Invite { users: vec![bob(), carol()], teams: vec![] }, &alice(), 1)
            .unwrap()
            .incident;
    let inc = apply(&inc, Change::AssignRole { role: "scribe".into(), user: bob() }, &alice(), 2)
        .unwrap()
        .incident;
    let hand_scribe = Change::AssignRole { role: "scribe".into(), user: carol() };
    assert!(
        authorize(&inc, Who::CommanderOrHolder, &bob(), &hand_scribe).is_ok(),
        "the holder hands over"
    );
    assert!(
        authorize(&inc, Who::CommanderOrHolder, &alice(), &hand_scribe).is_ok(),
        "the commander hands over"
    );
    assert!(
        authorize(&inc, Who::CommanderOrHolder, &carol(), &hand_scribe).is_err(),
        "a bystander responder cannot"
    );
    let take_comms = Change::AssignRole { role: "comms".into(), user: carol() };
    assert!(
        authorize(&inc, Who::CommanderOrHolder, &carol(), &take_comms).is_ok(),
        "a vacant role can be taken"
    );
}

fn msg(id: &str, text: &str, at: i64) -> FlaggedMessage {
    FlaggedMessage {
        key: MessageKey {
            platform: Platform::Console,
            channel: "inc-7".into(),
            message: id.into(),
        },
        author: bob(),
        text: text.into(),
        at: t(at),
        link: None,
        files: vec![],
    }
}

fn by(user: UserRef, via: FlagVia) -> Flag {
    Flag { user, via }
}

#[test]
fn flagging_one_message_twice_or_by_two_people_keeps_one_entry() {
    let inc = declared(false);
    let m = msg("1", "db is slow", 3);
    let e1 = timeline::flag(&inc, None, &m, by(alice(), FlagVia::Reaction), t(4)).unwrap().unwrap();
    assert_eq!(e1.at, t(3), "the entry keeps the message's own time");
    assert_eq!(
        timeline::flag(&inc, Some(&e1), &m, by(alice(), FlagVia::Reaction), t(5)).unwrap(),
        None
    );
    let e2 =
        timeline::flag(&inc, Some(&e1), &m, by(carol(), FlagVia::Reaction), t(5)).unwrap().unwrap();
    assert_eq!(e2.flags.len(), 2);
    let e3 = timeline::unflag(Some(&e2), &by(alice(), FlagVia::Reaction)).unwrap();
    assert_eq!(e3.state, EntryState::Active, "one flag remains");
    let e4 = timeline::unflag(Some(&e3), &by(carol(), FlagVia::Reaction)).unwrap();
    assert_eq!(e4.state, EntryState::Retracted);
    let e5 =
        timeline::flag(&inc, Some(&e4), &m, by(carol(), FlagVia::Action), t(6)).unwrap().unwrap();
    assert_eq!(e5.state, EntryState::Active, "flagging again brings it back");
}

#[test]
fn edits_and_deletions_of_flagged_messages_are_mirrored_and_nothing_is_removed() {
    let inc = declared(false);
    let e =
        timeline::flag(&inc, None, &msg("1", "db is slow", 3), by(alice(), FlagVia::Action), t(4))
            .unwrap()
            .unwrap();
    let edited = timeline::edit(Some(&e), "db is very slow", t(6)).unwrap();
    assert_eq!(edited.text, "db is very slow");
    assert_eq!(edited.edited_at, Some(t(6)));
    assert_eq!(
        timeline::edit(Some(&edited), "db is very slow", t(7)),
        None,
        "same text is no change"
    );
    assert_eq!(timeline::edit(None, "x", t(7)), None, "unflagged messages are not recorded");
    assert_eq!(
        timeline::edit(Some(&edited), "db is slow-ish", t(5)),
        None,
        "an edit older than the recorded one arrived late: the newer text stays"
    );
    let deleted = timeline::delete(Some(&edited), t(8)).unwrap();
    assert_eq!(deleted.state, EntryState::Deleted);
    assert_eq!(deleted.author, edited.author, "who said it is kept");
    assert_eq!(deleted.at, edited.at, "and when");
    assert_eq!(deleted.text, "", "what it said goes with the message");
    assert!(deleted.files.is_empty() && deleted.link.is_none());
    assert_eq!(timeline::delete(Some(&deleted), t(9)), None);
}

#[test]
fn flagging_in_a_closed_incident_is_refused() {
    let inc = declared(false);
    let inc = apply(&inc, Change::Resolve { message: None }, &alice(), 1).unwrap().incident;
    let inc = apply(&inc, Change::Close, &alice(), 2).unwrap().incident;
    let err = timeline::flag(&inc, None, &msg("1", "x", 1), by(alice(), FlagVia::Action), t(3))
        .unwrap_err();
    assert_eq!(err.message, "INC-7 is closed; its timeline can no longer change");
}

#[test]
fn subscriptions_match_by_incident_or_severity_and_skip_private_incidents() {
    let rules = Rules::default();
    let chan = ChannelRef::new(Platform::Slack, "C1");
    let public = declared(false);
    let private = declared(true);
    let at_least = |sev: &str| {
        subscription::subscribe(&rules, &chan, None, None, Some(sev), &carol(), t(0)).unwrap()
    };
    assert!(at_least("SEV2").matches(&public, &rules));
    assert!(at_least("SEV3").matches(&public, &rules));
    assert!(!at_least("SEV1").matches(&public, &rules));
    assert!(!at_least("SEV4").matches(&private, &rules));
    let err = subscription::subscribe(&rules, &chan, Some(&private), None, None, &carol(), t(0))
        .unwrap_err();
    assert_eq!(
        err.message,
        "INC-7 is private; only its responders can share it with another channel"
    );
    let shared =
        subscription::subscribe(&rules, &chan, Some(&private), None, None, &alice(), t(0)).unwrap();
    assert!(shared.matches(&private, &rules));
    let all = subscription::subscribe(&rules, &chan, None, None, None, &carol(), t(0)).unwrap();
    assert_eq!(all.scope, Scope::AtLeast("SEV4".into()));
    assert_eq!(Scope::from_key(&all.scope.key()), Some(all.scope));
}

#[derive(Debug, Clone)]
enum Op {
    Update(Status),
    Severity(usize),
    Role(usize, usize),
    Resolve,
    Close,
    Note,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..4usize).prop_map(|i| Op::Update(Status::UPDATABLE[i])),
        (0..5usize).prop_map(Op::Severity),
        (0..4usize, 0..3usize).prop_map(|(r, u)| Op::Role(r, u)),
        Just(Op::Resolve),
        Just(Op::Close),
        Just(Op::Note),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Any sequence of commands: errors change nothing, closed is final, key
    /// times never go backwards, and the commander is always a responder.
    #[test]
    fn any_command_sequence_keeps_the_record_consistent(ops in prop::collection::vec(op(), 1..30)) {
        let rules = Rules::default();
        let users = [alice(), bob(), carol()];
        let mut inc = declared(false);
        for (i, op) in ops.into_iter().enumerate() {
            let now = i as i64 + 1;
            let change = match op {
                Op::Update(s) => update(s),
                Op::Severity(i) => Change::Severity { level: ["SEV1", "SEV2", "SEV3", "SEV4", "SEV9"][i].into() },
                Op::Role(r, u) => Change::AssignRole { role: ["commander", "comms", "scribe", "nobody"][r].into(), user: users[u].clone() },
                Op::Resolve => Change::Resolve { message: None },
                Op::Close => Change::Close,
                Op::Note => Change::Note { text: "n".into() },
            };
            let before = inc.clone();
            match decide(&inc, &rules, change, &alice(), t(now)) {
                Ok(d) => {
                    prop_assert!(!before.is_closed(), "a closed incident changed");
                    if d.incident.status == Status::Closed {
                        prop_assert_eq!(before.status, Status::Resolved);
                    }
                    inc = d.incident;
                }
                Err(e) => {
                    prop_assert!(!e.message.is_empty());
                    prop_assert_eq!(&inc, &before);
                }
            }
            if let Some(c) = inc.holder("commander") {
                prop_assert!(inc.is_responder(c));
            }
            if let (Some(m), Some(r)) = (inc.mitigated_at, inc.resolved_at) {
                prop_assert!(m <= r);
            }
            prop_assert!(rules.severities.contains(&inc.severity));
        }
    }
}

mod alerting;
mod public;
mod reminders;
