//! Sign-in links for the web command center: a random secret in the link,
//! its SHA-256 in the database, bound to one chat identity, good once and
//! for fifteen minutes. `/incident web` and `tocsin web link` make them.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::incident::UserRef;
use crate::store::{Store, StoreError, WebLink};

/// How long a link can be used.
pub const LINK_LIFETIME: Duration = Duration::minutes(15);

/// A fresh secret: 32 random bytes, hex.
pub fn secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the system's random source works");
    hex::encode(bytes)
}

/// What the database keeps of a secret.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `next` when it is a path on this server, else the incident list: a
/// link can never send anyone elsewhere.
pub fn safe_next(next: &str) -> String {
    // Browsers drop tabs and newlines from URLs, so `/\t/evil` would be `//evil`.
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    if local { next.to_string() } else { "/incidents".to_string() }
}

/// Makes a link for `person` to land on `next`; returns the URL under `base`.
pub async fn link(
    store: &dyn Store,
    base: &str,
    person: &UserRef,
    next: &str,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let token = secret();
    store
        .create_link(&WebLink {
            token_hash: hash(&token),
            person: person.clone(),
            next: safe_next(next),
            created_at: now,
            expires_at: now + LINK_LIFETIME,
        })
        .await?;
    Ok(format!("{}/web/login?token={token}", base.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_only_ever_leads_to_a_path_on_this_server() {
        assert_eq!(safe_next("/incidents/INC-7"), "/incidents/INC-7");
        for away in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "incidents",
            "/a\r\nSet-Cookie: x",
            "/\t/evil.example",
            "/ /evil.example",
        ] {
            assert_eq!(safe_next(away), "/incidents", "{away:?}");
        }
    }

    #[test]
    fn secrets_are_long_random_and_stored_hashed() {
        let (a, b) = (secret(), secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), a);
    }
}
