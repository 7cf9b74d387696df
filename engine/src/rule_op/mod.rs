//! A rule as an operator: filter the rows (stateless part computed upstream when possible,
//! stateful part and `on_event` script here, in record order), fold the kept rows into their
//! panes (partial aggregates, see [`crate::pane`]), close windows exactly where the task
//! watermark passes their end, turn each closed window into alerts, hold back repeats within
//! `suppress_for`, and keep every map and buffer within [`StateLimits`]. A rule whose filter
//! keeps state sees its rows in event-time order (see [`ordered`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{new_null_array, AsArray, Int64Array, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::Int64Type;
use gatewatch_ingest::schema::Column;
use gatewatch_ingest::TopicPartition;
use gatewatch_rules::aggregate::Answers;
use gatewatch_rules::filter::StatefulFilter;
use gatewatch_rules::CompiledRule;
use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::error::EngineError;
use crate::evaluate::{alerts_from_result, event_times};
use crate::evidence::{hashes_of, Evidence};
use crate::guard::{flood_cap, pressure_alert, Shed, Suppression};
use crate::operator::{FilterMasks, KeyGroup, OpCtx, Operator, RowsIn, StateSize};
use crate::pane::Pane;
use crate::stats::EngineStats;
use crate::time::end_of;
use crate::window::RuleWindows;

mod filter;
mod ordered;
mod result;

use result::window_result;

/// Script errors are logged one by one up to this many per rule and task, then only counted.
const SCRIPT_ERROR_LOG_LIMIT: u64 = 5;

/// State of a rule that outlives its windows: what a checkpoint saves.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct RuleCheckpoint {
    /// Per entity, the window start of its last alert (for `suppress_for`).
    pub last_alert: Vec<(String, i64)>,
    /// The stateful filter's learner, if the rule has one.
    pub learner: Option<gatewatch_rules::functions::EndpointLearner>,
}

/// A pane and what was shed from it.
struct Slot {
    pane: Pane,
    shed: Shed,
}

/// A pane's share of its rule's state limits.
#[derive(Clone, Copy)]
struct Share {
    /// Entities (groups).
    groups: usize,
    /// Bytes of state.
    bytes: usize,
}

impl Slot {
    /// Which of a batch's rows (given by entity hash) the pane takes, by position: rows of
    /// entities it tracks always (unless its bytes passed twice its share), rows of new
    /// entities while it holds less than its share; the others are shed and recorded. Far from
    /// the limits (the usual case) every row is taken without a lookup: even were each row a
    /// new entity, the pane would stay under its share.
    fn admit(&mut self, hashes: &[u64], share: Share) -> Vec<usize> {
        let (groups_now, bytes_now) = (self.pane.groups(), self.pane.bytes());
        let over_bytes = bytes_now >= share.bytes;
        if !over_bytes && groups_now.saturating_add(hashes.len()) < share.groups {
            return (0..hashes.len()).collect();
        }
        let over_groups = groups_now >= share.groups;
        let hard = bytes_now >= share.bytes.saturating_mul(2);
        let reason = if hard || over_bytes {
            "bytes"
        } else {
            "groups"
        };
        let mut new_groups = foldhash::HashSet::default();
        let mut accept = Vec::with_capacity(hashes.len());
        for (j, &h) in hashes.iter().enumerate() {
            let known = self.pane.evidence.contains(h) || new_groups.contains(&h);
            let take = if hard {
                false
            } else if known {
                true
            } else if over_groups || over_bytes || groups_now + new_groups.len() >= share.groups {
                false
            } else {
                new_groups.insert(h);
                true
            };
            if take {
                accept.push(j);
            } else {
                self.shed.record(h, reason);
            }
        }
        accept
    }
}

