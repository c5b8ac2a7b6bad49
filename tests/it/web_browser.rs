//! The web command center in a real browser (headless Chromium over
//! WebDriver): sign in with a link, read the list, open an incident, post an
//! update that reaches Slack, talk in the room, and watch the timeline grow
//! without reloading. It leaves screenshots under `target/screenshots/`.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;
use tocsin::config::{DiscordInteractions, StatusPageConfig};
use tocsin::incident::Platform;
use tocsin::store::{Commit, Write};

use crate::support::bot::{Bot, SLACK_SECRET};
use crate::support::browser::Browser;
use crate::support::db::TestDb;
use crate::support::eventually;
use crate::support::http::{request, slack_signed};
use crate::support::web::token;

/// Someone in Slack flags `ts` with 📌, and Slack tells tocsin.
async fn flag_in_slack(bot: &Bot, channel: &str, ts: &str) {
    let slack = bot.slack.as_ref().unwrap();
    slack.react(channel, ts, "pushpin", "UBOB");
    let body = json!({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "EvBrowser1",
        "event_time": 1700000000, "event": {"type": "reaction_added", "user": "UBOB", "reaction": "pushpin",
        "item": {"type": "message", "channel": channel, "ts": ts}, "event_ts": ts}})
    .to_string();
    let headers = slack_signed(SLACK_SECRET, &body, "application/json");
    let (status, _) =
        request(bot.server.addr, "POST", "/slack/events", &headers, body.as_bytes()).await;
    assert_eq!(status, 200);
}

/// Six weeks of earlier incidents, so the list, the reports and the status
/// page's history read as they would in a team that has used tocsin a while.
async fn seed_history(bot: &Bot) {
    let now = chrono::Utc::now();
    let alice = json!({"platform": "slack", "id": "UALICE", "name": "alice"});
    // (title, severity, days ago, minutes to ack, to mitigate, to resolve, published)
    let past = [
        ("Login page times out for SSO users", "SEV2", 38, 4, 35, 70, false),
        ("Webhook deliveries delayed", "SEV3", 30, 12, 90, 180, false),
        ("Card payments declined in Europe", "SEV1", 23, 2, 18, 41, true),
        ("Search index lagging behind writes", "SEV3", 16, 20, 60, 240, false),
        ("Dashboard charts fail to load", "SEV2", 9, 6, 25, 55, true),
        ("Nightly export job stuck", "SEV4", 3, 45, 120, 300, false),
    ];
    for (n, (title, sev, days, ack, mitigate, resolve, published)) in past.into_iter().enumerate() {
        let at = now - chrono::Duration::days(days) - chrono::Duration::hours(3);
        let m = |min: i64| at + chrono::Duration::minutes(min);
        let mut inc = json!({
            "id": n + 1, "title": title, "severity": sev, "status": "closed", "private": false,
            "platform": "slack", "declared_by": alice, "declared_at": at,
            "responders": [{"user": alice, "added_by": alice, "at": at}],
            "acknowledged": {"by": alice, "at": m(ack)},
            "mitigated_at": m(mitigate), "resolved_at": m(resolve), "closed_at": m(resolve + 60),
        });
        if published {
            let component = if sev == "SEV1" { "Checkout" } else { "Dashboard" };
            inc["public"] = json!({
                "posts": [
                    {"status": "investigating", "message": "We are looking into reports of errors.", "by": alice, "at": m(ack)},
                    {"status": "monitoring", "message": "A fix is in place; we are watching it.", "by": alice, "at": m(mitigate)},
                ],
                "impacts": [{"component": component, "impact": "major_outage", "by": alice, "at": m(ack)}],
            });
        }
        let inc: tocsin::incident::Incident = serde_json::from_value(inc).unwrap();
        let commit = Commit { incident: Some(Write::Insert(inc)), ..Default::default() };
        bot.store.commit(commit).await.unwrap();
    }
}

