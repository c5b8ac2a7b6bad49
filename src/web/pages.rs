//! The pages people read: the incident list, an incident, its postmortem
//! draft (and downloads), the reports.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::session::{Viewer, viewer};
use super::views::{self, Choice, Chrome, IncidentPage, ListPage, ListRow, PostmortemPage};
use super::{WebState, harden, message, page};
use crate::app::App;
use crate::incident::public::Impact;
use crate::incident::{Incident, IncidentId, Platform};

impl WebState {
    /// The viewer of a page, or the answer for someone not signed in.
    pub(super) async fn reader(&self, uri: &Uri, headers: &HeaderMap) -> Result<Viewer, Response> {
        let path = uri.path_and_query().map_or("/incidents", |p| p.as_str());
        viewer(self, &Method::GET, path, headers).await
    }

    /// The incident named in the path, if the viewer may see it.
    pub(super) async fn visible(&self, id: &str, who: &Viewer) -> Result<Incident, Response> {
        let missing = || message(StatusCode::NOT_FOUND, "Not found", &format!("There is no {id}."));
        let Some(id) = IncidentId::parse(id) else { return Err(missing()) };
        match self.app.store.incident(id).await {
            Ok(Some(v)) if App::may_see(&v.value, &who.person) => Ok(v.value),
            Ok(_) => Err(missing()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The signed-in reader and incident `id`, when they may see it; else
    /// the answer to give instead (sign in, or not found).
    pub(super) async fn reader_of(
        &self,
        id: &str,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<(Viewer, Incident), Response> {
        let who = self.reader(uri, headers).await?;
        let inc = self.visible(id, &who).await?;
        Ok((who, inc))
    }

    /// The top of the page: who is signed in, and any platform failing.
    pub(super) async fn chrome(&self, who: &Viewer) -> Chrome {
        let now = self.outbox.now();
        let after = self.outbox.policy().degraded_after;
        let failing: Vec<_> = self
            .outbox
            .sinks()
            .into_iter()
            .filter(|s| s.platform().is_some())
            .filter_map(|s| self.outbox.counters.degraded(s, now, after).map(|streak| (s, streak)))
            .collect();
        let mut banner = Vec::new();
        if !failing.is_empty() {
            let backlog =
                self.app.store.outbox_stats().await.map(|s| s.by_sink).unwrap_or_default();
            for (sink, streak) in failing {
                let waiting = backlog.iter().find(|b| b.sink == sink).map_or(0, |b| b.pending);
                let name = sink.to_string();
                let name = format!("{}{}", name[..1].to_uppercase(), &name[1..]);
                banner.push(format!(
                    "{name} is failing (for {}: {}); {waiting} posts wait and will follow when it is back. The room here stays open.",
                    crate::postmortem::duration(now - streak.since),
                    streak.why
                ));
            }
        }
        Chrome { viewer: views::who(&who.person), csrf: who.csrf.clone(), banner }
    }
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "a web page could not read the database");
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Database unavailable",
        "tocsin cannot read its database right now; try again in a moment.",
    )
}

pub async fn list(
    State(s): State<Arc<WebState>>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let who = match s.reader(&uri, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let all = match s.app.store.incidents(true).await {
        Ok(all) => all,
        Err(e) => return unavailable(e),
    };
    let want = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let (status, severity, team) = (want("status"), want("severity"), want("team"));
    let now = s.app.now();
    let mut shown: Vec<&Incident> = all
        .iter()
        .filter(|i| App::may_see(i, &who.person))
        .filter(|i| status.is_none_or(|st| i.status.as_str() == st))
        .filter(|i| severity.is_none_or(|sev| i.severity == sev))
        .filter(|i| team.is_none_or(|t| i.teams.iter().any(|x| x == t)))
        .collect();
    // Open first, most severe first, newest first.
    shown.sort_by_key(|i| {
        (!i.status.is_open(), s.app.rules.rank(&i.severity), std::cmp::Reverse(i.id))
    });
    let rows = shown
        .iter()
        .map(|i| ListRow {
            id: i.id.label(),
            title: i.title.clone(),
            severity: i.severity.clone(),
            status: i.status.title().to_string(),
            open: i.status.is_open(),
            private: i.private,
            declared: views::day_and_clock(i.declared_at),
            elapsed: views::elapsed(i, now),
            commander: i.holder("commander").map_or_else(|| "vacant".into(), views::who),
            teams: i.teams.join(", "),
        })
        .collect();
    let choices = |values: Vec<String>, chosen: Option<&str>| {
        values
            .into_iter()
            .map(|v| Choice { chosen: Some(v.as_str()) == chosen, value: v })
            .collect()
    };
    let statuses = ["investigating", "identified", "monitoring", "resolved", "closed"]
        .map(String::from)
        .to_vec();
    let mut teams: Vec<String> = all.iter().flat_map(|i| i.teams.clone()).collect();
    teams.extend(s.app.team_names().iter().cloned());
    teams.sort();
    teams.dedup();
    let p = ListPage {
        chrome: s.chrome(&who).await,
        rows,
        statuses: choices(statuses, status),
        severities: choices(s.severities.clone(), severity),
        teams: choices(teams, team),
        filtered: status.is_some() || severity.is_some() || team.is_some(),
    };
    page(p.render())
}

pub async fn incident(
    State(s): State<Arc<WebState>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (who, inc) = match s.reader_of(&id, &uri, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match s.incident_page(&inc, &who, &q).await {
        Ok(p) => page(p.render()),
        Err(e) => unavailable(e),
    }
}

impl WebState {
    /// The incident's status page part, when it can have one.
    fn public_view(&self, inc: &Incident) -> Option<views::PublicView> {
        let config = self.status_page.as_ref().filter(|_| !inc.private)?;
        let current = inc.public.current();
        let components = config
            .components
            .iter()
            .map(|c| {
                let now =
                    current.iter().find(|(name, _)| name == c).map_or(Impact::Operational, |x| x.1);
                (c.clone(), now.label().to_string())
            })
            .collect();
        let posts = inc
            .public
            .posts
            .iter()
            .rev()
            .map(|p| views::UpdateView {
                time: views::clock(p.at),
                status: p.status.title().to_string(),
                message: p.message.clone(),
                by: views::who(&p.by),
            })
            .collect();
        Some(views::PublicView { components, posts })
    }

    async fn incident_page(
        &self,
        inc: &Incident,
        who: &Viewer,
        q: &HashMap<String, String>,
    ) -> Result<IncidentPage, crate::store::StoreError> {
        let store = &self.app.store;
        let now = self.app.now();
        let timeline = store.timeline(inc.id).await?;
        let room = store.room_latest(inc.id, 500).await?;
        let mut channels = Vec::new();
        for p in [Platform::Slack, Platform::Discord, Platform::Console] {
            if let Some((cid, name)) = store.channel(inc.id, p).await? {
                let url = match p {
                    Platform::Slack => {
                        Some(format!("https://slack.com/app_redirect?channel={cid}"))
                    }
                    Platform::Discord => self
                        .discord_guild
                        .as_ref()
                        .map(|g| format!("https://discord.com/channels/{g}/{cid}")),
                    _ => None,
                };
                channels.push(views::ChannelView { platform: p.to_string(), name, url });
            }
        }
        let rules = &self.app.rules;
        let roles = rules
            .roles
            .iter()
            .map(|r| {
                let holder = inc.holder(&r.key);
                views::RoleView {
                    name: r.name.clone(),
                    key: r.key.clone(),
                    holder: holder.map_or_else(|| "vacant".into(), views::who),
                    vacant: holder.is_none(),
                }
            })
            .collect();
        let mut people = vec![views::Person {
            value: format!("{}:{}", who.person.platform, who.person.id),
            name: format!("me ({})", views::who(&who.person)),
        }];
        for r in &inc.responders {
            if r.user != who.person && r.user.platform == inc.platform {
                people.push(views::Person {
                    value: format!("{}:{}", r.user.platform, r.user.id),
                    name: views::who(&r.user),
                });
            }
        }
        let acknowledged = match &inc.acknowledged {
            Some(a) => format!(
                "Acknowledged by {} at {} ({} in)",
                views::who(&a.by),
                views::clock(a.at),
                crate::postmortem::duration(a.at - inc.declared_at)
            ),
            None => "Not acknowledged yet".to_string(),
        };
        let signed = |said: &String| {
            let sig = q.get("sig").map_or("", String::as_str);
            bool::from(subtle::ConstantTimeEq::ct_eq(
                sig.as_bytes(),
                who.flash_sig(said).as_bytes(),
            ))
        };
        let flash = match (q.get("ok"), q.get("error")) {
            (Some(said), _) if signed(said) => Some((true, said.clone())),
            (None, Some(said)) if signed(said) => Some((false, said.clone())),
            _ => None,
        };
        Ok(IncidentPage {
            chrome: self.chrome(who).await,
            id: inc.id.label(),
            title: inc.title.clone(),
            severity: inc.severity.clone(),
            status: inc.status.title().to_string(),
            open: inc.status.is_open(),
            closed: inc.is_closed(),
            private: inc.private,
            declared: views::day_and_clock(inc.declared_at),
            elapsed: views::elapsed(inc, now),
            acknowledged,
            origin: inc
                .origin
                .as_ref()
                .map(|o| format!("opened by alert rule {} ({})", o.rule, o.source)),
            roles,
            responders: inc.responders.iter().map(|r| views::who(&r.user)).collect(),
            teams: inc.teams.join(", "),
            channels,
            updates: inc
                .updates
                .iter()
                .rev()
                .map(|u| views::UpdateView {
                    time: views::clock(u.at),
                    status: u.status.title().to_string(),
                    message: u.message.clone(),
                    by: views::who(&u.by),
                })
                .collect(),
            followups: inc
                .followups
                .iter()
                .map(|f| match &f.owner {
                    Some(o) => format!("{} — owner {}", f.text, views::who(o)),
                    None => f.text.clone(),
                })
                .collect(),
            alerts: inc
                .alerts
                .iter()
                .map(|a| views::AlertView {
                    summary: a.summary.clone(),
                    status: format!("{:?}", a.status).to_lowercase(),
                    since: views::day_and_clock(a.since),
                    link: views::web_link(a.link.as_deref()),
                })
                .collect(),
            public: self.public_view(inc),
            timeline: timeline.iter().map(views::entry).collect(),
            room: room.iter().map(views::room_message).collect(),
            flash,
            nonce: crate::app::signin::secret()[..24].to_string(),
            severities: self.severities.clone(),
            statuses: views::statuses(),
            people,
        })
    }
}

pub async fn postmortem(
    State(s): State<Arc<WebState>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (who, inc, md) = match s.draft(&id, &uri, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let p = PostmortemPage {
        chrome: s.chrome(&who).await,
        id: inc.id.label(),
        title: inc.title.clone(),
        html: markdown_to_html(&md),
    };
    page(p.render())
}

pub async fn postmortem_markdown(
    State(s): State<Arc<WebState>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    match s.draft(&id, &uri, &headers).await {
        Ok((_, inc, md)) => {
            download(md, "text/markdown; charset=utf-8", &format!("{}-postmortem.md", inc.id))
        }
        Err(r) => r,
    }
}

pub async fn record_json(
    State(s): State<Arc<WebState>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (_, inc) = match s.reader_of(&id, &uri, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match crate::store::record::record(s.app.store.as_ref(), inc.id).await {
        Ok(Some(rec)) => {
            let json = serde_json::to_string_pretty(&rec).expect("a record serializes");
            download(json, "application/json", &format!("{}.json", inc.id))
        }
        Ok(None) => message(StatusCode::NOT_FOUND, "Not found", &format!("There is no {id}.")),
        Err(e) => unavailable(e),
    }
}

impl WebState {
    /// The viewer, the incident and its postmortem draft in Markdown.
    async fn draft(
        &self,
        id: &str,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<(Viewer, Incident, String), Response> {
        let who = self.reader(uri, headers).await?;
        let inc = self.visible(id, &who).await?;
        let timeline = self.app.store.timeline(inc.id).await.map_err(unavailable)?;
        let md = crate::postmortem::render(
            &inc,
            &timeline,
            &self.app.rules,
            self.postmortem_template.as_deref(),
        )
        .map_err(|e| {
            message(StatusCode::INTERNAL_SERVER_ERROR, "The draft failed", &e.to_string())
        })?;
        Ok((who, inc, md))
    }
}

fn download(body: String, kind: &'static str, name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut r = ([(header::CONTENT_TYPE, kind)], body).into_response();
    r.headers_mut().insert(header::CONTENT_DISPOSITION, disposition.parse().expect("a header"));
    harden(r)
}

/// The draft's Markdown as HTML. Raw HTML in it is shown as text, not
/// run: the draft quotes what people typed.
pub(super) fn markdown_to_html(md: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, html};
    let parser = Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(
        |e| match e {
            // The draft breaks lines inside table cells with `<br>`: that one
            // tag is a line break; any other is text.
            Event::InlineHtml(s) if s.trim().eq_ignore_ascii_case("<br>") => Event::HardBreak,
            Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
            other => other,
        },
    );
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
}

/// The longest period the reports page draws, week by week.
const MAX_REPORT_DAYS: i64 = 731;

pub async fn reports(
    State(s): State<Arc<WebState>>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let who = match s.reader(&uri, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let since = q
        .get("since")
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "90d".into());
    let to = s.app.now();
    let Some(from) = crate::report::since(&since, to) else {
        return message(
            StatusCode::BAD_REQUEST,
            "Not a period",
            &format!(
                "\"{since}\" is not a period like 90d, 12w or 36h, or a date like 2026-09-01."
            ),
        );
    };
    if to - from > chrono::Duration::days(MAX_REPORT_DAYS) {
        return message(
            StatusCode::BAD_REQUEST,
            "Too long a period",
            "The reports page draws at most two years; `tocsin report --since` reads longer ones.",
        );
    }
    let all = match s.app.store.incidents(true).await {
        Ok(all) => all,
        Err(e) => return unavailable(e),
    };
    let visible: Vec<Incident> = all.into_iter().filter(|i| App::may_see(i, &who.person)).collect();
    let period = crate::report::Period { from, to };
    let r = crate::report::report(&visible, &s.severities, period, &s.hours);
    let weeks = crate::report::weekly(&visible, period);
    let row = |r: &crate::report::Row| views::ReportRow {
        group: r.group.clone(),
        incidents: r.incidents,
        out_of_hours: r.out_of_hours,
        mtta: crate::report::human(r.acknowledge.median_seconds),
        mitigate: crate::report::human(r.mitigate.median_seconds),
        mttr: crate::report::human(r.resolve.median_seconds),
    };
    let mut by_severity: Vec<_> = r.by_severity.iter().map(row).collect();
    by_severity.push(row(&r.all));
    let p = views::ReportsPage {
        chrome: s.chrome(&who).await,
        period: format!("{} – {}", from.format("%Y-%m-%d"), to.format("%Y-%m-%d")),
        since,
        summary: format!(
            "{} incidents, {} still open, {} declared out of hours ({})",
            r.all.incidents, r.all.open, r.all.out_of_hours, r.working_hours
        ),
        tables: vec![
            ("By severity".into(), by_severity),
            ("By source".into(), r.by_source.iter().map(row).collect()),
            ("By team".into(), r.by_team.iter().map(row).collect()),
        ],
        times_chart: super::charts::times_by_severity(&r.by_severity),
        weekly_chart: super::charts::weekly(&weeks),
    };
    page(p.render())
}
