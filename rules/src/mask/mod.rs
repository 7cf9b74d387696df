//! A rule's stateless filter run as a small boolean program over row bitmaps.
//!
//! DataFusion evaluates `a AND b` by running `b` on a copy of the rows `a` kept. That is right
//! for one rule, but Sigma rule sets are hundreds of `AND`/`OR`/`NOT` trees over the same few
//! columns: every copy made a fresh array, so the per-column multi-pattern scan of
//! [`crate::sigma::matcher`] (shared by array identity) was redone for each rule, and every
//! `LIKE`/`regexp_like` with a literal pattern rebuilt its regex for each batch. Here:
//!
//! * `AND`, `OR` and `NOT` combine bitmaps (SQL's three-valued logic: a row is true, false or
//!   unknown), and a child runs only on the rows whose answer is still open;
//! * `sigma_match` leaves read the column's shared scan (one pass per column and batch, for all
//!   rules);
//! * `LIKE`/`ILIKE` and `regexp_like` of a column (or of `normalized_path(column)`) and a
//!   literal pattern use a regex compiled once, when the rule is compiled;
//! * `ua_class(..)` and `probe_class(..)` compared with literal names (or NULL) run once per
//!   distinct tuple of their arguments in the batch, shared by the rules asking;
//! * comparisons, `IN` lists and `IS [NOT] NULL` of columns and literals run on the whole
//!   batch: Arrow's kernels answer them faster than the open rows can be copied out;
//! * anything else is a DataFusion expression, run on the open rows only (copied out when they
//!   are few, and then only the columns it reads).

use std::sync::Arc;

use arrow::array::{Array, BooleanArray, BooleanBufferBuilder};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::expressions::{BinaryExpr, Column, LikeExpr, NotExpr};
use datafusion::physical_expr::utils::{collect_columns, reassign_expr_columns};
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};

use crate::sigma::matcher;

mod leaf;
mod plan;
use plan::{classify_node, function_node, int_in_node, like_node, whole_batch};

/// `regexp_like(column, pattern)` over a whole column (`name`: the rule column it is), answered
/// as the filters answer their regexes: once per distinct value, through the column's pattern
/// set when the pattern is in it, kept for the next asker on this thread. NULL where the
/// column is NULL, as `regexp_like`. What aggregates read for their answered inputs
/// ([`crate::aggregate::Answers`]).
pub fn regex_answer(
    name: &str,
    column: &arrow::array::ArrayRef,
    pattern: &str,
) -> Result<BooleanArray> {
    Ok(leaf::regex((name, column), pattern, false, false, None)?.into_array())
}

/// Tells the filters' pattern set of column `name` that `pattern` will be asked of it (by
/// [`regex_answer`]), so it is matched with the column's other patterns in one pass and its
/// answers remembered per value (see `leaf/set.rs`). Called when a rule is planned.
pub(crate) fn register_regex(name: &str, pattern: &str) {
    leaf::register(name, pattern, false);
}

/// Per row: `t` where the value is true, `f` where it is false, neither where it is unknown
/// (SQL NULL). Never both.
#[derive(Clone)]
struct Truth {
    t: BooleanBuffer,
    f: BooleanBuffer,
}

impl Truth {
    fn unknown(rows: usize) -> Truth {
        Truth {
            t: BooleanBuffer::new_unset(rows),
            f: BooleanBuffer::new_unset(rows),
        }
    }

    /// A two-valued answer.
    fn exact(t: BooleanBuffer) -> Truth {
        Truth { f: !&t, t }
    }

    /// True and false swapped when `negated` (unknown stays unknown).
    fn negated_if(self, negated: bool) -> Truth {
        match negated {
            true => Truth {
                t: self.f,
                f: self.t,
            },
            false => self,
        }
    }

    /// As an array: true, false, NULL where unknown (the inverse of [`Truth::of`]).
    fn into_array(self) -> BooleanArray {
        let known = &self.t | &self.f;
        BooleanArray::new(self.t, Some(arrow::buffer::NullBuffer::new(known)))
    }

    fn of(array: &BooleanArray) -> Truth {
        let values = array.values();
        match array.nulls() {
            None => Truth::exact(values.clone()),
            Some(valid) => Truth {
                t: values & valid.inner(),
                f: &!values & valid.inner(),
            },
        }
    }
}

