//! Rule sets, and the engine in one thread.
//!
//! [`RuleSet`] is what every part of the pipeline shares: the compiled rules, the columns they
//! read, the stateless filters decoders evaluate, and the operators each task instantiates.
//! [`Engine`] runs a sequencer and its tasks inline, one batch after the other: rule tests,
//! benchmarks and evaluation use it; the pipeline runs the same parts across threads.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use gatewatch_ingest::ColumnSet;
use gatewatch_rules::CompiledRule;

use crate::alert::Alert;
use crate::clock::ClockConfig;
use crate::error::EngineError;
use crate::guard::StateLimits;
use crate::operator::{Emitted, FilterMasks, InputAnswer, KeyGroup, Operator, StateSize};
use crate::rule_op::RuleOperator;
use crate::sequencer::{Placement, Rejected, RouteGroup, Sequenced, Sequencer};
use crate::stats::EngineStats;
use crate::task::{Task, TaskId};
use crate::traffic::{TrafficRows, TrafficStats};

/// Engine settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Event-time clocks: lateness and the protection against time jumps.
    pub clock: ClockConfig,
    /// Evidence requests kept per alert.
    pub evidence_samples: usize,
    /// What each rule may hold and emit (per task).
    pub limits: StateLimits,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            clock: ClockConfig::default(),
            evidence_samples: 5,
            limits: StateLimits::default(),
        }
    }
}

impl EngineConfig {
    /// Sets how far behind the newest event time an event may arrive and still be windowed.
    pub fn with_lateness_ms(mut self, ms: i64) -> Self {
        self.clock.lateness_ms = ms;
        self
    }
}

/// Compiled rules shared by every part of the pipeline, with a generation that changes on
/// every reload.
#[derive(Clone)]
pub struct RuleSet {
    /// Changes with every reload.
    pub generation: u64,
    /// The rules, in load order.
    pub rules: Vec<Arc<CompiledRule>>,
    /// Whether tasks also keep traffic statistics.
    pub traffic: bool,
    /// The rules' answered aggregate inputs, (column, pattern), each once however many rules
    /// ask it: what [`masks`](Self::masks) answers over each batch.
    answered: Vec<(String, String)>,
}

impl RuleSet {
    /// A rule set.
    pub fn new(rules: Vec<CompiledRule>, generation: u64, traffic: bool) -> Self {
        let mut answered: Vec<(String, String)> = Vec::new();
        for agg in rules.iter().filter_map(|r| r.agg.as_ref()) {
            for (column, pattern) in agg.answered() {
                if !answered.iter().any(|(c, p)| c == column && p == pattern) {
                    answered.push((column.to_owned(), pattern.to_owned()));
                }
            }
        }
        RuleSet {
            generation,
            rules: rules.into_iter().map(Arc::new).collect(),
            traffic,
            answered,
        }
    }

    /// Every column the rules (and statistics) read: what ingest must decode.
    pub fn projection(&self) -> ColumnSet {
        let rules = gatewatch_rules::compile::columns_read(self.rules.iter().map(|r| r.as_ref()));
        if self.traffic {
            rules.union(crate::traffic::columns())
        } else {
            rules
        }
    }

    /// Rule ids, in load order.
    pub fn ids(&self) -> Vec<String> {
        self.rules.iter().map(|r| r.id().to_owned()).collect()
    }

    /// The key groups rows are routed by, with their rules.
    pub fn route_groups(&self) -> Vec<RouteGroup> {
        let mut by_key: BTreeMap<KeyGroup, Vec<usize>> = BTreeMap::new();
        for (i, r) in self.rules.iter().enumerate() {
            by_key
                .entry(crate::rule_op::key_group_of(r))
                .or_default()
                .push(i);
        }
        let mut groups: Vec<RouteGroup> = by_key
            .into_iter()
            .map(|(key, rules)| RouteGroup {
                key,
                rules: Some(rules),
            })
            .collect();
        if self.traffic {
            match groups.iter_mut().find(|g| g.key == KeyGroup::Partition) {
                // Statistics need every row of the partition.
                Some(g) => g.rules = None,
                None => groups.push(RouteGroup {
                    key: KeyGroup::Partition,
                    rules: None,
                }),
            }
        }
        groups
    }

