//! A task: the unit of state and of parallelism.
//!
//! A task owns operators (rules, traffic statistics) and the event-time clock they close
//! windows on. Its input comes from one or more upstream partitions, each with its own
//! watermark; the task's watermark is the minimum over the upstreams it knows, and never goes
//! back. For Kafka a task is one input partition (its state moves with the partition); for a
//! file or stdin, tasks are shards of the entity space, so the rules use every core.
//!
//! Nothing here looks at the wall clock: given the same inputs in the same order a task
//! produces the same alerts, which is what lets a partition move between instances by replay.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use gatewatch_ingest::TopicPartition;
use serde::{Deserialize, Serialize};

use crate::clock::NO_WATERMARK;
use crate::error::EngineError;
use crate::operator::{Emitted, FilterMasks, KeyGroup, OpCtx, Operator, RowsIn, StateSize};
use crate::stats::EngineStats;
use crate::EngineConfig;

/// Which task: an input partition's, or a shard of a file's entities.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TaskId {
    /// The task of one Kafka partition (state moves with the partition).
    Partition(TopicPartition),
    /// One of N in-process shards (rows routed by a hash of each rule's entity).
    Shard(u32),
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskId::Partition(tp) => write!(f, "{tp}"),
            TaskId::Shard(n) => write!(f, "shard-{n}"),
        }
    }
}

/// Rows of one upstream partition for one task, with their clock.
#[derive(Debug, Clone)]
pub struct TaskInput {
    /// The partition the rows come from.
    pub upstream: TopicPartition,
    /// The rows, in processing order.
    pub batch: RecordBatch,
    /// Event time of each row.
    pub times: Arc<[i64]>,
    /// The partition's watermark before each row.
    pub wm_before: Arc<[i64]>,
    /// The partition's watermark after the batch.
    pub wm_after: i64,
    /// Per key group, the rows of `batch` routed to this task (ascending); `None`: every
    /// operator sees every row. A key group missing from the map has no rows here.
    pub selection: Option<HashMap<KeyGroup, Arc<[u32]>>>,
    /// Filter results computed upstream.
    pub masks: Option<Arc<FilterMasks>>,
    /// The partition's highest offset handed over with this input (rows routed elsewhere or
    /// dead-lettered included).
    pub last_offset: Option<i64>,
    /// Per row, its position in the upstream partition's processing order: the offset of the
    /// record being processed when the row was released (its own offset unless the clock held
    /// it). Non-decreasing, and the same in every replay: what a downstream task deduplicates
    /// re-sent rows by (see the repartition model). `None` where nothing needs it (sequencers
    /// without snapshots: files and stdin).
    pub positions: Option<Arc<[i64]>>,
    /// For a task fed through a repartition topic: that topic's partition and the offset of
    /// the message these rows came in. Commits and held offsets are counted there, while
    /// watermarks stay per `upstream` (the rows' source partition).
    pub ledger: Option<(TopicPartition, i64)>,
}

/// State of a task that outlives its windows, for a checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskCheckpoint {
    /// The task's watermark.
    pub watermark: i64,
    /// Per operator name, its state.
    pub operators: BTreeMap<String, serde_json::Value>,
}

/// One task.
pub struct Task {
    id: TaskId,
    cfg: Arc<EngineConfig>,
    upstream_wm: BTreeMap<TopicPartition, i64>,
    /// Upstreams that said they are idle and have sent no row since: they hold nothing back.
    idle: std::collections::BTreeSet<TopicPartition>,
    watermark: i64,
    operators: Vec<Box<dyn Operator>>,
    stats: EngineStats,
    discard_through: i64,
    processed: BTreeMap<TopicPartition, i64>,
    own: Vec<i64>,
    task_wm: Vec<i64>,
    /// Nanoseconds spent in each operator (same order as `operators`) since the last
    /// operator swap; earlier time is in `stats`.
    eval_ns: Vec<u64>,
}

/// The context a task's operators write to. A macro, not a method: it borrows the task's fields
/// one by one, beside the operator being run (`self.operators`).
macro_rules! op_ctx {
    ($task:ident, $out:expr) => {
        OpCtx {
            cfg: &$task.cfg,
            stats: &mut $task.stats,
            out: $out,
            discard_through: $task.discard_through,
            task: &$task.id,
        }
    };
}

