//! The store contract: every backend behaves the same.

use chrono::{Duration, TimeZone, Utc};
use tocsin::incident::*;
use tocsin::store::{self, Commit, OutboxItem, Sink, StoreError, SubscriptionChange, Write};

use crate::support::db::on_both_backends;

fn alice() -> UserRef {
    UserRef::new(Platform::Console, "alice")
}

fn t(min: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap() + Duration::minutes(min)
}

fn declared(id: i64) -> Decision {
    let cmd = Declare {
        title: "Checkout errors".into(),
        severity: None,
        private: false,
        platform: Platform::Console,
    };
    declare(&Rules::default(), IncidentId(id), cmd, &alice(), t(0)).unwrap()
}

fn flagged(id: &str, at: i64) -> TimelineEntry {
    let msg = FlaggedMessage {
        key: MessageKey { platform: Platform::Console, channel: "c1".into(), message: id.into() },
        author: alice(),
        text: format!("message {id}"),
        at: t(at),
        link: None,
        files: vec![],
    };
    let inc = declared(1).incident;
    timeline::flag(&inc, None, &msg, Flag { user: alice(), via: FlagVia::Action }, t(10))
        .unwrap()
        .unwrap()
}

async fn with_incident(s: &dyn store::Store) -> Incident {
    let d = declared(s.next_incident_id().await.unwrap().0);
    let inc = d.incident.clone();
    s.commit(Commit {
        incident: Some(Write::Insert(d.incident)),
        entries: d.entries.into_iter().map(Write::Insert).collect(),
        ..Default::default()
    })
    .await
    .unwrap();
    inc
}

fn item(incident: i64, platform: Platform, n: u32) -> OutboxItem {
    OutboxItem {
        incident: IncidentId(incident),
        sink: platform.into(),
        payload: format!("{{\"n\":{n}}}"),
        channel: None,
    }
}

/// Each commit's answer as a word, for comparing a batch's answers at once.
fn answers(outcomes: &[Result<(), StoreError>]) -> Vec<&'static str> {
    outcomes
        .iter()
        .map(|o| match o {
            Ok(()) => "ok",
            Err(StoreError::Conflict) => "conflict",
            Err(StoreError::Duplicate) => "duplicate",
            Err(e) => panic!("{e}"),
        })
        .collect()
}

on_both_backends! {
    async fn an_incident_round_trips_and_a_stale_version_conflicts(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        assert_eq!(s.next_incident_id().await.unwrap(), IncidentId(1));
        let inc = with_incident(&*s).await;
        assert_eq!(s.next_incident_id().await.unwrap(), IncidentId(2));
        let got = s.incident(inc.id).await.unwrap().unwrap();
        assert_eq!(got.value, inc);
        assert_eq!(got.version, 1);
        let mut changed = inc.clone();
        changed.severity = "SEV1".into();
        let update = |version| Commit {
            incident: Some(Write::Update { value: changed.clone(), version }),
            ..Default::default()
        };
        s.commit(update(1)).await.unwrap();
        assert!(matches!(s.commit(update(1)).await, Err(StoreError::Conflict)));
        assert_eq!(s.incident(inc.id).await.unwrap().unwrap().value.severity, "SEV1");
        let again = declared(1);
        let dup = s.commit(Commit { incident: Some(Write::Insert(again.incident)), ..Default::default() }).await;
        assert!(matches!(dup, Err(StoreError::Conflict)), "{dup:?}");
    }
}

on_both_backends! {
    async fn a_replayed_event_id_is_refused_and_writes_nothing(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        let inc = with_incident(&*s).await;
        let commit = Commit {
            event_id: Some("Ev1".into()),
            entries: vec![Write::Insert(flagged("m1", 1))],
            outbox: vec![item(inc.id.0, Platform::Console, 1)],
            ..Default::default()
        };
        s.commit(commit.clone()).await.unwrap();
        assert!(s.seen_event("Ev1").await.unwrap());
        assert!(matches!(s.commit(commit).await, Err(StoreError::Duplicate)));
        assert_eq!(s.timeline(inc.id).await.unwrap().len(), 2, "declared + one flag");
        assert_eq!(s.outbox_stats().await.unwrap().pending, 1);
    }
}

