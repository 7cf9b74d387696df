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
//! * `LIKE`/`ILIKE` and `regexp_like` of a column and a literal pattern use a regex compiled
//!   once, when the rule is compiled;
//! * comparisons, `IN` lists and `IS [NOT] NULL` of columns and literals run on the whole
//!   batch: Arrow's kernels answer them faster than the open rows can be copied out;
//! * anything else is a DataFusion expression, run on the open rows only (copied out when they
//!   are few, and then only the columns it reads).

use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, BooleanBufferBuilder};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::expressions::{
    BinaryExpr, Column, InListExpr, IsNotNullExpr, IsNullExpr, LikeExpr, Literal, NotExpr,
};
use datafusion::physical_expr::utils::{collect_columns, reassign_expr_columns};
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};
use regex::Regex;

use crate::sigma::matcher;
use crate::thread_regex;

/// Per row: `t` where the value is true, `f` where it is false, neither where it is unknown
/// (SQL NULL). Never both.
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

/// The index of `expr` if it is a text column of `schema`.
fn text_column(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Option<usize> {
    let column = expr.downcast_ref::<Column>()?;
    let field = schema.fields().get(column.index())?;
    (field.name() == column.name() && field.data_type() == &DataType::Utf8)
        .then_some(column.index())
}

fn literal(expr: &Arc<dyn PhysicalExpr>) -> Option<&ScalarValue> {
    expr.downcast_ref::<Literal>().map(Literal::value)
}

fn literal_text(expr: &Arc<dyn PhysicalExpr>) -> Option<&str> {
    match literal(expr)? {
        ScalarValue::Utf8(Some(s)) => Some(s),
        _ => None,
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
    if let Some(n) = native {
        return n;
    }
    if whole_batch(expr) {
        return Node::Whole(expr.clone());
    }
    match Projected::new(expr.clone(), schema) {
        Some(p) => Node::Expr(p),
        // Columns the schema does not resolve by name (never for a planned rule): the whole
        // batch, as DataFusion would.
        None => Node::Whole(expr.clone()),
    }
}

/// Whether `expr` only compares columns and literals (`=`, `<`, `IS DISTINCT FROM`, ...),
/// tests them against an `IN` list of literals or for NULL, or negates such a test. These
/// cost one vectorised pass over a batch, less than copying its open rows out, and cannot
/// fail on a row (no arithmetic, casts or functions), so running them on rows the filter
/// had already decided changes no answer.
fn whole_batch(expr: &Arc<dyn PhysicalExpr>) -> bool {
    let leaf = |e: &Arc<dyn PhysicalExpr>| {
        e.downcast_ref::<Column>().is_some() || e.downcast_ref::<Literal>().is_some()
    };
    if let Some(b) = expr.downcast_ref::<BinaryExpr>() {
        use Operator::*;
        let comparison = matches!(
            b.op(),
            Eq | NotEq | Lt | LtEq | Gt | GtEq | IsDistinctFrom | IsNotDistinctFrom
        );
        return comparison && leaf(b.left()) && leaf(b.right());
    }
    if let Some(i) = expr.downcast_ref::<InListExpr>() {
        return leaf(i.expr())
            && i.list()
                .iter()
                .all(|e| e.downcast_ref::<Literal>().is_some());
    }
    if let Some(n) = expr.downcast_ref::<IsNullExpr>() {
        return leaf(n.arg());
    }
    if let Some(n) = expr.downcast_ref::<IsNotNullExpr>() {
        return leaf(n.arg());
    }
    if let Some(n) = expr.downcast_ref::<NotExpr>() {
        return whole_batch(n.arg());
    }
    false
}

fn like_node(l: &LikeExpr, schema: &Schema) -> Option<Node> {
    let column = text_column(l.expr(), schema)?;
    let pattern = like_regex(literal_text(l.pattern())?)?;
    // `(?s)`: `%` and `_` match newlines too; `(?i)` for ILIKE.
    let flags = if l.case_insensitive() {
        "(?is)"
    } else {
        "(?s)"
    };
    regex_node(column, format!("{flags}{pattern}"), l.negated())
}

/// A regex node, if `pattern` compiles.
fn regex_node(column: usize, pattern: String, negated: bool) -> Option<Node> {
    Regex::new(&pattern).ok()?;
    Some(Node::Regex {
        column,
        pattern,
        negated,
    })
}

fn like_regex(pattern: &str) -> Option<String> {
    let mut out = String::from("^");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next) => out.push_str(&regex::escape(&next.to_string())),
                None => out.push_str(r"\\"),
            },
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    Some(out)
}

