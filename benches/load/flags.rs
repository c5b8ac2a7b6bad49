//! Timeline flags: `reaction_added` events for messages that exist in the Slack double with the
//! 📌 still on them (tocsin fetches each message and checks the reaction before it records).
//! Ingestion fires many at once and times until the database holds every entry; the ramp
//! measures the events' ack latency at rising rates.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::Client;
use serde::Serialize;
use tocsin::incident::{EntryState, IncidentId};
use tocsin::store::Store;

use crate::bot::{Db, Poll, Tocsin, millis};
use crate::load::{self, Plan};
use crate::report::{Report, Start};
use crate::signed::{self, Req};
use crate::slack_api::SlackApi;

/// Flag events in flight at once during ingestion.
pub const CONCURRENCY: usize = 64;

#[derive(Debug, Clone, Serialize)]
pub struct Ingestion {
    pub flags: usize,
    pub concurrency: usize,
    pub acked: usize,
    pub errors: usize,
    /// Successful acks per second, from the first send to the last ack.
    pub acked_per_s: f64,
    /// Active flagged entries the database holds at the end.
    pub recorded: usize,
    /// From the first send until a read of the database saw them all.
    pub durable_s: f64,
    pub durable_per_s: f64,
}

pub async fn run(plan: &Plan, client: &Client, report: &mut Report) -> anyhow::Result<()> {
    run_on(plan, client, report, Db::Sqlite).await
}

/// Ingestion alone, with tocsin on PostgreSQL (a local server, one replica).
pub async fn run_postgres(plan: &Plan, client: &Client, report: &mut Report) -> anyhow::Result<()> {
    run_on(plan, client, report, Db::Postgres).await
}

/// Ingestion on `db`; on SQLite, the ack ramp after it.
async fn run_on(plan: &Plan, client: &Client, report: &mut Report, db: Db) -> anyhow::Result<()> {
    let slack = SlackApi::start(
        &[("CGENERAL", "general"), ("CANNOUNCE", "announce")],
        &["UALICE", "UBOB", "UCAROL"],
    )
    .await;
    let bot = Tocsin::start_on(&slack.base_url(), client, db).await?;
    let (idle_rss_mb, ready_ms) = (bot.server.rss_mb(), load::ms(bot.server.ready));
    let (ingest_id, ingest_channel) = bot.declare(client, "Ingest").await?;
    let (_, ramp_channel) = bot.declare(client, "Flags").await?;
    bot.drained(Duration::from_secs(30)).await?;

    let (label, events, phase) = match db {
        Db::Sqlite => ("", "EvIngest", "flags"),
        Db::Postgres => (" on PostgreSQL", "EvIngestPg", "flags on PostgreSQL"),
    };
    let reqs = flags(&slack, &ingest_channel, events, plan.ingest);
    let before = Counters::read(client, &bot.base).await;
    let ingestion = ingest(client, &bot, ingest_id, reqs).await?;
    eprintln!(
        "  ingestion{label}: {} flags, {:.0}/s acked, {:.0}/s durable",
        ingestion.flags, ingestion.acked_per_s, ingestion.durable_per_s
    );
    match (before, Counters::read(client, &bot.base).await) {
        (Ok(before), Ok(after)) => eprintln!("  {}", after.since(&before)),
        (Err(e), _) | (_, Err(e)) => eprintln!("  the server's counters could not be read: {e:#}"),
    }
    match db {
        Db::Sqlite => {
            report.ingestion = Some(ingestion);
            let ramp =
                load::ramp(client, &bot.base, plan, "tocsin", "reaction_added (flag)", |r, n| {
                    flags(&slack, &ramp_channel, &format!("EvRamp{r}x"), n)
                })
                .await?;
            report.ramps.push(ramp);
        }
        Db::Postgres => report.ingestion_pg = Some(ingestion),
    }
    report.starts.push(Start {
        server: "tocsin".into(),
        phase: phase.into(),
        ready_ms,
        idle_rss_mb,
        peak_rss_mb: bot.server.peak_mb(),
    });
    bot.stop().await;
    Ok(())
}

