//! Partial aggregates: a rule's window query split at its lowest aggregate.
//!
//! DataFusion plans a rule's SQL once (see [`crate::plan`]). If that plan is, from the scan
//! up, filters and projections, then a grouped aggregate, then anything (HAVING, projections,
//! further aggregates), [`AggPlan::split`] cuts it there:
//!
//! * **below** (filters, projections, group keys, aggregate arguments) runs on each batch of
//!   rows as it arrives, and the rows are folded into per-group accumulator state
//!   ([`AggState`]) — DataFusion's `GroupsAccumulator`s, the ones its own hash aggregate uses,
//!   behind group keys of our own ([`keys::Keys`]: compact, hashed with a seed of the process)
//!   when the group-by is text and integer columns;
//! * **above** runs once per closed window, on the aggregate's output: a batch with one row per
//!   group, exactly what DataFusion's aggregate would have produced over the window's rows.
//!
//! So a window holds state per group, not rows. Panes of a sliding window keep their states
//! apart and a window merges them (accumulator `state` / `merge_batch`, DataFusion's
//! partial/final modes). `count(DISTINCT x)` uses [`distinct::DistinctCount`] (state grows with
//! distinct values); aggregates that need every value (`interarrival_cv`, `longest_id_run`)
//! keep their values, 8 bytes each. A plan of another shape has no split: its rule keeps raw
//! rows and runs the whole query at close.

mod answered;
pub mod distinct;
pub mod keys;
pub mod min_max;

pub use answered::Answers;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow::datatypes::{Field, FieldRef, Schema, SchemaRef};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::{GroupsAccumulatorAdapter, PhysicalExpr};
use datafusion::physical_plan::aggregates::group_values::{new_group_values, GroupValues};
use datafusion::physical_plan::aggregates::order::GroupOrdering;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::ExecutionPlan;

use crate::plan::WindowPlan;

/// One step below the aggregate.
#[derive(Debug, Clone)]
enum PreStep {
    /// Keep the rows where this is true.
    Filter(Arc<dyn PhysicalExpr>),
    /// Compute these columns (the output schema given).
    Project(Vec<Arc<dyn PhysicalExpr>>, SchemaRef),
    /// Keep these columns by index.
    Select(Vec<usize>),
}

/// How one aggregate accumulates.
#[derive(Debug, Clone)]
struct AggSpec {
    expr: Arc<AggregateFunctionExpr>,
    args: Vec<Arc<dyn PhysicalExpr>>,
    filter: Option<Arc<dyn PhysicalExpr>>,
    /// `count(DISTINCT x)`: our hash-set accumulator.
    distinct_count: bool,
    /// An aggregate that keeps every value (`longest_id_run`, `interarrival_cv`).
    keeps_values: bool,
}

/// Whether an aggregate's filter counts row `row`: no filter, or true there (false and NULL
/// leave it out, as SQL's `FILTER (WHERE …)` does). For the accumulators of our own.
pub(crate) fn counted(filter: Option<&BooleanArray>, row: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(row) && f.value(row))
}

impl AggSpec {
    /// `Some(true)` for `max` of a text column, `Some(false)` for `min` ([`min_max`]).
    fn text_min_max(&self) -> Option<bool> {
        let max = match self.expr.fun().name() {
            "max" => true,
            "min" => false,
            _ => return None,
        };
        let text = self.args.len() == 1
            && self.expr.field().data_type() == &arrow::datatypes::DataType::Utf8
            && !self.expr.is_distinct();
        text.then_some(max)
    }
}

/// A rule's query split at its lowest aggregate.
#[derive(Debug, Clone)]
pub struct AggPlan {
    pre: Vec<PreStep>,
    /// `regexp_like` calls of the aggregate's arguments answered upstream ([`answered`]).
    answered: answered::AnsweredInputs,
    group_exprs: Vec<Arc<dyn PhysicalExpr>>,
    group_schema: SchemaRef,
    aggs: Vec<AggSpec>,
    output_schema: SchemaRef,
    state_schema: SchemaRef,
    post: WindowPlan,
    /// Whether the part above the aggregate answers each group on its own (projections and
    /// filters only: no sort, limit, window function or second aggregate across groups).
    row_wise: bool,
}

