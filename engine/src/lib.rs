//! # gatewatch-engine
//!
//! Event-time windows over Arrow batches, following `ENGINE.md`'s semantics:
//!
//! * **Windows** are aligned to the epoch; a tumbling window of size W covers `[k·W, (k+1)·W)`,
//!   a sliding one (W, S) covers `[k·S, k·S + W)`. Rows are kept once, in panes of length S.
//! * **Watermark** per source partition = max event time − allowed lateness; the pipeline's is
//!   the minimum over partitions and never goes back. It is tracked per row, so where batches
//!   are cut never changes which rows a window holds.
//! * **Closing**: a window closes once, when the watermark reaches its end; its rule's SQL runs
//!   on exactly the rows that belong to it and arrived before that. A row whose windows have
//!   all closed is *late*: counted per source and per rule, never put in a later window.
//! * **Alert ids** hash (rule id, entity, window start), so replays repeat them.
//! * **Commit point**: [`Engine::held_offsets`] gives, per partition, the lowest offset an open
//!   window still holds; rows a rule's filter dropped hold nothing.
#![deny(missing_docs)]

pub mod alert;
pub mod engine;
pub mod error;
pub mod evaluate;
pub mod traffic;
pub mod watermark;
pub mod window;

pub use alert::Alert;
pub use engine::{Engine, EngineConfig, EngineStats};
pub use error::EngineError;
pub use traffic::{EndpointMinute, EntityMinute, TrafficRows};
