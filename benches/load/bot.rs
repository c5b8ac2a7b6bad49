//! `tocsin serve`, the release build, with a fresh database (a SQLite file, or a PostgreSQL
//! database on the server `TOCSIN_TEST_POSTGRES_URL` names) and the Slack double, plus the few
//! things the harness asks of it: declare an incident, wait for the outbox to drain.
//! `TOCSIN_BENCH_BIN` runs another build of tocsin instead (a baseline, for before and after).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Client;
use tocsin::incident::{IncidentId, Platform};
use tocsin::store::Store;

use anyhow::Context;

use crate::db::TestDb;
use crate::process::{Probe, Server, free_port, scratch};
use crate::signed::{self, SECRET};

/// Polls a condition: every `every` until `within` has passed.
pub struct Poll {
    what: String,
    deadline: Instant,
    every: Duration,
}

impl Poll {
    pub fn new(what: &str, within: Duration, every: Duration) -> Self {
        Self { what: what.into(), deadline: Instant::now() + within, every }
    }

    /// Waits until the next look, or fails once the deadline has passed.
    pub async fn tick(&self) -> anyhow::Result<()> {
        if Instant::now() >= self.deadline {
            anyhow::bail!("timed out waiting for {}", self.what);
        }
        tokio::time::sleep(self.every).await; // the poll interval
        Ok(())
    }
}

/// The database the server writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct Tocsin {
    /// The harness's own connection to the database the server writes.
    pub store: Arc<dyn Store>,
    pub db_url: String,
    pub base: String,
    pub server: Server,
    /// A PostgreSQL database of its own, dropped with it.
    _pg: Option<TestDb>,
}

impl Tocsin {
    /// On a new SQLite file.
    pub async fn start(slack_api: &str, client: &Client) -> anyhow::Result<Self> {
        Self::start_on(slack_api, client, Db::Sqlite).await
    }

    /// Writes a bot.toml for a free port, a new database and the double at `slack_api` (its
    /// `/api` base URL), and starts `tocsin serve` with `RUST_LOG=warn`.
    pub async fn start_on(slack_api: &str, client: &Client, db: Db) -> anyhow::Result<Self> {
        Self::start_under(slack_api, client, db, &[]).await
    }

    /// As `start_on`, with `tocsin` run by the command `wrapper` (e.g. valgrind and its
    /// arguments); none runs it directly.
    pub async fn start_under(
        slack_api: &str,
        client: &Client,
        db: Db,
        wrapper: &[String],
    ) -> anyhow::Result<Self> {
        let dir = scratch("tocsin-")?;
        let port = free_port()?;
        let (db_url, pg) = match db {
            Db::Sqlite => (format!("sqlite://{}", dir.path().join("tocsin.db").display()), None),
            Db::Postgres => {
                let pg = TestDb::postgres()
                    .await
                    .context("the PostgreSQL phase needs TOCSIN_TEST_POSTGRES_URL")?;
                (pg.url.clone(), Some(pg))
            }
        };
        let config = dir.path().join("bot.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\nlisten = \"127.0.0.1:{port}\"\n\n[database]\nurl = \"{db_url}\"\n\n\
                 [slack]\nbot_token = \"xoxb-bench\"\nsigning_secret = \"{SECRET}\"\n\
                 api_base_url = \"{slack_api}\"\nannounce_channel = \"CANNOUNCE\"\n"
            ),
        )?;
        let bin = std::env::var_os("TOCSIN_BENCH_BIN")
            .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tocsin")), PathBuf::from);
        let mut cmd = match wrapper.split_first() {
            None => Command::new(bin),
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(bin);
                cmd
            }
        };
        // TOCSIN_BENCH_LOG (e.g. "sqlx=debug") shows more of the server's log in its stderr.log.
        let log = std::env::var("TOCSIN_BENCH_LOG").unwrap_or_else(|_| "warn".into());
        cmd.arg("serve").arg("--config").arg(config).env("RUST_LOG", log);
        let server = Server::spawn(cmd, port, dir, Probe::Healthz, client).await?;
        let store = tocsin::store::connect(&db_url).await?;
        Ok(Self { store, base: server.base(), server, db_url, _pg: pg })
    }

    /// `/incident <text>` from Slack; the ephemeral reply.
    pub async fn ask(
        &self,
        client: &Client,
        user: &str,
        channel: &str,
        text: &str,
    ) -> anyhow::Result<String> {
        signed::ask(client, &self.base, user, channel, text).await
    }

    /// Declares an incident from #general as UALICE; its id and its channel's id, once the
    /// outbox has opened the channel.
    pub async fn declare(
        &self,
        client: &Client,
        title: &str,
    ) -> anyhow::Result<(IncidentId, String)> {
        let reply =
            self.ask(client, "UALICE", "CGENERAL", &format!("declare SEV2 {title}")).await?;
        let Some(id) = reply.split_whitespace().find_map(IncidentId::parse) else {
            anyhow::bail!("declare {title}: unexpected reply: {reply}");
        };
        let poll = Poll::new("the incident channel to open", Duration::from_secs(30), millis(5));
        loop {
            if let Some((channel, _)) = self.store.channel(id, Platform::Slack).await? {
                return Ok((id, channel));
            }
            poll.tick().await?;
        }
    }

    /// Waits until the outbox has nothing left to deliver.
    pub async fn drained(&self, within: Duration) -> anyhow::Result<()> {
        let poll = Poll::new("the outbox to drain", within, millis(20));
        while self.store.outbox_stats().await?.pending > 0 {
            poll.tick().await?;
        }
        Ok(())
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }

    /// SIGTERM, then up to `within` for the server to exit; whether it did.
    pub async fn stop_within(self, within: Duration) -> bool {
        self.server.stop_within(within).await
    }
}

pub fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}
