//! Reminders fire on time and once: the console script with `:advance`, a
//! restart between scheduling and the due time, and two replicas ticking at
//! the same moment.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use tocsin::app::Inbound;

use crate::console::tocsin;
use crate::support::chat::MemoryChat;
use crate::support::db::on_both_backends;
use crate::support::engine::Engine;

/// examples/alerts.toml with the test's database.
fn alerts_config(dir: &std::path::Path, url: &str) -> String {
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/alerts.toml"))
            .unwrap();
    let text =
        example.replace("url = \"sqlite://tocsin-alerts-demo.db\"", &format!("url = \"{url}\""));
    assert_ne!(text, example, "the example names its database");
    let path = dir.join("alerts.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The line numbers of transcript lines containing `needle`.
fn lines_with(out: &str, needle: &str) -> Vec<usize> {
    out.lines().enumerate().filter(|(_, l)| l.contains(needle)).map(|(i, _)| i).collect()
}

fn line_of(out: &str, needle: &str) -> usize {
    let found = lines_with(out, needle);
    assert_eq!(found.len(), 1, "{needle:?} once in:\n{out}");
    found[0]
}

on_both_backends! {
    async fn the_reminder_script_reminds_an_overdue_update_once_a_vacant_commander_and_nothing_after_resolve(db: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let config = alerts_config(dir.path(), &db.url);
        let script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/reminders.txt")).unwrap();
        let out = tocsin(&["console", "--config", &config], &script, dir.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!stdout.contains("\n! "), "no console command went wrong:\n{stdout}");
        crate::console::assert_excerpt_is_real("## Acknowledgement and reminders", &stdout);

        assert!(stdout.contains("* generic alert: Opened INC-1 (SEV2) from the alert"));
        assert!(stdout.contains("Commander: none yet"), "the alert's incident has no commander");
        // The vacant roles, the commander first, ten minutes in; once.
        let roles = line_of(&stdout, "👤 INC-1 still has no incident commander, communications lead, scribe");
        let ack = line_of(&stdout, "dave> /incident ack");
        assert!(roles < ack);
        // At 03:40 the overdue update, with no commander to name.
        let no_commander = line_of(&stdout, "⏰ INC-1: no status update for 30 minutes. There is no commander");
        let takes = line_of(&stdout, "dave> /incident role commander @dave");
        assert!(ack < no_commander && no_commander < takes);
        // Not at 04:09, at 04:10 naming dave, and not again a minute later.
        let at_0409 = line_of(&stdout, "dave> :advance 29m");
        let named = line_of(&stdout, "⏰ INC-1: no status update for 30 minutes. @dave, time for");
        assert_eq!(named, at_0409 + 2, "right after the :advance 1m that reaches 04:10:\n{stdout}");
        assert_eq!(lines_with(&stdout, "⏰").len(), 2, "two update reminders in all:\n{stdout}");
        // After resolve, three hours pass in silence.
        let resolved = line_of(&stdout, "dave> /incident resolve");
        assert!(lines_with(&stdout, "⏰").iter().chain(&lines_with(&stdout, "👤 INC-1 still")).all(|l| *l < resolved));
        assert!(stdout.contains("Acknowledged by @dave at 03:20 UTC (10m after declaring)"));
        assert_eq!(lines_with(&stdout, "Alert firing:").len(), 1, "the repeated notification added nothing");
        assert_eq!(lines_with(&stdout, "Alert resolved (the incident stays open").len(), 1);
    }
}

on_both_backends! {
    async fn a_restart_between_schedule_and_due_time_still_reminds_exactly_once(db: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let config = alerts_config(dir.path(), &db.url);
        let run = |script: &str| {
            let out = tocsin(&["console", "--config", &config], script, dir.path());
            assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).to_string()
        };
        // Declared at 14:00 (SEV2: an update is due by 14:30); the process stops at 14:20.
        let first = run(":clock 2026-11-22T14:00:00Z\n/incident declare SEV2 Search is slow\n:advance 20m\n");
        assert!(lines_with(&first, "⏰").is_empty(), "{first}");
        // Started again at 14:25; 14:30 passes while it runs.
        let second = run(":clock 2026-11-22T14:25:00Z\n:advance 10m\n");
        assert_eq!(lines_with(&second, "⏰ INC-1: no status update for 30 minutes").len(), 1, "{second}");
        // And once more, after the due time: the reminder was recorded as sent.
        let third = run(":clock 2026-11-22T14:36:00Z\n:advance 1m\n");
        assert!(lines_with(&third, "⏰").is_empty(), "{third}");
    }
}

on_both_backends! {
    async fn two_replicas_ticking_at_the_same_moment_send_one_reminder(db: &TestDb) {
        let chat = Arc::new(MemoryChat::new(tocsin::incident::Platform::Slack, &["CGENERAL", "CANNOUNCE"]));
        let a = Engine::start_with(&db.url, chat.clone()).await;
        let b = Engine::start_with(&db.url, chat.clone()).await;
        let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap();
        a.clock.set(t0);
        let reply = a.run("UALICE", "CGENERAL", "declare SEV1 Payments down").await;
        assert!(reply.recorded(), "{:?}", reply.message.to_plain());
        a.deliver_all().await;
        let due = a.app.next_reminder().await.expect("a reminder is scheduled");
        assert_eq!(due, t0 + Duration::minutes(10), "vacant roles first; the SEV1 update at 15m");
        for e in [&a, &b] {
            e.clock.set(t0 + Duration::minutes(16));
        }
        // Both replicas find both reminders due and race to send them.
        let (ra, rb) = tokio::join!(a.app.handle(Inbound::tick()), b.app.handle(Inbound::tick()));
        assert!(ra.recorded() && rb.recorded());
        a.deliver_all().await;
        let channel = a.channel_of(1).await;
        let posts = chat.posts(&channel);
        let reminders: Vec<&String> = posts.iter().filter(|p| p.starts_with('⏰') || p.contains("still has no")).collect();
        assert_eq!(reminders.len(), 2, "one update and one roles reminder: {posts:?}");
        let (ra, rb) = tokio::join!(a.app.handle(Inbound::tick()), b.app.handle(Inbound::tick()));
        assert!(ra.recorded() && rb.recorded());
        a.deliver_all().await;
        assert_eq!(chat.posts(&channel).len(), posts.len(), "nothing more is due");
    }
}
