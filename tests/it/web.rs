//! The web command center over HTTP: signing in, what is closed without a
//! session, CSRF, private incidents, and acting through the same path as
//! chat. The browser drives the same pages in `web_browser.rs`.

use std::time::Duration;

use tocsin::config::DiscordInteractions;
use tocsin::incident::{IncidentId, Platform};

use crate::support::bot::Bot;
use crate::support::db::{TestDb, on_both_backends};
use crate::support::eventually;
use crate::support::http::request;
use crate::support::web::{field, get, post, session, signed_in, token};

async fn start(db: &TestDb) -> Bot {
    let bot = Bot::start(&db.url, DiscordInteractions::Gateway, true).await;
    let said = bot
        .slack_command("UALICE", "CGENERAL", "declare SEV2 Checkout failing for EU customers")
        .await;
    assert!(said.starts_with("Declared INC-1"), "{said}");
    bot
}

on_both_backends! {
    async fn pages_and_forms_are_closed_without_a_session(db: &TestDb) {
        let bot = start(db).await;
        let addr = bot.server.addr;
        for path in ["/incidents", "/incidents/INC-1", "/incidents/INC-1/live", "/incidents/INC-1/postmortem",
                     "/incidents/INC-1/postmortem.md", "/incidents/INC-1/record.json", "/reports"] {
            let a = get(addr, path, None).await;
            assert_eq!(a.status, 303, "{path}");
            assert!(a.location.as_deref().unwrap().starts_with("/web/signin?next="), "{path}: {:?}", a.location);
            assert!(!a.body.contains("Checkout"), "{path}");
            let forged = get(addr, path, Some("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")).await;
            assert_eq!(forged.status, 303, "a made-up session is no session: {path}");
        }
        for path in ["/incidents/INC-1/act", "/incidents/INC-1/room", "/incidents/INC-1/room/1/flag", "/web/logout"] {
            let a = post(addr, path, None, &[("do", "resolve"), ("text", "hi")]).await;
            assert_eq!(a.status, 401, "{path}");
        }
        let inc = bot.store.incident(IncidentId(1)).await.unwrap().unwrap().value;
        assert!(inc.status.is_open());
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn a_link_works_once_and_not_after_fifteen_minutes(db: &TestDb) {
        let bot = start(db).await;
        let addr = bot.server.addr;
        // `/incident web` in the incident's channel answers with a link to it.
        let channel = bot.channel_of(1, Platform::Slack).await;
        let said = bot.slack_command("UALICE", &channel, "web").await;
        let url = said.split_whitespace().find(|w| w.starts_with("http://")).expect("a link").to_string();
        assert!(url.starts_with(&format!("http://{addr}/web/login?token=")), "{url}");
        let t = url.split_once("token=").unwrap().1;
        // Opening it only shows a button: a link preview does not spend it.
        let page = get(addr, &format!("/web/login?token={t}"), None).await;
        assert_eq!(page.status, 200);
        assert!(page.cookie.is_none());
        let first = post(addr, "/web/login", None, &[("token", t)]).await;
        assert_eq!((first.status, first.location.as_deref()), (303, Some("/incidents/INC-1")));
        let cookie = first.cookie.unwrap();
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        let second = post(addr, "/web/login", None, &[("token", t)]).await;
        assert_eq!(second.status, 403, "a used link is refused");
        assert!(second.cookie.is_none());
        assert!(second.body.contains("This link no longer works"));

        let old = token(&bot, "UALICE", "/incidents", chrono::Utc::now() - chrono::Duration::minutes(16)).await;
        assert_eq!(post(addr, "/web/login", None, &[("token", &old)]).await.status, 403, "an expired link is refused");
        assert_eq!(bot.store.prune_web(chrono::Utc::now()).await.unwrap(), 1, "and forgotten by the purge loop");

        // A sign-in form posted from another site (login CSRF) is refused and spends nothing.
        let fresh = token(&bot, "UALICE", "/incidents", chrono::Utc::now()).await;
        let body = format!("token={fresh}");
        let form = ("Content-Type", "application/x-www-form-urlencoded".to_string());
        for from in [("Sec-Fetch-Site", "cross-site".to_string()), ("Origin", "https://evil.example".to_string())] {
            let (status, page) = request(addr, "POST", "/web/login", &[form.clone(), from.clone()], body.as_bytes()).await;
            assert_eq!(status, 403, "{from:?}: {page}");
        }
        let own = ("Origin", format!("http://{addr}"));
        let (status, _) = request(addr, "POST", "/web/login", &[form, own], body.as_bytes()).await;
        assert_eq!(status, 200, "from its own page the link works");
        let spent = post(addr, "/web/login", None, &[("token", &fresh)]).await;
        assert_eq!(spent.status, 403, "it was used by the post from its own page");

        // Signing out ends the session on the server, not only in the browser.
        let s = session(&bot, &token(&bot, "UALICE", "/incidents", chrono::Utc::now()).await).await;
        let list = get(addr, "/incidents", Some(&s)).await;
        assert_eq!(list.status, 200);
        let out = post(addr, "/web/logout", Some(&s), &[("csrf", &field(&list.body, "csrf"))]).await;
        assert_eq!(out.status, 303);
        assert_eq!(get(addr, "/incidents", Some(&s)).await.status, 303);
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing(db: &TestDb) {
        let bot = start(db).await;
        let addr = bot.server.addr;
        let s = signed_in(&bot, "UALICE").await;
        let page = get(addr, "/incidents/INC-1", Some(&s)).await;
        assert_eq!(page.status, 200);
        let csrf = field(&page.body, "csrf");
        let other = signed_in(&bot, "UBOB").await;
        let other_csrf = field(&get(addr, "/incidents/INC-1", Some(&other)).await.body, "csrf");
        for token in ["", "nope", other_csrf.as_str()] {
            let form = [("csrf", token), ("do", "update"), ("status", "identified"), ("message", "forged")];
            let a = post(addr, "/incidents/INC-1/act", Some(&s), &form).await;
            assert_eq!(a.status, 403, "csrf {token:?}");
            let a = post(addr, "/incidents/INC-1/room", Some(&s), &[("csrf", token), ("text", "forged")]).await;
            assert_eq!(a.status, 403, "csrf {token:?}");
        }
        let inc = bot.store.incident(IncidentId(1)).await.unwrap().unwrap().value;
        assert!(inc.updates.is_empty(), "nothing changed");
        assert!(bot.store.room(IncidentId(1), 0, 10).await.unwrap().is_empty());

        // With the token it goes through the same path as chat: posted, announced.
        let form = [("csrf", csrf.as_str()), ("nonce", "n0nce-for-this-form"), ("do", "update"),
                    ("status", "identified"), ("message", "Bad deploy of payments-api 4.2")];
        let a = post(addr, "/incidents/INC-1/act", Some(&s), &form).await;
        assert_eq!(a.status, 303);
        assert!(a.location.as_deref().unwrap().starts_with("/incidents/INC-1?ok=Posted"), "{:?}", a.location);
        // Sent twice (a double click): done once.
        let again = post(addr, "/incidents/INC-1/act", Some(&s), &form).await;
        assert!(again.location.as_deref().unwrap().contains("ok=Already+done."), "{:?}", again.location);
        // The note after an action is signed for the session: a crafted link shows none.
        let shown = get(addr, a.location.as_deref().unwrap(), Some(&s)).await.body;
        assert!(shown.contains("Posted the identified update for INC-1"), "{shown}");
        let crafted = get(addr, "/incidents/INC-1?error=Your+session+expired%3B+sign+in+at+evil.example&sig=00", Some(&s)).await;
        assert!(!crafted.body.contains("evil.example"), "{}", crafted.body);
        let elsewhere = get(addr, a.location.as_deref().unwrap(), Some(&other)).await;
        assert!(!elsewhere.body.contains("Posted the identified update"), "signed for Alice's session only");
        let inc = bot.store.incident(IncidentId(1)).await.unwrap().unwrap().value;
        assert_eq!(inc.updates.len(), 1);
        assert_eq!(inc.updates[0].by.id, "UALICE");
        let slack = bot.slack.as_ref().unwrap().clone();
        eventually("the update in the announce channel", Duration::from_secs(20), || {
            let slack = slack.clone();
            async move { slack.texts("CANNOUNCE").iter().any(|t| t.contains("Bad deploy of payments-api 4.2")) }
        })
        .await;
        // Chat's rules hold: Bob is no responder, so he may not post an update.
        let bob_csrf = other_csrf.clone();
        let form = [("csrf", bob_csrf.as_str()), ("do", "update"), ("status", "monitoring"), ("message", "not mine")];
        let a = post(addr, "/incidents/INC-1/act", Some(&other), &form).await;
        assert!(a.location.as_deref().unwrap().contains("error=only+responders+of+INC-1"), "{:?}", a.location);
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn a_private_incident_is_invisible_on_the_web_to_anyone_but_its_members(db: &TestDb) {
        let bot = start(db).await;
        let addr = bot.server.addr;
        let said = bot.slack_command("UALICE", "CGENERAL", "declare SEV1 Payroll export leaked --private").await;
        assert!(said.starts_with("Declared INC-2"), "{said}");
        let alice = signed_in(&bot, "UALICE").await;
        let bob = signed_in(&bot, "UBOB").await;
        assert!(get(addr, "/incidents", Some(&alice)).await.body.contains("Payroll export leaked"));
        let list = get(addr, "/incidents", Some(&bob)).await;
        assert!(list.body.contains("Checkout failing"), "the public one is listed");
        assert!(!list.body.contains("Payroll") && !list.body.contains("INC-2"), "{}", list.body);
        for path in ["/incidents/INC-2", "/incidents/INC-2/live", "/incidents/INC-2/postmortem",
                     "/incidents/INC-2/postmortem.md", "/incidents/INC-2/record.json"] {
            let a = get(addr, path, Some(&bob)).await;
            assert_eq!(a.status, 404, "{path}");
            assert!(!a.body.contains("Payroll"), "{path}");
            assert!(a.body.contains("There is no INC-2"), "the same answer as for one that does not exist: {path}");
        }
        let csrf = field(&list.body, "csrf");
        let a = post(addr, "/incidents/INC-2/room", Some(&bob), &[("csrf", &csrf), ("text", "let me in")]).await;
        assert_eq!(a.status, 404);
        let form = [("csrf", csrf.as_str()), ("do", "note"), ("text", "let me in")];
        assert_eq!(post(addr, "/incidents/INC-2/act", Some(&bob), &form).await.status, 404);
        // A message Alice said in INC-2's room cannot be flagged by Bob.
        let alice_csrf = field(&get(addr, "/incidents/INC-2", Some(&alice)).await.body, "csrf");
        post(addr, "/incidents/INC-2/room", Some(&alice), &[("csrf", &alice_csrf), ("text", "salaries are late")]).await;
        let said = bot.store.room(IncidentId(2), 0, 10).await.unwrap();
        assert_eq!(said.len(), 1);
        let flag = format!("/incidents/INC-2/room/{}/flag", said[0].id);
        assert_eq!(post(addr, &flag, Some(&bob), &[("csrf", &csrf)]).await.status, 404);
        // Nor through an incident he can see.
        let sideways = format!("/incidents/INC-1/room/{}/flag", said[0].id);
        assert_eq!(post(addr, &sideways, Some(&bob), &[("csrf", &csrf)]).await.status, 404);
        assert!(bot.store.timeline(IncidentId(2)).await.unwrap().iter().all(|e| e.text != "salaries are late"));
        let reports = get(addr, "/reports", Some(&bob)).await;
        assert!(reports.body.contains("· 1 incidents, 1 still open"), "counted for members only: {}", reports.body);
        let too_long = get(addr, "/reports?since=90000000d", Some(&bob)).await;
        assert_eq!(too_long.status, 400, "a period the page will not draw");
        assert_eq!(get(addr, "/incidents/INC-2", Some(&alice)).await.status, 200);
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn the_web_room_keeps_messages_mirrors_them_to_chat_and_flags_them_onto_the_timeline(db: &TestDb) {
        let bot = start(db).await;
        let addr = bot.server.addr;
        let s = signed_in(&bot, "UALICE").await;
        let csrf = field(&get(addr, "/incidents/INC-1", Some(&s)).await.body, "csrf");
        let a = post(addr, "/incidents/INC-1/room", Some(&s),
                     &[("csrf", &csrf), ("nonce", "room-message-0001"), ("text", "Rolling back <b>now</b>")]).await;
        assert_eq!((a.status, a.location.as_deref()), (303, Some("/incidents/INC-1#room-h")));
        let room = bot.store.room(IncidentId(1), 0, 10).await.unwrap();
        assert_eq!(room.len(), 1);
        let later = [("csrf", csrf.as_str()), ("nonce", "room-message-0002"), ("text", "Rollback done")];
        post(addr, "/incidents/INC-1/room", Some(&s), &later).await;
        let newest = bot.store.room_latest(IncidentId(1), 1).await.unwrap();
        assert_eq!(newest.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["Rollback done"]);
        let page = get(addr, "/incidents/INC-1", Some(&s)).await.body;
        assert!(page.contains("Rolling back &#60;b&#62;now&#60;/b&#62;"), "shown, escaped: {page}");
        assert!(!page.contains("<b>now"), "never as markup");
        let channel = bot.channel_of(1, Platform::Slack).await;
        let slack = bot.slack.as_ref().unwrap().clone();
        let ch = channel.clone();
        eventually("the room message in the Slack channel", Duration::from_secs(20), || {
            let (slack, ch) = (slack.clone(), ch.clone());
            async move { slack.texts(&ch).iter().any(|t| t.contains("ualice (web): Rolling back &lt;b&gt;now&lt;/b&gt;")) }
        })
        .await;
        let flag = format!("/incidents/INC-1/room/{}/flag", room[0].id);
        let a = post(addr, &flag, Some(&s), &[("csrf", &csrf)]).await;
        assert!(a.location.as_deref().unwrap().contains("ok=Added"), "{:?}", a.location);
        post(addr, &flag, Some(&s), &[("csrf", &csrf)]).await;
        let timeline = bot.store.timeline(IncidentId(1)).await.unwrap();
        let flagged: Vec<_> = timeline.iter().filter(|e| e.text == "Rolling back <b>now</b>").collect();
        assert_eq!(flagged.len(), 1, "flagged once");
        assert_eq!(flagged[0].author.id, "UALICE");
        let md = get(addr, "/incidents/INC-1/postmortem.md", Some(&s)).await;
        assert!(md.body.contains("Rolling back"), "in the postmortem draft");
        let json = get(addr, "/incidents/INC-1/record.json", Some(&s)).await;
        let record: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        assert_eq!(record["room"][0]["text"], "Rolling back <b>now</b>");
        bot.server.stop().await.unwrap();
    }
}