/// One rule running in one task.
pub struct RuleOperator {
    rule: Arc<CompiledRule>,
    generation: u64,
    index: usize,
    stateful: Option<StatefulFilter>,
    windows: RuleWindows<Slot>,
    suppression: Suppression,
    script_errors: u64,
    seq: u64,
    shedding_logged: bool,
    /// Rows waiting for the watermark (rules with a stateful filter only).
    reorder: Option<crate::reorder::Reorder>,
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
            suppression: Suppression::default(),
            script_errors: 0,
            seq: 0,
            shedding_logged: false,
            reorder: stateful.is_some().then(Default::default),
            stateful,
        })
    }

    /// The rule.
    pub fn rule(&self) -> &Arc<CompiledRule> {
        &self.rule
    }

    /// Folds the rows of `segment` (pane start → rows of `projected`) into their panes, within
    /// the state limits.
    fn flush_segment(
        &mut self,
        projected: &RecordBatch,
        offsets: &Int64Array,
        (upstream, ledger): (&TopicPartition, Option<(&TopicPartition, i64)>),
        segment: &mut BTreeMap<i64, Vec<u32>>,
        masks: Option<&FilterMasks>,
        ctx: &mut OpCtx<'_>,
    ) -> Result<(), EngineError> {
        let limits = ctx.cfg.limits;
        for (pane_start, mut rows) in std::mem::take(segment) {
            let rule = self.rule.clone();
            let plan = rule.agg.as_ref();
            // The aggregate's own filters (WHERE) first: only rows it counts are recorded. Rows
            // are referred to by their index in `projected` from here on; only the aggregate's
            // input (its columns, its rows) is copied.
            let (pre, positions) = match plan {
                Some(p) => {
                    // Every row of the batch, in order: no copy at all.
                    let whole = rows.len() == projected.num_rows()
                        && rows.iter().enumerate().all(|(i, &r)| r as usize == i);
                    let selection = (!whole).then_some(rows.as_slice());
                    let (pre, pos) = match p.prepare(projected, selection) {
                        Ok(prepared) => prepared,
                        Err(e) => {
                            // Some row's values fail the aggregate's inputs: leave those rows out
                            // of this rule (counted), keep the others.
                            let failing = gatewatch_rules::eval_errors::failing_positions(
                                rows.len(),
                                &mut |r| p.prepare(projected, Some(&rows[r])).is_ok(),
                            );
                            rule.errors.rows_failed(rule.id(), failing.len() as u64, &e);
                            rows = (rows.iter().enumerate())
                                .filter(|(i, _)| failing.binary_search(i).is_err())
                                .map(|(_, &r)| r)
                                .collect();
                            if rows.is_empty() {
                                continue;
                            }
                            p.prepare(projected, Some(&rows))
                                .map_err(|e| rule.exec_error(e))?
                        }
                    };
                    (Some(pre), pos)
                }
                None => (None, None),
            };
            // Positions among `rows` (which is every row, in order, when nothing was selected).
            let local: Vec<u32> = match positions {
                Some(pos) => pos.iter().map(|&j| rows[j as usize]).collect(),
                None => rows.clone(),
            };
            if local.is_empty() {
                continue;
            }
            let hashes = hashes_of(projected, rule.entity_column, &local)?;
            if !self.windows.has_pane(pane_start) {
                let fresh = Slot {
                    pane: Pane::new(plan)?,
                    shed: Shed::default(),
                };
                self.windows.pane_mut_with(pane_start, || fresh);
            }
            let slot = self.windows.pane_mut_with(pane_start, unreachable_slot);
            // The limits are shared by the panes a window spans (one more for the pane that is
            // closing while the next fills): rows of groups this pane already tracks are always
            // taken; rows of new groups are shed once the pane holds its share.
            let panes = (rule.window_ms / rule.slide_ms.max(1)).max(1) as usize;
            let pane_groups = (limits.max_groups / panes).max(1);
            let pane_bytes = (limits.max_bytes / (panes + 1)).max(1);
            let (groups_now, bytes_now) = (slot.pane.groups(), slot.pane.bytes());
            let accept = slot.admit(
                &hashes,
                Share {
                    groups: pane_groups,
                    bytes: pane_bytes,
                },
            );
            if accept.len() < local.len() {
                EngineStats::bump(
                    &mut ctx.stats.shed_by_rule,
                    rule.id(),
                    (local.len() - accept.len()) as u64,
                );
                if !self.shedding_logged {
                    self.shedding_logged = true;
                    tracing::warn!(
                        rule = rule.id(),
                        pane_groups = groups_now,
                        pane_bytes = bytes_now,
                        max_groups = limits.max_groups,
                        max_bytes = limits.max_bytes,
                        "state limit reached: rows of new entities are shed and counted (detection is degraded for this rule; a gatewatch-state-pressure alert reports each window)"
                    );
                }
                if accept.is_empty() {
                    continue;
                }
            }
            let (pre, local, hashes) = if accept.len() < local.len() {
                // Keep only the accepted rows, in both the rule's columns and the aggregate input.
                let kept_rows: Vec<u32> = accept.iter().map(|&j| local[j]).collect();
                let pre = match &pre {
                    Some(p) => Some(take_record_batch(
                        p,
                        &UInt32Array::from(accept.iter().map(|&j| j as u32).collect::<Vec<_>>()),
                    )?),
                    None => None,
                };
                let hashes: Vec<u64> = accept.iter().map(|&j| hashes[j]).collect();
                (pre, kept_rows, hashes)
            } else {
                (pre, local, hashes)
            };
            let times_all = event_times(projected)?;
            let times: Vec<i64> = local.iter().map(|&r| times_all.value(r as usize)).collect();
            let mut seq = self.seq;
            slot.pane.evidence.add(
                projected,
                &local,
                &hashes,
                &times,
                &mut seq,
                ctx.cfg.evidence_samples,
            )?;
            self.seq = seq;
            match (plan, pre) {
                (Some(plan), Some(pre)) => {
                    // The answered inputs computed upstream over this batch, if any; the row
                    // list becomes their index array without a copy (it is not needed after).
                    let upstream = masks.filter(|m| !m.answers.is_empty());
                    let index = upstream.map(|_| UInt32Array::from(local));
                    let answers = upstream.zip(index.as_ref()).map(|(m, rows)| Answers {
                        rows,
                        arrays: (plan.answered())
                            .map(|(column, pattern)| {
                                m.answer(column, pattern)
                                    .filter(|a| a.len() == projected.num_rows())
                            })
                            .collect(),
                    });
                    slot.pane
                        .add_aggregated(plan, rows.len(), &pre, answers.as_ref())?
                }
                _ => slot
                    .pane
                    .add_rows(take_record_batch(projected, &UInt32Array::from(local))?)?,
            }
            match ledger {
                Some((tp, offset)) => slot.pane.hold(tp, offset),
                None => {
                    let min_offset = rows
                        .iter()
                        .map(|&i| offsets.value(i as usize))
                        .min()
                        .unwrap_or(i64::MAX);
                    slot.pane.hold(upstream, min_offset);
                }
            }
        }
        Ok(())
    }

    fn close(&mut self, wm: i64, ctx: &mut OpCtx<'_>) -> Result<(), EngineError> {
        let rule = self.rule.clone();
        let samples = ctx.cfg.evidence_samples;
        let discard = ctx.discard_through;
        let mut closed: Vec<(i64, Vec<Alert>, Shed)> = Vec::new();
        let mut script_errors: Vec<String> = Vec::new();
        let mut windows_closed = 0u64;
        self.windows
            .close_until::<EngineError>(wm, |start, slots| {
                if slots.iter().all(|s| s.pane.rows == 0 && s.shed.rows == 0) {
                    return Ok(());
                }
                let end = end_of(start, rule.window_ms);
                if end <= discard {
                    // Closed and delivered before this task was rebuilt: the replay only restores
                    // the state; it must not alert again (nor suppress with its own alerts).
                    return Ok(());
                }
                let mut shed = Shed::default();
                for s in slots.iter() {
                    shed.merge(&s.shed);
                }
                let result = if slots.iter().all(|s| s.pane.rows == 0) {
                    Vec::new()
                } else {
                    windows_closed += 1;
                    match window_result(&rule, slots) {
                        Ok(result) => result,
                        // The rule's query failed on these rows (a value its arithmetic or casts
                        // cannot take): counted and logged, no alert; the run goes on.
                        Err(EngineError::Rule(e)) => {
                            rule.errors.window_failed(rule.id(), &e);
                            Vec::new()
                        }
                        Err(e) => return Err(e),
                    }
                };
                let evidence: Vec<&Evidence> = slots.iter().map(|s| &s.pane.evidence).collect();
                let evaluated = alerts_from_result(&rule, start, &result, &|entity| {
                    Evidence::seen(&evidence, entity, samples)
                })?;
                script_errors.extend(evaluated.script_errors);
                closed.push((start, evaluated.alerts, shed));
                Ok(())
            })?;
        ctx.stats.windows_closed += windows_closed;
        for e in &script_errors {
            self.count_script_error(e, ctx.stats);
        }
        for (start, alerts, shed) in closed {
            let suppress = rule.suppress_ms;
            if suppress > 0 {
                self.suppression.prune(start, suppress);
            }
            let mut kept = Vec::new();
            for alert in alerts {
                if suppress > 0 && self.suppression.contains(&alert.entity) {
                    EngineStats::bump(&mut ctx.stats.suppressed_by_rule, rule.id(), 1);
                    continue;
                }
                kept.push(alert);
            }
            let (kept, summary) = flood_cap(
                &rule,
                start,
                kept,
                ctx.cfg.limits.max_alerts_per_window,
                ctx.task,
            );
            if let Some(summary) = summary {
                EngineStats::bump(
                    &mut ctx.stats.flood_dropped_by_rule,
                    rule.id(),
                    summary.event_count.max(0) as u64,
                );
                ctx.out.alerts.push(summary);
            }
            for alert in kept {
                if suppress > 0 {
                    let evicted = self.suppression.record(
                        &alert.entity,
                        start,
                        ctx.cfg.limits.suppression_entries,
                    );
                    ctx.stats.suppression_evicted += evicted;
                }
                EngineStats::bump(&mut ctx.stats.alerts_by_rule, rule.id(), 1);
                ctx.out.alerts.push(alert);
            }
            if shed.rows > 0 {
                ctx.out.alerts.push(pressure_alert(
                    &rule,
                    start,
                    &shed,
                    &ctx.cfg.limits,
                    ctx.task,
                ));
            }
        }
        Ok(())
    }
}