on_both_backends! {
    async fn a_message_key_is_recorded_once_and_updated_by_version(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        let inc = with_incident(&*s).await;
        let e = flagged("m1", 5);
        s.commit(Commit { entries: vec![Write::Insert(e.clone())], ..Default::default() }).await.unwrap();
        let second = s.commit(Commit { entries: vec![Write::Insert(e.clone())], ..Default::default() }).await;
        assert!(matches!(second, Err(StoreError::Conflict)), "{second:?}");
        let got = s.entry(e.key.as_ref().unwrap()).await.unwrap().unwrap();
        let edited = timeline::edit(Some(&got.value), "edited", t(6)).unwrap();
        let write = Commit { entries: vec![Write::Update { value: edited, version: got.version }], ..Default::default() };
        s.commit(write.clone()).await.unwrap();
        assert!(matches!(s.commit(write).await, Err(StoreError::Conflict)));
        let tl = s.timeline(inc.id).await.unwrap();
        assert_eq!(tl.iter().filter(|e| e.kind == EntryKind::Message).count(), 1);
        assert_eq!(tl.last().unwrap().text, "edited");
    }
}

on_both_backends! {
    async fn the_timeline_comes_back_in_message_time_order(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        let inc = with_incident(&*s).await;
        for (id, at) in [("m3", 30), ("m1", 10), ("m2", 20)] {
            s.commit(Commit { entries: vec![Write::Insert(flagged(id, at))], ..Default::default() }).await.unwrap();
        }
        let texts: Vec<String> = s.timeline(inc.id).await.unwrap().into_iter().map(|e| e.text).collect();
        assert_eq!(texts[1..], ["message m1", "message m2", "message m3"]);
    }
}

on_both_backends! {
    async fn channels_map_both_ways_and_subscriptions_add_and_remove(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        let inc = with_incident(&*s).await;
        s.set_channel(inc.id, Platform::Slack, "C42", "inc-1-checkout").await.unwrap();
        assert_eq!(s.channel(inc.id, Platform::Slack).await.unwrap(), Some(("C42".into(), "inc-1-checkout".into())));
        assert_eq!(s.channel(inc.id, Platform::Discord).await.unwrap(), None);
        let found = s.incident_in_channel(&ChannelRef::new(Platform::Slack, "C42")).await.unwrap().unwrap();
        assert_eq!(found.value.id, inc.id);
        assert!(s.incident_in_channel(&ChannelRef::new(Platform::Discord, "C42")).await.unwrap().is_none());

        let chan = ChannelRef::new(Platform::Discord, "D1");
        let sub = Subscription { channel: chan.clone(), scope: Scope::AtLeast("SEV2".into()), by: alice(), at: t(0) };
        let add = Commit { subscriptions: vec![SubscriptionChange::Add(sub.clone())], ..Default::default() };
        s.commit(add.clone()).await.unwrap();
        s.commit(add).await.unwrap();
        assert_eq!(s.subscriptions().await.unwrap(), vec![sub.clone()], "subscribing twice keeps one");
        let remove = SubscriptionChange::Remove { channel: chan, scope: sub.scope };
        s.commit(Commit { subscriptions: vec![remove], ..Default::default() }).await.unwrap();
        assert!(s.subscriptions().await.unwrap().is_empty());
    }
}

on_both_backends! {
    async fn the_outbox_hands_out_each_lane_in_order_one_row_at_a_time(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        let a = with_incident(&*s).await;
        let b = with_incident(&*s).await;
        let items = vec![
            item(a.id.0, Platform::Slack, 1),
            item(a.id.0, Platform::Slack, 2),
            item(b.id.0, Platform::Slack, 3),
            item(a.id.0, Platform::Discord, 4),
        ];
        s.commit(Commit { outbox: items, ..Default::default() }).await.unwrap();
        let now = Utc::now();
        let lease = now + Duration::seconds(30);
        let first = s.claim("w1", now, lease, 10, &Sink::CHAT).await.unwrap();
        let payloads: Vec<&str> = first.iter().map(|c| c.payload.as_str()).collect();
        assert_eq!(payloads, ["{\"n\":1}", "{\"n\":3}", "{\"n\":4}"], "one head per lane");
        assert!(s.claim("w2", now, lease, 10, &Sink::CHAT).await.unwrap().is_empty(), "leased heads block their lanes");
        s.retry_at(first[0].id, "w1", now + Duration::seconds(60), "503").await.unwrap();
        s.finish(first[1].id, "w1", now, None).await.unwrap();
        s.finish(first[2].id, "w1", now, Some("channel_not_found")).await.unwrap();
        assert!(s.claim("w2", now, lease, 10, &Sink::CHAT).await.unwrap().is_empty(), "a lane waits for its head's retry");
        let later = now + Duration::seconds(61);
        let retried = s.claim("w2", later, later + Duration::seconds(30), 10, &Sink::CHAT).await.unwrap();
        assert_eq!(retried.len(), 1);
        assert_eq!(retried[0].payload, "{\"n\":1}");
        assert_eq!(retried[0].attempts, 2);
        s.finish(retried[0].id, "w1", later, None).await.unwrap();
        assert_eq!(s.outbox_stats().await.unwrap().pending, 2, "a finish by another worker is ignored");
        s.finish(retried[0].id, "w2", later, None).await.unwrap();
        let next = s.claim("w2", later, later + Duration::seconds(30), 10, &Sink::CHAT).await.unwrap();
        assert_eq!(next[0].payload, "{\"n\":2}");
        let stats = s.outbox_stats().await.unwrap();
        assert_eq!((stats.pending, stats.delivered, stats.failed), (1, 2, 1));
    }
}

