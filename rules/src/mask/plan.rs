//! Planning a filter's leaves: which expressions run natively over row bitmaps and how.

use std::sync::Arc;

use arrow::datatypes::{DataType, Schema};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::expressions::{
    BinaryExpr, CastExpr, Column, InListExpr, IsNotNullExpr, IsNullExpr, LikeExpr, Literal, NotExpr,
};
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};
use regex::Regex;

use super::leaf::{Classifier, Test};
use super::Node;

/// The index of `expr` if it is a text column of `schema`.
pub(super) fn text_column(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Option<usize> {
    let column = expr.downcast_ref::<Column>()?;
    let field = schema.fields().get(column.index())?;
    (field.name() == column.name() && field.data_type() == &DataType::Utf8)
        .then_some(column.index())
}

pub(super) fn literal(expr: &Arc<dyn PhysicalExpr>) -> Option<&ScalarValue> {
    expr.downcast_ref::<Literal>().map(Literal::value)
}

pub(super) fn literal_text(expr: &Arc<dyn PhysicalExpr>) -> Option<&str> {
    match literal(expr)? {
        ScalarValue::Utf8(Some(s)) => Some(s),
        _ => None,
    }
}

/// Whether `expr` only compares columns and literals (`=`, `<`, `IS DISTINCT FROM`, ...),
/// tests them against an `IN` list of literals or for NULL, or negates such a test. These
/// cost one vectorised pass over a batch, less than copying its open rows out, and cannot
/// fail on a row (no arithmetic, functions, or casts but integer widening), so running them on
/// rows the filter had already decided changes no answer.
pub(super) fn whole_batch(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> bool {
    let leaf = |e: &Arc<dyn PhysicalExpr>| {
        e.downcast_ref::<Column>().is_some()
            || e.downcast_ref::<Literal>().is_some()
            || widened_column(e, schema).is_some()
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
        return whole_batch(n.arg(), schema);
    }
    false
}

/// The index of the integer column `expr` reads, directly or cast to a wider integer type
/// (the planner widens `status`, an `Int32`, to compare it with `Int64` literals).
pub(super) fn widened_column(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Option<usize> {
    let integer = |t: &DataType| {
        matches!(
            t,
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
        ) || matches!(t, DataType::UInt8 | DataType::UInt16 | DataType::UInt32)
    };
    let (column, to) = match expr.downcast_ref::<CastExpr>() {
        Some(c) => (c.expr().downcast_ref::<Column>()?, Some(c.cast_type())),
        None => (expr.downcast_ref::<Column>()?, None),
    };
    let from = schema.fields().get(column.index())?.data_type();
    let widens = match to {
        None => true,
        Some(DataType::Int64) => true,
        Some(to) => to == from,
    };
    (integer(from) && widens).then_some(column.index())
}

/// `column [NOT] IN (integers)` as an [`Node::IntIn`]; a NULL in the list (which makes a miss
/// unknown rather than false) is left to DataFusion.
pub(super) fn int_in_node(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Option<Node> {
    let i = expr.downcast_ref::<InListExpr>()?;
    let column = widened_column(i.expr(), schema)?;
    let values = i
        .list()
        .iter()
        .map(|e| match literal(e)? {
            ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
            ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
            ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
            ScalarValue::Int64(Some(v)) => Some(*v),
            ScalarValue::UInt8(Some(v)) => Some(i64::from(*v)),
            ScalarValue::UInt16(Some(v)) => Some(i64::from(*v)),
            ScalarValue::UInt32(Some(v)) => Some(i64::from(*v)),
            _ => None,
        })
        .collect::<Option<Vec<i64>>>()?;
    Some(Node::IntIn {
        column,
        values,
        negated: i.negated(),
    })
}

pub(super) fn like_node(l: &LikeExpr, schema: &Schema) -> Option<Node> {
    let column = text_column(l.expr(), schema)?;
    let pattern = like_regex(literal_text(l.pattern())?)?;
    // `(?s)`: `%` and `_` match newlines too; `(?i)` for ILIKE.
    let flags = if l.case_insensitive() {
        "(?is)"
    } else {
        "(?s)"
    };
    regex_node(
        (column, schema),
        format!("{flags}{pattern}"),
        false,
        l.negated(),
    )
}

/// A regex node, if `pattern` compiles; the pattern is registered for its column's set
/// ([`super::leaf::register`]).
pub(super) fn regex_node(
    (column, schema): (usize, &Schema),
    pattern: String,
    normalized: bool,
    negated: bool,
) -> Option<Node> {
    Regex::new(&pattern).ok()?;
    super::leaf::register(schema.fields().get(column)?.name(), &pattern, normalized);
    Some(Node::Regex {
        column,
        pattern,
        normalized,
        negated,
    })
}

/// The text column `c` of `normalized_path(c)`.
fn normalized_path_of(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Option<usize> {
    let f = expr.downcast_ref::<ScalarFunctionExpr>()?;
    match (f.name(), f.args()) {
        ("normalized_path", [column]) => text_column(column, schema),
        _ => None,
    }
}

pub(super) fn like_regex(pattern: &str) -> Option<String> {
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

pub(super) fn function_node(f: &ScalarFunctionExpr, schema: &Schema) -> Option<Node> {
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
        ("regexp_like", [text, pattern]) => {
            let (column, normalized) = match normalized_path_of(text, schema) {
                Some(column) => (column, true),
                None => (text_column(text, schema)?, false),
            };
            regex_node(
                (column, schema),
                literal_text(pattern)?.to_owned(),
                normalized,
                false,
            )
        }
        _ => None,
    }
}

/// `f(columns) IN ('name', ..)`, `f(columns) = 'name'` (or `<>`, either side), `f(columns) IS
/// [NOT] NULL` for a classifier `f` of text columns ([`Classifier`]); a NULL or non-text literal
/// is left to DataFusion.
pub(super) fn classify_node(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Option<Node> {
    let call = |e: &Arc<dyn PhysicalExpr>| -> Option<(Classifier, Vec<usize>)> {
        let f = e.downcast_ref::<ScalarFunctionExpr>()?;
        let classifier = Classifier::named(f.name())?;
        if f.args().len() != classifier.arity() {
            return None;
        }
        let columns = (f.args().iter())
            .map(|a| text_column(a, schema))
            .collect::<Option<Vec<usize>>>()?;
        Some((classifier, columns))
    };
    let ((classifier, columns), test) = if let Some(i) = expr.downcast_ref::<InListExpr>() {
        let names = (i.list().iter())
            .map(|e| literal_text(e).map(String::from))
            .collect::<Option<Vec<String>>>()?;
        let negated = i.negated();
        (call(i.expr())?, Test::In { names, negated })
    } else if let Some(b) = expr.downcast_ref::<BinaryExpr>() {
        let negated = match b.op() {
            Operator::Eq => false,
            Operator::NotEq => true,
            _ => return None,
        };
        let (called, name) = match (call(b.left()), literal_text(b.right())) {
            (Some(called), Some(name)) => (called, name),
            _ => (call(b.right())?, literal_text(b.left())?),
        };
        let names = vec![name.to_owned()];
        (called, Test::In { names, negated })
    } else if let Some(n) = expr.downcast_ref::<IsNullExpr>() {
        (call(n.arg())?, Test::Null { negated: false })
    } else if let Some(n) = expr.downcast_ref::<IsNotNullExpr>() {
        (call(n.arg())?, Test::Null { negated: true })
    } else {
        return None;
    };
    Some(Node::Classify {
        classifier,
        columns,
        test,
    })
}
