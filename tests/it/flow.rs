//! The incident flow through the real engine: commands, fan-out, flags,
//! failures. Runs on SQLite, and on PostgreSQL when configured.

use chrono::{TimeZone, Utc};
use tocsin::app::Outcome;
use tocsin::incident::{
    EntryKind, FlagVia, FlaggedMessage, IncidentId, MessageKey, Platform, UserRef,
};
use tocsin::outbox::ChatError;

use crate::support::db::{TestDb, on_both_backends};
use crate::support::engine::{ANNOUNCE, Engine, ctx};

/// An engine on `db` with INC-1 declared and its channel made.
async fn declared(db: &TestDb) -> (Engine, String) {
    let e = Engine::start(&db.url).await;
    e.run("UALICE", "CGENERAL", "declare Checkout failing").await;
    e.deliver_all().await;
    let ch = e.channel_of(1).await;
    (e, ch)
}

fn message(channel: &str, id: &str, text: &str, minute: u32) -> FlaggedMessage {
    FlaggedMessage {
        key: MessageKey { platform: Platform::Slack, channel: channel.into(), message: id.into() },
        author: UserRef::new(Platform::Slack, "UDAVE"),
        text: text.into(),
        at: Utc.with_ymd_and_hms(2026, 11, 22, 14, minute, 0).unwrap(),
        link: None,
        files: vec![],
    }
}

on_both_backends! {
    async fn an_update_reaches_the_incident_channel_the_announce_channel_and_subscribers(db: &TestDb) {
        let e = Engine::start(&db.url).await;
        let sub = e.run("USAM", "CSTAKE", "subscribe --min-severity SEV2").await;
        assert_eq!(sub.outcome, Outcome::Done, "{:?}", sub.message);
        let r = e.run("UALICE", "CGENERAL", "declare SEV2 Checkout failing").await;
        assert_eq!(r.message.to_plain(), "Declared INC-1 (SEV2) → #inc-1-checkout-failing");
        e.deliver_all().await;
        let ch = e.channel_of(1).await;
        let r = e.run("UALICE", &ch, "update identified Bad deploy").await;
        assert_eq!(r.outcome, Outcome::Done, "{:?}", r.message);
        e.deliver_all().await;
        let incident = e.slack.channel(&ch).unwrap();
        assert_eq!(incident.name, "inc-1-checkout-failing");
        assert_eq!(incident.members, ["UALICE"]);
        assert!(incident.topic.starts_with("SEV2 · Identified · Commander: UALICE"), "{}", incident.topic);
        assert_eq!(incident.pins.len(), 1, "the header is pinned");
        let update = "📣 INC-1 — Identified: Bad deploy (@UALICE)";
        assert_eq!(incident.posts.last().unwrap(), update);
        let announce = e.slack.posts(ANNOUNCE);
        assert!(announce[0].starts_with("🚨 INC-1 (SEV2) declared: *Checkout failing* — follow in #inc-1-checkout-failing"), "{announce:?}");
        assert_eq!(announce.last().unwrap(), update);
        assert_eq!(e.slack.posts("CSTAKE"), announce, "the subscriber gets what the announce channel gets");
    }
}

on_both_backends! {
    async fn a_private_incident_reaches_neither_announce_nor_severity_subscribers_nor_list(db: &TestDb) {
        let e = Engine::start(&db.url).await;
        e.run("USAM", "CSTAKE", "subscribe").await;
        e.run("UALICE", "CGENERAL", "declare SEV1 Customer data exposed --private").await;
        e.deliver_all().await;
        let ch = e.channel_of(1).await;
        e.run("UALICE", &ch, "update identified Leaky bucket").await;
        e.deliver_all().await;
        assert!(e.slack.channel(&ch).unwrap().private);
        assert!(e.slack.posts(ANNOUNCE).is_empty());
        assert!(e.slack.posts("CSTAKE").is_empty());
        assert_eq!(e.run("USAM", "CGENERAL", "list").await.message.to_plain(), "No open incidents.");
        assert!(e.run("UALICE", "CGENERAL", "list").await.message.to_plain().contains("INC-1 · SEV1"));
        let peek = e.run("USAM", "CGENERAL", "status INC-1").await;
        assert_eq!(peek.message.to_plain().lines().next().unwrap(), "there is no INC-1");
    }
}

