//! # gatewatch-engine
//!
//! Event-time windows over Arrow batches, following `ENGINE.md`'s semantics, organised as
//! Kafka Streams organises its work:
//!
//! * A [`sequencer`] keeps one event-time [`clock`] per source partition. The watermark follows
//!   a robust maximum (the K-th largest accepted time), so no single record can move event
//!   time; records jumping ahead are held until later ones confirm them.
//! * Rows are routed to [`task`]s: a Kafka partition's task (its state moves with the
//!   partition), or shards of a file's entities (every core runs rules). A task owns
//!   [`operator`]s (rules, traffic statistics) and closes windows on its own watermark.
//! * **Windows** are aligned to the epoch; a tumbling window of size W covers `[k·W, (k+1)·W)`,
//!   a sliding one (W, S) covers `[k·S, k·S + W)`. Rows are kept once, in panes of length S.
//! * **Closing**: a window closes once, when the task watermark reaches its end; its rule's SQL
//!   runs on exactly the rows that belong to it and arrived before that. A row whose windows
//!   have all closed under its own partition's watermark is *late*: counted, never put in a
//!   later window. The watermark is tracked per row, so where batches are cut never matters.
//! * **Alert ids** hash (rule id, entity, window start), so replays repeat them.
//! * **Commit point**: [`Task::held_offsets`] gives, per partition, the lowest offset open
//!   state still holds; rows a rule's filter dropped hold nothing. See [`commit`].
#![deny(missing_docs)]

/// Alerts (defined in `gatewatch-model`, which sinks depend on instead of the engine).
pub use gatewatch_model::alert;
pub mod clock;
pub mod commit;
pub mod engine;
pub mod error;
pub mod evaluate;
pub mod evidence;
pub mod guard;
pub mod masks;
pub mod operator;
pub mod pane;
mod reorder;
pub mod rule_op;
pub mod sequencer;
pub mod stats;
pub mod task;
pub mod time;
pub mod traffic;
pub mod window;

pub use alert::Alert;
pub use engine::{Engine, EngineConfig, RuleSet};
pub use error::EngineError;
pub use stats::EngineStats;
pub use task::{Task, TaskId, TaskInput};
pub use traffic::{EndpointMinute, EntityMinute, TrafficRows};
