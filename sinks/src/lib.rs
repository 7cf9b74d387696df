//! # gatewatch-sinks
//!
//! Where alerts go. Today: JSON Lines to stdout or a file. ClickHouse, Slack, PagerDuty and
//! signed webhooks follow the same [`Sink`] trait.
#![deny(missing_docs)]

pub mod jsonl;

use gatewatch_engine::Alert;

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
}

/// A destination for alerts. `deliver` returns once the alerts are written (and flushed, so a
/// long-running pipeline's alerts are visible as they happen, not at exit).
pub trait Sink: Send {
    /// The sink's name, for logs and errors.
    fn name(&self) -> &str;
    /// Writes alerts in order.
    fn deliver(&mut self, alerts: &[Alert]) -> Result<(), SinkError>;
}

pub use jsonl::JsonLinesSink;