/// Whether `plan` only projects and filters the rows it scans.
fn is_row_wise(plan: &Arc<dyn ExecutionPlan>) -> bool {
    matches!(
        plan.name(),
        "ProjectionExec"
            | "FilterExec"
            | "CoalesceBatchesExec"
            | "CoalescePartitionsExec"
            | "RepartitionExec"
            | "DataSourceExec"
    ) && plan.children().into_iter().all(is_row_wise)
}

fn is_passthrough(node: &Arc<dyn ExecutionPlan>) -> bool {
    node.name() == "CoalesceBatchesExec"
        || node
            .downcast_ref::<RepartitionExec>()
            .is_some_and(|r| r.partitioning().partition_count() == 1)
}

fn eval(expr: &Arc<dyn PhysicalExpr>, batch: &RecordBatch) -> Result<ArrayRef> {
    expr.evaluate(batch)?.into_array(batch.num_rows())
}

impl AggPlan {
    /// Splits `plan` at its lowest aggregate; `None` when the plan has another shape (the
    /// rule then keeps raw rows).
    pub fn split(plan: &Arc<dyn ExecutionPlan>, task: Arc<TaskContext>) -> Result<Option<AggPlan>> {
        // Down the single-child chain, remembering the lowest aggregate.
        let mut node = plan.clone();
        let mut lowest: Option<Arc<dyn ExecutionPlan>> = None;
        loop {
            if node.downcast_ref::<AggregateExec>().is_some() {
                lowest = Some(node.clone());
            }
            let children = node.children();
            match children.as_slice() {
                [] => break,
                [one] => node = (*one).clone(),
                _ => return Ok(None),
            }
        }
        let Some(agg_node) = lowest else {
            return Ok(None);
        };
        let Some(agg) = agg_node.downcast_ref::<AggregateExec>() else {
            return Ok(None);
        };
        if !matches!(
            agg.mode(),
            AggregateMode::Single | AggregateMode::SinglePartitioned
        ) || !agg.group_expr().is_single()
            || agg.group_expr().expr().is_empty()
        {
            return Ok(None);
        }
        // Below it: filters, projections and pass-throughs down to the in-memory scan.
        let mut pre_rev = Vec::new();
        let mut below = agg.input().clone();
        let scan_schema = loop {
            if let Some(f) = below.downcast_ref::<FilterExec>() {
                if let Some(p) = f.projection() {
                    pre_rev.push(PreStep::Select(p.to_vec()));
                }
                pre_rev.push(PreStep::Filter(f.predicate().clone()));
                below = f.input().clone();
            } else if let Some(p) = below.downcast_ref::<ProjectionExec>() {
                pre_rev.push(PreStep::Project(
                    p.expr().iter().map(|e| e.expr.clone()).collect(),
                    p.schema(),
                ));
                below = p.input().clone();
            } else if is_passthrough(&below) {
                match below.children().as_slice() {
                    [one] => below = (*one).clone(),
                    _ => return Ok(None),
                }
            } else if let Some(scan) = below.downcast_ref::<DataSourceExec>() {
                let Some(memory) = scan.data_source().downcast_ref::<MemorySourceConfig>() else {
                    return Ok(None);
                };
                if let Some(p) = memory.projection() {
                    pre_rev.push(PreStep::Select(p.clone()));
                }
                break memory.original_schema();
            } else {
                return Ok(None);
            }
        };
        pre_rev.reverse();
        let input_schema = agg.input().schema();
        let origin = passed_through(&scan_schema, &pre_rev);
        let origin = if origin.len() == input_schema.fields().len() {
            origin
        } else {
            Vec::new()
        };
        let mut answered = answered::AnsweredInputs::default();
        let width = input_schema.fields().len();
        let output_schema = agg.schema();
        let n_groups = agg.group_expr().expr().len();
        let group_schema = Arc::new(Schema::new(output_schema.fields()[..n_groups].to_vec()));
        let mut aggs = Vec::new();
        let mut state_fields: Vec<FieldRef> = group_schema.fields().iter().cloned().collect();
        for (expr, filter) in agg.aggr_expr().iter().zip(agg.filter_expr()) {
            let distinct_count = expr.is_distinct() && expr.fun().name() == "count";
            if expr.is_distinct() && !distinct_count {
                return Ok(None);
            }
            if !expr.order_bys().is_empty() {
                return Ok(None);
            }
            if distinct_count {
                state_fields.push(Arc::new(Field::new(
                    format!("{}[distinct]", expr.name()),
                    distinct::state_type(),
                    true,
                )));
            } else {
                state_fields.extend(expr.state_fields()?);
            }
            let args = expr
                .expressions()
                .into_iter()
                .map(|e| answered.rewrite(e, width, &origin))
                .collect::<Result<Vec<_>>>()?;
            let filter = match filter {
                Some(f) => Some(answered.rewrite(f.clone(), width, &origin)?),
                None => None,
            };
            aggs.push(AggSpec {
                args,
                expr: expr.clone(),
                filter,
                distinct_count,
                keeps_values: expr
                    .fun()
                    .inner()
                    .is::<crate::functions::collect::CollectUdaf>(),
            });
        }
        // Above it: the same plan with the aggregate replaced by a scan of its output.
        let placeholder = MemorySourceConfig::try_new_exec(&[vec![]], output_schema.clone(), None)?;
        let target = agg_node.clone();
        let post = plan
            .clone()
            .transform_up(|n| {
                if Arc::ptr_eq(&n, &target) {
                    Ok(Transformed::yes(
                        placeholder.clone() as Arc<dyn ExecutionPlan>
                    ))
                } else {
                    Ok(Transformed::no(n))
                }
            })?
            .data;
        answered.finish(&input_schema);
        Ok(Some(AggPlan {
            pre: pre_rev,
            answered,
            group_exprs: agg
                .group_expr()
                .expr()
                .iter()
                .map(|(e, _)| e.clone())
                .collect(),
            group_schema,
            aggs,
            output_schema: output_schema.clone(),
            state_schema: Arc::new(Schema::new(state_fields)),
            row_wise: is_row_wise(&post),
            post: WindowPlan::new(post, task, output_schema),
        }))
    }