on_both_backends! {
    async fn rows_written_together_in_pieces_keep_their_order(db: &TestDb) {
        // 27 rows of one lane go in as pieces of 16, 8, 2 and 1 rows; the
        // lane hands them out in the order they were committed.
        let s = store::connect(&db.url).await.unwrap();
        let a = with_incident(&*s).await;
        let items = (1..=27).map(|n| item(a.id.0, Platform::Slack, n)).collect();
        s.commit(Commit { outbox: items, ..Default::default() }).await.unwrap();
        let now = Utc::now();
        for n in 1..=27 {
            let head = s.claim("w", now, now + Duration::seconds(30), 10, &Sink::CHAT).await.unwrap();
            let payloads: Vec<&str> = head.iter().map(|c| c.payload.as_str()).collect();
            assert_eq!(payloads, [format!("{{\"n\":{n}}}")], "row {n} is the lane's head");
            s.finish(head[0].id, "w", now, None).await.unwrap();
        }
        assert_eq!(s.outbox_stats().await.unwrap().pending, 0);
    }
}

on_both_backends! {
    async fn an_expired_lease_is_claimed_again(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        let a = with_incident(&*s).await;
        s.commit(Commit { outbox: vec![item(a.id.0, Platform::Slack, 1)], ..Default::default() }).await.unwrap();
        let now = Utc::now();
        assert_eq!(s.claim("crashed", now, now + Duration::seconds(5), 10, &Sink::CHAT).await.unwrap().len(), 1);
        let after = now + Duration::seconds(6);
        let again = s.claim("w2", after, after + Duration::seconds(5), 10, &Sink::CHAT).await.unwrap();
        assert_eq!(again.len(), 1, "the crashed worker's row is handed out again");
    }
}

on_both_backends! {
    async fn concurrent_claimers_never_take_the_same_row(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        let mut ids = Vec::new();
        for _ in 0..4 {
            ids.push(with_incident(&*s).await.id.0);
        }
        let items: Vec<OutboxItem> = (0..200u32).map(|n| item(ids[n as usize % 4], Platform::ALL[(n / 4) as usize % 3], n)).collect();
        s.commit(Commit { outbox: items, ..Default::default() }).await.unwrap();
        let mut workers = Vec::new();
        for w in 0..4 {
            let s = s.clone();
            workers.push(tokio::spawn(async move {
                let name = format!("w{w}");
                let mut got = Vec::new();
                loop {
                    let now = Utc::now();
                    let batch = s.claim(&name, now, now + Duration::seconds(60), 5, &Sink::CHAT).await.unwrap();
                    if batch.is_empty() {
                        if s.outbox_stats().await.unwrap().pending == 0 {
                            break;
                        }
                        tokio::task::yield_now().await;
                        continue;
                    }
                    for c in batch {
                        s.finish(c.id, &name, Utc::now(), None).await.unwrap();
                        got.push(c.payload);
                    }
                }
                got
            }));
        }
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.unwrap());
        }
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(n, 200, "every row delivered");
        assert_eq!(all.len(), 200, "no row delivered twice");
    }
}

#[tokio::test]
async fn an_unknown_database_scheme_is_named_in_the_error() {
    let err = store::connect("mysql://localhost/x").await.err().unwrap();
    assert_eq!(
        err.to_string(),
        "database url \"mysql://localhost/x\" has an unknown scheme; use sqlite://FILE or postgres://…"
    );
}

