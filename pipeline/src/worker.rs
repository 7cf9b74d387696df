//! Worker threads: each hosts some tasks and runs them on the inputs the main thread routes to
//! it, in order. Everything a task emits goes back to the main thread, which owns the sinks.
//!
//! Control messages travel in the same queue as inputs, so they act as barriers: a
//! [`ToWorker::Barrier`] is answered after every input sent before it was processed, and the
//! alerts those inputs closed were sent back before the answer. That is what lets the main
//! thread checkpoint a task and commit its partition without stopping the flow.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Receiver, Sender};
use gatewatch_engine::operator::{Emitted, StateSize};
use gatewatch_engine::task::TaskCheckpoint;
use gatewatch_engine::{EngineConfig, EngineError, EngineStats, RuleSet, Task, TaskId, TaskInput};
use gatewatch_ingest::TopicPartition;

/// Main thread -> worker.
pub enum ToWorker {
    /// Rows for a task (created on first use).
    Input(TaskId, Box<TaskInput>),
    /// An upstream's watermark moved without rows (idle live tail).
    Advance(TaskId, TopicPartition, i64),
    /// An upstream that never had a record is idle: it holds nothing back until it sends rows.
    Idle(TaskId, TopicPartition),
    /// Create a task restored from a checkpoint (a Kafka partition assigned with one).
    Start {
        /// The task.
        task: TaskId,
        /// Its upstream partitions (it waits for each one's watermark).
        upstreams: Vec<TopicPartition>,
        /// Its saved state and the watermark its previous owner reached.
        restore: Option<(TaskCheckpoint, i64)>,
    },
    /// Drop a task (its partition was revoked).
    Drop(TaskId),
    /// A reloaded rule set.
    Rules(Arc<RuleSet>),
    /// Report every task's state.
    Barrier {
        /// Barrier number, echoed back.
        id: u64,
        /// Include each task's checkpoint.
        checkpoint: bool,
    },
    /// End of input: close every window and report.
    Finish,
}

/// What a barrier or the end reports about one task.
#[derive(Debug, Clone)]
pub struct TaskReport {
    /// The task.
    pub id: TaskId,
    /// Per upstream, the lowest offset its open state holds.
    pub held: BTreeMap<TopicPartition, i64>,
    /// Per upstream, the highest offset it was handed.
    pub processed: BTreeMap<TopicPartition, i64>,
    /// Its watermark.
    pub watermark: i64,
    /// Its long-lived state (when asked for).
    pub checkpoint: Option<TaskCheckpoint>,
    /// What it holds.
    pub state: StateSize,
}

/// Worker -> main thread.
pub enum FromWorker {
    /// Alerts and statistics rows of closed windows.
    Emitted(Emitted),
    /// The answer to a barrier.
    Report {
        /// Barrier number.
        id: u64,
        /// Worker index.
        worker: usize,
        /// Every task hosted.
        tasks: Vec<TaskReport>,
        /// Counters of all its tasks, current and dropped.
        stats: EngineStats,
    },
    /// The answer to `Finish`.
    Finished {
        /// Worker index.
        worker: usize,
        /// Every task hosted.
        tasks: Vec<TaskReport>,
        /// Counters of all its tasks, current and dropped.
        stats: EngineStats,
    },
    /// A task failed: the run stops.
    Error(String),
}

