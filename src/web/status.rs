//! The public status page, `/status`, with `/status.json` and an Atom feed:
//! served without a session, and only when `[status_page]` is configured.
//! It is drawn only from what responders published — public messages and
//! component impacts — never from titles, internal updates or private
//! incidents. Resolving an incident ends its impact and moves it to the
//! history, which keeps 90 days.

use std::sync::Arc;
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::Mutex;

use super::{WebState, harden, page};
use crate::config::StatusPageConfig;
use crate::incident::public::Impact;
use crate::incident::{Incident, Status};

/// How far back the history goes.
const HISTORY_DAYS: i64 = 90;
/// The page is drawn at most this often, however often it is asked for.
const FRESH_FOR: Duration = Duration::from_secs(2);

/// An incident as the public sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PublicIncident {
    /// When it was first published (to the millisecond), unrelated to the
    /// internal number.
    pub id: String,
    pub name: String,
    pub status: &'static str,
    pub impact: Impact,
    pub components: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Newest first.
    pub updates: Vec<PublicUpdate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicUpdate {
    pub status: &'static str,
    pub body: String,
    pub at: DateTime<Utc>,
}

/// The whole page, as data.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub title: String,
    pub updated_at: DateTime<Utc>,
    pub status: Overall,
    pub components: Vec<ComponentState>,
    pub incidents: Vec<PublicIncident>,
    pub history: Vec<PublicIncident>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Overall {
    /// `none`, `minor`, `major` or `critical`, as status pages say it.
    pub indicator: &'static str,
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentState {
    pub name: String,
    pub status: Impact,
}

/// The last summary drawn, and when.
#[derive(Default)]
pub struct Cache(Mutex<Option<(Instant, Arc<Summary>)>>);

/// What the page shows of these incidents at `now`.
pub fn summarize(config: &StatusPageConfig, incidents: &[Incident], now: DateTime<Utc>) -> Summary {
    let horizon = now - chrono::Duration::days(HISTORY_DAYS);
    let mut active = Vec::new();
    let mut history = Vec::new();
    let mut components: Vec<ComponentState> = config
        .components
        .iter()
        .map(|c| ComponentState { name: c.clone(), status: Impact::Operational })
        .collect();
    let mut shown_ids: Vec<String> = Vec::new();
    let mut published: Vec<&Incident> =
        incidents.iter().filter(|i| !i.private && !i.public.is_empty()).collect();
    published.sort_by_key(|i| (i.public.since(), i.id));
    for inc in published {
        let mut shown = public(inc);
        // Two incidents published in the same millisecond: the later gets `-2`.
        let base = shown.id.clone();
        let mut n = 1;
        while shown_ids.contains(&shown.id) {
            n += 1;
            shown.id = format!("{base}-{n}");
        }
        shown_ids.push(shown.id.clone());
        if inc.status.is_open() {
            for (name, impact) in inc.public.current() {
                if let Some(c) = components.iter_mut().find(|c| c.name == name) {
                    c.status = c.status.max(impact);
                }
            }
            active.push(shown);
        } else if shown.resolved_at.is_some_and(|r| r >= horizon) {
            history.push(shown);
        }
    }
    active.sort_by_key(|i| std::cmp::Reverse(i.started_at));
    history.sort_by_key(|i| std::cmp::Reverse(i.resolved_at));
    let worst = components.iter().map(|c| c.status).max().unwrap_or(Impact::Operational);
    let status = match (worst, active.is_empty()) {
        (Impact::Operational, true) => {
            Overall { indicator: "none", description: "All systems operational".into() }
        }
        (Impact::Operational, false) => Overall {
            indicator: "minor",
            description: "All systems operational; see the notices below".into(),
        },
        (Impact::Degraded, _) => {
            Overall { indicator: "minor", description: "Some systems are degraded".into() }
        }
        (Impact::PartialOutage, _) => {
            Overall { indicator: "major", description: "Partial outage".into() }
        }
        (Impact::MajorOutage, _) => {
            Overall { indicator: "critical", description: "Major outage".into() }
        }
    };
    let updated_at = active
        .iter()
        .chain(&history)
        .flat_map(|i| i.updates.iter().map(|u| u.at).chain(i.resolved_at).chain([i.started_at]))
        .max()
        .unwrap_or(now);
    Summary {
        title: config.title.clone(),
        updated_at,
        status,
        components,
        incidents: active,
        history,
    }
}

/// One incident's public face: its published messages and impacts only.
fn public(inc: &Incident) -> PublicIncident {
    let started_at = inc.public.since().unwrap_or(inc.declared_at);
    let resolved_at = if inc.status.is_open() { None } else { inc.resolved_at.or(inc.closed_at) };
    // While open, how things stand now; afterwards, the worst each
    // component got.
    let mut affected: Vec<(String, Impact)> = Vec::new();
    if resolved_at.is_none() {
        affected.extend(inc.public.current().into_iter().map(|(c, i)| (c.to_string(), i)));
    } else {
        for c in &inc.public.impacts {
            match affected.iter_mut().find(|(name, _)| *name == c.component) {
                Some(slot) => slot.1 = slot.1.max(c.impact),
                None => affected.push((c.component.clone(), c.impact)),
            }
        }
    }
    affected.retain(|(_, i)| *i != Impact::Operational);
    let impact = affected.iter().map(|(_, i)| *i).max().unwrap_or(Impact::Operational);
    let names: Vec<String> = affected.into_iter().map(|(c, _)| c).collect();
    let status = match (resolved_at, inc.public.posts.last()) {
        (Some(_), _) => "resolved",
        (None, Some(p)) => p.status.as_str(),
        (None, None) => Status::Investigating.as_str(),
    };
    let name = match impact {
        Impact::Operational => "Service notice".to_string(),
        i => format!("{}: {}", i.label(), names.join(", ")),
    };
    PublicIncident {
        id: started_at.format("%Y%m%d%H%M%S%3f").to_string(),
        name,
        status,
        impact,
        components: names,
        started_at,
        resolved_at,
        updates: inc
            .public
            .posts
            .iter()
            .rev()
            .map(|p| PublicUpdate { status: p.status.as_str(), body: p.message.clone(), at: p.at })
            .collect(),
    }
}

impl WebState {
    /// The summary, drawn again when the last one is older than [`FRESH_FOR`];
    /// `None` when there is no status page.
    async fn summary(&self) -> Result<Option<Arc<Summary>>, Response> {
        let Some(config) = &self.status_page else { return Ok(None) };
        let mut cached = self.status_cache.0.lock().await;
        if let Some((at, s)) = cached.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return Ok(Some(s.clone()));
        }
        let incidents = self.app.store.incidents(true).await.map_err(super::pages::unavailable)?;
        let s = Arc::new(summarize(config, &incidents, self.app.now()));
        *cached = Some((Instant::now(), s.clone()));
        Ok(Some(s))
    }
}

