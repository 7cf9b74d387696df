//! gatewatch as a long-running service: Prometheus `/metrics` scraped while a stdin run and a
//! Kafka run (real broker) are going, `/healthz` and `/readyz`, Prometheus' own `promtool`
//! accepting the output, and a closed stdout pipe ending a command quietly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{kong, EPOCH};

/// One HTTP/1.0 GET: (status, body).
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("metrics server accepts connections");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_owned())
}

/// The value of one sample (`name{labels} value`) summed over its label sets.
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Starts `gatewatch run ARGS --metrics-addr 127.0.0.1:0` and reads the bound address from
/// its log.
fn start(args: &[&str], stdin: Stdio) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatewatch"))
        .arg("run")
        .args(args)
        .args(["--metrics-addr", "127.0.0.1:0", "--quiet-alerts"])
        .env("GATEWATCH_LOG", "info")
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gatewatch runs");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("gatewatch logs where its metrics are")
            .unwrap();
        if let Some(rest) = line.split("metrics on http://").nth(1) {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// Polls `/metrics` until `name` reaches at least `min`.
fn wait_for(addr: &str, name: &str, min: f64) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = get(addr, "/metrics");
        assert_eq!(status, 200);
        if sample(&body, name) >= min {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never reached {min}:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `promtool check metrics` from Prometheus (fetched by `scripts/services.sh`), on the text.
fn promtool_accepts(text: &str) {
    let promtool = std::env::var("GATEWATCH_PROMTOOL")
        .expect("GATEWATCH_PROMTOOL is not set: `scripts/services.sh start` fetches promtool");
    let mut p = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    p.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = p.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool rejects the metrics:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_stdin_run_serves_metrics_health_and_readiness_while_it_runs() {
    let (mut child, addr) = start(&["-i", "-"], Stdio::piped());
    let mut stdin = child.stdin.take().unwrap();
    // Failed logins from one address, a malformed line, then more traffic a minute later.
    for i in 0..40 {
        writeln!(
            stdin,
            "{}",
            kong(EPOCH + i * 500, "203.0.113.9", "POST", "/api/v1/login", 401)
        )
        .unwrap();
    }
    writeln!(stdin, "this is not a log line").unwrap();
    for i in 0..5 {
        writeln!(
            stdin,
            "{}",
            kong(
                EPOCH + 120_000 + i,
                "198.51.100.1",
                "GET",
                "/api/v1/items",
                200
            )
        )
        .unwrap();
    }
    stdin.flush().unwrap();
    let body = wait_for(&addr, "gatewatch_input_lines_total", 46.0);
    assert_eq!(sample(&body, "gatewatch_malformed_total"), 1.0, "{body}");
    let body = wait_for(&addr, "gatewatch_events_total", 45.0);
    assert!(body.contains(r#"format="kong""#), "{body}");
    assert_eq!(get(&addr, "/healthz").0, 200);
    assert_eq!(
        get(&addr, "/readyz").0,
        200,
        "a stdin run is ready once rules are loaded"
    );
    // The stuffing burst closes its window when the later traffic moves the watermark.
    let body = wait_for(&addr, "gatewatch_alerts_total", 1.0);
    assert!(
        body.contains(r#"rule="credential-stuffing-single-source""#),
        "{body}"
    );
    assert!(body.contains("# HELP gatewatch_alerts_total"), "{body}");
    // Where the time goes and what state is held, per rule.
    let body = wait_for(&addr, "gatewatch_rule_eval_seconds", 1e-9);
    assert!(
        body.contains(r#"gatewatch_rule_eval_seconds{rule="credential-stuffing-single-source"}"#),
        "{body}"
    );
    assert!(
        body.contains("gatewatch_window_state_bytes{rule="),
        "{body}"
    );
    promtool_accepts(&body);
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn a_kafka_run_is_ready_once_it_joined_its_group_counts_what_it_reads_and_stops_when_idle() {
    let topic = crate::kafka::unique("metrics");
    let to = format!("kafka://{}/{topic}", crate::kafka::broker());
    let out = crate::support::gatewatch(
        &[
            "generate",
            "--to",
            &to,
            "--duration",
            "3m",
            "--rate",
            "20",
            "--seed",
            "5",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let input = format!(
        // Longer than the 5 s statistics period (the lag metric below) and than the period at
        // which repartition watermark and idle marks are re-sent: those are not activity.
        "kafka://{}/{topic}?group={topic}&stop_after_idle=30s",
        crate::kafka::broker()
    );
    let (mut child, addr) = start(&["-i", &input], Stdio::null());
    let deadline = Instant::now() + Duration::from_secs(60);
    while get(&addr, "/readyz").0 != 200 {
        assert!(
            Instant::now() < deadline,
            "never ready: the group was not joined"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let body = wait_for(&addr, "gatewatch_events_total", 1000.0);
    assert!(body.contains(&format!(r#"source="{topic}""#)), "{body}");
    let body = wait_for(&addr, "gatewatch_commits_total", 1.0);
    assert!(body.contains("gatewatch_watermark_lag_seconds{"), "{body}");
    promtool_accepts(&body);
    // librdkafka's statistics (every 5 s) give each owned partition's lag behind its end.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = get(&addr, "/metrics");
        if body.contains(&format!(
            r#"gatewatch_consumer_lag_messages{{source="{topic}",partition="0"}}"#
        )) {
            break;
        }
        assert!(Instant::now() < deadline, "no consumer lag metric:\n{body}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running 120 s later: a 30 s stop_after_idle never fired");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.success());
}

#[test]
fn a_closed_stdout_pipe_ends_a_command_quietly() {
    // Far more than a pipe buffer, so the writer does hit the closed pipe.
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatewatch"))
        .args(["generate", "--duration", "30m", "--rate", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone (dropped above), as after `| head -1`.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!first.is_empty());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.trim().is_empty(), "nothing on stderr: {stderr}");
}

/// The pipeline dashboard's PromQL, as Prometheus recording rules (`$__rate_interval` set to
/// `5m`), so that `promtool check rules` parses every query.
fn dashboard_queries() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/grafana/gatewatch-pipeline.json");
    let dash: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let panels = dash["panels"].as_array().unwrap();
    assert!(panels.len() >= 8);
    panels
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| {
            t["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "5m")
        })
        .collect()
}

#[test]
fn the_pipeline_dashboard_queries_parse_and_name_only_exported_metrics() {
    let queries = dashboard_queries();
    let exported: Vec<&str> = gatewatch_pipeline::observe::METRICS
        .iter()
        .map(|m| m.0)
        .collect();
    let mut used = std::collections::BTreeSet::new();
    for q in &queries {
        for (at, _) in q.match_indices("gatewatch_") {
            let name: String = q[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            assert!(
                exported.contains(&name.as_str()),
                "{q}: {name} is not exported"
            );
            used.insert(name);
        }
    }
    assert!(
        used.len() >= 15,
        "the dashboard shows most metrics: {used:?}"
    );
    // JSON is YAML: a rules file promtool reads.
    let rules: Vec<serde_json::Value> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| serde_json::json!({"record": format!("dashboard:query_{i}"), "expr": q}))
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        serde_json::json!({"groups": [{"name": "dashboard", "rules": rules}]}).to_string(),
    )
    .unwrap();
    let promtool = std::env::var("GATEWATCH_PROMTOOL")
        .expect("GATEWATCH_PROMTOOL is not set: `scripts/services.sh start` fetches promtool");
    let out = Command::new(promtool)
        .args(["check", "rules"])
        .arg(file.path())
        .output()
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool rejects a dashboard query:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