fn function_node(f: &ScalarFunctionExpr, schema: &Schema) -> Option<Node> {
    let args = f.args();
    match (f.name(), args) {
        ("sigma_match", [text, name, anchor, ids, all]) => {
            let column = text_column(text, schema)?;
            let name = literal_text(name)?.to_owned();
            let ScalarValue::Int64(Some(anchor)) = literal(anchor)? else {
                return None;
            };
            let ids = literal_text(ids)?
                .split(',')
                .map(|x| x.trim().parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            let ScalarValue::Boolean(Some(all)) = literal(all)? else {
                return None;
            };
            Some(Node::Match {
                column,
                name,
                anchor: u8::try_from(*anchor).ok()?,
                ids,
                all: *all,
            })
        }
        ("regexp_like", [text, pattern]) => regex_node(
            text_column(text, schema)?,
            literal_text(pattern)?.to_owned(),
            false,
        ),
        _ => None,
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
            Node::Not(child) => {
                let c = child.eval(batch, open)?;
                Ok(Truth { t: c.f, f: c.t })
            }
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
                negated,
            } => {
                let regex = thread_regex::compiled(pattern)
                    .map_err(|e| DataFusionError::Execution(format!("filter regex: {e}")))?;
                let strings = batch.column(*column).as_string::<i32>();
                let mut t = BooleanBufferBuilder::new(rows);
                let mut f = BooleanBufferBuilder::new(rows);
                t.append_n(rows, false);
                f.append_n(rows, false);
                let mut one = |row: usize| {
                    if strings.is_valid(row) {
                        if regex.is_match(strings.value(row)) != *negated {
                            t.set_bit(row, true);
                        } else {
                            f.set_bit(row, true);
                        }
                    }
                };
                match open {
                    Some(o) => o.set_indices().for_each(&mut one),
                    None => (0..rows).for_each(&mut one),
                }
                Ok(Truth {
                    t: t.finish(),
                    f: f.finish(),
                })
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
    let flip = |v: Truth| if and { v } else { Truth { t: v.f, f: v.t } };
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
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::datatypes::Field;
    use datafusion::common::DFSchema;
    use datafusion::prelude::SessionContext;

    /// Rows with NULLs, mixed case, LIKE metacharacters and newlines.
    fn batch() -> RecordBatch {
        let path: ArrayRef = Arc::new(StringArray::from(vec![
            Some("/Admin/login"),
            None,
            Some("/a_b%c"),
            Some("/api/v1/users?id=1 UNION SELECT"),
            Some("line\nbreak"),
            Some(""),
            Some("/ADMIN"),
        ]));
        let status: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(200),
            Some(404),
            None,
            Some(500),
            Some(200),
            None,
            Some(403),
        ]));
        let schema = Schema::new(vec![
            Field::new("path", DataType::Utf8, true),
            Field::new("status", DataType::Int64, true),
        ]);
        RecordBatch::try_new(Arc::new(schema), vec![path, status]).unwrap()
    }

    /// The program's rows and DataFusion's own (a filter keeps rows whose value is true).
    fn both(sql: &str) -> (Vec<bool>, Vec<bool>) {
        let batch = batch();
        let ctx = SessionContext::new();
        crate::functions::udf::register_all(&ctx);
        let schema = DFSchema::try_from(batch.schema().as_ref().clone()).unwrap();
        let expr = ctx.parse_sql_expr(sql, &schema).unwrap();
        let physical = ctx.create_physical_expr(expr, &schema).unwrap();
        let program = Program::new(std::slice::from_ref(&physical), &batch.schema());
        let ours = program.mask(&batch).unwrap().unwrap();
        let theirs = physical.evaluate(&batch).unwrap().into_array(7).unwrap();
        let theirs = theirs.as_boolean();
        (
            (0..7).map(|i| ours.value(i)).collect(),
            (0..7)
                .map(|i| theirs.is_valid(i) && theirs.value(i))
                .collect(),
        )
    }

    #[test]
    fn three_valued_logic_and_short_cuts_agree_with_datafusion() {
        for sql in [
            "path LIKE '/a%'",
            "NOT (path ILIKE '/admin%')",
            "path ILIKE '/admin%' AND status = 200",
            "NOT (path ILIKE '/admin%' AND status = 200)",
            "NOT (status = 404 OR path LIKE '%\\%%')",
            "path LIKE '/a\\_b%' OR status > 400",
            "NOT (NOT (status = 200) AND NOT (path IS NULL))",
            "regexp_like(path, '(?i)union\\s+select') OR status IS NULL",
            "path NOT LIKE '%in%' AND (status = 500 OR status = 403 OR status IS NULL)",
            "status = 200 AND path ILIKE '%BREAK'",
            // Comparisons on the whole batch, then expressions on the open rows only, copied
            // out with just the columns they read.
            "status IN (403, 404) AND upper(path) = '/ADMIN'",
            "status = 404 AND length(path) > 3",
            "path LIKE '/A%' AND abs(status) >= 200",
            "path IS NOT NULL AND NOT (status IN (200, 500)) AND lower(path) <> ''",
            "(status IS DISTINCT FROM 200) AND (character_length(path) < 7 OR status IS NULL)",
            "NOT (status IS NOT NULL) OR upper(path) LIKE '%ADMIN%'",
        ] {
            let (ours, theirs) = both(sql);
            assert_eq!(ours, theirs, "{sql}");
        }
    }

    #[test]
    fn like_patterns_read_as_arrow_reads_them() {
        let re = |p: &str| Regex::new(&like_regex(p).unwrap()).unwrap();
        assert!(re("/a%b_c").is_match("/aXXbYc"));
        assert!(!re("/a%b_c").is_match("/aXXbYYc"));
        assert!(re(r"100\%").is_match("100%"));
        assert!(!re(r"100\%").is_match("1000"));
        assert!(re(r"a\_b").is_match("a_b") && !re(r"a\_b").is_match("axb"));
        assert!(re(r"c:\\win%").is_match(r"c:\windows"));
        assert!(re("(.*)").is_match("(.*)") && !re("(.*)").is_match("(xy)"));
    }
}
