//! Aggregate inputs answered upstream.
//!
//! `regexp_like(column, 'pattern')` inside a rule's aggregate arguments (`sum(CASE WHEN
//! regexp_like(path, ${static_path_regex}) THEN 1 ELSE 0 END)` in two rules of the pack) asks a
//! question of each row of one column. The decoder threads answer it once for the whole batch,
//! as the filters answer theirs (per distinct value, answers remembered:
//! [`crate::mask::regex_answer`]), for every rule and task asking; a task then only picks its
//! rows' answers instead of looking each row's value up again per rule and task.
//!
//! At planning, each such call whose column reaches the aggregate unchanged from the rule's
//! input becomes a column of the aggregate's input ([`AnsweredInputs::rewrite`]); at each
//! batch that column is filled from the upstream answer, or, where none came (rows released by
//! a rule's event-time reorder, a batch of another rule set, rows from a repartition topic), by
//! running the original call on the aggregate's input as before. The answer is the same either
//! way: the filters' regex leaf and `regexp_like` compile the same pattern with the same
//! library, and NULL stays NULL.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::physical_expr::expressions::{Column, Literal};
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};

/// One answered input: `regexp_like(column, pattern)`.
#[derive(Debug, Clone)]
pub(super) struct Answered {
    /// The rule's input column asked (a column of the events table).
    pub column: String,
    /// The pattern.
    pub pattern: String,
    /// The call it replaces, on the aggregate's input: run where no answer came.
    pub fallback: Arc<dyn PhysicalExpr>,
}

/// A plan's answered inputs.
#[derive(Debug, Clone, Default)]
pub(super) struct AnsweredInputs {
    pub list: Vec<Answered>,
    /// The aggregate input's schema, extended by a column per answered input (`None` when
    /// nothing is answered: the input is used as it is).
    pub schema: Option<SchemaRef>,
}

/// Whole-batch answers of a plan's answered inputs, for [`super::AggState::update`].
pub struct Answers<'a> {
    /// The rows of the whole batch that the aggregate input's rows are, in order.
    pub rows: &'a UInt32Array,
    /// Per answered input ([`super::AggPlan::answered`]'s order), its answer over the whole
    /// batch, where one was computed.
    pub arrays: Vec<Option<&'a BooleanArray>>,
}

impl AnsweredInputs {
    /// Replaces in `expr` each `regexp_like(c, 'literal')` whose column `c` is an input column
    /// passed through unchanged (`origin[c]`: the rule's column it is) by a column appended
    /// to the aggregate's input (after its `width` columns).
    pub(super) fn rewrite(
        &mut self,
        expr: Arc<dyn PhysicalExpr>,
        width: usize,
        origin: &[Option<String>],
    ) -> Result<Arc<dyn PhysicalExpr>> {
        Ok(expr
            .transform_down(|node| {
                let Some((column, pattern)) = answerable(&node, origin) else {
                    return Ok(Transformed::no(node));
                };
                let k = match self
                    .list
                    .iter()
                    .position(|a| a.column == column && a.pattern == pattern)
                {
                    Some(k) => k,
                    None => {
                        crate::mask::register_regex(&column, &pattern);
                        self.list.push(Answered {
                            column,
                            pattern,
                            fallback: node.clone(),
                        });
                        self.list.len() - 1
                    }
                };
                let col: Arc<dyn PhysicalExpr> =
                    Arc::new(Column::new(&format!("__answered_{k}"), width + k));
                Ok(Transformed::yes(col))
            })?
            .data)
    }

    /// Fixes the extended schema once every expression is rewritten.
    pub(super) fn finish(&mut self, input: &SchemaRef) {
        if self.list.is_empty() {
            return;
        }
        let mut fields = input.fields().to_vec();
        fields.extend((0..self.list.len()).map(|k| {
            Arc::new(Field::new(
                format!("__answered_{k}"),
                DataType::Boolean,
                true,
            ))
        }));
        self.schema = Some(Arc::new(Schema::new(fields)));
    }

    /// `pre` with its answered columns appended (`None`: nothing answered, use `pre`).
    pub(super) fn extend(
        &self,
        pre: &RecordBatch,
        answers: Option<&Answers<'_>>,
    ) -> Result<Option<RecordBatch>> {
        let Some(schema) = &self.schema else {
            return Ok(None);
        };
        let rows = answers
            .map(|a| a.rows)
            .filter(|r| r.len() == pre.num_rows() && r.null_count() == 0);
        // Every row must lie in the answers' batch (they are that batch's rows).
        let past = rows.map_or(0, |r| {
            r.values().iter().max().map_or(0, |&m| m as usize + 1)
        });
        let mut cols = pre.columns().to_vec();
        for (k, answered) in self.list.iter().enumerate() {
            let upstream = answers.and_then(|a| a.arrays.get(k).copied().flatten());
            let col: ArrayRef = match (upstream, rows) {
                (Some(whole), Some(rows)) if past <= whole.len() => {
                    arrow::compute::take(whole, rows, None)?
                }
                _ => answered
                    .fallback
                    .evaluate(pre)?
                    .into_array(pre.num_rows())?,
            };
            cols.push(col);
        }
        Ok(Some(RecordBatch::try_new(schema.clone(), cols)?))
    }
}

/// `(column, pattern)` if `node` is `regexp_like(c, 'literal')` over a passed-through column.
fn answerable(node: &Arc<dyn PhysicalExpr>, origin: &[Option<String>]) -> Option<(String, String)> {
    let f = node.downcast_ref::<ScalarFunctionExpr>()?;
    if f.name() != "regexp_like" {
        return None;
    }
    let [col, lit] = f.args() else {
        return None;
    };
    let col = col.downcast_ref::<Column>()?;
    let ScalarValue::Utf8(Some(pattern)) = lit.downcast_ref::<Literal>()?.value() else {
        return None;
    };
    let column = origin.get(col.index())?.clone()?;
    Some((column, pattern.clone()))
}
