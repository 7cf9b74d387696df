//! The main loop's side of repartitioning (see [`crate::repartition`]): ship what input
//! partitions' tasks do not evaluate, start repartition tasks on assignment, and turn
//! repartition records into task inputs.

use anyhow::{Context, Result};
use gatewatch_engine::{RuleSet, TaskId, TaskInput};
use gatewatch_ingest::kafka::repartition::RepartitionWriter;
use gatewatch_ingest::kafka::KafkaUrl;
use gatewatch_ingest::{Assignment, Column, Shuffled, TopicPartition};

use super::Main;
use crate::repartition::{key_name, marks_from_json, shuffled_keys, Downstream, Plan, Shipper};
use crate::summary::Repartitioned;
use crate::worker::ToWorker;

/// Repartitioning in a Kafka run.
pub(super) struct Hop {
    pub(super) plan: Plan,
    pub(super) shipper: Shipper,
    pub(super) downstream: Downstream,
    received: u64,
    unreadable: u64,
    /// Input partitions that never had a record, and when they were last announced idle.
    idle_sent: std::collections::HashMap<TopicPartition, std::time::Instant>,
    /// Quiet input partitions, and when their wall-clock watermark was last shipped.
    wm_sent: std::collections::HashMap<TopicPartition, std::time::Instant>,
}

impl Hop {
    /// Sets up the repartition topics `set` needs with the input keyed by `input_key`; `None`
    /// when every rule is keyed like the input (or repartitioning is off).
    pub(super) fn connect(
        url: &KafkaUrl,
        set: &RuleSet,
        input_key: Option<Column>,
    ) -> Result<Option<Hop>> {
        if !url.repartition {
            return Ok(None);
        }
        let keys = shuffled_keys(set, input_key);
        if keys.is_empty() {
            return Ok(None);
        }
        // Rules that need every row in one place get a topic of one partition.
        let topics: Vec<(String, Option<i32>)> = keys
            .iter()
            .map(|(_, c)| {
                (
                    gatewatch_ingest::kafka::repartition::repartition_topic(
                        &url.group,
                        key_name(*c),
                    ),
                    c.is_none().then_some(1),
                )
            })
            .collect();
        let (writer, counts) = RepartitionWriter::connect(url, &topics)
            .map_err(anyhow::Error::msg)
            .context("setting up repartition topics (or run with ?repartition=off, and accept that rules keyed by another column than --input-key see each instance's share only)")?;
        let inputs = writer
            .partition_counts(&url.topics)
            .map_err(anyhow::Error::msg)?;
        let origins = url
            .topics
            .iter()
            .zip(inputs)
            .flat_map(|(t, n)| (0..n).map(move |p| TopicPartition::new(t.as_str(), p)))
            .collect();
        let plan = Plan::new(set, &keys, &url.group, &counts, origins);
        for s in &plan.shuffles {
            tracing::info!(topic = %s.topic, partitions = s.partitions, rules = s.rules.len(), "rules keyed by {} repartition through {}", key_name(s.column), s.topic);
        }
        Ok(Some(Hop {
            plan,
            shipper: Shipper::new(writer),
            downstream: Downstream::default(),
            received: 0,
            unreadable: 0,
            idle_sent: Default::default(),
            wm_sent: Default::default(),
        }))
    }

    /// A reload: the plan follows the new rule set.
    pub(super) fn reload(&mut self, set: &RuleSet) {
        for name in self.plan.refresh(set) {
            tracing::warn!(
                "rules keyed by {name} have no repartition topic (added by a reload): they run in each input partition's task until a restart"
            );
        }
    }

    /// Counters for the summary.
    pub(super) fn summary(&self) -> Repartitioned {
        tracing::info!(
            sent_records = self.shipper.records,
            sent_rows = self.shipper.rows,
            received = self.received,
            duplicates = self.downstream.duplicates,
            unreadable = self.unreadable,
            "repartition: {:?} encoding and sending, {:?} waiting for acknowledgements at the end",
            self.shipper.busy.0,
            self.shipper.busy.1
        );
        Repartitioned {
            records: self.shipper.records,
            rows: self.shipper.rows,
            bytes: self.shipper.bytes,
            received: self.received,
            duplicates: self.downstream.duplicates,
            unreadable: self.unreadable,
            hop_ms: self
                .downstream
                .hop_quantile_ms(0.5)
                .zip(self.downstream.hop_quantile_ms(0.99)),
        }
    }
}

