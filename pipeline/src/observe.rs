//! Prometheus metrics and health endpoints for a pipeline that runs as a service
//! (`--metrics-addr HOST:PORT`).
//!
//! Counters and gauges go through the `metrics` facade, so any thread (decoders, task workers,
//! sink senders) records where the event happens; `metrics-exporter-prometheus` renders them in
//! Prometheus' text format. A small HTTP server (axum, on its own thread and runtime) serves:
//! - `/metrics`: the metrics;
//! - `/healthz`: 200 while the main loop makes progress (it beats at least every tick, with
//!   input or without), 503 once it has not beaten for [`STALL`];
//! - `/readyz`: 200 once the rules are loaded and, for Kafka, the consumer has joined its group
//!   (an instance with no partitions assigned is still ready). Sink outages do not change
//!   readiness: the spool absorbs them and the sink metrics show them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use gatewatch_engine::EngineStats;
use metrics::{counter, describe_counter, describe_gauge, gauge, Unit};

/// `/healthz` fails once the main loop has not beaten for this long.
pub const STALL: Duration = Duration::from_secs(60);

/// What the health endpoints report, shared between the main loop and the HTTP server.
#[derive(Debug)]
pub struct Health {
    started: Instant,
    /// Milliseconds after `started` of the main loop's last beat.
    beat_ms: AtomicU64,
    rules_loaded: AtomicBool,
    /// A Kafka input: ready only once the group is joined.
    needs_group: AtomicBool,
    joined: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            started: Instant::now(),
            beat_ms: AtomicU64::new(0),
            rules_loaded: AtomicBool::new(false),
            needs_group: AtomicBool::new(false),
            joined: AtomicBool::new(false),
        }
    }
}

impl Health {
    /// The main loop is alive and went round once more.
    pub fn beat(&self) {
        self.beat_ms
            .store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// The rules are compiled and running.
    pub fn rules_loaded(&self) {
        self.rules_loaded.store(true, Ordering::Relaxed);
    }

    /// The input is a Kafka consumer group: not ready until it has joined.
    pub fn expect_group(&self) {
        self.needs_group.store(true, Ordering::Relaxed);
    }

    /// The consumer joined its group (with or without partitions).
    pub fn joined(&self) {
        self.joined.store(true, Ordering::Relaxed);
    }

    /// Whether the main loop beat within [`STALL`].
    pub fn live(&self) -> bool {
        let last = Duration::from_millis(self.beat_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last) < STALL
    }

    /// Whether the pipeline is ready to work: rules loaded and, for Kafka, group joined.
    pub fn ready(&self) -> bool {
        self.rules_loaded.load(Ordering::Relaxed)
            && (!self.needs_group.load(Ordering::Relaxed) || self.joined.load(Ordering::Relaxed))
    }
}

/// Installs the Prometheus recorder and serves `/metrics`, `/healthz` and `/readyz` on `addr`
/// (`127.0.0.1:0` picks a free port). Returns the address actually bound.
pub fn serve(addr: &str, health: Arc<Health>) -> Result<SocketAddr> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    describe();
    let listener = std::net::TcpListener::bind(addr)
        .with_context(|| format!("--metrics-addr {addr}: cannot listen there"))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the metrics server's runtime")?;
    std::thread::Builder::new()
        .name("gatewatch-metrics".into())
        .spawn(move || {
            use axum::http::StatusCode;
            use axum::routing::get;
            let (h1, h2) = (health.clone(), health);
            let app = axum::Router::new()
                .route("/metrics", get(move || std::future::ready(handle.render())))
                .route(
                    "/healthz",
                    get(move || {
                        std::future::ready(if h1.live() {
                            (StatusCode::OK, "ok\n")
                        } else {
                            (StatusCode::SERVICE_UNAVAILABLE, "main loop stalled\n")
                        })
                    }),
                )
                .route(
                    "/readyz",
                    get(move || {
                        std::future::ready(if h2.ready() {
                            (StatusCode::OK, "ready\n")
                        } else {
                            (
                                StatusCode::SERVICE_UNAVAILABLE,
                                "not ready: rules loading or consumer group not joined\n",
                            )
                        })
                    }),
                );
            let served = rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                axum::serve(listener, app).await
            });
            if let Err(e) = served {
                tracing::error!("metrics server stopped: {e}");
            }
        })
        .context("starting the metrics server thread")?;
    tracing::info!("metrics on http://{local}/metrics, health on /healthz and /readyz");
    Ok(local)
}

/// Whether a metric only grows or goes up and down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only grows (`_total`).
    Counter,
    /// Goes up and down.
    Gauge,
}