/// One node of a filter program.
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// `sigma_match(column, 'name', anchor, 'ids', all)` on a text column of the batch.
    Match {
        column: usize,
        name: String,
        anchor: u8,
        ids: Vec<u32>,
        all: bool,
    },
    /// A text column against a regex (from `LIKE` or `regexp_like`), checked when the rule
    /// is compiled and compiled once per thread ([`thread_regex`]), flags inline.
    Regex {
        column: usize,
        pattern: String,
        /// Matched against `normalized_path(column)` (from `regexp_like(normalized_path(c), ..)`).
        normalized: bool,
        negated: bool,
    },
    /// A classifier of text columns (`ua_class`, `probe_class`) tested against literal names or
    /// NULL, answered once per distinct tuple of its arguments ([`leaf::classify`]).
    Classify {
        classifier: leaf::Classifier,
        columns: Vec<usize>,
        test: leaf::Test,
    },
    /// An integer column (`status`, byte counts) `IN` a list of integer literals: a loop over
    /// the column's values (DataFusion's `IN` cost ~300 instructions a row).
    IntIn {
        column: usize,
        values: Vec<i64>,
        negated: bool,
    },
    /// A comparison of columns and literals (see [`whole_batch`]), evaluated by DataFusion on
    /// every row of the batch.
    Whole(Arc<dyn PhysicalExpr>),
    /// Any other expression, evaluated by DataFusion on the open rows.
    Expr(Projected),
}

/// An expression and the same expression over only the columns it reads, for the open rows
/// copied out of a batch (copying every column cost more than most expressions).
struct Projected {
    expr: Arc<dyn PhysicalExpr>,
    /// The batch columns read, in order, and `expr` with its columns renumbered to them.
    columns: Vec<usize>,
    narrow: Arc<dyn PhysicalExpr>,
}

impl Projected {
    fn new(expr: Arc<dyn PhysicalExpr>, schema: &Schema) -> Option<Projected> {
        let mut columns: Vec<usize> = collect_columns(&expr).iter().map(Column::index).collect();
        columns.sort_unstable();
        columns.dedup();
        let narrow_schema = schema.project(&columns).ok()?;
        let narrow = reassign_expr_columns(expr.clone(), &narrow_schema).ok()?;
        Some(Projected {
            expr,
            columns,
            narrow,
        })
    }
}

/// The stateless part of a rule's filter: the `AND` of its conjuncts.
pub(crate) struct Program {
    root: Option<Node>,
}

impl Program {
    /// The program of `conjuncts`, planned against `schema` (the batches it will see), run in
    /// the order given.
    pub(crate) fn new(conjuncts: &[Arc<dyn PhysicalExpr>], schema: &Schema) -> Program {
        let root = (!conjuncts.is_empty())
            .then(|| Node::And(conjuncts.iter().map(|c| build(c, schema)).collect()));
        Program { root }
    }

    /// The rows the filter keeps; `None` when it has no conjunct (every row).
    pub(crate) fn mask(&self, batch: &RecordBatch) -> Result<Option<BooleanArray>> {
        let Some(root) = &self.root else {
            return Ok(None);
        };
        let truth = root.eval(batch, None)?;
        Ok(Some(BooleanArray::new(truth.t, None)))
    }
}

