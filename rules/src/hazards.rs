//! Operations of a rule that fail on some input values: an integer division or remainder by an
//! expression that is not a constant (a client logs a latency, a size or a count of 0), a `CAST`
//! of a text column to a number or a time (a client writes anything in a header). At run time
//! the rows they fail on are left out of the rule and counted (see [`crate::eval_errors`]);
//! `gatewatch rules lint` names them beforehand, with the guard to write.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::DFSchema;
use datafusion::logical_expr::{BinaryExpr, Cast, Expr, ExprSchemable, LogicalPlan, Operator};
use gatewatch_ingest::schema::Column;

/// The hazards of a rule's filter (over `schema`) and query, one message each, prefixed with
/// the part they are in.
pub fn hazards(filter: Option<&Expr>, schema: &DFSchema, plan: &LogicalPlan) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(f) = filter {
        in_expr("filter", f, schema, &mut out);
    }
    let _ = plan.apply_with_subqueries(|node| {
        // A node's expressions read its input's columns.
        let inputs = node.inputs();
        let schema = inputs.first().map_or(node.schema(), |i| i.schema());
        node.apply_expressions(|e| {
            in_expr("sql", e, schema, &mut out);
            Ok(TreeNodeRecursion::Continue)
        })?;
        Ok(TreeNodeRecursion::Continue)
    });
    // The query's columns are qualified by its one table; the rule's author wrote them bare.
    let mut out: Vec<String> = out.into_iter().map(|m| m.replace("events.", "")).collect();
    out.sort();
    out.dedup();
    out
}

fn in_expr(part: &str, expr: &Expr, schema: &DFSchema, out: &mut Vec<String>) {
    // Floating-point division by 0 gives infinity or NaN, not an error.
    let float = |e: &Expr| e.get_type(schema).is_ok_and(|t| t.is_floating());
    let _ = expr.apply(|e| {
        match e {
            Expr::BinaryExpr(BinaryExpr { left, op, right })
                if matches!(op, Operator::Divide | Operator::Modulo)
                    && !guarded(right)
                    && !(float(left) || float(right)) =>
            {
                out.push(format!(
                    "{part}: `{}` fails on a row where `{}` is 0 (integer arithmetic): write `{} {op} NULLIF({}, 0)`",
                    e.human_display(),
                    right.human_display(),
                    left.human_display(),
                    right.human_display(),
                ));
            }
            Expr::Cast(Cast { expr: inner, field })
                if is_text_column(inner)
                    && (field.data_type().is_numeric() || field.data_type().is_temporal()) =>
            {
                let data_type = field.data_type();
                let inner = inner.human_display();
                out.push(format!(
                    "{part}: `CAST({inner} AS {data_type})` fails on a row whose text is not a {data_type} value: write `TRY_CAST({inner} AS ...)`",
                ));
            }
            _ => {}
        }
        Ok(TreeNodeRecursion::Continue)
    });
}

/// A divisor that cannot be 0 by surprise: a non-zero constant, `NULLIF(x, ...)`, a `CASE`,
/// or a cast of one of those. (A literal 0 fails on every row.)
fn guarded(divisor: &Expr) -> bool {
    match divisor {
        Expr::Literal(v, _) => {
            datafusion::common::ScalarValue::new_zero(&v.data_type()).is_ok_and(|zero| *v != zero)
        }
        Expr::Case(_) => true,
        Expr::ScalarFunction(f) => f.func.name() == "nullif",
        Expr::Cast(Cast { expr, .. }) => guarded(expr),
        Expr::TryCast(t) => guarded(&t.expr),
        Expr::Alias(a) => guarded(&a.expr),
        _ => false,
    }
}

/// Whether `e` is an event column holding text.
fn is_text_column(e: &Expr) -> bool {
    match e {
        Expr::Column(c) => Column::from_name(&c.name)
            .is_some_and(|col| col.data_type() == arrow::datatypes::DataType::Utf8),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::compile_all;

    fn warnings(filter: &str, sql: &str) -> Vec<String> {
        let text = format!(
            "id = \"h\"\ntitle = \"t\"\nseverity = \"low\"\nfilter = {filter:?}\nsql = {sql:?}\n\
             [window]\nsize = \"1m\"\n[entity]\ntype = \"ip\"\ncolumn = \"client_ip\"\n"
        );
        compile_all(vec![("h.toml".into(), text)], &[]).unwrap()[0]
            .warnings
            .clone()
    }

    #[test]
    fn unguarded_divisions_and_text_casts_are_named_with_their_guard() {
        let w = warnings(
            "1000 / latency_ms > 1 AND CAST(username AS BIGINT) > 0 AND status / 0 > 1",
            "SELECT client_ip AS entity, sum(response_bytes) % count(DISTINCT path) AS r FROM events GROUP BY client_ip",
        );
        assert_eq!(w.len(), 4, "{w:#?}");
        assert!(
            w.iter()
                .any(|m| m.starts_with("filter: `status / Int64(0)`")
                    || m.starts_with("filter: `status / 0`")),
            "a literal 0 fails every row: {w:#?}"
        );
        assert!(
            w.iter()
                .any(|m| m.starts_with("filter: `1000 / latency_ms`")
                    && m.contains("NULLIF(latency_ms, 0)")),
            "{w:#?}"
        );
        assert!(
            w.iter()
                .any(|m| m.starts_with("filter: `CAST(username AS Int64)`")
                    && m.contains("TRY_CAST")),
            "{w:#?}"
        );
        assert!(
            w.iter().any(|m| m.starts_with("sql: ") && m.contains('%')),
            "{w:#?}"
        );
    }

    #[test]
    fn guarded_or_constant_divisors_and_safe_casts_are_not() {
        let w = warnings(
            "1000 / NULLIF(latency_ms, 0) > 1 AND latency_ms / 2 > 1 AND TRY_CAST(username AS BIGINT) > 0 AND CAST(status AS VARCHAR) = '200'",
            "SELECT client_ip AS entity, count(*) / CASE WHEN count(DISTINCT path) = 0 THEN 1 ELSE count(DISTINCT path) END AS r, count(*) * 1.0 / count(DISTINCT path) AS f FROM events GROUP BY client_ip",
        );
        assert!(w.is_empty(), "{w:#?}");
    }

    #[test]
    fn the_built_in_pack_has_none() {
        let rules = compile_all(crate::builtin_files(), &[]).unwrap();
        for r in rules {
            assert!(r.warnings.is_empty(), "{}: {:#?}", r.id(), r.warnings);
        }
    }
}
