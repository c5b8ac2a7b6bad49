//! The open-loop load generator: requests go out at their scheduled times whatever the server
//! does, and each latency is counted from the scheduled time, not from when it was sent, so a
//! server that stalls is charged for the requests queued behind the stall (no coordinated
//! omission). A ramp offers rising rates until the server saturates.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Client;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::signed::{self, Req};

/// Slack gives up on an answer after 3 seconds; a later one counts as an error.
pub const ACK_DEADLINE: Duration = Duration::from_secs(3);
/// Connections the generator opens at most; requests beyond wait (and the wait is counted).
const MAX_IN_FLIGHT: usize = 512;

/// How long and how hard to push.
pub struct Plan {
    pub quick: bool,
    /// Offered request rates, per second, in order.
    pub rates: Vec<u64>,
    pub step: Duration,
    /// Requests sent one at a time before a ramp, to open connections and check the answers.
    pub warmup: usize,
    /// Flags fired at once in the ingestion test.
    pub ingest: usize,
}

impl Plan {
    pub fn full() -> Self {
        Self {
            quick: false,
            rates: vec![100, 250, 500, 1000, 2000, 4000, 8000, 12000, 16000],
            step: Duration::from_secs(3),
            warmup: 50,
            ingest: 20_000,
        }
    }

    pub fn quick() -> Self {
        Self {
            quick: true,
            rates: vec![100, 1000, 4000],
            step: Duration::from_secs(1),
            warmup: 20,
            ingest: 2_000,
        }
    }
}

/// One offered rate, held for one step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub offered_per_s: u64,
    pub sent: usize,
    pub ok: usize,
    /// Non-2xx answers, answers without the expected text, transport errors and answers
    /// later than the 3 s deadline.
    pub errors: usize,
    /// Successful answers per second of the step's wall time.
    pub achieved_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// How late the generator itself sent (p99): the part of each latency that is the harness's.
    pub send_lag_p99_ms: f64,
    pub wall_s: f64,
}

impl Step {
    /// The server could not keep up: it answered under 90% of what was offered, or over 1% failed.
    pub fn saturated(&self) -> bool {
        self.achieved_per_s < 0.9 * self.offered_per_s as f64
            || self.errors as f64 > 0.01 * self.sent as f64
    }
}

/// Rising rates against one server and one kind of request.
#[derive(Debug, Clone, Serialize)]
pub struct Ramp {
    pub server: String,
    pub request: String,
    pub steps: Vec<Step>,
    /// The best achieved rate over the steps.
    pub saturation_per_s: f64,
    /// False when even the highest offered rate was served: the saturation is then a lower bound.
    pub saturated: bool,
}

impl Ramp {
    /// The step at this offered rate, when the ramp got that far.
    pub fn at(&self, offered: u64) -> Option<&Step> {
        self.steps.iter().find(|s| s.offered_per_s == offered)
    }
}

pub fn client() -> anyhow::Result<Client> {
    use anyhow::Context;
    Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(MAX_IN_FLIGHT)
        // A backstop so that nothing hangs; the deadline that counts is ACK_DEADLINE.
        .timeout(Duration::from_secs(10))
        .build()
        .context("building the HTTP client")
}