impl Task {
    /// A task running `operators`.
    pub fn new(id: TaskId, cfg: Arc<EngineConfig>, operators: Vec<Box<dyn Operator>>) -> Self {
        Task {
            id,
            cfg,
            upstream_wm: BTreeMap::new(),
            idle: Default::default(),
            watermark: NO_WATERMARK,
            operators,
            stats: EngineStats::default(),
            discard_through: NO_WATERMARK,
            processed: BTreeMap::new(),
            own: Vec::new(),
            task_wm: Vec::new(),
            eval_ns: Vec::new(),
        }
    }

    /// Its id.
    pub fn id(&self) -> &TaskId {
        &self.id
    }

    /// Its watermark.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Its counters, with the time spent in each rule and the state each rule holds now.
    pub fn stats(&self) -> EngineStats {
        let mut s = self.stats.clone();
        self.add_eval_time(&mut s);
        for op in &self.operators {
            let bytes = op.state_size().bytes as u64;
            EngineStats::bump(&mut s.state_bytes_by_rule, op.name(), bytes);
        }
        s
    }

    /// Takes its counters (they restart from zero; the state snapshot is left out).
    pub fn take_stats(&mut self) -> EngineStats {
        self.fold_eval_time();
        std::mem::take(&mut self.stats)
    }

    /// Adds the per-operator times not yet folded into the counters to `into`.
    fn add_eval_time(&self, into: &mut EngineStats) {
        for (op, ns) in self.operators.iter().zip(&self.eval_ns) {
            EngineStats::bump(&mut into.eval_ns_by_rule, op.name(), *ns);
        }
    }

    /// Moves the per-operator times into the counters (before the operators change).
    fn fold_eval_time(&mut self) {
        let mut s = std::mem::take(&mut self.stats);
        self.add_eval_time(&mut s);
        self.stats = s;
        self.eval_ns.clear();
    }

    /// Adds time spent in operator `i`.
    fn spent(eval_ns: &mut Vec<u64>, i: usize, since: Instant) {
        if eval_ns.len() <= i {
            eval_ns.resize(i + 1, 0);
        }
        eval_ns[i] += since.elapsed().as_nanos() as u64;
    }

    /// Its operators.
    pub fn operators(&self) -> &[Box<dyn Operator>] {
        &self.operators
    }

    /// Swaps the operators (hot reload), keeping those `keep` returns again.
    pub fn replace_operators(
        &mut self,
        mut build: impl FnMut(Vec<Box<dyn Operator>>) -> Vec<Box<dyn Operator>>,
    ) {
        self.fold_eval_time();
        let old = std::mem::take(&mut self.operators);
        self.operators = build(old);
    }

    /// An upstream the task must wait for: until it sends, it holds the task's watermark.
    pub fn register_upstream(&mut self, tp: &TopicPartition) {
        self.upstream_wm.entry(tp.clone()).or_insert(NO_WATERMARK);
    }

    /// Windows ending at or before `wm` were already closed and delivered by a previous owner:
    /// they close again silently while the restored task replays.
    pub fn set_discard_through(&mut self, wm: i64) {
        self.discard_through = self.discard_through.max(wm);
    }

    /// Highest offset handed over per upstream (per repartition partition for rows that came
    /// through one: see [`TaskInput::ledger`]).
    pub fn processed(&self) -> &BTreeMap<TopicPartition, i64> {
        &self.processed
    }

    /// Processes one input; returns what windows it closed emitted.
    pub fn process(&mut self, input: &TaskInput) -> Result<Emitted, EngineError> {
        let mut out = Emitted::default();
        let n = input.batch.num_rows();
        if input.wm_before.len() != n || input.times.len() != n {
            return Err(EngineError::Internal(format!(
                "task {}: {} rows but {} times and {} watermarks",
                self.id,
                n,
                input.times.len(),
                input.wm_before.len()
            )));
        }
        self.register_upstream(&input.upstream);
        if n > 0 {
            self.idle.remove(&input.upstream);
        }
        let others = self
            .upstream_wm
            .iter()
            .filter(|(k, _)| **k != input.upstream && !self.idle.contains(*k))
            .map(|(_, w)| *w)
            .min();
        self.own.clear();
        self.own.extend_from_slice(&input.wm_before);
        self.task_wm.clear();
        let mut running = self.watermark;
        for &own in input.wm_before.iter() {
            let candidate = match others {
                Some(o) => o.min(own),
                None => own,
            };
            running = running.max(candidate);
            self.task_wm.push(running);
        }
        let routed = |kg: KeyGroup| -> Option<Option<&[u32]>> {
            match &input.selection {
                None => Some(None),
                Some(map) => map.get(&kg).map(|r| Some(&r[..])),
            }
        };
        for (i, op) in self.operators.iter_mut().enumerate() {
            let Some(rows) = routed(op.key_group()) else {
                continue;
            };
            let started = Instant::now();
            let rows_in = RowsIn {
                upstream: &input.upstream,
                batch: &input.batch,
                rows,
                times: &input.times,
                own_wm: &self.own,
                task_wm: &self.task_wm,
                masks: input.masks.as_deref(),
                ledger: input.ledger.as_ref().map(|(tp, o)| (tp, *o)),
            };
            let mut ctx = op_ctx!(self, &mut out);
            op.process(&rows_in, &mut ctx)?;
            Self::spent(&mut self.eval_ns, i, started);
        }
        let read_at = match &input.ledger {
            Some((tp, offset)) => Some((tp, *offset)),
            None => input.last_offset.map(|last| (&input.upstream, last)),
        };
        if let Some((tp, last)) = read_at {
            let e = self.processed.entry(tp.clone()).or_insert(last);
            *e = (*e).max(last);
        }
        let wm = self
            .upstream_wm
            .entry(input.upstream.clone())
            .or_insert(NO_WATERMARK);
        *wm = (*wm).max(input.wm_after);
        self.advance_to_min(&mut out)?;
        Ok(out)
    }

