//! The ordered step between decoding and the tasks: per source partition, the event-time clock
//! (see [`crate::clock`]) decides each row's watermark, holds rows whose time jumps ahead, and
//! releases or rejects them; then rows are routed to tasks.
//!
//! Routing follows the [`Placement`]: with [`Placement::PerPartition`] a partition's rows all
//! go to that partition's task (Kafka: state moves with the partition); with
//! [`Placement::Sharded`] each key group's rows are split by a hash of the group's column over
//! N shard tasks (files and stdin: every core runs rules, and all rows of one entity meet in
//! one shard). Only rows that passed some rule's stateless filter are routed to rule groups.
//!
//! For checkpoints, the sequencer can keep a snapshot of each partition's clock at every batch
//! boundary still needed: a restored partition resumes at such a boundary with exactly the
//! clock it had there, so it decides every later row as before.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::interleave_record_batch;
use arrow::datatypes::{DataType, Int32Type, Int64Type};
use gatewatch_ingest::schema::Column;
use gatewatch_ingest::TopicPartition;

use crate::clock::{ClockConfig, ClockSnapshot, PartitionClock, Step};
use crate::error::EngineError;
use crate::evaluate::event_times;
pub use crate::masks::candidates;
use crate::masks::{interleave_masks, HeldRow};
use crate::operator::{FilterMasks, KeyGroup};
use crate::task::{TaskId, TaskInput};

/// How rows are spread over tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// One task per source partition, running every operator on all its rows.
    PerPartition,
    /// N shards: each key group's rows split by a hash of its column (N ≥ 1).
    Sharded(u32),
}

/// A key group and the rules (positions in the rule set) that read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteGroup {
    /// The group.
    pub key: KeyGroup,
    /// Rules of the group (`None` for groups of non-rule operators: route every row).
    pub rules: Option<Vec<usize>>,
}

/// A held row given up on: its time jump was never confirmed.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// Its partition.
    pub upstream: TopicPartition,
    /// Its offset.
    pub offset: i64,
    /// Its event time.
    pub time: i64,
    /// The row (absent if it was held before the partition was restored).
    pub row: Option<RecordBatch>,
}

/// What sequencing produced.
#[derive(Debug, Default)]
pub struct Sequenced {
    /// Inputs for tasks, in order.
    pub inputs: Vec<(TaskId, TaskInput)>,
    /// Rows to dead-letter.
    pub rejected: Vec<Rejected>,
    /// Rows handed to tasks.
    pub events: u64,
    /// Rows that arrived behind their partition's watermark (windows that ended before them
    /// cannot take them), per source.
    pub late: std::collections::BTreeMap<String, u64>,
}

struct Part {
    clock: PartitionClock<HeldRow>,
    /// Offset of the last record observed (positions of rows released at the end).
    last_offset: i64,
    /// (first offset of a batch, clock before it), oldest first; only when tracking.
    snapshots: VecDeque<(i64, ClockSnapshot)>,
}

/// The per-partition clocks and the router.
pub struct Sequencer {
    clock: ClockConfig,
    placement: Placement,
    groups: Vec<RouteGroup>,
    track_snapshots: bool,
    parts: HashMap<TopicPartition, Part>,
    steps: Vec<Step<HeldRow>>,
}

/// A fixed, fast hash, so routing is the same in every run.
fn route_hash(bytes: &[u8]) -> u64 {
    gatewatch_ingest::partition::key_hash(bytes)
}

