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

use arrow::array::{Int64Array, RecordBatch};
use arrow::compute::interleave_record_batch;
use gatewatch_ingest::TopicPartition;

use crate::error::EngineError;

/// A row waiting for the watermark.
struct Waiting {
    /// Index into `batches`.
    batch: usize,
    row: u32,
    /// The partition and offset a restart must read again to get the row back.
    hold: (TopicPartition, i64),
    /// Late for its window: the stateful filter learns from it, no pane takes it.
    late: bool,
}

/// Rows released in order.
pub(crate) struct Released {
    /// The rows, in release order.
    pub batch: RecordBatch,
    /// Event time of each.
    pub times: Vec<i64>,
    /// Per row, the partition and offset it holds.
    pub holds: Vec<(TopicPartition, i64)>,
    /// Per row, whether it was late for its window (learned from, not counted).
    pub late: Vec<bool>,
}

/// Rows of one rule waiting for the watermark.
#[derive(Default)]
pub(crate) struct Reorder {
    /// (event time, source partition, arrival) -> row.
    waiting: BTreeMap<(i64, TopicPartition, u64), Waiting>,
    /// Batches rows point into (dropped once no row does).
    batches: HashMap<usize, (RecordBatch, usize)>,
    next_batch: usize,
    arrival: u64,
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
        shared + self.waiting.len() * 96
    }

    /// Adds rows `rows` of `batch` from `upstream`; `times`, `holds` and `late` are by row of
    /// `batch` (`holds`: the partition and offset a restart must read again to get the row
    /// back; `late`: late for its window, so only the stateful filter sees it).
    pub fn add(
        &mut self,
        batch: &RecordBatch,
        rows: &[u32],
        times: &[i64],
        upstream: &TopicPartition,
        holds: impl Fn(u32) -> (TopicPartition, i64),
        late: impl Fn(u32) -> bool,
    ) {
        if rows.is_empty() {
            return;
        }
        let id = self.next_batch;
        self.next_batch += 1;
        self.batches.insert(id, (batch.clone(), rows.len()));
        for &r in rows {
            let t = times.get(r as usize).copied().unwrap_or(i64::MIN);
            self.arrival += 1;
            self.waiting.insert(
                (t, upstream.clone(), self.arrival),
                Waiting {
                    batch: id,
                    row: r,
                    hold: holds(r),
                    late: late(r),
                },
            );
        }
    }

    /// Releases every row before `wm` (and the oldest beyond `max_rows`), in order.
    pub fn release(&mut self, wm: i64, max_rows: usize) -> Result<Option<Released>, EngineError> {
        let mut out: Vec<((i64, TopicPartition, u64), Waiting)> = Vec::new();
        loop {
            let len = self.waiting.len();
            let Some(entry) = self.waiting.first_entry() else {
                break;
            };
            let due = entry.key().0 < wm;
            if !due && len <= max_rows {
                break;
            }
            if !due {
                self.shed += 1;
            }
            out.push(entry.remove_entry());
        }
        if out.is_empty() {
            return Ok(None);
        }
        let mut order: Vec<usize> = Vec::new();
        let mut slot: HashMap<usize, usize> = HashMap::new();
        let mut indices = Vec::with_capacity(out.len());
        for (_, w) in &out {
            let s = *slot.entry(w.batch).or_insert_with(|| {
                order.push(w.batch);
                order.len() - 1
            });
            indices.push((s, w.row as usize));
        }
        let sources: Vec<&RecordBatch> = order
            .iter()
            .filter_map(|id| self.batches.get(id).map(|(b, _)| b))
            .collect();
        if sources.len() != order.len() {
            return Err(EngineError::Internal("reorder: a batch vanished".into()));
        }
        let batch = interleave_record_batch(&sources, &indices)?;
        for (_, w) in &out {
            if let Some(e) = self.batches.get_mut(&w.batch) {
                e.1 -= 1;
                if e.1 == 0 {
                    self.batches.remove(&w.batch);
                }
            }
        }
        let times = out.iter().map(|(k, _)| k.0).collect();
        let late = out.iter().map(|(_, w)| w.late).collect();
        let holds = out.into_iter().map(|(_, w)| w.hold).collect();
        Ok(Some(Released {
            batch,
            times,
            holds,
            late,
        }))
    }

    /// Per partition, the lowest offset a waiting row holds.
    pub fn held_offsets(&self, out: &mut BTreeMap<TopicPartition, i64>) {
        for w in self.waiting.values() {
            out.entry(w.hold.0.clone())
                .and_modify(|m| *m = (*m).min(w.hold.1))
                .or_insert(w.hold.1);
        }
    }
}

/// The offsets of `holds` as an array (for a pane's held offset).
pub(crate) fn hold_offsets(holds: &[(TopicPartition, i64)]) -> Int64Array {
    holds.iter().map(|h| h.1).collect()
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
            |i| (tp(1), 100 + i64::from(i)),
            |_| false,
        );
        r.add(
            &batch(&[0, 1]),
            &[0, 1],
            &[20, 10],
            &tp(0),
            |i| (tp(0), i64::from(i)),
            |i| i == 1,
        );
        let mut held = BTreeMap::new();
        r.held_offsets(&mut held);
        assert_eq!(held, [(tp(0), 0), (tp(1), 100)].into_iter().collect());

        assert!(r.release(10, usize::MAX).unwrap().is_none());
        let out = r.release(25, usize::MAX).unwrap().unwrap();
        let v: Vec<i64> = out
            .batch
            .column(0)
            .as_primitive::<Int64Type>()
            .values()
            .to_vec();
        assert_eq!(v, [1, 0, 11, 12]);
        assert_eq!(out.times, [10, 20, 20, 20]);
        assert_eq!(out.holds[0], (tp(0), 1));
        assert_eq!(out.late, [true, false, false, false]);
        assert_eq!(r.len(), 1);
        let out = r.release(i64::MAX, usize::MAX).unwrap().unwrap();
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
            |i| (tp(0), i64::from(i)),
            |_| false,
        );
        let out = r.release(0, 2).unwrap().unwrap();
        assert_eq!(out.times, [5]);
        assert_eq!((r.shed, r.len()), (1, 2));
    }
}
