//! People's names, asked of the platform once and kept for a while: a name
//! enters the record when the person does, and a platform that is slow or
//! down costs a lookup at most [`LOOKUP_WITHIN`] and leaves the id in place.
//! A lookup that failed is not tried again for a minute, so a platform that
//! is down (or an app without the scope) costs one lookup per person a
//! minute, not one per event; a name known before is kept meanwhile.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::outbox::ChatError;

/// How long a lookup may take before the id is kept instead.
pub const LOOKUP_WITHIN: Duration = Duration::from_millis(500);
/// How long a name is trusted: people rename themselves.
const FRESH_FOR: Duration = Duration::from_secs(3600);
/// How long a failed lookup is not tried again.
const UNKNOWN_FOR: Duration = Duration::from_secs(60);
/// At most this many names are kept.
const CAPACITY: usize = 10_000;

#[derive(Default)]
pub struct Names {
    kept: Mutex<HashMap<String, Kept>>,
}

/// What is known of one id.
struct Kept {
    /// The last name the platform gave; kept through a failed refresh.
    name: Option<String>,
    asked: Instant,
    /// Whether that last asking was answered.
    answered: bool,
}

impl Kept {
    fn fresh(&self) -> bool {
        self.asked.elapsed() < if self.answered { FRESH_FOR } else { UNKNOWN_FOR }
    }
}

impl Names {
    /// `id`'s name, from memory while fresh, else from `fetch`.
    pub async fn get<F, Fut>(&self, id: &str, fetch: F) -> Option<String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<String>, ChatError>>,
    {
        let known = match self.kept.lock().unwrap().get(id) {
            Some(k) if k.fresh() => return k.name.clone(),
            Some(k) => k.name.clone(),
            None => None,
        };
        let asked = match tokio::time::timeout(LOOKUP_WITHIN, fetch()).await {
            Ok(Ok(Some(name))) if !name.trim().is_empty() => Some(name.trim().to_string()),
            Ok(Ok(_)) => None,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "could not look a person's name up");
                None
            }
            Err(_) => {
                tracing::debug!("looking a person's name up took too long");
                None
            }
        };
        let answered = asked.is_some();
        let name = asked.or(known);
        let mut kept = self.kept.lock().unwrap();
        if kept.len() >= CAPACITY {
            kept.retain(|_, k| k.fresh());
            if kept.len() >= CAPACITY {
                kept.clear();
            }
        }
        kept.insert(id.to_string(), Kept { name: name.clone(), asked: Instant::now(), answered });
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_name_is_asked_for_once_and_a_failed_lookup_is_not_repeated_at_once() {
        let names = Names::default();
        let asked = AtomicUsize::new(0);
        let ask = |answer: Result<Option<String>, ChatError>| {
            asked.fetch_add(1, Ordering::SeqCst);
            async move { answer }
        };
        let first = names.get("U1", || ask(Ok(Some(" Ana Lima ".into())))).await;
        assert_eq!(first.as_deref(), Some("Ana Lima"));
        let again = names.get("U1", || ask(Ok(Some("someone else".into())))).await;
        assert_eq!(again.as_deref(), Some("Ana Lima"));
        let fail = names.get("U2", || ask(Err(ChatError::Unavailable("503".into())))).await;
        assert_eq!(fail, None);
        let soon = names.get("U2", || ask(Ok(Some("Bo".into())))).await;
        assert_eq!(soon, None, "not asked again within the minute");
        assert_eq!(asked.load(Ordering::SeqCst), 2, "two lookups for four names");
        assert_eq!(names.get("U3", || ask(Ok(Some("  ".into())))).await, None);
    }
}