/// Every metric gatewatch exports: name, kind, unit and help text. Dashboards and alerting rules
/// may name only these (a test checks `deploy/grafana/gatewatch-pipeline.json` against it).
pub const METRICS: &[(&str, Kind, Unit, &str)] = &[
    (
        "gatewatch_input_lines_total",
        Kind::Counter,
        Unit::Count,
        "Input lines (or Kafka messages) read, blank ones included.",
    ),
    (
        "gatewatch_input_bytes_total",
        Kind::Counter,
        Unit::Bytes,
        "Input bytes read (decompressed).",
    ),
    (
        "gatewatch_events_total",
        Kind::Counter,
        Unit::Count,
        "Records decoded into events, by input and log format.",
    ),
    (
        "gatewatch_malformed_total",
        Kind::Counter,
        Unit::Count,
        "Records rejected by the decoders (dead-lettered), by input.",
    ),
    (
        "gatewatch_late_events_total",
        Kind::Counter,
        Unit::Count,
        "Rows a rule dropped because their window had closed (behind the watermark), by rule.",
    ),
    (
        "gatewatch_alerts_total",
        Kind::Counter,
        Unit::Count,
        "Alerts raised and handed to the sinks, by rule and severity.",
    ),
    (
        "gatewatch_alerts_suppressed_total",
        Kind::Counter,
        Unit::Count,
        "Alerts not raised again within a rule's suppress_for, by rule.",
    ),
    (
        "gatewatch_script_errors_total",
        Kind::Counter,
        Unit::Count,
        "Rhai script errors, by rule.",
    ),
    (
        "gatewatch_rule_eval_errors_total",
        Kind::Counter,
        Unit::Count,
        "Rows (what=row) and windows (what=window) a rule could not evaluate, left out of that rule only, by rule.",
    ),
    (
        "gatewatch_state_shed_total",
        Kind::Counter,
        Unit::Count,
        "Groups a rule refused to track past its state caps (detection degraded), by rule.",
    ),
    (
        "gatewatch_rule_eval_seconds",
        Kind::Gauge,
        Unit::Seconds,
        "Seconds spent evaluating a rule since start (rows in, windows closed), by rule; only grows: rate() is the share of a core the rule takes.",
    ),
    (
        "gatewatch_window_state_bytes",
        Kind::Gauge,
        Unit::Bytes,
        "Bytes of open-window state a rule holds now (summed over tasks), by rule.",
    ),
    (
        "gatewatch_consumer_lag_messages",
        Kind::Gauge,
        Unit::Count,
        "Kafka messages behind the partition's end not yet committed by this instance, by topic and partition (librdkafka statistics, every 5 s).",
    ),
    (
        "gatewatch_windows_closed_total",
        Kind::Counter,
        Unit::Count,
        "Windows closed by the watermark.",
    ),
    (
        "gatewatch_time_jumps_rejected_total",
        Kind::Counter,
        Unit::Count,
        "Records dated far ahead that no later record confirmed (dead-lettered as time_jump).",
    ),
    (
        "gatewatch_watermark_lag_seconds",
        Kind::Gauge,
        Unit::Seconds,
        "Wall clock minus the event-time watermark, by input partition.",
    ),
    (
        "gatewatch_repartition_rows_sent_total",
        Kind::Counter,
        Unit::Count,
        "Rows sent to repartition topics (rules keyed by another column than the input key).",
    ),
    (
        "gatewatch_repartition_bytes_sent_total",
        Kind::Counter,
        Unit::Bytes,
        "Bytes sent to repartition topics.",
    ),
    (
        "gatewatch_repartition_rows_received_total",
        Kind::Counter,
        Unit::Count,
        "Rows received from repartition topics and handed to tasks.",
    ),
    (
        "gatewatch_repartition_duplicates_total",
        Kind::Counter,
        Unit::Count,
        "Rows received again from repartition topics after an upstream restart, and dropped.",
    ),
    (
        "gatewatch_commits_total",
        Kind::Counter,
        Unit::Count,
        "Kafka offset commits made.",
    ),
    (
        "gatewatch_commit_age_seconds",
        Kind::Gauge,
        Unit::Seconds,
        "Seconds since the last Kafka offset commit.",
    ),
    (
        "gatewatch_rules_reload_total",
        Kind::Counter,
        Unit::Count,
        "Rule reloads, by result (ok, error).",
    ),
    (
        "gatewatch_rules_loaded",
        Kind::Gauge,
        Unit::Count,
        "Rules currently running.",
    ),
    (
        "gatewatch_sink_spool_records",
        Kind::Gauge,
        Unit::Count,
        "Records waiting in a sink's spool, by sink.",
    ),
    (
        "gatewatch_sink_delivered_total",
        Kind::Counter,
        Unit::Count,
        "Records a sink delivered, by sink.",
    ),
    (
        "gatewatch_sink_delivery_failures_total",
        Kind::Counter,
        Unit::Count,
        "Failed delivery attempts, by sink and reason (setup, retryable, permanent).",
    ),
];