/// Offers `plan.rates` in turn, each for `plan.step`, and stops after the first step that
/// saturates. `build(rate, n)` makes the step's `n` requests (signed before the step starts, so
/// signing is not in the measured window); it is called with rate 0 for the warm-up.
pub async fn ramp(
    client: &Client,
    base: &str,
    plan: &Plan,
    server: &str,
    request: &str,
    mut build: impl FnMut(u64, usize) -> Vec<Req>,
) -> anyhow::Result<Ramp> {
    for req in build(0, plan.warmup) {
        let expect = req.expect;
        let url = format!("{base}{}", req.path);
        let (status, body) = signed::send(client, &url, req).await?;
        if !status.is_success() || !body.contains(expect) {
            anyhow::bail!("{server}: warm-up {request} got {status}: {body}");
        }
    }
    let mut steps: Vec<Step> = Vec::new();
    for &rate in &plan.rates {
        let n = (rate as f64 * plan.step.as_secs_f64()).round() as usize;
        let step = run_step(client, base, rate, build(rate, n)).await;
        eprintln!(
            "  {server} {request} @ {rate}/s: {:.0}/s ok, p50 {:.2} ms, p99 {:.2} ms, {} errors",
            step.achieved_per_s, step.p50_ms, step.p99_ms, step.errors
        );
        let stop = step.saturated();
        steps.push(step);
        if stop {
            break;
        }
    }
    let saturation_per_s = steps.iter().map(|s| s.achieved_per_s).fold(0.0, f64::max);
    let saturated = steps.iter().any(Step::saturated);
    Ok(Ramp { server: server.into(), request: request.into(), steps, saturation_per_s, saturated })
}

struct Outcome {
    ok: bool,
    latency: Duration,
    lag: Duration,
    done: Instant,
}

/// Sends `reqs` at `rate` per second, each at its own scheduled time, and waits for every answer.
pub async fn run_step(client: &Client, base: &str, rate: u64, reqs: Vec<Req>) -> Step {
    let sent = reqs.len();
    let gap = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let limit = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let start = Instant::now() + Duration::from_millis(20);
    let mut tasks = JoinSet::new();
    for (i, req) in reqs.into_iter().enumerate() {
        let at = start + gap.mul_f64(i as f64);
        if at > Instant::now() {
            // Pacing the generator to its schedule, not waiting for the server.
            tokio::time::sleep_until(at).await;
        }
        let (client, limit) = (client.clone(), limit.clone());
        let url = format!("{base}{}", req.path);
        tasks.spawn(async move { timed(&client, &url, req, at, &limit).await });
    }
    let mut outcomes = Vec::with_capacity(sent);
    while let Some(joined) = tasks.join_next().await {
        if let Ok(outcome) = joined {
            outcomes.push(outcome);
        }
    }
    summarize(rate, sent, start, &outcomes)
}

async fn timed(client: &Client, url: &str, req: Req, at: Instant, limit: &Semaphore) -> Outcome {
    let lag = Instant::now().saturating_duration_since(at);
    let expect = req.expect;
    let answer = tokio::time::timeout_at(at + ACK_DEADLINE, async {
        // The semaphore is never closed; the permit is held until the answer is read.
        let _permit = limit.acquire().await;
        signed::send(client, url, req).await
    })
    .await;
    let ok = match answer {
        Ok(Ok((status, body))) => status.is_success() && body.contains(expect),
        _ => false,
    };
    let done = Instant::now();
    Outcome { ok, latency: done.saturating_duration_since(at), lag, done }
}

fn summarize(rate: u64, sent: usize, start: Instant, outcomes: &[Outcome]) -> Step {
    let ok = outcomes.iter().filter(|o| o.ok).count();
    let mut latencies: Vec<Duration> = outcomes.iter().map(|o| o.latency).collect();
    latencies.sort_unstable();
    let mut lags: Vec<Duration> = outcomes.iter().map(|o| o.lag).collect();
    lags.sort_unstable();
    let end = outcomes.iter().map(|o| o.done).max().unwrap_or(start);
    // Each request owns 1/rate of the schedule; the step lasts at least that long.
    let nominal = sent as f64 / rate.max(1) as f64;
    let wall_s = end.saturating_duration_since(start).as_secs_f64().max(nominal);
    Step {
        offered_per_s: rate,
        sent,
        ok,
        errors: sent - ok,
        achieved_per_s: ok as f64 / wall_s,
        p50_ms: ms(percentile(&latencies, 50.0)),
        p99_ms: ms(percentile(&latencies, 99.0)),
        max_ms: ms(latencies.last().copied().unwrap_or_default()),
        send_lag_p99_ms: ms(percentile(&lags, 99.0)),
        wall_s,
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
