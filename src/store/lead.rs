//! Leadership: some work must run in one replica at a time (the Discord
//! gateway: two sessions would each answer every interaction). On PostgreSQL
//! the leader holds a session advisory lock on a connection of its own; when
//! that process dies its connection closes, the lock goes with it, and
//! another replica takes it on its next try. SQLite serves one process, which
//! always leads.

use async_trait::async_trait;

use super::Result;

/// Held leadership. Dropping it gives leadership up.
#[async_trait]
pub trait Leadership: Send {
    /// Whether it is still held (the connection holding it still answers).
    async fn held(&mut self) -> bool;
}

#[async_trait]
pub trait Lead: Send + Sync {
    /// Takes the leadership called `name` if nobody holds it.
    async fn try_lead(&self, name: &str) -> Result<Option<Box<dyn Leadership>>>;
}

/// A 64-bit advisory-lock key for a name (FNV-1a), stable across builds.
pub(super) fn key(name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("tocsin:{name}").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// SQLite's: always held.
pub(super) struct Always;

#[async_trait]
impl Leadership for Always {
    async fn held(&mut self) -> bool {
        true
    }
}
