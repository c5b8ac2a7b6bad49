//! Slack end to end: signed HTTP requests into `tocsin serve`, the real
//! slack-morphism client out to the Slack double.

use std::time::Duration;

use tocsin::chat::slack::verify::sign;
use tocsin::config::{Config, SlackConfig};
use tocsin::incident::{EntryState, IncidentId, MessageKey, Platform};

use crate::support::db::on_both_backends;
use crate::support::eventually;
use crate::support::http::request;
use crate::support::slack_api::SlackApi;

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

struct Bot {
    server: tocsin::startup::Running,
    slack: SlackApi,
    store: std::sync::Arc<dyn tocsin::store::Store>,
}

impl Bot {
    async fn start(url: &str) -> Self {
        Self::start_on(url, Self::slack().await).await
    }

    async fn slack() -> SlackApi {
        SlackApi::start(
            &[("CGENERAL", "general"), ("CANNOUNCE", "announce"), ("CSTAKE", "stakeholders")],
            &["UALICE", "UBOB", "UCAROL"],
        )
        .await
    }

    /// Started, with INC-1 "Checkout failing" declared; and its channel.
    async fn with_incident(url: &str) -> (Self, String) {
        let bot = Self::start(url).await;
        bot.command("UALICE", "CGENERAL", "declare Checkout failing").await;
        bot.settled().await;
        let (ch, _) = bot.slack.channel_named("inc-1-checkout-failing").expect("channel created");
        (bot, ch)
    }

    /// Against a double the test has prepared.
    async fn start_on(url: &str, slack: SlackApi) -> Self {
        let mut config = Config::default();
        config.server.listen = "127.0.0.1:0".into();
        config.database.url = url.into();
        let mut sc = SlackConfig::new("xoxb-test-token", SECRET);
        sc.api_base_url = slack.base_url();
        sc.announce_channel = Some("CANNOUNCE".into());
        config.slack = Some(sc);
        let server = tocsin::startup::start(config).await.expect("server starts");
        let store = tocsin::store::connect(url).await.unwrap();
        Self { server, slack, store }
    }

    /// Posts `body` to `path`, signed at `ts` with `secret`.
    async fn post_signed(
        &self,
        path: &str,
        ctype: &str,
        body: &str,
        ts: i64,
        secret: &str,
    ) -> (u16, String) {
        let ts = ts.to_string();
        let headers = [
            ("Content-Type", ctype.to_string()),
            ("X-Slack-Request-Timestamp", ts.clone()),
            ("X-Slack-Signature", sign(secret, &ts, body.as_bytes())),
        ];
        request(self.server.addr, "POST", path, &headers, body.as_bytes()).await
    }

    async fn post(&self, path: &str, ctype: &str, body: &str) -> (u16, String) {
        self.post_signed(path, ctype, body, chrono::Utc::now().timestamp(), SECRET).await
    }

    async fn command(&self, user: &str, channel: &str, text: &str) -> String {
        let body = crate::support::http::slack_command_body(user, channel, text);
        let (status, reply) =
            self.post("/slack/commands", "application/x-www-form-urlencoded", &body).await;
        assert_eq!(status, 200, "{reply}");
        let v: serde_json::Value = serde_json::from_str(&reply).expect("JSON reply");
        assert_eq!(v["response_type"], "ephemeral");
        v["text"].as_str().unwrap().to_string()
    }

    async fn event(&self, event_id: &str, event: serde_json::Value, retry: Option<u32>) -> u16 {
        let body = serde_json::json!({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id, "event_time": 1700000000, "event": event}).to_string();
        let ts = chrono::Utc::now().timestamp().to_string();
        let mut headers = vec![
            ("Content-Type", "application/json".to_string()),
            ("X-Slack-Request-Timestamp", ts.clone()),
            ("X-Slack-Signature", sign(SECRET, &ts, body.as_bytes())),
        ];
        if let Some(n) = retry {
            headers.push(("X-Slack-Retry-Num", n.to_string()));
        }
        request(self.server.addr, "POST", "/slack/events", &headers, body.as_bytes()).await.0
    }

    async fn reaction(
        &self,
        event_id: &str,
        kind: &str,
        user: &str,
        channel: &str,
        ts: &str,
    ) -> u16 {
        // A person adds or removes 📌 in Slack, and Slack sends the event.
        if kind == "reaction_added" {
            self.slack.react(channel, ts, "pushpin", user);
        } else {
            self.slack.unreact(channel, ts, "pushpin", user);
        }
        let e = serde_json::json!({"type": kind, "user": user, "reaction": "pushpin", "item": {"type": "message", "channel": channel, "ts": ts}, "event_ts": ts});
        self.event(event_id, e, None).await
    }