on_both_backends! {
    async fn a_worker_only_claims_rows_for_the_platforms_it_serves(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        let a = with_incident(&*s).await;
        let items = vec![item(a.id.0, Platform::Slack, 1), item(a.id.0, Platform::Console, 2)];
        s.commit(Commit { outbox: items, ..Default::default() }).await.unwrap();
        let now = Utc::now();
        let lease = now + Duration::seconds(30);
        let console = s.claim("console", now, lease, 10, &[Sink::Chat(Platform::Console)]).await.unwrap();
        assert_eq!(console.len(), 1);
        assert_eq!(console[0].sink, Sink::Chat(Platform::Console));
        let slack = s.claim("serve", now, lease, 10, &[Sink::Chat(Platform::Slack), Sink::Chat(Platform::Discord)]).await.unwrap();
        assert_eq!(slack.len(), 1);
        assert_eq!(slack[0].sink, Sink::Chat(Platform::Slack));
        assert!(s.claim("none", now, lease, 10, &[]).await.unwrap().is_empty());
    }
}

on_both_backends! {
    async fn delivered_rows_and_remembered_events_past_their_retention_are_pruned_and_nothing_else(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        let a = with_incident(&*s).await;
        let old = Utc::now() - Duration::days(40);
        let recent = Utc::now() - Duration::days(1);
        for (n, at) in [(1, old), (2, old), (3, recent)] {
            let commit = Commit {
                event_id: Some(format!("Ev{n}")),
                outbox: vec![item(a.id.0, Platform::Slack, n)],
                at: Some(at),
                ..Default::default()
            };
            s.commit(commit).await.unwrap();
        }
        // The first old row was delivered long ago; the second still waits.
        let lease = old + Duration::seconds(60);
        let head = s.claim("w", old, lease, 10, &[Sink::Chat(Platform::Slack)]).await.unwrap();
        s.finish(head[0].id, "w", old, None).await.unwrap();
        let before = Utc::now() - Duration::days(30);
        let (outbox, inbox) = s.prune(before, 1_000).await.unwrap();
        assert_eq!((outbox, inbox), (1, 2), "the old delivered row and the two old event ids");
        let stats = s.outbox_stats().await.unwrap();
        assert_eq!(stats.pending, 2, "a row still waiting is never pruned, however old");
        assert_eq!(stats.delivered, 1, "the count of deliveries survives the pruning");
        assert!(s.seen_event("Ev3").await.unwrap(), "recent event ids are remembered");
        assert!(!s.seen_event("Ev1").await.unwrap());
        assert_eq!(s.prune(before, 1_000).await.unwrap(), (0, 0));
    }
}

on_both_backends! {
    async fn commits_sent_at_once_each_win_or_lose_alone(db: &TestDb) {
        // On SQLite these share one transaction (group commit): a lost race or
        // a replayed event undoes its own commit, never its neighbours'.
        let s = store::connect(&db.url).await.unwrap();
        let inc = with_incident(&*s).await;
        let mut sent = Vec::new();
        for n in 0..40 {
            let mut changed = inc.clone();
            changed.title = format!("title {n}");
            let s = s.clone();
            let commit = Commit {
                // n = 3, 7, … repeat the event id of n = 1, 5, …: one of each pair comes through.
                event_id: Some(if n % 4 == 3 { format!("Ev{}", n - 2) } else { format!("Ev{n}") }),
                // All update version 1: exactly one of them can win.
                incident: (n % 2 == 0).then_some(Write::Update { value: changed, version: 1 }),
                entries: vec![Write::Insert(flagged(&format!("m{n}"), n))],
                outbox: vec![item(inc.id.0, Platform::Console, n as u32)],
                ..Default::default()
            };
            sent.push(tokio::spawn(async move { s.commit(commit).await }));
        }
        let mut won = 0;
        let (mut conflicts, mut duplicates) = (0, 0);
        for r in sent {
            match r.await.unwrap() {
                Ok(()) => won += 1,
                Err(StoreError::Conflict) => conflicts += 1,
                Err(StoreError::Duplicate) => duplicates += 1,
                Err(e) => panic!("{e}"),
            }
        }
        let timeline = s.timeline(inc.id).await.unwrap();
        assert_eq!(timeline.len(), 1 + won, "every commit that was acknowledged, and only those");
        assert_eq!(s.outbox_stats().await.unwrap().pending as usize, won);
        assert_eq!((won, conflicts, duplicates), (11, 19, 10), "one of 20 updates, 20 of 30 others (10 repeats)");
        assert_eq!(s.incident(inc.id).await.unwrap().unwrap().version, 2, "one update of version 1 won");
    }
}

