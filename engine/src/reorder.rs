//! Event-time order for rules whose filter keeps state.
//!
//! A stateful filter (`endpoint_is_new`: "first seen after the learning period") answers by
//! what it saw before, so its answer depends on the order rows reach it. Rows of several
//! partitions reach a task in an order no run repeats (whichever partition the consumer
//! fetched first), so such a rule would not give the same alerts twice. Instead its rows wait
//! here, once past the stateless part of the filter and the lateness checks, until the task's
//! watermark passes their time; then they go on sorted by (event time, source partition,
//! arrival within that partition): an order every run, every instance count and every replay
//! agrees on. The windows they fall into are still open then (a window closes only once the
//! watermark passes its end, after the rows before the watermark were released).
//!
//! Rows waiting here hold their offsets (a commit never moves past them), and count towards the
//! rule's state: past `max_rows` the oldest are released early (counted as shed).

use std::collections::{BTreeMap, HashMap};

use arrow::array::{Int64Array, RecordBatch, UInt32Array};
use arrow::compute::{interleave_record_batch, take_record_batch};
use gatewatch_ingest::TopicPartition;

use crate::error::EngineError;

/// Released rows in at most this many runs of consecutive rows are concatenated slices;
/// more are gathered row by row.
const MAX_RUNS: usize = 16;

/// A row waiting for the watermark.
#[derive(Clone, Copy)]
struct Waiting {
    time: i64,
    /// Index into `Reorder::parts`: its source partition.
    upstream: u32,
    /// Arrival order (ties within one source partition keep it).
    arrival: u64,
    /// Key into `Reorder::batches`.
    batch: usize,
    row: u32,
    /// Index into `Reorder::parts` and offset: what a restart must read again to get the row
    /// back.
    hold: (u32, i64),
    /// Late for its window: the stateful filter learns from it, no pane takes it.
    late: bool,
}

/// Rows released in order.
pub(crate) struct Released {
    /// The rows, in release order.
    pub batch: RecordBatch,
    /// Event time of each.
    pub times: Vec<i64>,
    /// Per row, the partition it holds (an index into `parts`).
    pub hold_parts: Vec<u32>,
    /// Per row, the offset it holds there.
    pub hold_offsets: Int64Array,
    /// The partitions rows hold.
    pub parts: Vec<TopicPartition>,
    /// Per row, whether it was late for its window (learned from, not counted).
    pub late: Vec<bool>,
}

/// Rows of one rule waiting for the watermark.
#[derive(Default)]
pub(crate) struct Reorder {
    /// Waiting rows, in arrival order (sorted when released).
    waiting: Vec<Waiting>,
    /// Partitions rows come from or hold (a handful per task).
    parts: Vec<TopicPartition>,
    /// Batches rows point into, with how many rows still do (dropped at zero).
    batches: HashMap<usize, (RecordBatch, usize)>,
    next_batch: usize,
    arrival: u64,
    /// Lowest waiting time (`i64::MAX` when none): most calls release nothing.
    earliest: i64,
    /// Rows released before the watermark passed them, to stay within the limit.
    pub shed: u64,
}

impl Reorder {
    /// Rows waiting.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Approximate bytes held: each waiting row's share of the batch it points into, plus
    /// the index entry.
    pub fn bytes(&self) -> usize {
        let shared: usize = self
            .batches
            .values()
            .map(|(b, n)| b.get_array_memory_size() * n / b.num_rows().max(1))
            .sum();
        shared + self.waiting.capacity() * std::mem::size_of::<Waiting>()
    }

    fn part(&mut self, tp: &TopicPartition) -> u32 {
        match self.parts.iter().position(|p| p == tp) {
            Some(i) => i as u32,
            None => {
                self.parts.push(tp.clone());
                (self.parts.len() - 1) as u32
            }
        }
    }

