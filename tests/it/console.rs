//! The `tocsin` binary itself: the scripted example incident through the
//! console, export, and configuration errors.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::db::on_both_backends;

pub(crate) fn tocsin(args: &[&str], stdin: &str, dir: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tocsin");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().expect("tocsin finishes")
}

pub(crate) fn demo_config(dir: &Path, url: &str) -> String {
    let path = dir.join("bot.toml");
    let text = format!(
        "[database]\nurl = \"{url}\"\n\n[[teams]]\nname = \"payments\"\nconsole_users = [\"dave\", \"erin\"]\n"
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The posts the transcript shows in one channel, without the "#channel [n] author:" prefix.
fn posts_in<'a>(out: &'a str, channel: &str) -> Vec<&'a str> {
    let prefix = format!("#{channel} [");
    out.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.split_once("] ").map(|(_, rest)| rest))
        .collect()
}

/// The lines of the first ``` block after `heading` in the README, but "…".
pub(crate) fn readme_excerpt(heading: &str) -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let after = &readme[readme.find(heading).expect("the heading")..];
    let block = &after[after.find("```\n").expect("a block") + 4..];
    let block = &block[..block.find("\n```").unwrap()];
    block.lines().filter(|l| *l != "…").map(str::to_string).collect()
}

/// Every line the README shows is a line the run printed.
pub(crate) fn assert_excerpt_is_real(heading: &str, stdout: &str) {
    let printed: std::collections::HashSet<&str> = stdout.lines().collect();
    for line in readme_excerpt(heading) {
        assert!(
            printed.contains(line.as_str()),
            "README under {heading:?} shows a line the run did not print:\n{line}"
        );
    }
}

on_both_backends! {
    async fn the_example_script_runs_a_whole_incident_and_prints_its_postmortem(db: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let config = demo_config(dir.path(), &db.url);
        let script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/incident.txt")).unwrap();
        let out = tocsin(&["console", "--config", &config], &script, dir.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!stdout.contains("\n! "), "no console command went wrong:\n{stdout}");
        assert_excerpt_is_real("## A worked example", &stdout);

        let channel = "inc-1-checkout-failing-for-eu-customers";
        let incident_posts = posts_in(&stdout, channel);
        assert!(incident_posts[0].starts_with("tocsin: 🚨 INC-1 · SEV2 · *Checkout failing for EU customers*"));
        let announce = posts_in(&stdout, "announce");
        let stakeholders = posts_in(&stdout, "stakeholders");
        assert_eq!(announce.len(), 4, "declared, two updates, resolved: {announce:?}");
        assert_eq!(announce, stakeholders, "the subscribed channel gets every announcement");
        assert!(stdout.contains(&format!("* tocsin archived #{channel}")));

        let start = stdout.find("----- [24] INC-1-postmortem.md -----").expect("the postmortem was posted");
        let end = stdout.find("----- end of INC-1-postmortem.md -----").unwrap();
        let pm = &stdout[start..end];
        let timeline = &pm[pm.find("## Timeline").unwrap()..];
        let edited = timeline.find("| @dave | message | Error rate on checkout-api jumped to 30% at 14:01 (EU only) *(edited)* |");
        let rollback = timeline.find("| @erin | message | Rolling back payments-api to 4.1 |");
        assert!(edited.unwrap() < rollback.unwrap(), "flags in message-time order:\n{timeline}");
        assert!(!pm.contains("Deploy 4.2 of payments-api went out"), "the un-flagged message is left out");
        assert_eq!(timeline.matches("| message |").count(), 2);
        for update in [
            "| 14:06:00 | Identified | Bad deploy of payments-api 4.2 | @bob |",
            "| 14:12:00 | Monitoring | Rolled back to 4.1; error rate falling | @bob |",
        ] {
            assert!(pm.contains(update), "{update}");
        }
        assert!(pm.contains("- **Incident commander**: @bob (since 14:02; before: @alice 14:00–14:02)"));
        assert!(pm.contains("- **Scribe**: @carol (since 14:02)"));
        assert!(pm.contains("| Time to first update (declared → first update) | 6m |"));
        assert!(pm.contains("| Time to mitigate (declared → mitigated) | 12m |"));
        assert!(pm.contains("| Time to resolve (declared → resolved) | 42m |"));
        assert!(pm.contains("1. Add a canary stage to payments-api deploys — owner: @erin"));

        let json = tocsin(&["export", "INC-1", "--format", "json", "--config", &config], "", dir.path());
        assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
        let record: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(record["incident"]["status"], "closed");
        assert_eq!(record["channels"][0]["name"], channel);
        let retracted = record["timeline"].as_array().unwrap().iter().filter(|e| e["state"] == "retracted").count();
        assert_eq!(retracted, 1, "the un-flagged message is kept in the record, retracted");
        let md = tocsin(&["export", "INC-1", "--config", &config], "", dir.path());
        assert!(String::from_utf8_lossy(&md.stdout).starts_with("# Postmortem: INC-1 — Checkout failing for EU customers"));
    }
}

