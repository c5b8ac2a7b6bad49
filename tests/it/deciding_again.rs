//! A change to an incident that another write moved on is decided again
//! against the incident as it now stands, by the store (inside SQLite's
//! group writer, in arrival order; after PostgreSQL's version check), not
//! given up as a conflict for the caller to retry.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{TimeZone, Utc};
use tocsin::incident::*;
use tocsin::store::{self, Commit, Redecide, Store, Versioned, Write};

use crate::support::db::on_both_backends;
use crate::support::engine::Engine;

fn alice() -> UserRef {
    UserRef::new(Platform::Console, "alice")
}

fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap()
}

async fn declared(s: &dyn Store) -> Versioned<Incident> {
    let id = s.next_incident_id().await.unwrap();
    let cmd = Declare {
        title: "Checkout errors".into(),
        severity: None,
        private: false,
        platform: Platform::Console,
    };
    let d = declare(&Rules::default(), id, cmd, &alice(), at()).unwrap();
    s.commit(Commit { incident: Some(Write::Insert(d.incident)), ..Default::default() })
        .await
        .unwrap();
    s.incident(id).await.unwrap().unwrap()
}

/// Appends `word` to the title and notes it, decided on `v`.
fn rename(v: &Versioned<Incident>, word: &str) -> Commit {
    let mut next = v.value.clone();
    next.title = format!("{} {word}", next.title);
    let note = TimelineEntry::event(next.id, EntryKind::Note, &alice(), at(), word);
    Commit {
        incident: Some(Write::Update { value: next, version: v.version }),
        entries: vec![Write::Insert(note)],
        at: Some(at()),
        ..Default::default()
    }
}

fn again(word: &'static str, calls: Arc<AtomicUsize>) -> Redecide {
    Box::new(move |now| {
        calls.fetch_add(1, Ordering::SeqCst);
        Some(rename(now, word))
    })
}

fn notes(timeline: &[TimelineEntry]) -> usize {
    timeline.iter().filter(|e| e.kind == EntryKind::Note).count()
}

on_both_backends! {
    async fn two_changes_decided_on_one_version_are_both_written_the_later_decided_again(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        let v = declared(&*s).await;
        let calls = Arc::new(AtomicUsize::new(0));
        let (a, b) = tokio::join!(
            s.commit_deciding(rename(&v, "alpha"), again("alpha", calls.clone())),
            s.commit_deciding(rename(&v, "beta"), again("beta", calls.clone())),
        );
        a.unwrap();
        b.unwrap();
        let now = s.incident(v.value.id).await.unwrap().unwrap();
        assert_eq!(now.version, v.version + 2, "both changes were written");
        assert!(
            ["Checkout errors alpha beta", "Checkout errors beta alpha"].contains(&now.value.title.as_str()),
            "the later change was made on top of the earlier one: {}",
            now.value.title
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1, "only the later change was decided again");
        assert_eq!(notes(&s.timeline(v.value.id).await.unwrap()), 2);
    }
}

on_both_backends! {
    async fn a_change_that_decided_again_writes_nothing_leaves_the_record_as_it_was(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        let v = declared(&*s).await;
        s.commit(rename(&v, "first")).await.unwrap();
        // Decided on the old version; decided again, it no longer writes
        // anything (as a note on an incident closed meanwhile would not).
        let written = s.commit_deciding(rename(&v, "late"), Box::new(|_| None)).await;
        assert!(written.is_ok(), "{written:?}");
        let now = s.incident(v.value.id).await.unwrap().unwrap();
        assert_eq!((now.version, now.value.title.as_str()), (v.version + 1, "Checkout errors first"));
        assert_eq!(notes(&s.timeline(v.value.id).await.unwrap()), 1, "the late note was not written");
    }
}

on_both_backends! {
    async fn fifty_notes_at_once_on_one_incident_are_all_recorded_and_answered(db: &TestDb) {
        let e = Engine::start(&db.url).await;
        let reply = e.run("UALICE", "CGENERAL", "declare SEV2 Checkout errors").await;
        assert!(reply.recorded(), "{}", reply.message.to_plain());
        e.deliver_all().await;
        let channel = e.channel_of(1).await;
        let texts: Vec<String> = (0..50).map(|i| format!("note step {i}")).collect();
        let replies =
            futures_util::future::join_all(texts.iter().map(|t| e.run("UALICE", &channel, t))).await;
        for r in &replies {
            assert!(r.message.to_plain().starts_with("Noted"), "{}", r.message.to_plain());
        }
        let timeline = e.store.timeline(IncidentId(1)).await.unwrap();
        assert_eq!(notes(&timeline), 50, "every note is on the timeline once");
        e.deliver_all().await;
        let posted = e.slack.posts(&channel).iter().filter(|p| p.contains("Note from")).count();
        assert_eq!(posted, 50, "and each was posted to the channel once");
    }
}

#[tokio::test]
async fn two_replicas_changing_one_incident_at_once_write_every_change_on_top_of_the_others() {
    let Some(db) = crate::support::db::TestDb::postgres().await else {
        eprintln!("TOCSIN_TEST_POSTGRES_URL is not set; two replicas need PostgreSQL");
        return;
    };
    // Two stores: two group writers, as two replicas have.
    let (a, b) = (store::connect(&db.url).await.unwrap(), store::connect(&db.url).await.unwrap());
    let v = declared(&*a).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let words: Vec<&'static str> = (0..40).map(|n| &*format!("w{n}").leak()).collect();
    let written = futures_util::future::join_all(words.iter().enumerate().map(|(n, w)| {
        let s = if n % 2 == 0 { &a } else { &b };
        s.commit_deciding(rename(&v, w), again(w, calls.clone()))
    }))
    .await;
    for w in written {
        w.unwrap();
    }
    let now = a.incident(v.value.id).await.unwrap().unwrap();
    assert_eq!(now.version, v.version + 40, "every change was written once");
    let parts: Vec<&str> = now.value.title.split(' ').collect();
    for w in &words {
        let times = parts.iter().filter(|p| *p == w).count();
        assert_eq!(times, 1, "each change once, on top of the others: {}", now.value.title);
    }
    assert_eq!(notes(&a.timeline(v.value.id).await.unwrap()), 40);
}
