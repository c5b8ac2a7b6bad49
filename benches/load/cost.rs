//! Instructions per flag: tocsin run under callgrind (valgrind), which counts the instructions
//! it executes in user space whatever else the machine is doing. Timings on shared machines
//! spread by ×2 from run to run; this count by up to 2.5% (the batches differ from run to
//! run), so two builds compare by it closely. Two runs, of `SMALL` and `LARGE` flags: their
//! difference over `LARGE - SMALL` is what one more flag costs, without start-up, the
//! declaration or the stop.
//! Flags go as in the ingestion phase, 64 in flight; under callgrind tocsin runs its threads
//! one at a time, so its batches need not be as large as in a timed run, and every flag
//! must still be acknowledged. What the kernel does for tocsin (sockets, fsync) is not
//! counted, nor the double's work; tocsin's idle chores (the outbox looks every half second
//! or so) are, for the few seconds the larger run takes longer.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use reqwest::Client;
use serde::Serialize;

use crate::bot::{Db, Poll, Tocsin, millis};
use crate::flags::{CONCURRENCY, active_flags, flags};
use crate::process::bench_dir;
use crate::signed;
use crate::slack_api::SlackApi;

const SMALL: usize = 500;
const LARGE: usize = 4_500;

#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    /// Instructions tocsin executed in all, in the run of `SMALL` flags and of `LARGE`.
    pub small: Run,
    pub large: Run,
    /// `(large - small) / (LARGE - SMALL)`.
    pub per_flag: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub flags: usize,
    pub instructions: u64,
    /// callgrind's output, for `callgrind_annotate`.
    pub profile: PathBuf,
}

pub async fn run(client: &Client) -> anyhow::Result<Cost> {
    let found = std::process::Command::new("valgrind").arg("--version").output();
    if !found.is_ok_and(|o| o.status.success()) {
        anyhow::bail!("the cost phase runs tocsin under valgrind, which is not installed");
    }
    let small = measure(client, SMALL).await?;
    let large = measure(client, LARGE).await?;
    if large.instructions <= small.instructions {
        anyhow::bail!(
            "{LARGE} flags cost {} instructions, {SMALL} cost {}: no cost per flag to give",
            large.instructions,
            small.instructions
        );
    }
    let per_flag = (large.instructions - small.instructions) as f64 / (LARGE - SMALL) as f64;
    eprintln!("  {per_flag:.0} instructions per flag");
    Ok(Cost { small, large, per_flag })
}

/// One run of tocsin under callgrind: declare, `n` flags, every one recorded, stop.
async fn measure(client: &Client, n: usize) -> anyhow::Result<Run> {
    let profile = bench_dir().join(format!("callgrind-{n}.out"));
    let _ = std::fs::remove_file(&profile);
    let wrapper = ["valgrind".to_string(), "--tool=callgrind".into(), "--quiet".into()]
        .into_iter()
        .chain([format!("--callgrind-out-file={}", profile.display())])
        .collect::<Vec<_>>();
    let slack = SlackApi::start(
        &[("CGENERAL", "general"), ("CANNOUNCE", "announce")],
        &["UALICE", "UBOB", "UCAROL"],
    )
    .await;
    let bot = Tocsin::start_under(&slack.base_url(), client, Db::Sqlite, &wrapper).await?;
    let (incident, channel) = bot.declare(client, "Cost").await?;
    bot.drained(Duration::from_secs(60)).await?;

    let started = Instant::now();
    let url = format!("{}/slack/events", bot.base);
    let reqs = flags(&slack, &channel, &format!("EvCost{n}x"), n);
    let failed = futures_util::stream::iter(reqs)
        .map(|req| signed::send(client, &url, req))
        .buffer_unordered(CONCURRENCY)
        .filter(|r| std::future::ready(!matches!(r, Ok((s, _)) if s.is_success())))
        .count()
        .await;
    if failed > 0 {
        anyhow::bail!("{failed} of {n} flags were not acknowledged:\n{}", bot.server.log());
    }
    let poll = Poll::new("the flags to be recorded", Duration::from_secs(120), millis(50));
    while active_flags(&bot.store, incident).await? < n {
        poll.tick().await?;
    }
    eprintln!("  {n} flags under callgrind in {:.1} s", started.elapsed().as_secs_f64());
    if !bot.stop_within(Duration::from_secs(120)).await {
        anyhow::bail!("tocsin did not exit, so callgrind wrote no totals");
    }
    let instructions = totals(&profile)?;
    Ok(Run { flags: n, instructions, profile })
}

/// The `totals:` (or `summary:`) line of a callgrind output file: instructions executed.
fn totals(profile: &Path) -> anyhow::Result<u64> {
    // Named by file alone: the report may be committed, and the folder is target/bench.
    let name = profile.file_name().unwrap_or_default().to_string_lossy();
    let text = std::fs::read_to_string(profile)
        .with_context(|| format!("reading callgrind's output {name}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no totals in {name}"))
}
