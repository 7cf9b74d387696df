//! A rule as an operator: filter the rows (stateless part computed upstream when possible,
//! stateful part and `on_event` script here, in record order), file the kept rows into panes,
//! close windows exactly where the task watermark passes their end, turn each closed window
//! into alerts, and hold back repeats within `suppress_for`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, AsArray, BooleanArray, Int64Array, RecordBatch, UInt32Array,
};
use arrow::compute::take_record_batch;
use arrow::datatypes::Int64Type;
use gatewatch_ingest::schema::Column;
use gatewatch_ingest::TopicPartition;
use gatewatch_rules::filter::StatefulFilter;
use gatewatch_rules::script::{row_to_map, ScriptKind};
use gatewatch_rules::CompiledRule;
use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use crate::evaluate::alerts_from_result;
use crate::operator::{KeyGroup, OpCtx, Operator, RowsIn, StateSize};
use crate::stats::EngineStats;
use crate::time::end_of;
use crate::window::RuleWindows;

/// Script errors are logged one by one up to this many per rule and task, then only counted.
const SCRIPT_ERROR_LOG_LIMIT: u64 = 5;

/// The filtered rows of one pane.
#[derive(Debug, Default)]
pub struct RowPane {
    /// Row batches in arrival order, with the rule's columns.
    pub batches: Vec<RecordBatch>,
    /// Total rows.
    pub rows: usize,
    /// Lowest source offset held, per partition: what the commit point must not pass.
    pub min_offset: BTreeMap<TopicPartition, i64>,
}

/// State of a rule that outlives its windows: what a checkpoint saves.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct RuleCheckpoint {
    /// Per entity, the window start of its last alert (for `suppress_for`).
    pub last_alert: Vec<(String, i64)>,
    /// The stateful filter's learner, if the rule has one.
    pub learner: Option<gatewatch_rules::functions::EndpointLearner>,
}

/// One rule running in one task.
pub struct RuleOperator {
    rule: Arc<CompiledRule>,
    generation: u64,
    index: usize,
    stateful: Option<StatefulFilter>,
    windows: RuleWindows<RowPane>,
    /// Per entity, the window start of its last alert (for `suppress_for`).
    last_alert: HashMap<String, i64>,
    script_errors: u64,
}

impl RuleOperator {
    /// The operator of `rule`, at position `index` of rule set `generation`.
    pub fn new(
        rule: Arc<CompiledRule>,
        generation: u64,
        index: usize,
    ) -> Result<Self, EngineError> {
        let stateful = rule.stateful_filter()?;
        Ok(RuleOperator {
            windows: RuleWindows::new(rule.window_ms, rule.slide_ms),
            rule,
            generation,
            index,
            stateful,
            last_alert: HashMap::new(),
            script_errors: 0,
        })
    }

    /// The rule.
    pub fn rule(&self) -> &Arc<CompiledRule> {
        &self.rule
    }

    /// Distinct entities in open windows (walks all rows: for benchmarks and diagnostics).
    pub fn buffered_entities(&self) -> usize {
        let mut seen = std::collections::HashSet::new();
        for (_, pane) in self.windows.panes() {
            for b in &pane.batches {
                if let Some(col) = b.column_by_name(self.rule.entity_column.name()) {
                    if let Ok(s) = arrow::compute::cast(col, &arrow::datatypes::DataType::Utf8) {
                        seen.extend(s.as_string::<i32>().iter().flatten().map(str::to_owned));
                    }
                }
            }
        }
        seen.len()
    }

    fn count_script_error(&mut self, error: &str, stats: &mut EngineStats) {
        self.script_errors += 1;
        EngineStats::bump(&mut stats.script_errors_by_rule, self.rule.id(), 1);
        if self.script_errors <= SCRIPT_ERROR_LOG_LIMIT {
            tracing::warn!(
                rule = self.rule.id(),
                "script failed, event or alert skipped: {error}"
            );
        }
    }

