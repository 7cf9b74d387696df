//! Event-time watermarks: per source partition, max event time seen minus the allowed
//! lateness; the pipeline's watermark is the minimum over partitions and never goes back.

use std::collections::HashMap;
use std::sync::Arc;

/// A source partition: (source name, partition).
pub type PartitionKey = (Arc<str>, i32);

/// The watermark before any event: nothing can be late yet.
pub const NO_WATERMARK: i64 = i64::MIN;

/// Tracks watermarks as rows arrive.
#[derive(Debug)]
pub struct WatermarkTracker {
    lateness_ms: i64,
    max_seen: HashMap<PartitionKey, i64>,
    current: i64,
}

impl WatermarkTracker {
    /// A tracker allowing events to arrive up to `lateness_ms` behind the newest one.
    pub fn new(lateness_ms: i64) -> Self {
        WatermarkTracker {
            lateness_ms,
            max_seen: HashMap::new(),
            current: NO_WATERMARK,
        }
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
        let others = self
            .max_seen
            .iter()
            .filter(|(k, _)| *k != key)
            .map(|(_, m)| m.saturating_sub(self.lateness_ms))
            .min();
        let mut running = self.max_seen.get(key).copied();
        for &t in times {
            wm_before.push(self.current);
            let mine = running.map_or(t, |r| r.max(t));
            running = Some(mine);
            let candidate = match others {
                Some(o) => o.min(mine.saturating_sub(self.lateness_ms)),
                None => mine.saturating_sub(self.lateness_ms),
            };
            self.current = self.current.max(candidate);
        }
        if let Some(r) = running {
            self.max_seen.insert(key.clone(), r);
        }
    }

    /// Moves the watermark as if event time had advanced by `idle_ms` past the newest event
    /// seen (wall-clock time with no input). Returns whether it moved.
    pub fn advance_idle(&mut self, idle_ms: i64) -> bool {
        let Some(newest) = self.max_seen.values().max() else {
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
}
