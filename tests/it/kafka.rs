//! Against a real Kafka-protocol broker (tansu, started by `scripts/services.sh` on 127.0.0.1;
//! its address comes in `GATEWATCH_KAFKA`): generate -> Kafka -> gatewatch -> alerts, crash
//! safety with kill -9, two instances in one group, and dead-lettering.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gatewatch_ingest::kafka::{KafkaUrl, KafkaWriter};

use crate::support::{alerts_of, gatewatch};

fn broker() -> String {
    std::env::var("GATEWATCH_KAFKA")
        .expect("GATEWATCH_KAFKA is not set: start the broker with `scripts/services.sh start` (scripts/test.sh does)")
}

/// A topic (and group) name no other test or run uses.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn kafka_input(topic: &str, group: &str) -> String {
    format!(
        "kafka://{}/{topic}?group={group}&stop_after_idle=4s",
        broker()
    )
}

const TRAFFIC: &[&str] = &["--duration", "8m", "--rate", "30", "--seed", "11"];

/// Generates the same traffic to a file and to a topic; returns the alert ids of the file run.
fn produce_and_reference(topic: &str) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("traffic.log");
    let mut args = vec!["generate", "-o", file.to_str().unwrap()];
    args.extend_from_slice(TRAFFIC);
    assert!(gatewatch(&args, None).status.success());
    let to = format!("kafka://{}/{topic}", broker());
    let mut args = vec!["generate", "--to", to.as_str()];
    args.extend_from_slice(TRAFFIC);
    let out = gatewatch(&args, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference = ids(&alerts_of(&gatewatch(
        &["run", "-i", file.to_str().unwrap()],
        None,
    )));
    assert!(
        reference.len() >= 3,
        "the traffic must produce alerts: {reference:?}"
    );
    reference
}

