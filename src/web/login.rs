//! Signing in with a one-time link, and out.
//!
//! Opening the link shows a button; only pressing it uses the link. Chat
//! apps and mail scanners fetch links to preview them, and a preview must
//! not spend a sign-in.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::views::{ConfirmPage, SigninPage};
use super::{WebState, harden, message, page, session};
use crate::app::signin;

/// Where someone not signed in is sent: how to get a link.
pub async fn signin_help(Query(q): Query<HashMap<String, String>>) -> Response {
    let next = q.get("next").map(|n| signin::safe_next(n)).unwrap_or_else(|| "/incidents".into());
    page(SigninPage { next }.render())
}

pub async fn confirm(Query(q): Query<HashMap<String, String>>) -> Response {
    let token = q.get("token").cloned().unwrap_or_default();
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return message(
            StatusCode::BAD_REQUEST,
            "Not a sign-in link",
            "This address is not a whole sign-in link. Ask for a new one with `/incident web`.",
        );
    }
    page(ConfirmPage { token }.render())
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    token: String,
}

/// Whether a sign-in form came from another site: a page elsewhere could
/// otherwise sign a visitor in as someone else (login CSRF). Browsers say
/// where a request came from; a request that says nothing (a script, curl)
/// is not a browser being tricked.
fn cross_site(headers: &HeaderMap) -> bool {
    let said = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // Browsers that send it say plainly; with `Referrer-Policy: no-referrer`
    // their Origin is "null" even on this server's own pages.
    if let Some(site) = said("sec-fetch-site") {
        return site == "cross-site" || site == "same-site";
    }
    match (said("origin"), said("host")) {
        (Some("null"), _) => false,
        (Some(origin), Some(host)) => {
            origin.split_once("://").is_none_or(|(_, rest)| !rest.eq_ignore_ascii_case(host))
        }
        _ => false,
    }
}

pub async fn login(
    State(s): State<Arc<WebState>>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if cross_site(&headers) {
        tracing::info!("a sign-in form posted from another site was refused");
        return message(
            StatusCode::FORBIDDEN,
            "Refused",
            "Sign-in links work only when opened directly; open the link from chat again.",
        );
    }
    let redeemed = match s.app.store.redeem_link(&signin::hash(f.token.trim()), s.app.now()).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "could not check a sign-in link");
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Database unavailable",
                "tocsin cannot read its database right now; the link still works in a moment.",
            );
        }
    };
    let Some((person, next)) = redeemed else {
        tracing::info!("a used, expired or unknown sign-in link was refused");
        return message(
            StatusCode::FORBIDDEN,
            "This link no longer works",
            "A sign-in link works once and for 15 minutes. Ask for a new one with `/incident web`.",
        );
    };
    match session::start(&s, person).await {
        Ok(cookie) => {
            let mut r = Redirect::to(&signin::safe_next(&next)).into_response();
            r.headers_mut().insert(header::SET_COOKIE, cookie.parse().expect("a cookie header"));
            harden(r)
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not start a web session");
            message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Database unavailable",
                "The link was used but the session could not be kept; ask for a new link.",
            )
        }
    }
}

#[derive(serde::Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(s): State<Arc<WebState>>,
    headers: HeaderMap,
    Form(f): Form<LogoutForm>,
) -> Response {
    let viewer = match session::viewer(&s, &Method::POST, "/web/logout", &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !viewer.csrf_ok(&f.csrf) {
        return message(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form is stale; reload the page and try again.",
        );
    }
    if let Err(e) = s.app.store.end_session(viewer.id_hash()).await {
        tracing::warn!(error = %e, "could not end a web session");
    }
    let mut r = Redirect::to("/web/signin").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session::cookie(&s, "", 0).parse().expect("a cookie header"));
    harden(r)
}
