//! A rule's row filter, split in two:
//!
//! * **stateless conjuncts** (comparisons, regexes, `ua_class`, ...): pure functions of a row,
//!   so any thread may evaluate them on any batch, in any order: the pipeline runs them in its
//!   decoder threads, next to decoding, on every core;
//! * **stateful conjuncts** (those calling `endpoint_is_new`, `technology_unserved` or
//!   `form_never_loaded`): their answer depends on the rows seen before, so each task
//!   instantiates them with state of its own ([`RuleFilter::instantiate`]) and evaluates them
//!   in record order on the rows the stateless part kept. Their state is part of the task's
//!   checkpoint.
//!
//! Inside a stateful conjunct, both sides of an `OR` or `AND` around a learning call are
//! evaluated on every row that reaches it ([`evaluate_both_sides`]): DataFusion would skip a
//! side where the other decides a large enough share of the batch, and what the helper learns
//! would then depend on where batches end. To learn from fewer rows, write the condition as a
//! conjunct of its own (a top-level `AND`): conjuncts run one after the other on the rows the
//! previous ones kept, whatever the batches.
//!
//! Conjuncts run cheapest first, each on the rows the previous ones kept, so an expensive regex
//! sees the few rows with a 401, not all traffic. The stateless part runs as a
//! [`crate::mask::Program`] over row bitmaps.

use std::sync::{Arc, Mutex, PoisonError};

use arrow::array::{Array, BooleanArray};
use arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::DFSchema;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    create_udf, BinaryExpr, ColumnarValue, Expr, Operator, ScalarUDF, Volatility,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;

use crate::functions::form::form_never_loaded_udf;
use crate::functions::technology::technology_unserved_udf;
use crate::functions::udf::endpoint_is_new_udf;
use crate::functions::EndpointLearner;
use crate::mask::Program;

/// Whether an expression calls a stateful (volatile) function.
fn is_stateful(expr: &Expr) -> bool {
    expr.exists(|e| {
        Ok(matches!(e, Expr::ScalarFunction(f)
            if f.func.signature().volatility == Volatility::Volatile))
    })
    .unwrap_or(true)
}