fn ids(alerts: &[serde_json::Value]) -> BTreeSet<String> {
    alerts
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

fn file_alerts(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn kafka_run_gives_the_same_alerts_as_the_file_run_and_commits() {
    let topic = unique("e2e");
    let reference = produce_and_reference(&topic);
    let group = unique("g");
    let out = gatewatch(&["run", "-i", &kafka_input(&topic, &group)], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ids(&alerts_of(&out)), reference);

    // Everything was committed: the same group reads nothing more.
    let again = gatewatch(&["run", "-i", &kafka_input(&topic, &group)], None);
    let summary = String::from_utf8_lossy(&again.stderr);
    assert!(summary.contains("gatewatch: 0 events"), "{summary}");
    assert!(alerts_of(&again).is_empty());
}

fn spawn_run(topic: &str, group: &str, output: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gatewatch"))
        .args([
            "run",
            "-i",
            &kafka_input(topic, group),
            "-o",
            output.to_str().unwrap(),
            "--quiet-alerts",
        ])
        .env("GATEWATCH_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for a stderr line containing `needle` (the child keeps running).
fn wait_for(child: &mut Child, needle: &str) -> BufReader<std::process::ChildStderr> {
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.contains(needle) {
            return reader;
        }
    }
    panic!("gatewatch never logged {needle:?}");
}

#[test]
fn kill_9_at_several_points_loses_nothing_and_duplicates_no_alert_id() {
    let topic = unique("crash");
    let reference = produce_and_reference(&topic);
    let group = unique("g");
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("alerts.jsonl");
    for delay_ms in [0u64, 150, 400, 800] {
        let mut child = spawn_run(&topic, &group, &output);
        let _stderr = wait_for(&mut child, "partitions assigned");
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL: no shutdown, no final commit
        child.wait().unwrap();
    }
    let mut last = spawn_run(&topic, &group, &output);
    assert!(last.wait().unwrap().success());

    let alerts = file_alerts(&output);
    let all: Vec<_> = alerts
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    let distinct: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(
        all.len(),
        distinct.len(),
        "an alert id was written twice: {all:?}"
    );
    assert_eq!(
        distinct, reference,
        "alerts lost or invented across the crashes"
    );
}

#[test]
fn two_instances_in_one_group_give_the_alerts_of_one() {
    let topic = unique("scale");
    let reference = produce_and_reference(&topic);
    let group = unique("g");
    let dir = tempfile::tempdir().unwrap();
    let (a_out, b_out) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    let mut a = spawn_run(&topic, &group, &a_out);
    let mut b = spawn_run(&topic, &group, &b_out);
    // Keep draining stderr so neither blocks on a full pipe.
    let drain = |c: &mut Child| {
        let r = c.stderr.take().unwrap();
        std::thread::spawn(move || std::io::copy(&mut BufReader::new(r), &mut std::io::sink()))
    };
    let (da, db) = (drain(&mut a), drain(&mut b));
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let _ = (da.join(), db.join());
    let mut union = ids(&file_alerts(&a_out));
    union.extend(ids(&file_alerts(&b_out)));
    assert_eq!(union, reference);
}

#[test]
fn malformed_messages_are_dead_lettered_with_partition_and_offset() {
    let topic = unique("bad");
    let url: KafkaUrl = format!("kafka://{}/{topic}", broker()).parse().unwrap();
    let writer = KafkaWriter::connect(&url).unwrap();
    let good = crate::support::failed_logins("203.0.113.77", 60_000, 25, 100);
    for (i, line) in good.iter().enumerate() {
        writer.send("203.0.113.77", line.as_bytes()).unwrap();
        if i == 10 {
            writer
                .send("203.0.113.77", br#"{"started_at":1,"request":{"#)
                .unwrap();
            writer.send("203.0.113.77", b"\xff\xfe not utf8").unwrap();
        }
    }
    writer.flush(Duration::from_secs(30)).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let dl = dir.path().join("dead.jsonl");
    let out = gatewatch(
        &[
            "run",
            "-i",
            &kafka_input(&topic, &unique("g")),
            "--dead-letter",
            dl.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts = alerts_of(&out);
    assert_eq!(
        alerts.len(),
        1,
        "the good records around the bad ones still alert"
    );
    assert_eq!(alerts[0]["event_count"], 25);
    let dead: Vec<serde_json::Value> = std::fs::read_to_string(&dl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(dead.len(), 2);
    // All records share one key, so one partition; the bad ones follow the 11th good record.
    let partition = dead[0]["partition"].as_i64().unwrap();
    assert!(dead
        .iter()
        .all(|d| d["partition"].as_i64() == Some(partition) && d["source"] == topic.as_str()));
    assert_eq!(dead[0]["offset"], 11);
    assert_eq!(dead[1]["offset"], 12);
    assert!(dead[1]["error"].as_str().unwrap().contains("invalid UTF-8"));
}

/// Kafka offsets move once alerts are durably spooled, not only once ClickHouse has them: a
/// run with ClickHouse down commits everything (a second run of the group reads nothing), and
/// the alerts reach ClickHouse, once each, when a later start finds it up.
#[test]
fn offsets_commit_once_spooled_and_clickhouse_gets_the_alerts_when_back() {
    let topic = unique("spool");
    let reference = produce_and_reference(&topic);
    let group = unique("g");
    let tmp = tempfile::tempdir().unwrap();
    let mut server = crate::sinks::OwnClickHouse::new();
    let config = tmp.path().join("gatewatch.toml");
    std::fs::write(
        &config,
        format!(
            "[spool]\ndir = {:?}\ndrain_timeout = \"60s\"\n[clickhouse]\nurl = \"{}/gw\"\ntraffic_stats = false\nbatch_linger = \"100ms\"\ndelivery = {{ max_backoff = \"1s\" }}\n",
            tmp.path().join("spool"),
            server.url()
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let down = gatewatch(
        &[
            "run",
            "-i",
            &kafka_input(&topic, &group),
            "--config",
            cfg,
            "--drain-timeout",
            "0s",
        ],
        None,
    );
    let summary = String::from_utf8_lossy(&down.stderr);
    assert!(down.status.success(), "{summary}");
    assert_eq!(ids(&alerts_of(&down)), reference);
    assert!(
        summary.contains("sink clickhouse: 0 delivered"),
        "{summary}"
    );

    // Committed although ClickHouse never saw a row: the spool holds them.
    server.start();
    let again = gatewatch(
        &["run", "-i", &kafka_input(&topic, &group), "--config", cfg],
        None,
    );
    let summary = String::from_utf8_lossy(&again.stderr);
    assert!(summary.contains("gatewatch: 0 events"), "{summary}");
    assert!(summary.contains("0 pending in spool"), "{summary}");
    let stored: Vec<String> =
        crate::sinks::ch_query(&server.url(), "SELECT id FROM gw.alerts FINAL")
            .lines()
            .map(str::to_owned)
            .collect();
    assert_eq!(stored.len(), reference.len());
    assert_eq!(stored.into_iter().collect::<BTreeSet<_>>(), reference);
}
