//! A generic JSON webhook, signed with HMAC-SHA256.
//!
//! Each alert is one POST whose body is the alert's JSON object plus `"idempotency_key"` (the
//! alert id), with these headers:
//!
//! * `Idempotency-Key`: the alert id again. A replay after a crash, or a retry whose first
//!   attempt did reach the receiver, repeats it: receivers deduplicate on it.
//! * `X-Gatewatch-Timestamp`: Unix seconds when the request was signed.
//! * `X-Gatewatch-Signature: sha256=<hex>`: HMAC-SHA256 with the shared secret over
//!   `timestamp + "." + body` (only with a secret configured).
//!
//! A receiver verifies by recomputing the HMAC over the timestamp header, a dot and the raw
//! body bytes, comparing in constant time, and rejecting timestamps more than a few minutes
//! from its clock (a captured request cannot be replayed later), then ignoring idempotency
//! keys it has already processed. [`verify`] does exactly that.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::http::HttpPoster;
use crate::spool::{Record, Spooled};
use crate::spooled::{Destination, SendError};

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

/// The webhook destination.
pub struct WebhookDestination {
    url: String,
    secret: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
    http: HttpPoster,
}

impl WebhookDestination {
    /// Posts to `url`, signing with `secret` when given and adding `headers`.
    pub fn new(
        url: String,
        secret: Option<Vec<u8>>,
        headers: Vec<(String, String)>,
        http: HttpPoster,
    ) -> Self {
        WebhookDestination {
            url,
            secret,
            headers,
            http,
        }
    }
}

/// The body posted for an alert: its JSON object (values bounded, see [`crate::bound`]) plus
/// `idempotency_key`.
pub fn body(alert: &gatewatch_engine::Alert) -> Vec<u8> {
    let alert = crate::bound::bounded(alert, crate::bound::MAX_VALUE_CHARS);
    let mut value = serde_json::to_value(&alert).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("idempotency_key".into(), alert.id.clone().into());
    }
    serde_json::to_vec(&value).unwrap_or_default()
}

impl Destination for WebhookDestination {
    fn batch_max(&self) -> usize {
        1
    }

    async fn send(&mut self, records: &[Spooled]) -> Result<(), SendError> {
        for r in records {
            let Record::Alert(alert) = &r.record else {
                continue;
            };
            let body = body(alert);
            let ts = crate::spool::now_ms() / 1000;
            let mut headers = self.headers.clone();
            headers.push(("idempotency-key".into(), alert.id.clone()));
            headers.push(("x-gatewatch-timestamp".into(), ts.to_string()));
            if let Some(secret) = &self.secret {
                headers.push(("x-gatewatch-signature".into(), sign(secret, ts, &body)));
            }
            self.http.post(&self.url, &headers, body).await?;
        }
        Ok(())
    }
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
