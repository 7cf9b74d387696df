//! A rule's filter on a batch: the stateless part (from the decoder threads when they computed
//! it for this rule set), the stateful part and the `on_event` script.

use arrow::array::{Array, BooleanArray, BooleanBufferBuilder, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use gatewatch_rules::script::ScriptKind;

use super::{RuleOperator, SCRIPT_ERROR_LOG_LIMIT};
use crate::error::EngineError;
use crate::operator::RowsIn;
use crate::stats::EngineStats;

impl RuleOperator {
    pub(super) fn count_script_error(&mut self, error: &str, stats: &mut EngineStats) {
        self.script_errors += 1;
        EngineStats::bump(&mut stats.script_errors_by_rule, self.rule.id(), 1);
        if self.script_errors <= SCRIPT_ERROR_LOG_LIMIT {
            tracing::warn!(
                rule = self.rule.id(),
                "script failed, event or alert skipped: {error}"
            );
        }
    }

    /// The stateful part's answer on `rows` row by row, in order, after it failed on them as a
    /// whole: a row it fails on is not kept (counted). The learner keeps what the failed attempt
    /// taught: for `endpoint_is_new` that changes no answer (a sighting seen again keeps its
    /// first time); for `technology_unserved` a success later in the batch may already have
    /// taught its host, so a miss before it is answered as served (an alert lost, never one
    /// invented). Snapshotting the learner before every batch would cost more than this rare
    /// case (a rule erring on the values of a batch it also learns from).
    fn stateful_around_errors(
        &self,
        stateful: &gatewatch_rules::filter::StatefulFilter,
        rows: &RecordBatch,
        error: datafusion::error::DataFusionError,
    ) -> BooleanArray {
        let mut failed = 0u64;
        let bits: Vec<bool> = (0..rows.num_rows())
            .map(|i| match stateful.mask(&rows.slice(i, 1)) {
                Ok(None) => true,
                Ok(Some(m)) => m.is_valid(0) && m.value(0),
                Err(_) => {
                    failed += 1;
                    false
                }
            })
            .collect();
        if failed > 0 {
            self.rule.errors.rows_failed(self.rule.id(), failed, &error);
        }
        BooleanArray::from(bits)
    }

    /// The rule's filter mask for this batch if the decoder threads computed it (for the rule
    /// set this operator belongs to).
    pub(super) fn upstream_mask<'a>(&self, input: &RowsIn<'a>) -> Option<&'a Option<BooleanArray>> {
        input
            .masks
            .filter(|m| m.generation == self.generation)
            .and_then(|m| m.masks.get(self.index))
    }

    /// The rows of `input` this rule keeps, ascending: routed here, passing the filter (the
    /// stateless part from upstream when it was computed for this rule set), the stateful part
    /// and the `on_event` script.
    pub(super) fn kept_rows(
        &mut self,
        input: &RowsIn<'_>,
        projected: &RecordBatch,
        stats: &mut EngineStats,
    ) -> Result<Vec<u32>, EngineError> {
        let kept = self.stateless_rows(input, projected)?;
        self.stateful_rows(projected, kept, stats)
    }

    /// The rows of `input` routed here that pass the stateless part of the filter, ascending.
    pub(super) fn stateless_rows(
        &self,
        input: &RowsIn<'_>,
        projected: &RecordBatch,
    ) -> Result<Vec<u32>, EngineError> {
        let upstream = self.upstream_mask(input);
        let computed;
        let mask: Option<&BooleanArray> = match upstream {
            Some(m) => m.as_ref(),
            None => {
                computed = self.rule.filter_mask(projected)?;
                computed.as_ref()
            }
        };
        let Some(m) = mask else {
            return Ok(match input.rows {
                Some(rows) => rows.to_vec(),
                None => (0..input.batch.num_rows() as u32).collect(),
            });
        };
        let mut bits = match m.nulls() {
            Some(valid) => m.values() & valid.inner(),
            None => m.values().clone(),
        };
        // The rows routed here as a bitmap, and-ed with the mask a word at a time: most rules
        // keep few rows, and testing every routed row's bit, rule after rule, cost 5% of the
        // pack's instructions.
        if let Some(rows) = input.rows {
            let n = bits.len();
            let mut routed = BooleanBufferBuilder::new(n);
            routed.append_n(n, false);
            for &i in rows.iter().filter(|&&i| (i as usize) < n) {
                routed.set_bit(i as usize, true);
            }
            bits = &bits & &routed.finish();
        }
        // Walk the set bits, not every row.
        Ok(bits.set_indices().map(|i| i as u32).collect())
    }

    /// Of `kept` (rows of `projected`, in the order the stateful filter must see them), those
    /// the stateful part of the filter and the `on_event` script keep.
    pub(super) fn stateful_rows(
        &mut self,
        projected: &RecordBatch,
        mut kept: Vec<u32>,
        stats: &mut EngineStats,
    ) -> Result<Vec<u32>, EngineError> {
        if kept.is_empty() {
            return Ok(kept);
        }
        if let Some(stateful) = &self.stateful {
            // Every row in order (rows released by the reorder buffer): no copy.
            let every = kept.len() == projected.num_rows()
                && kept.iter().enumerate().all(|(i, &k)| k as usize == i);
            let sub = if every {
                projected.clone()
            } else {
                take_record_batch(projected, &UInt32Array::from(kept.clone()))?
            };
            let mask = match stateful.mask(&sub) {
                Ok(mask) => mask,
                Err(e) => Some(self.stateful_around_errors(stateful, &sub, e)),
            };
            if let Some(m) = mask {
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
                match script.on_event(script.row_map(projected, i as usize)) {
                    Ok(true) => flagged.push(i),
                    Ok(false) => {}
                    Err(e) => self.count_script_error(&e, stats),
                }
            }
            kept = flagged;
        }
        Ok(kept)
    }
}
