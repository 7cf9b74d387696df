//! Sigma correlation rules (specification v2.1) as gatewatch window rules.
//!
//! A correlation becomes one rule whose row filter keeps the events of every detection rule it
//! references (directly or through referenced correlations), whose window is its `timespan`,
//! whose entity is its `group-by`, and whose window query measures the correlation and
//! compares the measure with its `condition`:
//!
//! | type | measure (alert field) | how |
//! |---|---|---|
//! | `event_count` | `event_count` | `count(*)` |
//! | `value_count` | `value_count` | `count(DISTINCT field)` (several fields: distinct combinations) |
//! | `value_sum`, `value_avg` | `value_sum`, `value_avg` | `sum`, `avg` of a numeric field |
//! | `value_percentile` | `value_percentile` | exact nearest-rank percentile (`percentile:`, default 50) |
//! | `temporal` | `rules_matched` | referenced rules seen in the window (default condition: all) |
//! | `temporal_ordered` | `rules_matched` | referenced rules seen *in order* (default: all) |
//!
//! **Windows.** `timespan` T is a sliding window: windows of length T start every slide S
//! (default: T/10, or the largest T/k with k ≤ 10 that is a whole number of seconds;
//! `--param ID.slide=30s`; `window: tumbling` in the rule: S = T). A window covers event
//! times `[start, start + T)`. So events less than T − S apart are always counted together,
//! events T or more apart never, and in between it depends on where the windows fall. Event
//! time is the log record's time, as for every rule; late events are counted and dropped as
//! for every rule.
//!
//! **Re-alerting.** Overlapping windows see the same events: an alert is repeated for the same
//! group only after `suppress_for` (default: the timespan; `--param ID.suppress_for=1h`).
//! Alert ids are derived from the rule, the group and the window, so reruns, restarts and
//! several instances give the same ids.
//!
//! **Groups.** `group-by` values are compared exactly (case-sensitive, as logged); events
//! missing a group-by field are not counted. `--param ID.group_case=lower` compares them
//! lowercased: the correlation then runs in one task (its rows cannot be split by value).
//! Grouping on several fields, on `aliases` (a different field per referenced rule), or on no
//! field runs likewise in one task unless one plain column is common to all rows.
//!
//! **Chains.** A referenced correlation *occurs* at each event at which its condition holds
//! over its own trailing timespan, evaluated on the events of the outer correlation's window
//! and group (the outer `group-by` applies, as the specification's note on chains says): a
//! chain's events all fall within the outer timespan. `generate: true` also runs the
//! referenced rules on their own; by default they only feed the correlation.

use std::collections::{BTreeMap, HashMap, HashSet};

use rsigma_parser::{
    ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType, WindowMode,
};
use serde_json::Value;

use super::{fields, rule_override, severity, Skipped};
use crate::compile::ParamOverride;
use crate::functions::sequence::{Child, Cmp, Measure, Node};
use crate::spec::{EntitySpec, ParamValue, RuleSpec, RuleTest, WindowSpec};
use gatewatch_model::duration::parse_positive_ms;

/// A correlation read from a file, resolved once every file of the rule set is read.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The file it came from.
    pub origin: String,
    /// The parsed rule.
    pub rule: CorrelationRule,
    /// Its tests (from the sibling `NAME.tests.toml`).
    pub tests: Vec<RuleTest>,
    /// Whether the file gives a `condition` (the parser fills in a default of its own for
    /// temporal types; gatewatch's default is "every referenced rule").
    pub has_condition: bool,
}

/// Per correlation document of a Sigma file, in order: whether it has a `condition`.
pub fn conditions_given(text: &str) -> Vec<bool> {
    use serde::Deserialize;
    yaml_serde::Deserializer::from_str(text)
        .filter_map(|d| yaml_serde::Value::deserialize(d).ok())
        .filter_map(|v| Some(v.get("correlation")?.get("condition").is_some()))
        .collect()
}

impl Pending {
    /// Its id (the file name when it has none).
    pub fn id(&self) -> String {
        self.rule.id.clone().unwrap_or_else(|| {
            let stem = std::path::Path::new(&self.origin)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!("sigma-{stem}-{}", self.rule.title.replace(' ', "-"))
        })
    }
}

/// What a reference resolves to.
enum Target<'a> {
    /// A detection rule that runs: its row filter.
    Rule(&'a str),
    /// Another correlation.
    Correlation(usize),
}

