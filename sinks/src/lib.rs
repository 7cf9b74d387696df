//! # gatewatch-sinks
//!
//! Where alerts and traffic statistics go: JSON Lines (stdout or a file), ClickHouse tables,
//! Slack, PagerDuty and signed JSON webhooks, all behind the [`Sink`] trait, which takes one
//! record type ([`Record`]: an alert or a statistics row).
//!
//! Each remote destination has a folder in Vector's shape: `config` (its table of the config
//! file, checked by [`config::DestinationConfig::build`]), `encoder` (records as the
//! destination's requests), `service` (the [`spooled::Destination`]) and, where the protocol
//! can tell a bad configuration from an outage, a health check. The crate depends on
//! `gatewatch-model` only, not on the engine: it builds without DataFusion or Rhai.
//!
//! Every remote destination is a [`SpooledSink`]: [`Sink::deliver`] appends the records to
//! the destination's on-disk spool and fsyncs it before returning, so once it returns the
//! records are durable and the pipeline may commit the Kafka offsets behind them. A sender
//! thread per destination then delivers from the spool in batches, with a rate limit,
//! retries with exponential backoff and jitter, and a dead-letter file after a give-up time.
//! A crash or an outage leaves the records in the spool; the next start delivers them.
//! Delivery is at least once; destinations deduplicate on the deterministic alert id
//! (ClickHouse `ReplacingMergeTree`, PagerDuty `dedup_key`, the webhook idempotency key).
#![deny(missing_docs)]

pub mod bound;
pub mod clickhouse;
pub mod config;
pub mod http;
pub mod jsonl;
pub mod pagerduty;
pub mod route;
pub mod slack;
pub mod spool;
pub mod spooled;
pub mod webhook;

use std::time::Duration;

#[cfg(test)]
use gatewatch_model::Alert;
use gatewatch_model::Record;

/// Why a sink could not take alerts.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Writing failed (disk full, closed pipe, ...).
    #[error("{sink}: {source}")]
    Io {
        /// Which sink.
        sink: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The sink's configuration is unusable.
    #[error("{sink}: {reason}")]
    Config {
        /// Which sink.
        sink: String,
        /// What is wrong, in words.
        reason: String,
    },
}

/// A destination for alerts. `deliver` returns once the alerts are written (and flushed, so a
/// long-running pipeline's alerts are visible as they happen, not at exit) or durably spooled.
pub trait Sink: Send {
    /// The sink's name, for logs and errors.
    fn name(&self) -> &str;
    /// Writes records in order: alerts, and the traffic statistics rows of closed minutes
    /// (which only sinks that [want them](Sink::wants_traffic) keep).
    fn deliver(&mut self, records: &[Record]) -> Result<(), SinkError>;
    /// Makes everything delivered so far durable (fsync), before offsets are committed past
    /// it. Sinks that are durable on delivery (spooled ones) need not do anything.
    fn sync(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
    /// Whether this sink stores per-minute traffic statistics (the pipeline computes them
    /// only if some sink does).
    fn wants_traffic(&self) -> bool {
        false
    }
    /// End of the run: waits up to `drain` for spooled records to be delivered and reports
    /// what it delivered and what is left (`None`: a sink without a spool).
    fn finish(&mut self, _drain: Duration) -> Option<SinkReport> {
        None
    }
}

/// What a sink did over a run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SinkReport {
    /// Records delivered to the destination.
    pub delivered: u64,
    /// Records still in the spool (delivered on the next start).
    pub pending: u64,
    /// Records given up on and written to the dead-letter file.
    pub dead_lettered: u64,
    /// Failed delivery attempts.
    pub failed_attempts: u64,
}

pub use jsonl::JsonLinesSink;

/// An alert for unit tests: the given id, rule, severity and tags; everything else minimal.
#[cfg(test)]
pub(crate) fn test_alert(id: &str, rule: &str, severity: &str, tags: &[&str]) -> Alert {
    Alert {
        id: id.into(),
        rule_id: rule.into(),
        title: String::new(),
        severity: severity.into(),
        entity_type: "ip".into(),
        entity: "1.2.3.4".into(),
        window_start: 0,
        window_end: 0,
        first_seen: 0,
        last_seen: 0,
        event_count: 1,
        evidence: vec![],
        tags: tags.iter().map(|t| t.to_string()).collect(),
        fields: Default::default(),
    }
}
pub use spooled::SpooledSink;
