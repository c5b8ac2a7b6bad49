//! Who is looking: the session cookie (a random secret; the database keeps
//! its hash), and the CSRF token every form carries.

use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use subtle::ConstantTimeEq;

use super::WebState;
use crate::app::signin;
use crate::incident::UserRef;
use crate::store::WebSession;

pub const COOKIE: &str = "tocsin_session";

/// How long a session lasts.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub person: UserRef,
    pub csrf: String,
    id_hash: String,
}

impl Viewer {
    pub fn id_hash(&self) -> &str {
        &self.id_hash
    }

    /// Whether the form's token is this session's, compared in constant time.
    pub fn csrf_ok(&self, given: &str) -> bool {
        !given.is_empty() && bool::from(given.as_bytes().ct_eq(self.csrf.as_bytes()))
    }

    /// Signs a note shown after an action, for this session only.
    pub fn flash_sig(&self, said: &str) -> String {
        signin::hash(&format!("flash\n{}\n{said}", self.csrf))[..32].to_string()
    }
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|line| {
        line.split(';').find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == COOKIE && !v.is_empty()).then(|| v.to_string())
        })
    })
}

/// The viewer, or the answer for someone not signed in: a page is
/// redirected to the sign-in help, anything else refused.
pub async fn viewer(
    s: &WebState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Result<Viewer, Response> {
    let refuse = || {
        if method == Method::GET {
            let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
            Redirect::to(&format!("/web/signin?next={next}")).into_response()
        } else {
            super::message(
                StatusCode::UNAUTHORIZED,
                "Not signed in",
                "Sign in with a link from `/incident web` first.",
            )
        }
    };
    let Some(secret) = cookie_value(headers) else { return Err(refuse()) };
    let id_hash = signin::hash(&secret);
    match s.app.store.session(&id_hash, s.app.now()).await {
        Ok(Some(session)) => Ok(Viewer { person: session.person, csrf: session.csrf, id_hash }),
        Ok(None) => Err(refuse()),
        Err(e) => {
            tracing::warn!(error = %e, "could not read a web session");
            Err(super::message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Database unavailable",
                "tocsin cannot read its database right now; try again in a moment.",
            ))
        }
    }
}

/// Starts a session for `person`; returns the `Set-Cookie` value.
pub async fn start(s: &WebState, person: UserRef) -> Result<String, crate::store::StoreError> {
    let secret = signin::secret();
    let now = s.app.now();
    s.app
        .store
        .create_session(&WebSession {
            id_hash: signin::hash(&secret),
            person,
            csrf: signin::secret(),
            created_at: now,
            expires_at: now + SESSION_LIFETIME,
        })
        .await?;
    Ok(cookie(s, &secret, SESSION_LIFETIME.num_seconds()))
}

/// The session cookie: HttpOnly, SameSite=Lax, Secure over https.
pub fn cookie(s: &WebState, value: &str, max_age: i64) -> String {
    let secure = if s.secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}
