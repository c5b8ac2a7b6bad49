//! Discord end to end: `tocsin serve` with serenity's gateway client talking
//! to the gateway double and the REST client talking to the REST double.

use serde_json::{Value, json};
use tocsin::config::DiscordInteractions;
use tocsin::incident::{EntryState, Platform};

use crate::support::bot::{ALICE, ANNOUNCE, BOB, Bot, CAROL, DAVE, GENERAL, STAKE};
use crate::support::db::on_both_backends;
use crate::support::discord_api::{BOT_USER_ID, CATEGORY, GUILD};

const PIN: &str = "📌";
const VIEW: u64 = 1 << 10;
const SEND: u64 = 1 << 11;

fn text(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value})
}

fn user(name: &str, id: &str) -> Value {
    json!({"name": name, "type": 6, "value": id})
}

/// Every post the bot made anywhere carries an `allowed_mentions` with empty `parse`.
fn assert_no_post_can_ping(bot: &Bot) {
    for ch in
        [GENERAL, ANNOUNCE, STAKE].iter().map(|s| s.to_string()).chain(bot.discord.channel_ids())
    {
        for m in bot.discord.messages(&ch) {
            if m.author == BOT_USER_ID {
                assert_eq!(m.allowed_mentions["parse"], json!([]), "in {ch}: {}", m.content);
            }
        }
    }
}

on_both_backends! {
    async fn a_whole_incident_runs_on_discord_over_the_gateway(db: &TestDb) {
        let bot = Bot::start(&db.url, DiscordInteractions::Gateway, false).await;
        let d = &bot.discord;
        let said = bot.command(CAROL, STAKE, "subscribe", json!([text("min_severity", "SEV2")])).await;
        assert!(said.contains("SEV2"), "{said}");
        let said = bot
            .command(ALICE, GENERAL, "declare", json!([text("title", "Checkout @everyone failing"), text("severity", "SEV2")]))
            .await;
        assert!(said.contains("INC-1"), "{said}");
        bot.settled().await;
        let ch = bot.channel_of(1, Platform::Discord).await;
        let channel = d.channel(&ch).expect("the channel exists");
        assert_eq!(channel.parent_id.as_deref(), Some(CATEGORY));
        assert!(channel.name.starts_with("inc-1-checkout"), "{}", channel.name);
        assert!(channel.topic.starts_with("SEV2 · Investigating"), "{}", channel.topic);
        assert_eq!(channel.pins.len(), 1, "the header is pinned");
        let header = &d.contents(&ch)[0];
        assert!(header.contains("@\u{200b}everyone"), "user text cannot ping: {header}");
        assert!(d.contents(ANNOUNCE)[0].contains(&format!("<#{ch}>")), "{:?}", d.contents(ANNOUNCE));

        bot.command(ALICE, &ch, "role", json!([text("role", "comms"), user("user", BOB)])).await;
        let said = bot.command(ALICE, &ch, "invite", json!([text("team", "payments")])).await;
        assert!(!said.contains("Sorry"), "{said}");
        bot.command(ALICE, &ch, "update", json!([text("status", "identified"), text("message", "Bad deploy")])).await;

        // Flags: the context menu, then 📌 twice by two people on the same message.
        let m1 = d.say(&ch, DAVE, "error rate 30%");
        let said = bot.add_to_timeline(BOB, &ch, &m1).await;
        assert!(said.to_lowercase().contains("timeline"), "{said}");
        d.react(&ch, &m1, PIN, BOB);
        d.react(&ch, &m1, PIN, CAROL);
        let m2 = d.say(&ch, DAVE, "rollback started");
        d.react(&ch, &m2, PIN, BOB);
        crate::support::eventually("the 📌 flag", std::time::Duration::from_secs(10), || async {
            bot.entry(&ch, &m2).await.is_some_and(|e| e.state == EntryState::Active)
        })
        .await;
        d.unreact(&ch, &m2, PIN, BOB);
        crate::support::eventually("the un-flag", std::time::Duration::from_secs(10), || async {
            bot.entry(&ch, &m2).await.is_some_and(|e| e.state != EntryState::Active)
        })
        .await;
        d.edit(&ch, &m1, "error rate 35%");
        crate::support::eventually("the edit to be mirrored", std::time::Duration::from_secs(10), || async {
            bot.entry(&ch, &m1).await.is_some_and(|e| e.text == "error rate 35%")
        })
        .await;
        let e1 = bot.entry(&ch, &m1).await.unwrap();
        assert_eq!(e1.link.as_deref(), Some(format!("https://discord.com/channels/{GUILD}/{ch}/{m1}").as_str()));
        let m3 = d.say(&ch, DAVE, "a message that will be deleted");
        bot.add_to_timeline(ALICE, &ch, &m3).await;
        d.delete(&ch, &m3);
        crate::support::eventually("the deletion to be mirrored", std::time::Duration::from_secs(10), || async {
            bot.entry(&ch, &m3).await.is_some_and(|e| e.state == EntryState::Deleted)
        })
        .await;
        let timeline = bot.store.timeline(tocsin::incident::IncidentId(1)).await.unwrap();
        let flagged: Vec<_> = timeline.iter().filter(|e| e.key.is_some()).collect();
        assert_eq!(flagged.len(), 3, "one entry per flagged message: {flagged:#?}");

        bot.command(ALICE, &ch, "resolve", json!([text("message", "All good")])).await;
        bot.command(ALICE, &ch, "postmortem", json!([])).await;
        bot.command(ALICE, &ch, "close", json!([])).await;
        bot.settled().await;

        let update = "📣 INC-1 — Identified: Bad deploy (<@200000000000000001>)";
        for c in [&ch, ANNOUNCE, STAKE] {
            assert!(d.contents(c).iter().any(|t| t == update), "{c}: {:?}", d.contents(c));
        }
        let attachments: Vec<_> = d.messages(&ch).into_iter().flat_map(|m| m.attachments).collect();
        assert_eq!(attachments.len(), 1, "the postmortem draft is attached");
        let draft = String::from_utf8(attachments[0].1.clone()).unwrap();
        assert!(attachments[0].0.ends_with(".md"), "{}", attachments[0].0);
        assert!(draft.contains("error rate 35%"), "{draft}");
        assert!(!draft.contains("rollback started"), "an un-flagged message stays out: {draft}");
        let everyone = d.channel(&ch).unwrap().overwrites.into_iter().find(|o| o.id == GUILD).expect("@everyone overwrite");
        assert!(everyone.deny & SEND != 0, "closing locks the channel");
        assert_no_post_can_ping(&bot);
        assert_eq!(d.violations(), Vec::<String>::new(), "every call matches the Discord spec");
        bot.server.stop().await.unwrap();
    }
}