on_both_backends! {
    async fn flagging_one_message_twice_by_two_people_or_replaying_the_event_keeps_one_entry(db: &TestDb) {
        let (e, ch) = declared(db).await;
        let msg = message(&ch, "1700000000.000100", "error rate 30%", 3);
        let mut carol = ctx("UCAROL", &ch);
        carol.event_id = Some("Ev001".into());
        assert_eq!(e.flag(&carol, msg.clone(), FlagVia::Reaction).await.message.to_plain(), "Added to INC-1's timeline.");
        assert_eq!(e.flag(&carol, msg.clone(), FlagVia::Reaction).await.message.to_plain(), "Already done.", "a replayed event id");
        carol.event_id = Some("Ev002".into());
        assert_eq!(e.flag(&carol, msg.clone(), FlagVia::Reaction).await.message.to_plain(), "Already on INC-1's timeline.");
        let bob = ctx("UBOB", &ch);
        e.flag(&bob, msg.clone(), FlagVia::Action).await;
        let flagged: Vec<_> = e.store.timeline(IncidentId(1)).await.unwrap().into_iter().filter(|x| x.kind == EntryKind::Message).collect();
        assert_eq!(flagged.len(), 1);
        assert_eq!(flagged[0].flags.len(), 2);
        // Carol takes her reaction back; Bob's flag keeps the entry.
        e.unflag(&ctx("UCAROL", &ch), &msg.key, FlagVia::Reaction).await;
        let entry = e.store.entry(&msg.key).await.unwrap().unwrap().value;
        assert!(entry.is_visible());
        e.unflag(&bob, &msg.key, FlagVia::Action).await;
        assert!(!e.store.entry(&msg.key).await.unwrap().unwrap().value.is_visible());
    }
}

on_both_backends! {
    async fn a_flag_replayed_after_it_was_taken_back_changes_nothing(db: &TestDb) {
        let (e, ch) = declared(db).await;
        let msg = message(&ch, "1700000000.000100", "error rate 30%", 3);
        let mut carol = ctx("UCAROL", &ch);
        carol.event_id = Some("EvFlag".into());
        e.flag(&carol, msg.clone(), FlagVia::Reaction).await;
        let mut removal = ctx("UCAROL", &ch);
        removal.event_id = Some("EvUnflag".into());
        e.unflag(&removal, &msg.key, FlagVia::Reaction).await;
        // The first event again: flagging would be a change, so only its
        // commit, refused as a duplicate, can tell it was seen.
        let replay = e.flag(&carol, msg.clone(), FlagVia::Reaction).await;
        assert_eq!(replay.message.to_plain(), "Already done.");
        let entry = e.store.entry(&msg.key).await.unwrap().unwrap().value;
        assert!(!entry.is_visible(), "still taken back: {entry:?}");
    }
}

