//! What a run did: the figures of the summary printed at its end.

use std::collections::BTreeMap;
use std::time::Duration;

use gatewatch_engine::EngineStats;

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct RunSummary {
    /// Input lines read (blank lines included).
    pub lines: u64,
    /// Input bytes (decompressed).
    pub bytes: u64,
    /// Malformed lines.
    pub malformed: u64,
    /// Engine counters: events, late, windows, alerts per rule.
    pub engine: EngineStats,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Columns decoded (at the end of the run).
    pub decoded_columns: Vec<&'static str>,
    /// Rules loaded (at the end of the run).
    pub rules: Vec<String>,
    /// Per rule, rows and windows it could not evaluate (an error on the values: counted,
    /// left out of that rule only).
    pub eval_errors: BTreeMap<String, (u64, u64)>,
    /// Offset commits made (Kafka).
    pub commits: u64,
    /// From the first decoded chunk to the last: the time spent on data, without waiting to
    /// join a Kafka group or for the input to go idle.
    pub active: Duration,
    /// Traffic statistics rows handed to sinks (entity rows, endpoint rows).
    pub traffic_rows: (u64, u64),
    /// Events the traffic statistics dropped because their minute had already closed.
    pub traffic_late: u64,
    /// Per sink with a spool: what it delivered, left pending or gave up on.
    pub sinks: Vec<(String, gatewatch_sinks::SinkReport)>,
    /// Tasks that ran (shards of a file, Kafka partitions).
    pub tasks: usize,
    /// Kafka records whose message key was not their value of `--input-key`.
    pub key_mismatches: u64,
    /// Records whose event time was out of range and rescaled (s, µs or ns read as ms).
    pub time_rescaled: u64,
    /// Repartition topics (Kafka): records, rows and bytes sent, rows received, re-sent rows
    /// dropped as already counted.
    pub repartition: Option<Repartitioned>,
}

/// What went through repartition topics in a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Repartitioned {
    /// Records sent.
    pub records: u64,
    /// Rows sent.
    pub rows: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Rows received and handed to tasks.
    pub received: u64,
    /// Rows received again (an upstream replay) and dropped.
    pub duplicates: u64,
    /// Repartition records that could not be read (logged, dead-lettered, skipped).
    pub unreadable: u64,
    /// Wall-clock latency through the hop (send to receipt), median and 99th percentile, as
    /// power-of-two upper bounds in milliseconds.
    pub hop_ms: Option<(u64, u64)>,
}

impl RunSummary {
    /// Alerts over all rules.
    pub fn alerts(&self) -> u64 {
        self.engine.alerts()
    }

    /// The human-readable summary printed at the end of `gatewatch run`.
    pub fn render(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let late = self.engine.late();
        let mut s = format!(
            "gatewatch: {} events from {} lines ({:.1} MB) in {:.2}s: {:.0} events/s, {:.1} MB/s\n",
            self.engine.events,
            self.lines,
            self.bytes as f64 / 1e6,
            secs,
            self.engine.events as f64 / secs,
            self.bytes as f64 / 1e6 / secs
        );
        s += &format!(
            "  malformed: {}   late (behind watermark): {}   windows closed: {}   alerts: {}\n",
            self.malformed,
            late,
            self.engine.windows_closed,
            self.alerts()
        );
        if self.time_rescaled > 0 {
            s += &format!(
                "  event times rescaled: {} records logged their time in s, µs or ns (read as ms, out of range)\n",
                self.time_rescaled
            );
        }
        if self.engine.time_held > 0 {
            s += &format!(
                "  event time jumps: {} records held, {} confirmed and processed, {} rejected (dead-lettered as time_jump)\n",
                self.engine.time_held, self.engine.time_released, self.engine.time_rejected
            );
        }
        for (source, n) in &self.engine.late_by_source {
            s += &format!("  late from {source}: {n}\n");
        }
        for id in &self.rules {
            let get = |m: &BTreeMap<String, u64>| m.get(id).copied().unwrap_or(0);
            let errors = match self.eval_errors.get(id) {
                Some(&(rows, windows)) if rows + windows > 0 => format!(
                    ", {rows} rows and {windows} windows it could not (fully) evaluate (left out; see the log)"
                ),
                _ => String::new(),
            };
            s += &format!(
                "  rule {id}: {} alerts, {} suppressed, {} late rows dropped, {} script errors{errors}\n",
                get(&self.engine.alerts_by_rule),
                get(&self.engine.suppressed_by_rule),
                get(&self.engine.late_by_rule),
                get(&self.engine.script_errors_by_rule)
            );
        }
        if self.key_mismatches > 0 {
            s += &format!(
                "  input key: {} records whose Kafka key is not their --input-key value (their entity's events may be split across partitions)\n",
                self.key_mismatches
            );
        }
        if self.commits > 0 {
            s += &format!("  kafka offset commits: {}\n", self.commits);
        }
        if let Some(r) = &self.repartition {
            s += &format!(
                "  repartition topics: {} rows sent in {} records ({:.1} bytes per event), {} rows received, {} re-sent rows dropped\n",
                r.rows,
                r.records,
                r.bytes as f64 / self.engine.events.max(1) as f64,
                r.received,
                r.duplicates
            );
            if let Some((p50, p99)) = r.hop_ms {
                s += &format!("  repartition hop latency: p50 <= {p50} ms, p99 <= {p99} ms\n");
            }
            if r.unreadable > 0 {
                s += &format!(
                    "  repartition records unreadable (skipped, dead-lettered): {}\n",
                    r.unreadable
                );
            }
        }
        if self.traffic_rows != (0, 0) {
            s += &format!(
                "  traffic statistics: {} entity-minute rows, {} endpoint-minute rows, {} late events dropped\n",
                self.traffic_rows.0, self.traffic_rows.1, self.traffic_late
            );
        }
        for (name, r) in &self.sinks {
            s += &format!(
                "  sink {name}: {} delivered, {} pending in spool, {} dead-lettered, {} failed attempts\n",
                r.delivered, r.pending, r.dead_lettered, r.failed_attempts
            );
        }
        s += &format!("  decoded columns: {}\n", self.decoded_columns.join(", "));
        s
    }
}
