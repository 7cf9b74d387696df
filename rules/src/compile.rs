//! Rule compilation: parameters substituted, the filter turned into a physical expression
//! and the SQL planned once against the window table, and the columns the rule reads
//! collected so that ingest decodes only those.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::BooleanArray;
use arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::DFSchema;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use gatewatch_ingest::schema::{event_schema, Column, ColumnSet};

use crate::aggregate::AggPlan;
use crate::error::RuleError;
use crate::filter::{RuleFilter, StatefulFilter};
use crate::plan::{block_on, WindowPlan};
use crate::script::{referenced_columns, RuleScript, ScriptKind, ScriptLimits};
use crate::spec::{key_position, position_in_value, ParamValue, RuleSpec};
use crate::table::WindowTable;
use gatewatch_model::duration::parse_positive_ms;

/// A DataFusion planning error pointed at the field it concerns, and at the offending name
/// inside it when DataFusion names one ("No field named foo").
fn sql_error(
    spec: &RuleSpec,
    origin: &str,
    text: &str,
    key: &str,
    label: &str,
    e: DataFusionError,
) -> RuleError {
    let full = e.to_string();
    // DataFusion lists every valid column on a second line; one line per error reads better in
    // `file:line:col: message` output, and `gatewatch schema` lists the columns.
    let message = match full.split_once("\nValid fields are") {
        Some((first, _)) => format!("{first} (`gatewatch schema` lists the columns)"),
        None => full.replace('\n', " "),
    };
    let needle = regex::Regex::new(r"No field named ([^\s.]+\.)?([A-Za-z0-9_]+)")
        .ok()
        .and_then(|re| {
            re.captures(&message)
                .and_then(|c| c.get(2))
                .map(|m| m.as_str().to_owned())
        })
        .unwrap_or_default();
    let (line, col) = if needle.is_empty() {
        key_position(text, key)
    } else {
        position_in_value(text, key, &needle)
    };
    RuleError::Invalid {
        origin: origin.to_owned(),
        line,
        col,
        rule_id: spec.id.clone(),
        message: format!("{label}: {message}"),
    }
}

/// Columns every rule keeps for the evidence samples of its alerts.
pub const EVIDENCE_COLUMNS: &[Column] = &[
    Column::EventTime,
    Column::ClientIp,
    Column::Method,
    Column::Path,
    Column::Status,
    Column::UserAgent,
    Column::Username,
];

/// Every column a set of rules reads, plus the always-decoded ones: what ingest must decode.
pub fn columns_read<'a>(rules: impl IntoIterator<Item = &'a CompiledRule>) -> ColumnSet {
    rules
        .into_iter()
        .fold(ColumnSet::required(), |acc, r| acc.union(r.columns))
}

/// A `--param [RULE.]NAME=VALUE` override.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamOverride {
    /// Rule id it applies to; `None` for every rule declaring the parameter.
    pub rule: Option<String>,
    /// Parameter name.
    pub name: String,
    /// Value text, parsed as the declared parameter type.
    pub value: String,
}

impl std::str::FromStr for ParamOverride {
    type Err = RuleError;
    fn from_str(spec: &str) -> Result<Self, RuleError> {
        let err = |message: &str| RuleError::Param {
            spec: spec.to_owned(),
            message: message.to_owned(),
        };
        let (key, value) = spec
            .split_once('=')
            .ok_or_else(|| err("expected [RULE.]NAME=VALUE"))?;
        let (rule, name) = match key.split_once('.') {
            Some((r, n)) => (Some(r.to_owned()), n.to_owned()),
            None => (None, key.to_owned()),
        };
        if name.is_empty() {
            return Err(err("empty parameter name"));
        }
        Ok(ParamOverride {
            rule,
            name,
            value: value.to_owned(),
        })
    }
}

