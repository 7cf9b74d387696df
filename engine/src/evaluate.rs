//! Turning a closed window's SQL result into alerts: entity, counts, evidence (from what the
//! window recorded per entity), and the rule's `on_window` script verdict. A result column
//! named `severity` grades each row (`CASE WHEN ... THEN 'low' ELSE 'medium' END AS severity`);
//! an `on_window` script's `severity` wins over it; a value that names no severity leaves the
//! rule's own and is kept in the alert as `invalid_severity`.

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMillisecondType};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use gatewatch_ingest::schema::Column;
use gatewatch_rules::script::{ScriptKind, WindowVerdict};
use gatewatch_rules::spec::Severity;
use gatewatch_rules::CompiledRule;
use serde_json::{Map, Value};

use crate::alert::{alert_id, format_rfc3339, Alert};
use crate::error::EngineError;
use crate::evidence::Seen;

/// Outcome of evaluating one window.
#[derive(Debug, Default)]
pub struct WindowAlerts {
    /// Alerts, sorted by entity.
    pub alerts: Vec<Alert>,
    /// `on_window` calls that failed (counted; the row gives no alert).
    pub script_errors: Vec<String>,
}

pub(crate) fn event_times(
    batch: &RecordBatch,
) -> Result<&arrow::array::PrimitiveArray<TimestampMillisecondType>, EngineError> {
    batch
        .column_by_name(Column::EventTime.name())
        .and_then(|a| a.as_primitive_opt::<TimestampMillisecondType>())
        .ok_or_else(|| EngineError::Internal("batch without a millisecond event_time".into()))
}

fn dynamic_to_json(d: &rhai::Dynamic) -> Value {
    if let Ok(b) = d.as_bool() {
        return Value::Bool(b);
    }
    if let Ok(i) = d.as_int() {
        return Value::from(i);
    }
    if let Ok(f) = d.as_float() {
        return serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number);
    }
    if d.is_unit() {
        return Value::Null;
    }
    if let Some(a) = d.clone().try_cast::<rhai::Array>() {
        return Value::Array(a.iter().map(dynamic_to_json).collect());
    }
    if let Some(m) = d.clone().try_cast::<rhai::Map>() {
        return Value::Object(
            m.iter()
                .map(|(k, v)| (k.to_string(), dynamic_to_json(v)))
                .collect(),
        );
    }
    Value::String(d.to_string())
}

/// One row of a rule's SQL result: the alert's entity and what the SQL said about it.
struct ResultRow {
    entity: String,
    event_count: Option<i64>,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
    fields: Map<String, Value>,
    severity: Option<String>,
    title: Option<String>,
}

fn as_strings(array: &ArrayRef) -> Result<Vec<Option<String>>, EngineError> {
    let utf8 = cast(array, &DataType::Utf8)?;
    let s = utf8.as_string::<i32>();
    Ok((0..s.len())
        .map(|i| s.is_valid(i).then(|| s.value(i).to_owned()))
        .collect())
}