on_both_backends! {
    async fn a_private_discord_incident_is_hidden_from_everyone_but_its_members(db: &TestDb) {
        let bot = Bot::start(&db.url, DiscordInteractions::Gateway, false).await;
        let d = &bot.discord;
        bot.command(CAROL, STAKE, "subscribe", json!([])).await;
        bot.command(ALICE, GENERAL, "declare", json!([text("title", "Leaked keys"), json!({"name": "private", "type": 5, "value": true})])).await;
        bot.settled().await;
        let ch = bot.channel_of(1, Platform::Discord).await;
        bot.command(ALICE, &ch, "invite", json!([user("user", BOB)])).await;
        bot.settled().await;
        let overwrites = d.channel(&ch).unwrap().overwrites;
        let of = |id: &str| overwrites.iter().find(|o| o.id == id).cloned();
        assert!(of(GUILD).expect("@everyone").deny & VIEW != 0, "everyone is denied the view");
        assert!(of(BOT_USER_ID).expect("the bot").allow & VIEW != 0, "the bot keeps its view");
        assert!(of(BOB).expect("the invited member").allow & VIEW != 0, "an invited member sees it");
        assert!(of(CAROL).is_none());
        assert!(d.contents(ANNOUNCE).is_empty(), "a private incident is never announced");
        assert!(d.contents(STAKE).is_empty(), "nor sent to subscribers: {:?}", d.contents(STAKE));
        let (_, page) = crate::support::http::get(bot.server.addr, "/status").await;
        assert!(!page.contains("Leaked"), "nor shown on /status");
        let listed = bot.command(CAROL, GENERAL, "list", json!([])).await;
        assert!(!listed.contains("Leaked"), "{listed}");
        assert_eq!(d.violations(), Vec::<String>::new());
    }
}

