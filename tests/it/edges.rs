//! The worst day at the edges: mistyped privacy, slow and hostile
//! connections, long outages, revoked tokens, hung calls, crashes between a
//! platform's answer and tocsin's record of it, deleted secrets.

use std::time::{Duration, Instant};

use tocsin::config::DiscordInteractions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::bot::Bot;
use crate::support::db::{TestDb, on_both_backends};
use crate::support::engine::{ANNOUNCE, Engine};

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
    let bot = Bot::start_with(&db.url, DiscordInteractions::Gateway, true, |c| {
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