fn describe() {
    for &(name, kind, unit, help) in METRICS {
        match kind {
            Kind::Counter => describe_counter!(name, unit, help),
            Kind::Gauge => describe_gauge!(name, unit, help),
        }
    }
}

/// A decoded chunk: lines, bytes, events by format, malformed records.
pub fn chunk(
    source: &str,
    lines: u64,
    bytes: u64,
    events_by_format: &[(&'static str, u64)],
    malformed: u64,
) {
    let source = source.to_owned();
    counter!("gatewatch_input_lines_total", "source" => source.clone()).increment(lines);
    counter!("gatewatch_input_bytes_total", "source" => source.clone()).increment(bytes);
    for (format, n) in events_by_format {
        if *n > 0 {
            counter!("gatewatch_events_total", "source" => source.clone(), "format" => *format)
                .increment(*n);
        }
    }
    if malformed > 0 {
        counter!("gatewatch_malformed_total", "source" => source).increment(malformed);
    }
}

/// Alerts handed to the sinks.
pub fn alerts(alerts: &[gatewatch_engine::Alert]) {
    for a in alerts {
        counter!(
            "gatewatch_alerts_total",
            "rule" => a.rule_id.clone(),
            "severity" => a.severity.clone()
        )
        .increment(1);
    }
}

/// The engine's counters, summed over the task workers' latest reports.
pub fn engine(stats: &EngineStats, rules: &[String]) {
    let by_rule = |name: &'static str, m: &BTreeMap<String, u64>| {
        for id in rules {
            counter!(name, "rule" => id.clone()).absolute(m.get(id).copied().unwrap_or(0));
        }
    };
    by_rule("gatewatch_late_events_total", &stats.late_by_rule);
    by_rule(
        "gatewatch_alerts_suppressed_total",
        &stats.suppressed_by_rule,
    );
    by_rule(
        "gatewatch_script_errors_total",
        &stats.script_errors_by_rule,
    );
    by_rule("gatewatch_state_shed_total", &stats.shed_by_rule);
    for id in rules {
        let ns = stats.eval_ns_by_rule.get(id).copied().unwrap_or(0);
        gauge!("gatewatch_rule_eval_seconds", "rule" => id.clone()).set(ns as f64 / 1e9);
        let bytes = stats.state_bytes_by_rule.get(id).copied().unwrap_or(0);
        gauge!("gatewatch_window_state_bytes", "rule" => id.clone()).set(bytes as f64);
    }
    counter!("gatewatch_windows_closed_total").absolute(stats.windows_closed);
    gauge!("gatewatch_rules_loaded").set(rules.len() as f64);
}

/// Rows and windows each rule could not evaluate (`gatewatch_rule_eval_errors_total`, by
/// `rule` and `what`: `row` or `window`).
pub fn eval_errors(rules: &[std::sync::Arc<gatewatch_rules::CompiledRule>]) {
    for r in rules {
        let id = r.id().to_owned();
        counter!("gatewatch_rule_eval_errors_total", "rule" => id.clone(), "what" => "row")
            .absolute(r.errors.rows());
        counter!("gatewatch_rule_eval_errors_total", "rule" => id, "what" => "window")
            .absolute(r.errors.windows());
    }
}

/// Records held as time jumps that no later record confirmed (dead-lettered as `time_jump`).
/// Counted where the sequencer rejects them: the clocks live there, not in the task workers.
pub fn time_jumps_rejected(n: usize) {
    counter!("gatewatch_time_jumps_rejected_total").increment(n as u64);
}

/// The event-time watermark of an input partition (epoch ms).
pub fn watermark(topic: &str, partition: i32, watermark_ms: i64) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    gauge!(
        "gatewatch_watermark_lag_seconds",
        "source" => topic.to_owned(),
        "partition" => partition.to_string()
    )
    .set(now_ms.saturating_sub(watermark_ms) as f64 / 1000.0);
}

/// Rows and bytes sent to repartition topics.
pub fn repartition_sent(rows: u64, bytes: u64) {
    counter!("gatewatch_repartition_rows_sent_total").increment(rows);
    counter!("gatewatch_repartition_bytes_sent_total").increment(bytes);
}

/// Rows received from repartition topics, and re-sent rows dropped.
pub fn repartition_received(rows: u64, duplicates: u64) {
    counter!("gatewatch_repartition_rows_received_total").increment(rows);
    counter!("gatewatch_repartition_duplicates_total").increment(duplicates);
}

/// A Kafka commit round went through.
pub fn committed() {
    counter!("gatewatch_commits_total").increment(1);
}

/// Seconds since the last commit (set every tick while Kafka runs).
pub fn commit_age(age: Duration) {
    gauge!("gatewatch_commit_age_seconds").set(age.as_secs_f64());
}

/// A rule reload, applied or refused.
pub fn reload(ok: bool) {
    counter!("gatewatch_rules_reload_total", "result" => if ok { "ok" } else { "error" })
        .increment(1);
}