/// The worker hosting a task, among `n`.
pub fn worker_of(task: &TaskId, n: usize) -> usize {
    let n = n.max(1);
    match task {
        TaskId::Shard(s) => *s as usize % n,
        TaskId::Partition(tp) => {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in tp.topic.as_bytes() {
                h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
            (h.wrapping_add(tp.partition as u64) % n as u64) as usize
        }
    }
}

struct Worker {
    index: usize,
    cfg: Arc<EngineConfig>,
    rules: Arc<RuleSet>,
    tasks: BTreeMap<TaskId, Task>,
    retired: EngineStats,
    out: Sender<FromWorker>,
}

impl Worker {
    fn task(&mut self, id: &TaskId) -> Result<&mut Task, EngineError> {
        if !self.tasks.contains_key(id) {
            let task = Task::new(id.clone(), self.cfg.clone(), self.rules.operators()?);
            self.tasks.insert(id.clone(), task);
        }
        self.tasks
            .get_mut(id)
            .ok_or_else(|| EngineError::Internal("task vanished".into()))
    }

    fn emit(&self, e: Emitted) {
        if !e.is_empty() {
            let _ = self.out.send(FromWorker::Emitted(e));
        }
    }

    fn reports(&self, checkpoint: bool) -> Vec<TaskReport> {
        self.tasks
            .values()
            .map(|t| TaskReport {
                id: t.id().clone(),
                held: t.held_offsets(),
                processed: t.processed().clone(),
                watermark: t.watermark(),
                checkpoint: checkpoint.then(|| t.checkpoint()),
                state: t.state_size(),
            })
            .collect()
    }

    /// Keeps a dropped task's counters (not its state, which is gone).
    fn retire(&mut self, mut old: Task) {
        self.retired.merge(&old.take_stats());
    }

    fn stats(&self) -> EngineStats {
        let mut s = self.retired.clone();
        for t in self.tasks.values() {
            s.merge(&t.stats());
        }
        s
    }

    fn handle(&mut self, msg: ToWorker) -> Result<bool, EngineError> {
        match msg {
            ToWorker::Input(id, input) => {
                let e = self.task(&id)?.process(&input)?;
                self.emit(e);
            }
            ToWorker::Advance(id, tp, wm) => {
                if let Some(t) = self.tasks.get_mut(&id) {
                    let e = t.advance(&tp, wm)?;
                    self.emit(e);
                }
            }
            ToWorker::Idle(id, tp) => {
                if let Some(t) = self.tasks.get_mut(&id) {
                    let e = t.set_idle(&tp)?;
                    self.emit(e);
                }
            }
            ToWorker::Start {
                task,
                upstreams,
                restore,
            } => {
                let mut t = Task::new(task.clone(), self.cfg.clone(), self.rules.operators()?);
                for u in &upstreams {
                    t.register_upstream(u);
                }
                if let Some((cp, watermark)) = restore {
                    t.restore(&cp)?;
                    t.set_discard_through(watermark);
                }
                if let Some(old) = self.tasks.insert(task, t) {
                    self.retire(old);
                }
            }
            ToWorker::Drop(id) => {
                if let Some(old) = self.tasks.remove(&id) {
                    self.retire(old);
                }
            }
            ToWorker::Rules(rules) => {
                self.rules = rules;
                for t in self.tasks.values_mut() {
                    let mut err = None;
                    let rules = &self.rules;
                    t.replace_operators(|old| match rules.reuse(old) {
                        Ok(ops) => ops,
                        Err(e) => {
                            err = Some(e);
                            Vec::new()
                        }
                    });
                    if let Some(e) = err {
                        return Err(e);
                    }
                }
            }
            ToWorker::Barrier { id, checkpoint } => {
                let _ = self.out.send(FromWorker::Report {
                    id,
                    worker: self.index,
                    tasks: self.reports(checkpoint),
                    stats: self.stats(),
                });
            }
            ToWorker::Finish => {
                let ids: Vec<TaskId> = self.tasks.keys().cloned().collect();
                for id in ids {
                    let e = self.task(&id)?.finish()?;
                    self.emit(e);
                }
                let _ = self.out.send(FromWorker::Finished {
                    worker: self.index,
                    tasks: self.reports(true),
                    stats: self.stats(),
                });
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Starts worker `index`.
pub fn spawn_worker(
    index: usize,
    cfg: Arc<EngineConfig>,
    rules: Arc<RuleSet>,
    input: Receiver<ToWorker>,
    out: Sender<FromWorker>,
) -> std::io::Result<thread::JoinHandle<()>> {
    thread::Builder::new()
        .name(format!("gw-task-{index}"))
        .spawn(move || {
            let mut w = Worker {
                index,
                cfg,
                rules,
                tasks: BTreeMap::new(),
                retired: EngineStats::default(),
                out,
            };
            for msg in input {
                match w.handle(msg) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        let _ = w.out.send(FromWorker::Error(e.to_string()));
                        break;
                    }
                }
            }
        })
}
