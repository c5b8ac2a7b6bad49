//! The HTTP server: mounts the routes each surface brings, and serves what
//! belongs to no surface — liveness, readiness and metrics. It knows no
//! platform.

mod health;
mod listen;

pub use listen::{Limits, serve};

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::outbox::Outbox;
use crate::store::Store;

/// Writes lines of its own into `/metrics`.
pub type Metrics = Arc<dyn Fn(&mut String) + Send + Sync>;

/// What health, readiness and metrics read.
#[derive(Clone)]
pub struct Health {
    pub store: Arc<dyn Store>,
    pub outbox: Outbox,
    /// Each surface's own lines for `/metrics`.
    pub metrics: Arc<Vec<Metrics>>,
}

/// `/healthz`, `/readyz` and `/metrics`, and every surface's routes.
pub fn router(health: Health, surfaces: Vec<Router>) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .with_state(health);
    for routes in surfaces {
        router = router.merge(routes);
    }
    router
}
