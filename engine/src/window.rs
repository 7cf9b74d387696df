//! Per-rule window state: panes of filtered rows, cut at the slide, and the windows over them.
//!
//! A tumbling window of size W is one pane; a sliding window (W, S) is W/S panes of length S.
//! A row is stored once, in its pane, whatever the number of windows covering it, so sliding
//! windows cost no re-buffering. Window ends are multiples of S, which is what lets the engine
//! close windows exactly between the rows where the watermark crosses one.

use std::collections::{BTreeMap, BTreeSet};

use arrow::record_batch::RecordBatch;

use crate::watermark::PartitionKey;

/// The filtered rows of one pane.
#[derive(Debug, Default)]
pub struct Pane {
    /// Row batches in arrival order, with the rule's columns.
    pub batches: Vec<RecordBatch>,
    /// The partition each batch came from (a batch never mixes partitions).
    pub sources: Vec<PartitionKey>,
    /// Total rows.
    pub rows: usize,
    /// Lowest source offset held, per partition: what the commit point must not pass.
    pub min_offset: BTreeMap<PartitionKey, i64>,
}

/// Open panes of one rule.
#[derive(Debug)]
pub struct RuleWindows {
    size_ms: i64,
    slide_ms: i64,
    panes: BTreeMap<i64, Pane>,
    /// Every window whose end is at or before this has been closed.
    closed_through: i64,
}

impl RuleWindows {
    /// State for windows of `size_ms`, sliding by `slide_ms` (which divides it).
    pub fn new(size_ms: i64, slide_ms: i64) -> Self {
        RuleWindows {
            size_ms,
            slide_ms,
            panes: BTreeMap::new(),
            closed_through: i64::MIN,
        }
    }

    /// Start of the pane holding event time `t`.
    pub fn pane_start(&self, t: i64) -> i64 {
        t.div_euclid(self.slide_ms) * self.slide_ms
    }

    /// Whether a row at `t` arriving under watermark `wm` is late: every window covering it closed.
    pub fn is_late(&self, t: i64, wm: i64) -> bool {
        self.pane_start(t).saturating_add(self.size_ms) <= wm
    }

    /// Whether moving the watermark to `wm` would close a window (one may end in `(closed_through, wm]`).
    pub fn would_close(&self, wm: i64) -> bool {
        wm > self.closed_through
            && wm.div_euclid(self.slide_ms) > self.closed_through.div_euclid(self.slide_ms)
    }

    /// Adds rows to a pane.
    pub fn add(&mut self, pane: i64, batch: RecordBatch, key: &PartitionKey, min_offset: i64) {
        let p = self.panes.entry(pane).or_default();
        p.rows += batch.num_rows();
        p.batches.push(batch);
        p.sources.push(key.clone());
        p.min_offset
            .entry(key.clone())
            .and_modify(|o| *o = (*o).min(min_offset))
            .or_insert(min_offset);
    }

    /// Closes every window ending at or before `wm`, earliest first: for each, `on_window` gets
    /// its start and the rows of its panes. Panes no open window needs are dropped.
    pub fn close_until(&mut self, wm: i64, mut on_window: impl FnMut(i64, Vec<RecordBatch>)) {
        if wm <= self.closed_through {
            return;
        }
        let (w, s) = (self.size_ms, self.slide_ms);
        let mut starts = BTreeSet::new();
        for &p in self.panes.keys() {
            // Windows covering pane p start at p - W + S, ..., p.
            let mut ws = p - w + s;
            while ws <= p {
                let end = ws.saturating_add(w);
                if end > self.closed_through && end <= wm {
                    starts.insert(ws);
                }
                ws += s;
            }
        }
        for ws in starts {
            let rows: Vec<RecordBatch> = self
                .panes
                .range(ws..ws.saturating_add(w))
                .flat_map(|(_, p)| p.batches.iter().cloned())
                .collect();
            on_window(ws, rows);
        }
        self.closed_through = wm;
        // A pane is needed until the last window covering it (start = the pane) closes.
        self.panes.retain(|p, _| p.saturating_add(w) > wm);
    }

    /// Removes every row of one partition from the open panes.
    pub fn drop_partition(&mut self, key: &PartitionKey) {
        for pane in self.panes.values_mut() {
            let (mut batches, mut sources) = (Vec::new(), Vec::new());
            for (b, k) in pane.batches.drain(..).zip(pane.sources.drain(..)) {
                if &k != key {
                    batches.push(b);
                    sources.push(k);
                }
            }
            pane.rows = batches.iter().map(RecordBatch::num_rows).sum();
            pane.batches = batches;
            pane.sources = sources;
            pane.min_offset.remove(key);
        }
        self.panes.retain(|_, p| p.rows > 0);
    }

    /// Rows buffered in open panes.
    pub fn buffered_rows(&self) -> usize {
        self.panes.values().map(|p| p.rows).sum()
    }

    /// Bytes of Arrow memory buffered in open panes.
    pub fn buffered_bytes(&self) -> usize {
        self.panes
            .values()
            .flat_map(|p| &p.batches)
            .map(RecordBatch::get_array_memory_size)
            .sum()
    }

    /// Open panes.
    pub fn panes(&self) -> impl Iterator<Item = (&i64, &Pane)> {
        self.panes.iter()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch(n: usize) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![0i64; n]))]).unwrap()
    }

    #[test]
    fn sliding_windows_share_panes_and_close_in_order() {
        let mut w = RuleWindows::new(30, 10);
        let key: PartitionKey = ("t".into(), 0);
        w.add(w.pane_start(5), batch(1), &key, 1);
        w.add(w.pane_start(25), batch(2), &key, 2);
        let mut closed = Vec::new();
        w.close_until(40, |start, rows| {
            closed.push((start, rows.iter().map(RecordBatch::num_rows).sum::<usize>()))
        });
        // Windows ending at or before 40: [-20,10) [-10,20) [0,30) [10,40).
        assert_eq!(closed, [(-20, 1), (-10, 1), (0, 3), (10, 2)]);
        assert_eq!(w.buffered_rows(), 2, "pane 20 is still needed by [20,50)");
        assert!(w.is_late(5, 40) && !w.is_late(25, 40));
    }

    #[test]
    fn dropping_a_partition_removes_its_rows_and_offsets_only() {
        let mut w = RuleWindows::new(60, 60);
        let (a, b): (PartitionKey, PartitionKey) = (("t".into(), 0), ("t".into(), 1));
        w.add(0, batch(3), &a, 10);
        w.add(0, batch(2), &b, 7);
        w.add(60, batch(1), &a, 12);
        w.drop_partition(&a);
        assert_eq!(w.buffered_rows(), 2);
        let offsets: Vec<_> = w.panes().flat_map(|(_, p)| p.min_offset.clone()).collect();
        assert_eq!(offsets, [(b.clone(), 7)]);
        w.drop_partition(&b);
        assert_eq!(w.panes().count(), 0, "empty panes are dropped");
    }
}