    /// Adds rows `rows` of `batch` from `upstream`. Each holds `hold` (the partition a restart
    /// must read again to get it back) at `offset(row)`; `times`, `offset` and `late` are by
    /// row of `batch` (`late`: late for its window, so only the stateful filter sees it).
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        batch: &RecordBatch,
        rows: &[u32],
        times: &[i64],
        upstream: &TopicPartition,
        hold: &TopicPartition,
        offset: impl Fn(u32) -> i64,
        late: impl Fn(u32) -> bool,
    ) {
        if rows.is_empty() {
            return;
        }
        if self.waiting.is_empty() {
            self.earliest = i64::MAX;
        }
        // Only the rows that wait, contiguous: released in time order they are then slices.
        let compact = if rows.len() == batch.num_rows() {
            None
        } else {
            take_record_batch(batch, &UInt32Array::from(rows.to_vec())).ok()
        };
        let compacted = compact.is_some();
        let id = self.next_batch;
        self.next_batch += 1;
        self.batches
            .insert(id, (compact.unwrap_or_else(|| batch.clone()), rows.len()));
        let (up, held) = (self.part(upstream), self.part(hold));
        self.waiting.reserve(rows.len());
        for (k, &r) in rows.iter().enumerate() {
            let time = times.get(r as usize).copied().unwrap_or(i64::MIN);
            self.arrival += 1;
            self.earliest = self.earliest.min(time);
            self.waiting.push(Waiting {
                time,
                upstream: up,
                arrival: self.arrival,
                batch: id,
                row: if compacted { k as u32 } else { r },
                hold: (held, offset(r)),
                late: late(r),
            });
        }
    }

    /// Releases every row before `wm`, in order, and the oldest beyond `max_rows` rows or
    /// `max_bytes` (a partition lagging far behind the others must not grow this without end).
    pub fn release(
        &mut self,
        wm: i64,
        max_rows: usize,
        max_bytes: usize,
    ) -> Result<Option<Released>, EngineError> {
        if self.waiting.is_empty() {
            return Ok(None);
        }
        let len = self.waiting.len();
        let bytes = self.bytes();
        // Rows over the byte limit, at the average row size.
        let over_bytes = if bytes > max_bytes {
            ((bytes - max_bytes) as u128 * len as u128).div_ceil(bytes as u128) as usize
        } else {
            0
        };
        let over = len.saturating_sub(max_rows).max(over_bytes);
        if self.earliest >= wm && over == 0 {
            return Ok(None);
        }
        let parts = &self.parts;
        self.waiting.sort_by(|a, b| {
            a.time
                .cmp(&b.time)
                .then_with(|| parts[a.upstream as usize].cmp(&parts[b.upstream as usize]))
                .then(a.arrival.cmp(&b.arrival))
        });
        let due = self.waiting.partition_point(|w| w.time < wm);
        let take = due.max(over.min(len));
        self.shed += (take - due) as u64;
        if take == 0 {
            return Ok(None);
        }
        let out: Vec<Waiting> = self.waiting.drain(..take).collect();
        self.earliest = self.waiting.first().map_or(i64::MAX, |w| w.time);
        let batch = self.gather(&out)?;
        for w in &out {
            if let Some(e) = self.batches.get_mut(&w.batch) {
                e.1 -= 1;
                if e.1 == 0 {
                    self.batches.remove(&w.batch);
                }
            }
        }
        Ok(Some(Released {
            batch,
            times: out.iter().map(|w| w.time).collect(),
            hold_parts: out.iter().map(|w| w.hold.0).collect(),
            hold_offsets: out.iter().map(|w| w.hold.1).collect(),
            parts: self.parts.clone(),
            late: out.iter().map(|w| w.late).collect(),
        }))
    }

    /// The rows of `out`, in that order, as one batch: slices of the batches they wait in
    /// when they come in a few runs (the usual case: a partition's rows arrive in time order),
    /// else gathered row by row.
    fn gather(&self, out: &[Waiting]) -> Result<RecordBatch, EngineError> {
        let vanished = || EngineError::Internal("reorder: a batch vanished".into());
        // (batch, first row, rows) of each run of consecutive rows of one batch.
        let mut runs: Vec<(usize, usize, usize)> = Vec::new();
        for w in out {
            match runs.last_mut() {
                Some((b, start, n)) if *b == w.batch && *start + *n == w.row as usize => *n += 1,
                _ => runs.push((w.batch, w.row as usize, 1)),
            }
            if runs.len() > MAX_RUNS {
                break;
            }
        }
        if runs.len() <= MAX_RUNS {
            let slices = runs
                .iter()
                .map(|&(b, start, n)| {
                    let batch = &self.batches.get(&b).ok_or_else(vanished)?.0;
                    Ok(batch.slice(start, n))
                })
                .collect::<Result<Vec<RecordBatch>, EngineError>>()?;
            return match slices.as_slice() {
                [one] => Ok(one.clone()),
                _ => Ok(arrow::compute::concat_batches(
                    &slices[0].schema(),
                    &slices,
                )?),
            };
        }
        let mut order: Vec<usize> = Vec::new();
        let mut slot: foldhash::HashMap<usize, usize> = foldhash::HashMap::default();
        let mut indices = Vec::with_capacity(out.len());
        for w in out {
            let s = *slot.entry(w.batch).or_insert_with(|| {
                order.push(w.batch);
                order.len() - 1
            });
            indices.push((s, w.row as usize));
        }
        let sources = order
            .iter()
            .map(|id| self.batches.get(id).map(|(b, _)| b).ok_or_else(vanished))
            .collect::<Result<Vec<&RecordBatch>, EngineError>>()?;
        Ok(interleave_record_batch(&sources, &indices)?)
    }

    /// Per partition, the lowest offset a waiting row holds.
    pub fn held_offsets(&self, out: &mut BTreeMap<TopicPartition, i64>) {
        for w in &self.waiting {
            let tp = &self.parts[w.hold.0 as usize];
            match out.get_mut(tp) {
                Some(m) => *m = (*m).min(w.hold.1),
                None => {
                    out.insert(tp.clone(), w.hold.1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, AsArray};
    use arrow::datatypes::Int64Type;
    use std::sync::Arc;

    fn batch(values: &[i64]) -> RecordBatch {
        RecordBatch::try_from_iter([("v", Arc::new(Int64Array::from(values.to_vec())) as ArrayRef)])
            .unwrap()
    }

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    #[test]
    fn rows_come_out_in_event_time_then_partition_then_arrival_order_once_the_watermark_passes() {
        let mut r = Reorder::default();
        // Partition 1 arrives first with later times; partition 0 after, with earlier ones.
        r.add(
            &batch(&[10, 11, 12]),
            &[0, 1, 2],
            &[30, 20, 20],
            &tp(1),
            &tp(1),
            |i| 100 + i64::from(i),
            |_| false,
        );
        r.add(
            &batch(&[0, 1]),
            &[0, 1],
            &[20, 10],
            &tp(0),
            &tp(0),
            i64::from,
            |i| i == 1,
        );
        let mut held = BTreeMap::new();
        r.held_offsets(&mut held);
        assert_eq!(held, [(tp(0), 0), (tp(1), 100)].into_iter().collect());

        assert!(r.release(10, usize::MAX, usize::MAX).unwrap().is_none());
        let out = r.release(25, usize::MAX, usize::MAX).unwrap().unwrap();
        let v: Vec<i64> = out
            .batch
            .column(0)
            .as_primitive::<Int64Type>()
            .values()
            .to_vec();
        assert_eq!(v, [1, 0, 11, 12]);
        assert_eq!(out.times, [10, 20, 20, 20]);
        assert_eq!(out.parts[out.hold_parts[0] as usize], tp(0));
        assert_eq!(out.hold_offsets.value(0), 1);
        assert_eq!(out.late, [true, false, false, false]);
        assert_eq!(r.len(), 1);
        let out = r
            .release(i64::MAX, usize::MAX, usize::MAX)
            .unwrap()
            .unwrap();
        assert_eq!(out.times, [30]);
        assert_eq!(r.len(), 0);
        assert!(
            r.batches.is_empty(),
            "batches no row points into are dropped"
        );
    }

    #[test]
    fn past_the_limit_the_oldest_rows_go_early_and_are_counted() {
        let mut r = Reorder::default();
        r.add(
            &batch(&[1, 2, 3]),
            &[0, 1, 2],
            &[5, 6, 7],
            &tp(0),
            &tp(0),
            i64::from,
            |_| false,
        );
        let out = r.release(0, 2, usize::MAX).unwrap().unwrap();
        assert_eq!(out.times, [5]);
        assert_eq!((r.shed, r.len()), (1, 2));
        // Past the byte limit too: a byte allows no row at all.
        let out = r.release(0, usize::MAX, 1).unwrap().unwrap();
        assert_eq!(out.times, [6, 7]);
        assert_eq!((r.shed, r.len()), (3, 0));
    }
}
