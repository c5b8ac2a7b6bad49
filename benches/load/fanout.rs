//! Fan-out: how long one status update takes to reach N subscriber channels through the outbox,
//! with the Slack double enforcing Slack's one message per second per channel (429 with
//! Retry-After beyond it); and a sustained run of updates, which the limit paces.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::Client;
use serde::Serialize;

use crate::bot::{Poll, Tocsin, millis};
use crate::load::ms;
use crate::report::{Report, Start};
use crate::slack_api::SlackApi;

/// Subscriber counts, each with an incident of its own.
const SIZES: [usize; 3] = [10, 100, 1000];
const SUSTAINED_SUBSCRIBERS: usize = 100;
const SUSTAINED_UPDATES: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct Fanout {
    pub subscribers: usize,
    /// The `update` command's own ack.
    pub ack_ms: f64,
    /// From sending the update until the first subscriber channel had it.
    pub first_ms: f64,
    /// Until the last subscriber channel had it.
    pub all_ms: f64,
    pub posts_per_s: f64,
    /// 429s the double served meanwhile.
    pub rate_limited: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sustained {
    pub subscribers: usize,
    pub updates: usize,
    /// From the first update until every channel had the last one.
    pub elapsed_s: f64,
    /// One post per second per channel: the last update lands (updates - 1) s after the first.
    pub ideal_s: f64,
    pub ratio_to_ideal: f64,
    /// Posts per second into each channel while the updates arrived (the ceiling is 1).
    pub mean_channel_rate_per_s: f64,
    pub slowest_channel_rate_per_s: f64,
    /// The shortest gap between two posts into one channel.
    pub min_gap_ms: f64,
    pub posts: usize,
    pub rate_limited: usize,
}

pub async fn run(client: &Client, report: &mut Report) -> anyhow::Result<()> {
    let max = SIZES[SIZES.len() - 1];
    let subs: Vec<String> = (1..=max).map(|i| format!("CSUB{i:04}")).collect();
    let names: Vec<String> = (1..=max).map(|i| format!("stakeholders-{i:04}")).collect();
    let mut channels = vec![("CGENERAL", "general"), ("CANNOUNCE", "announce")];
    channels.extend(subs.iter().map(String::as_str).zip(names.iter().map(String::as_str)));
    let slack = SlackApi::start(&channels, &["UALICE", "UBOB"]).await;
    slack.limit_posts_per_channel(1);
    let bot = Tocsin::start(&slack.base_url(), client).await?;
    let (idle_rss_mb, ready_ms) = (bot.server.rss_mb(), ms(bot.server.ready));

    for n in SIZES {
        let result = fan_out(client, &bot, &slack, &subs[..n]).await?;
        eprintln!(
            "  fan-out to {n}: first {:.0} ms, all {:.0} ms, {} 429s",
            result.first_ms, result.all_ms, result.rate_limited
        );
        report.fanout.push(result);
    }
    let result = sustained(client, &bot, &slack, &subs[..SUSTAINED_SUBSCRIBERS]).await?;
    eprintln!("  sustained: {:.2} s (ideal {:.0} s)", result.elapsed_s, result.ideal_s);
    report.sustained = Some(result);

    report.starts.push(Start {
        server: "tocsin".into(),
        phase: "fan-out".into(),
        ready_ms,
        idle_rss_mb,
        peak_rss_mb: bot.server.peak_mb(),
    });
    bot.stop().await;
    Ok(())
}

/// One update to an incident that `subs` follow.
async fn fan_out(
    client: &Client,
    bot: &Tocsin,
    slack: &SlackApi,
    subs: &[String],
) -> anyhow::Result<Fanout> {
    let n = subs.len();
    let label = prepare(client, bot, slack, &format!("Fanout {n}"), subs).await?;
    let limited = slack.rate_limited();
    let marker = format!("fanout-{n}-arrived");
    let sent = Instant::now();
    update(client, bot, &format!("{label} monitoring {marker}")).await?;
    let ack = sent.elapsed();
    arrived(slack, subs, &marker).await?;
    let landed: Vec<Instant> =
        subs.iter().filter_map(|c| slack.post_times(c).last().copied()).collect();
    let since = |t: Option<&Instant>| t.map_or(0.0, |t| ms(t.duration_since(sent)));
    let all_ms = since(landed.iter().max());
    Ok(Fanout {
        subscribers: n,
        ack_ms: ms(ack),
        first_ms: since(landed.iter().min()),
        all_ms,
        posts_per_s: n as f64 / (all_ms / 1000.0).max(1e-9),
        rate_limited: slack.rate_limited() - limited,
    })
}

/// Several updates in a row to an incident that `subs` follow.
async fn sustained(
    client: &Client,
    bot: &Tocsin,
    slack: &SlackApi,
    subs: &[String],
) -> anyhow::Result<Sustained> {
    let label = prepare(client, bot, slack, "Sustained", subs).await?;
    let limited = slack.rate_limited();
    let before: Vec<usize> = subs.iter().map(|c| slack.post_times(c).len()).collect();
    let sent = Instant::now();
    for i in 1..=SUSTAINED_UPDATES {
        update(client, bot, &format!("{label} monitoring sustained-{i}")).await?;
    }
    arrived(slack, subs, &format!("sustained-{SUSTAINED_UPDATES}")).await?;

    let (mut rates, mut min_gap, mut last, mut posts) = (Vec::new(), Duration::MAX, sent, 0);
    for (channel, skip) in subs.iter().zip(before) {
        let times = slack.post_times(channel);
        let new = &times[skip.min(times.len())..];
        posts += new.len();
        for pair in new.windows(2) {
            min_gap = min_gap.min(pair[1].duration_since(pair[0]));
        }
        if let (Some(first), Some(end)) = (new.first(), new.last()) {
            last = last.max(*end);
            let span = end.duration_since(*first).as_secs_f64();
            if new.len() > 1 && span > 0.0 {
                rates.push((new.len() - 1) as f64 / span);
            }
        }
    }
    let elapsed_s = last.duration_since(sent).as_secs_f64();
    let ideal_s = (SUSTAINED_UPDATES - 1) as f64;
    Ok(Sustained {
        subscribers: subs.len(),
        updates: SUSTAINED_UPDATES,
        elapsed_s,
        ideal_s,
        ratio_to_ideal: elapsed_s / ideal_s,
        mean_channel_rate_per_s: rates.iter().sum::<f64>() / rates.len().max(1) as f64,
        slowest_channel_rate_per_s: rates.iter().copied().reduce(f64::min).unwrap_or(0.0),
        min_gap_ms: if min_gap == Duration::MAX { 0.0 } else { ms(min_gap) },
        posts,
        rate_limited: slack.rate_limited() - limited,
    })
}

/// `/incident update <args>` from #general by the incident's commander.
async fn update(client: &Client, bot: &Tocsin, args: &str) -> anyhow::Result<()> {
    let reply = bot.ask(client, "UALICE", "CGENERAL", &format!("update {args}")).await?;
    if !reply.starts_with("Posted") {
        anyhow::bail!("update {args}: {reply}");
    }
    Ok(())
}

/// Declares an incident and subscribes `subs` to it; then waits until the outbox is idle and
/// no channel involved had a post in the last second, so that the limit does not hold back the
/// first post being measured. Returns the incident's label.
async fn prepare(
    client: &Client,
    bot: &Tocsin,
    slack: &SlackApi,
    title: &str,
    subs: &[String],
) -> anyhow::Result<String> {
    let (id, channel) = bot.declare(client, title).await?;
    let label = id.label();
    let subscribe = format!("subscribe {label}");
    let command = subscribe.as_str();
    let replies: Vec<anyhow::Result<String>> = futures_util::stream::iter(subs)
        .map(|sub| bot.ask(client, "USTAKE", sub, command))
        .buffer_unordered(16)
        .collect()
        .await;
    for reply in replies {
        let reply = reply?;
        if !reply.contains("now follows") {
            anyhow::bail!("{command}: {reply}");
        }
    }
    bot.drained(Duration::from_secs(300)).await?;
    let mut involved = vec![channel, "CANNOUNCE".to_string()];
    involved.extend_from_slice(subs);
    let poll = Poll::new("a quiet second in the channels", Duration::from_secs(30), millis(50));
    let second = Duration::from_millis(1100);
    while involved.iter().any(|c| slack.post_times(c).last().is_some_and(|t| t.elapsed() < second))
    {
        poll.tick().await?;
    }
    Ok(label)
}

/// Waits until every channel in `subs` has a post containing `marker`.
async fn arrived(slack: &SlackApi, subs: &[String], marker: &str) -> anyhow::Result<()> {
    let what = format!("\"{marker}\" to reach {} channels", subs.len());
    let poll = Poll::new(&what, Duration::from_secs(300), millis(10));
    let mut waiting: Vec<&String> = subs.iter().collect();
    loop {
        waiting.retain(|c| !slack.texts(c).iter().any(|t| t.contains(marker)));
        if waiting.is_empty() {
            return Ok(());
        }
        poll.tick().await?;
    }
}
