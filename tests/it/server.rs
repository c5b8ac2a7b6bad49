//! `tocsin serve` in-process on port 0: health, metrics, and nothing public
//! about incidents unless a status page is configured.

use tocsin::app::{App, Inbound};
use tocsin::clock::SystemClock;
use tocsin::config::Config;
use tocsin::incident::{ChannelRef, Platform, UserRef};

use crate::support::db::on_both_backends;
use crate::support::http::get;

on_both_backends! {
    async fn the_server_reports_health_and_metrics_and_shows_no_incident_without_a_status_page(db: &TestDb) {
        let mut config = Config::default();
        config.server.listen = "127.0.0.1:0".into();
        config.database.url = db.url.clone();
        let server = tocsin::startup::start(config.clone()).await.expect("server starts");

        // Declare one public and one private incident through the engine.
        let store = tocsin::store::connect(&db.url).await.unwrap();
        let app = std::sync::Arc::new(App::new(store, &config, &[Platform::Console], std::sync::Arc::new(SystemClock)));
        let ctx = tocsin::app::Ctx {
            user: UserRef::new(Platform::Console, "alice"),
            channel: ChannelRef::new(Platform::Console, "general"),
            event_id: None,
        };
        app.handle(Inbound::command(ctx.clone(), "declare SEV2 Checkout <b>failing</b>")).await;
        app.handle(Inbound::command(ctx, "declare SEV1 Secret thing --private")).await;

        assert_eq!(get(server.addr, "/healthz").await, (200, "ok\n".into()));
        for path in ["/status", "/status.json", "/status/feed.atom"] {
            let (status, page) = get(server.addr, path).await;
            assert_eq!(status, 404, "{path}: no [status_page], no status page");
            assert!(!page.contains("Checkout") && !page.contains("Secret"), "{path}: {page}");
        }
        let (status, metrics) = get(server.addr, "/metrics").await;
        assert_eq!(status, 200);
        // No console adapter runs in `serve`, so the console rows wait in the outbox.
        let pending = metrics.lines().find_map(|l| l.strip_prefix("tocsin_outbox_pending ")).unwrap();
        assert!(pending.parse::<f64>().unwrap() > 0.0, "{metrics}");
        assert!(metrics.contains("tocsin_deliveries_total{platform=\"slack\"} 0"));
        for name in ["write_batches", "write_jobs", "write_seconds", "read_batches", "read_jobs", "read_seconds"] {
            assert!(metrics.contains(&format!("# TYPE tocsin_store_{name}_total counter\ntocsin_store_{name}_total ")), "{name}: {metrics}");
        }
        assert_eq!(get(server.addr, "/nope").await.0, 404);
        server.stop().await.expect("clean stop");
    }
}