impl Main<'_> {
    /// An input for a task: an input partition's rows are shipped for the repartitioned keys
    /// and evaluated locally for the others.
    pub(super) fn outbound(&mut self, task: &TaskId, mut input: TaskInput) -> Result<TaskInput> {
        let Some(hop) = self.hop.as_mut() else {
            return Ok(input);
        };
        if !matches!(task, TaskId::Partition(tp) if !hop.plan.is_repartition(tp)) {
            return Ok(input);
        }
        let before = (hop.shipper.rows, hop.shipper.bytes);
        hop.shipper.ship(&hop.plan, &input)?;
        if self.cfg.observe.is_some() {
            crate::observe::repartition_sent(
                hop.shipper.rows - before.0,
                hop.shipper.bytes - before.1,
            );
        }
        input.selection = Some(hop.plan.local_selection(input.batch.num_rows()));
        Ok(input)
    }

    /// A quiet input partition's watermark moved with the wall clock (`idle` after its last
    /// record). It moves on every tick of the main loop, but is shipped at most every
    /// [`quiet_watermark_period`]: each shipment is a record per shuffle and destination
    /// partition, and an idle pipeline must not fill the repartition topics.
    pub(super) fn ship_watermark(
        &mut self,
        tp: &TopicPartition,
        wm: i64,
        idle: std::time::Duration,
    ) -> Result<()> {
        let Some(hop) = self.hop.as_mut() else {
            return Ok(());
        };
        let period = quiet_watermark_period(idle);
        if hop.wm_sent.get(tp).is_some_and(|t| t.elapsed() < period) {
            return Ok(());
        }
        hop.wm_sent.insert(tp.clone(), std::time::Instant::now());
        hop.shipper.watermark(&hop.plan, tp, wm)
    }

    /// An input partition quiet for `idle` that never had a record: repartition tasks stop
    /// waiting for it (announced again every `idle`, for tasks restored meanwhile).
    pub(super) fn ship_idle(
        &mut self,
        tp: &TopicPartition,
        idle: std::time::Duration,
    ) -> Result<()> {
        let Some(hop) = self.hop.as_mut() else {
            return Ok(());
        };
        if hop.idle_sent.get(tp).is_some_and(|t| t.elapsed() < idle) {
            return Ok(());
        }
        hop.idle_sent.insert(tp.clone(), std::time::Instant::now());
        tracing::info!(partition = %tp, "input partition idle with no record yet: repartitioned windows no longer wait for it");
        hop.shipper.idle(&hop.plan, tp)
    }

    /// Starts the task of an assigned repartition partition; `false` if `a` is an input
    /// partition.
    pub(super) fn assigned_repartition(&mut self, a: &Assignment) -> Result<bool> {
        let Some(hop) = self.hop.as_mut() else {
            return Ok(false);
        };
        let Some(key) = hop.plan.shuffle_of(&a.tp).map(|s| s.key) else {
            return Ok(false);
        };
        let checkpoint = super::partitions::checkpoint_of(a);
        let marks = checkpoint
            .as_ref()
            .and_then(|cp| cp.marks.as_ref())
            .map(marks_from_json)
            .unwrap_or_default();
        if let Some(cp) = &checkpoint {
            tracing::info!(partition = %a.tp, resume_offset = cp.resume_offset, processed_through = cp.processed_through, "restoring repartition task from checkpoint");
        }
        hop.downstream.start(&a.tp, key, marks);
        let upstreams = hop.plan.origins.clone();
        let task = TaskId::Partition(a.tp.clone());
        let restore = checkpoint.map(|cp| (cp.task, cp.watermark));
        self.send(
            &task,
            ToWorker::Start {
                task: task.clone(),
                upstreams,
                restore,
            },
        )?;
        Ok(true)
    }

    /// Forgets a revoked partition; `true` if it was a repartition partition.
    pub(super) fn revoked_repartition(&mut self, tp: &TopicPartition) -> bool {
        let Some(hop) = self.hop.as_mut() else {
            return false;
        };
        if hop.plan.is_repartition(tp) {
            hop.downstream.remove(tp);
            true
        } else {
            hop.shipper.forget(tp);
            hop.wm_sent.remove(tp);
            hop.idle_sent.remove(tp);
            false
        }
    }

    /// A repartition record: rows for its task.
    pub(super) fn on_shuffled(&mut self, rec: Shuffled) -> Result<()> {
        let Some(hop) = self.hop.as_mut() else {
            return Ok(());
        };
        let dups = hop.downstream.duplicates;
        let input = match hop.downstream.accept(&rec) {
            Ok(Some((input, true))) => {
                let task = TaskId::Partition(rec.tp);
                return self.send(&task, ToWorker::Idle(task.clone(), input.upstream));
            }
            Ok(Some((input, false))) => input,
            Ok(None) => return Ok(()),
            Err(e) => {
                // Only gatewatch writes these topics; a record it cannot read is counted,
                // logged and dead-lettered, never allowed to stop the pipeline.
                hop.unreadable += 1;
                tracing::error!(partition = %rec.tp, offset = rec.offset, "unreadable repartition record, skipped: {e:#}");
                let error = format!("repartition: {e:#}");
                return self.dead_letter(&crate::dead_letter::Letter {
                    source: &rec.tp.topic,
                    partition: rec.tp.partition,
                    offset: rec.offset,
                    error: &error,
                    raw: &rec.payload,
                    truncated: false,
                });
            }
        };
        hop.received += input.batch.num_rows() as u64;
        if self.cfg.observe.is_some() {
            crate::observe::repartition_received(
                input.batch.num_rows() as u64,
                hop.downstream.duplicates - dups,
            );
        }
        let task = TaskId::Partition(rec.tp);
        self.send(&task, ToWorker::Input(task.clone(), Box::new(input)))
    }
}

/// How often a quiet input partition's advancing watermark is shipped: a sixth of the idle
/// timeout (5 s by default), at least every second. Repartitioned windows close up to this much
/// later than local ones on a quiet input.
fn quiet_watermark_period(idle: std::time::Duration) -> std::time::Duration {
    (idle / 6).max(std::time::Duration::from_secs(1))
}