    /// An upstream's watermark moved without rows for this task.
    pub fn advance(&mut self, upstream: &TopicPartition, wm: i64) -> Result<Emitted, EngineError> {
        let e = self
            .upstream_wm
            .entry(upstream.clone())
            .or_insert(NO_WATERMARK);
        *e = (*e).max(wm);
        let mut out = Emitted::default();
        self.advance_to_min(&mut out)?;
        Ok(out)
    }

    /// An upstream that never had a record says it is idle (a live input partition with no
    /// traffic at all, which no watermark can speak for): until it sends rows, the task's
    /// watermark is the minimum over the others. Its later rows for windows closed meanwhile
    /// are late.
    pub fn set_idle(&mut self, upstream: &TopicPartition) -> Result<Emitted, EngineError> {
        self.register_upstream(upstream);
        self.idle.insert(upstream.clone());
        let mut out = Emitted::default();
        self.advance_to_min(&mut out)?;
        Ok(out)
    }

    fn advance_to_min(&mut self, out: &mut Emitted) -> Result<(), EngineError> {
        let min = self
            .upstream_wm
            .iter()
            .filter(|(k, _)| !self.idle.contains(*k))
            .map(|(_, w)| *w)
            .min()
            .unwrap_or(self.watermark);
        self.watermark = self.watermark.max(min);
        let wm = self.watermark;
        for (i, op) in self.operators.iter_mut().enumerate() {
            let started = Instant::now();
            let mut ctx = op_ctx!(self, out);
            op.advance(wm, &mut ctx)?;
            Self::spent(&mut self.eval_ns, i, started);
        }
        Ok(())
    }

    /// End of input: every window closes. The task's watermark stays where its upstreams
    /// brought it (a checkpoint taken now must not claim windows that never saw their rows).
    pub fn finish(&mut self) -> Result<Emitted, EngineError> {
        let mut out = Emitted::default();
        for (i, op) in self.operators.iter_mut().enumerate() {
            let started = Instant::now();
            let mut ctx = op_ctx!(self, &mut out);
            op.advance(i64::MAX, &mut ctx)?;
            Self::spent(&mut self.eval_ns, i, started);
        }
        Ok(out)
    }

    /// Per upstream, the lowest offset the task's open state holds.
    pub fn held_offsets(&self) -> BTreeMap<TopicPartition, i64> {
        let mut out = BTreeMap::new();
        for op in &self.operators {
            op.held_offsets(&mut out);
        }
        out
    }

    /// What the task holds.
    pub fn state_size(&self) -> StateSize {
        let mut s = StateSize::default();
        for op in &self.operators {
            s += op.state_size();
        }
        s
    }

    /// State that outlives windows.
    pub fn checkpoint(&self) -> TaskCheckpoint {
        TaskCheckpoint {
            watermark: self.watermark,
            operators: self
                .operators
                .iter()
                .filter_map(|op| op.checkpoint().map(|v| (op.name().to_owned(), v)))
                .collect(),
        }
    }

    /// Continues from a checkpoint: operator state by name (operators absent from it start
    /// empty; entries for operators no longer loaded are ignored).
    pub fn restore(&mut self, cp: &TaskCheckpoint) -> Result<(), EngineError> {
        for op in self.operators.iter_mut() {
            if let Some(state) = cp.operators.get(op.name()) {
                op.restore(state.clone())?;
            }
        }
        Ok(())
    }
}
