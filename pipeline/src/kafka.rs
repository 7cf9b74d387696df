//! Commits and checkpoints of Kafka partitions, coordinated from the main thread.
//!
//! Every `commit_every`, the main thread sends a barrier to every worker and notes, per
//! partition, the offsets its clock still holds. When all workers have answered (each answer
//! comes after the alerts of everything processed before the barrier, which the main thread
//! has then delivered), it makes dead letters and sinks durable, and for each partition builds
//! a [`PartitionCheckpoint`] at the commit point (see `gatewatch_engine::commit`), stores it
//! and commits the offset, for partitions it still owns only.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use crossbeam_channel::Sender;
use gatewatch_engine::commit::{commit_point, PartitionCheckpoint, CHECKPOINT_VERSION};
use gatewatch_engine::sequencer::Sequencer;
use gatewatch_engine::TaskId;
use gatewatch_ingest::kafka::Committer;
use gatewatch_ingest::TopicPartition;

use crate::repartition::{marks_to_json, Downstream};
use crate::worker::{TaskReport, ToWorker};

/// A restored partition still replaying what its previous owner had processed.
#[derive(Debug, Clone, Copy)]
pub struct Replay {
    /// The previous owner processed through here (dead letters up to it were written).
    pub processed_through: i64,
    /// The watermark it had reached.
    pub watermark: i64,
}

/// Per partition, the lowest offset its clock held when a barrier was sent.
pub type ClockHeld = HashMap<TopicPartition, Option<i64>>;

struct Round {
    id: u64,
    waiting: usize,
    clock_held: ClockHeld,
    reports: Vec<TaskReport>,
}

/// Commit bookkeeping of a Kafka run.
pub struct KafkaCommits {
    committer: Committer,
    every: Duration,
    last_round: Instant,
    next_id: u64,
    round: Option<Round>,
    /// Last (commit offset, processed through) stored per partition.
    committed: HashMap<TopicPartition, (i64, i64)>,
    /// Restored partitions still replaying.
    pub replay: HashMap<TopicPartition, Replay>,
    /// Commits made.
    pub commits: u64,
    /// When the last commit went through (or the bookkeeping started).
    last_commit: Instant,
}

impl KafkaCommits {
    /// Bookkeeping for `committer`, committing every `every`.
    pub fn new(committer: Committer, every: Duration) -> Self {
        KafkaCommits {
            committer,
            every,
            last_round: Instant::now(),
            next_id: 1,
            round: None,
            committed: HashMap::new(),
            replay: HashMap::new(),
            commits: 0,
            last_commit: Instant::now(),
        }
    }

    /// Time since the last commit went through (since the start before the first).
    pub fn since_commit(&self) -> Duration {
        self.last_commit.elapsed()
    }

    /// A partition went away: forget it.
    pub fn forget(&mut self, tp: &TopicPartition) {
        self.committed.remove(tp);
        self.replay.remove(tp);
    }

    /// Whether dead letters of `tp` at `offset` were already written by a previous owner.
    pub fn replayed(&self, tp: &TopicPartition, offset: i64) -> bool {
        self.replay
            .get(tp)
            .is_some_and(|r| offset <= r.processed_through)
    }

    /// Starts a commit round if one is due and none is running.
    pub fn maybe_start(
        &mut self,
        sequencer: &Sequencer,
        partitions: &[TopicPartition],
        workers: &[Sender<ToWorker>],
    ) {
        if self.round.is_some() || self.last_round.elapsed() < self.every {
            return;
        }
        self.last_round = Instant::now();
        let id = self.next_id;
        self.next_id += 1;
        let clock_held = partitions
            .iter()
            .map(|tp| (tp.clone(), sequencer.held_offset(tp)))
            .collect();
        let mut waiting = 0;
        for w in workers {
            if w.send(ToWorker::Barrier {
                id,
                checkpoint: true,
            })
            .is_ok()
            {
                waiting += 1;
            }
        }
        self.round = Some(Round {
            id,
            waiting,
            clock_held,
            reports: Vec::new(),
        });
    }

