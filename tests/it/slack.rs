//! The Slack adapter's Web API client (slack-morphism over real HTTP) against
//! the Slack double, through the real engine and outbox.

use std::sync::Arc;

use tocsin::chat::slack::client::SlackChat;
use tocsin::incident::{FlagVia, FlaggedMessage, MessageKey, Platform, UserRef};

use crate::support::db::on_both_backends;
use crate::support::engine::{ANNOUNCE, Engine, ctx};
use crate::support::slack_api::{Failure, SlackApi};

async fn start(url: &str) -> (Engine<SlackChat>, SlackApi) {
    let api = SlackApi::start(
        &[("CGENERAL", "general"), (ANNOUNCE, "announce"), ("CSTAKE", "stakeholders")],
        &["UALICE", "UBOB", "UDAVE", "UERIN"],
    )
    .await;
    let chat = Arc::new(SlackChat::new("xoxb-test-token", &api.base_url()));
    (Engine::start_with(url, chat).await, api)
}

on_both_backends! {
    async fn a_whole_incident_reaches_slack_through_its_web_api(db: &TestDb) {
        let (e, slack) = start(&db.url).await;
        e.run("USAM", "CSTAKE", "subscribe --min-severity SEV2").await;
        e.run("UALICE", "CGENERAL", "declare SEV2 Checkout <!channel> failing").await;
        e.deliver_all().await;
        let (ch, channel) = slack.channel_named("inc-1-checkout-channel-failing").expect("channel created");
        assert_eq!(e.channel_of(1).await, ch);
        assert_eq!(channel.members, ["UALICE"]);
        assert!(channel.topic.starts_with("SEV2 · Investigating · Commander: UALICE"), "{}", channel.topic);
        assert_eq!(channel.purpose, channel.topic);
        assert_eq!(channel.pins.len(), 1, "the header is pinned");
        assert!(channel.messages[0].1.contains("*Checkout &lt;!channel&gt; failing*"), "user text escaped: {}", channel.messages[0].1);
        let link = format!("follow in <#{ch}>");
        assert!(slack.texts(ANNOUNCE)[0].ends_with(&link), "{:?}", slack.texts(ANNOUNCE));

        e.run("UALICE", &ch, "invite <@UBOB> payments").await;
        e.run("UALICE", &ch, "update identified Bad deploy").await;
        let msg = FlaggedMessage {
            key: MessageKey { platform: Platform::Slack, channel: ch.clone(), message: "1700000000.000900".into() },
            author: UserRef::new(Platform::Slack, "UDAVE"),
            text: "error rate 30%".into(),
            at: chrono::Utc::now(),
            link: None,
            files: vec![],
        };
        e.flag(&ctx("UBOB", &ch), msg, FlagVia::Reaction).await;
        e.run("UALICE", &ch, "resolve All good").await;
        e.run("UALICE", &ch, "postmortem").await;
        e.run("UALICE", &ch, "close").await;
        e.deliver_all().await;

        let channel = slack.channel(&ch).unwrap();
        assert_eq!(channel.members, ["UALICE", "UBOB", "UDAVE", "UERIN"]);
        assert!(channel.archived);
        let update = "📣 INC-1 — Identified: Bad deploy (<@UALICE>)";
        assert!(slack.texts(&ch).contains(&update.to_string()));
        assert!(slack.texts(ANNOUNCE).contains(&update.to_string()));
        assert!(slack.texts("CSTAKE").contains(&update.to_string()));
        let files = slack.files();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].channel, ch);
        assert!(files[0].title.starts_with("Postmortem draft: INC-1"));
        assert!(files[0].comment.contains("Checkout &lt;!channel&gt; failing"), "the title is escaped in the comment Slack posts: {}", files[0].comment);
        let content = String::from_utf8(files[0].content.clone()).unwrap();
        assert!(content.contains("error rate 30%"), "the flagged message is in the uploaded draft");
        assert_eq!(slack.violations(), Vec::<String>::new(), "every call matches the Web API spec");
    }
}