    /// The steps below the aggregate on `batch` (the rule's columns), or on its rows `rows`
    /// only: the aggregate's input, and the positions of its rows among the rows given (`rows`
    /// or all of `batch`; `None`: all of them, in order).
    ///
    /// Only the columns the aggregate reads are copied out of `batch` when `rows` selects some
    /// of its rows (the scan's projection is applied first), not every column of the rule.
    pub fn prepare(
        &self,
        batch: &RecordBatch,
        rows: Option<&[u32]>,
    ) -> Result<(RecordBatch, Option<Vec<u32>>)> {
        let mut current = batch.clone();
        let mut steps = self.pre.as_slice();
        if let Some(rows) = rows {
            if let Some((PreStep::Select(idx), rest)) = steps.split_first() {
                current = current.project(idx)?;
                steps = rest;
            }
            current = arrow::compute::take_record_batch(
                &current,
                &arrow::array::UInt32Array::from(rows.to_vec()),
            )?;
        }
        let mut positions: Option<Vec<u32>> = None;
        for step in steps {
            match step {
                PreStep::Filter(pred) => {
                    let mask = eval(pred, &current)?;
                    let mask = mask
                        .as_any()
                        .downcast_ref::<BooleanArray>()
                        .ok_or_else(|| DataFusionError::Plan("filter is not boolean".into()))?;
                    let kept: Vec<u32> = (0..mask.len())
                        .filter(|&i| mask.is_valid(i) && mask.value(i))
                        .map(|i| positions.as_ref().map_or(i as u32, |p| p[i]))
                        .collect();
                    if kept.len() < current.num_rows() {
                        current = arrow::compute::filter_record_batch(&current, mask)?;
                        positions = Some(kept);
                    }
                }
                PreStep::Project(exprs, schema) => {
                    let cols = exprs
                        .iter()
                        .map(|e| eval(e, &current))
                        .collect::<Result<Vec<_>>>()?;
                    current = RecordBatch::try_new(schema.clone(), cols)?;
                }
                PreStep::Select(idx) => current = current.project(idx)?,
            }
        }
        Ok((current, positions))
    }