/// The first helper of `plan` that learns from rows in record order (`endpoint_is_new`,
/// `technology_unserved`): in a rule's query it would run once per closed window, on a learner
/// no task owns, checkpoints or agrees on with other instances. They belong in `filter`.
pub(crate) fn learning_call_in(plan: &datafusion::logical_expr::LogicalPlan) -> Option<String> {
    use datafusion::common::tree_node::TreeNodeRecursion;
    let mut found = None;
    let _ = plan.apply_with_subqueries(|node| {
        node.apply_expressions(|e| {
            e.apply(|x| {
                if let Expr::ScalarFunction(f) = x {
                    if LEARNING.iter().any(|(name, _)| *name == f.func.name()) {
                        found = Some(f.func.name().to_owned());
                        return Ok(TreeNodeRecursion::Stop);
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    });
    found
}

/// The helpers that learn, by name, and how a task builds its own instance bound to its
/// learner: one list for [`RuleFilter::instantiate`] and [`learning_call_in`].
type LearningUdf = fn(Arc<Mutex<EndpointLearner>>) -> ScalarUDF;
const LEARNING: [(&str, LearningUdf); 3] = [
    (crate::functions::udf::ENDPOINT_IS_NEW, endpoint_is_new_udf),
    (
        crate::functions::technology::TECHNOLOGY_UNSERVED,
        technology_unserved_udf,
    ),
    (
        crate::functions::form::FORM_NEVER_LOADED,
        form_never_loaded_udf,
    ),
];

/// Evaluates conjuncts one after the other on the surviving rows; `None` keeps every row
/// (no conjunct at all).
pub(crate) fn eval_conjuncts(
    conjuncts: &[Arc<dyn PhysicalExpr>],
    batch: &RecordBatch,
) -> Result<Option<BooleanArray>, DataFusionError> {
    if conjuncts.is_empty() {
        return Ok(None);
    }
    let mut current = batch.clone();
    // Positions in `batch` of the rows of `current`; `None` while they are all rows.
    let mut positions: Option<Vec<u32>> = None;
    for conjunct in conjuncts {
        let value = conjunct.evaluate(&current)?;
        let array = value.into_array(current.num_rows())?;
        let mask = array
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| DataFusionError::Plan("filter is not a boolean expression".into()))?;
        let kept: Vec<u32> = (0..mask.len())
            .filter(|&i| mask.is_valid(i) && mask.value(i))
            .map(|i| positions.as_ref().map_or(i as u32, |p| p[i]))
            .collect();
        if kept.is_empty() {
            return Ok(Some(BooleanArray::from(vec![false; batch.num_rows()])));
        }
        if kept.len() < current.num_rows() {
            current = arrow::compute::filter_record_batch(&current, mask)?;
        }
        positions = Some(kept);
    }
    let mut out = vec![false; batch.num_rows()];
    for p in positions.unwrap_or_default() {
        out[p as usize] = true;
    }
    Ok(Some(BooleanArray::from(out)))
}

/// A compiled filter.
pub struct RuleFilter {
    stateless: Program,
    stateful: Vec<Expr>,
    schema: DFSchema,
}

impl RuleFilter {
    /// Splits `conjuncts` (logical, against `schema`) and plans the stateless ones in `ctx`.
    pub fn new(
        ctx: &SessionContext,
        mut conjuncts: Vec<Expr>,
        schema: DFSchema,
    ) -> Result<Self, DataFusionError> {
        // Calls planned as plain expressions first (`refused(status)` is `status IN (...)`),
        // so they sort as what they are.
        let info = simplify_context(&schema);
        conjuncts = conjuncts
            .into_iter()
            .map(|e| expand_planner_only_calls(e, &info))
            .collect::<Result<_, _>>()?;
        // Plain comparisons before function calls (regex, LIKE, UDFs); otherwise as written.
        conjuncts.sort_by_key(|c| {
            matches!(
                c,
                Expr::ScalarFunction(_) | Expr::Like(_) | Expr::SimilarTo(_)
            ) as u8
        });
        let (stateful, stateless): (Vec<Expr>, Vec<Expr>) =
            conjuncts.into_iter().partition(is_stateful);
        let stateful = stateful
            .into_iter()
            .map(evaluate_both_sides)
            .collect::<Result<_, _>>()?;
        let stateless = stateless
            .into_iter()
            .map(|e| ctx.create_physical_expr(e, &schema))
            .collect::<Result<Vec<_>, _>>()?;
        let stateless = Program::new(&stateless, schema.as_arrow());
        Ok(RuleFilter {
            stateless,
            stateful,
            schema,
        })
    }

    /// Whether part of the filter keeps state (and must run per task, in order).
    pub fn has_state(&self) -> bool {
        !self.stateful.is_empty()
    }

    /// The stateless part on a batch holding the rule's columns; `None` keeps every row.
    pub fn stateless_mask(
        &self,
        batch: &RecordBatch,
    ) -> Result<Option<BooleanArray>, DataFusionError> {
        self.stateless.mask(batch)
    }

    /// The stateful part, with fresh state: one per task. `None` if the filter has none.
    pub fn instantiate(&self) -> Result<Option<StatefulFilter>, DataFusionError> {
        if self.stateful.is_empty() {
            return Ok(None);
        }
        let learner: Arc<Mutex<EndpointLearner>> = Arc::default();
        let udfs: Vec<Arc<ScalarUDF>> = (LEARNING.iter())
            .map(|(_, build)| Arc::new(build(learner.clone())))
            .collect();
        let ctx = SessionContext::new();
        crate::functions::udf::register_all(&ctx);
        // Planner-only calls were expanded in `new`.
        let conjuncts = self
            .stateful
            .iter()
            .map(|e| {
                let bound = rebind(e.clone(), &udfs)?;
                ctx.create_physical_expr(bound, &self.schema)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(StatefulFilter { conjuncts, learner }))
    }
}

/// Functions DataFusion only runs after its query optimizer rewrote them (`coalesce`, `nvl`
/// and `nvl2` into `CASE`, the cast functions into casts): called as they are, they fail when
/// the first batch reaches them ("should have been simplified"). A query's SQL goes through
/// that optimizer; a filter is planned on its own, so its calls are rewritten here.
const PLANNER_ONLY: &[&str] = &[
    "coalesce",
    "nvl",
    "nvl2",
    "arrow_cast",
    "arrow_try_cast",
    "cast_to_type",
    "try_cast_to_type",
    // Ours: planned as plain expressions, which the filter evaluates natively.
    "missing",
    "refused",
    "linked",
];

/// What [`expand_planner_only_calls`] needs of the filter's schema (argument types).
fn simplify_context(schema: &DFSchema) -> SimplifyContext {
    SimplifyContext::builder()
        .with_schema(Arc::new(schema.clone()))
        .build()
}

/// `expr` with every [`PLANNER_ONLY`] call replaced by what DataFusion's optimizer makes of it.
/// Only those: the other rewrites the optimizer knows (`regexp_like` into `~`, ...) would
/// change the shapes [`Program`] evaluates natively.
fn expand_planner_only_calls(expr: Expr, info: &SimplifyContext) -> Result<Expr, DataFusionError> {
    expr.transform_up(|e| match e {
        Expr::ScalarFunction(f) if PLANNER_ONLY.contains(&f.func.name()) => {
            match f.func.simplify(f.args, info)? {
                ExprSimplifyResult::Simplified(rewritten) => Ok(Transformed::yes(rewritten)),
                ExprSimplifyResult::Original(args) => Ok(Transformed::no(Expr::ScalarFunction(
                    ScalarFunction::new_udf(f.func, args),
                ))),
            }
        }
        other => Ok(Transformed::no(other)),
    })
    .map(|t| t.data)
}

/// `expr` with every `OR` and `AND` that has a learning call on either side made a call of a
/// function taking both sides whole (three-valued, as the operators are): a function's
/// arguments are evaluated on every row, an operator's right side only where the left one
/// does not decide, and only when that is a large enough share of the batch.
fn evaluate_both_sides(expr: Expr) -> Result<Expr, DataFusionError> {
    expr.transform_up(|e| match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right })
            if matches!(op, Operator::Or | Operator::And)
                && (is_stateful(&left) || is_stateful(&right)) =>
        {
            Ok(Transformed::yes(both_sides(op).call(vec![*left, *right])))
        }
        other => Ok(Transformed::no(other)),
    })
    .map(|t| t.data)
}

/// `OR` (or `AND`) of two boolean columns, computed from both whole (Kleene logic: `NULL OR
/// true` is true, `NULL AND false` false, otherwise `NULL` stays).
fn both_sides(op: Operator) -> ScalarUDF {
    let (name, kernel): (_, fn(&BooleanArray, &BooleanArray) -> _) = if op == Operator::Or {
        ("or_of_both_sides", arrow::compute::or_kleene)
    } else {
        ("and_of_both_sides", arrow::compute::and_kleene)
    };
    create_udf(
        name,
        vec![arrow::datatypes::DataType::Boolean; 2],
        arrow::datatypes::DataType::Boolean,
        Volatility::Immutable,
        Arc::new(move |args| {
            let sides = ColumnarValue::values_to_arrays(args)?;
            let boolean = |a: &arrow::array::ArrayRef| {
                arrow::compute::cast(a, &arrow::datatypes::DataType::Boolean)
            };
            let (left, right) = (boolean(&sides[0])?, boolean(&sides[1])?);
            let out = kernel(
                arrow::array::AsArray::as_boolean(&left),
                arrow::array::AsArray::as_boolean(&right),
            )?;
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

/// Points every call of a stateful helper in `expr` at the task's instance of it in `udfs`
/// (`endpoint_is_new`, `technology_unserved`, `form_never_loaded`: one learner for all, keys
/// apart).
fn rebind(expr: Expr, udfs: &[Arc<ScalarUDF>]) -> Result<Expr, DataFusionError> {
    expr.transform(|e| match e {
        Expr::ScalarFunction(mut f) => match udfs.iter().find(|u| u.name() == f.func.name()) {
            Some(u) => {
                f.func = u.clone();
                Ok(Transformed::yes(Expr::ScalarFunction(f)))
            }
            None => Ok(Transformed::no(Expr::ScalarFunction(f))),
        },
        other => Ok(Transformed::no(other)),
    })
    .map(|t| t.data)
}

/// The stateful conjuncts of one rule in one task, with their state.
pub struct StatefulFilter {
    conjuncts: Vec<Arc<dyn PhysicalExpr>>,
    learner: Arc<Mutex<EndpointLearner>>,
}

impl StatefulFilter {
    /// Evaluates on `batch` (rows in record order, those the stateless part kept).
    pub fn mask(&self, batch: &RecordBatch) -> Result<Option<BooleanArray>, DataFusionError> {
        eval_conjuncts(&self.conjuncts, batch)
    }

    /// The learned state, for a checkpoint.
    pub fn snapshot(&self) -> EndpointLearner {
        self.learner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Continues from a checkpoint's state.
    pub fn restore(&self, state: EndpointLearner) {
        *self.learner.lock().unwrap_or_else(PoisonError::into_inner) = state;
    }

    /// Endpoints forgotten to stay within the learner's bound.
    pub fn evicted(&self) -> u64 {
        self.learner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .evicted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task binds its own instance of a learning helper by the helper's name: every entry's
    /// builder must make the function its name says.
    #[test]
    fn every_learning_helper_is_built_under_its_name() {
        for (name, build) in LEARNING {
            assert_eq!(build(Arc::default()).name(), name);
        }
    }

    /// A learning call beside an `OR` or `AND` sees every row, however many the other side
    /// decides (DataFusion skips the right side of `a OR b` when `a` holds on every row of the
    /// batch, and evaluates it on the undecided rows only when `a` holds on most), and the
    /// answers stay three-valued.
    #[test]
    fn a_learning_call_beside_or_and_and_sees_every_row() {
        use arrow::datatypes::{DataType, Field, Schema};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let seen = Arc::new(AtomicUsize::new(0));
        let counted = seen.clone();
        // Stateful like the learning helpers: counts the rows it is asked about, answers its
        // argument.
        let learns = create_udf(
            "learns",
            vec![DataType::Boolean],
            DataType::Boolean,
            Volatility::Volatile,
            Arc::new(move |args| {
                let rows = ColumnarValue::values_to_arrays(args)?;
                counted.fetch_add(rows[0].len(), Ordering::SeqCst);
                Ok(ColumnarValue::Array(rows[0].clone()))
            }),
        );
        let schema = Schema::new(vec![
            Field::new("a", DataType::Boolean, true),
            Field::new("b", DataType::Boolean, true),
        ]);
        let batch = |a: Vec<Option<bool>>, b: Vec<Option<bool>>| {
            RecordBatch::try_new(
                Arc::new(schema.clone()),
                vec![
                    Arc::new(BooleanArray::from(a)),
                    Arc::new(BooleanArray::from(b)),
                ],
            )
            .unwrap()
        };
        let df_schema = DFSchema::try_from(schema.clone()).unwrap();
        let ctx = SessionContext::new();
        let a = datafusion::prelude::col("a");
        let b = || learns.call(vec![datafusion::prelude::col("b")]);
        for (expr, decided) in [(a.clone().or(b()), true), (a.clone().and(b()), false)] {
            let rewritten = evaluate_both_sides(expr).unwrap();
            let physical = ctx.create_physical_expr(rewritten, &df_schema).unwrap();
            seen.store(0, Ordering::SeqCst);
            // The left side decides every row: the learning call is still asked about each.
            let rows = batch(vec![Some(decided); 8], vec![Some(!decided); 8]);
            let out = physical.evaluate(&rows).unwrap().into_array(8).unwrap();
            assert_eq!(seen.load(Ordering::SeqCst), 8);
            assert!(out
                .as_any()
                .downcast_ref::<BooleanArray>()
                .unwrap()
                .iter()
                .all(|v| v == Some(decided)));
        }
        // Three-valued, as the operators: NULL OR true, NULL OR false, NULL AND false.
        let rows = batch(
            vec![None, None, None],
            vec![Some(true), Some(false), Some(false)],
        );
        for (expr, want) in [
            (a.clone().or(b()), [Some(true), None, None]),
            (a.clone().and(b()), [None, Some(false), Some(false)]),
        ] {
            let physical = ctx
                .create_physical_expr(evaluate_both_sides(expr).unwrap(), &df_schema)
                .unwrap();
            let out = physical.evaluate(&rows).unwrap().into_array(3).unwrap();
            let out = out.as_any().downcast_ref::<BooleanArray>().unwrap();
            assert_eq!(out.iter().collect::<Vec<_>>(), want);
        }
    }
}