/// A rule ready to run: plans built, columns known.
pub struct CompiledRule {
    /// The rule as written (with overrides applied to `params`).
    pub spec: RuleSpec,
    /// Where it came from (file path or `builtin:NAME`).
    pub origin: String,
    /// Window length in ms.
    pub window_ms: i64,
    /// Window slide in ms (= `window_ms` for tumbling windows).
    pub slide_ms: i64,
    /// The column alerts are keyed on.
    pub entity_column: Column,
    /// Every column the rule reads, in schema order: the schema of its buffered rows.
    pub columns: ColumnSet,
    /// `columns.schema()`, built once: the engine projects every batch to it.
    pub schema: arrow::datatypes::SchemaRef,
    /// No repeat alert for an entity within this much event time (0: no suppression).
    pub suppress_ms: i64,
    /// The rule's script, if any.
    pub script: Option<RuleScript>,
    /// Changes whenever the rule's text or parameters change: hot reload keeps the window state
    /// of rules whose fingerprint is unchanged.
    pub fingerprint: u64,
    /// The row filter (see [`crate::filter`]).
    pub filter: RuleFilter,
    /// The window query, planned once (see [`crate::plan`]).
    pub window: WindowPlan,
    /// The query split at its lowest aggregate, when it has that shape (see
    /// [`crate::aggregate`]): windows then hold partial aggregates instead of rows.
    pub agg: Option<AggPlan>,
    /// Rows and windows this rule could not evaluate (see [`crate::eval_errors`]).
    pub errors: std::sync::Arc<crate::eval_errors::EvalErrors>,
    /// Operations of its filter or query that fail on some input values (see
    /// [`crate::hazards`]): `rules lint` prints them.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for CompiledRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledRule")
            .field("id", &self.spec.id)
            .field("origin", &self.origin)
            .finish()
    }
}

