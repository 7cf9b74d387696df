//! A correlation's rule spec: its condition, its measure, its row filters and the window query
//! that evaluates the referenced rules' occurrences (see the parent module for the semantics).

use std::collections::{BTreeMap, HashMap};

use rsigma_parser::{
    ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType, WindowMode,
};
use serde_json::Value;

use super::super::{fields, rule_override, severity};
use super::{Built, Index, Pending, Target};
use crate::compile::ParamOverride;
use crate::functions::sequence::{Child, Cmp, Measure, Node};
use crate::spec::{EntitySpec, ParamValue, RuleSpec, WindowSpec};
use gatewatch_model::duration::parse_positive_ms;

fn cmp_of(op: ConditionOperator) -> Cmp {
    match op {
        ConditionOperator::Lt => Cmp::Lt,
        ConditionOperator::Lte => Cmp::Lte,
        ConditionOperator::Gt => Cmp::Gt,
        ConditionOperator::Gte => Cmp::Gte,
        ConditionOperator::Eq => Cmp::Eq,
        ConditionOperator::Neq => Cmp::Neq,
    }
}

/// The condition (default for temporal types: every referenced rule), the value fields and
/// the percentile.
type Condition = (Vec<(Cmp, f64)>, Vec<String>, u8);

fn condition(p: &Pending) -> Result<Condition, String> {
    let c = &p.rule;
    let temporal = matches!(
        c.correlation_type,
        CorrelationType::Temporal | CorrelationType::TemporalOrdered
    );
    match &c.condition {
        CorrelationCondition::Threshold {
            predicates,
            field,
            percentile,
        } => {
            let mut preds: Vec<(Cmp, f64)> = predicates
                .iter()
                .map(|&(o, v)| (cmp_of(o), v as f64))
                .collect();
            if temporal && !p.has_condition {
                preds = vec![(Cmp::Gte, c.rules.len() as f64)];
            }
            if preds.is_empty() {
                return Err("the condition has no comparison (gt, gte, lt, lte, eq, neq)".into());
            }
            let p = percentile.unwrap_or(50);
            if p > 100 {
                return Err(format!("percentile {p} is not within 0-100"));
            }
            Ok((preds, field.clone().unwrap_or_default(), p as u8))
        }
        CorrelationCondition::Extended(e) => Err(format!(
            "a boolean condition over rule names (`{e}`) is not supported yet: use a count \
             (`gte: N`) of the referenced rules"
        )),
    }
}

fn measure_of(c: &CorrelationRule, percentile: u8, inner: bool) -> Result<Measure, String> {
    Ok(match c.correlation_type {
        CorrelationType::EventCount => Measure::EventCount,
        CorrelationType::ValueCount => Measure::ValueCount,
        CorrelationType::Temporal => Measure::Temporal,
        CorrelationType::TemporalOrdered => Measure::TemporalOrdered,
        CorrelationType::ValuePercentile if !inner => Measure::Percentile(percentile),
        CorrelationType::ValueMedian if !inner => Measure::Percentile(50),
        // At the root, sums and averages are plain SQL aggregates: no evaluator measure.
        CorrelationType::ValueSum | CorrelationType::ValueAvg if !inner => Measure::EventCount,
        // Inside a chain a percentile would be re-sorted at every event (quadratic in the
        // window's events, which an attacker controls).
        CorrelationType::ValueSum
        | CorrelationType::ValueAvg
        | CorrelationType::ValuePercentile
        | CorrelationType::ValueMedian => {
            return Err(format!(
                "{} cannot be referenced by another correlation yet",
                c.correlation_type.as_str()
            ))
        }
    })
}

/// Builds the evaluator node of correlation `at`, assigning leaf bits in `built`.
fn build(
    pending: &[Pending],
    index: &Index<'_>,
    at: usize,
    stack: &mut Vec<usize>,
    built: &mut Built,
) -> Result<Node, String> {
    if stack.contains(&at) {
        return Err(format!(
            "references itself through a chain of correlations ({})",
            stack
                .iter()
                .map(|&i| pending[i].id())
                .collect::<Vec<_>>()
                .join(" -> ")
        ));
    }
    stack.push(at);
    let c = &pending[at].rule;
    let (cond, _, p) = condition(&pending[at])?;
    let mut children = Vec::new();
    for r in &c.rules {
        match index.target(r)? {
            Target::Rule(filter) => {
                let bit = match built.leaves.iter().position(|f| f == filter) {
                    Some(b) => b,
                    None => {
                        built.leaves.push(filter.to_owned());
                        built.leaves.len() - 1
                    }
                };
                if bit >= 63 {
                    return Err("references more than 63 detection rules".into());
                }
                built.referenced.push(r.clone());
                children.push(Child::Rule(bit as u32));
            }
            Target::Correlation(i) => {
                built.chained = true;
                built.referenced.push(pending[i].id());
                let node = build(pending, index, i, stack, built)?;
                children.push(Child::Correlation(Box::new(node)));
            }
        }
    }
    stack.pop();
    Ok(Node {
        measure: measure_of(c, p, !stack.is_empty())?,
        children,
        span_ms: (c.timespan.seconds as i64).saturating_mul(1000),
        condition: cond,
    })
}

