//! The webhook's request: the alert's JSON body and its HMAC-SHA256 signature, and the
//! receiver's check of both.

use gatewatch_model::Alert;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The body posted for an alert: its JSON object (values bounded, see [`crate::bound`]) plus
/// `idempotency_key`.
pub fn body(alert: &Alert) -> Vec<u8> {
    let alert = crate::bound::bounded(alert, crate::bound::MAX_VALUE_CHARS);
    let mut value = serde_json::to_value(&alert).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("idempotency_key".into(), alert.id.clone().into());
    }
    serde_json::to_vec(&value).unwrap_or_default()
}

type HmacSha256 = Hmac<Sha256>;

/// `sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>`.
///
/// ```
/// let sig = gatewatch_sinks::webhook::sign(b"secret", 1700000000, b"{}");
/// assert!(sig.starts_with("sha256="));
/// assert!(gatewatch_sinks::webhook::verify(b"secret", "1700000000", b"{}", &sig, 1700000010, 300).is_ok());
/// ```
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Why a receiver rejects a request.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The timestamp header is not a number.
    #[error("bad timestamp header")]
    BadTimestamp,
    /// Too old or too far in the future: possibly a replayed request.
    #[error("timestamp outside the tolerance window (replay?)")]
    Stale,
    /// The signature does not match the body.
    #[error("signature mismatch")]
    Mismatch,
}

/// Receiver side: checks the signature header against the raw body and the timestamp against
/// `now` (Unix seconds) with `tolerance_secs`.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    if (now - ts).abs() > tolerance_secs {
        return Err(VerifyError::Stale);
    }
    let hex = signature
        .strip_prefix("sha256=")
        .ok_or(VerifyError::Mismatch)?;
    let given: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()
        .map_err(|_| VerifyError::Mismatch)?;
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| VerifyError::Mismatch)?;
    mac.update(timestamp.trim().as_bytes());
    mac.update(b".");
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given).map_err(|_| VerifyError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_rejects_tampering_and_replays() {
        let sig = sign(b"k", 1000, b"body");
        assert_eq!(verify(b"k", "1000", b"body", &sig, 1000, 300), Ok(()));
        assert_eq!(
            verify(b"k", "1000", b"bodY", &sig, 1000, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(b"other", "1000", b"body", &sig, 1000, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(b"k", "1000", b"body", &sig, 2000, 300),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify(b"k", "999", b"body", &sig, 1000, 300),
            Err(VerifyError::Mismatch),
            "the timestamp is signed too"
        );
    }
}
