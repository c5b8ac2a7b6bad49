//! The worst day at the edges: mistyped privacy, slow and hostile
//! connections, long outages, revoked tokens, hung calls, crashes between a
//! platform's answer and tocsin's record of it, deleted secrets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use tocsin::clock::Clock;
use tocsin::config::DiscordInteractions;
use tocsin::incident::{FlagVia, FlaggedMessage, MessageKey, Platform, UserRef};
use tocsin::outbox::ChatError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::bot::Bot;
use crate::support::chat::MemoryChat;
use crate::support::db::{TestDb, on_both_backends};
use crate::support::engine::{ANNOUNCE, Engine, ctx};

on_both_backends! {
    async fn a_mistyped_private_switch_never_declares_a_public_incident(db: &TestDb) {
        let e = Engine::start(&db.url).await;
        let dash = e.run("UALICE", "CGENERAL", "declare SEV1 Payroll export leaked —private").await;
        assert_eq!(dash.message.to_plain(), "Declared INC-1 (SEV1 (private)) → #inc-1-payroll-export-leaked");
        let upper = e.run("UALICE", "CGENERAL", "declare SEV1 Payroll export leaked --PRIVATE").await;
        assert!(upper.message.to_plain().starts_with("Declared INC-2 (SEV1 (private))"), "{:?}", upper.message);
        for typo in ["--privat", "--private=false", "-–privte"] {
            let r = e.run("UALICE", "CGENERAL", &format!("declare SEV1 Payroll export leaked {typo}")).await;
            let text = r.message.to_plain();
            assert!(text.contains("Usage: /incident declare"), "{typo}: {text}");
        }
        e.deliver_all().await;
        assert!(e.slack.posts(ANNOUNCE).is_empty(), "nothing was announced");
        let all = e.store.incidents(true).await.unwrap();
        assert_eq!(all.len(), 2, "the typos declared nothing");
        assert!(all.iter().all(|i| i.private));
    }
}

/// A connection that sends half a request's headers and then nothing.
async fn half_open(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"POST /slack/commands HTTP/1.1\r\nHost: tocsin\r\nX-Slow: ").await.unwrap();
    s
}

/// Whether the server closed the connection (reads end or fail).
async fn closed(mut s: tokio::net::TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(within, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A 408 or similar before the close is fine; keep reading.
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slow_connections_neither_block_a_signed_command_nor_stay_open() {
    let db = TestDb::sqlite();
    let bot = Bot::start_with(&db.url, DiscordInteractions::Gateway, true, |c, _| {
        c.server.header_timeout_seconds = 2;
    })
    .await;
    let addr = bot.server.addr;
    let mut slow = Vec::new();
    for _ in 0..1000 {
        slow.push(half_open(addr).await);
    }
    let started = Instant::now();
    let reply = bot.slack_command("UALICE", "CGENERAL", "declare SEV2 Checkout failing").await;
    assert!(reply.starts_with("Declared INC-1"), "{reply}");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "answered in {took:?} with 1000 slow connections open");
    let checks: Vec<_> =
        slow.into_iter().map(|s| tokio::spawn(closed(s, Duration::from_secs(10)))).collect();
    let started = Instant::now();
    for c in checks {
        assert!(c.await.unwrap(), "a slow connection stayed open");
    }
    assert!(started.elapsed() < Duration::from_secs(6), "closed within the header timeout");
    bot.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_body_over_the_cap_is_answered_413_before_it_is_read() {
    let db = TestDb::sqlite();
    let bot = Bot::start(&db.url, DiscordInteractions::Gateway, true).await;
    let mut s = tokio::net::TcpStream::connect(bot.server.addr).await.unwrap();
    let head = "POST /slack/events HTTP/1.1\r\nHost: tocsin\r\nContent-Type: application/json\r\n\
                Content-Length: 8388608\r\n\r\n";
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // A body that grows past the cap without announcing its length, too.
    let big = vec![b'x'; 2 << 20];
    let resp = reqwest::Client::new()
        .post(format!("http://{}/slack/events", bot.server.addr))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            big.chunks(64 << 10).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>(),
        )))
        .send()
        .await;
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 413);
    }
    bot.server.stop().await.unwrap();
}