/// `n` new messages in `channel`, each with UCAROL's 📌 on it, and their signed events.
pub fn flags(slack: &SlackApi, channel: &str, prefix: &str, n: usize) -> Vec<Req> {
    (0..n)
        .map(|i| {
            let ts = slack.say(channel, "UBOB", &format!("{prefix} message {i}"), None);
            slack.react(channel, &ts, "pushpin", "UCAROL");
            signed::reaction_added(&format!("{prefix}{i}"), "UCAROL", channel, &ts)
        })
        .collect()
}

async fn ingest(
    client: &Client,
    bot: &Tocsin,
    incident: IncidentId,
    reqs: Vec<Req>,
) -> anyhow::Result<Ingestion> {
    let flags = reqs.len();
    let events_url = format!("{}/slack/events", bot.base);
    let url = events_url.as_str();
    let started = Instant::now();
    let acks: Vec<(bool, Instant)> = futures_util::stream::iter(reqs)
        .map(|req| async move {
            let answer = tokio::time::timeout(load::ACK_DEADLINE, signed::send(client, url, req));
            let ok = matches!(answer.await, Ok(Ok((status, _))) if status.is_success());
            (ok, Instant::now())
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let acked = acks.iter().filter(|(ok, _)| *ok).count();
    let last_ack = acks.iter().map(|(_, at)| *at).max().unwrap_or(started);
    let ack_s = last_ack.duration_since(started).as_secs_f64().max(1e-9);

    // Each read sees a snapshot taken when it starts: the entries were durable by then.
    let poll = Poll::new("the flags to be recorded", Duration::from_secs(60), millis(20));
    let mut best = (0, last_ack);
    loop {
        let read_at = Instant::now();
        let recorded = active_flags(&bot.store, incident).await?;
        if recorded > best.0 {
            best = (recorded, read_at);
        }
        if recorded >= flags || poll.tick().await.is_err() {
            break;
        }
    }
    let durable_s = best.1.duration_since(started).as_secs_f64().max(1e-9);
    Ok(Ingestion {
        flags,
        concurrency: CONCURRENCY,
        acked,
        errors: flags - acked,
        acked_per_s: acked as f64 / ack_s,
        recorded: best.0,
        durable_s,
        durable_per_s: best.0 as f64 / durable_s,
    })
}

/// The group writer's and Slack lookups' counters from `/metrics`.
struct Counters {
    batches: f64,
    jobs: f64,
    busy_s: f64,
    lookups: f64,
    reads: f64,
}

impl Counters {
    async fn read(client: &Client, base: &str) -> anyhow::Result<Self> {
        let answer = client.get(format!("{base}/metrics")).send().await?.error_for_status()?;
        let text = answer.text().await?;
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
                .ok_or_else(|| anyhow::anyhow!("/metrics has no {name}"))
        };
        Ok(Self {
            batches: value("tocsin_store_write_batches_total")?,
            jobs: value("tocsin_store_write_jobs_total")?,
            busy_s: value("tocsin_store_write_seconds_total")?,
            lookups: value("tocsin_slack_flag_lookups_total")?,
            reads: value("tocsin_slack_flag_reads_total{method=\"conversations.history\"}")?
                + value("tocsin_slack_flag_reads_total{method=\"conversations.replies\"}")?,
        })
    }

    /// What the writer and the lookups did between `before` and these: the writer's
    /// batches, their mean size (commits and outbox chores) and its busy time; reads of Slack
    /// for how many lookups.
    fn since(&self, before: &Self) -> String {
        let batches = self.batches - before.batches;
        format!(
            "writer: {batches:.0} batches of {:.1} jobs, {:.2} s busy; Slack: {:.0} reads for {:.0} lookups",
            (self.jobs - before.jobs) / batches.max(1.0),
            self.busy_s - before.busy_s,
            self.reads - before.reads,
            self.lookups - before.lookups,
        )
    }
}

pub async fn active_flags(store: &Arc<dyn Store>, incident: IncidentId) -> anyhow::Result<usize> {
    let timeline = store.timeline(incident).await?;
    Ok(timeline.iter().filter(|e| e.key.is_some() && e.state == EntryState::Active).count())
}
