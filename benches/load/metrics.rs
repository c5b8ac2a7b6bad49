//! `/metrics` over a long history: the scrape time with an empty outbox, then with a million
//! delivered rows and a hundred thousand remembered event ids in the same database, while the
//! same server keeps running.

use std::time::{Duration, Instant};

use reqwest::Client;
use serde::Serialize;
use sqlx::Connection;

use crate::bot::Tocsin;
use crate::slack_api::SlackApi;

/// Delivered rows written for the second measurement.
const ROWS: u64 = 1_000_000;
/// Scrapes timed in each state.
const SCRAPES: usize = 200;

#[derive(Debug, Clone, Serialize)]
pub struct Scrapes {
    pub delivered_rows: u64,
    pub empty_median_ms: f64,
    pub empty_p99_ms: f64,
    pub full_median_ms: f64,
    pub full_p99_ms: f64,
    /// Seconds to write the history.
    pub fill_s: f64,
}

impl Scrapes {
    pub fn ratio(&self) -> f64 {
        self.full_median_ms / self.empty_median_ms.max(1e-9)
    }
}

pub async fn run(client: &Client) -> anyhow::Result<Scrapes> {
    let slack =
        SlackApi::start(&[("CGENERAL", "general"), ("CANNOUNCE", "announce")], &["UALICE"]).await;
    let bot = Tocsin::start(&slack.base_url(), client).await?;
    bot.declare(client, "Metrics baseline").await?;
    bot.drained(Duration::from_secs(30)).await?;
    let empty = scrape(client, &bot.base).await?;
    let started = Instant::now();
    fill(&bot.db_url).await?;
    let fill_s = started.elapsed().as_secs_f64();
    let full = scrape(client, &bot.base).await?;
    bot.stop().await;
    Ok(Scrapes {
        delivered_rows: ROWS,
        empty_median_ms: empty.0,
        empty_p99_ms: empty.1,
        full_median_ms: full.0,
        full_p99_ms: full.1,
        fill_s,
    })
}

/// Median and p99 of [`SCRAPES`] sequential `GET /metrics`, after a few unmeasured ones.
async fn scrape(client: &Client, base: &str) -> anyhow::Result<(f64, f64)> {
    let url = format!("{base}/metrics");
    let mut times = Vec::with_capacity(SCRAPES);
    for n in 0..SCRAPES + 10 {
        let started = Instant::now();
        let body = client.get(&url).send().await?.error_for_status()?.text().await?;
        anyhow::ensure!(body.contains("tocsin_outbox_pending"), "not the metrics page");
        if n >= 10 {
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], times[times.len() * 99 / 100]))
}

/// A million delivered outbox rows and a hundred thousand inbox rows, written straight into
/// the database (the server keeps running: SQLite in WAL mode lets it).
async fn fill(db_url: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::SqliteConnection::connect(db_url).await?;
    sqlx::query(
        "INSERT INTO outbox (lane, incident_id, platform, payload, created_at, attempts,
                             next_attempt_at, done_at, outcome)
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $1)
         SELECT '1/slack', 1, 'slack', '{\"do\":\"archive\"}', '2026-01-01T00:00:00Z', 1,
                '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', 'delivered' FROM n",
    )
    .bind(ROWS as i64)
    .execute(&mut conn)
    .await?;
    sqlx::query(
        "INSERT INTO inbox (event_id, received_at)
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100000)
         SELECT 'bench-' || x, '2026-01-01T00:00:00Z' FROM n",
    )
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(())
}