    async fn entry(&self, channel: &str, ts: &str) -> Option<tocsin::incident::TimelineEntry> {
        let key =
            MessageKey { platform: Platform::Slack, channel: channel.into(), message: ts.into() };
        self.store.entry(&key).await.unwrap().map(|v| v.value)
    }

    /// Flag lookups waiting for a read of Slack, as `/metrics` shows them.
    async fn lookups_waiting(&self) -> usize {
        let (_, metrics) = crate::support::http::get(self.server.addr, "/metrics").await;
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("tocsin_slack_flag_lookups_waiting "))
            .and_then(|v| v.parse().ok())
            .expect("the gauge is on /metrics")
    }

    /// Sends `reaction_added` for each of `stamps` at once, while the read
    /// of Slack under way is held at `gate`: they all wait for it before it
    /// is let go. Their statuses, in order.
    async fn flag_while_held(
        &self,
        gate: &tokio::sync::Notify,
        ch: &str,
        stamps: &[String],
        prefix: &str,
    ) -> Vec<u16> {
        let sent =
            futures_util::future::join_all(stamps.iter().enumerate().map(|(i, ts)| async move {
                self.reaction(&format!("{prefix}{i}"), "reaction_added", "UCAROL", ch, ts).await
            }));
        let let_go = async {
            eventually("the flags wait for the read", Duration::from_secs(10), || async {
                self.lookups_waiting().await == stamps.len()
            })
            .await;
            gate.notify_one();
        };
        tokio::join!(sent, let_go).0
    }

    /// Flags `first`, whose read is held at `gate`, then `later` while it
    /// waits (see [`Self::flag_while_held`]). The statuses of `first` and of `later`.
    async fn flag_behind_a_held_read(
        &self,
        gate: &tokio::sync::Notify,
        ch: &str,
        first: &str,
        later: &[String],
        prefix: &str,
    ) -> (u16, Vec<u16>) {
        tokio::join!(self.reaction(prefix, "reaction_added", "UCAROL", ch, first), async {
            eventually("the first read is under way", Duration::from_secs(10), || async {
                self.slack.calls("conversations.replies") == 1
            })
            .await;
            self.flag_while_held(gate, ch, later, prefix).await
        })
    }

    async fn settled(&self) {
        let store = self.store.clone();
        eventually("the outbox to drain", Duration::from_secs(20), || {
            let store = store.clone();
            async move { store.outbox_stats().await.unwrap().pending == 0 }
        })
        .await;
    }
}

