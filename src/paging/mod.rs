//! Pages out and webhooks: the outbox's [`Notifier`] for PagerDuty (Events
//! API v2), Opsgenie (Alert API) and the configured `[[webhooks]]`. The
//! outbox makes them durable, ordered and retried; each page has a stable
//! key per (incident, team), so a repeated delivery changes nothing at the
//! service, and each webhook call carries its delivery id.

mod hooks;
mod services;

use std::time::Duration;

use async_trait::async_trait;

use crate::config::{Config, PagingConfig, TeamConfig, WebhookConfig};
use crate::outbox::{ChatError, Delivery, Notifier};
use crate::store::Sink;

pub use hooks::{SIGNATURE, sign};

pub struct Paging {
    http: reqwest::Client,
    services: PagingConfig,
    teams: Vec<TeamConfig>,
    hooks: Vec<WebhookConfig>,
}

impl Paging {
    /// `None` when no team can be paged and no webhook is configured.
    pub fn new(config: &Config) -> Option<Self> {
        let pageable = config
            .teams
            .iter()
            .any(|t| t.pagerduty_routing_key.is_some() || t.opsgenie_api_key.is_some());
        if !pageable && config.webhooks.is_empty() {
            return None;
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("tocsin/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .expect("the HTTP client builds");
        Some(Self {
            http,
            services: config.paging.clone(),
            teams: config.teams.clone(),
            hooks: config.webhooks.clone(),
        })
    }
}

#[async_trait]
impl Notifier for Paging {
    fn sinks(&self) -> Vec<Sink> {
        let mut sinks = vec![Sink::Pager];
        sinks.extend((0..self.hooks.len()).map(|n| Sink::Hook(n as u16)));
        sinks
    }

    async fn send(&self, sink: Sink, row: i64, delivery: &Delivery) -> Result<(), ChatError> {
        match (sink, delivery) {
            (Sink::Pager, Delivery::Page(page)) => {
                let Some(team) = self.teams.iter().find(|t| t.name == page.team) else {
                    return Err(ChatError::Rejected(format!("no team {} any more", page.team)));
                };
                if let Some(key) = &team.pagerduty_routing_key {
                    services::pagerduty(&self.http, &self.services.pagerduty_events_url, key, page)
                        .await?;
                }
                if let Some(key) = &team.opsgenie_api_key {
                    services::opsgenie(&self.http, &self.services.opsgenie_api_url, key, page)
                        .await?;
                }
                Ok(())
            }
            (Sink::Hook(n), Delivery::Hook { event, body }) => match self.hooks.get(usize::from(n))
            {
                Some(hook) => hooks::call(&self.http, hook, row, event, body).await,
                None => Err(ChatError::Rejected(format!("webhook {n} is no longer configured"))),
            },
            (sink, d) => Err(ChatError::Rejected(format!("{} is not for {sink}", d.kind()))),
        }
    }
}

/// How an HTTP answer sorts for retrying: 2xx done, 429 and 5xx (and
/// network trouble) later, 401/403 an operator's fix, anything else refused.
/// A 429 waits as long as `Retry-After` says, else the usual backoff.
pub(crate) async fn classify(resp: reqwest::Response, what: &str) -> Result<(), ChatError> {
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(3600)));
    let said: String = resp.text().await.unwrap_or_default().chars().take(200).collect();
    match status.as_u16() {
        200..=299 => Ok(()),
        429 => match retry_after {
            Some(after) => Err(ChatError::RateLimited(after)),
            None => Err(ChatError::Unavailable(format!("{what} answered {status}"))),
        },
        401 | 403 => Err(ChatError::Unauthorized(format!("{what} answered {status}: {said}"))),
        500..=599 => Err(ChatError::Unavailable(format!("{what} answered {status}"))),
        _ => Err(ChatError::Rejected(format!("{what} answered {status}: {said}"))),
    }
}

/// A transport error, without the URL (it may carry a key).
pub(crate) fn unreachable(what: &str, e: reqwest::Error) -> ChatError {
    ChatError::Unavailable(format!("{what}: {}", e.without_url()))
}
