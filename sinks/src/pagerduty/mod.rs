//! PagerDuty Events API v2: a `trigger` per alert with `dedup_key` = alert id, and optionally
//! a `resolve` once the entity has not triggered the rule for a while.
//!
//! One folder, Vector's shape: [`config`] (the `[[pagerduty]]` table), `encoder` (event
//! bodies) and `service` (the destination with its auto-resolve state).

pub mod config;
mod encoder;
mod service;

pub use config::PagerDutyConfig;
pub use encoder::{pd_severity, trigger, EVENTS_URL};
pub use service::PagerDutyDestination;