fn build(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Node {
    let any = expr;
    if let Some(b) = any.downcast_ref::<BinaryExpr>() {
        let flat = |op: Operator| {
            let mut out = Vec::new();
            for side in [b.left(), b.right()] {
                match build(side, schema) {
                    Node::And(c) if op == Operator::And => out.extend(c),
                    Node::Or(c) if op == Operator::Or => out.extend(c),
                    n => out.push(n),
                }
            }
            out
        };
        match b.op() {
            Operator::And => {
                // Shared-scan leaves first: they cost a bitmap of an existing scan, and the rows
                // they rule out are closed for the (dearer) children after them. `AND` is
                // commutative in three-valued logic, so the order changes no answer.
                let mut children = flat(Operator::And);
                children.sort_by_key(|c| !matches!(c, Node::Match { .. }));
                return Node::And(children);
            }
            Operator::Or => return Node::Or(flat(Operator::Or)),
            _ => {}
        }
    }
    if let Some(n) = any.downcast_ref::<NotExpr>() {
        return Node::Not(Box::new(build(n.arg(), schema)));
    }
    let native = if let Some(l) = any.downcast_ref::<LikeExpr>() {
        like_node(l, schema)
    } else if let Some(f) = any.downcast_ref::<ScalarFunctionExpr>() {
        function_node(f, schema)
    } else {
        None
    };
    let native = native
        .or_else(|| int_in_node(expr, schema))
        .or_else(|| classify_node(expr, schema));
    if let Some(n) = native {
        return n;
    }
    if whole_batch(expr, schema) {
        return Node::Whole(expr.clone());
    }
    match Projected::new(expr.clone(), schema) {
        Some(p) => Node::Expr(p),
        // Columns the schema does not resolve by name (never for a planned rule): the whole
        // batch, as DataFusion would.
        None => Node::Whole(expr.clone()),
    }
}

impl Node {
    /// The node's value on the rows of `open` (all rows when `None`); its value on other rows
    /// is unspecified (but never both true and false).
    fn eval(&self, batch: &RecordBatch, open: Option<&BooleanBuffer>) -> Result<Truth> {
        let rows = batch.num_rows();
        match self {
            Node::And(children) => junction(children, batch, open, true),
            Node::Or(children) => junction(children, batch, open, false),
            Node::Not(child) => Ok(child.eval(batch, open)?.negated_if(true)),
            Node::Match {
                column,
                name,
                anchor,
                ids,
                all,
            } => Ok(Truth::exact(matcher::match_buffer(
                batch.column(*column),
                name,
                *anchor,
                ids,
                *all,
            )?)),
            Node::Regex {
                column,
                pattern,
                normalized,
                negated,
            } => {
                let name = batch.schema_ref().field(*column).name().as_str();
                let column = (name, batch.column(*column));
                leaf::regex(column, pattern, *normalized, *negated, open)
            }
            Node::IntIn {
                column,
                values,
                negated,
            } => leaf::int_in(batch.column(*column), values, *negated),
            Node::Classify {
                classifier,
                columns,
                test,
            } => {
                let arrays: Vec<_> = columns.iter().map(|&c| batch.column(c).clone()).collect();
                leaf::classify(*classifier, &arrays, test)
            }
            Node::Whole(expr) => Ok(Truth::of(&boolean(expr.evaluate(batch)?, rows)?)),
            Node::Expr(p) => eval_expr(p, batch, open),
        }
    }
}

/// The `AND` of `children` (with `and`), else their `OR`, which is the same with true and false
/// swapped (`a OR b` = `NOT (NOT a AND NOT b)`). A row decided (false for `AND`) is closed for
/// the children after it.
fn junction(
    children: &[Node],
    batch: &RecordBatch,
    open: Option<&BooleanBuffer>,
    and: bool,
) -> Result<Truth> {
    let rows = batch.num_rows();
    let flip = |v: Truth| v.negated_if(!and);
    let mut acc = Truth {
        t: BooleanBuffer::new_set(rows),
        f: BooleanBuffer::new_unset(rows),
    };
    let mut still = open.cloned();
    for child in children {
        if still.as_ref().is_some_and(|s| s.count_set_bits() == 0) {
            break;
        }
        let c = flip(child.eval(batch, still.as_ref())?);
        acc.t = &acc.t & &c.t;
        acc.f = &acc.f | &c.f;
        let undecided = !&acc.f;
        still = Some(match still {
            Some(s) => &s & &undecided,
            None => undecided,
        });
    }
    Ok(flip(acc))
}

/// A DataFusion expression's value as a boolean array of `rows` rows.
fn boolean(value: datafusion::logical_expr::ColumnarValue, rows: usize) -> Result<BooleanArray> {
    let array = value.into_array(rows)?;
    array
        .as_any()
        .downcast_ref::<BooleanArray>()
        .cloned()
        .ok_or_else(|| DataFusionError::Plan("filter is not a boolean expression".into()))
}

/// A DataFusion expression on the open rows: the columns it reads copied out when the open
/// rows are at most three quarters of the batch, else on the whole batch.
fn eval_expr(p: &Projected, batch: &RecordBatch, open: Option<&BooleanBuffer>) -> Result<Truth> {
    let rows = batch.num_rows();
    let selected = open.map_or(rows, BooleanBuffer::count_set_bits);
    let Some(open) = open.filter(|_| selected * 4 <= rows * 3) else {
        return Ok(Truth::of(&boolean(p.expr.evaluate(batch)?, rows)?));
    };
    if selected == 0 {
        return Ok(Truth::unknown(rows));
    }
    let narrow = batch.project(&p.columns)?;
    let part =
        arrow::compute::filter_record_batch(&narrow, &BooleanArray::new(open.clone(), None))?;
    let values = boolean(p.narrow.evaluate(&part)?, selected)?;
    let mut t = BooleanBufferBuilder::new(rows);
    let mut f = BooleanBufferBuilder::new(rows);
    t.append_n(rows, false);
    f.append_n(rows, false);
    for (k, row) in open.set_indices().enumerate() {
        if values.is_valid(k) {
            if values.value(k) {
                t.set_bit(row, true);
            } else {
                f.set_bit(row, true);
            }
        }
    }
    Ok(Truth {
        t: t.finish(),
        f: f.finish(),
    })
}

#[cfg(test)]
mod tests;
