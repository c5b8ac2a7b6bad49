//! The web command center: the incident list, each incident's page with
//! its live timeline and room, the postmortem draft and the reports, for
//! people signed in with a one-time link from chat. Everything is rendered
//! on the server from templates checked at compile time; a little
//! JavaScript keeps the incident page live, and every page reads without it.
//! Actions go in through [`App::handle`] like a chat command. The public
//! status page is here too, and needs no session.

mod act;
mod assets;
mod charts;
mod live;
mod login;
mod pages;
mod session;
mod status;
#[cfg(test)]
mod tests;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::app::App;
use crate::outbox::Outbox;

pub use session::COOKIE;

/// What the pages need besides the engine.
pub struct WebState {
    pub app: Arc<App>,
    pub outbox: Outbox,
    /// `Secure` on the session cookie (the pages are served over https).
    pub secure: bool,
    /// The Discord guild, for links to channels.
    pub discord_guild: Option<String>,
    /// The configured severities, most severe first.
    pub severities: Vec<String>,
    /// The configured working hours, for the reports.
    pub hours: crate::report::WorkingHours,
    /// The team's postmortem template, when it has its own.
    pub postmortem_template: Option<String>,
    /// `None`: no public status page.
    pub status_page: Option<crate::config::StatusPageConfig>,
    pub status_cache: status::Cache,
}

pub fn routes(state: Arc<WebState>) -> Router {
    Router::new()
        .route("/", get(|| async { axum::response::Redirect::to("/incidents") }))
        .route("/web/signin", get(login::signin_help))
        .route("/web/login", get(login::confirm).post(login::login))
        .route("/web/logout", post(login::logout))
        .route("/incidents", get(pages::list))
        .route("/incidents/{id}", get(pages::incident))
        .route("/incidents/{id}/live", get(live::live))
        .route("/incidents/{id}/act", post(act::act))
        .route("/incidents/{id}/room", post(act::say))
        .route("/incidents/{id}/room/{message}/flag", post(act::flag))
        .route("/incidents/{id}/postmortem", get(pages::postmortem))
        .route("/incidents/{id}/postmortem.md", get(pages::postmortem_markdown))
        .route("/incidents/{id}/record.json", get(pages::record_json))
        .route("/reports", get(pages::reports))
        .route("/assets/{file}", get(assets::asset))
        .route("/status", get(status::html))
        .route("/status.json", get(status::json))
        .route("/status/feed.atom", get(status::atom))
        .with_state(state)
}

/// Headers every page carries: no framing, no sniffing, no referrer (a
/// sign-in link's token must not travel on), scripts and styles only from
/// here.
pub(crate) fn harden(mut r: Response) -> Response {
    let h = r.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    r
}

/// A rendered template as a hardened page.
pub(crate) fn page(rendered: askama::Result<String>) -> Response {
    match rendered {
        Ok(html) => harden(Html(html).into_response()),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            harden(
                (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be drawn\n")
                    .into_response(),
            )
        }
    }
}

/// A page that says one thing: not found, refused, gone.
pub(crate) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    use askama::Template;
    let m = views::MessagePage { title: title.to_string(), text: text.to_string() };
    let mut r = page(m.render());
    *r.status_mut() = status;
    r
}
