//! # gatewatch-model
//!
//! The vocabulary every part of gatewatch shares, and nothing else: the canonical event
//! [`schema`] decoders fill and rules query, the source [`partition`] a row came from, the
//! [`alert`] a rule emits, the [`traffic`] statistics rows, the one [`Record`] type sinks
//! receive, and the one [`duration`] grammar of every setting.
//!
//! It depends on no engine, query planner, script interpreter or Kafka client, so sinks and
//! decoders build without them.
#![deny(missing_docs)]

pub mod alert;
pub mod duration;
pub mod partition;
pub mod record;
pub mod schema;
pub mod traffic;

pub use alert::Alert;
pub use partition::TopicPartition;
pub use record::Record;
pub use schema::{event_schema, Column, ColumnSet};
pub use traffic::{EndpointMinute, EntityMinute, TrafficRows};
