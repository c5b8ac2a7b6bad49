//! tocsin's load harness: `cargo bench --bench load` (or `cargo bench --bench load -- --quick`
//! for a short smoke run). It starts `tocsin serve` (release build) against the local Slack
//! double with a SQLite file, measures ack latency at rising rates, flag ingestion, fan-out,
//! postmortem rendering, memory and start-up, runs a Bolt for Python baseline on the same
//! machine in the same run, and writes a Markdown report to stdout and
//! `target/bench/report.json`. benches/README.md explains each number.

#[allow(dead_code)]
#[path = "../../tests/it/support/slack_api.rs"]
mod slack_api;

#[allow(dead_code, unused_macros, unused_imports)]
#[path = "../../tests/it/support/db.rs"]
mod db;

mod bolt;
mod bot;
mod commands;
mod cost;
mod fanout;
mod flags;
mod load;
mod metrics;
mod postmortem;
mod process;
mod report;
mod signed;

use std::process::ExitCode;

use load::Plan;
use report::{Machine, Report};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this without it.
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("the load harness runs under `cargo bench --bench load`; nothing to do here");
        return ExitCode::SUCCESS;
    }
    let plan = if args.iter().any(|a| a == "--quick") { Plan::quick() } else { Plan::full() };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // `-- --only commands,flags` runs some phases (commands, bolt, flags, flags-pg, fanout,
    // metrics, postmortem, cost); flags-pg needs TOCSIN_TEST_POSTGRES_URL. `cost` runs only
    // when named, as it needs valgrind.
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').map(str::to_string).collect());
    match runtime.block_on(run(plan, only)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(plan: Plan, only: Option<Vec<String>>) -> anyhow::Result<()> {
    let on = |phase: &str| only.as_ref().is_none_or(|o| o.iter().any(|p| p == phase));
    let named = |phase: &str| only.as_ref().is_some_and(|o| o.iter().any(|p| p == phase));
    let machine = Machine::read();
    eprintln!("{} x {}, Linux {}", machine.nproc, machine.cpu, machine.kernel);
    let client = load::client()?;
    let mut report = Report::new(machine, &plan);

    if on("commands") {
        eprintln!("signed commands against tocsin");
        if let Err(e) = commands::run(&plan, &client, &mut report).await {
            report.failed("commands", &e);
        }
    }
    if on("bolt") {
        eprintln!("the same command against the Bolt baseline");
        if let Err(e) = bolt::run(&plan, &client, &mut report).await {
            report.failed("bolt baseline", &e);
        }
    }
    if on("flags") {
        eprintln!("timeline flags");
        if let Err(e) = flags::run(&plan, &client, &mut report).await {
            report.failed("flags", &e);
        }
    }
    if on("flags-pg") {
        eprintln!("timeline flags on PostgreSQL");
        if let Err(e) = flags::run_postgres(&plan, &client, &mut report).await {
            report.failed("flags on PostgreSQL", &e);
        }
    }
    if on("fanout") {
        eprintln!("fan-out");
        if let Err(e) = fanout::run(&client, &mut report).await {
            report.failed("fan-out", &e);
        }
    }
    if on("metrics") {
        eprintln!("/metrics over a million delivered rows");
        match metrics::run(&client).await {
            Ok(scrapes) => report.metrics = Some(scrapes),
            Err(e) => report.failed("metrics", &e),
        }
    }
    if on("postmortem") {
        eprintln!("postmortem render");
        match postmortem::run() {
            Ok(renders) => report.postmortem = renders,
            Err(e) => report.failed("postmortem", &e),
        }
    }

    if named("cost") {
        eprintln!("instructions per flag, under callgrind");
        match cost::run(&client).await {
            Ok(cost) => report.cost = Some(cost),
            Err(e) => report.failed("cost", &e),
        }
    }

    report.check_targets();
    println!("{}", report.markdown());
    let dir = process::bench_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    eprintln!("wrote {}", path.display());
    if !report.failures.is_empty() {
        anyhow::bail!("{} phase(s) failed; see the report", report.failures.len());
    }
    Ok(())
}