    /// The rows of `input` this rule keeps, ascending: routed here, passing the filter (the
    /// stateless part from upstream when it was computed for this rule set), the stateful part
    /// and the `on_event` script.
    fn kept_rows(
        &mut self,
        input: &RowsIn<'_>,
        projected: &RecordBatch,
        stats: &mut EngineStats,
    ) -> Result<Vec<u32>, EngineError> {
        let upstream = input
            .masks
            .filter(|m| m.generation == self.generation)
            .and_then(|m| m.masks.get(self.index));
        let computed;
        let mask: Option<&BooleanArray> = match upstream {
            Some(m) => m.as_ref(),
            None => {
                computed = self.rule.filter_mask(projected)?;
                computed.as_ref()
            }
        };
        let mut kept: Vec<u32> = input
            .indices()
            .filter(|&i| mask.is_none_or(|m| m.is_valid(i) && m.value(i)))
            .map(|i| i as u32)
            .collect();
        if kept.is_empty() {
            return Ok(kept);
        }
        if let Some(stateful) = &self.stateful {
            let sub = take_record_batch(projected, &UInt32Array::from(kept.clone()))?;
            if let Some(m) = stateful.mask(&sub).map_err(|e| self.rule.exec_error(e))? {
                kept = kept
                    .iter()
                    .zip(0..)
                    .filter(|(_, j)| m.is_valid(*j) && m.value(*j))
                    .map(|(i, _)| *i)
                    .collect();
            }
        }
        let rule = self.rule.clone();
        if let Some(script) = rule
            .script
            .as_ref()
            .filter(|s| s.kind == ScriptKind::PerEvent)
        {
            let mut flagged = Vec::with_capacity(kept.len());
            for i in kept {
                match script.on_event(row_to_map(projected, i as usize)) {
                    Ok(true) => flagged.push(i),
                    Ok(false) => {}
                    Err(e) => self.count_script_error(&e, stats),
                }
            }
            kept = flagged;
        }
        Ok(kept)
    }

    /// Moves the rows of `segment` (pane → rows) into their panes.
    fn flush_segment(
        &mut self,
        projected: &RecordBatch,
        offsets: &Int64Array,
        upstream: &TopicPartition,
        segment: &mut BTreeMap<i64, Vec<u32>>,
    ) -> Result<(), EngineError> {
        for (pane, rows) in std::mem::take(segment) {
            let min_offset = rows
                .iter()
                .map(|&i| offsets.value(i as usize))
                .min()
                .unwrap_or(i64::MAX);
            let taken = if rows.len() == projected.num_rows() {
                projected.clone()
            } else {
                take_record_batch(projected, &UInt32Array::from(rows))?
            };
            let p = self.windows.pane_mut(pane);
            p.rows += taken.num_rows();
            p.batches.push(taken);
            p.min_offset
                .entry(upstream.clone())
                .and_modify(|o| *o = (*o).min(min_offset))
                .or_insert(min_offset);
        }
        Ok(())
    }

    fn close(&mut self, wm: i64, ctx: &mut OpCtx<'_>) -> Result<(), EngineError> {
        let mut closed: Vec<(i64, Vec<RecordBatch>)> = Vec::new();
        self.windows
            .close_until::<EngineError>(wm, |start, panes| {
                let rows: Vec<RecordBatch> = panes
                    .iter()
                    .flat_map(|p| p.batches.iter().cloned())
                    .collect();
                if rows.iter().any(|b| b.num_rows() > 0) {
                    closed.push((start, rows));
                }
                Ok(())
            })?;
        for (start, rows) in closed {
            let end = end_of(start, self.rule.window_ms);
            if end <= ctx.discard_through {
                // Closed and delivered before this task was rebuilt: the replay only restores
                // the state, it must not alert again (nor suppress with its own alerts).
                continue;
            }
            ctx.stats.windows_closed += 1;
            let result = self.rule.run_window(rows.clone())?;
            let evaluated =
                alerts_from_result(&self.rule, start, &result, &rows, ctx.cfg.evidence_samples)?;
            for e in &evaluated.script_errors {
                self.count_script_error(e, ctx.stats);
            }
            let suppress = self.rule.suppress_ms;
            if suppress > 0 {
                // Entries older than the suppression horizon can never suppress again.
                self.last_alert
                    .retain(|_, last| last.saturating_add(suppress) > start);
            }
            for alert in evaluated.alerts {
                if suppress > 0 {
                    if self.last_alert.contains_key(&alert.entity) {
                        EngineStats::bump(&mut ctx.stats.suppressed_by_rule, self.rule.id(), 1);
                        continue;
                    }
                    self.last_alert.insert(alert.entity.clone(), start);
                }
                EngineStats::bump(&mut ctx.stats.alerts_by_rule, self.rule.id(), 1);
                ctx.out.alerts.push(alert);
            }
        }
        Ok(())
    }
}

