//! The Discord REST client under platform trouble: rate limits per route and
//! global, 5xx, missing permissions. Nothing lost, nothing posted twice.

use std::sync::Arc;

use tocsin::chat::discord::client::DiscordChat;
use tocsin::config::DiscordConfig;
use tocsin::incident::Platform;

use crate::support::bot::{ALICE, ANNOUNCE, BOB, DAVE, GENERAL, STAKE};
use crate::support::db::on_both_backends;
use crate::support::discord_api::{APP_ID, CATEGORY, DiscordApi, Failure, GUILD};
use crate::support::engine::Engine;

const POST: &str = "POST /channels/{channel_id}/messages";

async fn start(url: &str) -> (Engine<DiscordChat>, DiscordApi) {
    let api = DiscordApi::start(
        &[(GENERAL, "general"), (ANNOUNCE, "announce"), (STAKE, "stakeholders")],
        &[ALICE, BOB, DAVE],
    )
    .await;
    let mut config = DiscordConfig::new("discord-bot-token", APP_ID, "ab".repeat(32), GUILD);
    config.api_base_url = api.base_url();
    config.category_id = Some(CATEGORY.into());
    let chat = Arc::new(DiscordChat::new(&config));
    (Engine::start_on(url, ANNOUNCE, chat, &[DAVE]).await, api)
}

fn notes(api: &DiscordApi, ch: &str) -> Vec<String> {
    api.contents(ch).into_iter().filter(|t| t.starts_with("📝")).collect()
}

on_both_backends! {
    async fn discord_429s_and_5xx_delay_posts_but_lose_none_and_keep_their_order(db: &TestDb) {
        let (e, d) = start(&db.url).await;
        e.run(ALICE, GENERAL, "declare Checkout failing").await;
        e.deliver_all().await;
        let ch = e.channel_of(1).await;
        d.fail(POST, [
            Failure::RateLimited { retry_after: 0.2, global: false },
            Failure::Status(503),
            Failure::Status(500),
            Failure::RateLimited { retry_after: 0.3, global: true },
            Failure::Status(502),
        ]);
        for n in 1..=6 {
            e.run(ALICE, &ch, &format!("note step {n}")).await;
        }
        e.deliver_all().await;
        let want: Vec<String> = (1..=6).map(|n| format!("📝 Note from <@{ALICE}>: step {n}")).collect();
        assert_eq!(notes(&d, &ch), want, "all there, once each, in order");
        assert_eq!(d.calls_while_globally_limited(), 0, "no calls while Discord's global limit holds");
        let retried = e.outbox.counters.get(Platform::Discord).retried;
        assert!(retried >= 5, "each failure was retried: {retried}");
        let posts: usize = [ch.as_str(), ANNOUNCE].iter().map(|c| d.contents(c).len()).sum();
        assert_eq!(d.calls(POST), posts + 5, "each failure cost one call, nothing more");
        assert_eq!(d.violations(), Vec::<String>::new());
    }
}

on_both_backends! {
    async fn missing_permissions_in_one_channel_fail_that_post_alone(db: &TestDb) {
        let (e, d) = start(&db.url).await;
        e.run(BOB, STAKE, "subscribe").await;
        e.run(ALICE, GENERAL, "declare SEV1 Payments down").await;
        e.deliver_all().await;
        let ch = e.channel_of(1).await;
        d.fail(POST, [Failure::Api { status: 403, code: 50013, message: "Missing Permissions" }]);
        e.run(ALICE, &ch, "update identified Bad deploy").await;
        e.run(ALICE, &ch, "note rolled back").await;
        e.deliver_all().await;
        let stats = e.store.outbox_stats().await.unwrap();
        assert_eq!(stats.pending, 0);
        assert_eq!(e.outbox.counters.get(Platform::Discord).failed, 1, "the refusal is recorded, once");
        let update = format!("📣 INC-1 — Identified: Bad deploy (<@{ALICE}>)");
        let everywhere: usize = [ch.as_str(), ANNOUNCE, STAKE]
            .iter()
            .filter(|c| d.contents(c).contains(&update))
            .count();
        assert_eq!(everywhere, 2, "the refused post is the only one missing");
        assert_eq!(notes(&d, &ch), [format!("📝 Note from <@{ALICE}>: rolled back")]);
        assert_eq!(d.violations(), Vec::<String>::new());
    }
}

on_both_backends! {
    async fn a_discord_channel_made_before_a_crash_is_adopted_not_duplicated(db: &TestDb) {
        let (e, d) = start(&db.url).await;
        // The first attempt's answer is lost after Discord made the channel:
        // the double makes it, then the bot sees a 502 from a proxy.
        d.fail("POST /guilds/{guild_id}/channels", [Failure::StatusAfterApplying(502)]);
        e.run(ALICE, GENERAL, "declare Disk full").await;
        e.deliver_all().await;
        let ch = e.channel_of(1).await;
        let named: Vec<String> = d.channel_ids().into_iter().filter(|c| d.channel(c).unwrap().name == "inc-1-disk-full").collect();
        assert_eq!(named, [ch], "one channel of that name");
        assert_eq!(d.violations(), Vec::<String>::new());
    }
}

on_both_backends! {
    async fn a_long_post_that_fails_halfway_resumes_without_repeating_its_first_part(db: &TestDb) {
        let (e, d) = start(&db.url).await;
        e.run(ALICE, GENERAL, "declare Checkout failing").await;
        e.deliver_all().await;
        let ch = e.channel_of(1).await;
        let long: String = (0..100).map(|n| format!("line {n:02} {}\n", "x".repeat(50))).collect();
        d.fail(POST, [Failure::Pass, Failure::Status(500), Failure::Pass, Failure::Status(503)]);
        e.run(ALICE, &ch, &format!("note {long}")).await;
        e.deliver_all().await;
        let parts: Vec<String> =
            d.contents(&ch).into_iter().filter(|t| t.contains(" xxxxx")).collect();
        assert_eq!(parts.len(), 4, "four parts, each posted once: {parts:#?}");
        assert!(parts[0].starts_with("📝 Note from") && parts[0].contains("line 00"));
        assert!(parts[3].contains("line 99"));
        for n in 0..100 {
            let line = format!("line {n:02} ");
            assert_eq!(parts.iter().filter(|p| p.contains(&line)).count(), 1, "{line} once");
        }
        assert_eq!(d.violations(), Vec::<String>::new());
    }
}
