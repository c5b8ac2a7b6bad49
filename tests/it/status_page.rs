//! The public status page: 404 until `[status_page]` is configured, and
//! then only what responders published, never titles, internal updates or
//! private incidents.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tocsin::config::{DiscordInteractions, StatusPageConfig};
use tocsin::incident::Platform;

use crate::support::bot::Bot;
use crate::support::db::{TestDb, on_both_backends};
use crate::support::eventually;
use crate::support::http::get;
use crate::support::web::{field, post, signed_in};

const PUBLIC_PATHS: [&str; 3] = ["/status", "/status.json", "/status/feed.atom"];
/// Words of the record that must never be public.
const INTERNAL: [&str; 7] =
    ["Checkout failing", "payments-api", "INC-", "Payroll", "leaked", "ualice", "UALICE"];

async fn with_page(db: &TestDb) -> Bot {
    Bot::start_with(&db.url, DiscordInteractions::Gateway, true, |c, _| {
        c.status_page = Some(StatusPageConfig {
            title: "Acme status".into(),
            components: vec!["API".into(), "Checkout".into()],
        });
    })
    .await
}

/// Waits until `path` shows `wanted` (the page is drawn at most every two
/// seconds), then returns it, checked for anything internal.
async fn shows(addr: SocketAddr, path: &str, wanted: &str) -> String {
    let (p, w) = (path.to_string(), wanted.to_string());
    eventually(&format!("{path} to show {wanted:?}"), Duration::from_secs(20), || {
        let (p, w) = (p.clone(), w.clone());
        async move { get(addr, &p).await.1.contains(&w) }
    })
    .await;
    let (status, body) = get(addr, path).await;
    assert_eq!(status, 200, "{path}");
    for word in INTERNAL {
        assert!(!body.contains(word), "{path} shows {word:?}: {body}");
    }
    body
}

on_both_backends! {
    async fn the_status_page_is_absent_until_configured_then_shows_only_what_was_published(db: &TestDb) {
        // Without [status_page]: nothing public, and nothing to publish to.
        let bot = Bot::start(&db.url, DiscordInteractions::Gateway, true).await;
        let said = bot.slack_command("UALICE", "CGENERAL", "declare SEV2 Checkout failing for EU customers").await;
        assert!(said.starts_with("Declared INC-1"), "{said}");
        let channel = bot.channel_of(1, Platform::Slack).await;
        bot.slack_command("UALICE", &channel, "update identified Bad deploy of payments-api 4.2").await;
        for path in PUBLIC_PATHS {
            assert_eq!(get(bot.server.addr, path).await.0, 404, "{path}");
        }
        let said = bot.slack_command("UALICE", &channel, "publish Payments are failing").await;
        assert!(said.contains("there is no status page"), "{said}");
        bot.server.stop().await.unwrap();

        // Configured, on the same record: the incidents stay internal.
        let bot = with_page(db).await;
        let addr = bot.server.addr;
        let page = shows(addr, "/status", "All systems operational").await;
        assert!(page.contains("Acme status") && page.contains("No active incidents."), "{page}");
        let said = bot.slack_command("UALICE", "CGENERAL", "declare SEV1 Payroll export leaked --private").await;
        assert!(said.starts_with("Declared INC-2"), "{said}");
        let private = bot.channel_of(2, Platform::Slack).await;
        let said = bot.slack_command("UALICE", &private, "publish Payroll is late").await;
        assert!(said.starts_with("INC-2 is private; nothing of it goes on the status page"), "{said}");

        // Published from chat and from the web: shown, escaped, and nothing else.
        let said = bot.slack_command("UALICE", &channel, "impact major checkout").await;
        assert_eq!(said, "The status page shows Checkout: major outage", "{said}");
        let s = signed_in(&bot, "UALICE").await;
        let csrf = field(&crate::support::web::get(addr, "/incidents/INC-1", Some(&s)).await.body, "csrf");
        let form = [("csrf", csrf.as_str()), ("do", "publish"), ("message", "Card payments fail in <Europe>; we are on it")];
        let a = post(addr, "/incidents/INC-1/act", Some(&s), &form).await;
        assert!(a.location.as_deref().unwrap().contains("ok=Published"), "{:?}", a.location);
        let page = shows(addr, "/status", "Card payments fail in &#60;Europe&#62;; we are on it").await;
        assert!(page.contains("Major outage: Checkout"), "{page}");
        assert!(page.contains("overall-critical"), "{page}");
        let json: Value = serde_json::from_str(&shows(addr, "/status.json", "major_outage").await).unwrap();
        assert_eq!(json["status"]["indicator"], "critical");
        assert_eq!(json["components"][1], serde_json::json!({"name": "Checkout", "status": "major_outage"}));
        assert_eq!(json["components"][0]["status"], "operational");
        let incidents = json["incidents"].as_array().unwrap();
        assert_eq!(incidents.len(), 1, "the private incident is not there: {json}");
        assert_eq!(incidents[0]["status"], "identified");
        assert_eq!(incidents[0]["updates"][0]["body"], "Card payments fail in <Europe>; we are on it");
        let feed = shows(addr, "/status/feed.atom", "<entry>").await;
        assert!(feed.starts_with("<?xml") && feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">"), "{feed}");
        assert_eq!(feed.matches("<entry>").count(), 1, "one entry per published message: {feed}");
        assert!(feed.contains("Card payments fail in &#60;Europe&#62;"), "{feed}");

        // Resolved: the impact ends and the incident moves to the history.
        bot.slack_command("UALICE", &channel, "resolve Rolled back to 4.1").await;
        let page = shows(addr, "/status", "All systems operational").await;
        assert!(page.contains("No active incidents."), "{page}");
        let history = &page[page.find("Past incidents").unwrap()..];
        assert!(history.contains("Major outage: Checkout") && history.contains("Resolved"), "{history}");
        assert!(!page.contains("Rolled back"), "the resolution message was not published: {page}");
        bot.server.stop().await.unwrap();
    }
}