/// Signature headers for `body` at `ts`, signed with `key`.
fn signed(body: &str, ts: i64, key: [u8; 32]) -> Vec<(&'static str, String)> {
    use ed25519_dalek::Signer;
    let ts = ts.to_string();
    let key = ed25519_dalek::SigningKey::from_bytes(&key);
    let sig = key.sign(format!("{ts}{body}").as_bytes());
    vec![
        ("Content-Type", "application/json".into()),
        ("X-Signature-Ed25519", hex::encode(sig.to_bytes())),
        ("X-Signature-Timestamp", ts),
    ]
}

on_both_backends! {
    async fn discord_http_interactions_are_verified_and_answered_inline(db: &TestDb) {
        use crate::support::bot::DISCORD_SIGNING_KEY;
        use crate::support::http::request;
        let bot = Bot::start(&db.url, DiscordInteractions::Http, false).await;
        let addr = bot.server.addr;
        let now = chrono::Utc::now().timestamp();
        let post = |headers: Vec<(&'static str, String)>, body: String| async move {
            request(addr, "POST", "/discord/interactions", &headers, body.as_bytes()).await
        };
        let ping = json!({"id": "1", "application_id": crate::support::discord_api::APP_ID, "type": 1, "token": "t", "version": 1}).to_string();
        let (status, body) = post(signed(&ping, now, DISCORD_SIGNING_KEY), ping.clone()).await;
        assert_eq!((status, serde_json::from_str::<Value>(&body).unwrap()), (200, json!({"type": 1})));

        let (_, declare) = bot.discord.command_interaction(ALICE, GENERAL, "declare", json!([text("title", "Fake")]));
        let declare = declare.to_string();
        let forged = post(signed(&declare, now, [3; 32]), declare.clone()).await;
        let stale = post(signed(&declare, now - 301, DISCORD_SIGNING_KEY), declare.clone()).await;
        let unsigned = post(vec![("Content-Type", "application/json".into())], declare.clone()).await;
        assert_eq!([forged.0, stale.0, unsigned.0], [401, 401, 401]);
        assert!(bot.store.incident(tocsin::incident::IncidentId(1)).await.unwrap().is_none(), "refused requests change nothing");

        let (status, body) = post(signed(&declare, now, DISCORD_SIGNING_KEY), declare.clone()).await;
        assert_eq!(status, 200, "{body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["type"], 4);
        assert_eq!(answer["data"]["flags"], 64);
        assert!(answer["data"]["content"].as_str().unwrap().contains("INC-1"), "{answer}");
        let (status, _) = post(signed("not json", now, DISCORD_SIGNING_KEY), "not json".into()).await;
        assert_eq!(status, 400);
        bot.settled().await;
        assert!(bot.discord.channel_ids().iter().any(|c| bot.discord.channel(c).unwrap().name == "inc-1-fake"));
    }
}

on_both_backends! {
    async fn a_channel_on_either_platform_follows_incidents_declared_on_the_other(db: &TestDb) {
        let bot = Bot::start(&db.url, DiscordInteractions::Gateway, true).await;
        let slack = bot.slack.clone().unwrap();
        let said = bot.slack_command("UBOB", "CSTAKE", "subscribe").await;
        assert!(!said.contains("Sorry"), "{said}");
        bot.command(CAROL, STAKE, "subscribe", json!([])).await;

        bot.command(ALICE, GENERAL, "declare", json!([text("title", "Checkout failing")])).await;
        bot.settled().await;
        let dch = bot.channel_of(1, Platform::Discord).await;
        bot.command(ALICE, &dch, "update", json!([text("status", "identified"), text("message", "Bad deploy")])).await;

        bot.slack_command("UALICE", "CGENERAL", "declare Search slow").await;
        bot.settled().await;
        let sch = bot.channel_of(2, Platform::Slack).await;
        bot.slack_command("UALICE", &sch, "update monitoring Cache warmed").await;
        bot.settled().await;

        let on_slack = slack.texts("CSTAKE");
        assert!(on_slack.iter().any(|t| t.contains("INC-1") && t.contains("Bad deploy")), "Slack follows Discord: {on_slack:?}");
        let on_discord = bot.discord.contents(STAKE);
        assert!(on_discord.iter().any(|t| t.contains("INC-2") && t.contains("Cache warmed")), "Discord follows Slack: {on_discord:?}");
        assert_eq!(slack.violations(), Vec::<String>::new());
        assert_eq!(bot.discord.violations(), Vec::<String>::new());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_work_is_answered_thinking_at_once_and_followed_up() {
    use sqlx::Connection;
    let db = crate::support::db::TestDb::sqlite();
    let bot = Bot::start(&db.url, DiscordInteractions::Gateway, false).await;
    // Someone else holds SQLite's write lock, so the declare has to wait for it.
    let mut blocker = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut blocker).await.unwrap();
    let (id, payload) = bot.discord.command_interaction(
        ALICE,
        GENERAL,
        "declare",
        json!([text("title", "Slow disk")]),
    );
    bot.discord.dispatch("INTERACTION_CREATE", payload.clone());
    let d = bot.discord.clone();
    let id2 = id.clone();
    crate::support::eventually("a deferred answer", std::time::Duration::from_secs(3), || {
        let (d, id) = (d.clone(), id2.clone());
        async move { d.callback(&id).is_some() }
    })
    .await;
    assert_eq!(bot.discord.callback(&id).unwrap()["type"], 5, "thinking…, within Discord's 3 s");
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    let said = bot.answer(&id, &payload).await;
    assert!(said.contains("INC-1"), "the follow-up has the real answer: {said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_discord_register_bulk_overwrites_the_guilds_commands() {
    use crate::support::discord_api::{APP_ID, DiscordApi};
    let d = DiscordApi::start(&[(GENERAL, "general")], &[ALICE]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bot.toml");
    let toml = format!(
        "[database]\nurl = \"sqlite://{}\"\n[discord]\nbot_token = \"discord-bot-token\"\napplication_id = \"{APP_ID}\"\npublic_key = \"{}\"\nguild_id = \"{GUILD}\"\napi_base_url = \"{}\"\n",
        dir.path().join("t.db").display(),
        crate::support::bot::public_key(),
        d.base_url()
    );
    std::fs::write(&config, toml).unwrap();
    let register = |config: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_tocsin"))
                .args(["commands", "discord", "--register", "--config"])
                .arg(config)
                .output()
                .unwrap()
        })
    };
    for _ in 0..2 {
        let out = register(config.clone()).await.unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("registered 2 commands in guild {GUILD}")
        );
    }
    let names: Vec<Value> =
        d.commands().as_array().unwrap().iter().map(|c| c["name"].clone()).collect();
    assert_eq!(
        names,
        [json!("incident"), json!("Add to timeline")],
        "run twice, still two: an overwrite"
    );
    assert_eq!(d.violations(), Vec::<String>::new());

    let without = dir.path().join("none.toml");
    std::fs::write(&without, "").unwrap();
    let out = register(without).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--register needs a [discord] section"));
}

