//! Test databases: a SQLite file in a temporary folder, or a fresh PostgreSQL
//! database (when `TOCSIN_TEST_POSTGRES_URL` is set) dropped afterwards.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    drop_pg: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("tocsin.db").display());
        Self { url, _dir: Some(dir), drop_pg: None }
    }

    /// A fresh database on the server `TOCSIN_TEST_POSTGRES_URL` names, or
    /// None when the variable is unset (the PostgreSQL half of a test is then not run).
    pub async fn postgres() -> Option<Self> {
        let admin = std::env::var("TOCSIN_TEST_POSTGRES_URL").ok().filter(|s| !s.is_empty())?;
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "tocsin_test_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_micros() % 1_000_000
        );
        let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to test postgres");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.ok();
        let url = match admin.rfind('/') {
            Some(i) if admin[..i].ends_with(|c: char| c != '/') => {
                format!("{}/{name}", &admin[..i])
            }
            _ => format!("{}/{name}", admin.trim_end_matches('/')),
        };
        Some(Self { url, _dir: None, drop_pg: Some((admin, name)) })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.drop_pg.take() else { return };
        // Drop runs outside any runtime guarantee: use a small one of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await;
                }
            })
        })
        .join();
    }
}

/// Runs an async test body once on SQLite and once on PostgreSQL (when configured).
macro_rules! on_both_backends {
    ($(#[$m:meta])* async fn $name:ident($db:ident: &TestDb) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($db: &$crate::support::db::TestDb) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                run(&$crate::support::db::TestDb::sqlite()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                match $crate::support::db::TestDb::postgres().await {
                    Some(db) => run(&db).await,
                    None => eprintln!("TOCSIN_TEST_POSTGRES_URL is not set; PostgreSQL half not run"),
                }
            }
        }
    };
}
pub(crate) use on_both_backends;
