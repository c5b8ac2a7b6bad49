//! The worst day at the edges: mistyped privacy, slow and hostile
//! connections, long outages, revoked tokens, hung calls, crashes between a
//! platform's answer and tocsin's record of it, deleted secrets.

use crate::support::db::on_both_backends;
use crate::support::engine::{ANNOUNCE, Engine};

on_both_backends! {
    async fn a_mistyped_private_switch_never_declares_a_public_incident(db: &TestDb) {
        let e = Engine::start(&db.url).await;
        let dash = e.run("UALICE", "CGENERAL", "declare SEV1 Payroll export leaked —private").await;
        assert_eq!(dash.message.to_plain(), "Declared INC-1 (SEV1 (private)) → #inc-1-payroll-export-leaked");
        let upper = e.run("UALICE", "CGENERAL", "declare SEV1 Payroll export leaked --PRIVATE").await;
        assert!(upper.message.to_plain().starts_with("Declared INC-2 (SEV1 (private))"), "{:?}", upper.message);
        for typo in ["--privat", "--private=false", "-–privte"] {
            let r = e.run("UALICE", "CGENERAL", &format!("declare SEV1 Payroll export leaked {typo}")).await;
            let text = r.message.to_plain();
            assert!(text.contains("Usage: /incident declare"), "{typo}: {text}");
        }
        e.deliver_all().await;
        assert!(e.slack.posts(ANNOUNCE).is_empty(), "nothing was announced");
        let all = e.store.incidents(true).await.unwrap();
        assert_eq!(all.len(), 2, "the typos declared nothing");
        assert!(all.iter().all(|i| i.private));
    }
}