/// The rule set's names and ids, for resolving references.
struct Index<'a> {
    rules: HashMap<&'a str, &'a str>,
    skipped: HashMap<&'a str, &'a str>,
    correlations: HashMap<String, usize>,
    names: &'a HashMap<String, String>,
}

impl<'a> Index<'a> {
    fn target(&self, reference: &str) -> Result<Target<'a>, String> {
        let id = self.names.get(reference).map_or(reference, String::as_str);
        if let Some(f) = self.rules.get(id) {
            return Ok(Target::Rule(f));
        }
        if let Some(&i) = self.correlations.get(id) {
            return Ok(Target::Correlation(i));
        }
        match self.skipped.get(id) {
            Some(why) => Err(format!(
                "references rule {reference:?}, which is skipped: {why}"
            )),
            None => Err(format!(
                "references rule {reference:?}, which no loaded Sigma rule has as id or name \
                 (put the referenced rule in the same rule directory)"
            )),
        }
    }
}

/// A correlation tree turned into filters and an evaluator program.
#[derive(Default)]
struct Built {
    /// Row filters of the detection rules, one bit each.
    leaves: Vec<String>,
    /// Whether any referenced rule is itself a correlation.
    chained: bool,
    /// Detection rules and correlations it references (directly or not), by id.
    referenced: Vec<String>,
}

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
fn default_slide(span_ms: i64) -> i64 {
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
fn spec_of(
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
        super::provenance_fields(c.author.as_deref(), &c.references, &c.falsepositives);
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

/// Resolves every correlation against the rule set's specs: the correlation specs to compile,
/// correlations skipped with their reason, and the ids of rules that only feed correlations
/// (`generate: false`), which are disabled.
pub fn resolve(
    specs: &mut [RuleSpec],
    skipped: &mut Vec<Skipped>,
    names: &HashMap<String, String>,
    pending: &[Pending],
    overrides: &[ParamOverride],
) -> Vec<(String, RuleSpec)> {
    let skipped_reasons: Vec<(String, String)> = skipped
        .iter()
        .map(|s| (s.rule_id.clone(), s.reason.clone()))
        .collect();
    let index = Index {
        rules: specs
            .iter()
            .filter_map(|s| Some((s.id.as_str(), s.filter.as_deref()?)))
            .collect(),
        skipped: skipped_reasons
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect(),
        correlations: pending
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id(), i))
            .collect(),
        names,
    };
    let mut out = Vec::new();
    let mut feed_only: HashSet<String> = HashSet::new();
    let mut generated: HashSet<String> = HashSet::new();
    for (i, p) in pending.iter().enumerate() {
        match spec_of(pending, &index, i, overrides) {
            Ok(spec) => {
                for r in &p.rule.rules {
                    let id = names.get(r).cloned().unwrap_or_else(|| r.clone());
                    if p.rule.generate {
                        generated.insert(id);
                    } else {
                        feed_only.insert(id);
                    }
                }
                out.push((p.origin.clone(), spec));
            }
            Err(reason) => skipped.push(Skipped {
                origin: p.origin.clone(),
                rule_id: p.id(),
                title: p.rule.title.clone(),
                reason,
            }),
        }
    }
    for s in specs.iter_mut() {
        if feed_only.contains(&s.id) && !generated.contains(&s.id) {
            s.enabled = false;
        }
    }
    for (_, s) in out.iter_mut() {
        if feed_only.contains(&s.id) && !generated.contains(&s.id) {
            s.enabled = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_slide_is_a_tenth_or_the_nearest_whole_second_hop() {
        assert_eq!(default_slide(300_000), 30_000);
        assert_eq!(default_slide(3_600_000), 360_000);
        assert_eq!(default_slide(7_000), 1_000);
        assert_eq!(default_slide(1_000), 1_000);
        assert_eq!(default_slide(1_500), 1_500, "no whole-second hop: tumbling");
    }

    #[test]
    fn a_missing_condition_of_a_temporal_type_means_every_rule() {
        let text = "title: a\ncorrelation:\n    type: temporal\n---\ntitle: b\ncorrelation:\n    type: event_count\n    condition:\n        gte: 3\n";
        assert_eq!(conditions_given(text), vec![false, true]);
    }
}