on_both_backends! {
    async fn a_platform_down_for_two_days_then_gets_everything_in_order_with_nothing_dropped(db: &TestDb) {
        let chat = Arc::new(MemoryChat::new(Platform::Slack, &["CGENERAL", ANNOUNCE, "CSTAKE"]));
        let e = Engine::start_patient(&db.url, chat.clone()).await;
        let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap();
        e.clock.set(t0);
        e.run("UALICE", "CGENERAL", "declare SEV2 Checkout failing").await;
        e.outbox.drain().await.unwrap();
        let ch = e.channel_of(1).await;
        chat.down(Some(ChatError::Unavailable("HTTP 503".into())));
        for n in 1..=5 {
            e.run("UALICE", &ch, &format!("note step {n}")).await;
        }
        e.run("UALICE", &ch, "update monitoring Waiting for the platform").await;
        // Two days, in five-minute steps of the clock: every due row is tried.
        for _ in 0..(48 * 12) {
            assert!(e.clock.advance(chrono::Duration::seconds(301)));
            e.outbox.drain().await.unwrap();
        }
        let now = e.clock.now();
        let streak = e.outbox.counters.degraded(Platform::Slack, now, Duration::from_secs(60)).expect("degraded");
        assert!(now - streak.since > chrono::Duration::hours(47), "failing since the outage began");
        let stats = e.store.outbox_stats().await.unwrap();
        assert!(stats.pending >= 7, "everything still waits: {stats:?}");
        assert_eq!(stats.failed, 0, "nothing was given up");
        chat.down(None);
        e.clock.advance(chrono::Duration::seconds(301));
        e.outbox.drain().await.unwrap();
        let posts = e.slack.posts(&ch);
        let notes: Vec<&String> = posts.iter().filter(|p| p.starts_with("📝")).collect();
        let want: Vec<String> = (1..=5).map(|n| format!("📝 Note from @UALICE: step {n}")).collect();
        assert_eq!(notes, want.iter().collect::<Vec<_>>(), "in order, once each");
        assert!(posts.last().unwrap().contains("Monitoring: Waiting for the platform"));
        assert!(e.slack.posts(ANNOUNCE).last().unwrap().contains("Monitoring"), "stakeholders too");
        assert_eq!(e.store.outbox_stats().await.unwrap().pending, 0);
        assert_eq!(e.outbox.counters.get(Platform::Slack).failed, 0);
        assert!(e.outbox.counters.failing(Platform::Slack).is_none(), "no longer failing");
    }
}

on_both_backends! {
    async fn a_hung_call_holds_back_its_own_lane_and_nothing_else(db: &TestDb) {
        let chat = Arc::new(MemoryChat::new(Platform::Slack, &["CGENERAL", ANNOUNCE, "CSTAKE"]));
        let e = Engine::start_patient(&db.url, chat.clone()).await;
        e.run("UALICE", "CGENERAL", "declare SEV2 Checkout failing").await;
        e.run("UALICE", "CGENERAL", "declare SEV3 Search slow").await;
        e.outbox.drain().await.unwrap();
        let (one, two) = (e.channel_of(1).await, e.channel_of(2).await);
        chat.hang_next_posts(1);
        e.run("UALICE", &one, "note stuck behind a hung call").await;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(e.outbox.clone().run(stopped));
        crate::support::eventually("the first lane's post to hang", Duration::from_secs(5), || async {
            e.store.outbox_stats().await.unwrap().pending == 1
        })
        .await;
        e.run("UALICE", &two, "note in another incident").await;
        let started = Instant::now();
        crate::support::eventually("the other lane to deliver", Duration::from_secs(5), || async {
            e.slack.posts(&two).iter().any(|p| p.contains("another incident"))
        })
        .await;
        assert!(started.elapsed() < Duration::from_secs(3), "not held back: {:?}", started.elapsed());
        assert!(!e.slack.posts(&one).iter().any(|p| p.contains("hung call")), "the hung one still waits");
        chat.release();
        crate::support::eventually("the hung post to land", Duration::from_secs(5), || async {
            e.slack.posts(&one).iter().any(|p| p.contains("hung call"))
        })
        .await;
        stop.send(true).unwrap();
        worker.await.unwrap();
    }
}

