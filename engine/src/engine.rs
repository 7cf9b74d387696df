//! The engine: feeds decoded batches through every rule's filter into its panes, advances
//! the watermark row by row, closes windows exactly where the watermark passes their end,
//! and turns each closed window's SQL result into alerts.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, UInt32Array};
use arrow::compute::{cast, take_record_batch};
use arrow::datatypes::{DataType, Int64Type, SchemaRef, TimeUnit, TimestampMillisecondType};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use gatewatch_ingest::schema::Column;
use gatewatch_rules::CompiledRule;
use serde_json::{Map, Value};

use crate::alert::{alert_id, format_rfc3339, Alert};
use crate::error::EngineError;
use crate::watermark::{PartitionKey, WatermarkTracker};
use crate::window::RuleWindows;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How far behind the newest event time an event may arrive and still be windowed.
    pub allowed_lateness_ms: i64,
    /// Evidence requests kept per alert.
    pub evidence_samples: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            allowed_lateness_ms: 5_000,
            evidence_samples: 5,
        }
    }
}

/// Counters the engine keeps; the run summary prints them.
#[derive(Debug, Default, Clone)]
pub struct EngineStats {
    /// Rows received.
    pub events: u64,
    /// Rows that arrived behind the watermark, per source.
    pub late_by_source: BTreeMap<String, u64>,
    /// Rows a rule kept but whose windows had all closed, per rule.
    pub late_by_rule: BTreeMap<String, u64>,
    /// Windows evaluated (windows with no buffered rows are not).
    pub windows_closed: u64,
    /// Alerts per rule.
    pub alerts_by_rule: BTreeMap<String, u64>,
}

struct RuleState {
    rule: CompiledRule,
    /// Positions of the rule's columns in the input batches.
    projection: Vec<usize>,
    windows: RuleWindows,
}

/// Runs a rule set over a stream of batches.
pub struct Engine {
    cfg: EngineConfig,
    rules: Vec<RuleState>,
    watermark: WatermarkTracker,
    stats: EngineStats,
    wm_before: Vec<i64>,
}

fn column_index(schema: &SchemaRef, column: Column) -> Result<usize, EngineError> {
    schema
        .index_of(column.name())
        .map_err(|_| EngineError::Internal(format!("input batches lack column {}", column.name())))
}

