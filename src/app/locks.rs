//! Per-incident queues for writers that collided. Commits are optimistic (a
//! version check), which is cheapest when incidents are quiet; on a busy one,
//! say a hundred notes a second, everyone would keep losing the race. Those
//! who lost once take turns here instead. Across replicas the version check
//! still decides; this only keeps one process from fighting itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as TurnLock, OwnedMutexGuard};

use crate::incident::IncidentId;

#[derive(Default)]
pub(super) struct Queues {
    by_incident: Mutex<HashMap<IncidentId, Arc<TurnLock<()>>>>,
}

impl Queues {
    /// Waits for the incident's turn; the turn ends when the guard drops.
    pub(super) async fn wait(&self, id: IncidentId) -> OwnedMutexGuard<()> {
        let queue = {
            let mut map = self.by_incident.lock().expect("queue table");
            if map.len() > 256 {
                // Forget queues nobody is in.
                map.retain(|_, q| Arc::strong_count(q) > 1);
            }
            map.entry(id).or_default().clone()
        };
        queue.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_turn_at_a_time_per_incident_and_others_are_not_held_up() {
        let q = Queues::default();
        let first = q.wait(IncidentId(1)).await;
        let other =
            tokio::time::timeout(std::time::Duration::from_secs(1), q.wait(IncidentId(2))).await;
        assert!(other.is_ok(), "another incident has its own queue");
        let second =
            tokio::time::timeout(std::time::Duration::from_millis(20), q.wait(IncidentId(1))).await;
        assert!(second.is_err(), "the same incident waits its turn");
        drop(first);
        assert!(
            tokio::time::timeout(std::time::Duration::from_secs(1), q.wait(IncidentId(1)))
                .await
                .is_ok()
        );
    }
}