#[test]
fn a_store_outlives_the_runtime_that_opened_it() {
    // The group writer is a task of the runtime that opened the store; once
    // that runtime is gone, commits are written one by one instead.
    let db = crate::support::db::TestDb::sqlite();
    let opened = tokio::runtime::Runtime::new().unwrap();
    let s = opened.block_on(store::connect(&db.url)).unwrap();
    drop(opened);
    let later = tokio::runtime::Runtime::new().unwrap();
    later.block_on(async {
        let inc = with_incident(&*s).await;
        assert_eq!(s.incident(inc.id).await.unwrap().unwrap().value, inc);
        // The outbox worker's writes too.
        s.commit(Commit { outbox: vec![item(inc.id.0, Platform::Slack, 1)], ..Default::default() })
            .await
            .unwrap();
        let now = Utc::now();
        let claimed =
            s.claim("w", now, now + Duration::seconds(30), 10, &Sink::CHAT).await.unwrap();
        assert_eq!(claimed.len(), 1);
        s.record_progress(claimed[0].id, "w", "{\"parts\":1}").await.unwrap();
        s.retry_at(claimed[0].id, "w", now, "503").await.unwrap();
        let again = s.claim("w", now, now + Duration::seconds(30), 10, &Sink::CHAT).await.unwrap();
        assert_eq!(again[0].progress.as_deref(), Some("{\"parts\":1}"), "the progress is kept");
        s.finish(again[0].id, "w", now, None).await.unwrap();
        let stats = s.outbox_stats().await.unwrap();
        assert_eq!((stats.pending, stats.delivered), (0, 1));
    });
}

#[tokio::test]
async fn sqlite_copies_its_log_into_the_database_file_beside_the_writer() {
    // The checkpoint runs on its own connection while writes go on, long
    // before the log reaches the length (10,000 pages) at which the writer
    // would stop to do it inside a commit.
    let db = crate::support::db::TestDb::sqlite();
    let s = store::connect(&db.url).await.unwrap();
    let file = std::path::PathBuf::from(db.url.trim_start_matches("sqlite://"));
    let size = || std::fs::metadata(&file).unwrap().len();
    let before = size();
    let inc = with_incident(&*s).await;
    let entries = (0..400)
        .map(|n| {
            let mut e = flagged(&format!("m{n}"), n);
            e.incident = inc.id;
            e.text = "x".repeat(2_000);
            Write::Insert(e)
        })
        .collect();
    s.commit(Commit { entries, ..Default::default() }).await.unwrap();
    let what = "the database file to hold the 800 kB just written";
    crate::support::eventually(what, std::time::Duration::from_secs(10), || {
        let grown = size() > before + 400 * 2_000;
        async move { grown }
    })
    .await;
    assert_eq!(s.timeline(inc.id).await.unwrap().len(), 401);
}

