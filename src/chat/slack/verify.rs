//! Slack request signatures: HMAC-SHA256 over `v0:{timestamp}:{body}` with the
//! signing secret, sent as `X-Slack-Signature: v0=<hex>`, and a timestamp no
//! older (or newer) than five minutes. Checked before the body is parsed.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a request's timestamp may be from now.
pub const MAX_SKEW_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing X-Slack-Request-Timestamp or X-Slack-Signature")]
    Missing,
    #[error("the request timestamp is not a number")]
    BadTimestamp,
    #[error("the request is more than five minutes old or ahead")]
    Stale,
    #[error("the signature does not match")]
    Forged,
}

/// The signature Slack would send for this body at this timestamp.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!("v0={}", hex::encode(mac(secret, timestamp, body).finalize().into_bytes()))
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// Checks a request's headers against its raw body; `now` is seconds since the epoch.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let (Some(ts), Some(sig)) = (timestamp, signature) else { return Err(VerifyError::Missing) };
    let when: i64 = ts.trim().parse().map_err(|_| VerifyError::BadTimestamp)?;
    if now.abs_diff(when) > MAX_SKEW_SECS as u64 {
        return Err(VerifyError::Stale);
    }
    let given =
        sig.strip_prefix("v0=").and_then(|h| hex::decode(h).ok()).ok_or(VerifyError::Forged)?;
    // verify_slice compares in constant time.
    mac(secret, ts, body).verify_slice(&given).map_err(|_| VerifyError::Forged)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const BODY: &[u8] =
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fincident&text=list";

    #[test]
    fn a_request_signed_with_the_secret_passes() {
        let sig = sign(SECRET, "1531420618", BODY);
        assert_eq!(verify(SECRET, Some("1531420618"), Some(&sig), BODY, 1531420618 + 10), Ok(()));
    }

    #[test]
    fn a_changed_body_or_another_secret_is_forged() {
        let sig = sign(SECRET, "1531420618", BODY);
        let other =
            b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fincident&text=close";
        assert_eq!(
            verify(SECRET, Some("1531420618"), Some(&sig), other, 1531420618),
            Err(VerifyError::Forged)
        );
        let wrong = sign("another-secret", "1531420618", BODY);
        assert_eq!(
            verify(SECRET, Some("1531420618"), Some(&wrong), BODY, 1531420618),
            Err(VerifyError::Forged)
        );
        assert_eq!(
            verify(SECRET, Some("1531420618"), Some("v0=zz"), BODY, 1531420618),
            Err(VerifyError::Forged)
        );
    }

    #[test]
    fn a_request_older_than_five_minutes_is_stale_even_when_signed() {
        let sig = sign(SECRET, "1531420618", BODY);
        assert_eq!(
            verify(SECRET, Some("1531420618"), Some(&sig), BODY, 1531420618 + 301),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify(SECRET, Some("1531420618"), Some(&sig), BODY, 1531420618 - 301),
            Err(VerifyError::Stale)
        );
    }

    #[test]
    fn missing_headers_are_refused() {
        assert_eq!(verify(SECRET, None, Some("v0=00"), BODY, 0), Err(VerifyError::Missing));
        assert_eq!(verify(SECRET, Some("1"), None, BODY, 0), Err(VerifyError::Missing));
        assert_eq!(
            verify(SECRET, Some("soon"), Some("v0=00"), BODY, 0),
            Err(VerifyError::BadTimestamp)
        );
    }
}
