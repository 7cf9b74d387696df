//! Counters a task keeps; the pipeline merges them over tasks for the run summary.

use std::collections::BTreeMap;

/// Counters of one task, or of all tasks merged.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct EngineStats {
    /// Rows received.
    pub events: u64,
    /// Rows that arrived behind their partition's watermark for a rule or the statistics, per
    /// source.
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
    /// Rows the traffic statistics dropped because their minute had closed.
    pub traffic_late: u64,
    /// Records the event-time clocks held until later records confirmed their time.
    pub time_held: u64,
    /// Held records later released and processed.
    pub time_released: u64,
    /// Held records never confirmed: dead-lettered as `time_jump`.
    pub time_rejected: u64,
    /// Rows a rule shed because it reached a state limit, per rule.
    pub shed_by_rule: BTreeMap<String, u64>,
    /// Alerts left out of a flooded window (summarised instead), per rule.
    pub flood_dropped_by_rule: BTreeMap<String, u64>,
    /// Suppression entries forgotten to stay within the limit.
    pub suppression_evicted: u64,
    /// Nanoseconds spent in each rule's operator (processing rows, closing windows).
    pub eval_ns_by_rule: BTreeMap<String, u64>,
    /// Bytes of window state each rule holds now (a snapshot: merging adds tasks' state).
    pub state_bytes_by_rule: BTreeMap<String, u64>,
}

fn merge_map(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

impl EngineStats {
    /// Adds another task's counters.
    pub fn merge(&mut self, o: &EngineStats) {
        self.events += o.events;
        merge_map(&mut self.late_by_source, &o.late_by_source);
        merge_map(&mut self.late_by_rule, &o.late_by_rule);
        self.windows_closed += o.windows_closed;
        merge_map(&mut self.alerts_by_rule, &o.alerts_by_rule);
        merge_map(&mut self.suppressed_by_rule, &o.suppressed_by_rule);
        merge_map(&mut self.script_errors_by_rule, &o.script_errors_by_rule);
        self.traffic_late += o.traffic_late;
        self.time_held += o.time_held;
        self.time_released += o.time_released;
        self.time_rejected += o.time_rejected;
        merge_map(&mut self.shed_by_rule, &o.shed_by_rule);
        merge_map(&mut self.flood_dropped_by_rule, &o.flood_dropped_by_rule);
        self.suppression_evicted += o.suppression_evicted;
        merge_map(&mut self.eval_ns_by_rule, &o.eval_ns_by_rule);
        merge_map(&mut self.state_bytes_by_rule, &o.state_bytes_by_rule);
    }

    /// Adds `n` to a per-rule (or per-source) counter.
    pub fn bump(map: &mut BTreeMap<String, u64>, key: &str, n: u64) {
        if n == 0 {
            return;
        }
        match map.get_mut(key) {
            Some(v) => *v += n,
            None => {
                map.insert(key.to_owned(), n);
            }
        }
    }

    /// Late rows over all sources.
    pub fn late(&self) -> u64 {
        self.late_by_source.values().sum()
    }

    /// Alerts over all rules.
    pub fn alerts(&self) -> u64 {
        self.alerts_by_rule.values().sum()
    }
}
