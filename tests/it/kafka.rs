//! Against a real Kafka-protocol broker (tansu, started by `scripts/services.sh` on 127.0.0.1;
//! its address comes in `GATEWATCH_KAFKA`): generate -> Kafka -> gatewatch -> alerts, crash
//! two instances in one group, dead-lettering, commits once alerts are spooled. Crash and
//! rebalance exactness is in `exactly_once`.

use std::collections::BTreeSet;
use std::io::BufReader;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gatewatch_ingest::kafka::{KafkaUrl, KafkaWriter};

use crate::support::{alerts_of, gatewatch, gatewatch_ok};

pub fn broker() -> String {
    std::env::var("GATEWATCH_KAFKA")
        .expect("GATEWATCH_KAFKA is not set: start the broker with `scripts/services.sh start` (scripts/test.sh does)")
}

/// A topic (and group) name no other test or run uses.
pub fn unique(prefix: &str) -> String {
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

/// Every scenario, `web-scan` included: its hard negative (an app serving its `.sql` to several
/// clients) is judged across clients by a rule keyed by the log format, which reaches one task
/// through a repartition topic however the input is keyed.
pub(crate) const TRAFFIC: &[&str] = &[
    "--duration",
    "8m",
    "--rate",
    "30",
    "--seed",
    "11",
    "--scenarios",
    "credential-stuffing,distributed-stuffing,password-spray,account-takeover,id-walking,endpoint-discovery,machine-regular,ai-crawler-api,ai-crawler-declared,shadow-api,ai-token-abuse,probing,web-scan",
];

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
    gatewatch_ok(&args, None);
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
    let out = gatewatch_ok(&["run", "-i", &kafka_input(&topic, &group)], None);
    assert_eq!(ids(&alerts_of(&out)), reference);

    // Everything was committed: the same group reads nothing more.
    let again = gatewatch(&["run", "-i", &kafka_input(&topic, &group)], None);
    let summary = String::from_utf8_lossy(&again.stderr);
    assert!(summary.contains("gatewatch: 0 events"), "{summary}");
    assert!(alerts_of(&again).is_empty());
}