/// Never called: the pane was just created when missing.
fn unreachable_slot() -> Slot {
    Slot {
        pane: Pane::empty_rows(),
        shed: Shed::default(),
    }
}

/// How a rule's rows are routed: by its entity column, so all of an entity's events meet in
/// one task; a rule whose filter learns (`endpoint_is_new`) sees its partition's whole stream
/// instead, so what it learns does not depend on how entities are spread over tasks.
pub fn key_group_of(rule: &CompiledRule) -> KeyGroup {
    if rule.filter.has_state() || rule.spec.one_group {
        KeyGroup::Global
    } else {
        KeyGroup::Column(rule.entity_column)
    }
}

/// The source offsets of a batch's rows.
pub(crate) fn source_offsets(batch: &RecordBatch) -> Result<Int64Array, EngineError> {
    Ok(batch
        .column_by_name(Column::SourceOffset.name())
        .and_then(|a| a.as_primitive_opt::<Int64Type>())
        .ok_or_else(|| EngineError::Internal("batch without source_offset".into()))?
        .clone())
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
        key_group_of(&self.rule)
    }

    fn process(&mut self, input: &RowsIn<'_>, ctx: &mut OpCtx<'_>) -> Result<(), EngineError> {
        if input.rows.is_some_and(|r| r.is_empty()) {
            return Ok(());
        }
        // Most rules keep no row of most batches: nothing to project.
        if let Some(Some(m)) = self.upstream_mask(input) {
            if m.true_count() == 0 {
                return Ok(());
            }
        }
        let projected = project_for(&self.rule, input.batch)?;
        if self.reorder.is_some() {
            return self.wait_for_watermark(input, &projected, ctx);
        }
        let kept = self.kept_rows(input, &projected, ctx.stats)?;
        if kept.is_empty() {
            return Ok(());
        }
        let offsets = source_offsets(&projected)?;
        let hold = (input.upstream, input.ledger);
        let mut segment: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        let mut late = 0u64;
        // Asked once per close, and each row's place from the previous row's where they share
        // a pane: no division per row.
        let mut next_close = self.windows.next_close();
        let mut place = None;
        for i in kept {
            let row = i as usize;
            let task_wm = input.task_wm[row];
            if next_close.is_some_and(|b| task_wm >= b) {
                self.flush_segment(&projected, &offsets, hold, &mut segment, input.masks, ctx)?;
                self.close(task_wm, ctx)?;
                next_close = self.windows.next_close();
            }
            let t = input.times[row];
            let own = input.own_wm[row];
            place = self.windows.place(t, place);
            match place {
                Some(at) if !self.windows.late_at(place, own) => {
                    segment.entry(at.pane).or_default().push(i)
                }
                _ => late += 1,
            }
        }
        self.flush_segment(&projected, &offsets, hold, &mut segment, input.masks, ctx)?;
        if late > 0 {
            EngineStats::bump(&mut ctx.stats.late_by_rule, self.rule.id(), late);
        }
        Ok(())
    }

    fn advance(&mut self, wm: i64, ctx: &mut OpCtx<'_>) -> Result<(), EngineError> {
        self.release_through(wm, ctx)?;
        self.close(wm, ctx)
    }

    fn held_offsets(&self, out: &mut BTreeMap<TopicPartition, i64>) {
        if let Some(r) = &self.reorder {
            r.held_offsets(out);
        }
        for (_, slot) in self.windows.panes() {
            for (k, o) in &slot.pane.min_offset {
                out.entry(k.clone())
                    .and_modify(|m| *m = (*m).min(*o))
                    .or_insert(*o);
            }
        }
    }

    fn state_size(&self) -> StateSize {
        let mut s = StateSize::default();
        for (_, slot) in self.windows.panes() {
            s.rows += slot.pane.rows;
            s.bytes += slot.pane.bytes();
            s.evidence_bytes += slot.pane.evidence.bytes();
            s.kept_values_bytes += slot.pane.kept_values_bytes();
            s.groups += slot.pane.groups();
        }
        s.bytes += self.suppression.bytes();
        if let Some(r) = &self.reorder {
            s.rows += r.len();
            s.bytes += r.bytes();
        }
        s
    }

    fn checkpoint(&self) -> Option<serde_json::Value> {
        let state = RuleCheckpoint {
            last_alert: self.suppression.entries(),
            learner: self.stateful.as_ref().map(StatefulFilter::snapshot),
        };
        serde_json::to_value(state).ok()
    }

    fn restore(&mut self, state: serde_json::Value) -> Result<(), EngineError> {
        let state: RuleCheckpoint = serde_json::from_value(state).map_err(|e| {
            EngineError::Internal(format!("rule {} checkpoint: {e}", self.rule.id()))
        })?;
        self.suppression = Suppression::from_entries(state.last_alert);
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
