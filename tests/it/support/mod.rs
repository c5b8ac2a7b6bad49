//! Helpers shared by the integration tests.

pub mod bot;
pub mod browser;
pub mod chat;
pub mod db;
pub mod discord_api;
pub mod engine;
pub mod http;
pub mod paging_api;
pub mod slack_api;
pub mod tcp_proxy;
pub mod web;

use std::time::{Duration, Instant};

/// With `RUST_LOG` set, the bot's logs show in a failing test's output.
pub fn logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
    }
}

/// Polls `cond` until it holds or `within` passes; panics with `what` on timeout.
pub async fn eventually<F, Fut>(what: &str, within: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if cond().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await; // poll interval before the deadline
    }
}