/// The rule's columns out of a batch; columns the batch lacks (decoded before a hot reload
/// widened the projection) are null.
pub(crate) fn project_for(
    rule: &CompiledRule,
    batch: &RecordBatch,
) -> Result<RecordBatch, EngineError> {
    let columns = rule
        .columns
        .iter()
        .map(|c| {
            batch
                .column_by_name(c.name())
                .cloned()
                .unwrap_or_else(|| new_null_array(&c.data_type(), batch.num_rows()))
        })
        .collect();
    Ok(RecordBatch::try_new(rule.schema.clone(), columns)?)
}

impl Operator for RuleOperator {
    fn name(&self) -> &str {
        self.rule.id()
    }

    fn key_group(&self) -> KeyGroup {
        KeyGroup::Column(self.rule.entity_column)
    }

    fn process(&mut self, input: &RowsIn<'_>, ctx: &mut OpCtx<'_>) -> Result<(), EngineError> {
        if input.rows.is_some_and(|r| r.is_empty()) {
            return Ok(());
        }
        let projected = project_for(&self.rule, input.batch)?;
        let kept = self.kept_rows(input, &projected, ctx.stats)?;
        if kept.is_empty() {
            return Ok(());
        }
        let offsets = projected
            .column_by_name(Column::SourceOffset.name())
            .and_then(|a| a.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| EngineError::Internal("batch without source_offset".into()))?
            .clone();
        let mut segment: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        let mut late = 0u64;
        for i in kept {
            let row = i as usize;
            let task_wm = input.task_wm[row];
            if self.windows.would_close(task_wm) {
                self.flush_segment(&projected, &offsets, input.upstream, &mut segment)?;
                self.close(task_wm, ctx)?;
            }
            let t = input.times[row];
            let own = input.own_wm[row];
            // Late by its own partition, or its windows already closed by the task (a partition
            // that joined the task after the others had moved on).
            if self.windows.is_late(t, own)
                || self.windows.is_late(t, self.windows.closed_through())
            {
                late += 1;
                continue;
            }
            let Some(pane) = self.windows.pane_start(t) else {
                late += 1;
                continue;
            };
            segment.entry(pane).or_default().push(i);
        }
        self.flush_segment(&projected, &offsets, input.upstream, &mut segment)?;
        if late > 0 {
            EngineStats::bump(&mut ctx.stats.late_by_rule, self.rule.id(), late);
        }
        Ok(())
    }

    fn advance(&mut self, wm: i64, ctx: &mut OpCtx<'_>) -> Result<(), EngineError> {
        self.close(wm, ctx)
    }

    fn held_offsets(&self, out: &mut BTreeMap<TopicPartition, i64>) {
        for (_, pane) in self.windows.panes() {
            for (k, o) in &pane.min_offset {
                out.entry(k.clone())
                    .and_modify(|m| *m = (*m).min(*o))
                    .or_insert(*o);
            }
        }
    }

    fn state_size(&self) -> StateSize {
        let mut s = StateSize::default();
        for (_, pane) in self.windows.panes() {
            s.rows += pane.rows;
            s.bytes += pane
                .batches
                .iter()
                .map(RecordBatch::get_array_memory_size)
                .sum::<usize>();
        }
        s.bytes += self.last_alert.len() * 48;
        s
    }

    fn checkpoint(&self) -> Option<serde_json::Value> {
        let mut last_alert: Vec<(String, i64)> = self
            .last_alert
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        last_alert.sort();
        let state = RuleCheckpoint {
            last_alert,
            learner: self.stateful.as_ref().map(StatefulFilter::snapshot),
        };
        serde_json::to_value(state).ok()
    }

    fn restore(&mut self, state: serde_json::Value) -> Result<(), EngineError> {
        let state: RuleCheckpoint = serde_json::from_value(state).map_err(|e| {
            EngineError::Internal(format!("rule {} checkpoint: {e}", self.rule.id()))
        })?;
        self.last_alert = state.last_alert.into_iter().collect();
        if let (Some(f), Some(l)) = (&self.stateful, state.learner) {
            f.restore(l);
        }
        Ok(())
    }

    fn fingerprint(&self) -> Option<u64> {
        Some(self.rule.fingerprint)
    }

    fn set_rule_index(&mut self, generation: u64, index: usize) {
        self.generation = generation;
        self.index = index;
    }
}