on_both_backends! {
    async fn a_batch_checks_each_commit_against_the_ones_before_it_in_arrival_order(db: &TestDb) {
    // Sent together, these reach the group writer as one batch and are
    // written in a few statements; each commit still wins or loses as if
    // written alone, in the order it arrived.
    let s = store::connect(&db.url).await.unwrap();
    let inc = with_incident(&*s).await;
    let mut commits = Vec::new();
    for n in 0..10 {
        let first = flagged(&format!("m{n}"), n);
        let mut second = first.clone();
        second.text = format!("edited {n}");
        commits.push(Commit { entries: vec![Write::Insert(first.clone())], ..Default::default() });
        // On the version the insert just before it made: it wins.
        commits.push(Commit {
            entries: vec![Write::Update { value: second, version: 1 }],
            ..Default::default()
        });
        // The message is on the timeline already, and version 1 is gone.
        commits.push(Commit { entries: vec![Write::Insert(first.clone())], ..Default::default() });
        commits.push(Commit {
            entries: vec![Write::Update { value: first, version: 1 }],
            ..Default::default()
        });
        // A note with no message behind it, between them.
        let note = TimelineEntry::event(inc.id, EntryKind::Note, &alice(), t(n), format!("n{n}"));
        commits.push(Commit {
            event_id: Some(format!("Ev{}", n % 5)),
            entries: vec![Write::Insert(note)],
            outbox: vec![item(inc.id.0, Platform::Console, n as u32)],
            ..Default::default()
        });
    }
    let before = s.batching().writes;
    let outcomes = futures_util::future::join_all(commits.into_iter().map(|c| s.commit(c))).await;
    let after = s.batching().writes;
    assert_eq!(after.jobs - before.jobs, 50, "the writer counts every commit it was given");
    assert!((after.batches - before.batches) * 4 <= 50, "50 commits shared transactions: {before:?} then {after:?}");
    assert!(after.seconds > before.seconds);
    let outcomes = answers(&outcomes);
    for (n, five) in outcomes.chunks(5).enumerate() {
        let note = if n < 5 { "ok" } else { "duplicate" };
        assert_eq!(five, ["ok", "ok", "conflict", "conflict", note], "commits of message m{n}");
    }
    let timeline = s.timeline(inc.id).await.unwrap();
    let texts: Vec<&str> = timeline.iter().skip(1).map(|e| e.text.as_str()).collect();
    let mut expected: Vec<String> = (0..10).map(|n| format!("edited {n}")).collect();
    expected.extend((0..5).map(|n| format!("n{n}")));
    let mut sorted = texts.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected, "each message once, at its last state; each note once");
    let key =
        MessageKey { platform: Platform::Console, channel: "c1".into(), message: "m3".into() };
    assert_eq!(s.entry(&key).await.unwrap().unwrap().version, 2, "inserted, then updated once");
    assert_eq!(s.outbox_stats().await.unwrap().pending, 5, "the outbox rows of the notes written");
}
}

on_both_backends! {
    async fn a_batch_that_only_adds_rows_refuses_the_ones_already_there_and_writes_the_rest_once(db: &TestDb) {
        // Such a batch is first written without reading: the tables' unique
        // keys make its checks. One key already taken fails that write whole;
        // the batch then goes again, read first, and each commit is answered
        // as if written alone.
        let s = store::connect(&db.url).await.unwrap();
        let inc = with_incident(&*s).await;
        let add = |event: &str, message: &str| Commit {
            event_id: Some(event.into()),
            entries: vec![Write::Insert(flagged(message, 1))],
            outbox: vec![item(inc.id.0, Platform::Console, 0)],
            ..Default::default()
        };
        s.commit(add("Ev-old", "m-old")).await.unwrap();
        let mut commits = Vec::new();
        for n in 0..30 {
            commits.push(add(&format!("Ev{n}"), &format!("m{n}")));
            match n % 10 {
                3 => commits.push(add("Ev-old", &format!("other{n}"))),
                5 => commits.push(add(&format!("Ev-again{n}"), "m-old")),
                7 => commits.push(add(&format!("Ev{n}"), &format!("later{n}"))),
                9 => commits.push(add(&format!("Ev-twice{n}"), &format!("m{n}"))),
                _ => {}
            }
        }
        // One whose row the database refuses (no such incident): it fails
        // alone, and takes no other commit of its batch with it.
        let mut orphan = add("Ev-orphan", "m-orphan");
        if let Some(Write::Insert(e)) = orphan.entries.first_mut() {
            e.incident = IncidentId(999);
        }
        commits.insert(20, orphan);
        let before = s.batching().writes;
        let mut outcomes = futures_util::future::join_all(commits.into_iter().map(|c| s.commit(c))).await;
        let after = s.batching().writes;
        assert!((after.batches - before.batches) * 4 <= 43, "the commits shared transactions: {before:?} then {after:?}");
        assert!(outcomes.remove(20).is_err(), "an entry of no incident is refused");
        let said = answers(&outcomes);
        let mut expected = Vec::new();
        for n in 0..30 {
            expected.push("ok");
            match n % 10 {
                3 | 7 => expected.push("duplicate"),
                5 | 9 => expected.push("conflict"),
                _ => {}
            }
        }
        assert_eq!(said, expected);
        let texts: Vec<String> = s.timeline(inc.id).await.unwrap().into_iter().skip(1).map(|e| e.text).collect();
        let mut wanted: Vec<String> = (0..30).map(|n| format!("message m{n}")).collect();
        wanted.push("message m-old".into());
        let mut sorted = texts.clone();
        sorted.sort();
        wanted.sort();
        assert_eq!(sorted, wanted, "each new message once, nothing of the refused commits");
        assert_eq!(s.outbox_stats().await.unwrap().pending, 31, "only the written commits' outbox rows");
        for n in 0..30 {
            assert!(s.seen_event(&format!("Ev{n}")).await.unwrap());
        }
        assert!(!s.seen_event("Ev-again5").await.unwrap(), "a refused commit's event is not recorded");
        assert!(!s.seen_event("Ev-orphan").await.unwrap());
    }
}