    /// Empty state for a pane.
    pub fn new_state(&self) -> Result<AggState> {
        let groups: Box<dyn GroupValues> = match keys::Keys::for_schema(&self.group_schema) {
            Some(k) => Box::new(k),
            None => new_group_values(self.group_schema.clone(), &GroupOrdering::None)?,
        };
        let accs = self
            .aggs
            .iter()
            .map(|a| -> Result<Box<dyn GroupsAccumulator>> {
                if a.distinct_count {
                    Ok(Box::new(distinct::DistinctCount::default()))
                } else if let Some(max) = a.text_min_max() {
                    Ok(Box::new(min_max::TextMinMax::new(max)))
                } else if a.expr.groups_accumulator_supported() {
                    a.expr.create_groups_accumulator()
                } else {
                    let expr = a.expr.clone();
                    Ok(Box::new(GroupsAccumulatorAdapter::new(move || {
                        expr.create_accumulator()
                    })))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AggState {
            groups,
            accs,
            idx: Vec::new(),
        })
    }

    /// Runs the part above the aggregate on its output (one closed window).
    pub fn finish(&self, aggregated: RecordBatch) -> Result<Vec<RecordBatch>> {
        self.post.run(vec![aggregated])
    }

    /// Whether [`finish`](Self::finish) answers each group of the aggregate's output on its
    /// own, so that it may run on some of them (to leave out a group it fails on).
    pub fn row_wise(&self) -> bool {
        self.row_wise
    }

    /// The aggregate's output schema.
    pub fn output_schema(&self) -> &SchemaRef {
        &self.output_schema
    }

    /// The `regexp_like(column, pattern)` calls of its aggregate arguments that an upstream
    /// answer over the whole batch can replace ([`Answers`]), as (column, pattern).
    pub fn answered(&self) -> impl Iterator<Item = (&str, &str)> {
        (self.answered.list.iter()).map(|a| (a.column.as_str(), a.pattern.as_str()))
    }
}

/// Per column of the aggregate's input: the scan's column it is, passed through the steps
/// below the aggregate unchanged (selected, filtered, or projected as a plain column).
fn passed_through(scan: &SchemaRef, pre: &[PreStep]) -> Vec<Option<String>> {
    let mut origin: Vec<Option<String>> = scan
        .fields()
        .iter()
        .map(|f| Some(f.name().clone()))
        .collect();
    for step in pre {
        origin = match step {
            PreStep::Filter(_) => continue,
            PreStep::Select(idx) => idx
                .iter()
                .map(|&i| origin.get(i).cloned().flatten())
                .collect(),
            PreStep::Project(exprs, _) => exprs
                .iter()
                .map(|e| {
                    let c = e.downcast_ref::<datafusion::physical_expr::expressions::Column>()?;
                    origin.get(c.index()).cloned().flatten()
                })
                .collect(),
        };
    }
    origin
}

/// Accumulated state of some rows: per group, each aggregate's accumulator.
pub struct AggState {
    groups: Box<dyn GroupValues>,
    accs: Vec<Box<dyn GroupsAccumulator>>,
    idx: Vec<usize>,
}

impl AggState {
    /// Folds the aggregate input `pre` (from [`AggPlan::prepare`]) in, with the whole batch's
    /// answers of the plan's answered inputs where they were computed upstream.
    pub fn update(
        &mut self,
        plan: &AggPlan,
        pre: &RecordBatch,
        answers: Option<&Answers<'_>>,
    ) -> Result<()> {
        if pre.num_rows() == 0 {
            return Ok(());
        }
        let extended = plan.answered.extend(pre, answers)?;
        let pre = extended.as_ref().unwrap_or(pre);
        let keys = plan
            .group_exprs
            .iter()
            .map(|e| eval(e, pre))
            .collect::<Result<Vec<_>>>()?;
        self.groups.intern(&keys, &mut self.idx)?;
        let total = self.groups.len();
        for (spec, acc) in plan.aggs.iter().zip(self.accs.iter_mut()) {
            let values = spec
                .args
                .iter()
                .map(|e| eval(e, pre))
                .collect::<Result<Vec<_>>>()?;
            let filter = match &spec.filter {
                Some(f) => Some(
                    eval(f, pre)?
                        .as_any()
                        .downcast_ref::<BooleanArray>()
                        .cloned()
                        .ok_or_else(|| {
                            DataFusionError::Plan("aggregate filter is not boolean".into())
                        })?,
                ),
                None => None,
            };
            acc.update_batch(&values, &self.idx, filter.as_ref(), total)?;
        }
        Ok(())
    }

    /// Merges a state batch (from [`AggState::take_state`]) in.
    pub fn merge(&mut self, plan: &AggPlan, state: &RecordBatch) -> Result<()> {
        if state.num_rows() == 0 {
            return Ok(());
        }
        let n_groups = plan.group_schema.fields().len();
        let keys: Vec<ArrayRef> = state.columns()[..n_groups].to_vec();
        self.groups.intern(&keys, &mut self.idx)?;
        let total = self.groups.len();
        let mut col = n_groups;
        for (spec, acc) in plan.aggs.iter().zip(self.accs.iter_mut()) {
            let width = if spec.distinct_count {
                1
            } else {
                spec.expr.state_fields()?.len()
            };
            acc.merge_batch(&state.columns()[col..col + width], &self.idx, total)?;
            col += width;
        }
        Ok(())
    }

    /// The aggregate's output over everything folded in (the state is emptied).
    pub fn evaluate(&mut self, plan: &AggPlan) -> Result<RecordBatch> {
        let mut cols = self.groups.emit(EmitTo::All)?;
        // `emit(All)` leaves the hash table behind: clear it before the state is reused.
        self.groups.clear_shrink(0);
        for acc in self.accs.iter_mut() {
            cols.push(acc.evaluate(EmitTo::All)?);
        }
        Ok(RecordBatch::try_new(plan.output_schema.clone(), cols)?)
    }

    /// The partial state, as a batch of group keys and accumulator states, for merging into a
    /// window's state (the state is emptied).
    pub fn take_state(&mut self, plan: &AggPlan) -> Result<RecordBatch> {
        let mut cols = self.groups.emit(EmitTo::All)?;
        self.groups.clear_shrink(0);
        for acc in self.accs.iter_mut() {
            cols.extend(acc.state(EmitTo::All)?);
        }
        Ok(RecordBatch::try_new(plan.state_schema.clone(), cols)?)
    }

    /// Groups held.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether no group is held.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Bytes of memory held (approximate).
    pub fn size(&self) -> usize {
        self.groups.size() + self.accs.iter().map(|a| a.size()).sum::<usize>()
    }

    /// Of [`AggState::size`], the bytes of aggregates that keep every value
    /// (`longest_id_run`, `interarrival_cv`): what is not a running summary.
    pub fn kept_values_size(&self, plan: &AggPlan) -> usize {
        plan.aggs
            .iter()
            .zip(&self.accs)
            .filter(|(spec, _)| spec.keeps_values)
            .map(|(_, acc)| acc.size())
            .sum()
    }
}