on_both_backends! {
    async fn a_post_that_hangs_in_one_channel_holds_back_none_of_the_update_elsewhere(db: &TestDb) {
        let chat = Arc::new(MemoryChat::new(Platform::Slack, &["CGENERAL", ANNOUNCE, "CSTAKE", "COPS"]));
        let e = Engine::start_patient(&db.url, chat.clone()).await;
        e.run("UALICE", "CGENERAL", "declare SEV2 Checkout failing").await;
        for ch in ["CSTAKE", "COPS"] {
            assert!(e.run("UBOB", ch, "subscribe INC-1").await.recorded());
        }
        e.outbox.drain().await.unwrap();
        let inc = e.channel_of(1).await;
        let places = [inc.as_str(), ANNOUNCE, "CSTAKE", "COPS"];
        let reached = || places.iter().filter(|c| e.slack.posts(c).iter().any(|p| p.contains("Fix deployed"))).count();
        // A subscriber's: the incident's own lane has more than the post in it.
        chat.hang_next_post_in("CSTAKE");
        e.run("UALICE", &inc, "update monitoring Fix deployed").await;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(e.outbox.clone().run(stopped));
        // Each channel is a lane of its own: the post that hangs holds back no other.
        crate::support::eventually("the update in three channels", Duration::from_secs(5), || async {
            reached() == 3
        })
        .await;
        crate::support::eventually("only the hung post to wait", Duration::from_secs(5), || async {
            e.store.outbox_stats().await.unwrap().pending == 1
        })
        .await;
        assert_eq!(reached(), 3, "the hung post has not landed");
        chat.release();
        crate::support::eventually("the hung post to land", Duration::from_secs(5), || async { reached() == 4 })
            .await;
        stop.send(true).unwrap();
        worker.await.unwrap();
    }
}

on_both_backends! {
    async fn a_deleted_flagged_message_leaves_no_text_in_the_timeline_the_postmortem_or_the_audit_log(db: &TestDb) {
        let e = Engine::start(&db.url).await;
        e.run("UALICE", "CGENERAL", "declare SEV2 Checkout failing").await;
        e.deliver_all().await;
        let ch = e.channel_of(1).await;
        let pasted = FlaggedMessage {
            key: MessageKey { platform: Platform::Slack, channel: ch.clone(), message: "1700000000.000100".into() },
            author: UserRef::new(Platform::Slack, "UBOB"),
            text: "db password is hunter2-correct-horse".into(),
            at: Utc::now(),
            link: Some("https://example.slack.com/archives/x/p1".into()),
            files: vec!["https://files.example/secret.txt".into()],
        };
        e.flag(&ctx("UCAROL", &ch), pasted.clone(), FlagVia::Reaction).await;
        e.run("UALICE", &ch, "note rotate the leaked credential").await;
        e.message_deleted(&ctx("UBOB", &ch), &pasted.key, Utc::now()).await;
        let shown = e.run("UALICE", &ch, "timeline").await.message.to_plain();
        assert!(shown.contains("(message deleted)"), "{shown}");
        e.run("UALICE", &ch, "resolve").await;
        e.run("UALICE", &ch, "postmortem").await;
        e.deliver_all().await;
        let draft = &e.slack.channel(&ch).unwrap().files[0].1;
        let audit = e.store.audit_log(None, 100).await.unwrap();
        let audit_text = format!("{audit:?}");
        let entry = e.store.entry(&pasted.key).await.unwrap().unwrap().value;
        for (place, text) in [("timeline", shown.as_str()), ("postmortem", draft), ("audit log", &audit_text)] {
            assert!(!text.contains("hunter2"), "{place} keeps the deleted text: {text}");
            assert!(!text.contains("secret.txt"), "{place} keeps the deleted file: {text}");
        }
        assert!(!audit_text.contains("rotate the leaked"), "the audit log holds no message text: {audit_text}");
        assert!(audit_text.contains("message slack:"), "it holds ids and kinds: {audit_text}");
        assert_eq!((entry.text.as_str(), entry.files.len()), ("", 0));
        assert_eq!(entry.author, UserRef::new(Platform::Slack, "UBOB"), "who said it is kept");
    }
}
