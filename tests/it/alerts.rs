//! Alerts in from Alertmanager, Grafana and the generic form; pages out to
//! PagerDuty and Opsgenie; signed webhooks. The bot runs on Discord (its
//! one chat platform, so alert incidents open there), the paging services
//! and the webhook receiver are doubles on 127.0.0.1.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tocsin::config::{AlertRule, AlertsConfig, DiscordInteractions, WebhookConfig};
use tocsin::incident::{EntryKind, IncidentId, Platform};

use crate::support::bot::{ALICE, Bot};
use crate::support::db::{TestDb, on_both_backends};
use crate::support::http::request;
use crate::support::paging_api::{GENIE_KEY, HOOK_SECRET, PagingApi, ROUTING_KEY};

const TOKEN: &str = "alert-token-0123456789abcdef";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/alerts/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn rule(name: &str, labels: &[(&str, &str)]) -> AlertRule {
    AlertRule {
        name: name.into(),
        equal: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        regex: BTreeMap::new(),
        severity: None,
        title: None,
        invite: vec![],
        private: false,
    }
}

/// The bot with alert rules, the payments team paged through both
/// services, and a webhook for every event.
async fn start(db: &TestDb, paging: &PagingApi) -> Bot {
    let mut checkout = rule("checkout", &[("service", "checkout")]);
    checkout.title = Some("{{labels.alertname}} on {{labels.service}}".into());
    checkout.invite = vec!["payments".into()];
    checkout.severity = Some("SEV1".into());
    let mut secret = rule("secret-keys", &[("service", "vault")]);
    secret.private = true;
    secret.invite = vec!["payments".into()];
    let mut blue = rule("team-blue", &[]);
    blue.regex = [("team".to_string(), "blue|green".to_string())].into();
    let rules = vec![checkout, secret, blue, rule("cron", &[("job", "backup")])];
    let (pd, og, hook) = (paging.pagerduty_url(), paging.opsgenie_url(), paging.hook_url());
    Bot::start_with(&db.url, DiscordInteractions::Gateway, false, move |c, o| {
        o.retry = crate::support::engine::quick_retries();
        c.alerts = Some(AlertsConfig { token: TOKEN.into(), platform: Platform::Discord, rules });
        c.paging.pagerduty_events_url = pd;
        c.paging.opsgenie_api_url = og;
        c.teams[0].pagerduty_routing_key = Some(ROUTING_KEY.into());
        c.teams[0].opsgenie_api_key = Some(GENIE_KEY.into());
        c.webhooks = vec![WebhookConfig {
            url: hook,
            secret: HOOK_SECRET.into(),
            events: tocsin::incident::HookEvent::ALL.to_vec(),
            private: false,
        }];
    })
    .await
}

async fn post_alert(bot: &Bot, path: &str, auth: Option<&str>, body: &[u8]) -> (u16, String) {
    let mut headers = vec![("Content-Type", "application/json".to_string())];
    if let Some(a) = auth {
        headers.push(("Authorization", a.to_string()));
    }
    request(bot.server.addr, "POST", path, &headers, body).await
}

async fn alert(bot: &Bot, path: &str, body: &[u8]) -> String {
    let (status, said) = post_alert(bot, path, Some(&format!("Bearer {TOKEN}")), body).await;
    assert_eq!(status, 200, "{said}");
    said
}

async fn kinds(bot: &Bot, id: i64) -> Vec<(EntryKind, String)> {
    let entries = bot.store.timeline(IncidentId(id)).await.unwrap();
    entries.into_iter().map(|e| (e.kind, e.text)).collect()
}

