//! `gatewatch bench --clickhouse URL`: insert throughput into ClickHouse, straight through the
//! destination (batched RowBinary inserts) and through the spool (fsync + sender thread), and
//! the cost of computing traffic statistics in a file replay.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use gatewatch_engine::{Alert, EntityMinute};
use gatewatch_ingest::Input;
use gatewatch_sinks::clickhouse::{ClickHouseDestination, ClickHouseTarget};
use gatewatch_sinks::route::Route;
use gatewatch_sinks::spool::{Record, Spooled};
use gatewatch_sinks::spooled::{Delivery, Destination, SpooledSink};
use gatewatch_sinks::Sink;

use gatewatch_pipeline::{self as pipeline, PipelineConfig};

const ALERTS: usize = 100_000;
const ENTITY_ROWS: usize = 200_000;
const BATCH: usize = 10_000;

fn alert(i: usize) -> Alert {
    let entity = format!("198.51.{}.{}", (i / 250) % 250, i % 250);
    let window_start = 1_767_225_600_000 + (i as i64 / 1000) * 60_000;
    Alert {
        id: gatewatch_engine::alert::alert_id("bench", &entity, window_start),
        rule_id: "bench-rule".into(),
        title: "Benchmark alert".into(),
        severity: "high".into(),
        entity_type: "ip".into(),
        entity,
        window_start,
        window_end: window_start + 60_000,
        first_seen: window_start + 1,
        last_seen: window_start + 59_000,
        event_count: 42,
        evidence: vec![serde_json::Map::from_iter([
            ("path".to_owned(), "/api/v1/login".into()),
            ("status".to_owned(), 401.into()),
        ])],
        tags: vec!["attack.t1110".into()],
        fields: serde_json::Map::from_iter([("distinct_usernames".to_owned(), 17.into())]),
    }
}

fn entity_row(i: usize) -> EntityMinute {
    EntityMinute {
        minute: 1_767_225_600_000 + (i as i64 / 5000) * 60_000,
        source: "bench".into(),
        partition: 0,
        entity: format!("10.{}.{}.{}", i % 7, (i / 7) % 250, i % 250),
        service: "orders".into(),
        route_template: "/api/v1/orders/{id}".into(),
        method: "GET".into(),
        requests: 12,
        failures: 1,
        auth_failures: 0,
        server_errors: 0,
        bytes_sent: 12_345,
        distinct_paths: 9,
    }
}

fn per_sec(n: usize, t: Duration) -> f64 {
    n as f64 / t.as_secs_f64().max(1e-9)
}

/// Prints the ClickHouse figures.
pub fn figures(url: &str, kong_data: &[u8], threads: usize) -> Result<()> {
    let target = ClickHouseTarget::parse(url).map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut dest = ClickHouseDestination::new(target.clone(), BATCH, Duration::ZERO, true);
    rt.block_on(dest.prepare())
        .map_err(|e| anyhow::anyhow!("ClickHouse: {}", e.reason))?;

    let alerts: Vec<Spooled> = (0..ALERTS)
        .map(|i| Spooled {
            at: 0,
            record: Record::Alert(alert(i)),
        })
        .collect();
    let t = Instant::now();
    for batch in alerts.chunks(BATCH) {
        rt.block_on(dest.send(batch))
            .map_err(|e| anyhow::anyhow!("ClickHouse: {}", e.reason))?;
    }
    let took = t.elapsed();
    println!(
        "clickhouse: {ALERTS} alerts in batches of {BATCH}: {:.0} alerts/s ({:.2}s)",
        per_sec(ALERTS, took),
        took.as_secs_f64()
    );
    let rows: Vec<Spooled> = (0..ENTITY_ROWS)
        .map(|i| Spooled {
            at: 0,
            record: Record::EntityMinute(entity_row(i)),
        })
        .collect();
    let t = Instant::now();
    for batch in rows.chunks(BATCH) {
        rt.block_on(dest.send(batch))
            .map_err(|e| anyhow::anyhow!("ClickHouse: {}", e.reason))?;
    }
    let took = t.elapsed();
    println!(
        "clickhouse: {ENTITY_ROWS} entity-minute rows in batches of {BATCH}: {:.0} rows/s ({:.2}s)",
        per_sec(ENTITY_ROWS, took),
        took.as_secs_f64()
    );

    // Through the spool: deliver() (JSON + fsync) on this thread, the sender inserting.
    let spool = tempfile_dir()?;
    let mut sink = SpooledSink::start(
        "clickhouse",
        ClickHouseDestination::new(target.clone(), BATCH, Duration::from_millis(200), true),
        &spool,
        Route::default(),
        Delivery::default(),
    )?;
    let plain: Vec<Record> = (0..ALERTS).map(|i| Record::Alert(alert(i))).collect();
    let t = Instant::now();
    for chunk in plain.chunks(1000) {
        sink.deliver(chunk)?;
    }
    let spooled = t.elapsed();
    let report = sink.finish(Duration::from_secs(120)).unwrap_or_default();
    let took = t.elapsed();
    println!(
        "clickhouse via spool: {ALERTS} alerts spooled (fsync per 1000) in {:.2}s, all delivered in {:.2}s: {:.0} alerts/s ({} delivered)",
        spooled.as_secs_f64(),
        took.as_secs_f64(),
        per_sec(ALERTS, took),
        report.delivered
    );
    let _ = std::fs::remove_dir_all(&spool);

    // The whole pipeline with traffic statistics going to ClickHouse.
    let spool = tempfile_dir()?;
    let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(SpooledSink::start(
        "clickhouse",
        ClickHouseDestination::new(target, BATCH, Duration::from_millis(200), true),
        &spool,
        Route::default(),
        Delivery::default(),
    )?)];
    let cfg = PipelineConfig {
        threads,
        sink_drain: Duration::from_secs(120),
        ..Default::default()
    };
    let input = Input {
        reader: Box::new(std::io::Cursor::new(kong_data.to_vec())),
        name: "bench-clickhouse".into(),
        interactive: false,
    };
    let rules = gatewatch_rules::load_builtin(&[])?;
    let t = Instant::now();
    let summary = pipeline::run_lines(input, rules, &mut sinks, &cfg, None)?;
    let took = t.elapsed();
    let delivered: u64 = summary.sinks.iter().map(|(_, r)| r.delivered).sum();
    println!(
        "file -> alerts + traffic statistics -> ClickHouse: {} events in {:.2}s ({:.0} events/s); {} entity rows, {} endpoint rows, {} records delivered",
        summary.engine.events,
        took.as_secs_f64(),
        per_sec(summary.engine.events as usize, took),
        summary.traffic_rows.0,
        summary.traffic_rows.1,
        delivered
    );
    let _ = std::fs::remove_dir_all(&spool);
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "gatewatch-bench-spool-{}-{}",
        std::process::id(),
        gatewatch_sinks::spool::now_ms()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
