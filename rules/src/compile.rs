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
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::collect;
use datafusion::prelude::{SessionConfig, SessionContext};
use gatewatch_ingest::schema::{event_schema, Column, ColumnSet};

use crate::error::RuleError;
use crate::spec::{ParamValue, RuleSpec};
use crate::table::WindowTable;

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
    filter: Option<Arc<dyn PhysicalExpr>>,
    ctx: SessionContext,
    table: Arc<WindowTable>,
    plan: LogicalPlan,
    rt: tokio::runtime::Runtime,
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
    SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1))
}

/// DataFusion plans and runs asynchronously but does no I/O here, so each rule drives its
/// futures on a small current-thread runtime of its own. Rules are therefore compiled and run
/// from plain threads, never from inside another tokio runtime.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().build()
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
    /// Compiles a parsed rule, applying the overrides that name it (or no rule).
    pub fn compile(
        mut spec: RuleSpec,
        origin: &str,
        overrides: &[ParamOverride],
    ) -> Result<CompiledRule, RuleError> {
        let invalid = |spec: &RuleSpec, message: String| RuleError::Invalid {
            origin: origin.to_owned(),
            rule_id: spec.id.clone(),
            message,
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
        let (window_ms, slide_ms) = spec.window_ms().map_err(|m| invalid(&spec, m))?;
        let entity_column = Column::from_name(&spec.entity.column).ok_or_else(|| {
            invalid(
                &spec,
                format!(
                    "entity column {:?} is not an events column",
                    spec.entity.column
                ),
            )
        })?;

        let mut columns: ColumnSet = EVIDENCE_COLUMNS.iter().copied().collect();
        columns.insert(entity_column);
        columns = columns.union(ColumnSet::required());

        let rt = runtime().map_err(|e| invalid(&spec, format!("cannot start a runtime: {e}")))?;
        let full = DFSchema::try_from(event_schema().as_ref().clone())
            .map_err(|e| invalid(&spec, e.to_string()))?;
        let planning = rule_context();
        let filter_expr = match &spec.filter {
            Some(text) => {
                let text = substitute(text, &spec.params).map_err(|m| invalid(&spec, m))?;
                let expr = planning
                    .parse_sql_expr(&text, &full)
                    .map_err(|e| invalid(&spec, format!("filter: {e}")))?;
                for c in expr.column_refs() {
                    match Column::from_name(&c.name) {
                        Some(col) => columns.insert(col),
                        None => {
                            return Err(invalid(
                                &spec,
                                format!("filter: unknown column {:?}", c.name),
                            ))
                        }
                    }
                }
                Some(expr)
            }
            None => None,
        };
        let sql = substitute(&spec.sql, &spec.params).map_err(|m| invalid(&spec, m))?;

        // First plan against the full schema to learn which columns the SQL reads.
        planning
            .register_table("events", Arc::new(WindowTable::new(event_schema())))
            .map_err(|e| invalid(&spec, e.to_string()))?;
        let state = planning.state();
        let full_plan = rt
            .block_on(state.create_logical_plan(&sql))
            .and_then(|p| state.optimize(&p))
            .map_err(|e| invalid(&spec, format!("sql: {e}")))?;
        scan_columns(&full_plan, &mut columns).map_err(|e| invalid(&spec, e.to_string()))?;
        if full_plan
            .schema()
            .field_with_unqualified_name("entity")
            .is_err()
        {
            return Err(invalid(
                &spec,
                "sql: the query must return a column named `entity` (e.g. SELECT client_ip AS entity ...)".into(),
            ));
        }

        // Then plan for real against a table holding only those columns.
        let ctx = rule_context();
        let table = Arc::new(WindowTable::new(columns.schema()));
        ctx.register_table("events", table.clone())
            .map_err(|e| invalid(&spec, e.to_string()))?;
        let state = ctx.state();
        let plan = rt
            .block_on(state.create_logical_plan(&sql))
            .and_then(|p| state.optimize(&p))
            .map_err(|e| invalid(&spec, format!("sql: {e}")))?;

        let rule_schema = DFSchema::try_from(columns.schema().as_ref().clone())
            .map_err(|e| invalid(&spec, e.to_string()))?;
        let filter = filter_expr
            .map(|e| ctx.create_physical_expr(e, &rule_schema))
            .transpose()
            .map_err(|e| invalid(&spec, format!("filter: {e}")))?;

        Ok(CompiledRule {
            spec,
            origin: origin.to_owned(),
            window_ms,
            slide_ms,
            entity_column,
            columns,
            filter,
            ctx,
            table,
            plan,
            rt,
        })
    }

    /// The rule's id.
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// Evaluates the filter on a batch that holds exactly [`Self::columns`]; `None` keeps every row.
    pub fn filter_mask(&self, batch: &RecordBatch) -> Result<Option<BooleanArray>, RuleError> {
        let Some(filter) = &self.filter else {
            return Ok(None);
        };
        let exec = |e: DataFusionError| RuleError::Execution {
            rule_id: self.spec.id.clone(),
            source: e,
        };
        let value = filter.evaluate(batch).map_err(exec)?;
        let array = value.into_array(batch.num_rows()).map_err(exec)?;
        let mask = array
            .as_any()
            .downcast_ref::<BooleanArray>()
            .cloned()
            .ok_or_else(|| {
                exec(DataFusionError::Plan(
                    "filter is not a boolean expression".into(),
                ))
            })?;
        Ok(Some(mask))
    }

    /// Runs the SQL over one window's rows (batches with [`Self::columns`]) and returns its result.
    pub fn run_window(&self, rows: Vec<RecordBatch>) -> Result<Vec<RecordBatch>, RuleError> {
        let exec = |e: DataFusionError| RuleError::Execution {
            rule_id: self.spec.id.clone(),
            source: e,
        };
        self.table.set_rows(rows);
        let state = self.ctx.state();
        let result = self.rt.block_on(async {
            let physical = state.create_physical_plan(&self.plan).await?;
            collect(physical, self.ctx.task_ctx()).await
        });
        self.table.set_rows(Vec::new());
        result.map_err(exec)
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
    fn overrides_parse() {
        let o: ParamOverride = "cs.min_failures=30".parse().unwrap();
        assert_eq!(o.rule.as_deref(), Some("cs"));
        assert_eq!(o.name, "min_failures");
        assert!("novalue".parse::<ParamOverride>().is_err());
    }
}
