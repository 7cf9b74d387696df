//! The engine: feeds decoded batches through every rule's filter (and `on_event` script) into
//! its panes, advances the watermark row by row, closes windows exactly where the watermark
//! passes their end, and turns each closed window into alerts (see [`crate::evaluate`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, AsArray, BooleanArray, Int64Array, RecordBatch, UInt32Array,
};
use arrow::compute::take_record_batch;
use arrow::datatypes::{Int32Type, Int64Type};
use gatewatch_ingest::schema::Column;
use gatewatch_rules::script::{row_to_map, ScriptKind};
use gatewatch_rules::CompiledRule;

use crate::alert::Alert;
use crate::error::EngineError;
use crate::evaluate::{alerts_from_result, event_times};
use crate::traffic::{TrafficRows, TrafficStats};
use crate::watermark::{PartitionKey, WatermarkTracker};
use crate::window::RuleWindows;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How far behind the newest event time an event may arrive and still be windowed.
    pub allowed_lateness_ms: i64,
    /// Evidence requests kept per alert.
    pub evidence_samples: usize,
    /// A partition that sent nothing for this long (wall clock) stops holding the watermark
    /// back; `None`: partitions always count.
    pub partition_idle_ms: Option<i64>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            allowed_lateness_ms: 5_000,
            evidence_samples: 5,
            partition_idle_ms: None,
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
    /// Alerts held back by `suppress_for`, per rule.
    pub suppressed_by_rule: BTreeMap<String, u64>,
    /// Script calls that failed or hit a sandbox limit, per rule.
    pub script_errors_by_rule: BTreeMap<String, u64>,
}

/// Script errors are logged one by one up to this many per rule, then only counted.
const SCRIPT_ERROR_LOG_LIMIT: u64 = 5;

struct RuleState {
    rule: CompiledRule,
    windows: RuleWindows,
    /// Per entity, the window start of its last alert (for `suppress_for`).
    last_alert: HashMap<String, i64>,
}

impl RuleState {
    fn new(rule: CompiledRule) -> Self {
        let windows = RuleWindows::new(rule.window_ms, rule.slide_ms);
        RuleState {
            rule,
            windows,
            last_alert: HashMap::new(),
        }
    }
}

/// Runs a rule set over a stream of batches.
pub struct Engine {
    cfg: EngineConfig,
    rules: Vec<RuleState>,
    watermark: WatermarkTracker,
    stats: EngineStats,
    wm_before: Vec<i64>,
    /// Per-minute traffic statistics, when a sink wants them.
    traffic: Option<TrafficStats>,
}

impl Engine {
    /// An engine for `rules`. Input batches carry the canonical columns the rules read (see
    /// [`projection`](Self::projection)); a column a batch lacks reads as null.
    pub fn new(rules: Vec<CompiledRule>, cfg: EngineConfig) -> Self {
        Engine {
            watermark: WatermarkTracker::new(cfg.allowed_lateness_ms)
                .with_partition_idle(cfg.partition_idle_ms),
            cfg,
            rules: rules.into_iter().map(RuleState::new).collect(),
            stats: EngineStats::default(),
            wm_before: Vec::new(),
            traffic: None,
        }
    }

    /// Also keeps per-minute traffic statistics (see [`crate::traffic`]); their columns join
    /// the projection and their open minutes hold offsets like open windows do.
    pub fn with_traffic_stats(mut self) -> Self {
        self.traffic = Some(TrafficStats::new());
        self
    }

    /// Traffic rows of minutes closed since the last call (empty without traffic statistics).
    pub fn take_traffic(&mut self) -> TrafficRows {
        self.traffic
            .as_mut()
            .map(TrafficStats::take_closed)
            .unwrap_or_default()
    }

    /// Rows the traffic statistics dropped because their minute had closed.
    pub fn traffic_late(&self) -> u64 {
        self.traffic.as_ref().map_or(0, TrafficStats::late)
    }

    /// Every column the loaded rules read: what ingest must decode.
    pub fn projection(&self) -> gatewatch_ingest::ColumnSet {
        let rules = gatewatch_rules::compile::columns_read(self.rules.iter().map(|s| &s.rule));
        match self.traffic {
            Some(_) => rules.union(crate::traffic::columns()),
            None => rules,
        }
    }

    /// Ids of the loaded rules, in load order.
    pub fn rule_ids(&self) -> Vec<String> {
        self.rules.iter().map(|s| s.rule.id().to_owned()).collect()
    }