on_both_backends! {
    async fn while_slack_fails_discord_keeps_working_and_readiness_says_degraded(db: &TestDb) {
        use crate::support::http::get;
        use crate::support::slack_api::Failure;
        // Half a second of failing counts as an outage here (a minute by default).
        let bot = Bot::start_with(&db.url, DiscordInteractions::Gateway, true, |_, o| {
            o.retry.degraded_after = std::time::Duration::from_millis(500);
        })
        .await;
        let slack = bot.slack.clone().unwrap();
        bot.slack_command("UBOB", "CSTAKE", "subscribe").await;
        slack.fail("chat.postMessage", [Failure::Status(503), Failure::Status(503)]);
        bot.command(ALICE, GENERAL, "declare", json!([text("title", "Checkout failing")])).await;
        let d = bot.discord.clone();
        crate::support::eventually("Discord posts while Slack fails", std::time::Duration::from_secs(10), || {
            let d = d.clone();
            async move { d.channel_ids().iter().any(|c| d.channel(c).unwrap().name.starts_with("inc-1")) && !d.contents(ANNOUNCE).is_empty() }
        })
        .await;
        let addr = bot.server.addr;
        crate::support::eventually("readiness to say degraded", std::time::Duration::from_secs(10), || async move {
            let (status, body) = get(addr, "/readyz").await;
            status == 503 && body.starts_with("degraded: slack is failing")
        })
        .await;
        assert_eq!(get(addr, "/healthz").await, (200, "ok\n".to_string()), "liveness stays up");
        let (_, metrics) = get(addr, "/metrics").await;
        assert!(metrics.contains("tocsin_platform_degraded{platform=\"slack\"} 1"), "{metrics}");
        assert!(metrics.contains("tocsin_platform_degraded{platform=\"discord\"} 0"), "{metrics}");
        assert!(metrics.contains("tocsin_outbox_pending_by_platform{platform=\"slack\"} "), "{metrics}");
        bot.settled().await;
        assert_eq!(get(addr, "/readyz").await, (200, "ready\n".to_string()), "ready again once Slack answers");
        assert!(slack.texts("CSTAKE").iter().any(|t| t.contains("INC-1")), "nothing lost: {:?}", slack.texts("CSTAKE"));
    }
}