    /// The stateless filters of every rule on a decoded batch (any thread may call this).
    pub fn masks(&self, batch: &RecordBatch) -> Result<FilterMasks, EngineError> {
        let masks = self
            .rules
            .iter()
            .map(|r| {
                let projected = crate::rule_op::project_for(r, batch)?;
                Ok(r.filter_mask(&projected)?)
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        // Where an input cannot be answered here, each rule asking runs the call itself (and
        // reports its own error, if any).
        let answers = (self.answered.iter())
            .filter_map(|(column, pattern)| {
                let values = batch.column_by_name(column)?;
                let values = gatewatch_rules::regex_answer(column, values, pattern).ok()?;
                Some(InputAnswer {
                    column: column.clone(),
                    pattern: pattern.clone(),
                    values,
                })
            })
            .collect();
        Ok(FilterMasks {
            generation: self.generation,
            masks,
            answers,
        })
    }

    /// Fresh operators for a new task.
    pub fn operators(&self) -> Result<Vec<Box<dyn Operator>>, EngineError> {
        self.reuse(Vec::new())
    }

    /// Operators for a task after a reload: rules whose fingerprint is unchanged keep their
    /// state (open windows, suppression), others start empty; removed rules are dropped.
    pub fn reuse(
        &self,
        old: Vec<Box<dyn Operator>>,
    ) -> Result<Vec<Box<dyn Operator>>, EngineError> {
        let mut old_rules: BTreeMap<(String, u64), Box<dyn Operator>> = BTreeMap::new();
        let mut traffic: Option<Box<dyn Operator>> = None;
        for op in old {
            match op.fingerprint() {
                Some(f) => {
                    old_rules.insert((op.name().to_owned(), f), op);
                }
                None => traffic = Some(op),
            }
        }
        let mut ops: Vec<Box<dyn Operator>> = Vec::with_capacity(self.rules.len() + 1);
        for (i, rule) in self.rules.iter().enumerate() {
            match old_rules.remove(&(rule.id().to_owned(), rule.fingerprint)) {
                Some(mut op) => {
                    op.set_rule_index(self.generation, i);
                    ops.push(op);
                }
                None => ops.push(Box::new(RuleOperator::new(
                    rule.clone(),
                    self.generation,
                    i,
                )?)),
            }
        }
        if self.traffic {
            ops.push(traffic.unwrap_or_else(|| Box::new(TrafficStats::new())));
        }
        Ok(ops)
    }
}

/// The sequencer and its tasks in one thread.
pub struct Engine {
    cfg: Arc<EngineConfig>,
    rules: RuleSet,
    sequencer: Sequencer,
    tasks: BTreeMap<TaskId, Task>,
    events: u64,
    late: BTreeMap<String, u64>,
    traffic_out: TrafficRows,
    rejected: Vec<Rejected>,
}

impl Engine {
    /// An engine for `rules`: one task (for all entities). Input batches carry the canonical
    /// columns the rules read (see [`projection`](Self::projection)); a missing column reads
    /// as null.
    pub fn new(rules: Vec<CompiledRule>, cfg: EngineConfig) -> Self {
        Engine::with_placement(rules, cfg, Placement::Sharded(1))
    }

    /// An engine spreading rows over tasks as `placement` says.
    pub fn with_placement(
        rules: Vec<CompiledRule>,
        cfg: EngineConfig,
        placement: Placement,
    ) -> Self {
        let rules = RuleSet::new(rules, 1, false);
        let sequencer = Sequencer::new(cfg.clock.clone(), placement, rules.route_groups());
        Engine {
            cfg: Arc::new(cfg),
            rules,
            sequencer,
            tasks: BTreeMap::new(),
            events: 0,
            late: BTreeMap::new(),
            traffic_out: TrafficRows::default(),
            rejected: Vec::new(),
        }
    }

    /// Also keeps per-minute traffic statistics (see [`crate::traffic`]).
    pub fn with_traffic_stats(mut self) -> Self {
        self.rules.traffic = true;
        self.sequencer.set_groups(self.rules.route_groups());
        self
    }

    /// Traffic rows of minutes closed since the last call.
    pub fn take_traffic(&mut self) -> TrafficRows {
        std::mem::take(&mut self.traffic_out)
    }

    /// Rows held for a time jump and given up on since the last call (to dead-letter).
    pub fn take_rejected(&mut self) -> Vec<Rejected> {
        std::mem::take(&mut self.rejected)
    }

    /// Every column the loaded rules read: what ingest must decode.
    pub fn projection(&self) -> ColumnSet {
        self.rules.projection()
    }

    /// Ids of the loaded rules, in load order.
    pub fn rule_ids(&self) -> Vec<String> {
        self.rules.ids()
    }

    /// Swaps in a new rule set (hot reload); see [`RuleSet::reuse`].
    pub fn replace_rules(&mut self, rules: Vec<CompiledRule>) -> Result<(), EngineError> {
        let traffic = self.rules.traffic;
        self.rules = RuleSet::new(rules, self.rules.generation + 1, traffic);
        self.sequencer.set_groups(self.rules.route_groups());
        for task in self.tasks.values_mut() {
            let mut err = None;
            let rules = &self.rules;
            task.replace_operators(|old| match rules.reuse(old) {
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
        Ok(())
    }

    /// Counters so far, over all tasks.
    pub fn stats(&self) -> EngineStats {
        let mut s = EngineStats::default();
        for t in self.tasks.values() {
            s.merge(&t.stats());
        }
        s.events = self.events;
        s.late_by_source = self.late.clone();
        let (held, released, rejected) = self.sequencer.clock_stats();
        (s.time_held, s.time_released, s.time_rejected) = (held, released, rejected);
        s
    }

    /// The lowest task watermark (epoch ms).
    pub fn watermark(&self) -> i64 {
        self.tasks
            .values()
            .map(Task::watermark)
            .min()
            .unwrap_or(crate::clock::NO_WATERMARK)
    }

    /// Rows and bytes buffered in open windows.
    pub fn buffered(&self) -> (usize, usize) {
        let s = self.state_size();
        (s.rows, s.bytes)
    }

    /// What all tasks hold.
    pub fn state_size(&self) -> StateSize {
        let mut s = StateSize::default();
        for t in self.tasks.values() {
            s += t.state_size();
        }
        s
    }

    /// What each operator holds, summed over tasks, by operator name (rule id, `traffic`).
    pub fn state_by_operator(&self) -> BTreeMap<String, StateSize> {
        let mut out: BTreeMap<String, StateSize> = BTreeMap::new();
        for t in self.tasks.values() {
            for op in t.operators() {
                *out.entry(op.name().to_owned()).or_default() += op.state_size();
            }
        }
        out
    }

    /// Distinct entity values in open windows, summed over rules and tasks (slow: benchmarks).
    pub fn buffered_entities(&self) -> usize {
        self.tasks
            .values()
            .flat_map(|t| t.operators().iter())
            .map(|op| op.state_size().groups)
            .sum()
    }

    /// Per partition, the lowest source offset still held by open state: the commit point.
    pub fn held_offsets(&self) -> BTreeMap<gatewatch_ingest::TopicPartition, i64> {
        let mut out = BTreeMap::new();
        for t in self.tasks.values() {
            for (k, o) in t.held_offsets() {
                out.entry(k)
                    .and_modify(|m: &mut i64| *m = (*m).min(o))
                    .or_insert(o);
            }
        }
        out
    }

    fn task(&mut self, id: &TaskId) -> Result<&mut Task, EngineError> {
        if !self.tasks.contains_key(id) {
            let task = Task::new(id.clone(), self.cfg.clone(), self.rules.operators()?);
            self.tasks.insert(id.clone(), task);
        }
        self.tasks
            .get_mut(id)
            .ok_or_else(|| EngineError::Internal("task vanished".into()))
    }

    fn collect(&mut self, emitted: Emitted, alerts: &mut Vec<Alert>) {
        alerts.extend(emitted.alerts);
        self.traffic_out.entities.extend(emitted.traffic.entities);
        self.traffic_out.endpoints.extend(emitted.traffic.endpoints);
    }

    /// Processes one batch from one source partition; returns the alerts of windows it closed.
    pub fn process(&mut self, batch: &RecordBatch) -> Result<Vec<Alert>, EngineError> {
        let mut alerts = Vec::new();
        if batch.num_rows() == 0 {
            return Ok(alerts);
        }
        let masks = Arc::new(self.rules.masks(batch)?);
        let mut seq = Sequenced::default();
        self.sequencer.sequence(batch, Some(masks), &mut seq)?;
        self.events += seq.events;
        for (k, v) in std::mem::take(&mut seq.late) {
            *self.late.entry(k).or_default() += v;
        }
        self.rejected.extend(seq.rejected);
        for (id, input) in seq.inputs {
            let emitted = self.task(&id)?.process(&input)?;
            self.collect(emitted, &mut alerts);
        }
        Ok(alerts)
    }

    /// End of input: held rows are rejected and the final watermark closes every window.
    pub fn finish(&mut self) -> Result<Vec<Alert>, EngineError> {
        let mut seq = Sequenced::default();
        self.sequencer.finish(&mut seq)?;
        self.events += seq.events;
        self.rejected.extend(seq.rejected);
        let mut alerts = Vec::new();
        for (id, input) in seq.inputs {
            let emitted = self.task(&id)?.process(&input)?;
            self.collect(emitted, &mut alerts);
        }
        let ids: Vec<TaskId> = self.tasks.keys().cloned().collect();
        for id in ids {
            let emitted = self.task(&id)?.finish()?;
            self.collect(emitted, &mut alerts);
        }
        Ok(alerts)
    }
}
