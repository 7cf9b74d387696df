//! The one trait every stateful part of a task implements: rules and traffic statistics.
//!
//! An operator receives rows in processing order together with two watermarks per row: the
//! watermark of the row's own source partition (it decides whether the row is *late*) and the
//! task's watermark (the minimum over the task's upstream partitions: it decides when windows
//! close). With one upstream the two are the same. Deciding lateness by the row's own partition
//! only makes the outcome independent of how partitions interleave: a row is late exactly when
//! its own partition had already moved past its windows, whatever the other partitions did.

use std::collections::BTreeMap;

use arrow::array::{BooleanArray, RecordBatch};
use gatewatch_ingest::TopicPartition;
use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::error::EngineError;
use crate::stats::EngineStats;
use crate::task::TaskId;
use crate::traffic::TrafficRows;
use crate::EngineConfig;

/// Which rows of an input an operator needs, and how tasks are chosen for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyGroup {
    /// All rows of a source partition, in the partition's home task (traffic statistics).
    Partition,
    /// Rows of every partition in one task (rules whose filter keeps state across entities,
    /// such as first-seen endpoints): a file's home task; for Kafka, the one partition of a
    /// repartition topic.
    Global,
    /// Rows grouped by this column's value (a rule's entity): all rows with one value meet in
    /// one task.
    Column(gatewatch_ingest::Column),
}

/// The stateless filter results the decoders computed for a batch, per rule of a rule set.
#[derive(Debug, Clone)]
pub struct FilterMasks {
    /// The rule set they were computed for (a hot reload changes it).
    pub generation: u64,
    /// Per rule, in rule-set order: the rows kept (`None`: all rows).
    pub masks: Vec<Option<BooleanArray>>,
    /// The rules' answered aggregate inputs over the whole batch (see
    /// `gatewatch_rules::aggregate::Answers`); empty where they were not computed (a rule
    /// then runs the call itself).
    pub answers: Vec<InputAnswer>,
}

/// `regexp_like(column, pattern)` over a whole batch.
#[derive(Debug, Clone)]
pub struct InputAnswer {
    /// The column asked.
    pub column: String,
    /// The pattern.
    pub pattern: String,
    /// Per row of the batch (NULL where the column is).
    pub values: BooleanArray,
}

impl FilterMasks {
    /// The answer of `regexp_like(column, pattern)` over the batch, if computed.
    pub fn answer(&self, column: &str, pattern: &str) -> Option<&BooleanArray> {
        (self.answers.iter())
            .find(|a| a.column == column && a.pattern == pattern)
            .map(|a| &a.values)
    }
}

/// Rows handed to an operator.
pub struct RowsIn<'a> {
    /// The partition they come from.
    pub upstream: &'a TopicPartition,
    /// The batch (all projected columns), rows in processing order.
    pub batch: &'a RecordBatch,
    /// Which rows of `batch` are this operator's (`None`: all of them), ascending.
    pub rows: Option<&'a [u32]>,
    /// Event time of every row of `batch`.
    pub times: &'a [i64],
    /// Per row of `batch`: its partition's watermark when it arrived.
    pub own_wm: &'a [i64],
    /// Per row of `batch`: the task's watermark when it arrived.
    pub task_wm: &'a [i64],
    /// Filter results computed upstream, if any.
    pub masks: Option<&'a FilterMasks>,
    /// Rows that came through a repartition topic: its partition and the message's offset.
    /// Operators then hold that offset (what a restart must read again), not the rows'
    /// source offsets.
    pub ledger: Option<(&'a TopicPartition, i64)>,
}

impl RowsIn<'_> {
    /// The operator's rows, ascending.
    pub fn indices(&self) -> Box<dyn Iterator<Item = usize> + '_> {
        match self.rows {
            Some(r) => Box::new(r.iter().map(|&i| i as usize)),
            None => Box::new(0..self.batch.num_rows()),
        }
    }
}

/// What operators produce.
#[derive(Debug, Default)]
pub struct Emitted {
    /// Alerts of windows just closed.
    pub alerts: Vec<Alert>,
    /// Traffic statistics rows of minutes just closed.
    pub traffic: TrafficRows,
}

impl Emitted {
    /// Appends another's output.
    pub fn extend(&mut self, other: Emitted) {
        self.alerts.extend(other.alerts);
        self.traffic.entities.extend(other.traffic.entities);
        self.traffic.endpoints.extend(other.traffic.endpoints);
    }

    /// Nothing emitted.
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty() && self.traffic.is_empty()
    }
}

/// What an operator writes to besides its own state.
pub struct OpCtx<'a> {
    /// Engine settings.
    pub cfg: &'a EngineConfig,
    /// The task's counters.
    pub stats: &'a mut EngineStats,
    /// Output.
    pub out: &'a mut Emitted,
    /// Windows ending at or before this were closed, and their output delivered, before the
    /// task was restored: when they close again during the replay they emit nothing.
    pub discard_through: i64,
    /// The task running the operator: alerts about the task's own state (shedding, flood
    /// summaries) name it, so two tasks' reports of one rule and window keep distinct ids.
    pub task: &'a TaskId,
}

/// State an operator holds, for metrics, caps and benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StateSize {
    /// Rows buffered.
    pub rows: usize,
    /// Bytes of memory held (approximate), evidence included.
    pub bytes: usize,
    /// Of which evidence samples and per-entity counts (see [`crate::evidence`]).
    pub evidence_bytes: usize,
    /// Of which values kept whole by aggregates that need every value (`longest_id_run`,
    /// `interarrival_cv`; accumulating states, not sealed ones).
    pub kept_values_bytes: usize,
    /// Groups (entities) tracked.
    pub groups: usize,
}

impl std::ops::AddAssign for StateSize {
    fn add_assign(&mut self, o: StateSize) {
        self.rows += o.rows;
        self.bytes += o.bytes;
        self.evidence_bytes += o.evidence_bytes;
        self.kept_values_bytes += o.kept_values_bytes;
        self.groups += o.groups;
    }
}

/// A stateful step of a task.
pub trait Operator: Send {
    /// Its name (a rule id, `traffic`).
    fn name(&self) -> &str;
    /// The rows it needs.
    fn key_group(&self) -> KeyGroup;
    /// Processes rows in order, closing windows between rows wherever the task watermark
    /// crosses a window end.
    fn process(&mut self, input: &RowsIn<'_>, ctx: &mut OpCtx<'_>) -> Result<(), EngineError>;
    /// The task watermark moved to `wm`: closes everything ending at or before it.
    fn advance(&mut self, wm: i64, ctx: &mut OpCtx<'_>) -> Result<(), EngineError>;
    /// Per upstream partition, the lowest offset its open state holds.
    fn held_offsets(&self, out: &mut BTreeMap<TopicPartition, i64>);
    /// What it holds.
    fn state_size(&self) -> StateSize;
    /// State that outlives a window (suppression, learners), for a checkpoint.
    fn checkpoint(&self) -> Option<serde_json::Value> {
        None
    }
    /// Continues from a checkpoint's state.
    fn restore(&mut self, _state: serde_json::Value) -> Result<(), EngineError> {
        Ok(())
    }
    /// The rule's fingerprint, if a rule: hot reload keeps operators whose rule is unchanged.
    fn fingerprint(&self) -> Option<u64> {
        None
    }
    /// Points a rule operator at its position in a new rule set (hot reload).
    fn set_rule_index(&mut self, _generation: u64, _index: usize) {}
}