/// `rows` of `batch` split over `n` buckets by a fixed hash of `column`'s text (null, or no
/// such column: bucket 0): all rows with one value land in one bucket, in every run and on
/// every instance.
pub fn split_by_key(
    batch: &RecordBatch,
    column: Option<Column>,
    rows: &[u32],
    n: u32,
) -> Result<Vec<Vec<u32>>, EngineError> {
    let n = n.max(1);
    let mut out = vec![Vec::new(); n as usize];
    let Some(col) = column.and_then(|c| batch.column_by_name(c.name())) else {
        out[0] = rows.to_vec();
        return Ok(out);
    };
    if rows.is_empty() {
        return Ok(out);
    }
    let text = arrow::compute::cast(col, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    for &i in rows {
        let h = if text.is_null(i as usize) {
            0
        } else {
            route_hash(text.value(i as usize).as_bytes())
        };
        out[(h % u64::from(n)) as usize].push(i);
    }
    Ok(out)
}

/// The source partition of a batch (batches never mix partitions).
pub fn batch_partition(batch: &RecordBatch) -> Result<TopicPartition, EngineError> {
    let name = batch
        .column_by_name(Column::SourceName.name())
        .and_then(|a| a.as_string_opt::<i32>())
        .filter(|a| !a.is_empty())
        .map(|a| a.value(0))
        .ok_or_else(|| EngineError::Internal("batch without source_name".into()))?;
    let partition = batch
        .column_by_name(Column::SourcePartition.name())
        .and_then(|a| a.as_primitive_opt::<Int32Type>())
        .filter(|a| !a.is_empty())
        .map(|a| a.value(0))
        .ok_or_else(|| EngineError::Internal("batch without source_partition".into()))?;
    Ok(TopicPartition::new(name, partition))
}

fn offsets_of(batch: &RecordBatch) -> Result<&arrow::array::Int64Array, EngineError> {
    batch
        .column_by_name(Column::SourceOffset.name())
        .and_then(|a| a.as_primitive_opt::<Int64Type>())
        .ok_or_else(|| EngineError::Internal("batch without source_offset".into()))
}

impl Sequencer {
    /// A sequencer with clocks configured by `clock`, routing by `placement` for `groups`.
    pub fn new(clock: ClockConfig, placement: Placement, groups: Vec<RouteGroup>) -> Self {
        Sequencer {
            clock,
            placement,
            groups,
            track_snapshots: false,
            parts: HashMap::new(),
            steps: Vec::new(),
        }
    }

    /// Keeps clock snapshots at batch boundaries, for checkpoints.
    pub fn with_snapshots(mut self) -> Self {
        self.track_snapshots = true;
        self
    }

    /// The placement.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// New route groups (a rule reload).
    pub fn set_groups(&mut self, groups: Vec<RouteGroup>) {
        self.groups = groups;
    }

    /// The task holding a partition's rows of groups routed by partition.
    pub fn home_task(&self, tp: &TopicPartition) -> TaskId {
        match self.placement {
            Placement::PerPartition => TaskId::Partition(tp.clone()),
            Placement::Sharded(n) => {
                let h = route_hash(tp.topic.as_bytes()) ^ (tp.partition as u64);
                TaskId::Shard((h % u64::from(n.max(1))) as u32)
            }
        }
    }

    /// Every task a partition's rows may reach.
    pub fn tasks_of(&self, tp: &TopicPartition) -> Vec<TaskId> {
        match self.placement {
            Placement::PerPartition => vec![TaskId::Partition(tp.clone())],
            Placement::Sharded(n) => (0..n.max(1)).map(TaskId::Shard).collect(),
        }
    }

    /// The watermark of a partition's clock.
    pub fn watermark(&self, tp: &TopicPartition) -> Option<i64> {
        self.parts.get(tp).map(|p| p.clock.watermark())
    }

    /// Lowest offset of a row held by a partition's clock.
    pub fn held_offset(&self, tp: &TopicPartition) -> Option<i64> {
        self.parts.get(tp).and_then(|p| p.clock.held_offset())
    }

    /// Starts a partition from a snapshot (a restored task); without one, from nothing.
    pub fn start_partition(&mut self, tp: &TopicPartition, snapshot: Option<&ClockSnapshot>) {
        let clock = match snapshot {
            Some(s) => PartitionClock::restore(self.clock.clone(), s),
            None => PartitionClock::new(self.clock.clone()),
        };
        self.parts.insert(
            tp.clone(),
            Part {
                clock,
                last_offset: i64::MIN,
                snapshots: VecDeque::new(),
            },
        );
    }

    /// A partition's clock as it is now.
    pub fn clock_snapshot(&self, tp: &TopicPartition) -> Option<ClockSnapshot> {
        self.parts.get(tp).map(|p| p.clock.snapshot())
    }

    /// Partitions with a clock.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        self.parts.keys().cloned().collect()
    }

    /// Raises the watermark of every partition whose input has been quiet, as if event time
    /// had advanced by `quiet_ms` past its robust maximum (a live tail with no traffic).
    /// Returns the partitions whose watermark moved, with the new value.
    pub fn advance_idle(
        &mut self,
        quiet: &HashMap<TopicPartition, i64>,
    ) -> Vec<(TopicPartition, i64)> {
        let lateness = self.clock.lateness_ms;
        let mut moved = Vec::new();
        for (tp, part) in self.parts.iter_mut() {
            let Some(&q) = quiet.get(tp) else { continue };
            let Some(max) = part.clock.robust_max() else {
                continue;
            };
            let target = max.saturating_add(q).saturating_sub(lateness);
            if target > part.clock.watermark() {
                part.clock.raise_to(target);
                moved.push((tp.clone(), target));
            }
        }
        moved
    }

    /// Whether a partition has a clock that never accepted a record (assigned, still empty).
    pub fn never_observed(&self, tp: &TopicPartition) -> bool {
        self.parts
            .get(tp)
            .is_some_and(|p| p.clock.robust_max().is_none())
    }

    /// Forgets a partition (revoked).
    pub fn remove_partition(&mut self, tp: &TopicPartition) {
        self.parts.remove(tp);
    }

    /// Raises a partition's watermark (idle live tail; a restored task's last watermark).
    pub fn raise_watermark(&mut self, tp: &TopicPartition, wm: i64) -> Option<i64> {
        let p = self.parts.get_mut(tp)?;
        p.clock.raise_to(wm);
        Some(p.clock.watermark())
    }

    /// The latest batch boundary at or before `offset` and the clock there: where a restored
    /// partition may resume. Older snapshots are dropped.
    pub fn resume_point(
        &mut self,
        tp: &TopicPartition,
        offset: i64,
    ) -> Option<(i64, ClockSnapshot)> {
        crate::commit::resume_at(&mut self.parts.get_mut(tp)?.snapshots, offset)
    }

    /// Clock counters of all partitions: (held, released, rejected).
    pub fn clock_stats(&self) -> (u64, u64, u64) {
        self.parts.values().fold((0, 0, 0), |acc, p| {
            let s = p.clock.stats();
            (acc.0 + s.held, acc.1 + s.released, acc.2 + s.rejected)
        })
    }

    /// Clocks a decoded batch and routes its rows.
    pub fn sequence(
        &mut self,
        batch: &RecordBatch,
        masks: Option<Arc<FilterMasks>>,
        out: &mut Sequenced,
    ) -> Result<(), EngineError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let tp = batch_partition(batch)?;
        let times = event_times(batch)?;
        let offsets = offsets_of(batch)?;
        let track = self.track_snapshots;
        let clock_cfg = self.clock.clone();
        let part = self.parts.entry(tp.clone()).or_insert_with(|| Part {
            clock: PartitionClock::new(clock_cfg),
            last_offset: i64::MIN,
            snapshots: VecDeque::new(),
        });
        if track {
            part.snapshots
                .push_back((offsets.value(0), part.clock.snapshot()));
        }
        // Per processed row: (0, row) for this batch, (k, 0) for held row k - 1.
        let mut order: Vec<(usize, usize)> = Vec::with_capacity(batch.num_rows());
        let mut wm_before: Vec<i64> = Vec::with_capacity(batch.num_rows());
        // Positions only matter to repartitioning, which only Kafka runs (tracked) do.
        let mut positions: Vec<i64> = Vec::with_capacity(if track { batch.num_rows() } else { 0 });
        let mut released: Vec<HeldRow> = Vec::new();
        let mut in_order = true;
        let steps = &mut self.steps;
        for i in 0..batch.num_rows() {
            steps.clear();
            let t = times.value(i);
            part.clock.observe(
                t,
                offsets.value(i),
                || HeldRow::take(batch, masks.as_deref(), i),
                steps,
            );
            for step in steps.drain(..) {
                match step {
                    Step::Current { wm_before: wm } => {
                        if t < wm {
                            *out.late.entry(tp.topic.to_string()).or_default() += 1;
                        }
                        in_order &= order.len() == i;
                        order.push((0, i));
                        wm_before.push(wm);
                        if track {
                            positions.push(offsets.value(i));
                        }
                    }
                    Step::Released {
                        payload: Some(row),
                        wm_before: wm,
                        ..
                    } => {
                        in_order = false;
                        released.push(row);
                        order.push((released.len(), 0));
                        wm_before.push(wm);
                        if track {
                            positions.push(offsets.value(i));
                        }
                    }
                    // Held before a restore: its effect on state is already in the checkpoint.
                    Step::Released { payload: None, .. } => in_order = false,
                    Step::Rejected {
                        offset,
                        time,
                        payload,
                    } => {
                        in_order = false;
                        out.rejected.push(Rejected {
                            upstream: tp.clone(),
                            offset,
                            time,
                            row: payload.map(|h| h.row),
                        });
                    }
                }
            }
        }
        let wm_after = part.clock.watermark();
        part.last_offset = part.last_offset.max(offsets.value(batch.num_rows() - 1));
        let last_offset = Some(offsets.value(batch.num_rows() - 1));
        let (rows, masks) = if in_order && order.len() == batch.num_rows() {
            (batch.clone(), masks)
        } else if order.is_empty() {
            (batch.slice(0, 0), None)
        } else {
            let mut sources: Vec<&RecordBatch> = vec![batch];
            sources.extend(released.iter().map(|h| &h.row));
            let mut masks_of = vec![masks.as_deref()];
            masks_of.extend(released.iter().map(|h| h.masks.as_ref()));
            (
                interleave_record_batch(&sources, &order)?,
                interleave_masks(&masks_of, &order),
            )
        };
        self.emit(
            tp,
            rows,
            (wm_before, track.then_some(positions)),
            wm_after,
            masks,
            last_offset,
            out,
        )
    }

    /// Hands processed rows (in processing order, with their watermarks) to their tasks.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &self,
        tp: TopicPartition,
        rows: RecordBatch,
        (wm_before, positions): (Vec<i64>, Option<Vec<i64>>),
        wm_after: i64,
        masks: Option<Arc<FilterMasks>>,
        last_offset: Option<i64>,
        out: &mut Sequenced,
    ) -> Result<(), EngineError> {
        out.events += rows.num_rows() as u64;
        let times: Arc<[i64]> = event_times(&rows)?.values().iter().copied().collect();
        let wm_before: Arc<[i64]> = wm_before.into();
        let base = TaskInput {
            upstream: tp.clone(),
            batch: rows,
            times,
            wm_before,
            wm_after,
            selection: None,
            masks,
            last_offset,
            positions: positions.map(Into::into),
            ledger: None,
        };
        match self.placement {
            Placement::PerPartition => out.inputs.push((TaskId::Partition(tp), base)),
            Placement::Sharded(n) => self.route_sharded(n.max(1), &tp, base, out)?,
        }
        Ok(())
    }

    fn route_sharded(
        &self,
        n: u32,
        tp: &TopicPartition,
        base: TaskInput,
        out: &mut Sequenced,
    ) -> Result<(), EngineError> {
        let rows = base.batch.num_rows();
        let mut per_shard: Vec<HashMap<KeyGroup, Vec<u32>>> = vec![HashMap::new(); n as usize];
        let home = match self.home_task(tp) {
            TaskId::Shard(s) => s as usize,
            TaskId::Partition(_) => 0,
        };
        for group in &self.groups {
            let candidates = candidates(group.rules.as_deref(), base.masks.as_deref(), rows);
            match group.key {
                KeyGroup::Partition | KeyGroup::Global => {
                    per_shard[home].insert(group.key, candidates);
                }
                KeyGroup::Column(c) => {
                    for s in per_shard.iter_mut() {
                        s.entry(group.key).or_default();
                    }
                    let split = split_by_key(&base.batch, Some(c), &candidates, n)?;
                    for (s, rows) in split.into_iter().enumerate() {
                        if !rows.is_empty() {
                            per_shard[s].insert(group.key, rows);
                        }
                    }
                }
            }
        }
        for (s, selection) in per_shard.into_iter().enumerate() {
            let mut input = base.clone();
            input.selection = Some(
                selection
                    .into_iter()
                    .map(|(k, v)| (k, Arc::<[u32]>::from(v)))
                    .collect(),
            );
            out.inputs.push((TaskId::Shard(s as u32), input));
        }
        Ok(())
    }

    /// End of input: rows still held are released or rejected (see [`PartitionClock::finish`]);
    /// released ones go to their tasks.
    pub fn finish(&mut self, out: &mut Sequenced) -> Result<(), EngineError> {
        let mut steps = Vec::new();
        // (partition, rows, their watermarks, watermark after, last offset observed)
        type Released = (TopicPartition, Vec<HeldRow>, Vec<i64>, i64, i64);
        let mut released: Vec<Released> = Vec::new();
        for (tp, part) in self.parts.iter_mut() {
            steps.clear();
            part.clock.finish(&mut steps);
            let mut rows = Vec::new();
            let mut wms = Vec::new();
            for s in steps.drain(..) {
                match s {
                    Step::Rejected {
                        offset,
                        time,
                        payload,
                    } => out.rejected.push(Rejected {
                        upstream: tp.clone(),
                        offset,
                        time,
                        row: payload.map(|h| h.row),
                    }),
                    Step::Released {
                        payload: Some(row),
                        wm_before,
                        ..
                    } => {
                        rows.push(row);
                        wms.push(wm_before);
                    }
                    _ => {}
                }
            }
            if !rows.is_empty() {
                released.push((
                    tp.clone(),
                    rows,
                    wms,
                    part.clock.watermark(),
                    part.last_offset,
                ));
            }
        }
        for (tp, rows, wms, wm_after, last) in released {
            let Some(first) = rows.first() else { continue };
            let batch =
                arrow::compute::concat_batches(&first.row.schema(), rows.iter().map(|h| &h.row))?;
            let masks_of: Vec<_> = rows.iter().map(|h| h.masks.as_ref()).collect();
            let order: Vec<(usize, usize)> = (0..rows.len()).map(|k| (k, 0)).collect();
            let masks = interleave_masks(&masks_of, &order);
            let positions = self.track_snapshots.then(|| vec![last; wms.len()]);
            self.emit(tp, batch, (wms, positions), wm_after, masks, None, out)?;
        }
        Ok(())
    }
}
