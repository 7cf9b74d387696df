//! # gatewatch-ingest
//!
//! Turns API-gateway access logs into Arrow record batches of the canonical event schema.
//!
//! Design: lines are cut into [`source::Chunk`]s by one reader, decoded in parallel by
//! [`chunk::ChunkDecoder`]s, each filling only the columns the loaded rules read
//! ([`schema::ColumnSet`]). Decoders borrow strings from the input line and skip unneeded JSON
//! without building values, so per-record allocation stays off the hot path. Every row keeps
//! its provenance (source, partition, offset/line) so the engine can tell which input is
//! still needed by an open window.
#![deny(missing_docs)]

pub mod batch;
pub mod chunk;
pub mod decode;
pub mod fuzz;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod route;
/// Source partitions (defined in `gatewatch-model`).
pub use gatewatch_model::partition;
/// The canonical event schema (defined in `gatewatch-model`, shared with every crate).
pub use gatewatch_model::schema;
pub mod source;

pub use batch::{EventBatchBuilder, Provenance, RawEvent, SourceFormat};
pub use chunk::{ChunkDecoder, DecodedChunk, Malformed};
pub use decode::{DecodeConfig, DecodeError, Format};
pub use partition::TopicPartition;
pub use schema::{event_schema, Column, ColumnSet};
pub use source::{
    open_input, Assignment, Chunk, ChunkOptions, ChunkReader, Input, Shuffled, Source, SourceItem,
};