    /// A worker answered barrier `id`; returns the reports once every worker has.
    pub fn answer(
        &mut self,
        id: u64,
        tasks: Vec<TaskReport>,
    ) -> Option<(ClockHeld, Vec<TaskReport>)> {
        let round = self.round.as_mut().filter(|r| r.id == id)?;
        round.reports.extend(tasks);
        round.waiting = round.waiting.saturating_sub(1);
        if round.waiting > 0 {
            return None;
        }
        let round = self.round.take()?;
        Some((round.clock_held, round.reports))
    }

    /// Builds checkpoints from a completed round and commits them. The caller has made
    /// every alert and dead letter up to the barrier durable.
    pub fn commit(
        &mut self,
        sequencer: &mut Sequencer,
        clock_held: &ClockHeld,
        reports: &[TaskReport],
        at_end: bool,
        mut downstream: Option<&mut Downstream>,
    ) -> Result<()> {
        let mut items = Vec::new();
        for r in reports {
            let TaskId::Partition(tp) = &r.id else {
                continue;
            };
            let Some(&processed) = r.processed.get(tp) else {
                continue;
            };
            let Some(task) = r.checkpoint.clone() else {
                continue;
            };
            let held = r
                .held
                .get(tp)
                .copied()
                .into_iter()
                .chain(clock_held.get(tp).copied().flatten());
            let Some(c) = commit_point(Some(processed), held) else {
                continue;
            };
            let down = downstream.as_deref_mut().filter(|d| d.marks(tp).is_some());
            let (resume, clock, watermark, processed_through, marks) = if let Some(d) = down {
                // A repartition partition: no clock; its marks instead.
                let resumed = if at_end {
                    d.marks(tp).map(|m| (processed.saturating_add(1), m))
                } else {
                    d.resume_point(tp, c)
                };
                let Some((resume, marks)) = resumed else {
                    continue;
                };
                let marks = Some(marks_to_json(&marks));
                (resume, Default::default(), r.watermark, processed, marks)
            } else {
                let replay = self.replay.get(tp).copied();
                let (resume, clock, watermark) = if at_end {
                    // Every window was closed: resume after the last record, with the clock now.
                    let Some(clock) = sequencer.clock_snapshot(tp) else {
                        continue;
                    };
                    let wm = clock.watermark;
                    (processed.saturating_add(1), clock, wm)
                } else {
                    let Some((resume, clock)) = sequencer.resume_point(tp, c) else {
                        continue;
                    };
                    (resume, clock, r.watermark)
                };
                let watermark = replay.map_or(watermark, |rp| watermark.max(rp.watermark));
                let processed_through =
                    replay.map_or(processed, |rp| processed.max(rp.processed_through));
                (resume, clock, watermark, processed_through, None)
            };
            if self.committed.get(tp) == Some(&(c, processed_through)) {
                continue;
            }
            let cp = PartitionCheckpoint {
                version: CHECKPOINT_VERSION,
                topic: tp.topic.to_string(),
                partition: tp.partition,
                resume_offset: resume,
                clock,
                processed_through,
                watermark,
                task,
                marks,
            };
            let bytes = serde_json::to_vec(&cp)?;
            items.push((tp.clone(), c, bytes, processed_through));
        }
        if items.is_empty() {
            return Ok(());
        }
        let marks: HashMap<TopicPartition, (i64, i64)> = items
            .iter()
            .map(|(tp, c, _, p)| (tp.clone(), (*c, *p)))
            .collect();
        let done = self
            .committer
            .commit(items.into_iter().map(|(tp, c, b, _)| (tp, c, b)).collect())
            .map_err(anyhow::Error::msg)?;
        for tp in done {
            if let Some(m) = marks.get(&tp) {
                self.committed.insert(tp, *m);
            }
        }
        self.commits += 1;
        self.last_commit = Instant::now();
        crate::observe::committed();
        Ok(())
    }
}
