//! Alert sinks against real destinations: the ClickHouse server `scripts/services.sh` starts
//! (`GATEWATCH_CLICKHOUSE`), ClickHouse servers a test starts and stops itself
//! (`GATEWATCH_CLICKHOUSE_RUN`); the HTTP sinks are `sinks_http`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{alerts_of, gatewatch_ok};

fn clickhouse() -> String {
    std::env::var("GATEWATCH_CLICKHOUSE").expect(
        "GATEWATCH_CLICKHOUSE is not set: start ClickHouse with `scripts/services.sh start` (scripts/test.sh does)",
    )
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// Runs a query over ClickHouse's HTTP interface; returns the TSV answer.
pub(crate) fn ch_query(base: &str, sql: &str) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--fail-with-body", base, "--data-binary", sql])
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "query failed: {sql}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Ten minutes of generated traffic (benign mix and attacks), written to `dir`.
pub(crate) fn sample_file(dir: &Path) -> std::path::PathBuf {
    crate::support::generate(dir, "traffic.jsonl", &["--duration", "10m", "--seed", "11"])
}

fn lines_in(path: &Path) -> u64 {
    std::fs::read_to_string(path).unwrap().lines().count() as u64
}

pub(crate) fn ids(alerts: &[serde_json::Value]) -> BTreeSet<String> {
    alerts
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn clickhouse_gets_alerts_and_statistics_exactly_once_across_a_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let input = sample_file(tmp.path());
    let db = unique("gw_replay");
    let url = format!("{}/{db}", clickhouse());
    let spool = tmp.path().join("spool");
    let mut expected = BTreeSet::new();
    for _ in 0..2 {
        let out = gatewatch_ok(
            &[
                "run",
                "--input",
                input.to_str().unwrap(),
                "--clickhouse",
                &url,
                "--spool-dir",
                spool.to_str().unwrap(),
            ],
            None,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("sink clickhouse:"), "{stderr}");
        assert!(stderr.contains("0 pending in spool"), "{stderr}");
        expected = ids(&alerts_of(&out));
        let delivered: usize = stderr
            .split("sink clickhouse: ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(
            delivered > expected.len(),
            "alerts and statistics delivered: {stderr}"
        );
    }
    assert!(!expected.is_empty());
    let base = clickhouse();
    let q = |sql: &str| ch_query(&base, &sql.replace("DB.", &format!("{db}.")));
    // Twice inserted (each run's summary says it delivered every alert), once counted. Without
    // FINAL a background merge may already have removed some of the copies.
    let raw: usize = q("SELECT count() FROM DB.alerts").parse().unwrap();
    assert!(raw >= expected.len(), "{raw}");
    let stored: BTreeSet<String> = q("SELECT id FROM DB.alerts FINAL")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(stored, expected);
    assert_eq!(
        q("SELECT count() FROM DB.alerts FINAL"),
        expected.len().to_string()
    );
    // Every event counted once in the statistics and the inventory, despite the replay.
    let events = lines_in(&input).to_string();
    assert_eq!(
        q("SELECT sum(requests) FROM DB.entity_stats_1m FINAL"),
        events
    );
    assert_eq!(q("SELECT sum(requests) FROM DB.api_inventory"), events);
    let login = q("SELECT count() FROM DB.api_inventory WHERE route_template LIKE '%login%'");
    assert_ne!(login, "0", "the login endpoint is in the inventory");
    // Migrations recorded once each, on the legacy path of this old server.
    assert_eq!(
        q("SELECT groupArray(version) FROM (SELECT version FROM DB.gatewatch_schema_migrations FINAL ORDER BY version)"),
        "[1,2,3]"
    );
}

/// A ClickHouse server of the test's own, on fresh ports, that it can stop and start.
pub(crate) struct OwnClickHouse {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl OwnClickHouse {
    pub(crate) fn new() -> Self {
        OwnClickHouse {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
            child: None,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn start(&mut self) {
        let run = std::env::var("GATEWATCH_CLICKHOUSE_RUN")
            .expect("GATEWATCH_CLICKHOUSE_RUN is not set (scripts/test.sh sets it)");
        let mut parts = run.split_whitespace();
        let child = Command::new(parts.next().unwrap())
            .args(parts)
            .arg(self.dir.path())
            .arg(self.port.to_string())
            .arg(free_port().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ok = Command::new("curl")
                .args(["-s", &format!("{}/ping", self.url())])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("Ok"));
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("own ClickHouse did not start");
    }
}

impl Drop for OwnClickHouse {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn clickhouse_down_at_first_then_started_gets_every_alert_once() {
    let tmp = tempfile::tempdir().unwrap();
    let input = sample_file(tmp.path());
    let mut server = OwnClickHouse::new();
    let config = tmp.path().join("gatewatch.toml");
    std::fs::write(
        &config,
        format!(
            "[spool]\ndir = {:?}\ndrain_timeout = \"60s\"\n[clickhouse]\nurl = \"{}/gw\"\nbatch_linger = \"100ms\"\ndelivery = {{ max_backoff = \"1s\" }}\n",
            tmp.path().join("spool"),
            server.url()
        ),
    )
    .unwrap();
    // Part 1: the server is down for the whole run and the drain is cut short: everything stays
    // spooled (and the run still succeeds: nothing is lost, the next start delivers).
    let out = gatewatch_ok(
        &[
            "run",
            "--input",
            input.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--drain-timeout",
            "0s",
        ],
        None,
    );
    let expected = ids(&alerts_of(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sink clickhouse: 0 delivered"), "{stderr}");

    // Part 2: a second run starts with the server still down and it comes up mid-run: the
    // spooled records of run 1 and the new ones of run 2 all arrive.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatewatch"));
    cmd.args([
        "run",
        "--input",
        input.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--quiet-alerts",
    ])
    .env("GATEWATCH_LOG", "warn")
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    server.start();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("0 pending in spool"), "{stderr}");
    let stored: Vec<String> = ch_query(&server.url(), "SELECT id FROM gw.alerts FINAL")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(stored.len(), expected.len(), "each alert once");
    assert_eq!(stored.into_iter().collect::<BTreeSet<_>>(), expected);
    assert_eq!(
        ch_query(
            &server.url(),
            "SELECT sum(requests) FROM gw.entity_stats_1m FINAL"
        ),
        lines_in(&input).to_string()
    );
}

/// The modern schema path (what ClickHouse 21.8+ gets) and the README's dashboard queries, run
/// on a current ClickHouse engine: chdb 26.9, in-process from PyPI (the test server is 18.16).
#[test]
fn modern_schema_and_dashboard_queries_run_on_clickhouse_26() {
    use gatewatch_sinks::clickhouse::{statements, SchemaPath, MIGRATIONS};
    let python = std::env::var("GATEWATCH_PYTHON")
        .expect("GATEWATCH_PYTHON is not set (scripts/test.sh sets it; chdb-core is in that venv)");
    let tmp = tempfile::tempdir().unwrap();
    let mut sql: Vec<String> = MIGRATIONS
        .iter()
        .flat_map(|(_, _, text)| statements(text, SchemaPath::Modern))
        .collect();
    assert!(sql.iter().any(|s| s.contains("LowCardinality(String)")));
    assert!(sql.iter().any(|s| s.contains("TTL")));
    sql.push(
        "INSERT INTO alerts (id, rule_id, title, severity, severity_rank, entity_type, entity, window_start, window_end, first_seen, last_seen, event_count, tags, evidence, fields, inserted_at) VALUES ('a1', 'r', 't', 'high', 3, 'ip', '1.2.3.4', now(), now(), now(), now(), 5, ['x'], '[]', '{}', now()), ('a1', 'r', 't', 'high', 3, 'ip', '1.2.3.4', now(), now(), now(), now(), 5, ['x'], '[]', '{}', now())".into(),
    );
    sql.push("INSERT INTO entity_stats_1m (minute, source, partition, entity, service, route_template, method, requests, failures, auth_failures, server_errors, bytes_sent, distinct_paths, inserted_at) VALUES (now(), 's', 0, '1.2.3.4', 'svc', '/login', 'POST', 10, 9, 9, 0, 100, 1, now())".into());
    sql.push("INSERT INTO api_inventory_1m (minute, source, partition, service, method, route_template, first_seen, last_seen, requests, status_2xx, status_3xx, status_4xx, status_5xx, distinct_clients, inserted_at) VALUES (now(), 's', 0, 'svc', 'GET', '/x', now(), now(), 3, 3, 0, 0, 0, 1, now())".into());
    let script = tmp.path().join("check.py");
    std::fs::write(
        &script,
        r#"
import sys
from chdb import session
s = session.Session()
s.query("CREATE DATABASE IF NOT EXISTS gw")
s.query("USE gw")
for st in open(sys.argv[1]).read().split("\n;;\n"):
    s.query(st)
def one(q):
    return str(s.query(q, "CSV")).strip()
print("version", one("SELECT version()"))
print("alerts", one("SELECT count() FROM alerts FINAL"))
print("top", one("SELECT entity, sum(requests) AS requests, sum(failures) AS failures, uniqExact(route_template) AS distinct_routes FROM entity_stats_1m FINAL WHERE minute > now() - INTERVAL 1 HOUR GROUP BY entity ORDER BY failures DESC LIMIT 20"))
print("hourly", one("SELECT count() FROM (SELECT toStartOfHour(window_start) AS hour, rule_id, count() AS alerts FROM alerts FINAL WHERE window_start > now() - INTERVAL 1 DAY GROUP BY hour, rule_id)"))
print("inventory", one("SELECT requests FROM api_inventory WHERE first_seen > now() - INTERVAL 1 DAY ORDER BY requests DESC"))
import json
panels = json.load(open(sys.argv[2]))["panels"]
for p in panels:
    for t in p["targets"]:
        q = t["rawSql"].replace("$__fromTime", "(now() - INTERVAL 1 DAY)").replace("$__toTime", "(now() + INTERVAL 1 DAY)")
        rows = str(s.query(q, "CSV")).strip().splitlines()
        print("panel", p["id"], len(rows))
"#,
    )
    .unwrap();
    let file = tmp.path().join("schema.sql");
    std::fs::write(&file, sql.join("\n;;\n")).unwrap();
    let dashboard = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/grafana/gatewatch-dashboard.json");
    let out = Command::new(python)
        .arg(&script)
        .arg(&file)
        .arg(&dashboard)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("version \"26."), "{text}");
    assert!(
        text.contains("alerts 1"),
        "ReplacingMergeTree FINAL keeps one: {text}"
    );
    assert!(text.contains("top \"1.2.3.4\",10,9,1"), "{text}");
    assert!(text.contains("inventory 3"), "{text}");
    // Every Grafana panel's query runs and finds the inserted rows.
    for panel in 1..=5 {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("panel {panel} ")) && !l.ends_with(" 0")),
            "panel {panel}: {text}"
        );
    }
}
