//! `kill -9` of `tocsin serve` in the middle of a burst of commands and flags,
//! then a restart: every acknowledged command and flag is recorded once, and
//! every effect is delivered.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use tocsin::incident::{EntryState, IncidentId, Platform};

use crate::support::eventually;
use crate::support::http::{get, slack_command_body, slack_signed, try_request};
use crate::support::slack_api::SlackApi;

const SECRET: &str = "crash-test-signing-secret";
/// Notes post at Slack's one per second per channel, so the drain takes about N/3 s.
const N: usize = 30;

/// `tocsin serve`, killed when dropped so a failing test leaves nothing running.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(config: &std::path::Path) -> Serve {
    Serve(
        Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .args(["serve", "--config"])
            .arg(config)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tocsin serve starts"),
    )
}

async fn ready(addr: SocketAddr) {
    eventually("tocsin serve to answer", Duration::from_secs(20), || async move {
        crate::support::http::try_request(addr, "GET", "/healthz", &[], b"").await.is_some()
    })
    .await;
    assert_eq!(get(addr, "/healthz").await.0, 200);
}

fn signed(body: &str, ctype: &str) -> Vec<(&'static str, String)> {
    slack_signed(SECRET, body, ctype)
}

fn flag_body(event_id: &str, channel: &str, ts: &str) -> String {
    json!({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id, "event_time": 1700000000,
           "event": {"type": "reaction_added", "user": "UBOB", "reaction": "pushpin", "item": {"type": "message", "channel": channel, "ts": ts}, "event_ts": ts}})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_mid_burst_loses_no_acknowledged_command_or_flag() {
    let slack = SlackApi::start(&[("CGENERAL", "general")], &["UALICE", "UBOB"]).await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let db = format!("sqlite://{}", dir.path().join("tocsin.db").display());
    let config = dir.path().join("bot.toml");
    std::fs::write(&config, format!(
        "[server]\nlisten = \"{addr}\"\n[database]\nurl = \"{db}\"\n[slack]\nbot_token = \"xoxb-crash\"\nsigning_secret = \"{SECRET}\"\napi_base_url = \"{}\"\n",
        slack.base_url()
    )).unwrap();
    let mut child = spawn(&config);
    ready(addr).await;
    let body = slack_command_body("UALICE", "CGENERAL", "declare Disk full");
    let (status, _) = try_request(
        addr,
        "POST",
        "/slack/commands",
        &signed(&body, "application/x-www-form-urlencoded"),
        body.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    let store = tocsin::store::connect(&db).await.unwrap();
    let s2 = store.clone();
    eventually("the incident channel", Duration::from_secs(10), || {
        let s = s2.clone();
        async move { s.channel(IncidentId(1), Platform::Slack).await.unwrap().is_some() }
    })
    .await;
    let ch = store.channel(IncidentId(1), Platform::Slack).await.unwrap().unwrap().0;
    let messages: Vec<String> = (0..N)
        .map(|i| {
            let ts = slack.say(&ch, "UALICE", &format!("observation {i}"), None);
            slack.react(&ch, &ts, "pushpin", "UBOB");
            ts
        })
        .collect();

    // The burst: N notes and N flags at once; kill -9 once a third are acknowledged.
    let acked = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (i, ts) in messages.iter().cloned().enumerate() {
        let (acked, ch) = (acked.clone(), ch.clone());
        tasks.push(tokio::spawn(async move {
            let note = slack_command_body("UALICE", &ch, &format!("note crash-{i}"));
            let flag = flag_body(&format!("Ev{i}"), &ch, &ts);
            let n = try_request(
                addr,
                "POST",
                "/slack/commands",
                &signed(&note, "application/x-www-form-urlencoded"),
                note.as_bytes(),
            )
            .await;
            let f = try_request(
                addr,
                "POST",
                "/slack/events",
                &signed(&flag, "application/json"),
                flag.as_bytes(),
            )
            .await;
            let ok = |r: &Option<(u16, String)>| r.as_ref().is_some_and(|(s, _)| *s == 200);
            for _ in 0..usize::from(ok(&n)) + usize::from(ok(&f)) {
                acked.fetch_add(1, Ordering::SeqCst);
            }
            (i, ok(&n), ok(&f))
        }));
    }
    let a = acked.clone();
    eventually("a third of the burst to be acknowledged", Duration::from_secs(20), || {
        let a = a.clone();
        async move { a.load(Ordering::SeqCst) >= 2 * N / 3 }
    })
    .await;
    child.0.kill().expect("kill -9");
    child.0.wait().unwrap();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }

    let _child = spawn(&config);
    ready(addr).await;
    // Slack delivers every unacknowledged event again, with the same id.
    let mut redelivered = 0;
    for (i, _, flag_ok) in &outcomes {
        if !flag_ok {
            let flag = flag_body(&format!("Ev{i}"), &ch, &messages[*i]);
            let (status, _) = try_request(
                addr,
                "POST",
                "/slack/events",
                &signed(&flag, "application/json"),
                flag.as_bytes(),
            )
            .await
            .unwrap();
            assert_eq!(status, 200);
            redelivered += 1;
        }
    }
    let s2 = store.clone();
    // A row in flight at the kill stays leased to the dead process for the
    // lease (a minute) before the new one takes it; then 1 post/s per channel.
    eventually("the outbox to drain after the restart", Duration::from_secs(150), || {
        let s = s2.clone();
        async move { s.outbox_stats().await.unwrap().pending == 0 }
    })
    .await;

    let timeline = store.timeline(IncidentId(1)).await.unwrap();
    let posts = slack.texts(&ch);
    let (mut notes_acked, mut flags_acked, mut repeated) = (0, 0, 0);
    for (i, note_ok, flag_ok) in &outcomes {
        let text = format!("crash-{i}");
        let recorded = timeline.iter().filter(|e| e.text == text).count();
        let posted = posts.iter().filter(|p| p.ends_with(&format!(": {text}"))).count();
        assert!(recorded <= 1, "note {i} recorded {recorded} times");
        if *note_ok {
            notes_acked += 1;
            assert_eq!(recorded, 1, "acknowledged note {i} is recorded");
        }
        assert_eq!(posted >= 1, recorded == 1, "note {i}: recorded {recorded}, posted {posted}");
        repeated += posted.saturating_sub(1);
        let flagged: Vec<_> = timeline
            .iter()
            .filter(|e| e.key.as_ref().is_some_and(|k| k.message == messages[*i]))
            .collect();
        assert_eq!(
            flagged.len(),
            1,
            "flag {i} is recorded exactly once (acked first time: {flag_ok})"
        );
        assert_eq!(flagged[0].state, EntryState::Active);
        flags_acked += usize::from(*flag_ok);
    }
    assert!(repeated <= 1, "at most the one delivery in flight repeats: {repeated}");
    eprintln!(
        "kill -9 mid-burst: {N} notes ({notes_acked} acknowledged), {N} flags ({flags_acked} acknowledged, {redelivered} redelivered by 'Slack'); all acknowledged recorded once; {repeated} post(s) repeated"
    );
}
