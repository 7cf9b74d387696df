//! Slack incoming webhooks: one Block Kit message per alert.
//!
//! One folder, Vector's shape: [`config`] (the `[[slack]]` table), `encoder` (the message,
//! escaped and bounded) and `service` (the destination).

pub mod config;
mod encoder;
mod service;

pub use config::SlackConfig;
pub use encoder::{escape, escaped, message};
pub use service::SlackDestination;