/// Builds the alerts of one closed window from its SQL result; `seen` says what the window
/// saw of an entity (counts, times, evidence: see [`crate::evidence`]).
pub fn alerts_from_result(
    rule: &CompiledRule,
    window_start: i64,
    result: &[RecordBatch],
    seen: &dyn Fn(&str) -> Option<Seen>,
) -> Result<WindowAlerts, EngineError> {
    let spec = &rule.spec;
    let mut pending: Vec<ResultRow> = Vec::new();
    let mut script_errors = Vec::new();
    let window_script = rule
        .script
        .as_ref()
        .filter(|s| s.kind == ScriptKind::PerWindow);
    for batch in result {
        let schema = batch.schema();
        let entity_idx = schema.index_of("entity")?;
        let entities = as_strings(batch.column(entity_idx))?;
        let ints = |name: &str, ts: bool| -> Result<Option<Vec<Option<i64>>>, EngineError> {
            let Ok(i) = schema.index_of(name) else {
                return Ok(None);
            };
            let mut col = batch.column(i).clone();
            if ts {
                col = cast(&col, &DataType::Timestamp(TimeUnit::Millisecond, None))?;
            }
            let col = cast(&col, &DataType::Int64)?;
            let a = col.as_primitive::<Int64Type>();
            Ok(Some(
                (0..a.len())
                    .map(|r| a.is_valid(r).then(|| a.value(r)))
                    .collect(),
            ))
        };
        let severities = match schema.index_of("severity") {
            Ok(i) => Some(as_strings(batch.column(i))?),
            Err(_) => None,
        };
        let counts = ints("event_count", false)?;
        let firsts = ints("first_seen", true)?;
        let lasts = ints("last_seen", true)?;
        let extra: Vec<usize> = (0..schema.fields().len())
            .filter(|i| {
                !matches!(
                    schema.field(*i).name().as_str(),
                    "entity" | "event_count" | "first_seen" | "last_seen" | "severity"
                )
            })
            .collect();
        for (r, entity) in entities.into_iter().enumerate() {
            let Some(entity) = entity else { continue };
            let mut severity = severities.as_ref().and_then(|s| s[r].clone());
            let mut title = None;
            let mut script_fields = Map::new();
            if let Some(script) = window_script {
                match script.on_window(script.row_map(batch, r)) {
                    Ok(WindowVerdict::Drop) => continue,
                    Ok(WindowVerdict::Keep(extra)) => {
                        for (k, v) in extra {
                            match k.as_str() {
                                "severity" => severity = Some(v.to_string()),
                                "title" => title = Some(v.to_string()),
                                _ => {
                                    script_fields.insert(k.to_string(), dynamic_to_json(&v));
                                }
                            }
                        }
                    }
                    Err(e) => {
                        script_errors.push(e);
                        continue;
                    }
                }
            }
            let mut fields = spec.alert_fields.clone();
            for &i in &extra {
                fields.insert(
                    schema.field(i).name().clone(),
                    json_value(batch.column(i), r)?,
                );
            }
            let pick = |v: &Option<Vec<Option<i64>>>| v.as_ref().and_then(|v| v[r]);
            fields.extend(script_fields);
            let severity = severity.and_then(|s| match Severity::parse(&s) {
                Some(valid) => Some(valid.to_string()),
                None => {
                    // The rule's own severity stands; the value it asked for stays visible.
                    fields.insert("invalid_severity".into(), Value::String(s));
                    None
                }
            });
            pending.push(ResultRow {
                entity,
                event_count: pick(&counts),
                first_seen: pick(&firsts),
                last_seen: pick(&lasts),
                fields,
                severity,
                title,
            });
        }
    }
    if pending.is_empty() {
        return Ok(WindowAlerts {
            alerts: Vec::new(),
            script_errors,
        });
    }
    let window_end = window_start.saturating_add(rule.window_ms);
    let mut alerts: Vec<Alert> = pending
        .into_iter()
        .map(|row| {
            let seen = seen(&row.entity);
            let seen = seen.as_ref();
            Alert {
                id: alert_id(&spec.id, &row.entity, window_start),
                rule_id: spec.id.clone(),
                title: row.title.unwrap_or_else(|| spec.title.clone()),
                severity: row.severity.unwrap_or_else(|| spec.severity.to_string()),
                entity_type: spec.entity.entity_type.clone(),
                window_start,
                window_end,
                first_seen: row
                    .first_seen
                    .or(seen.map(|s| s.first))
                    .unwrap_or(window_start),
                last_seen: row
                    .last_seen
                    .or(seen.map(|s| s.last))
                    .unwrap_or(window_start),
                event_count: row.event_count.or(seen.map(|s| s.count)).unwrap_or(0),
                evidence: seen.map(|s| s.evidence.clone()).unwrap_or_default(),
                tags: spec.tags.clone(),
                fields: row.fields,
                entity: row.entity,
            }
        })
        .collect();
    alerts.sort_by(|a, b| a.entity.cmp(&b.entity));
    Ok(WindowAlerts {
        alerts,
        script_errors,
    })
}

fn json_value(col: &ArrayRef, row: usize) -> Result<Value, EngineError> {
    json_value_with(col, row, &FormatOptions::default())
}

/// A cell as JSON: numbers as numbers, timestamps as RFC 3339, anything else as display text.
fn json_value_with(
    col: &ArrayRef,
    row: usize,
    formats: &FormatOptions,
) -> Result<Value, EngineError> {
    if col.is_null(row) {
        return Ok(Value::Null);
    }
    let dt = col.data_type();
    if dt.is_integer() {
        let v = cast(&col.slice(row, 1), &DataType::Int64)?;
        return Ok(Value::from(v.as_primitive::<Int64Type>().value(0)));
    }
    if dt.is_floating() {
        let v = cast(&col.slice(row, 1), &DataType::Float64)?;
        let f = v.as_primitive::<arrow::datatypes::Float64Type>().value(0);
        return Ok(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number));
    }
    if let DataType::Timestamp(..) = dt {
        let v = cast(
            &col.slice(row, 1),
            &DataType::Timestamp(TimeUnit::Millisecond, None),
        )?;
        let v = cast(&v, &DataType::Int64)?;
        return Ok(Value::String(format_rfc3339(
            v.as_primitive::<Int64Type>().value(0),
        )));
    }
    if let DataType::Boolean = dt {
        return Ok(Value::Bool(col.as_boolean().value(row)));
    }
    if let Some(s) = col.as_string_opt::<i32>() {
        return Ok(Value::String(s.value(row).to_owned()));
    }
    let f = ArrayFormatter::try_new(col.as_ref(), formats)?;
    Ok(Value::String(f.value(row).to_string()))
}
