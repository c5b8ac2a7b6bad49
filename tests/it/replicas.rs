//! Three `tocsin serve` processes on one PostgreSQL database: they share the
//! HTTP load and the outbox without delivering anything twice, one of them
//! runs the Discord gateway, and another takes over when it is killed.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sqlx::Connection;
use tocsin::incident::{IncidentId, Platform};

use crate::support::bot::public_key;
use crate::support::discord_api::{APP_ID, DiscordApi, GUILD};
use crate::support::eventually;
use crate::support::http::{get, slack_command_body, slack_signed, try_request};
use crate::support::slack_api::SlackApi;

const SECRET: &str = "replica-test-signing-secret";
const INCIDENTS: i64 = 9;

struct Replica {
    addr: SocketAddr,
    child: Child,
}

/// A replica never outlives its test, even one that fails.
impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(
    dir: &std::path::Path,
    n: usize,
    db: &str,
    slack: &SlackApi,
    discord: &DiscordApi,
) -> Replica {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let config = dir.join(format!("replica-{n}.toml"));
    std::fs::write(&config, format!(
        "[server]\nlisten = \"{addr}\"\n[database]\nurl = \"{db}\"\n\
         [slack]\nbot_token = \"xoxb-replicas\"\nsigning_secret = \"{SECRET}\"\napi_base_url = \"{}\"\n\
         [discord]\nbot_token = \"discord-bot-token\"\napplication_id = \"{APP_ID}\"\npublic_key = \"{}\"\nguild_id = \"{GUILD}\"\napi_base_url = \"{}\"\n",
        slack.base_url(), public_key(), discord.base_url()
    )).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tocsin serve starts");
    Replica { addr, child }
}

async fn leads(addr: SocketAddr) -> bool {
    match try_request(addr, "GET", "/metrics", &[], b"").await {
        Some((200, body)) => body.lines().any(|l| l == "tocsin_discord_gateway_leader 1"),
        _ => false,
    }
}

async fn declare(addr: SocketAddr, title: &str) -> u16 {
    let body = slack_command_body("UALICE", "CGENERAL", &format!("declare {title}"));
    let headers = slack_signed(SECRET, &body, "application/x-www-form-urlencoded");
    try_request(addr, "POST", "/slack/commands", &headers, body.as_bytes()).await.map_or(0, |r| r.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_the_work_and_hand_the_gateway_over_when_one_dies() {
    let Some(db) = crate::support::db::TestDb::postgres().await else {
        eprintln!("TOCSIN_TEST_POSTGRES_URL is not set; the replica test needs PostgreSQL");
        return;
    };
    let slack = SlackApi::start(&[("CGENERAL", "general")], &["UALICE"]).await;
    let discord = DiscordApi::start(&[], &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut replicas: Vec<Replica> =
        (0..3).map(|n| start(dir.path(), n, &db.url, &slack, &discord)).collect();
    for r in &replicas {
        let addr = r.addr;
        eventually("a replica to answer", Duration::from_secs(30), || async move {
            try_request(addr, "GET", "/healthz", &[], b"").await.is_some()
        })
        .await;
    }
    let addrs: Vec<SocketAddr> = replicas.iter().map(|r| r.addr).collect();
    let d = discord.clone();
    let a2 = addrs.clone();
    eventually("one replica to run the gateway", Duration::from_secs(20), || {
        let (d, addrs) = (d.clone(), a2.clone());
        async move {
            let mut leaders = 0;
            for a in addrs {
                leaders += usize::from(leads(a).await);
            }
            leaders == 1 && d.gateway_sessions() == 1
        }
    })
    .await;
    assert_eq!(discord.identifies(), 1, "only the leader connected");

    // The load, spread over the replicas as a load balancer would.
    for i in 0..INCIDENTS {
        let addr = addrs[i as usize % 3];
        assert_eq!(declare(addr, &format!("Replica load {i} now")).await, 200);
    }
    let mut leader = None;
    for (n, a) in addrs.iter().enumerate() {
        if leads(*a).await {
            leader = Some(n);
        }
    }
    let leader = leader.expect("a leader");
    let pid = replicas[leader].child.id();
    replicas[leader].child.kill().expect("kill -9 the leader");
    replicas[leader].child.wait().unwrap();
    // What the killed replica's worker (`host-pid`) held leased when it died:
    // the most that may be delivered again. It delivers several lanes at
    // once, so that may be more than one.
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let held: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE done_at IS NULL AND leased_by LIKE '%-' || $1",
    )
    .bind(pid.to_string())
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.ok();
    let survivors: Vec<SocketAddr> =
        addrs.iter().enumerate().filter(|(n, _)| *n != leader).map(|(_, a)| *a).collect();
    let d = discord.clone();
    let s2 = survivors.clone();
    eventually("another replica to take the gateway over", Duration::from_secs(20), || {
        let (d, survivors) = (d.clone(), s2.clone());
        async move {
            let mut leaders = 0;
            for a in survivors {
                leaders += usize::from(leads(a).await);
            }
            leaders == 1 && d.identifies() == 2 && d.gateway_sessions() == 1
        }
    })
    .await;

    // Everything is delivered, once; rows the dead replica held are taken
    // over when their lease (a minute) runs out.
    let store = tocsin::store::connect(&db.url).await.unwrap();
    let s2 = store.clone();
    eventually("the outbox to drain", Duration::from_secs(90), || {
        let s = s2.clone();
        async move { s.outbox_stats().await.unwrap().pending == 0 }
    })
    .await;
    let mut repeated = 0;
    for i in 1..=INCIDENTS {
        let ch =
            store.channel(IncidentId(i), Platform::Slack).await.unwrap().expect("channel opened").0;
        let channel = slack.channel(&ch).unwrap();
        assert!(!channel.name.ends_with("-2"), "one channel per incident: {}", channel.name);
        let headers = channel.messages.iter().filter(|m| m.1.starts_with("🚨")).count();
        assert!(headers >= 1, "INC-{i}'s header was posted");
        repeated += headers - 1;
    }
    assert!(
        repeated as i64 <= held,
        "only deliveries in flight in the killed replica repeat: {repeated} repeated, it held {held}"
    );
    assert_eq!(get(survivors[0], "/healthz").await.0, 200);
    eprintln!(
        "replicas: {INCIDENTS} incidents over 3 replicas, leader killed, gateway taken over (identifies: {}), {repeated} post(s) repeated",
        discord.identifies()
    );
}