on_both_backends! {
    async fn unsigned_forged_and_stale_slack_requests_get_401_and_change_nothing(db: &TestDb) {
        let bot = Bot::start(&db.url).await;
        let body = "command=%2Fincident&user_id=UALICE&channel_id=CGENERAL&text=declare+SEV1+Fake";
        let form = "application/x-www-form-urlencoded";
        let now = chrono::Utc::now().timestamp();
        assert_eq!(bot.post_signed("/slack/commands", form, body, now, "not-the-secret").await.0, 401);
        assert_eq!(bot.post_signed("/slack/commands", form, body, now - 301, SECRET).await.0, 401);
        let (status, _) = request(bot.server.addr, "POST", "/slack/commands", &[("Content-Type", form.into())], body.as_bytes()).await;
        assert_eq!(status, 401);
        assert_eq!(bot.post_signed("/slack/events", "application/json", "{}", now, "x").await.0, 401);
        assert!(bot.store.incidents(true).await.unwrap().is_empty(), "nothing was declared");
        let (status, body) = bot.post("/slack/events", "application/json", r#"{"type":"url_verification","challenge":"c-123"}"#).await;
        assert_eq!((status, body.as_str()), (200, r#"{"challenge":"c-123"}"#));
        assert_eq!(bot.post("/slack/events", "application/json", "not json").await.0, 400);
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn a_whole_incident_runs_through_signed_slack_requests(db: &TestDb) {
        let bot = Bot::start(&db.url).await;
        let slack = &bot.slack;
        assert!(bot.command("USAM", "CSTAKE", "subscribe --min-severity SEV2").await.starts_with("This channel now follows"));
        let reply = bot.command("UALICE", "CGENERAL", "declare SEV2 Checkout failing").await;
        assert_eq!(reply, "Declared INC-1 (SEV2) → #inc-1-checkout-failing");
        bot.settled().await;
        let (ch, _) = slack.channel_named("inc-1-checkout-failing").expect("channel created");
        assert!(bot.command("UALICE", &ch, "role scribe <@UCAROL|carol>").await.contains("is now Scribe of INC-1"));
        assert!(bot.command("UALICE", &ch, "invite <@UBOB|bob>").await.starts_with("Invited"));

        // People talk; one reply is in a thread.
        let m1 = slack.say(&ch, "UBOB", "error rate 30% on checkout", None);
        let m2 = slack.say(&ch, "UCAROL", "deploy 4.2 went out at 13:58", None);
        let m3 = slack.say(&ch, "UBOB", "rolling back to 4.1", Some(&m2));

        // A reaction, Slack's retry of it, and a second person's reaction: one entry.
        assert_eq!(bot.reaction("Ev1", "reaction_added", "UCAROL", &ch, &m1).await, 200);
        assert_eq!(bot.reaction("Ev1", "reaction_added", "UCAROL", &ch, &m1).await, 200);
        assert_eq!(bot.event("Ev1", serde_json::json!({"type": "reaction_added", "user": "UCAROL", "reaction": "pushpin", "item": {"type": "message", "channel": ch, "ts": m1}}), Some(1)).await, 200);
        assert_eq!(bot.reaction("Ev2", "reaction_added", "UBOB", &ch, &m1).await, 200);
        let e1 = bot.entry(&ch, &m1).await.expect("flagged");
        assert_eq!(e1.flags.len(), 2);
        assert_eq!(e1.text, "error rate 30% on checkout");
        // Slack sends only ids with reactions and messages: the record asks
        // users.info for the names once, and keeps the ids beside them.
        assert_eq!((e1.author.id.as_str(), e1.author.name.as_deref()), ("UBOB", Some("Bob")));
        assert_eq!((e1.flags[0].user.id.as_str(), e1.flags[0].user.name.as_deref()), ("UCAROL", Some("Carol")));
        assert_eq!(slack.calls("users.info"), 2, "one lookup per person");
        assert_eq!(e1.link.as_deref(), Some(format!("https://tocsin-test.slack.com/archives/{ch}/p{}", m1.replace('.', "")).as_str()));

        // A thread reply by reaction; another message by the shortcut.
        assert_eq!(bot.reaction("Ev3", "reaction_added", "UCAROL", &ch, &m3).await, 200);
        let e3 = bot.entry(&ch, &m3).await.unwrap();
        assert_eq!(e3.text, "rolling back to 4.1");
        let thread_link = format!("https://tocsin-test.slack.com/archives/{ch}/p{}?thread_ts={m2}&cid={ch}", m3.replace('.', ""));
        assert_eq!(e3.link, Some(thread_link), "a reply's link opens its thread");
        let payload = serde_json::json!({
            "type": "message_action", "callback_id": "add_to_timeline", "trigger_id": "t1",
            "user": {"id": "UALICE", "username": "alice"}, "channel": {"id": ch},
            "message": {"type": "message", "ts": m2, "user": "UCAROL", "text": "deploy 4.2 went out at 13:58",
                "files": [{"id": "F1", "name": "errors.png", "permalink": "https://tocsin-test.slack.com/files/UCAROL/F1/errors.png"}]},
            "response_url": slack.response_url(),
        });
        let body = url::form_urlencoded::Serializer::new(String::new()).append_pair("payload", &payload.to_string()).finish();
        assert_eq!(bot.post("/slack/interactions", "application/x-www-form-urlencoded", &body).await.0, 200);
        let e2 = bot.entry(&ch, &m2).await.expect("flagged by the shortcut");
        assert_eq!(e2.files, ["https://tocsin-test.slack.com/files/UCAROL/F1/errors.png"], "attachments kept as links");
        eventually("the shortcut is answered", Duration::from_secs(10), || async { !slack.responses().is_empty() }).await;
        assert_eq!(slack.responses()[0], "Added to INC-1's timeline.");
        assert_eq!(slack.calls("chat.getPermalink"), 0, "links are made from the workspace address auth.test gave");

        // Un-flag (only when no flagging reaction remains), edit, delete.
        assert_eq!(bot.reaction("Ev4", "reaction_removed", "UCAROL", &ch, &m1).await, 200);
        assert_eq!(bot.entry(&ch, &m1).await.unwrap().state, EntryState::Active, "Bob's reaction remains");
        assert_eq!(bot.reaction("Ev5", "reaction_removed", "UBOB", &ch, &m1).await, 200);
        assert_eq!(bot.entry(&ch, &m1).await.unwrap().state, EntryState::Retracted);
        slack.edit(&ch, &m2, "deploy 4.2 went out at 13:58 UTC");
        let changed = serde_json::json!({"type": "message", "subtype": "message_changed", "channel": ch, "message": {"ts": m2, "text": "deploy 4.2 went out at 13:58 UTC"}});
        assert_eq!(bot.event("Ev6", changed, None).await, 200);
        let deleted = serde_json::json!({"type": "message", "subtype": "message_deleted", "channel": ch, "deleted_ts": m3});
        assert_eq!(bot.event("Ev7", deleted, None).await, 200);
        assert_eq!(bot.entry(&ch, &m3).await.unwrap().state, EntryState::Deleted);

        // Updates fan out; resolve, postmortem, close.
        bot.command("UALICE", &ch, "update monitoring Rolled back <!here>").await;
        bot.command("UALICE", &ch, "resolve Back to normal").await;
        bot.command("UALICE", &ch, "postmortem").await;
        bot.command("UALICE", &ch, "close").await;
        bot.settled().await;
        let update = "📣 INC-1 — Monitoring: Rolled back &lt;!here&gt; (<@UALICE>)";
        for channel in [ch.as_str(), "CANNOUNCE", "CSTAKE"] {
            assert!(slack.texts(channel).iter().any(|t| t == update), "{channel}: {:?}", slack.texts(channel));
        }
        let channel = slack.channel(&ch).unwrap();
        assert!(channel.archived);
        assert_eq!(channel.members, ["UALICE", "UCAROL", "UBOB"]);
        let file = &slack.files()[0];
        assert!(file.comment.starts_with("📄 Postmortem draft: INC-1"), "a short summary goes with the file: {}", file.comment);
        let draft = String::from_utf8(file.content.clone()).unwrap();
        assert!(draft.contains("deploy 4.2 went out at 13:58 UTC *(edited)*"), "{draft}");
        assert!(draft.contains("*(message deleted)*"), "{draft}");
        assert!(!draft.contains("rolling back to 4.1"), "a deleted message's text is gone: {draft}");
        assert!(!draft.contains("error rate 30%"), "the un-flagged message is left out");
        let timeline = bot.store.timeline(IncidentId(1)).await.unwrap();
        assert_eq!(timeline.iter().filter(|e| e.key.is_some()).count(), 3, "one entry per flagged message");
        assert_eq!(slack.violations(), Vec::<String>::new(), "every call matches the Web API spec");
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn socket_mode_runs_commands_and_flags_and_leaves_unrecorded_events_unacknowledged(db: &TestDb) {
        let slack = SlackApi::start(&[("CGENERAL", "general")], &["UALICE", "UBOB"]).await;
        let mut config = Config::default();
        config.server.listen = "127.0.0.1:0".into();
        config.database.url = db.url.clone();
        let mut sc = SlackConfig::new("xoxb-test-token", SECRET);
        sc.api_base_url = slack.base_url();
        sc.app_token = Some("xapp-1-test".into());
        config.slack = Some(sc);
        let server = tocsin::startup::start(config).await.expect("server starts");
        let store = tocsin::store::connect(&db.url).await.unwrap();
        eventually("a Socket Mode connection", Duration::from_secs(10), || async { slack.sockets() > 0 }).await;

        let command = serde_json::json!({"token": "x", "team_id": "T1", "channel_id": "CGENERAL", "user_id": "UALICE", "command": "/incident", "text": "declare SEV2 Socket test", "response_url": "https://hooks.slack.com/commands/1", "trigger_id": "t1"});
        let env = slack.push("slash_commands", command);
        eventually("the command is acknowledged", Duration::from_secs(10), || async { slack.ack(&env).is_some() }).await;
        assert_eq!(slack.ack(&env).unwrap()["text"], "Declared INC-1 (SEV2) → #inc-1-socket-test");
        eventually("the channel is opened", Duration::from_secs(10), || async { slack.channel_named("inc-1-socket-test").is_some() }).await;
        let (ch, _) = slack.channel_named("inc-1-socket-test").unwrap();
        eventually("the channel is recorded", Duration::from_secs(10), || async { store.channel(IncidentId(1), Platform::Slack).await.unwrap().is_some() }).await;

        let ts = slack.say(&ch, "UBOB", "db failover started", None);
        slack.react(&ch, &ts, "pushpin", "UALICE");
        let reaction = |id: &str| serde_json::json!({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": id, "event_time": 1700000000,
            "event": {"type": "reaction_added", "user": "UALICE", "reaction": "pushpin", "item": {"type": "message", "channel": ch, "ts": ts}, "event_ts": ts}});
        // Slack is down for the message fetch: the event must not be acknowledged.
        slack.fail("conversations.replies", [crate::support::slack_api::Failure::Status(500)]);
        let failed = slack.push("events_api", reaction("EvS1"));
        eventually("the fetch was tried", Duration::from_secs(10), || async { slack.calls("conversations.replies") >= 1 }).await;
        // Slack delivers it again; now it is recorded, once.
        let again = slack.push("events_api", reaction("EvS1"));
        eventually("the redelivery is acknowledged", Duration::from_secs(10), || async { slack.ack(&again).is_some() }).await;
        assert!(slack.ack(&failed).is_none(), "an unrecorded event is left unacknowledged");
        let key = MessageKey { platform: Platform::Slack, channel: ch.clone(), message: ts.clone() };
        let entry = store.entry(&key).await.unwrap().expect("flagged over Socket Mode").value;
        assert_eq!(entry.text, "db failover started");
        assert_eq!(entry.flags.len(), 1);
        assert_eq!(slack.violations(), Vec::<String>::new());
        server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn a_reaction_removed_before_its_event_is_handled_flags_nothing(db: &TestDb) {
        let (bot, ch) = Bot::with_incident(&db.url).await;
        let ts = bot.slack.say(&ch, "UBOB", "probably nothing", None);
        // Added and taken back at once; the removal's event is handled first.
        bot.slack.react(&ch, &ts, "pushpin", "UCAROL");
        bot.slack.unreact(&ch, &ts, "pushpin", "UCAROL");
        assert_eq!(bot.reaction("EvR2", "reaction_removed", "UCAROL", &ch, &ts).await, 200);
        let added = serde_json::json!({"type": "reaction_added", "user": "UCAROL", "reaction": "pushpin", "item": {"type": "message", "channel": ch, "ts": ts}});
        assert_eq!(bot.event("EvR1", added, None).await, 200);
        assert!(bot.entry(&ch, &ts).await.is_none(), "no entry for a reaction that is gone");
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn a_reaction_removed_while_its_flag_is_on_its_way_is_taken_off_once_the_flag_is_recorded(db: &TestDb) {
        let (bot, ch) = Bot::with_incident(&db.url).await;
        let ts = bot.slack.say(&ch, "UBOB", "probably nothing", None);
        // The flag has seen the 📌 on the message, then waits on a name.
        let gate = std::sync::Arc::new(tokio::sync::Notify::new());
        bot.slack.fail("users.info", [crate::support::slack_api::Failure::Held(gate.clone())]);
        let asked = bot.slack.calls("users.info");
        let (added, removed) = tokio::join!(
            bot.reaction("EvW1", "reaction_added", "UCAROL", &ch, &ts),
            async {
                eventually("the flag waits on a name", Duration::from_secs(10), || async {
                    bot.slack.calls("users.info") > asked
                })
                .await;
                // Taken back meanwhile: the removal finds nothing to take off yet.
                let removed = bot.reaction("EvW2", "reaction_removed", "UCAROL", &ch, &ts).await;
                gate.notify_one();
                removed
            }
        );
        assert_eq!((added, removed), (200, 200));
        eventually("the flag is taken off once it is recorded", Duration::from_secs(10), || async {
            bot.entry(&ch, &ts).await.is_some_and(|e| e.state == EntryState::Retracted)
        })
        .await;
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn a_flag_looks_at_its_message_again_only_when_a_removal_may_have_crossed_it(db: &TestDb) {
        let (bot, ch) = Bot::with_incident(&db.url).await;
        let ts = bot.slack.say(&ch, "UBOB", "error rate 30%", None);
        assert_eq!(bot.reaction("EvL1", "reaction_added", "UCAROL", &ch, &ts).await, 200);
        assert!(bot.entry(&ch, &ts).await.is_some_and(|e| e.state == EntryState::Active));
        if db.url.starts_with("postgres") {
            // Another replica may have handled a removal: the flag looks again.
            eventually("the flag looks again", Duration::from_secs(10), || async {
                bot.slack.calls("conversations.replies") == 2
            })
            .await;
        } else {
            // One process, and no removal came through it: one look is enough.
            bot.command("UALICE", &ch, "status").await;
            assert_eq!(bot.slack.calls("conversations.replies"), 1);
        }
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn flags_that_come_together_in_a_channel_are_read_in_one_look_at_its_history(db: &TestDb) {
        use crate::support::slack_api::Failure;
        let (bot, ch) = Bot::with_incident(&db.url).await;
        let first = bot.slack.say(&ch, "UBOB", "error rate 30%", None);
        let mut later: Vec<String> =
            (0..8).map(|i| bot.slack.say(&ch, "UBOB", &format!("step {i}"), None)).collect();
        // A reply in a thread: history leaves it out, so it is read on its own.
        let reply = bot.slack.say(&ch, "UALICE", "rolled back", Some(&first));
        later.push(reply.clone());
        // The first flag's read is held; the other nine come meanwhile.
        let gate = std::sync::Arc::new(tokio::sync::Notify::new());
        bot.slack.fail("conversations.replies", [Failure::Held(gate.clone())]);
        let (first_status, statuses) = bot.flag_behind_a_held_read(&gate, &ch, &first, &later, "EvT").await;
        assert_eq!(first_status, 200);
        assert_eq!(statuses, vec![200; 9]);
        for (ts, text) in later.iter().zip((0..8).map(|i| format!("step {i}"))) {
            let e = bot.entry(&ch, ts).await.expect("a flag read with the others is recorded");
            assert_eq!((e.text.as_str(), e.state), (text.as_str(), EntryState::Active));
        }
        let e = bot.entry(&ch, &reply).await.expect("the reply read on its own is recorded");
        assert_eq!(e.text, "rolled back");
        assert!(e.link.is_some_and(|l| l.contains(&format!("thread_ts={first}"))), "a reply's link opens its thread");
        if !db.url.starts_with("postgres") {
            // The first alone, the eight together, the reply alone. (With
            // another replica possible, every flag looks again afterwards.)
            assert_eq!(bot.slack.calls("conversations.history"), 1);
            assert_eq!(bot.slack.calls("conversations.replies"), 2);
        }
        assert_eq!(bot.slack.violations(), Vec::<String>::new());
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn flags_whose_shared_read_fails_are_refused_and_recorded_when_slack_sends_them_again(db: &TestDb) {
        use crate::support::slack_api::Failure;
        let (bot, ch) = Bot::with_incident(&db.url).await;
        let first = bot.slack.say(&ch, "UBOB", "queue depth 10k", None);
        let later: Vec<String> =
            (0..3).map(|i| bot.slack.say(&ch, "UBOB", &format!("consumer {i} stuck"), None)).collect();
        let gate = std::sync::Arc::new(tokio::sync::Notify::new());
        bot.slack.fail("conversations.replies", [Failure::Held(gate.clone())]);
        bot.slack.fail("conversations.history", [Failure::Status(502)]);
        let (first_status, statuses) = bot.flag_behind_a_held_read(&gate, &ch, &first, &later, "EvF").await;
        assert_eq!(first_status, 200);
        assert_eq!(statuses, vec![503; 3], "not recorded, so not acknowledged");
        for ts in &later {
            assert!(bot.entry(&ch, ts).await.is_none());
        }
        // Slack sends each again; the read works now.
        for (i, ts) in later.iter().enumerate() {
            let e = serde_json::json!({"type": "reaction_added", "user": "UCAROL", "reaction": "pushpin", "item": {"type": "message", "channel": ch, "ts": ts}, "event_ts": ts});
            assert_eq!(bot.event(&format!("EvF{i}"), e, Some(1)).await, 200);
            let entry = bot.entry(&ch, ts).await.expect("recorded on Slack's retry");
            assert_eq!(entry.text, format!("consumer {i} stuck"));
        }
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn a_read_of_slack_that_hangs_holds_up_the_flags_behind_it_only_for_a_while(db: &TestDb) {
        use crate::support::slack_api::Failure;
        let (bot, ch) = Bot::with_incident(&db.url).await;
        let stuck = bot.slack.say(&ch, "UBOB", "latency 4 s", None);
        let next = bot.slack.say(&ch, "UBOB", "latency back to 80 ms", None);
        // Slack never answers the first read.
        let gate = std::sync::Arc::new(tokio::sync::Notify::new());
        bot.slack.fail("conversations.replies", [Failure::Held(gate.clone())]);
        assert_eq!(bot.reaction("EvH1", "reaction_added", "UCAROL", &ch, &stuck).await, 503);
        assert_eq!(bot.slack.calls("conversations.replies"), 1, "refused while its read hangs");
        // The next flag in the channel is read once the hung read is given up.
        assert_eq!(bot.reaction("EvH2", "reaction_added", "UCAROL", &ch, &next).await, 200);
        assert!(bot.entry(&ch, &next).await.is_some());
        assert!(bot.entry(&ch, &stuck).await.is_none(), "refused, so Slack sends it again");
        gate.notify_one();
        bot.server.stop().await.unwrap();
    }
}

/// `url` with its host and port replaced by `addr`.
fn through(url: &str, addr: std::net::SocketAddr) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.set_host(Some(&addr.ip().to_string())).unwrap();
    u.set_port(Some(addr.port())).unwrap();
    u.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_refuses_what_cannot_be_recorded_and_recovers_without_a_restart() {
    use crate::support::http::get;
    use crate::support::tcp_proxy::TcpProxy;
    let Some(db) = crate::support::db::TestDb::postgres().await else {
        eprintln!("TOCSIN_TEST_POSTGRES_URL is not set; the PostgreSQL fault test needs it");
        return;
    };
    let upstream = url::Url::parse(&db.url).unwrap();
    let upstream: std::net::SocketAddr = format!(
        "{}:{}",
        upstream.host_str().unwrap().replace("localhost", "127.0.0.1"),
        upstream.port().unwrap_or(5432)
    )
    .parse()
    .unwrap();
    let proxy = TcpProxy::start(upstream).await;
    let bot = Bot::start(&through(&db.url, proxy.addr)).await;
    bot.command("UALICE", "CGENERAL", "declare Database trouble").await;
    bot.settled().await;
    let ch = bot.slack.channel_named("inc-1-database-trouble").unwrap().0;
    let ts = bot.slack.say(&ch, "UBOB", "replica lag 40s", None);

    proxy.cut();
    let status = bot.reaction("EvDB1", "reaction_added", "UBOB", &ch, &ts).await;
    assert_eq!(status, 503, "not recorded, so not acknowledged: Slack retries");
    let said = bot.command("UALICE", &ch, "note failing over").await;
    assert!(said.starts_with("Sorry"), "the person is told it did not work: {said}");
    let (ready, why) = get(bot.server.addr, "/readyz").await;
    assert_eq!((ready, why.as_str()), (503, "degraded: database unavailable\n"));
    assert_eq!(get(bot.server.addr, "/healthz").await.0, 200);

    proxy.restore();
    let e = serde_json::json!({"type": "reaction_added", "user": "UBOB", "reaction": "pushpin", "item": {"type": "message", "channel": ch, "ts": ts}, "event_ts": ts});
    assert_eq!(bot.event("EvDB1", e.clone(), Some(1)).await, 200, "Slack's retry is recorded");
    assert_eq!(bot.event("EvDB1", e, Some(2)).await, 200, "and a second retry changes nothing");
    let entry = bot.entry(&ch, &ts).await.expect("the flag is recorded");
    assert_eq!((entry.text.as_str(), entry.flags.len()), ("replica lag 40s", 1));
    let said = bot.command("UALICE", &ch, "note failed over").await;
    assert!(!said.starts_with("Sorry"), "{said}");
    bot.settled().await;
    assert!(bot.slack.texts(&ch).iter().any(|t| t.ends_with("failed over")), "no restart needed");
    assert_eq!(get(bot.server.addr, "/readyz").await, (200, "ready\n".to_string()));

    // Mid-load: a burst of flags; the database goes away after the first few
    // are in, and a second burst arrives while it is away.
    const BURST: usize = 40;
    let msgs: Vec<String> =
        (0..BURST).map(|i| bot.slack.say(&ch, "UBOB", &format!("burst {i}"), None)).collect();
    let acked = std::sync::atomic::AtomicUsize::new(0);
    let send = |i: usize| {
        let (acked, bot, ch, ts) = (&acked, &bot, ch.clone(), msgs[i].clone());
        async move {
            let status =
                bot.reaction(&format!("EvBurst{i}"), "reaction_added", "UCAROL", &ch, &ts).await;
            if status == 200 {
                acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            (i, status)
        }
    };
    let cutter = async {
        crate::support::eventually(
            "a few flags in",
            std::time::Duration::from_secs(20),
            || async { acked.load(std::sync::atomic::Ordering::SeqCst) >= 5 },
        )
        .await;
        proxy.cut();
    };
    let (mut outcomes, ()) =
        tokio::join!(futures_util::future::join_all((0..BURST / 2).map(send)), cutter);
    outcomes.extend(futures_util::future::join_all((BURST / 2..BURST).map(send)).await);
    proxy.restore();
    let refused: Vec<usize> =
        outcomes.iter().filter(|(_, st)| *st != 200).map(|(i, _)| *i).collect();
    assert!(outcomes.iter().all(|(_, st)| *st == 200 || *st == 503), "{outcomes:?}");
    for i in &refused {
        let e = serde_json::json!({"type": "reaction_added", "user": "UCAROL", "reaction": "pushpin", "item": {"type": "message", "channel": ch, "ts": msgs[*i]}, "event_ts": msgs[*i]});
        assert_eq!(bot.event(&format!("EvBurst{i}"), e, Some(1)).await, 200);
    }
    for ts in &msgs {
        let entry = bot.entry(&ch, ts).await.expect("every flag is recorded");
        assert_eq!(entry.flags.len(), 1, "once");
    }
    eprintln!(
        "postgres cut mid-load: {BURST} flags, {} acknowledged before or through the cut, {} refused with 503 and recorded on Slack's retry",
        BURST - refused.len(),
        refused.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_sqlite_file_refuses_an_event_until_it_can_be_recorded() {
    use sqlx::Connection;
    let db = crate::support::db::TestDb::sqlite();
    let bot = Bot::start(&db.url).await;
    bot.command("UALICE", "CGENERAL", "declare Disk slow").await;
    bot.settled().await;
    let ch = bot.slack.channel_named("inc-1-disk-slow").unwrap().0;
    let ts = bot.slack.say(&ch, "UBOB", "fsync 900 ms", None);
    // Another process holds the write lock longer than tocsin will wait.
    let mut blocker = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut blocker).await.unwrap();
    let status = bot.reaction("EvLock", "reaction_added", "UBOB", &ch, &ts).await;
    assert_eq!(status, 503, "not recorded, so not acknowledged");
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    let e = serde_json::json!({"type": "reaction_added", "user": "UBOB", "reaction": "pushpin", "item": {"type": "message", "channel": ch, "ts": ts}, "event_ts": ts});
    assert_eq!(bot.event("EvLock", e, Some(1)).await, 200);
    assert!(bot.entry(&ch, &ts).await.is_some(), "recorded on Slack's retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declare_while_the_database_is_locked_is_answered_at_once_and_done_once() {
    use sqlx::Connection;
    let db = crate::support::db::TestDb::sqlite();
    let bot = Bot::start(&db.url).await;
    // Another process holds the write lock until tocsin has answered "working on it".
    let mut blocker = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut blocker).await.unwrap();
    let url = bot.slack.response_url();
    let more = [
        ("response_url", url.as_str()),
        ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
    ];
    let body = crate::support::http::slack_command_form(
        "UALICE",
        "CGENERAL",
        "declare SEV2 Disk full",
        &more,
    );
    let started = std::time::Instant::now();
    let (status, reply) =
        bot.post("/slack/commands", "application/x-www-form-urlencoded", &body).await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{reply}");
    assert!(took < Duration::from_secs(3), "answered within Slack's 3 seconds: {took:?}");
    let v: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(v["text"], tocsin::chat::slack::endpoint::WORKING);
    // Nothing is declared while the lock is held; once it is let go, the
    // command tried again gets through.
    assert!(bot.store.incidents(true).await.unwrap().is_empty());
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    eventually("the result on the response_url", Duration::from_secs(30), || async {
        bot.slack.responses().iter().any(|r| r.starts_with("Declared INC-1"))
    })
    .await;
    // Slack delivers the same command again (same trigger_id): nothing twice.
    let (status, _) = bot.post("/slack/commands", "application/x-www-form-urlencoded", &body).await;
    assert_eq!(status, 200);
    assert_eq!(bot.store.incidents(true).await.unwrap().len(), 1, "declared exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_auth_test_fails_slack_makes_the_links_and_is_not_asked_again_at_once() {
    use crate::support::slack_api::Failure;
    let db = crate::support::db::TestDb::sqlite();
    let slack = Bot::slack().await;
    slack.fail("auth.test", [Failure::Status(503)]);
    let bot = Bot::start_on(&db.url, slack).await;
    bot.command("UALICE", "CGENERAL", "declare Queue backed up").await;
    bot.settled().await;
    let ch = bot.slack.channel_named("inc-1-queue-backed-up").unwrap().0;
    let m1 = bot.slack.say(&ch, "UBOB", "lag 40 s", None);
    let reply = bot.slack.say(&ch, "UCAROL", "consumer 3 is stuck", Some(&m1));
    let link =
        |ts: &str| format!("https://tocsin-test.slack.com/archives/{ch}/p{}", ts.replace('.', ""));

    assert_eq!(bot.reaction("EvL1", "reaction_added", "UCAROL", &ch, &m1).await, 200);
    assert_eq!(bot.reaction("EvL2", "reaction_added", "UBOB", &ch, &reply).await, 200);
    assert_eq!(bot.entry(&ch, &m1).await.unwrap().link, Some(link(&m1)));
    let thread = format!("{}?thread_ts={m1}&cid={ch}", link(&reply));
    assert_eq!(
        bot.entry(&ch, &reply).await.unwrap().link,
        Some(thread),
        "Slack's link for a reply opens its thread too"
    );
    assert_eq!(bot.slack.calls("chat.getPermalink"), 2);
    assert_eq!(
        bot.slack.calls("auth.test"),
        1,
        "asked once at start-up, then left alone for a while"
    );
}