on_both_backends! {
    async fn many_people_flagging_one_message_at_once_make_one_entry(db: &TestDb) {
        let e = std::sync::Arc::new(Engine::start(&db.url).await);
        e.run("UALICE", "CGENERAL", "declare Checkout failing").await;
        e.deliver_all().await;
        let ch = e.channel_of(1).await;
        let msg = message(&ch, "1700000000.000200", "db failover", 4);
        let mut tasks = Vec::new();
        for n in 0..12 {
            let (e, msg, ch) = (e.clone(), msg.clone(), ch.clone());
            tasks.push(tokio::spawn(async move {
                e.flag(&ctx(&format!("U{n}"), &ch), msg, FlagVia::Reaction).await.outcome
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Outcome::Done);
        }
        let entry = e.store.entry(&msg.key).await.unwrap().unwrap().value;
        assert_eq!(entry.flags.len(), 12, "every flag counted on the one entry");
        let n = e.store.timeline(IncidentId(1)).await.unwrap().iter().filter(|x| x.kind == EntryKind::Message).count();
        assert_eq!(n, 1);
    }
}

on_both_backends! {
    async fn bad_input_gets_one_clear_message_and_changes_nothing(db: &TestDb) {
        let e = Engine::start(&db.url).await;
        e.run("UALICE", "CGENERAL", "declare Checkout failing").await;
        e.deliver_all().await;
        let before = (e.store.incident(IncidentId(1)).await.unwrap(), e.store.timeline(IncidentId(1)).await.unwrap(), e.store.outbox_stats().await.unwrap());
        let cases = [
            ("CGENERAL", "delcare SEV1 x", "unknown subcommand \"delcare\"; expected one of ack, close, declare, followup, help, impact, invite, list, note, page, postmortem, publish, resolve, role, roles, severity, status, subscribe, timeline, unsubscribe, update, web"),
            ("CGENERAL", "declare SEV9 db down", "unknown severity \"SEV9\"; expected one of SEV1, SEV2, SEV3, SEV4\nUsage: /incident declare [SEV] <title…> [--private]"),
            ("CGENERAL", "update monitoring fixed", "`update` needs an incident: run it in the incident's channel, or name it, as in `/incident update INC-7 …`\nUsage: /incident update <investigating|identified|monitoring|resolved> <message…>"),
            ("CGENERAL", "close INC-9", "there is no INC-9\nUsage: /incident close"),
        ];
        for (channel, text, want) in cases {
            let r = e.run("UALICE", channel, text).await;
            assert_eq!(r.outcome, Outcome::UserError, "{text}");
            assert_eq!(r.message.to_plain(), want, "{text}");
        }
        let ch = e.channel_of(1).await;
        let r = e.run("UMALLORY", &ch, "severity SEV1").await;
        assert_eq!(r.message.to_plain().lines().next().unwrap(), "only responders of INC-1 can do that; ask the commander to invite you");
        let r = e.run("UALICE", &ch, "close").await;
        assert_eq!(r.message.to_plain().lines().next().unwrap(), "INC-1 is still investigating; resolve it before closing");
        let after = (e.store.incident(IncidentId(1)).await.unwrap(), e.store.timeline(IncidentId(1)).await.unwrap(), e.store.outbox_stats().await.unwrap());
        assert_eq!(before, after, "nothing changed");
        assert_eq!(e.store.next_incident_id().await.unwrap(), IncidentId(2));
    }
}

on_both_backends! {
    async fn a_platform_outage_delays_posts_but_loses_none_and_keeps_their_order(db: &TestDb) {
        let (e, ch) = declared(db).await;
        e.slack.fail_next([
            ChatError::Unavailable("503".into()),
            ChatError::RateLimited(std::time::Duration::from_millis(30)),
            ChatError::Unavailable("timeout".into()),
            ChatError::Unavailable("502".into()),
        ]);
        for n in 1..=5 {
            let r = e.run("UALICE", &ch, &format!("note step {n}")).await;
            assert_eq!(r.outcome, Outcome::Done, "commands are answered while the platform is down");
        }
        e.deliver_all().await;
        let notes: Vec<String> = e.slack.posts(&ch).into_iter().filter(|p| p.starts_with("📝")).collect();
        let want: Vec<String> = (1..=5).map(|n| format!("📝 Note from @UALICE: step {n}")).collect();
        assert_eq!(notes, want, "every note once, in order");
        let counts = e.outbox.counters.get(Platform::Slack);
        assert_eq!(counts.retried, 4);
        assert_eq!(counts.failed, 0);
    }
}

on_both_backends! {
    async fn a_taken_channel_name_gets_a_suffix_and_a_refused_invite_is_not_retried_forever(db: &TestDb) {
        let e = Engine::start(&db.url).await;
        e.run("UALICE", "CGENERAL", "declare Checkout failing").await;
        e.deliver_all().await;
        e.slack.fail_next([ChatError::NameTaken]);
        e.run("UALICE", "CGENERAL", "declare Checkout failing again").await;
        e.deliver_all().await;
        let ch = e.channel_of(2).await;
        assert_eq!(e.slack.channel(&ch).unwrap().name, "inc-2-checkout-failing-again-2");
        e.slack.fail_next([ChatError::Rejected("user_disabled".into())]);
        e.run("UALICE", &ch, "invite <@UGONE>").await;
        e.deliver_all().await;
        assert_eq!(e.outbox.counters.get(Platform::Slack).failed, 1);
        assert!(e.slack.posts(&ch).last().unwrap().contains("added @UGONE"), "the lane went on after the refusal");
    }
}

on_both_backends! {
    async fn the_postmortem_is_uploaded_to_the_channel_and_close_archives_it(db: &TestDb) {
        let e = Engine::start(&db.url).await;
        e.run("UALICE", "CGENERAL", "declare SEV2 Checkout failing").await;
        e.deliver_all().await;
        let ch = e.channel_of(1).await;
        e.flag(&ctx("UCAROL", &ch), message(&ch, "2.0", "rolled back", 9), FlagVia::Action).await;
        e.flag(&ctx("UCAROL", &ch), message(&ch, "1.0", "error rate 30%", 3), FlagVia::Action).await;
        e.run("UALICE", &ch, "resolve All good").await;
        e.run("UALICE", &ch, "postmortem").await;
        e.run("UALICE", &ch, "close").await;
        e.deliver_all().await;
        let c = e.slack.channel(&ch).unwrap();
        assert!(c.archived);
        let (name, body) = &c.files[0];
        assert_eq!(name, "INC-1-postmortem.md");
        let first = body.find("error rate 30%").expect("first flag in the draft");
        let second = body.find("rolled back").expect("second flag in the draft");
        assert!(first < second, "ordered by the messages' own time");
        let r = e.run("UALICE", &ch, "note too late").await;
        assert_eq!(r.message.to_plain().lines().next().unwrap(), "INC-1 is closed; it can no longer change");
    }
}

on_both_backends! {
    async fn a_platform_that_never_answers_delays_one_post_and_blocks_nothing_else(db: &TestDb) {
        let (e, ch) = declared(db).await;
        e.slack.hang_next_posts(1);
        e.run("UALICE", &ch, "note first").await;
        e.run("UALICE", &ch, "note second").await;
        e.deliver_all().await;
        let notes: Vec<String> = e.slack.posts(&ch).into_iter().filter(|p| p.starts_with("📝")).collect();
        assert_eq!(notes, ["📝 Note from @UALICE: first", "📝 Note from @UALICE: second"], "timed out, retried, in order");
    }
}

on_both_backends! {
    async fn a_refused_channel_fails_its_lane_fast_instead_of_retrying_for_hours(db: &TestDb) {
        let e = Engine::start(&db.url).await;
        e.slack.refuse_channels(true);
        e.run("UALICE", "CGENERAL", "declare SEV2 Checkout failing").await;
        e.run("UALICE", "CGENERAL", "update INC-1 identified Bad deploy").await;
        e.deliver_all().await;
        let announce = e.slack.posts(ANNOUNCE);
        assert_eq!(announce.len(), 2, "stakeholders still hear about it: {announce:?}");
        assert!(e.outbox.counters.get(Platform::Slack).failed >= 3, "the channel's own rows are given up on");
    }
}

on_both_backends! {
    async fn one_refused_channel_creation_does_not_sink_the_rest_of_its_lane(db: &TestDb) {
        let e = Engine::start(&db.url).await;
        e.slack.fail_next([ChatError::Rejected("restricted_action".into())]);
        e.run("UALICE", "CGENERAL", "declare SEV2 Checkout failing").await;
        e.run("UALICE", "CGENERAL", "update INC-1 identified Bad deploy").await;
        e.deliver_all().await;
        let ch = e.channel_of(1).await;
        let posts = e.slack.posts(&ch);
        assert!(posts.iter().any(|p| p.starts_with("🚨 INC-1")), "the header: {posts:?}");
        assert!(posts.iter().any(|p| p.contains("Identified: Bad deploy")), "the update: {posts:?}");
        assert_eq!(e.slack.channel(&ch).unwrap().members, ["UALICE"]);
        assert_eq!(e.outbox.counters.get(Platform::Slack).failed, 1, "only the refused row is dropped");
    }
}

on_both_backends! {
    async fn outsiders_cannot_learn_of_a_private_incident_and_a_closed_timeline_is_frozen(db: &TestDb) {
        let e = Engine::start(&db.url).await;
        e.run("UALICE", "CGENERAL", "declare SEV1 Leak --private").await;
        let probe = e.run("USAM", "CSTAKE", "subscribe INC-1").await;
        assert_eq!(probe.message.to_plain().lines().next().unwrap(), "there is no INC-1");
        e.deliver_all().await;
        let ch = e.channel_of(1).await;
        let msg = message(&ch, "5.0", "found the leak", 5);
        e.flag(&ctx("UALICE", &ch), msg.clone(), FlagVia::Reaction).await;
        e.run("UALICE", &ch, "resolve Fixed").await;
        e.run("UALICE", &ch, "close").await;
        let r = e.unflag(&ctx("UALICE", &ch), &msg.key, FlagVia::Reaction).await;
        assert_eq!(r.message.to_plain(), "INC-1 is closed; its timeline can no longer change.");
        assert!(e.store.entry(&msg.key).await.unwrap().unwrap().value.is_visible());
        e.message_deleted(&ctx("UALICE", &ch), &msg.key, Utc::now()).await;
        let entry = e.store.entry(&msg.key).await.unwrap().unwrap().value;
        assert_eq!(entry.state, tocsin::incident::EntryState::Deleted, "a deletion is still marked, nothing lost");
    }
}

on_both_backends! {
    async fn user_words_echoed_in_replies_are_escaped_and_a_leading_hash_number_is_text(db: &TestDb) {
        let e = Engine::start(&db.url).await;
        let r = e.run("UALICE", "CGENERAL", "help <!here>").await;
        let slack = tocsin::chat::slack::render::mrkdwn(&r.message);
        assert!(slack.starts_with("There is no subcommand \"&lt;!here&gt;\"."), "{slack}");
        e.run("UALICE", "CGENERAL", "declare One").await;
        e.run("UALICE", "CGENERAL", "declare Two").await;
        e.deliver_all().await;
        let two = e.channel_of(2).await;
        e.run("UALICE", &two, "note #1 pods restarted").await;
        let notes: Vec<_> = e.store.timeline(IncidentId(2)).await.unwrap().into_iter().filter(|x| x.kind == EntryKind::Note).collect();
        assert_eq!(notes[0].text, "#1 pods restarted", "the note stays on this incident");
        assert!(e.store.timeline(IncidentId(1)).await.unwrap().iter().all(|x| x.kind != EntryKind::Note));
    }
}