fn not_found() -> Response {
    harden((StatusCode::NOT_FOUND, "Not found\n").into_response())
}

/// Public, and fine to cache for a little while.
fn public_cache(mut r: Response) -> Response {
    if r.status().is_success() {
        let cache = HeaderValue::from_static("public, max-age=10");
        r.headers_mut().insert(header::CACHE_CONTROL, cache);
    }
    harden(r)
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    s: &'a Summary,
}

#[derive(Template)]
#[template(path = "feed.xml")]
struct Feed<'a> {
    s: &'a Summary,
    base: &'a str,
    entries: Vec<(&'a PublicIncident, usize, &'a PublicUpdate)>,
}

pub async fn html(State(s): State<Arc<WebState>>) -> Response {
    match s.summary().await {
        Ok(Some(summary)) => public_cache(page(StatusPage { s: &summary }.render())),
        Ok(None) => not_found(),
        Err(r) => r,
    }
}

pub async fn json(State(s): State<Arc<WebState>>) -> Response {
    match s.summary().await {
        Ok(Some(summary)) => public_cache(axum::Json(&*summary).into_response()),
        Ok(None) => not_found(),
        Err(r) => r,
    }
}

pub async fn atom(State(s): State<Arc<WebState>>) -> Response {
    let summary = match s.summary().await {
        Ok(Some(summary)) => summary,
        Ok(None) => return not_found(),
        Err(r) => return r,
    };
    let mut entries: Vec<_> = summary
        .incidents
        .iter()
        .chain(&summary.history)
        .flat_map(|i| {
            let n = i.updates.len();
            i.updates.iter().enumerate().map(move |(k, u)| (i, n - k, u))
        })
        .collect();
    entries.sort_by_key(|(_, _, u)| std::cmp::Reverse(u.at));
    entries.truncate(50);
    let feed = Feed { s: &summary, base: s.app.web_base(), entries };
    match feed.render() {
        Ok(xml) => {
            let mut r = xml.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/atom+xml; charset=utf-8"),
            );
            public_cache(r)
        }
        Err(e) => {
            tracing::error!(error = %e, "the status feed did not render");
            harden(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}