on_both_backends! {
    async fn outbox_claims_and_finishes_sent_among_commits_each_get_their_own_answer(db: &TestDb) {
        // They share the group writer's transactions with the commits around
        // them; each still leases, finishes or writes exactly what it would alone.
        let s = store::connect(&db.url).await.unwrap();
        let inc = with_incident(&*s).await;
        let lanes = [inc.id.0, with_incident(&*s).await.id.0];
        let first: Vec<OutboxItem> = (0..60u32).map(|n| item(lanes[n as usize % 2], Platform::ALL[(n / 2) as usize % 3], n)).collect();
        s.commit(Commit { outbox: first, ..Default::default() }).await.unwrap();
        let committed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for n in 0..40u32 {
            let (s, committed) = (s.clone(), committed.clone());
            let commit = Commit {
                event_id: Some(format!("Ev{n}")),
                entries: vec![Write::Insert(flagged(&format!("m{n}"), n as i64))],
                outbox: vec![item(lanes[n as usize % 2], Platform::Console, 100 + n)],
                ..Default::default()
            };
            tasks.push(tokio::spawn(async move {
                s.commit(commit).await.unwrap();
                committed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Vec::new()
            }));
        }
        for w in 0..3 {
            let (s, committed) = (s.clone(), committed.clone());
            tasks.push(tokio::spawn(async move {
                let name = format!("w{w}");
                let mut got = Vec::new();
                loop {
                    // Read before the claim: an empty claim after every commit is
                    // in leaves nothing that this worker would see later.
                    let all_in = committed.load(std::sync::atomic::Ordering::SeqCst) == 40;
                    let now = Utc::now();
                    let batch = s.claim(&name, now, now + Duration::seconds(60), 4, &Sink::CHAT).await.unwrap();
                    if batch.is_empty() {
                        if all_in {
                            break;
                        }
                        tokio::task::yield_now().await;
                    }
                    for c in batch {
                        s.record_progress(c.id, &name, "{}").await.unwrap();
                        s.finish(c.id, &name, Utc::now(), None).await.unwrap();
                        got.push(c.payload);
                    }
                }
                got
            }));
        }
        let mut delivered = Vec::new();
        for t in tasks {
            let within = std::time::Duration::from_secs(60);
            delivered.extend(tokio::time::timeout(within, t).await.expect("done in time").unwrap());
        }
        let n = delivered.len();
        delivered.sort();
        delivered.dedup();
        assert_eq!((n, delivered.len()), (100, 100), "every row delivered once");
        let stats = s.outbox_stats().await.unwrap();
        assert_eq!((stats.pending, stats.delivered), (0, 100));
        assert_eq!(s.timeline(inc.id).await.unwrap().len(), 41, "every commit written");
    }
}

on_both_backends! {
    async fn a_flagged_message_comes_with_its_incident_and_entry_in_one_read(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        let inc = with_incident(&*s).await;
        s.set_channel(inc.id, Platform::Console, "c1", "inc-1-checkout").await.unwrap();
        let key = |channel: &str| MessageKey { platform: Platform::Console, channel: channel.into(), message: "m1".into() };
        let (found, entry) = s.incident_and_entry(&key("c1")).await.unwrap().unwrap();
        assert_eq!((found.value.clone(), entry), (inc.clone(), None), "not flagged yet");
        let flagged = flagged("m1", 1);
        s.commit(Commit { entries: vec![Write::Insert(flagged.clone())], ..Default::default() }).await.unwrap();
        let (found, entry) = s.incident_and_entry(&key("c1")).await.unwrap().unwrap();
        assert_eq!(found.version, 1);
        assert_eq!(entry.map(|e| (e.value, e.version)), Some((flagged, 1)));
        assert!(s.incident_and_entry(&key("c2")).await.unwrap().is_none(), "not an incident's channel");
        // The same message id in another incident channel is another message.
        s.set_channel(inc.id, Platform::Slack, "c1", "inc-1-checkout").await.unwrap();
        let elsewhere = MessageKey { platform: Platform::Slack, ..key("c1") };
        let (_, entry) = s.incident_and_entry(&elsewhere).await.unwrap().unwrap();
        assert_eq!(entry, None);
    }
}

