//! Staged deletion through the binary: delete hides, restore undoes, bulk
//! deletion lists first and needs --confirm, purge waits out the grace
//! period, and the audit log has every step.

use tocsin::incident::IncidentId;

use crate::console::{demo_config, tocsin};
use crate::support::db::on_both_backends;

fn cli(args: &[&str], config: &str, dir: &std::path::Path) -> (bool, String, String) {
    let mut all = args.to_vec();
    all.extend(["--config", config]);
    let out = tocsin(&all, "", dir);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

on_both_backends! {
    async fn an_incident_is_deleted_in_stages_and_can_be_restored_until_the_purge(db: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let config = demo_config(dir.path(), &db.url);
        let script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/incident.txt")).unwrap();
        assert!(tocsin(&["console", "--config", &config], &format!("{script}/incident declare Second one\n"), dir.path()).status.success());
        let d = dir.path();

        let (ok, out, _) = cli(&["incident", "delete", "INC-1", "--by", "ops"], &config, d);
        assert!(ok && out.contains("INC-1 is hidden and will be purged after"), "{out}");
        let (_, backup, _) = cli(&["export", "--all"], &config, d);
        let marked = backup.lines().find(|l| l.contains("\"id\":1,")).expect("a backup keeps it");
        assert!(marked.contains("\"delete_after\""), "with its purge time: {marked}");
        let other = if db.url.starts_with("postgres") {
            crate::support::db::TestDb::postgres().await.unwrap()
        } else {
            crate::support::db::TestDb::sqlite()
        };
        let other_dir = tempfile::tempdir().unwrap();
        let other_config = demo_config(other_dir.path(), &other.url);
        assert!(tocsin(&["import", "--config", &other_config], &backup, d).status.success());
        let (_, out, _) = cli(&["incident", "deleted"], &other_config, d);
        assert!(out.starts_with("INC-1  Checkout failing"), "still marked after a restore from backup: {out}");
        let (ok, _, err) = cli(&["export", "INC-1"], &config, d);
        assert!(!ok && err.contains("there is no INC-1"), "{err}");
        let (_, out, _) = cli(&["incident", "deleted"], &config, d);
        assert!(out.starts_with("INC-1  Checkout failing for EU customers  purged after"), "{out}");
        let (ok, _, err) = cli(&["incident", "delete", "INC-1"], &config, d);
        assert!(!ok && err.contains("already marked"), "{err}");

        let (ok, out, _) = cli(&["incident", "restore", "INC-1", "--by", "ops"], &config, d);
        assert!(ok && out.contains("INC-1 is restored"), "{out}");
        assert!(cli(&["export", "INC-1"], &config, d).0, "visible again");

        let (ok, out, _) = cli(&["incident", "delete", "--closed-before", "2099-01-01"], &config, d);
        assert!(ok, "{out}");
        assert!(out.contains("INC-1  Checkout failing") && !out.contains("INC-2"), "only closed ones: {out}");
        assert!(out.contains("would mark 1 incidents for deletion; run again with --confirm"), "{out}");
        assert!(cli(&["export", "INC-1"], &config, d).0, "nothing changed without --confirm");
        let (ok, _, err) = cli(&["incident", "delete", "--closed-before", "yesterday"], &config, d);
        assert!(!ok && err.contains("is not a date"), "{err}");
        let (ok, out, _) = cli(&["incident", "delete", "--closed-before", "2099-01-01", "--confirm", "--by", "ops"], &config, d);
        assert!(ok && out.contains("INC-1 is hidden"), "{out}");

        let (_, out, _) = cli(&["incident", "purge"], &config, d);
        assert_eq!(out.trim(), "purged 0 incidents", "the grace period has not passed");
        let store = tocsin::store::connect(&db.url).await.unwrap();
        let later = chrono::Utc::now() + chrono::Duration::hours(49);
        assert_eq!(store.purge_due(later, "test").await.unwrap(), [IncidentId(1)]);
        assert!(store.timeline(IncidentId(1)).await.unwrap().is_empty(), "its timeline is gone too");
        let (ok, _, err) = cli(&["incident", "restore", "INC-1"], &config, d);
        assert!(!ok && err.contains("purged already"), "{err}");
        assert_eq!(store.next_incident_id().await.unwrap(), IncidentId(3), "a purged number is not reused");

        let (_, log, _) = cli(&["audit", "INC-1"], &config, d);
        let actions: Vec<&str> = log.lines().map(|l| l.split_whitespace().nth(2).unwrap()).collect();
        assert_eq!(actions.first(), Some(&"declare"), "{log}");
        assert!(log.contains("console:bob"), "chat changes name who made them: {log}");
        assert_eq!(&actions[actions.len() - 4..], ["delete", "restore", "delete", "purge"], "{log}");
        assert!(log.lines().filter(|l| l.contains("cli:ops")).count() == 3, "{log}");
    }
}

on_both_backends! {
    async fn a_backup_keeps_purged_incidents_numbers_from_coming_back(db: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let config = demo_config(d, &db.url);
        let script = "/incident declare One\n/incident declare Two\n";
        assert!(tocsin(&["console", "--config", &config], script, d).status.success());
        cli(&["incident", "delete", "INC-2"], &config, d);
        // Purged: due now (the purge is run with a grace of zero through the store).
        let store = tocsin::store::connect(&db.url).await.unwrap();
        store.mark_deleted(IncidentId(2), chrono::Utc::now(), test_audit()).await.unwrap();
        let purged = store.purge_due(chrono::Utc::now() + chrono::Duration::days(3), "test").await.unwrap();
        assert_eq!(purged, [IncidentId(2)]);
        let (ok, backup, _) = cli(&["export", "--all"], &config, d);
        assert!(ok);
        let other = if db.url.starts_with("postgres") {
            crate::support::db::TestDb::postgres().await.expect("a second PostgreSQL database")
        } else {
            crate::support::db::TestDb::sqlite()
        };
        let target_dir = tempfile::tempdir().unwrap();
        let target = demo_config(target_dir.path(), &other.url);
        let imported = tocsin(&["import", "--config", &target], &backup, d);
        assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
        let out = tocsin(&["console", "--config", &target], "/incident declare Three\n", d);
        let out = String::from_utf8_lossy(&out.stdout);
        assert!(out.contains("Declared INC-3"), "INC-2 was purged; its number is not given out again:\n{out}");
    }
}

fn test_audit() -> tocsin::store::Audit {
    tocsin::store::Audit {
        at: chrono::Utc::now(),
        actor: "cli:test".into(),
        action: "delete".into(),
        incident: Some(IncidentId(2)),
        detail: "test".into(),
    }
}
