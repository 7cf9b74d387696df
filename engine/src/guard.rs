//! Bounds on what one rule may hold and emit, because its input is written by attackers.
//!
//! * **State**: per rule and task, at most `max_groups` tracked entities and `max_bytes` of
//!   window state, shared by the panes a window spans (a tumbling window's pane gets all of
//!   the groups and half the bytes: the previous pane may still be open within the lateness).
//!   Past a pane's share, rows of entities the pane does not track yet are shed (in record
//!   order, counted): entities already tracked, such as an attack under way, keep being
//!   counted; past twice the byte share, every row is shed. Each window that shed
//!   rows raises one `gatewatch-state-pressure` alert naming the rule and what was shed, so the
//!   SOC knows detection is degraded there. Alerts are exact while no limit fires.
//! * **Alert floods**: per rule, window and task at most `max_alerts_per_window` alerts (those
//!   with the most events), then one `gatewatch-alert-flood` summary with the count and the top
//!   entities left out.
//!
//! Both reports are per task and name it: their ids include the task, so two tasks' reports of
//! one rule and window are two alerts, not one a deduplicating sink would keep the first of.
//! * **Suppression maps**: at most `suppression_entries` entities per rule and task; beyond,
//!   the oldest tenth is forgotten (counted): such an entity may alert again before its
//!   `suppress_for` ends.

use std::collections::{HashMap, HashSet};

use gatewatch_rules::CompiledRule;
use serde_json::{json, Map, Value};

use crate::alert::{alert_id, Alert};
use crate::task::TaskId;
use crate::time::end_of;

/// Rule id of the alerts saying a rule's state limit shed rows.
pub const STATE_PRESSURE: &str = "gatewatch-state-pressure";
/// Rule id of the summaries replacing a flood of alerts.
pub const ALERT_FLOOD: &str = "gatewatch-alert-flood";

/// Limits per rule and task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateLimits {
    /// Entities tracked in open windows.
    pub max_groups: usize,
    /// Bytes of window state (aggregates, evidence, raw rows where a rule needs them).
    pub max_bytes: usize,
    /// Alerts per window; more are summarised.
    pub max_alerts_per_window: usize,
    /// Entities remembered for `suppress_for`.
    pub suppression_entries: usize,
}

impl Default for StateLimits {
    /// Sized so the whole pack on two tasks stays under about 1 GiB even with every rule at
    /// its limit (15 rules × 2 tasks × 32 MiB), while a million tracked entities per rule and
    /// task still fit the counting rules.
    fn default() -> Self {
        StateLimits {
            max_groups: 1_000_000,
            max_bytes: 32 << 20,
            max_alerts_per_window: 100,
            suppression_entries: 100_000,
        }
    }
}

/// What a pane shed: rows, distinct entities (counted up to a bound), and why.
#[derive(Debug, Default, Clone)]
pub struct Shed {
    /// Rows shed.
    pub rows: u64,
    entities: HashSet<u64>,
    /// Distinct entities beyond those counted.
    pub more_entities: bool,
    /// Which limit: `groups` or `bytes` (the last one seen).
    pub reason: &'static str,
}

/// Distinct shed entities counted exactly up to this many per pane.
const SHED_ENTITIES_COUNTED: usize = 10_000;

impl Shed {
    /// Records a shed row of entity `hash`.
    pub fn record(&mut self, hash: u64, reason: &'static str) {
        self.rows += 1;
        self.reason = reason;
        if self.entities.len() < SHED_ENTITIES_COUNTED {
            self.entities.insert(hash);
        } else if !self.entities.contains(&hash) {
            self.more_entities = true;
        }
    }

    /// Adds another pane's record.
    pub fn merge(&mut self, o: &Shed) {
        self.rows += o.rows;
        if !o.reason.is_empty() {
            self.reason = o.reason;
        }
        for h in &o.entities {
            if self.entities.len() < SHED_ENTITIES_COUNTED {
                self.entities.insert(*h);
            } else {
                self.more_entities = true;
            }
        }
        self.more_entities |= o.more_entities;
    }

    /// Distinct entities shed (a lower bound when `more_entities`).
    pub fn entities(&self) -> usize {
        self.entities.len()
    }
}

/// The id of a report about one task's state: limits hold per task, so each task sheds and
/// summarises on its own and says so under its own id (the task is stable across restarts and
/// instances: a partition, or a shard of a file).
fn task_report_id(kind: &str, rule: &CompiledRule, task: &TaskId, window_start: i64) -> String {
    alert_id(kind, &format!("{}\u{1f}{task}", rule.id()), window_start)
}