on_both_backends! {
    async fn an_incident_read_again_after_a_change_or_among_many_comes_as_it_is_now(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        let key = |channel: String| MessageKey { platform: Platform::Console, channel, message: "m1".into() };
        // More incidents than the reader keeps decoded, each read once.
        let mut incidents = Vec::new();
        for n in 0..70 {
            let inc = with_incident(&*s).await;
            s.set_channel(inc.id, Platform::Console, &format!("c{n}"), &format!("inc-{n}-checkout")).await.unwrap();
            let (found, _) = s.incident_and_entry(&key(format!("c{n}"))).await.unwrap().unwrap();
            assert_eq!((&found.value, found.version), (&inc, 1));
            incidents.push(inc);
        }
        // The last read is still kept decoded; the first was forgotten.
        for n in [69, 0] {
            let mut changed = incidents[n].clone();
            changed.title = "Checkout failing, now for everyone".into();
            let update = Commit { incident: Some(Write::Update { value: changed.clone(), version: 1 }), ..Default::default() };
            s.commit(update).await.unwrap();
            let (found, _) = s.incident_and_entry(&key(format!("c{n}"))).await.unwrap().unwrap();
            assert_eq!((found.value.clone(), found.version), (changed.clone(), 2), "the change, not the record read before it");
            incidents[n] = changed;
        }
        for (n, inc) in incidents.iter().enumerate() {
            let (found, _) = s.incident_and_entry(&key(format!("c{n}"))).await.unwrap().unwrap();
            assert_eq!(&found.value, inc);
        }
    }
}

on_both_backends! {
    async fn reads_asked_at_once_are_each_answered_for_their_own_message(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        let (one, two) = (with_incident(&*s).await, with_incident(&*s).await);
        s.set_channel(one.id, Platform::Console, "c1", "inc-1-checkout").await.unwrap();
        s.set_channel(two.id, Platform::Console, "c2", "inc-2-checkout").await.unwrap();
        // An incident marked for deletion is hidden: its channel is no incident's.
        let hidden = with_incident(&*s).await;
        s.set_channel(hidden.id, Platform::Console, "c3", "inc-3-checkout").await.unwrap();
        let audit = store::Audit { at: Utc::now(), actor: "cli:test".into(), action: "delete".into(), incident: Some(hidden.id), detail: String::new() };
        assert!(s.mark_deleted(hidden.id, Utc::now() + Duration::days(30), audit).await.unwrap());
        // Every third message of each incident channel is on its timeline.
        let mut entries = Vec::new();
        for (inc, channel) in [(&one, "c1"), (&two, "c2")] {
            for n in (0..60).step_by(3) {
                let mut e = flagged(&format!("m{n}"), n);
                e.incident = inc.id;
                e.key.as_mut().unwrap().channel = channel.into();
                entries.push(Write::Insert(e));
            }
        }
        s.commit(Commit { entries, ..Default::default() }).await.unwrap();
        let key = |c: &str, n: i64| MessageKey { platform: Platform::Console, channel: c.into(), message: format!("m{n}") };
        let keys: Vec<(MessageKey, i64)> =
            ["c1", "c2", "c3", "c4"].iter().flat_map(|c| (0..60).map(move |n| (key(c, n), n))).collect();
        // Asked together, so most share statements.
        let before = s.batching().reads;
        let answers = futures_util::future::join_all(keys.iter().map(|(k, _)| s.incident_and_entry(k))).await;
        let after = s.batching().reads;
        assert_eq!(after.jobs - before.jobs, 240, "the reader answered every read");
        assert!((after.batches - before.batches) * 4 <= 240, "240 reads shared statements: {before:?} then {after:?}");
        for ((k, n), answer) in keys.iter().zip(answers) {
            let found = answer.unwrap();
            let want = match k.channel.as_str() {
                "c1" => one.id,
                "c2" => two.id,
                _ => {
                    assert!(found.is_none(), "{k:?} is in no visible incident's channel");
                    continue;
                }
            };
            let (inc, entry) = found.unwrap_or_else(|| panic!("{k:?} comes with its incident"));
            assert_eq!(inc.value.id, want);
            let entry = entry.map(|e| (e.value.incident, e.value.key, e.value.text));
            let on_timeline = (n % 3 == 0).then(|| (want, Some(k.clone()), format!("message m{n}")));
            assert_eq!(entry, on_timeline, "{k:?}");
        }
    }
}
