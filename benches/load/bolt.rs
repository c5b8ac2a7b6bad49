//! The baseline peer: the minimal Slack Bolt for Python app in `benches/bolt`, installed from
//! PyPI into the harness's own virtualenv (`target/bench/venv`), served by gunicorn with the
//! worker count gunicorn recommends, and offered the same signed command at the same rates.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use reqwest::Client;

use crate::load::{self, Plan};
use crate::process::{Probe, Server, bench_dir, free_port, scratch};
use crate::report::{Report, Start};
use crate::signed::{self, SECRET};

fn app_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches").join("bolt")
}

pub async fn run(plan: &Plan, client: &Client, report: &mut Report) -> anyhow::Result<()> {
    let venv = bench_dir().join("venv");
    let installed = venv.clone();
    tokio::task::spawn_blocking(move || install(&installed)).await??;

    let port = free_port()?;
    // gunicorn's documented starting point: (2 x cores) + 1 sync workers.
    let workers = (2 * report.machine.nproc + 1).to_string();
    let bind = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(venv.join("bin").join("gunicorn"));
    cmd.arg("--chdir")
        .arg(app_dir())
        .args(["--workers", workers.as_str(), "--bind", bind.as_str()])
        .args(["--log-level", "warning", "app:api"])
        .env("SLACK_SIGNING_SECRET", SECRET)
        // Keep the source folder free of __pycache__.
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let server = Server::spawn(cmd, port, scratch("bolt-")?, Probe::AnyAnswer, client).await?;
    let idle_rss_mb = server.rss_mb();
    let ready_ms = load::ms(server.ready);
    eprintln!("bolt ({workers} gunicorn workers) ready in {ready_ms:.0} ms, {idle_rss_mb:.1} MB");

    let ramp =
        load::ramp(client, &server.base(), plan, "bolt", "status (ephemeral ack)", |_, n| {
            (0..n).map(|_| signed::command("UBOB", "CGENERAL", "status", "ephemeral")).collect()
        })
        .await;
    report.starts.push(Start {
        server: format!("bolt (gunicorn, {workers} workers)"),
        phase: "commands".into(),
        ready_ms,
        idle_rss_mb,
        peak_rss_mb: server.peak_mb(),
    });
    server.stop().await;
    report.ramps.push(ramp?);
    Ok(())
}

/// Creates the virtualenv and installs `requirements.txt` when it is missing or changed.
fn install(venv: &Path) -> anyhow::Result<()> {
    let requirements = app_dir().join("requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let stamp = venv.join("installed-requirements.txt");
    let python = venv.join("bin").join("python");
    let current = std::fs::read_to_string(&stamp).ok();
    if python.exists() && current.as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    if !python.exists() {
        eprintln!("creating {} (python3 -m venv)", venv.display());
        run_checked(Command::new("python3").arg("-m").arg("venv").arg(venv))?;
    }
    eprintln!("installing {} from PyPI", requirements.display());
    run_checked(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements),
    )?;
    std::fs::write(&stamp, wanted)?;
    Ok(())
}

/// Runs a setup command, its output on stderr (stdout is the report's).
fn run_checked(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.stdout(std::io::stderr()).status().with_context(|| format!("{cmd:?}"))?;
    if !status.success() {
        anyhow::bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}