#[test]
fn a_malformed_config_exits_2_with_one_line_naming_file_key_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bot.toml"), "[incidents]\ndefault_severity = \"SEV9\"\n")
        .unwrap();
    for args in [&["config", "check"][..], &["console"][..]] {
        let out = tocsin(args, "", dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr,
            "error: bot.toml: incidents.default_severity: \"SEV9\" is not one of the severities (SEV1, SEV2, SEV3, SEV4)\n"
        );
        assert!(!dir.path().join("tocsin.db").exists(), "nothing was created");
    }
}

#[test]
fn serving_alerts_without_a_chat_platform_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bot.toml"), "[alerts]\ntoken = \"0123456789abcdef\"\n")
        .unwrap();
    let out = tocsin(&["serve"], "", dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: bot.toml: alerts: needs [slack] or [discord] for the incidents alerts open (`tocsin console` tries the rules with :alert)\n"
    );
    assert!(!dir.path().join("tocsin.db").exists(), "nothing was created");
}

#[test]
fn status_counts_a_single_responder_in_the_singular() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        demo_config(dir.path(), &format!("sqlite://{}", dir.path().join("t.db").display()));
    let script = "/incident declare SEV2 Checkout down\n/incident status\n/incident invite payments\n/incident status\n";
    let out = tocsin(&["console", "--config", &config], script, dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.matches("· 1 responder\n").count(), 1, "{stdout}");
    assert_eq!(stdout.matches("· 3 responders\n").count(), 1, "{stdout}");
}

#[test]
fn exporting_an_incident_that_does_not_exist_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        demo_config(dir.path(), &format!("sqlite://{}", dir.path().join("t.db").display()));
    let out = tocsin(&["export", "INC-9", "--config", &config], "", dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "error: there is no INC-9 in this database\n");
    let out = tocsin(&["export", "nine", "--config", &config], "", dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: \"nine\" is not an incident; incidents look like INC-7\n"
    );
}

#[test]
fn the_slack_manifest_and_discord_commands_print_as_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bot.toml"),
        "[server]\npublic_url = \"https://tocsin.example.com\"\n",
    )
    .unwrap();
    let out = tocsin(&["manifest", "slack"], "", dir.path());
    assert!(out.status.success());
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        manifest["settings"]["event_subscriptions"]["request_url"],
        "https://tocsin.example.com/slack/events"
    );
    let out = tocsin(&["commands", "discord"], "", dir.path());
    assert!(out.status.success());
    let commands: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(commands[0]["name"], "incident");
    assert_eq!(commands[1]["name"], "Add to timeline");

    std::fs::remove_file(dir.path().join("bot.toml")).unwrap();
    let out = tocsin(&["manifest", "slack"], "", dir.path());
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Socket Mode"),
        "the operator is told why"
    );
}

on_both_backends! {
    async fn export_all_and_import_round_trip_a_database(db: &TestDb) {
        let other = if db.url.starts_with("postgres") {
            crate::support::db::TestDb::postgres().await.expect("a second PostgreSQL database")
        } else {
            crate::support::db::TestDb::sqlite()
        };
        let dir = tempfile::tempdir().unwrap();
        let source = demo_config(dir.path(), &db.url);
        let script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/incident.txt")).unwrap();
        let more = "/incident declare SEV1 Second one --private\n/incident subscribe INC-2\n";
        assert!(tocsin(&["console", "--config", &source], &format!("{script}{more}"), dir.path()).status.success());
        let backup = tocsin(&["export", "--all", "--config", &source], "", dir.path());
        assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
        let backup = String::from_utf8(backup.stdout).unwrap();
        let records = backup.lines().filter(|l| !l.starts_with("{\"audit\"")).count();
        assert_eq!(records, 3, "two incidents, one subscription:\n{backup}");
        let audit = backup.lines().filter(|l| l.starts_with("{\"audit\"")).count();
        assert!(audit >= 10, "and the audit log:\n{backup}");

        let target_dir = tempfile::tempdir().unwrap();
        let target = demo_config(target_dir.path(), &other.url);
        let bad = tocsin(&["import", "--config", &target], &format!("{backup}{{\"nonsense\": 1}}\n"), dir.path());
        assert_eq!(bad.status.code(), Some(2));
        let at = format!("line {}: not a tocsin export line", backup.lines().count() + 1);
        assert!(String::from_utf8_lossy(&bad.stderr).contains(&at));
        let empty = tocsin(&["export", "--all", "--config", &target], "", dir.path());
        assert_eq!(String::from_utf8_lossy(&empty.stdout), "", "a bad file changes nothing");

        let imported = tocsin(&["import", "--config", &target], &backup, dir.path());
        assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
        let again = tocsin(&["export", "--all", "--config", &target], "", dir.path());
        assert_eq!(String::from_utf8(again.stdout).unwrap(), backup, "the round trip is exact");
        let twice = tocsin(&["import", "--config", &target], &backup, dir.path());
        assert_eq!(twice.status.code(), Some(2), "importing into a database with incidents is refused");
        let md = tocsin(&["export", "INC-1", "--config", &target], "", dir.path());
        assert!(String::from_utf8_lossy(&md.stdout).contains("Checkout failing for EU customers"));
    }
}
