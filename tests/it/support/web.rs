//! Signing in to the web pages and using them over HTTP, redirects not
//! followed, so the tests see what the server answered.

use std::net::SocketAddr;
use std::time::Duration;

use tocsin::incident::{Platform, UserRef};

use super::bot::Bot;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub cookie: Option<String>,
    pub body: String,
}

async fn send(req: reqwest::RequestBuilder) -> Answer {
    let resp = req.send().await.expect("an answer");
    let header = |k: &str| resp.headers().get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (status, location, cookie) =
        (resp.status().as_u16(), header("location"), header("set-cookie"));
    Answer { status, location, cookie, body: resp.text().await.unwrap() }
}

pub async fn get(addr: SocketAddr, path: &str, session: Option<&str>) -> Answer {
    let mut req = client().get(format!("http://{addr}{path}"));
    if let Some(s) = session {
        req = req.header("cookie", format!("tocsin_session={s}"));
    }
    send(req).await
}

pub async fn post(
    addr: SocketAddr,
    path: &str,
    session: Option<&str>,
    form: &[(&str, &str)],
) -> Answer {
    let mut req = client().post(format!("http://{addr}{path}")).form(form);
    if let Some(s) = session {
        req = req.header("cookie", format!("tocsin_session={s}"));
    }
    send(req).await
}

/// A sign-in link's token for a Slack person, made as `/incident web` makes it.
pub async fn token(
    bot: &Bot,
    slack_user: &str,
    next: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> String {
    let mut person = UserRef::new(Platform::Slack, slack_user);
    person.name = Some(slack_user.to_lowercase());
    let base = format!("http://{}", bot.server.addr);
    let url =
        tocsin::app::signin::link(bot.store.as_ref(), &base, &person, next, at).await.unwrap();
    url.split_once("token=").unwrap().1.to_string()
}

/// Uses a token; returns the session cookie's value.
pub async fn session(bot: &Bot, token: &str) -> String {
    let a = post(bot.server.addr, "/web/login", None, &[("token", token)]).await;
    assert_eq!(a.status, 303, "{}", a.body);
    let cookie = a.cookie.expect("a session cookie");
    cookie.split(';').next().unwrap().trim_start_matches("tocsin_session=").to_string()
}

/// A signed-in Slack person's session.
pub async fn signed_in(bot: &Bot, slack_user: &str) -> String {
    let t = token(bot, slack_user, "/incidents", chrono::Utc::now()).await;
    session(bot, &t).await
}

/// The value of a hidden form field on a page.
pub fn field(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} in the page"));
    let rest = &page[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}