    /// Swaps in a new rule set (hot reload). Rules whose fingerprint (text and parameters) is
    /// unchanged keep their open windows and suppression state; new or changed rules start
    /// empty; removed rules' open windows are dropped without alerts.
    pub fn replace_rules(&mut self, rules: Vec<CompiledRule>) {
        let mut old: HashMap<(String, u64), RuleState> = self
            .rules
            .drain(..)
            .map(|s| ((s.rule.id().to_owned(), s.rule.fingerprint), s))
            .collect();
        self.rules = rules
            .into_iter()
            .map(
                |rule| match old.remove(&(rule.id().to_owned(), rule.fingerprint)) {
                    Some(state) => state,
                    None => RuleState::new(rule),
                },
            )
            .collect();
    }

    /// Partitions given to this instance (Kafka rebalance): each holds the watermark back until
    /// it sends data or goes idle, so one partition's backlog cannot make another's late.
    pub fn assign_partitions(&mut self, keys: &[PartitionKey]) {
        for key in keys {
            self.watermark.assign(key);
        }
    }

    /// Partitions taken away (Kafka rebalance): their rows leave every open window, and they no
    /// longer count for the watermark. Their next owner re-reads them from the committed offset,
    /// which is never past what those windows held, and re-creates the same alerts.
    pub fn drop_partitions(&mut self, keys: &[PartitionKey]) {
        for state in &mut self.rules {
            for key in keys {
                state.windows.drop_partition(key);
            }
        }
        for key in keys {
            self.watermark.remove(key);
            if let Some(t) = self.traffic.as_mut() {
                t.drop_partition(key);
            }
        }
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

    /// Distinct entity values (of each rule's entity column) in open windows, summed over rules.
    /// Walks all buffered rows: for benchmarks and diagnostics, not the hot path.
    pub fn buffered_entities(&self) -> usize {
        self.rules
            .iter()
            .map(|s| {
                let mut seen = std::collections::HashSet::new();
                for (_, pane) in s.windows.panes() {
                    for b in &pane.batches {
                        if let Some(col) = b.column_by_name(s.rule.entity_column.name()) {
                            if let Ok(strings) =
                                arrow::compute::cast(col, &arrow::datatypes::DataType::Utf8)
                            {
                                seen.extend(
                                    strings
                                        .as_string::<i32>()
                                        .iter()
                                        .flatten()
                                        .map(str::to_owned),
                                );
                            }
                        }
                    }
                }
                seen.len()
            })
            .sum()
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
        if let Some(t) = &self.traffic {
            t.held_offsets(&mut out);
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
        if let Some(t) = self.traffic.as_mut() {
            t.observe(batch, &key, times.values(), &self.wm_before)?;
        }
        for state in &mut self.rules {
            let mut ctx = Ctx {
                cfg: &self.cfg,
                stats: &mut self.stats,
                alerts: &mut alerts,
            };
            ingest_rule(
                state,
                batch,
                &key,
                times.values(),
                &self.wm_before,
                &mut ctx,
            )?;
        }
        let wm = self.watermark.current();
        self.close_all(wm, &mut alerts)?;
        Ok(alerts)
    }

    /// No input for `idle_ms` of wall-clock time: let event time move on by as much, so open
    /// windows still close and alerts are not held forever. Returns the alerts of closed windows.
    pub fn advance_idle(&mut self, idle_ms: i64) -> Result<Vec<Alert>, EngineError> {
        let mut alerts = Vec::new();
        if self.watermark.advance_idle(idle_ms) {
            let wm = self.watermark.current();
            self.close_all(wm, &mut alerts)?;
        }
        Ok(alerts)
    }

    /// End of input: the final watermark closes every open window.
    pub fn finish(&mut self) -> Result<Vec<Alert>, EngineError> {
        self.watermark.finish();
        let mut alerts = Vec::new();
        self.close_all(i64::MAX, &mut alerts)?;
        Ok(alerts)
    }

    fn close_all(&mut self, wm: i64, alerts: &mut Vec<Alert>) -> Result<(), EngineError> {
        if let Some(t) = self.traffic.as_mut() {
            t.close_until(wm);
        }
        for state in &mut self.rules {
            let mut ctx = Ctx {
                cfg: &self.cfg,
                stats: &mut self.stats,
                alerts,
            };
            close_windows(state, wm, &mut ctx)?;
        }
        Ok(())
    }
}

/// What rule processing writes to besides the rule's own state.
struct Ctx<'a> {
    cfg: &'a EngineConfig,
    stats: &'a mut EngineStats,
    alerts: &'a mut Vec<Alert>,
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
        .and_then(|a| a.as_primitive_opt::<Int32Type>())
        .map(|a| a.value(0))
        .ok_or_else(|| EngineError::Internal("batch without source_partition".into()))?;
    Ok((Arc::from(name), partition))
}

/// The rule's columns out of a batch; columns the batch lacks (decoded before a hot reload
/// widened the projection) are null.
fn project_for(rule: &CompiledRule, batch: &RecordBatch) -> Result<RecordBatch, EngineError> {
    let columns = rule
        .columns
        .iter()
        .map(|c| {
            batch
                .column_by_name(c.name())
                .cloned()
                .unwrap_or_else(|| new_null_array(&c.data_type(), batch.num_rows()))
        })
        .collect();
    Ok(RecordBatch::try_new(rule.schema.clone(), columns)?)
}

fn count_script_error(rule_id: &str, error: &str, stats: &mut EngineStats) {
    let n = stats
        .script_errors_by_rule
        .entry(rule_id.to_owned())
        .or_default();
    *n += 1;
    if *n <= SCRIPT_ERROR_LOG_LIMIT {
        tracing::warn!(
            rule = rule_id,
            "script failed, event or alert skipped: {error}"
        );
    }
}

/// The rule's filter, then its `on_event` script on the rows the filter kept.
fn rule_mask(
    state: &RuleState,
    projected: &RecordBatch,
    stats: &mut EngineStats,
) -> Result<Option<BooleanArray>, EngineError> {
    let mask = state.rule.filter_mask(projected)?;
    let Some(script) = state
        .rule
        .script
        .as_ref()
        .filter(|s| s.kind == ScriptKind::PerEvent)
    else {
        return Ok(mask);
    };
    let keep: BooleanArray = (0..projected.num_rows())
        .map(|i| {
            let passes = mask.as_ref().is_none_or(|m| m.is_valid(i) && m.value(i));
            Some(
                passes && {
                    match script.on_event(row_to_map(projected, i)) {
                        Ok(flag) => flag,
                        Err(e) => {
                            count_script_error(state.rule.id(), &e, stats);
                            false
                        }
                    }
                },
            )
        })
        .collect();
    Ok(Some(keep))
}

/// Filters a batch for one rule and files its rows into panes, closing windows in between
/// wherever the per-row watermark crosses a window end.
fn ingest_rule(
    state: &mut RuleState,
    batch: &RecordBatch,
    key: &PartitionKey,
    times: &[i64],
    wm_before: &[i64],
    ctx: &mut Ctx<'_>,
) -> Result<(), EngineError> {
    let projected = project_for(&state.rule, batch)?;
    let mask = rule_mask(state, &projected, ctx.stats)?;
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
            close_windows(state, wm, ctx)?;
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
        *ctx.stats
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

fn close_windows(state: &mut RuleState, wm: i64, ctx: &mut Ctx<'_>) -> Result<(), EngineError> {
    let mut closed = Vec::new();
    state
        .windows
        .close_until(wm, |start, rows| closed.push((start, rows)));
    for (start, rows) in closed {
        if rows.iter().all(|b| b.num_rows() == 0) {
            continue;
        }
        ctx.stats.windows_closed += 1;
        let result = state.rule.run_window(rows.clone())?;
        let evaluated =
            alerts_from_result(&state.rule, start, &result, &rows, ctx.cfg.evidence_samples)?;
        for e in &evaluated.script_errors {
            count_script_error(state.rule.id(), e, ctx.stats);
        }
        let suppress = state.rule.suppress_ms;
        if suppress > 0 {
            // Entries older than the suppression horizon can never suppress again.
            state
                .last_alert
                .retain(|_, last| last.saturating_add(suppress) > start);
        }
        for alert in evaluated.alerts {
            if suppress > 0 {
                if state.last_alert.contains_key(&alert.entity) {
                    *ctx.stats
                        .suppressed_by_rule
                        .entry(state.rule.id().to_owned())
                        .or_default() += 1;
                    continue;
                }
                state.last_alert.insert(alert.entity.clone(), start);
            }
            *ctx.stats
                .alerts_by_rule
                .entry(state.rule.id().to_owned())
                .or_default() += 1;
            ctx.alerts.push(alert);
        }
    }
    Ok(())
}