impl Engine {
    /// An engine for `rules` over batches of `input_schema`, which must hold every column the
    /// rules read.
    pub fn new(
        rules: Vec<CompiledRule>,
        input_schema: &SchemaRef,
        cfg: EngineConfig,
    ) -> Result<Self, EngineError> {
        let rules = rules
            .into_iter()
            .map(|rule| {
                let projection = rule
                    .columns
                    .iter()
                    .map(|c| column_index(input_schema, c))
                    .collect::<Result<Vec<_>, _>>()?;
                let windows = RuleWindows::new(rule.window_ms, rule.slide_ms);
                Ok(RuleState {
                    rule,
                    projection,
                    windows,
                })
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        Ok(Engine {
            watermark: WatermarkTracker::new(cfg.allowed_lateness_ms),
            cfg,
            rules,
            stats: EngineStats::default(),
            wm_before: Vec::new(),
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// The current pipeline watermark (epoch ms).
    pub fn watermark(&self) -> i64 {
        self.watermark.current()
    }

    /// Rows and Arrow bytes buffered in open windows.
    pub fn buffered(&self) -> (usize, usize) {
        self.rules.iter().fold((0, 0), |(r, b), s| {
            (
                r + s.windows.buffered_rows(),
                b + s.windows.buffered_bytes(),
            )
        })
    }

    /// Per partition, the lowest source offset still held by an open window: the commit point.
    /// Partitions with nothing held are absent (everything read so far may be committed).
    pub fn held_offsets(&self) -> BTreeMap<PartitionKey, i64> {
        let mut out: BTreeMap<PartitionKey, i64> = BTreeMap::new();
        for (_, pane) in self.rules.iter().flat_map(|s| s.windows.panes()) {
            for (k, o) in &pane.min_offset {
                out.entry(k.clone())
                    .and_modify(|m| *m = (*m).min(*o))
                    .or_insert(*o);
            }
        }
        out
    }

    /// Processes one batch from one source partition; returns the alerts of windows it closed.
    pub fn process(&mut self, batch: &RecordBatch) -> Result<Vec<Alert>, EngineError> {
        let mut alerts = Vec::new();
        if batch.num_rows() == 0 {
            return Ok(alerts);
        }
        let key = partition_key(batch)?;
        let times = event_times(batch)?;
        self.watermark
            .observe(&key, times.values(), &mut self.wm_before);
        self.stats.events += batch.num_rows() as u64;
        let late = self
            .wm_before
            .iter()
            .zip(times.values())
            .filter(|(wm, t)| *t < *wm)
            .count() as u64;
        if late > 0 {
            *self
                .stats
                .late_by_source
                .entry(key.0.to_string())
                .or_default() += late;
        }
        for state in &mut self.rules {
            ingest_rule(
                state,
                batch,
                &key,
                times.values(),
                &self.wm_before,
                &self.cfg,
                &mut self.stats,
                &mut alerts,
            )?;
        }
        let wm = self.watermark.current();
        for state in &mut self.rules {
            close_windows(state, wm, &self.cfg, &mut self.stats, &mut alerts)?;
        }
        Ok(alerts)
    }

    /// End of input: the final watermark closes every open window.
    pub fn finish(&mut self) -> Result<Vec<Alert>, EngineError> {
        self.watermark.finish();
        let mut alerts = Vec::new();
        for state in &mut self.rules {
            close_windows(state, i64::MAX, &self.cfg, &mut self.stats, &mut alerts)?;
        }
        Ok(alerts)
    }
}

fn partition_key(batch: &RecordBatch) -> Result<PartitionKey, EngineError> {
    let name = batch
        .column_by_name(Column::SourceName.name())
        .and_then(|a| a.as_string_opt::<i32>())
        .filter(|a| !a.is_empty())
        .map(|a| a.value(0))
        .ok_or_else(|| EngineError::Internal("batch without source_name".into()))?;
    let partition = batch
        .column_by_name(Column::SourcePartition.name())
        .and_then(|a| a.as_primitive_opt::<arrow::datatypes::Int32Type>())
        .map(|a| a.value(0))
        .ok_or_else(|| EngineError::Internal("batch without source_partition".into()))?;
    Ok((Arc::from(name), partition))
}

fn event_times(
    batch: &RecordBatch,
) -> Result<&arrow::array::PrimitiveArray<TimestampMillisecondType>, EngineError> {
    batch
        .column_by_name(Column::EventTime.name())
        .and_then(|a| a.as_primitive_opt::<TimestampMillisecondType>())
        .ok_or_else(|| EngineError::Internal("batch without a millisecond event_time".into()))
}

/// Filters a batch for one rule and files its rows into panes, closing windows in between
/// wherever the per-row watermark crosses a window end.
#[allow(clippy::too_many_arguments)]
fn ingest_rule(
    state: &mut RuleState,
    batch: &RecordBatch,
    key: &PartitionKey,
    times: &[i64],
    wm_before: &[i64],
    cfg: &EngineConfig,
    stats: &mut EngineStats,
    alerts: &mut Vec<Alert>,
) -> Result<(), EngineError> {
    let projected = batch.project(&state.projection)?;
    let mask = state.rule.filter_mask(&projected)?;
    let offsets = projected
        .column_by_name(Column::SourceOffset.name())
        .and_then(|a| a.as_primitive_opt::<Int64Type>())
        .ok_or_else(|| EngineError::Internal("batch without source_offset".into()))?
        .clone();
    let mut segment: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
    let mut late = 0u64;
    for i in 0..projected.num_rows() {
        if let Some(m) = &mask {
            if m.is_null(i) || !m.value(i) {
                continue;
            }
        }
        let wm = wm_before[i];
        if state.windows.would_close(wm) {
            flush_segment(state, &projected, &offsets, key, &mut segment)?;
            close_windows(state, wm, cfg, stats, alerts)?;
        }
        if state.windows.is_late(times[i], wm) {
            late += 1;
            continue;
        }
        segment
            .entry(state.windows.pane_start(times[i]))
            .or_default()
            .push(i as u32);
    }
    flush_segment(state, &projected, &offsets, key, &mut segment)?;
    if late > 0 {
        *stats
            .late_by_rule
            .entry(state.rule.id().to_owned())
            .or_default() += late;
    }
    Ok(())
}

fn flush_segment(
    state: &mut RuleState,
    projected: &RecordBatch,
    offsets: &Int64Array,
    key: &PartitionKey,
    segment: &mut BTreeMap<i64, Vec<u32>>,
) -> Result<(), EngineError> {
    for (pane, rows) in std::mem::take(segment) {
        let min_offset = rows
            .iter()
            .map(|&i| offsets.value(i as usize))
            .min()
            .unwrap_or(i64::MAX);
        let taken = if rows.len() == projected.num_rows() {
            projected.clone()
        } else {
            take_record_batch(projected, &UInt32Array::from(rows))?
        };
        state.windows.add(pane, taken, key, min_offset);
    }
    Ok(())
}

fn close_windows(
    state: &mut RuleState,
    wm: i64,
    cfg: &EngineConfig,
    stats: &mut EngineStats,
    alerts: &mut Vec<Alert>,
) -> Result<(), EngineError> {
    let mut closed = Vec::new();
    state
        .windows
        .close_until(wm, |start, rows| closed.push((start, rows)));
    for (start, rows) in closed {
        if rows.iter().all(|b| b.num_rows() == 0) {
            continue;
        }
        stats.windows_closed += 1;
        let result = state.rule.run_window(rows.clone())?;
        let mut window_alerts = alerts_from_result(&state.rule, start, &result, &rows, cfg)?;
        window_alerts.sort_by(|a, b| a.entity.cmp(&b.entity));
        if !window_alerts.is_empty() {
            *stats
                .alerts_by_rule
                .entry(state.rule.id().to_owned())
                .or_default() += window_alerts.len() as u64;
        }
        alerts.extend(window_alerts);
    }
    Ok(())
}

/// One row of a rule's SQL result: the alert's entity and what the SQL said about it.
struct ResultRow {
    entity: String,
    event_count: Option<i64>,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
    fields: Map<String, Value>,
}

/// What the engine works out itself for an alerted entity from the window's rows.
#[derive(Default)]
struct EntityRows {
    count: i64,
    first: i64,
    last: i64,
    evidence: Vec<Map<String, Value>>,
}

fn as_strings(array: &ArrayRef) -> Result<Vec<Option<String>>, EngineError> {
    let utf8 = cast(array, &DataType::Utf8)?;
    let s = utf8.as_string::<i32>();
    Ok((0..s.len())
        .map(|i| s.is_valid(i).then(|| s.value(i).to_owned()))
        .collect())
}

fn alerts_from_result(
    rule: &CompiledRule,
    window_start: i64,
    result: &[RecordBatch],
    rows: &[RecordBatch],
    cfg: &EngineConfig,
) -> Result<Vec<Alert>, EngineError> {
    let spec = &rule.spec;
    let mut pending: Vec<ResultRow> = Vec::new();
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
        let counts = ints("event_count", false)?;
        let firsts = ints("first_seen", true)?;
        let lasts = ints("last_seen", true)?;
        let extra: Vec<usize> = (0..schema.fields().len())
            .filter(|i| {
                !matches!(
                    schema.field(*i).name().as_str(),
                    "entity" | "event_count" | "first_seen" | "last_seen"
                )
            })
            .collect();
        for (r, entity) in entities.into_iter().enumerate() {
            let Some(entity) = entity else { continue };
            let mut fields = Map::new();
            for &i in &extra {
                fields.insert(
                    schema.field(i).name().clone(),
                    json_value(batch.column(i), r)?,
                );
            }
            let pick = |v: &Option<Vec<Option<i64>>>| v.as_ref().and_then(|v| v[r]);
            pending.push(ResultRow {
                entity,
                event_count: pick(&counts),
                first_seen: pick(&firsts),
                last_seen: pick(&lasts),
                fields,
            });
        }
    }
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let mut by_entity: HashMap<String, EntityRows> = pending
        .iter()
        .map(|p| (p.entity.clone(), EntityRows::default()))
        .collect();
    scan_entity_rows(rule, rows, cfg.evidence_samples, &mut by_entity)?;
    let window_end = window_start.saturating_add(rule.window_ms);
    Ok(pending
        .into_iter()
        .map(|row| {
            let seen = by_entity.get(&row.entity);
            Alert {
                id: alert_id(&spec.id, &row.entity, window_start),
                rule_id: spec.id.clone(),
                title: spec.title.clone(),
                severity: spec.severity.to_string(),
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
        .collect())
}

/// One pass over the window's rows for the alerted entities: counts, first/last seen and the
/// earliest few rows as evidence.
fn scan_entity_rows(
    rule: &CompiledRule,
    rows: &[RecordBatch],
    samples: usize,
    by_entity: &mut HashMap<String, EntityRows>,
) -> Result<(), EngineError> {
    let formats = FormatOptions::default();
    for batch in rows {
        let schema = batch.schema();
        let entities = as_strings(batch.column(schema.index_of(rule.entity_column.name())?))?;
        let times = event_times(batch)?;
        for (r, entity) in entities.iter().enumerate() {
            let Some(seen) = entity.as_ref().and_then(|e| by_entity.get_mut(e)) else {
                continue;
            };
            let t = times.value(r);
            if seen.count == 0 {
                seen.first = t;
                seen.last = t;
            }
            seen.first = seen.first.min(t);
            seen.last = seen.last.max(t);
            seen.count += 1;
            if seen.evidence.len() < samples {
                let mut row = Map::new();
                for c in gatewatch_rules::compile::EVIDENCE_COLUMNS {
                    let Ok(i) = schema.index_of(c.name()) else {
                        continue;
                    };
                    let col = batch.column(i);
                    if col.is_null(r) {
                        continue;
                    }
                    let v = if *c == Column::EventTime {
                        Value::String(format_rfc3339(t))
                    } else {
                        json_value_with(col, r, &formats)?
                    };
                    row.insert(c.name().to_owned(), v);
                }
                seen.evidence.push(row);
            }
        }
    }
    Ok(())
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
