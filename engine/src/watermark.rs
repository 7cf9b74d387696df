//! Event-time watermarks: per source partition, max event time seen minus the allowed
//! lateness; the pipeline's watermark is the minimum over partitions and never goes back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// A source partition: (source name, partition).
pub type PartitionKey = (Arc<str>, i32);

/// The watermark before any event: nothing can be late yet.
pub const NO_WATERMARK: i64 = i64::MIN;

/// One source partition's progress.
#[derive(Debug, Clone, Copy)]
struct PartitionState {
    /// Newest event time seen; `None` for an assigned partition that has sent nothing yet,
    /// which holds the watermark back (it may still deliver old events).
    max_seen: Option<i64>,
    /// When it last sent data (or was assigned).
    last_active: Instant,
}

/// Tracks watermarks as rows arrive.
#[derive(Debug)]
pub struct WatermarkTracker {
    lateness_ms: i64,
    partitions: HashMap<PartitionKey, PartitionState>,
    partition_idle_ms: Option<i64>,
    current: i64,
}

impl WatermarkTracker {
    /// A tracker allowing events to arrive up to `lateness_ms` behind the newest one.
    pub fn new(lateness_ms: i64) -> Self {
        WatermarkTracker {
            lateness_ms,
            partitions: HashMap::new(),
            partition_idle_ms: None,
            current: NO_WATERMARK,
        }
    }

    /// Partitions silent for longer than `idle_ms` (wall clock) stop holding the watermark back.
    pub fn with_partition_idle(mut self, idle_ms: Option<i64>) -> Self {
        self.partition_idle_ms = idle_ms;
        self
    }

    /// A partition was assigned: until it sends data (or goes idle) it holds the watermark.
    pub fn assign(&mut self, key: &PartitionKey) {
        self.partitions
            .entry(key.clone())
            .or_insert(PartitionState {
                max_seen: None,
                last_active: Instant::now(),
            });
    }

    /// Forgets a partition (revoked): it no longer holds the watermark back.
    pub fn remove(&mut self, key: &PartitionKey) {
        self.partitions.remove(key);
    }

    /// The pipeline watermark.
    pub fn current(&self) -> i64 {
        self.current
    }

    /// Feeds one partition's rows in arrival order; `wm_before[i]` receives the watermark in
    /// force when row `i` arrived (it decides whether the row is late). Per row, not per batch,
    /// so results do not depend on where batches happen to be cut.
    pub fn observe(&mut self, key: &PartitionKey, times: &[i64], wm_before: &mut Vec<i64>) {
        wm_before.clear();
        let idle_ms = self.partition_idle_ms;
        let lateness = self.lateness_ms;
        let others = self
            .partitions
            .iter()
            .filter(|(k, _)| *k != key)
            .filter(|(_, st)| {
                idle_ms.is_none_or(|limit| (st.last_active.elapsed().as_millis() as i64) < limit)
            })
            .map(|(_, st)| st.max_seen.map_or(i64::MIN, |m| m.saturating_sub(lateness)))
            .min();
        let mut running = self.partitions.get(key).and_then(|st| st.max_seen);
        for &t in times {
            wm_before.push(self.current);
            let mine = running.map_or(t, |r| r.max(t));
            running = Some(mine);
            let candidate = match others {
                Some(o) => o.min(mine.saturating_sub(lateness)),
                None => mine.saturating_sub(lateness),
            };
            self.current = self.current.max(candidate);
        }
        if running.is_some() {
            self.partitions.insert(
                key.clone(),
                PartitionState {
                    max_seen: running,
                    last_active: Instant::now(),
                },
            );
        }
    }

    /// Moves the watermark as if event time had advanced by `idle_ms` past the newest event
    /// seen (wall-clock time with no input). Returns whether it moved.
    pub fn advance_idle(&mut self, idle_ms: i64) -> bool {
        let Some(newest) = self.partitions.values().filter_map(|st| st.max_seen).max() else {
            return false;
        };
        let candidate = newest
            .saturating_add(idle_ms)
            .saturating_sub(self.lateness_ms);
        if candidate > self.current {
            self.current = candidate;
            true
        } else {
            false
        }
    }

    /// End of input: every window may close.
    pub fn finish(&mut self) {
        self.current = i64::MAX;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_row_watermark_with_lateness() {
        let mut w = WatermarkTracker::new(5);
        let key: PartitionKey = ("f".into(), 0);
        let mut before = Vec::new();
        w.observe(&key, &[100, 90, 120, 110], &mut before);
        assert_eq!(before, [NO_WATERMARK, 95, 95, 115]);
        assert_eq!(w.current(), 115);
        w.observe(&key, &[50], &mut before);
        assert_eq!(w.current(), 115, "never goes backwards");
    }

    #[test]
    fn minimum_over_partitions() {
        let mut w = WatermarkTracker::new(0);
        let a: PartitionKey = ("t".into(), 0);
        let b: PartitionKey = ("t".into(), 1);
        let mut before = Vec::new();
        w.observe(&a, &[1000], &mut before);
        assert_eq!(w.current(), 1000);
        w.observe(&b, &[200], &mut before);
        assert_eq!(w.current(), 1000, "the watermark never goes back");
        w.observe(&a, &[5000], &mut before);
        assert_eq!(w.current(), 1000, "held back by the slower partition");
        w.observe(&b, &[3000], &mut before);
        assert_eq!(w.current(), 3000);
    }

    #[test]
    fn an_assigned_partition_without_data_holds_the_watermark_until_idle() {
        let a: PartitionKey = ("t".into(), 0);
        let b: PartitionKey = ("t".into(), 1);
        let mut before = Vec::new();
        let mut w = WatermarkTracker::new(0);
        w.assign(&a);
        w.assign(&b);
        w.observe(&a, &[1000, 2000], &mut before);
        assert_eq!(w.current(), NO_WATERMARK, "b may still send old events");
        w.observe(&b, &[500], &mut before);
        assert_eq!(w.current(), 500);

        let mut w = WatermarkTracker::new(0).with_partition_idle(Some(0));
        w.assign(&b);
        w.observe(&a, &[1000], &mut before);
        assert_eq!(w.current(), 1000, "an idle partition stops holding it back");
    }
}
