//! Discord's request signatures: Ed25519 over `timestamp || body`, sent as
//! `X-Signature-Ed25519` with `X-Signature-Timestamp`; serenity's `Verifier`
//! checks the signature, and tocsin adds a freshness window.

use axum::http::HeaderMap;
use serenity::interactions_endpoint::Verifier;

/// Requests signed longer ago (or further ahead) than this are refused.
const FRESHNESS: i64 = 5 * 60;

/// The verifier for a public key given as hex; `None` when it is not an Ed25519 key.
pub fn verifier(public_key: &str) -> Option<Verifier> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(public_key, &mut key).ok()?;
    Verifier::try_new(key).ok()
}

/// Checks `X-Signature-Ed25519` over `timestamp || body`, and that the
/// timestamp is within five minutes of `now`.
pub fn verified(
    verifier: &Verifier,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), &'static str> {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let (Some(sig), Some(ts)) = (header("x-signature-ed25519"), header("x-signature-timestamp"))
    else {
        return Err("unsigned request");
    };
    let Ok(when) = ts.parse::<i64>() else { return Err("unreadable timestamp") };
    if now.abs_diff(when) > FRESHNESS as u64 {
        return Err("stale request");
    }
    verifier.verify(sig, ts, body).map_err(|()| "bad signature")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_or_unsigned_request_is_refused_before_the_signature_is_checked() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        let verifier = Verifier::try_new(key.to_bytes()).unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(verified(&verifier, &h, b"{}", 1_000), Err("unsigned request"));
        h.insert("x-signature-ed25519", "00".parse().unwrap());
        h.insert("x-signature-timestamp", "600".parse().unwrap());
        assert_eq!(verified(&verifier, &h, b"{}", 1_000), Err("stale request"));
        assert_eq!(verified(&verifier, &h, b"{}", 700), Err("bad signature"));
    }

    #[test]
    fn a_timestamp_at_the_ends_of_the_range_does_not_overflow() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        let verifier = Verifier::try_new(key.to_bytes()).unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-signature-ed25519", "00".parse().unwrap());
        h.insert("x-signature-timestamp", i64::MIN.to_string().parse().unwrap());
        assert_eq!(verified(&verifier, &h, b"{}", i64::MAX), Err("stale request"));
    }
}
