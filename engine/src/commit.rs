//! Where a partition may be committed, and what a checkpoint of its task holds.
//!
//! **The commit point** of a partition is the lowest offset its open state still needs: rows
//! in open windows and open traffic minutes, rows the clock holds for a time jump; if nothing
//! is held, the offset after the last one processed. Rows a rule's filter dropped hold nothing.
//! The pipeline commits it only after the alerts of every window closed so far are durably
//! written (spooled or fsynced) and after the checkpoint below is stored.
//!
//! **The resume point** is the latest batch boundary at or before the commit point: there the
//! sequencer kept a snapshot of the partition's clock, so a task rebuilt from it decides every
//! later row exactly as the old one did.
//!
//! **A checkpoint** ([`PartitionCheckpoint`]) pairs the resume point and that clock with the
//! task's long-lived state (suppression, learned endpoints) as of the last processed offset,
//! and the watermark reached then. Rebuilding a task: restore the state, start the clock from
//! the snapshot, replay from the resume point; windows ending at or before the saved watermark
//! were already closed and delivered, so they close again silently (see
//! [`crate::Task::set_discard_through`]); every window still open then is rebuilt from rows
//! that all lie after the resume point, and gives the same alerts with the same ids.

use serde::{Deserialize, Serialize};

use crate::clock::ClockSnapshot;
use crate::task::TaskCheckpoint;

/// The offset a partition may be committed at, or `None` if nothing was processed yet:
/// the lowest of `held` (offsets still needed by open state), else `processed_through + 1`.
///
/// ```
/// use gatewatch_engine::commit::commit_point;
/// assert_eq!(commit_point(Some(99), [40, 70]), Some(40));
/// assert_eq!(commit_point(Some(99), []), Some(100));
/// assert_eq!(commit_point(None, [5]), Some(5));
/// assert_eq!(commit_point(None, []), None);
/// ```
pub fn commit_point(
    processed_through: Option<i64>,
    held: impl IntoIterator<Item = i64>,
) -> Option<i64> {
    let next = processed_through.map(|p| p.saturating_add(1));
    let held = held.into_iter().min();
    match (held, next) {
        (Some(h), Some(n)) => Some(h.min(n)),
        (h, n) => h.or(n),
    }
}

/// Of `snapshots` (record boundary offset, state there; oldest first), the latest at or before
/// `offset`: where a restored task may resume. Older ones are dropped.
///
/// ```
/// use std::collections::VecDeque;
/// use gatewatch_engine::commit::resume_at;
/// let mut s: VecDeque<(i64, &str)> = [(10, "a"), (20, "b"), (30, "c")].into();
/// assert_eq!(resume_at(&mut s, 25), Some((20, "b")));
/// assert_eq!(s.len(), 2);
/// assert_eq!(resume_at(&mut s, 5), None);
/// ```
pub fn resume_at<T: Clone>(
    snapshots: &mut std::collections::VecDeque<(i64, T)>,
    offset: i64,
) -> Option<(i64, T)> {
    while snapshots.len() > 1 && snapshots[1].0 <= offset {
        snapshots.pop_front();
    }
    snapshots
        .front()
        .filter(|(first, _)| *first <= offset)
        .cloned()
}

/// Format version of [`PartitionCheckpoint`].
pub const CHECKPOINT_VERSION: u32 = 1;

/// Everything needed to rebuild a partition's task elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionCheckpoint {
    /// Format version ([`CHECKPOINT_VERSION`]).
    pub version: u32,
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Read again from here.
    pub resume_offset: i64,
    /// The partition's clock just before `resume_offset`.
    pub clock: ClockSnapshot,
    /// The previous owner processed everything up to here.
    pub processed_through: i64,
    /// The task watermark it had reached: windows ending at or before it were delivered.
    pub watermark: i64,
    /// Long-lived operator state as of `processed_through`.
    pub task: TaskCheckpoint,
    /// For a repartition partition: per source partition (`topic/partition`), the highest
    /// position counted before `resume_offset` (rows re-sent at or below it are dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marks: Option<std::collections::BTreeMap<String, i64>>,
}
