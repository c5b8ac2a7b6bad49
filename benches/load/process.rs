//! Servers under test run as child processes: how long each takes to answer after it is
//! spawned, its resident memory from /proc, and a graceful stop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::Client;
use tempfile::TempDir;

/// When a spawned server counts as ready.
#[derive(Clone, Copy)]
pub enum Probe {
    /// `GET /healthz` answers 200.
    Healthz,
    /// Any HTTP answer at all on `/`.
    AnyAnswer,
}

/// A running child process, killed and reaped when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    /// From spawn to the first good answer to the probe.
    pub ready: Duration,
    dir: TempDir,
}

/// The folder the harness writes to: `target/bench` (or under `CARGO_TARGET_DIR`).
pub fn bench_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench")
}

/// A scratch folder on the same disk as the project (not a tmpfs), removed when dropped.
pub fn scratch(prefix: &str) -> anyhow::Result<TempDir> {
    let root = bench_dir();
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    tempfile::Builder::new().prefix(prefix).tempdir_in(root).context("creating a scratch folder")
}

pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl Server {
    /// Spawns `cmd` (output to files in `dir`) and polls the probe every millisecond until it
    /// passes, the process exits, or a minute goes by.
    pub async fn spawn(
        mut cmd: Command,
        port: u16,
        dir: TempDir,
        probe: Probe,
        client: &Client,
    ) -> anyhow::Result<Self> {
        let stdout = std::fs::File::create(dir.path().join("stdout.log"))?;
        let stderr = std::fs::File::create(dir.path().join("stderr.log"))?;
        cmd.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        let started = Instant::now();
        let child = cmd.spawn().with_context(|| format!("spawning {cmd:?}"))?;
        let mut server = Server { child, port, ready: Duration::ZERO, dir };
        let path = match probe {
            Probe::Healthz => "/healthz",
            Probe::AnyAnswer => "/",
        };
        let url = format!("{}{path}", server.base());
        let deadline = started + Duration::from_secs(60);
        loop {
            if let Some(status) = server.child.try_wait()? {
                anyhow::bail!(
                    "{cmd:?} exited with {status} before it was ready:\n{}",
                    server.log()
                );
            }
            let answer = client.get(&url).timeout(Duration::from_millis(500)).send().await;
            let ready = match (probe, answer) {
                (Probe::Healthz, Ok(r)) => r.status().is_success(),
                (Probe::AnyAnswer, Ok(_)) => true,
                (_, Err(_)) => false,
            };
            if ready {
                server.ready = started.elapsed();
                return Ok(server);
            }
            if Instant::now() > deadline {
                anyhow::bail!("{cmd:?} did not answer {url} within a minute:\n{}", server.log());
            }
            tokio::time::sleep(Duration::from_millis(1)).await; // the probe's poll interval
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Resident memory now, in MB (10^6 bytes), of the process and its children.
    pub fn rss_mb(&self) -> f64 {
        mb(tree_kib(self.child.id(), "VmRSS:"))
    }

    /// Peak resident memory so far, in MB, of the process and its children (summed).
    pub fn peak_mb(&self) -> f64 {
        mb(tree_kib(self.child.id(), "VmHWM:"))
    }

    /// The end of the server's stderr, for error messages.
    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir().join("stderr.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// SIGTERM, then up to ten seconds to exit (then SIGKILL, when dropped).
    pub async fn stop(self) {
        self.stop_within(Duration::from_secs(10)).await;
    }

    /// SIGTERM, then up to `within` to exit (then SIGKILL, when dropped); whether it exited.
    pub async fn stop_within(mut self, within: Duration) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", pid.as_str()]).status();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await; // polling for the exit
        }
        eprintln!("  pid {pid} did not stop within {within:?} of SIGTERM; killing it");
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("TOCSIN_BENCH_LOG").is_some() {
            let log = self.dir().with_extension("stderr.log");
            if std::fs::copy(self.dir().join("stderr.log"), &log).is_ok() {
                eprintln!("  server log kept in {}", log.display());
            }
        }
    }
}

fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

/// A `/proc/<pid>/status` field (in kB) summed over the process and its descendants.
fn tree_kib(pid: u32, field: &str) -> u64 {
    let own = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find_map(|l| l.strip_prefix(field))?;
            line.trim().trim_end_matches("kB").trim().parse::<u64>().ok()
        })
        .unwrap_or(0);
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|c| c.parse::<u32>().ok())
        .map(|c| tree_kib(c, field))
        .sum::<u64>();
    own + children
}
