//! A closed window's query result: the partial aggregates of its panes merged and the part of
//! the query above the aggregate run on them, or the whole query run on the buffered rows.
//!
//! When the query fails on some values (`1000 / min(latency_ms)` for a client that logged a
//! zero), what it failed on is left out and the rest answered: the groups above the aggregate
//! (when that part only projects and filters), or the entities whose rows it failed on (a rule
//! keyed by its entity column already answers each entity from its own rows: tasks hold
//! different entities). Each such window is counted in the rule's errors; a failure that cannot
//! be narrowed down costs the window (counted by the caller).

use std::collections::BTreeMap;
use std::ops::Range;

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{concat_batches, take_record_batch};
use gatewatch_rules::aggregate::AggPlan;
use gatewatch_rules::eval_errors::{between, failing_positions};
use gatewatch_rules::CompiledRule;

use super::{key_group_of, Slot};
use crate::error::EngineError;
use crate::operator::KeyGroup;
use crate::pane::PaneData;

/// The rule's SQL result over one closed window.
pub(super) fn window_result(
    rule: &CompiledRule,
    slots: &mut [&mut Slot],
) -> Result<Vec<RecordBatch>, EngineError> {
    let Some(plan) = rule.agg.as_ref() else {
        let rows: Vec<RecordBatch> = slots
            .iter()
            .flat_map(|s| s.pane.batches().iter().cloned())
            .collect();
        return match rule.run_window(rows.clone()) {
            Ok(result) => Ok(result),
            Err(e) if matches!(key_group_of(rule), KeyGroup::Column(_)) => {
                per_entity(rule, &rows, &e)
            }
            Err(e) => Err(e.into()),
        };
    };
    let internal = |e: datafusion::error::DataFusionError| rule.exec_error(e);
    let aggregated = if rule.window_ms == rule.slide_ms && slots.len() == 1 {
        // Tumbling: the pane is the window, and closes once.
        match &mut slots[0].pane.data {
            PaneData::Agg { state, sealed } if sealed.is_empty() => {
                state.evaluate(plan).map_err(internal)?
            }
            _ => merged(plan, slots).map_err(internal)?,
        }
    } else {
        merged(plan, slots).map_err(internal)?
    };
    match plan.finish(aggregated.clone()) {
        Ok(result) => Ok(result),
        // Some group's values fail the query above the aggregate: that group gives no alert
        // (counted), the others do.
        Err(e) if plan.row_wise() && aggregated.num_rows() > 1 => {
            let n = aggregated.num_rows();
            let part = |r: Range<usize>| plan.finish(aggregated.slice(r.start, r.len()));
            let failing = failing_positions(n, &mut |r| part(r).is_ok());
            let (out, left_out) = answered_between(n, &failing, part);
            let error = format!("{left_out} of {n} groups left out: {e}");
            rule.errors.window_failed(rule.id(), &error);
            Ok(out)
        }
        Err(e) => Err(internal(e).into()),
    }
}

/// The whole query run per entity after it failed on the window's rows: the entities whose
/// rows it fails on are left out (found by halving), the others answered together.
fn per_entity(
    rule: &CompiledRule,
    rows: &[RecordBatch],
    error: &gatewatch_rules::RuleError,
) -> Result<Vec<RecordBatch>, EngineError> {
    let all = concat_batches(&rule.schema, rows)?;
    let Some(column) = all.column_by_name(rule.entity_column.name()) else {
        return Err(EngineError::Internal(
            "window rows without their entity".into(),
        ));
    };
    let keys = arrow::compute::cast(column, &arrow::datatypes::DataType::Utf8)?;
    let keys = keys.as_string::<i32>();
    // Rows per entity, entities in a fixed order (the same every run).
    let mut by_entity: BTreeMap<Option<&str>, Vec<u32>> = BTreeMap::new();
    for i in 0..keys.len() {
        let key = keys.is_valid(i).then(|| keys.value(i));
        by_entity.entry(key).or_default().push(i as u32);
    }
    let groups: Vec<Vec<u32>> = by_entity.into_values().collect();
    if groups.len() < 2 {
        return Err(rule
            .exec_error(datafusion::error::DataFusionError::Execution(
                error.to_string(),
            ))
            .into());
    }
    let run = |r: Range<usize>| -> Result<Vec<RecordBatch>, EngineError> {
        let idx: Vec<u32> = groups[r].iter().flatten().copied().collect();
        let part = take_record_batch(&all, &UInt32Array::from(idx))?;
        Ok(rule.run_window(vec![part])?)
    };
    let failing = failing_positions(groups.len(), &mut |r| run(r).is_ok());
    let (out, left_out) = answered_between(groups.len(), &failing, run);
    let message = format!("{left_out} of {} entities left out: {error}", groups.len());
    rule.errors.window_failed(rule.id(), &message);
    Ok(out)
}

/// The results of `run` on the ranges of `0..n` between the `failing` positions, and how many
/// positions are left out: the failing ones, and a whole range that fails again (counted here,
/// once, with the window).
fn answered_between<E>(
    n: usize,
    failing: &[usize],
    run: impl Fn(Range<usize>) -> Result<Vec<RecordBatch>, E>,
) -> (Vec<RecordBatch>, usize) {
    let mut out = Vec::new();
    let mut left_out = failing.len();
    for r in between(n, failing) {
        match run(r.clone()) {
            Ok(batches) => out.extend(batches),
            Err(_) => left_out += r.len(),
        }
    }
    (out, left_out)
}

/// A window's aggregate over several panes: each pane's state sealed, then all merged.
fn merged(plan: &AggPlan, slots: &mut [&mut Slot]) -> datafusion::error::Result<RecordBatch> {
    let mut total = plan.new_state()?;
    for s in slots.iter_mut() {
        s.pane
            .seal(plan)
            .map_err(|e| datafusion::error::DataFusionError::Internal(e.to_string()))?;
        if let PaneData::Agg { sealed, .. } = &s.pane.data {
            for b in sealed {
                total.merge(plan, b)?;
            }
        }
    }
    total.evaluate(plan)
}