on_both_backends! {
    async fn discord_enforces_who_may_run_each_subcommand(db: &TestDb) {
        let bot = Bot::start(&db.url, DiscordInteractions::Gateway, false).await;
        bot.command(ALICE, GENERAL, "declare", json!([text("title", "Checkout failing")])).await;
        bot.settled().await;
        let ch = bot.channel_of(1, Platform::Discord).await;
        let said = bot.command(CAROL, &ch, "update", json!([text("status", "identified"), text("message", "not mine to say")])).await;
        assert!(said.contains("only responders of INC-1 can do that"), "{said}");
        bot.command(ALICE, &ch, "invite", json!([user("user", BOB)])).await;
        let said = bot.command(BOB, &ch, "role", json!([text("role", "commander"), user("user", BOB)])).await;
        assert!(said.contains("only the commander or the role's current holder"), "{said}");
        let said = bot.command(ALICE, &ch, "role", json!([text("role", "commander"), user("user", BOB)])).await;
        assert!(!said.contains("only"), "the commander hands over: {said}");
        let said = bot.command(DAVE, GENERAL, "declare", json!([text("title", "Anyone may declare")])).await;
        assert!(said.contains("INC-2"), "{said}");
        let incident = bot.store.incident(tocsin::incident::IncidentId(1)).await.unwrap().unwrap().value;
        assert!(incident.updates.is_empty(), "the refused update changed nothing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_a_messages_reactions_takes_its_reaction_flags_off_the_timeline() {
    let db = crate::support::db::TestDb::sqlite();
    let bot = Bot::start(&db.url, DiscordInteractions::Gateway, false).await;
    bot.command(ALICE, GENERAL, "declare", json!([text("title", "Queue backlog")])).await;
    bot.settled().await;
    let ch = bot.channel_of(1, Platform::Discord).await;
    let d = &bot.discord;
    let m = d.say(&ch, DAVE, "backlog at 2M");
    d.react(&ch, &m, PIN, BOB);
    d.react(&ch, &m, PIN, CAROL);
    crate::support::eventually("both 📌 flags", std::time::Duration::from_secs(10), || async {
        bot.entry(&ch, &m).await.is_some_and(|e| e.flags.len() == 2)
    })
    .await;
    d.dispatch(
        "MESSAGE_REACTION_REMOVE_ALL",
        json!({"channel_id": ch, "message_id": m, "guild_id": GUILD}),
    );
    crate::support::eventually(
        "the entry taken off",
        std::time::Duration::from_secs(10),
        || async { bot.entry(&ch, &m).await.is_some_and(|e| e.state == EntryState::Retracted) },
    )
    .await;
}