on_both_backends! {
    async fn a_firing_alert_opens_one_incident_pages_its_team_once_and_resolving_resolves_the_page(db: &TestDb) {
        let paging = PagingApi::start().await;
        let bot = start(db, &paging).await;

        let said = alert(&bot, "/alerts/alertmanager", &fixture("alertmanager-firing.json")).await;
        assert!(said.contains("Opened INC-1 (SEV1) from the alert"), "{said}");
        // Recorded before the answer: no waiting needed to find it.
        let inc = bot.store.incident(IncidentId(1)).await.unwrap().expect("INC-1").value;
        assert_eq!(inc.title, "HighErrorRate on checkout");
        assert_eq!(inc.severity, "SEV1", "the rule's severity");
        assert_eq!(inc.holder("commander"), None);
        assert_eq!(inc.paged, ["payments"]);
        bot.settled().await;

        let channel = bot.channel_of(1, Platform::Discord).await;
        let posts = bot.discord.contents(&channel);
        assert!(posts.iter().any(|p| p.contains("Alert firing: 5xx rate above 5% on checkout-1")), "{posts:?}");
        let triggers = paging.pagerduty();
        assert_eq!(triggers.len(), 1, "{triggers:?}");
        assert_eq!(triggers[0].action, "trigger");
        assert_eq!(triggers[0].dedup_key, "tocsin-INC-1-payments");
        assert_eq!(triggers[0].body["payload"]["severity"], "critical");
        assert_eq!(triggers[0].body["payload"]["summary"], "INC-1 (SEV1): HighErrorRate on checkout");
        let genie = paging.opsgenie();
        assert_eq!(genie.len(), 1);
        assert_eq!((genie[0].action.as_str(), genie[0].alias.as_str()), ("create", "tocsin-INC-1-payments"));
        assert_eq!(genie[0].body["priority"], "P1");

        // Alertmanager repeats the same notification every repeat_interval: nothing changes.
        let entries = kinds(&bot, 1).await.len();
        let said = alert(&bot, "/alerts/alertmanager", &fixture("alertmanager-firing.json")).await;
        assert!(!said.contains("Opened"), "{said}");
        assert_eq!(kinds(&bot, 1).await.len(), entries);
        assert_eq!(bot.store.incidents(true).await.unwrap().len(), 1);

        // A new alert in the group, then one resolved: one entry and one post each.
        alert(&bot, "/alerts/alertmanager", &fixture("alertmanager-second-alert.json")).await;
        alert(&bot, "/alerts/alertmanager", &fixture("alertmanager-one-resolved.json")).await;
        let after: Vec<_> = kinds(&bot, 1).await.into_iter().skip(entries).collect();
        assert_eq!(
            after,
            [
                (EntryKind::Alert, "Alert firing: 5xx rate above 5% on checkout-2".to_string()),
                (EntryKind::Alert, "Alert resolved: 5xx rate above 5% on checkout-1".to_string()),
            ]
        );
        bot.settled().await;
        let posts = bot.discord.contents(&channel);
        assert_eq!(posts.iter().filter(|p| p.contains("Alert firing: 5xx rate above 5% on checkout-2")).count(), 1);
        assert_eq!(posts.iter().filter(|p| p.contains("Alert resolved")).count(), 1);
        let inc = bot.store.incident(IncidentId(1)).await.unwrap().unwrap().value;
        assert!(inc.status.is_open(), "a resolved alert never resolves the incident");

        // A person acknowledges, then resolves: the pages resolve under the same key.
        let said = bot.command(ALICE, &channel, "ack", json!([])).await;
        assert_eq!(said, "Acknowledged INC-1: you are on it.");
        let said = bot.command(ALICE, &channel, "resolve", json!([{"name": "message", "type": 3, "value": "Rolled back"}])).await;
        assert!(said.starts_with("Resolved INC-1"), "{said}");
        bot.settled().await;
        let events: Vec<(String, String)> =
            paging.pagerduty().into_iter().map(|e| (e.action, e.dedup_key)).collect();
        assert_eq!(
            events,
            [("trigger".into(), "tocsin-INC-1-payments".into()), ("resolve".into(), "tocsin-INC-1-payments".into())]
        );
        let closes: Vec<String> =
            paging.opsgenie().into_iter().filter(|c| c.action == "close").map(|c| c.alias).collect();
        assert_eq!(closes, ["tocsin-INC-1-payments"]);

        // The acknowledgement and the resolution were measured as they happened.
        let (_, metrics) = crate::support::http::get(bot.server.addr, "/metrics").await;
        for name in ["acknowledge", "resolve"] {
            let line = format!("tocsin_incident_time_to_{name}_seconds_count{{severity=\"SEV1\"}} 1\n");
            assert!(metrics.contains(&line), "{line} in {metrics}");
        }

        // The webhook got each event once, signed (the receiver checked the HMAC).
        let hooks: Vec<(String, String)> =
            paging.hooks().into_iter().map(|h| (h.event, h.delivery)).collect();
        assert_eq!(hooks.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(), ["declared", "resolved"]);
        assert_ne!(hooks[0].1, hooks[1].1, "each delivery has its own id");
        let resolved = &paging.hooks()[1].body;
        assert_eq!(resolved["incident"]["id"], "INC-1");
        assert_eq!(resolved["incident"]["status"], "resolved");

        // The first notification once more, now that INC-1 is resolved: it
        // was handled, so it opens nothing and is not counted again.
        let said = alert(&bot, "/alerts/alertmanager", &fixture("alertmanager-firing.json")).await;
        assert!(!said.contains("Opened"), "{said}");
        assert_eq!(bot.store.incidents(true).await.unwrap().len(), 1);
        let (_, metrics) = crate::support::http::get(bot.server.addr, "/metrics").await;
        assert!(metrics.contains("tocsin_alerts_opened_total 1\n"), "{metrics}");
        assert!(paging.violations().is_empty(), "{:?}", paging.violations());
        assert!(bot.discord.violations().is_empty(), "{:?}", bot.discord.violations());
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn a_wrong_token_gets_401_a_malformed_body_400_and_neither_changes_anything(db: &TestDb) {
        let paging = PagingApi::start().await;
        let bot = start(db, &paging).await;
        let body = fixture("alertmanager-firing.json");
        for auth in [None, Some("Bearer wrong-token-0123456789abcdef"), Some(&format!("Basic {TOKEN}")[..]), Some("Bearer ")] {
            let (status, _) = post_alert(&bot, "/alerts/alertmanager", auth, &body).await;
            assert_eq!(status, 401, "{auth:?}");
        }
        let auth = format!("Bearer {TOKEN}");
        let cases: [(&str, &[u8], &str); 4] = [
            ("/alerts/alertmanager", b"{\"version\": \"4\"", "EOF"),
            ("/alerts/alertmanager", br#"{"version": "4", "alerts": []}"#, "missing field `groupKey`"),
            ("/alerts/grafana", br#"{"groupKey": "{}:{}", "alerts": [{"status": "burning", "startsAt": "2026-11-22T14:00:00Z"}]}"#, "alerts[0].status"),
            ("/alerts/generic", br#"{"source": "cron", "fingerprint": "x", "status": "firing"}"#, "missing field `title`"),
        ];
        for (path, body, names) in cases {
            let (status, said) = post_alert(&bot, path, Some(&auth), body).await;
            assert_eq!(status, 400, "{path}: {said}");
            let error = serde_json::from_str::<Value>(&said).unwrap()["error"].as_str().unwrap().to_string();
            assert!(error.contains(names), "{path}: {error:?} should name {names:?}");
        }
        assert!(bot.store.incidents(true).await.unwrap().is_empty());
        bot.settled().await;
        assert!(paging.pagerduty().is_empty() && paging.hooks().is_empty());
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn an_alert_no_rule_matches_is_accepted_counted_and_declares_nothing(db: &TestDb) {
        let paging = PagingApi::start().await;
        let bot = start(db, &paging).await;
        let said = alert(&bot, "/alerts/alertmanager", &fixture("alertmanager-unmatched.json")).await;
        assert!(said.contains("No rule matched"), "{said}");
        assert!(bot.store.incidents(true).await.unwrap().is_empty());
        let (_, metrics) = crate::support::http::get(bot.server.addr, "/metrics").await;
        assert!(metrics.contains("tocsin_alerts_unmatched_total 1\n"), "{metrics}");
        assert!(metrics.contains("tocsin_alerts_received_total 1\n"), "{metrics}");
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn grafana_and_generic_alerts_open_incidents_by_their_rules(db: &TestDb) {
        let paging = PagingApi::start().await;
        let bot = start(db, &paging).await;
        let said = alert(&bot, "/alerts/grafana", &fixture("grafana-firing.json")).await;
        assert!(said.contains("Opened INC-1"), "{said}");
        let inc = bot.store.incident(IncidentId(1)).await.unwrap().unwrap().value;
        assert_eq!(inc.title, "This alert was triggered for zone us-1", "the first alert's summary");
        assert_eq!(inc.origin.as_ref().unwrap().rule, "team-blue");
        assert_eq!(inc.alerts.len(), 2, "both alerts of the group");
        assert_eq!(inc.severity, "SEV3", "no severity from rule or labels: the default");
        assert!(inc.paged.is_empty(), "the rule invites nobody");

        let generic = br#"{"source": "cron", "fingerprint": "backup-nightly", "status": "firing",
            "title": "Nightly backup failed", "severity": "sev2", "labels": {"job": "backup"},
            "link": "https://ci.example.org/backup/812"}"#;
        let said = alert(&bot, "/alerts/generic", generic).await;
        assert!(said.contains("Opened INC-2 (SEV2)"), "{said}");
        let said = alert(&bot, "/alerts/generic", generic).await;
        assert!(!said.contains("Opened"), "the same alert again: {said}");
        let resolved = String::from_utf8_lossy(generic).replace("\"firing\"", "\"resolved\"");
        alert(&bot, "/alerts/generic", resolved.as_bytes()).await;
        let entries = kinds(&bot, 2).await;
        assert_eq!(entries.last().unwrap(), &(EntryKind::Alert, "Alert resolved: Nightly backup failed".to_string()));
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn a_private_alert_incident_pages_without_its_title_and_skips_public_webhooks(db: &TestDb) {
        let paging = PagingApi::start().await;
        let bot = start(db, &paging).await;
        let body = String::from_utf8(fixture("alertmanager-firing.json")).unwrap()
            .replace("checkout", "vault")
            .replace("5xx rate above 5%", "Unseal keys exposed");
        let said = alert(&bot, "/alerts/alertmanager", body.as_bytes()).await;
        assert!(said.contains("Opened INC-1"), "{said}");
        bot.settled().await;
        let inc = bot.store.incident(IncidentId(1)).await.unwrap().unwrap().value;
        assert!(inc.private);
        let pd = paging.pagerduty();
        assert_eq!(pd.len(), 1);
        let sent = pd[0].body.to_string() + &paging.opsgenie()[0].body.to_string();
        assert!(!sent.contains("Unseal") && !sent.contains("vault"), "{sent}");
        assert!(sent.contains("private incident"));
        assert!(paging.hooks().is_empty(), "the webhook takes public incidents only");
        for ch in [crate::support::bot::ANNOUNCE, crate::support::bot::STAKE] {
            assert!(bot.discord.contents(ch).is_empty(), "{ch}: {:?}", bot.discord.contents(ch));
        }
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn a_paging_service_outage_delays_the_page_and_sends_it_once(db: &TestDb) {
        let paging = PagingApi::start().await;
        paging.fail_pagerduty(&[500, 429, 503]);
        let bot = start(db, &paging).await;
        alert(&bot, "/alerts/alertmanager", &fixture("alertmanager-firing.json")).await;
        bot.settled().await;
        let pd = paging.pagerduty();
        assert_eq!(pd.len(), 1, "three refusals, then one trigger: {pd:?}");
        assert_eq!(paging.opsgenie().len(), 1, "Opsgenie is paged once too, after PagerDuty");
        bot.server.stop().await.unwrap();
    }
}