/// A group-by or value field: its SQL and whether it is a plain column.
fn field_sql(name: &str) -> Result<(String, bool), String> {
    let f = fields::lookup(name)?;
    let plain = gatewatch_ingest::schema::Column::from_name(f.sql).is_some();
    Ok((f.sql.to_owned(), plain))
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The default slide: T/k for the smallest k in 10, 9, ... 1 giving whole seconds.
pub(super) fn default_slide(span_ms: i64) -> i64 {
    (1..=10)
        .rev()
        .map(|k| span_ms / k)
        .find(|s| s % 1000 == 0 && s * (span_ms / s) == span_ms && *s > 0)
        .unwrap_or(span_ms)
}

fn fmt_ms(ms: i64) -> String {
    format!("{}s", ms / 1000)
}

/// The rule spec of correlation `at`.
pub(super) fn spec_of(
    pending: &[Pending],
    index: &Index<'_>,
    at: usize,
    overrides: &[ParamOverride],
) -> Result<RuleSpec, String> {
    let p = &pending[at];
    let c = &p.rule;
    let id = p.id();
    let mut built = Built::default();
    let node = build(pending, index, at, &mut Vec::new(), &mut built)?;
    let (cond, value_fields, _) = condition(p)?;
    if c.window == WindowMode::Session {
        return Err("`window: session` is not supported: use sliding or tumbling".into());
    }
    let span_ms = node.span_ms;
    if span_ms < 1000 {
        return Err(format!(
            "timespan {} is under a second",
            c.timespan.original
        ));
    }
    let slide = match rule_override(overrides, &id, "slide") {
        Some(s) => parse_positive_ms(s).map_err(|m| format!("slide: {m}"))?,
        None if c.window == WindowMode::Tumbling => span_ms,
        None => default_slide(span_ms),
    };
    let suppress = rule_override(overrides, &id, "suppress_for")
        .map(str::to_owned)
        .unwrap_or_else(|| fmt_ms(span_ms));
    parse_positive_ms(&suppress).map_err(|m| format!("suppress_for: {m}"))?;
    let lower = match rule_override(overrides, &id, "group_case").unwrap_or("exact") {
        "exact" => false,
        "lower" => true,
        other => return Err(format!("group_case {other:?}: use exact or lower")),
    };

    // Group-by: a column, or per referenced rule a column (aliases).
    let aliases: HashMap<&str, &HashMap<String, String>> = c
        .aliases
        .iter()
        .map(|a| (a.alias.as_str(), &a.mapping))
        .collect();
    let mut groups: Vec<(String, String)> = Vec::new(); // (sigma name, SQL)
    let mut key_column = None;
    for g in &c.group_by {
        let sql = match aliases.get(g.as_str()) {
            Some(mapping) => {
                if built.chained {
                    return Err("aliases in a chain of correlations are not supported".into());
                }
                let mut arms = String::new();
                for r in &c.rules {
                    let field = mapping.get(r).ok_or_else(|| {
                        format!("alias {g:?} names no field for referenced rule {r:?}")
                    })?;
                    let filter = match index.target(r)? {
                        Target::Rule(f) => f,
                        Target::Correlation(_) => unreachable_chain(),
                    };
                    let (col, _) = field_sql(field)?;
                    arms.push_str(&format!(" WHEN ({filter}) THEN CAST({col} AS VARCHAR)"));
                }
                format!("(CASE{arms} END)")
            }
            None => {
                let (col, plain) = field_sql(g)?;
                if plain && key_column.is_none() && !lower {
                    key_column = Some(col.clone());
                }
                format!("CAST({col} AS VARCHAR)")
            }
        };
        groups.push((g.clone(), if lower { format!("lower({sql})") } else { sql }));
    }
    let one_group = key_column.is_none();

    // The measure.
    let code = built
        .leaves
        .iter()
        .enumerate()
        .map(|(i, f)| format!("(CASE WHEN ({f}) THEN {} ELSE 0 END)", 1i64 << i))
        .collect::<Vec<_>>()
        .join(" + ");
    let value_sql = |numeric: bool| -> Result<String, String> {
        if value_fields.is_empty() {
            return Err(format!(
                "{} needs `field` in its condition",
                c.correlation_type.as_str()
            ));
        }
        let mut parts = Vec::new();
        for f in &value_fields {
            let fm = fields::lookup(f)?;
            if numeric && fm.kind != fields::FieldKind::Int {
                return Err(format!("field {f:?} is not numeric"));
            }
            parts.push(format!("CAST({} AS VARCHAR)", fm.sql));
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            format!("concat_ws(chr(31), {})", parts.join(", "))
        })
    };
    let program = |n: &Node| quote_str(&serde_json::to_string(n).unwrap_or_default());
    let (name, expr) = match (c.correlation_type, built.chained) {
        (CorrelationType::EventCount, false) => ("event_count", "count(*)".to_owned()),
        (CorrelationType::ValueCount, false) => (
            "value_count",
            format!("count(DISTINCT {})", value_sql(false)?),
        ),
        (CorrelationType::ValueSum, false) => (
            "value_sum",
            format!("sum(CAST({} AS DOUBLE))", value_sql(true)?),
        ),
        (CorrelationType::ValueAvg, false) => (
            "value_avg",
            format!("avg(CAST({} AS DOUBLE))", value_sql(true)?),
        ),
        (CorrelationType::Temporal, false) => (
            "rules_matched",
            format!(
                "({})",
                (0..built.leaves.len())
                    .map(|i| format!("max(CASE WHEN ({}) THEN 1 ELSE 0 END)", built.leaves[i]))
                    .collect::<Vec<_>>()
                    .join(" + ")
            ),
        ),
        (CorrelationType::ValuePercentile | CorrelationType::ValueMedian, _) => (
            "value_percentile",
            format!(
                "sigma_percentile(event_time, CAST({code} AS BIGINT), {}, {})",
                value_sql(true)?,
                program(&node)
            ),
        ),
        (CorrelationType::ValueSum | CorrelationType::ValueAvg, true) => {
            return Err(format!(
                "{} over another correlation is not supported",
                c.correlation_type.as_str()
            ))
        }
        (t, _) => (
            match t {
                CorrelationType::EventCount => "event_count_matched",
                CorrelationType::ValueCount => "value_count",
                _ => "rules_matched",
            },
            format!(
                "sigma_sequence(event_time, CAST({code} AS BIGINT), {}, {})",
                match t {
                    CorrelationType::ValueCount => value_sql(false)?,
                    _ => "CAST(NULL AS VARCHAR)".to_owned(),
                },
                program(&node)
            ),
        ),
    };
    let having = cond
        .iter()
        .map(|(op, v)| format!("{expr} {} {v}", op.sql()))
        .collect::<Vec<_>>()
        .join(" AND ");
    let group_cols = groups
        .iter()
        .map(|(_, s)| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let entity = match groups.len() {
        0 => "'all'".to_owned(),
        1 => groups[0].1.clone(),
        _ => format!("concat_ws(' ', {group_cols})"),
    };
    let mut select = vec![
        format!("{entity} AS entity"),
        "count(*) AS event_count".into(),
        "min(event_time) AS first_seen".into(),
        "max(event_time) AS last_seen".into(),
    ];
    for (g, s) in &groups {
        select.push(format!("{s} AS {}", quote_ident(g)));
    }
    if name != "event_count" {
        select.push(format!("{expr} AS {name}"));
    }
    let group_by = if groups.is_empty() {
        String::new()
    } else {
        format!("\nGROUP BY {group_cols}")
    };
    let sql = format!(
        "SELECT {}\nFROM events{group_by}\nHAVING {having}",
        select.join(",\n       ")
    );
    let mut filter = format!(
        "({})",
        built
            .leaves
            .iter()
            .map(|f| format!("({f})"))
            .collect::<Vec<_>>()
            .join(" OR ")
    );
    for (_, s) in &groups {
        filter.push_str(&format!(" AND {s} IS NOT NULL"));
    }

    let mut alert_fields =
        super::super::provenance_fields(c.author.as_deref(), &c.references, &c.falsepositives);
    alert_fields.insert(
        "correlation_type".into(),
        Value::String(c.correlation_type.as_str().into()),
    );
    alert_fields.insert("correlated_rules".into(), Value::from(built.referenced));
    let mut params = BTreeMap::new();
    params.insert("slide".to_owned(), ParamValue::Str(fmt_ms(slide)));
    params.insert("suppress_for".to_owned(), ParamValue::Str(suppress.clone()));
    params.insert(
        "group_case".to_owned(),
        ParamValue::Str(if lower { "lower" } else { "exact" }.into()),
    );
    let first = c.group_by.first().map(String::as_str).unwrap_or("all");
    Ok(RuleSpec {
        title: c.title.clone(),
        description: c.description.clone().unwrap_or_default(),
        severity: severity(c.level.as_ref()),
        tags: c.tags.clone(),
        enabled: true,
        filter: Some(filter),
        sql: Some(sql),
        script: None,
        suppress_for: Some(suppress),
        tests: p.tests.clone(),
        params,
        window: WindowSpec {
            size: fmt_ms(span_ms),
            slide: (slide != span_ms).then(|| fmt_ms(slide)),
        },
        entity: EntitySpec {
            entity_type: match key_column.as_deref() {
                Some("client_ip") => "ip".into(),
                _ => first.to_owned(),
            },
            column: key_column.unwrap_or_else(|| "client_ip".into()),
        },
        alert_fields,
        verbatim: true,
        one_group,
        id,
    })
}

fn unreachable_chain() -> &'static str {
    // Aliases are refused above for chains, so every referenced rule is a detection rule.
    "FALSE"
}