/// The alert telling the SOC a rule shed rows in a window, in one task.
pub fn pressure_alert(
    rule: &CompiledRule,
    window_start: i64,
    shed: &Shed,
    limits: &StateLimits,
    task: &TaskId,
) -> Alert {
    let mut fields = Map::new();
    fields.insert("rule".into(), rule.id().into());
    fields.insert("task".into(), task.to_string().into());
    fields.insert("shed_rows".into(), shed.rows.into());
    fields.insert("shed_entities".into(), (shed.entities() as u64).into());
    fields.insert("shed_entities_at_least".into(), shed.more_entities.into());
    fields.insert("limit".into(), shed.reason.into());
    fields.insert("max_groups".into(), (limits.max_groups as u64).into());
    fields.insert("max_bytes".into(), (limits.max_bytes as u64).into());
    Alert {
        id: task_report_id(STATE_PRESSURE, rule, task, window_start),
        rule_id: STATE_PRESSURE.into(),
        title: format!(
            "Detection degraded: rule {} reached its {} limit and shed {} rows",
            rule.id(),
            shed.reason,
            shed.rows
        ),
        severity: "high".into(),
        entity_type: "rule".into(),
        entity: rule.id().into(),
        window_start,
        window_end: end_of(window_start, rule.window_ms),
        first_seen: window_start,
        last_seen: window_start,
        event_count: shed.rows as i64,
        evidence: Vec::new(),
        tags: vec!["gatewatch.health".into()],
        fields,
    }
}

/// Keeps at most `max` alerts of one window in one task (the ones with the most events, ties
/// by entity); the rest become one summary alert.
pub fn flood_cap(
    rule: &CompiledRule,
    window_start: i64,
    mut alerts: Vec<Alert>,
    max: usize,
    task: &TaskId,
) -> (Vec<Alert>, Option<Alert>) {
    if alerts.len() <= max {
        return (alerts, None);
    }
    alerts.sort_by(|a, b| {
        b.event_count
            .cmp(&a.event_count)
            .then_with(|| a.entity.cmp(&b.entity))
    });
    let dropped = alerts.split_off(max);
    let top: Vec<Value> = dropped
        .iter()
        .take(10)
        .map(|a| json!({"entity": a.entity, "event_count": a.event_count}))
        .collect();
    let mut fields = Map::new();
    fields.insert("rule".into(), rule.id().into());
    fields.insert("task".into(), task.to_string().into());
    fields.insert("alerts_kept".into(), (max as u64).into());
    fields.insert("alerts_dropped".into(), (dropped.len() as u64).into());
    fields.insert("top_dropped_entities".into(), Value::Array(top));
    let summary = Alert {
        id: task_report_id(ALERT_FLOOD, rule, task, window_start),
        rule_id: ALERT_FLOOD.into(),
        title: format!(
            "{}: {} more alerts in this window than the {} reported",
            rule.spec.title,
            dropped.len(),
            max
        ),
        severity: rule.spec.severity.to_string(),
        entity_type: "rule".into(),
        entity: rule.id().into(),
        window_start,
        window_end: end_of(window_start, rule.window_ms),
        first_seen: dropped
            .iter()
            .map(|a| a.first_seen)
            .min()
            .unwrap_or(window_start),
        last_seen: dropped
            .iter()
            .map(|a| a.last_seen)
            .max()
            .unwrap_or(window_start),
        event_count: dropped.len() as i64,
        evidence: Vec::new(),
        tags: rule.spec.tags.clone(),
        fields,
    };
    alerts.sort_by(|a, b| a.entity.cmp(&b.entity));
    (alerts, Some(summary))
}

/// Per entity, the window start of its last alert, bounded.
#[derive(Debug, Default, Clone)]
pub struct Suppression {
    last: HashMap<String, i64>,
}

impl Suppression {
    /// From a checkpoint's entries.
    pub fn from_entries(entries: Vec<(String, i64)>) -> Self {
        Suppression {
            last: entries.into_iter().collect(),
        }
    }

    /// The entries, sorted (for a checkpoint).
    pub fn entries(&self) -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> = self.last.iter().map(|(k, v)| (k.clone(), *v)).collect();
        v.sort();
        v
    }

    /// Forgets entries that can no longer suppress a window starting at `start`.
    pub fn prune(&mut self, start: i64, suppress: i64) {
        self.last
            .retain(|_, last| last.saturating_add(suppress) > start);
    }

    /// Whether `entity` alerted recently (call [`prune`](Self::prune) for the window first).
    pub fn contains(&self, entity: &str) -> bool {
        self.last.contains_key(entity)
    }

    /// Records an alert; returns how many entries were forgotten to stay within `capacity`.
    pub fn record(&mut self, entity: &str, start: i64, capacity: usize) -> u64 {
        let mut evicted = 0;
        if self.last.len() >= capacity.max(1) && !self.last.contains_key(entity) {
            let mut starts: Vec<i64> = self.last.values().copied().collect();
            let n = (starts.len() / 10).max(1);
            let (_, cut, _) = starts.select_nth_unstable(n - 1);
            let cut = *cut;
            let before = self.last.len();
            self.last.retain(|_, v| *v > cut);
            evicted = (before - self.last.len()) as u64;
        }
        self.last.insert(entity.to_owned(), start);
        evicted
    }

    /// Bytes held (approximate).
    pub fn bytes(&self) -> usize {
        self.last.keys().map(|k| k.len() + 48).sum()
    }
}