on_both_backends! {
    async fn slack_429s_and_500s_delay_posts_but_lose_none_and_keep_their_order(db: &TestDb) {
        let (e, slack) = start(&db.url).await;
        e.run("UALICE", "CGENERAL", "declare Checkout failing").await;
        e.deliver_all().await;
        let ch = e.channel_of(1).await;
        slack.fail("chat.postMessage", [Failure::Status(500), Failure::RateLimited(1), Failure::Status(503), Failure::Status(502)]);
        for n in 1..=4 {
            e.run("UALICE", &ch, &format!("note step {n}")).await;
        }
        e.deliver_all().await;
        let notes: Vec<String> = slack.texts(&ch).into_iter().filter(|t| t.starts_with("📝")).collect();
        let want: Vec<String> = (1..=4).map(|n| format!("📝 Note from <@UALICE>: step {n}")).collect();
        assert_eq!(notes, want);
        assert_eq!(e.outbox.counters.get(Platform::Slack).retried, 4);
        let posts = slack.texts(&ch).len() + slack.texts(ANNOUNCE).len();
        assert_eq!(slack.calls("chat.postMessage"), posts + 4, "each failure cost one call, nothing more");
        assert_eq!(slack.violations(), Vec::<String>::new());
    }
}

on_both_backends! {
    async fn a_taken_slack_name_gets_a_suffix_and_an_uninvitable_user_keeps_no_one_else_out(db: &TestDb) {
        let (e, slack) = start(&db.url).await;
        slack.fail("conversations.create", [Failure::Api("name_taken")]);
        e.run("UALICE", "CGENERAL", "declare DB down").await;
        e.deliver_all().await;
        let ch = e.channel_of(1).await;
        assert_eq!(slack.channel(&ch).unwrap().name, "inc-1-db-down-2");
        assert!(!slack.channel(&ch).unwrap().private);
        e.run("UALICE", "CGENERAL", "declare SEV1 Leak --private").await;
        e.deliver_all().await;
        assert!(slack.channel(&e.channel_of(2).await).unwrap().private, "a private incident gets a private channel");
        e.run("UALICE", &ch, "invite <@UBOB> <@UGHOST> <@UDAVE>").await;
        e.deliver_all().await;
        assert_eq!(slack.channel(&ch).unwrap().members, ["UALICE", "UBOB", "UDAVE"]);
        assert_eq!(e.outbox.counters.get(Platform::Slack).failed, 1, "the refusal is recorded");
        assert_eq!(slack.violations(), Vec::<String>::new());
    }
}

on_both_backends! {
    async fn posts_keep_to_slacks_one_per_second_per_channel_without_drawing_429s(db: &TestDb) {
        let (e, slack) = start(&db.url).await;
        slack.limit_posts_per_channel(1);
        e.run("UBOB", "CSTAKE", "subscribe").await;
        e.run("UALICE", "CGENERAL", "declare Checkout failing").await;
        let ch = {
            e.deliver_all().await;
            e.channel_of(1).await
        };
        for status in ["identified", "monitoring", "resolved"] {
            e.run("UALICE", &ch, &format!("update {status} step")).await;
        }
        e.deliver_all().await;
        let updates = |c: &str| slack.texts(c).into_iter().filter(|t| t.starts_with("📣")).count();
        assert_eq!([updates(&ch), updates(ANNOUNCE), updates("CSTAKE")], [3, 3, 3]);
        assert_eq!(slack.rate_limited(), 0, "tocsin paced itself; Slack never had to say 429");
        for c in [ch.as_str(), ANNOUNCE, "CSTAKE"] {
            let times = slack.post_times(c);
            assert!(times.windows(2).all(|w| w[1] - w[0] >= std::time::Duration::from_millis(990)), "{c}: {times:?}");
        }
        assert!(e.outbox.counters.get(Platform::Slack).paced > 0);
        assert_eq!(e.outbox.counters.get(Platform::Slack).retried, 0);
    }
}

on_both_backends! {
    async fn a_slack_channel_made_before_a_crash_is_adopted_not_made_twice(db: &TestDb) {
        let (e, slack) = start(&db.url).await;
        // Slack creates the channel, and the answer never reaches tocsin.
        slack.fail("conversations.create", [Failure::AfterApplying(502)]);
        e.run("UALICE", "CGENERAL", "declare SEV2 Checkout failing").await;
        e.deliver_all().await;
        let ch = e.channel_of(1).await;
        assert_eq!(slack.channel(&ch).unwrap().name, "inc-1-checkout-failing", "the bot's own channel, adopted");
        assert!(slack.channel_named("inc-1-checkout-failing-2").is_none(), "no twin");
        assert_eq!(slack.calls("conversations.create"), 2);
        assert!(slack.texts(&ch).iter().any(|t| t.contains("INC-1")), "the header went to it");
        // A channel of that name that a person made is not taken over.
        slack.make_channel("CPERSON", "inc-2-search-slow", "UALICE");
        e.run("UALICE", "CGENERAL", "declare Search slow").await;
        e.deliver_all().await;
        assert_eq!(slack.channel(&e.channel_of(2).await).unwrap().name, "inc-2-search-slow-2");
        assert_eq!(slack.violations(), Vec::<String>::new());
    }
}