fn spawn_run(topic: &str, group: &str, output: &std::path::Path) -> Child {
    // A longer idle stop than the single-instance tests: an instance that stops while the
    // group rebalances leaves the partitions it was about to get to no one, and on a loaded
    // 2-core machine (the whole suite in parallel) 4 s was seen to be too short for that.
    let input = kafka_input(topic, group).replace("stop_after_idle=4s", "stop_after_idle=10s");
    Command::new(env!("CARGO_BIN_EXE_gatewatch"))
        .args([
            "run",
            "-i",
            &input,
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
    let out = gatewatch_ok(
        &[
            "run",
            "-i",
            &kafka_input(&topic, &unique("g")),
            "--dead-letter",
            dl.to_str().unwrap(),
        ],
        None,
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

/// Reads every record of a topic: (key, payload, headers).
fn read_topic(topic: &str) -> Vec<(String, Vec<u8>, std::collections::BTreeMap<String, String>)> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::{Headers, Message};
    let consumer: BaseConsumer = rdkafka::config::ClientConfig::new()
        .set("bootstrap.servers", broker())
        .set("group.id", unique("reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut quiet_since = std::time::Instant::now();
    while std::time::Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|x| {
                                (
                                    x.key.to_owned(),
                                    String::from_utf8_lossy(x.value.unwrap_or_default())
                                        .into_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push((
                    String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                    m.payload().unwrap_or_default().to_vec(),
                    headers,
                ));
                quiet_since = std::time::Instant::now();
            }
            _ if !out.is_empty() && quiet_since.elapsed() > Duration::from_secs(2) => break,
            _ => {}
        }
    }
    out
}

/// `--dead-letter kafka://...`: each rejected record's original bytes go to the topic, with
/// its source topic, partition, offset and error as headers.
#[test]
fn dead_letters_go_to_a_topic_with_their_source_in_headers() {
    let topic = unique("dlq-src");
    let dlq = unique("dlq");
    let url: KafkaUrl = format!("kafka://{}/{topic}", broker()).parse().unwrap();
    let writer = KafkaWriter::connect(&url).unwrap();
    for line in crate::support::failed_logins("203.0.113.78", 60_000, 25, 100) {
        writer.send("203.0.113.78", line.as_bytes()).unwrap();
    }
    let truncated = br#"{"started_at":1767225661000,"request":{"#;
    writer.send("203.0.113.78", truncated).unwrap();
    writer.send("203.0.113.78", b"\xff\xfe not utf8").unwrap();
    writer.flush(Duration::from_secs(30)).unwrap();
    let dl = format!("kafka://{}/{dlq}", broker());
    let out = gatewatch_ok(
        &[
            "run",
            "-i",
            &kafka_input(&topic, &unique("g")),
            "--dead-letter",
            &dl,
        ],
        None,
    );
    assert_eq!(alerts_of(&out).len(), 1);
    let dead = read_topic(&dlq);
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert_eq!(dead[0].1, truncated.to_vec(), "the original bytes");
    assert_eq!(dead[1].1, b"\xff\xfe not utf8".to_vec());
    for (key, _, headers) in &dead {
        assert_eq!(headers["gatewatch.source.topic"], topic);
        assert!(key.starts_with(&format!("{topic}/")), "{key}");
        assert!(headers["gatewatch.source.offset"].parse::<i64>().is_ok());
    }
    assert_eq!(dead[0].2["gatewatch.source.offset"], "25");
    assert!(dead[1].2["gatewatch.error"].contains("invalid UTF-8"));
}

/// Records keyed by something other than their client address are counted and reported: the
/// rules keyed by the address would see the attacker's events split over partitions.
#[test]
fn records_not_keyed_by_client_address_are_reported() {
    let topic = unique("key");
    let url: KafkaUrl = format!("kafka://{}/{topic}", broker()).parse().unwrap();
    let writer = KafkaWriter::connect(&url).unwrap();
    let lines = crate::support::failed_logins("203.0.113.79", 60_000, 10, 100);
    for (i, line) in lines.iter().enumerate() {
        let key = if i < 3 { "203.0.113.79" } else { "round-robin" };
        writer.send(key, line.as_bytes()).unwrap();
    }
    writer.flush(Duration::from_secs(30)).unwrap();
    let out = gatewatch(&["run", "-i", &kafka_input(&topic, &unique("g"))], None);
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{summary}");
    assert!(summary.contains("input key: 7 records"), "{summary}");
    let out = gatewatch(
        &[
            "run",
            "-i",
            &kafka_input(&topic, &unique("g")),
            "--input-key",
            "none",
        ],
        None,
    );
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(!summary.contains("input key:"), "{summary}");
}

/// A quiet input's clock moves with the wall clock, and its watermark reaches the repartition
/// topics at most every sixth of `--idle-timeout`: an idle pipeline must not fill them. (Before
/// this was throttled, each received watermark record woke the loop that shipped more: 1.1M
/// records in a minute on this traffic, and `stop_after_idle` never fired.)
#[test]
fn an_idle_repartitioned_run_sends_few_watermark_records_and_stops() {
    let topic = unique("idle-volume");
    let to = format!("kafka://{}/{topic}", broker());
    gatewatch_ok(
        &[
            "generate",
            "--to",
            &to,
            "--duration",
            "2m",
            "--rate",
            "10",
            "--seed",
            "7",
        ],
        None,
    );
    let dir = tempfile::tempdir().unwrap();
    let input = format!("{to}?group={topic}&stop_after_idle=20s");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatewatch"))
        .args([
            "run",
            "-i",
            &input,
            "--idle-timeout",
            "12s",
            "--quiet-alerts",
            "-o",
        ])
        .arg(dir.path().join("alerts.jsonl"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).unwrap();
        s
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running 120 s later: stop_after_idle=20s never fired");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = log.join().unwrap();
    let records: u64 = log
        .lines()
        .find_map(|l| l.split(" rows sent in ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no repartition summary in:\n{log}"));
    // About 480 on this traffic: the rows' records plus a few watermark rounds.
    assert!(records < 2_000, "{records} repartition records:\n{log}");
}