fn substitute(text: &str, params: &BTreeMap<String, ParamValue>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or("unclosed ${ in rule text")?;
        let name = &after[..end];
        let value = params
            .get(name)
            .ok_or_else(|| format!("unknown parameter ${{{name}}}: declare it under [params]"))?;
        out.push_str(&value.to_sql());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn rule_context() -> SessionContext {
    // One partition: a window's rows are few after the filter, and a single partition keeps
    // result order and ids independent of thread scheduling.
    // No dynamic filters: a join (or a top-k) fills them from the rows it runs on and pushes
    // them into the scans below, while every window runs the one physical plan again with a new
    // scan (`plan::WindowPlan`); a window's rows are few, so they would save nothing either. The
    // umbrella key turns off the join, top-k and aggregate ones with it.
    let config = SessionConfig::new()
        .with_target_partitions(1)
        .set_bool("datafusion.optimizer.enable_dynamic_filter_pushdown", false);
    let ctx = SessionContext::new_with_config(config);
    crate::functions::udf::register_all(&ctx);
    ctx
}

fn scan_columns(plan: &LogicalPlan, out: &mut ColumnSet) -> Result<(), DataFusionError> {
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            for field in scan.projected_schema.fields() {
                if let Some(c) = Column::from_name(field.name()) {
                    out.insert(c);
                }
            }
            for f in &scan.filters {
                for c in f.column_refs() {
                    if let Some(c) = Column::from_name(&c.name) {
                        out.insert(c);
                    }
                }
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(())
}

impl CompiledRule {
    /// Compiles a parsed rule, applying the overrides that name it (or no rule). `text` is the
    /// rule file's text, used to point errors at the right line.
    pub fn compile(
        mut spec: RuleSpec,
        origin: &str,
        text: &str,
        overrides: &[ParamOverride],
    ) -> Result<CompiledRule, RuleError> {
        let invalid_at =
            |spec: &RuleSpec, (line, col): (usize, usize), message: String| RuleError::Invalid {
                origin: origin.to_owned(),
                line,
                col,
                rule_id: spec.id.clone(),
                message,
            };
        let invalid = |spec: &RuleSpec, key: &str, message: String| {
            invalid_at(spec, key_position(text, key), message)
        };
        for o in overrides
            .iter()
            .filter(|o| o.rule.as_deref().is_none_or(|r| r == spec.id))
        {
            let Some(declared) = spec.params.get(&o.name) else {
                if o.rule.is_some() {
                    return Err(RuleError::Param {
                        spec: format!("{}.{}={}", spec.id, o.name, o.value),
                        message: format!("rule {} has no parameter {:?}", spec.id, o.name),
                    });
                }
                continue;
            };
            let value = declared
                .parse_like(&o.value)
                .map_err(|message| RuleError::Param {
                    spec: format!("{}={}", o.name, o.value),
                    message,
                })?;
            spec.params.insert(o.name.clone(), value);
        }
        let (window_ms, slide_ms) = spec.window_ms().map_err(|m| invalid(&spec, "size", m))?;
        let suppress_ms = match &spec.suppress_for {
            Some(d) => parse_positive_ms(d).map_err(|m| invalid(&spec, "suppress_for", m))?,
            None => 0,
        };
        let entity_column = Column::from_name(&spec.entity.column).ok_or_else(|| {
            invalid(
                &spec,
                "column",
                format!(
                    "entity column {:?} is not an events column (see `gatewatch schema`)",
                    spec.entity.column
                ),
            )
        })?;

        let script = match &spec.script {
            Some(source) => Some(
                RuleScript::compile(source, ScriptLimits::default()).map_err(|e| {
                    let (line, col) = key_position(text, "script");
                    // The script starts on the line after `script = """`.
                    let at = if e.line > 0 {
                        (line + e.line, e.col)
                    } else {
                        (line, col)
                    };
                    invalid_at(&spec, at, format!("script: {}", e.message))
                })?,
            ),
            None => None,
        };
        match (script.as_ref().map(|s| s.kind), spec.sql.is_some()) {
            (Some(ScriptKind::PerEvent), true) => {
                return Err(invalid(
                    &spec,
                    "script",
                    "`on_event` scripts replace `sql`: remove one of them".into(),
                ))
            }
            (Some(ScriptKind::PerWindow), false) => {
                return Err(invalid(
                    &spec,
                    "script",
                    "`on_window` post-processes the rows of `sql`, which is missing".into(),
                ))
            }
            _ => {}
        }

        let mut columns: ColumnSet = EVIDENCE_COLUMNS.iter().copied().collect();
        columns.insert(entity_column);
        columns = columns.union(ColumnSet::required());
        if let Some(source) = &spec.script {
            columns = columns.union(referenced_columns(source).into_iter().collect());
        }

        let full = DFSchema::try_from(event_schema().as_ref().clone())
            .map_err(|e| invalid(&spec, "id", e.to_string()))?;
        let planning = rule_context();
        let filter_expr = match &spec.filter {
            Some(filter_text) => {
                let filter_text = match spec.verbatim {
                    true => filter_text.clone(),
                    false => substitute(filter_text, &spec.params)
                        .map_err(|m| invalid(&spec, "filter", m))?,
                };
                let expr = planning
                    .parse_sql_expr(&filter_text, &full)
                    .map_err(|e| sql_error(&spec, origin, text, "filter", "filter", e))?;
                for c in expr.column_refs() {
                    match Column::from_name(&c.name) {
                        Some(col) => columns.insert(col),
                        None => {
                            return Err(invalid_at(
                                &spec,
                                position_in_value(text, "filter", &c.name),
                                format!(
                                    "filter: unknown column {:?} (see `gatewatch schema`)",
                                    c.name
                                ),
                            ))
                        }
                    }
                }
                Some(expr)
            }
            None => None,
        };
        let sql = match &spec.sql {
            Some(sql) if spec.verbatim => sql.clone(),
            Some(sql) => substitute(sql, &spec.params).map_err(|m| invalid(&spec, "sql", m))?,
            // An on_event rule: one alert per entity with flagged events in the window.
            None => format!(
                "SELECT {c} AS entity, count(*) AS event_count, min(event_time) AS first_seen, \
                 max(event_time) AS last_seen FROM events WHERE {c} IS NOT NULL GROUP BY {c}",
                c = entity_column.name()
            ),
        };

        // First plan against the full schema to learn which columns the SQL reads: only the
        // optimizer rule that prunes columns is needed for that (it keeps every column an
        // expression names; the other rules can only drop more). The full optimizer runs once,
        // on the real plan below: a third of the pack's start-up was the first plan's.
        planning
            .register_table("events", Arc::new(WindowTable::new(event_schema())))
            .map_err(|e| invalid(&spec, "sql", e.to_string()))?;
        let state = datafusion::execution::SessionStateBuilder::new_from_existing(planning.state())
            .with_optimizer_rules(vec![Arc::new(
                datafusion::optimizer::optimize_projections::OptimizeProjections::new(),
            )])
            .build();
        let full_plan = block_on(state.create_logical_plan(&sql))
            .and_then(|p| p)
            .and_then(|p| state.optimize(&p))
            .map_err(|e| sql_error(&spec, origin, text, "sql", "sql", e))?;
        scan_columns(&full_plan, &mut columns).map_err(|e| invalid(&spec, "sql", e.to_string()))?;
        if let Some(name) = crate::filter::learning_call_in(&full_plan) {
            return Err(invalid_at(
                &spec,
                position_in_value(text, "sql", &name),
                format!(
                    "sql: {name}(...) learns from rows in the order they come and keeps its state per task: call it in `filter`, not in `sql` (which runs once per closed window)"
                ),
            ));
        }
        if full_plan
            .schema()
            .field_with_unqualified_name("entity")
            .is_err()
        {
            return Err(invalid(
                &spec,
                "sql",
                "sql: the query must return a column named `entity` (e.g. SELECT client_ip AS entity ...)".into(),
            ));
        }

        // Then plan for real against a table holding only those columns.
        let ctx = rule_context();
        let table = Arc::new(WindowTable::new(columns.schema()));
        ctx.register_table("events", table.clone())
            .map_err(|e| invalid(&spec, "sql", e.to_string()))?;
        let state = ctx.state();
        let plan = block_on(state.create_logical_plan(&sql))
            .and_then(|p| p)
            .and_then(|p| state.optimize(&p))
            .map_err(|e| sql_error(&spec, origin, text, "sql", "sql", e))?;
        let physical = block_on(state.create_physical_plan(&plan))
            .and_then(|p| p)
            .map_err(|e| sql_error(&spec, origin, text, "sql", "sql", e))?;
        let agg = AggPlan::split(&physical, ctx.task_ctx())
            .map_err(|e| sql_error(&spec, origin, text, "sql", "sql", e))?;
        let window = WindowPlan::new(physical, ctx.task_ctx(), columns.schema());

        let warnings = crate::hazards::hazards(filter_expr.as_ref(), &full, &full_plan);
        let rule_schema = DFSchema::try_from(columns.schema().as_ref().clone())
            .map_err(|e| invalid(&spec, "filter", e.to_string()))?;
        let conjuncts = match (filter_expr, spec.verbatim) {
            (None, _) => Vec::new(),
            // A compiled Sigma detection runs as one expression on the whole batch, so that its
            // multi-pattern scans are shared with the other rules (see `sigma::matcher`).
            (Some(e), true) => vec![e],
            (Some(e), false) => datafusion::logical_expr::utils::split_conjunction_owned(e),
        };
        let filter = RuleFilter::new(&ctx, conjuncts, rule_schema)
            .map_err(|e| sql_error(&spec, origin, text, "filter", "filter", e))?;

        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(&(text, format!("{:?}", spec.params)), &mut hasher);
        Ok(CompiledRule {
            fingerprint: std::hash::Hasher::finish(&hasher),
            spec,
            origin: origin.to_owned(),
            window_ms,
            slide_ms,
            suppress_ms,
            entity_column,
            schema: columns.schema(),
            columns,
            script,
            filter,
            window,
            agg,
            errors: Default::default(),
            warnings,
        })
    }

    /// The rule's id.
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// The same rule evaluated the simple way: windows keep the filtered rows and the whole
    /// query runs at close. For differential tests and for comparing the two in benchmarks.
    pub fn without_partial_aggregates(mut self) -> Self {
        self.agg = None;
        self
    }

    /// Evaluates the stateless part of the filter on a batch that holds exactly
    /// [`Self::columns`]; `None` keeps every row. A rule with a stateful filter also needs
    /// [`Self::stateful_filter`]'s answer.
    ///
    /// A row the filter cannot evaluate (its error comes from the row's values: a division by
    /// a zero the client sent, a cast of its text) is not kept, and is counted in
    /// [`Self::errors`]; the other rows of the batch are answered as usual.
    pub fn filter_mask(&self, batch: &RecordBatch) -> Result<Option<BooleanArray>, RuleError> {
        match self.filter.stateless_mask(batch) {
            Ok(mask) => Ok(mask),
            Err(e) => Ok(Some(self.mask_around_errors(batch, e))),
        }
    }

    /// The filter's answer on `batch` with the rows it fails on answered `false` (counted).
    fn mask_around_errors(&self, batch: &RecordBatch, error: DataFusionError) -> BooleanArray {
        use crate::eval_errors::{between, failing_positions};
        let n = batch.num_rows();
        let mask_of =
            |r: std::ops::Range<usize>| self.filter.stateless_mask(&batch.slice(r.start, r.len()));
        let failing = failing_positions(n, &mut |r| mask_of(r).is_ok());
        let mut bits = vec![false; n];
        let mut failed = failing.len() as u64;
        for r in between(n, &failing) {
            match mask_of(r.clone()) {
                Ok(None) => bits[r].fill(true),
                Ok(Some(m)) => {
                    for (i, b) in r.zip(m.iter()) {
                        bits[i] = b.unwrap_or(false);
                    }
                }
                // Not reproducible on its own: the whole range is left out.
                Err(_) => failed += r.len() as u64,
            }
        }
        if failed > 0 {
            self.errors.rows_failed(self.id(), failed, &error);
        }
        BooleanArray::from(bits)
    }

    /// A fresh instance of the filter's stateful part (one per task), if it has one.
    pub fn stateful_filter(&self) -> Result<Option<StatefulFilter>, RuleError> {
        self.filter.instantiate().map_err(|e| self.exec_error(e))
    }

    /// Wraps a DataFusion error raised while running this rule.
    pub fn exec_error(&self, e: DataFusionError) -> RuleError {
        RuleError::Execution {
            rule_id: self.spec.id.clone(),
            source: e,
        }
    }

    /// Runs the SQL over one window's rows (batches with [`Self::columns`]) and returns its result.
    pub fn run_window(&self, rows: Vec<RecordBatch>) -> Result<Vec<RecordBatch>, RuleError> {
        self.window.run(rows).map_err(|e| self.exec_error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_quotes_and_reports_unknown_names() {
        let mut p = BTreeMap::new();
        p.insert("re".to_string(), ParamValue::Str("(?i)/login".into()));
        p.insert("n".to_string(), ParamValue::Int(20));
        assert_eq!(
            substitute("regexp_like(path, ${re}) AND c >= ${n}", &p).unwrap(),
            "regexp_like(path, '(?i)/login') AND c >= 20"
        );
        assert!(substitute("${nope}", &p)
            .unwrap_err()
            .contains("unknown parameter ${nope}"));
    }

    #[test]
    fn learning_helpers_are_refused_in_sql_and_point_at_the_call() {
        for call in [
            "endpoint_is_new(method, route_template, event_time, 0)",
            "technology_unserved(host, server_technology(path), status, response_bytes, path, client_ip)",
        ] {
            let text = format!(
                "id = \"s\"\ntitle = \"t\"\nseverity = \"low\"\n\
                 sql = \"SELECT client_ip AS entity FROM events WHERE {call} GROUP BY client_ip\"\n\
                 [window]\nsize = \"1m\"\n[entity]\ntype = \"ip\"\ncolumn = \"client_ip\"\n"
            );
            let e = crate::compile_all(vec![("s.toml".into(), text)], &[]).unwrap_err();
            let m = e.to_string();
            let name = &call[..call.find('(').unwrap()];
            assert!(
                m.contains(&format!("sql: {name}(...) learns"))
                    && m.contains("call it in `filter`"),
                "{m}"
            );
            assert!(m.starts_with("s.toml:4:"), "points at the call: {m}");
        }
    }

    /// Every window runs the one physical plan again, so no operator may push filters built
    /// from one window's rows into the scans (see `rule_context`).
    #[test]
    fn window_plans_have_no_dynamic_filters() {
        let ctx = rule_context();
        let state = ctx.state();
        let o = &state.config().options().optimizer;
        assert!(!o.enable_dynamic_filter_pushdown);
        assert!(!o.enable_join_dynamic_filter_pushdown);
        assert!(!o.enable_topk_dynamic_filter_pushdown);
        assert!(!o.enable_aggregate_dynamic_filter_pushdown);
    }

    #[test]
    fn overrides_parse() {
        let o: ParamOverride = "cs.min_failures=30".parse().unwrap();
        assert_eq!(o.rule.as_deref(), Some("cs"));
        assert_eq!(o.name, "min_failures");
        assert!("novalue".parse::<ParamOverride>().is_err());
    }
}