/// Waits until the element `css` shows `text`.
async fn sees(b: &Browser, css: &str, text: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(e) = b.client.find(Locator::Css(css)).await
            && e.text().await.is_ok_and(|t| t.contains(text))
        {
            return;
        }
        if std::time::Instant::now() > deadline {
            let page = b.client.source().await.unwrap_or_default();
            panic!("{css} never showed {text:?}: {page}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await; // poll the page's DOM
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responder_signs_in_reads_acts_and_watches_the_timeline_grow_in_a_browser() {
    let db = TestDb::sqlite();
    let bot = Bot::start_with(&db.url, DiscordInteractions::Gateway, true, |c, _| {
        c.status_page = Some(StatusPageConfig {
            title: "Acme status".into(),
            components: vec!["API".into(), "Checkout".into(), "Dashboard".into()],
        });
    })
    .await;
    let slack = bot.slack.as_ref().unwrap().clone();
    let addr = bot.server.addr;
    seed_history(&bot).await;
    bot.slack_command("UALICE", "CGENERAL", "declare SEV3 Search results are slow").await;
    bot.slack_command("UALICE", "CGENERAL", "declare SEV2 Checkout failing for EU customers").await;
    let search = bot.channel_of(7, Platform::Slack).await;
    bot.slack_command("UALICE", &search, "resolve Index rebuilt").await;
    let channel = bot.channel_of(8, Platform::Slack).await;
    bot.slack_command("UALICE", &channel, "role scribe <@UBOB>").await;

    let b = Browser::start().await;
    // Sign in with a link: it opens a page with one button.
    let t = token(&bot, "UALICE", "/incidents", chrono::Utc::now()).await;
    b.client.goto(&format!("http://{addr}/web/login?token={t}")).await.unwrap();
    b.client.find(Locator::Id("signin")).await.unwrap().click().await.unwrap();
    sees(&b, "ul.incidents", "Checkout failing for EU customers").await;
    let list = b.client.find(Locator::Css("ul.incidents")).await.unwrap().text().await.unwrap();
    let (open, resolved) =
        (list.find("Checkout failing").unwrap(), list.find("Search results").unwrap());
    assert!(open < resolved, "open incidents first: {list}");
    b.screenshot("list").await;

    // Open the incident and post an update: it reaches Slack's incident and announce channels.
    b.client.find(Locator::Css("a[href='/incidents/INC-8']")).await.unwrap().click().await.unwrap();
    sees(&b, "h1", "Checkout failing for EU customers").await;
    b.client
        .find(Locator::Id("update-status"))
        .await
        .unwrap()
        .select_by_label("identified")
        .await
        .unwrap();
    let message = b.client.find(Locator::Id("update-message")).await.unwrap();
    message.send_keys("Bad deploy of payments-api 4.2").await.unwrap();
    b.client.find(Locator::Id("post-update")).await.unwrap().click().await.unwrap();
    sees(&b, ".flash", "Posted the identified update for INC-8").await;
    let (s, ch) = (slack.clone(), channel.clone());
    eventually(
        "the update in Slack's incident and announce channels",
        Duration::from_secs(20),
        || {
            let (s, ch) = (s.clone(), ch.clone());
            async move {
                let said = |c: &str| {
                    s.texts(c).iter().any(|t| t.contains("Bad deploy of payments-api 4.2"))
                };
                said(&ch) && said("CANNOUNCE")
            }
        },
    )
    .await;

    // The room: a message from the web reaches the chat channel.
    let say = b.client.find(Locator::Id("say-text")).await.unwrap();
    say.send_keys("Rolling back payments-api to 4.1 now").await.unwrap();
    b.client.find(Locator::Id("say")).await.unwrap().click().await.unwrap();
    sees(&b, "#room", "Rolling back payments-api to 4.1 now").await;
    let (s, ch) = (slack.clone(), channel.clone());
    eventually("the room message in the Slack channel", Duration::from_secs(20), || {
        let (s, ch) = (s.clone(), ch.clone());
        async move {
            s.texts(&ch).iter().any(|t| t == "ualice (web): Rolling back payments-api to 4.1 now")
        }
    })
    .await;

    // Flagged in Slack while the page is open: the entry appears without a reload.
    b.client.execute("window.stillHere = true;", vec![]).await.unwrap();
    let ts = slack.say(&channel, "UBOB", "Error rate back under 1% after the rollback", None);
    flag_in_slack(&bot, &channel, &ts).await;
    sees(&b, "#timeline", "Error rate back under 1% after the rollback").await;
    let same_page = b.client.execute("return window.stillHere === true;", vec![]).await.unwrap();
    assert_eq!(same_page, json!(true), "the timeline grew without reloading the page");

    // What the status page shows comes from these forms only.
    let publish = b.client.find(Locator::Id("publish-message")).await.unwrap();
    publish.send_keys("Some card payments in Europe fail; a fix is rolling out").await.unwrap();
    b.client.find(Locator::Id("publish")).await.unwrap().click().await.unwrap();
    sees(&b, ".flash", "Published on the status page for INC-8").await;
    b.client
        .find(Locator::Css("select[name='component']"))
        .await
        .unwrap()
        .select_by_value("Checkout")
        .await
        .unwrap();
    b.client
        .find(Locator::Css("select[name='level']"))
        .await
        .unwrap()
        .select_by_value("partial")
        .await
        .unwrap();
    b.client
        .find(Locator::Css(".public-box form.row button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    sees(&b, ".flash", "The status page shows Checkout: partial outage").await;
    b.screenshot("incident").await;

    b.client.goto(&format!("http://{addr}/reports")).await.unwrap();
    sees(&b, "main", "MTTR").await;
    b.screenshot("reports").await;
    b.client.goto(&format!("http://{addr}/status")).await.unwrap();
    sees(&b, "main", "Partial outage: Checkout").await;
    let page = b.client.source().await.unwrap();
    assert!(!page.contains("Checkout failing") && !page.contains("payments-api"), "{page}");
    b.screenshot("status").await;
    b.close().await;
    bot.server.stop().await.unwrap();
}
