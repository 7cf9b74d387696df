//! The main loop's side of Kafka partitions: an assigned partition's task starts (restored
//! from the checkpoint its last commit stored), a revoked one's is dropped, and the workers'
//! answers to a barrier complete a commit round, committed once what it covers is durable.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use gatewatch_engine::commit::PartitionCheckpoint;
use gatewatch_engine::TaskId;
use gatewatch_ingest::TopicPartition;

use super::{Main, PROGRESS_BARRIERS};
use crate::kafka::Replay;
use crate::worker::{FromWorker, ToWorker};

impl Main<'_> {
    pub(super) fn on_assigned(
        &mut self,
        assignments: Vec<gatewatch_ingest::Assignment>,
    ) -> Result<()> {
        // Any assignment, even of no partition, means the consumer joined its group.
        if let Some(h) = &self.cfg.observe {
            h.joined();
        }
        for a in assignments {
            if self.assigned_repartition(&a)? {
                continue;
            }
            let checkpoint = checkpoint_of(&a);
            let task = TaskId::Partition(a.tp.clone());
            match &checkpoint {
                Some(cp) => {
                    tracing::info!(partition = %a.tp, resume_offset = cp.resume_offset, processed_through = cp.processed_through, "restoring task from checkpoint");
                    self.sequencer.start_partition(&a.tp, Some(&cp.clock));
                    if let Some(k) = self.kafka.as_mut() {
                        k.replay.insert(
                            a.tp.clone(),
                            Replay {
                                processed_through: cp.processed_through,
                                watermark: cp.watermark,
                            },
                        );
                    }
                }
                None => self.sequencer.start_partition(&a.tp, None),
            }
            // Quiet since its assignment: a partition that never gets a record is idle too.
            self.last_data
                .entry(a.tp.clone())
                .or_insert_with(Instant::now);
            let restore = checkpoint.map(|cp| (cp.task, cp.watermark));
            self.send(
                &task,
                ToWorker::Start {
                    task: task.clone(),
                    upstreams: vec![a.tp.clone()],
                    restore,
                },
            )?;
        }
        Ok(())
    }

    pub(super) fn on_revoked(&mut self, parts: Vec<TopicPartition>) -> Result<()> {
        for tp in parts {
            self.revoked_repartition(&tp);
            self.sequencer.remove_partition(&tp);
            self.last_data.remove(&tp);
            if let Some(k) = self.kafka.as_mut() {
                k.forget(&tp);
            }
            let task = TaskId::Partition(tp);
            self.send(&task, ToWorker::Drop(task.clone()))?;
        }
        Ok(())
    }

    pub(super) fn on_worker(&mut self, msg: FromWorker) -> Result<()> {
        match msg {
            FromWorker::Emitted(e) => self.deliver(e)?,
            FromWorker::Error(e) => bail!(e),
            FromWorker::Report {
                id,
                worker,
                tasks,
                stats,
            } => {
                self.stats[worker] = stats;
                if id >= PROGRESS_BARRIERS {
                    return Ok(());
                }
                let done = self.kafka.as_mut().and_then(|k| k.answer(id, tasks));
                if let Some((clock_held, reports)) = done {
                    let sent = self.hop.as_ref().map_or(0, |h| h.shipper.sent());
                    self.pending_commit = Some((clock_held, reports, sent));
                    self.try_commit()?;
                }
            }
            FromWorker::Finished { .. } => bail!("a task worker finished early"),
        }
        Ok(())
    }

    /// Commits a completed round once the repartition records sent before its barrier are
    /// acknowledged (checked without waiting: the flow goes on meanwhile).
    pub(super) fn try_commit(&mut self) -> Result<()> {
        let Some((_, _, sent)) = &self.pending_commit else {
            return Ok(());
        };
        if let Some(h) = &self.hop {
            if h.shipper.acknowledged()? < *sent {
                return Ok(());
            }
        }
        let Some((clock_held, reports, _)) = self.pending_commit.take() else {
            return Ok(());
        };
        self.make_durable()?;
        if let Some(k) = self.kafka.as_mut() {
            let down = self.hop.as_mut().map(|h| &mut h.downstream);
            k.commit(&mut self.sequencer, &clock_held, &reports, false, down)?;
        }
        Ok(())
    }

    /// Dead letters, sink output and repartition records written so far become durable.
    pub(super) fn make_durable(&mut self) -> Result<()> {
        if let Some(dl) = self.dead_letter.as_mut() {
            dl.sync()?;
        }
        for sink in self.sinks.iter_mut() {
            sink.sync()
                .with_context(|| format!("syncing {}", sink.name()))?;
        }
        Ok(())
    }
}

/// The checkpoint an assignment came with, if it has a readable one (an unreadable one is
/// logged: the partition then starts with empty state).
pub(super) fn checkpoint_of(a: &gatewatch_ingest::Assignment) -> Option<PartitionCheckpoint> {
    a.checkpoint
        .as_deref()
        .and_then(|b| match serde_json::from_slice(b) {
            Ok(cp) => Some(cp),
            Err(e) => {
                tracing::error!(partition = %a.tp, "unreadable checkpoint ({e}): starting the partition with empty state");
                None
            }
        })
}
