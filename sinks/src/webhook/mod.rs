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
//!
//! One folder, Vector's shape: [`config`] (the `[[webhook]]` table), `encoder` (body,
//! signature, and [`verify`] for receivers) and `service` (the destination).

pub mod config;
mod encoder;
mod service;

pub use config::WebhookConfig;
pub use encoder::{body, sign, verify, VerifyError};
pub use service::WebhookDestination;
