//! Many commits of one lane written at once, while a worker claims the
//! lane's head: the lane is handed out in the order its rows were written,
//! each row once. The group writer takes commits and claims in one
//! transaction at a time; this guards that order against any overlap of its
//! transactions (two open at once on PostgreSQL was measured and left out).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tocsin::incident::*;
use tocsin::store::{self, Commit, OutboxItem, Sink};

use crate::support::db::on_both_backends;

const ROWS: u32 = 300;

fn declared() -> Decision {
    let cmd = Declare {
        title: "Checkout errors".into(),
        severity: None,
        private: false,
        platform: Platform::Console,
    };
    let by = UserRef::new(Platform::Console, "alice");
    declare(&Rules::default(), IncidentId(1), cmd, &by, Utc::now()).unwrap()
}

on_both_backends! {
    async fn a_lane_written_by_many_commits_at_once_is_handed_out_in_write_order(db: &TestDb) {
        let s = store::connect(&db.url).await.unwrap();
        let d = declared();
        s.commit(Commit { incident: Some(store::Write::Insert(d.incident)), ..Default::default() })
            .await
            .unwrap();
        // A commit that fails says so at once, not as a lane that never fills.
        let failed: Arc<Mutex<Option<String>>> = Arc::default();
        let writes = (0..ROWS).map(|n| {
            let (s, failed) = (s.clone(), failed.clone());
            tokio::spawn(async move {
                let item = OutboxItem {
                    incident: IncidentId(1),
                    sink: Platform::Slack.into(),
                    payload: format!("{{\"n\":{n}}}"),
                    channel: None,
                };
                if let Err(e) = s.commit(Commit { outbox: vec![item], ..Default::default() }).await {
                    failed.lock().unwrap().get_or_insert(format!("commit {n}: {e}"));
                }
            })
        });
        let writes: Vec<_> = writes.collect();
        // Meanwhile a worker takes the lane's head, one row at a time, as it
        // becomes visible.
        let mut handed = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while handed.len() < ROWS as usize {
            assert!(Instant::now() < deadline, "only {} of {ROWS} rows handed out", handed.len());
            if let Some(why) = failed.lock().unwrap().as_ref() {
                panic!("{why}");
            }
            let now = Utc::now();
            let head = s.claim("w", now, now + chrono::Duration::seconds(60), 10, &Sink::CHAT).await.unwrap();
            assert!(head.len() <= 1, "one head per lane: {head:?}");
            for c in head {
                s.finish(c.id, "w", now, None).await.unwrap();
                handed.push(c.id);
            }
            tokio::task::yield_now().await;
        }
        for w in writes {
            w.await.unwrap();
        }
        assert_eq!(*failed.lock().unwrap(), None);
        let mut sorted = handed.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ROWS as usize, "each row once");
        assert_eq!(handed, sorted, "the lane was handed out in the order it was written");
        assert_eq!(s.outbox_stats().await.unwrap().pending, 0);
    }
}
