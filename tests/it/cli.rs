//! The `gatewatch` binary as a user runs it: embedded default, generated traffic, files,
//! gzip, stdin, bad input and bad options.

use std::io::Write;

use crate::support::{alerts_of, failed_logins, gatewatch, gatewatch_ok, kong};

const RULE: &str = "credential-stuffing-single-source";

use crate::support::generate;

fn entities(alerts: &[serde_json::Value]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| a["entity"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn no_arguments_runs_the_bundled_sample_and_finds_the_stuffer() {
    let out = gatewatch_ok(&[], None);
    let all = alerts_of(&out);
    // The sample holds every scenario; the bundled shop spec makes shadow/zombie findings too.
    let rules: std::collections::BTreeSet<&str> =
        all.iter().map(|a| a["rule_id"].as_str().unwrap()).collect();
    for r in [
        RULE,
        "bola-id-walking",
        "shadow-api-endpoint",
        "probing-attack-tools",
    ] {
        assert!(
            rules.contains(r),
            "{r} missing from the sample's alerts: {rules:?}"
        );
    }
    let alerts: Vec<serde_json::Value> = all.into_iter().filter(|a| a["rule_id"] == RULE).collect();
    assert!(
        entities(&alerts)
            .iter()
            .all(|e| e == gatewatch_generate::STUFFER_IP),
        "{:?}",
        entities(&alerts)
    );
    let a = &alerts[0];
    for field in [
        "id",
        "title",
        "severity",
        "entity_type",
        "window_start",
        "window_end",
        "first_seen",
        "last_seen",
        "event_count",
        "evidence",
        "tags",
    ] {
        assert!(!a[field].is_null(), "alert lacks {field}: {a}");
    }
    assert!(a["event_count"].as_i64().unwrap() >= 20);
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary.contains("events/s") && summary.contains("malformed: 0"),
        "{summary}"
    );
    assert!(summary.contains(&format!("rule {RULE}:")), "{summary}");
}

#[test]
fn silent_on_the_benign_mix_including_nat_office_and_mistyped_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let benign = generate(
        dir.path(),
        "benign.log",
        &["--scenarios", "none", "--duration", "30m", "--rate", "80"],
    );
    let out = gatewatch(&["run", "--input", benign.to_str().unwrap()], None);
    assert!(out.status.success());
    assert_eq!(alerts_of(&out), Vec::<serde_json::Value>::new());

    // With every attack mixed in, single-source stuffing alerts name only attackers that
    // fail logins from one address (the stuffer, and the sprayer and account taker when they
    // cross the per-minute threshold): not the carrier NAT, the office, the health checks,
    // nor the low-and-slow addresses. No rule names a hard negative.
    let mixed = generate(
        dir.path(),
        "mixed.log",
        &["--duration", "30m", "--rate", "80", "--jitter", "2s"],
    );
    let out = gatewatch(&["run", "--input", mixed.to_str().unwrap()], None);
    let alerts = alerts_of(&out);
    let stuffing: Vec<_> = alerts
        .iter()
        .filter(|a| a["rule_id"] == "credential-stuffing-single-source")
        .cloned()
        .collect();
    let alerted = entities(&stuffing);
    assert!(alerted.contains(&gatewatch_generate::STUFFER_IP.to_string()));
    assert!(
        alerted.iter().all(|e| e == gatewatch_generate::STUFFER_IP),
        "{alerted:?}"
    );
    use gatewatch_generate::{BULK_IP, GOOGLEBOT_IP, NAT_IP, OFFICE_IP, PROBE_IP};
    for a in &alerts {
        let e = a["entity"].as_str().unwrap();
        assert!(
            ![NAT_IP, OFFICE_IP, PROBE_IP, BULK_IP, GOOGLEBOT_IP].contains(&e),
            "hard negative alerted: {a}"
        );
    }
}

#[test]
fn alert_ids_are_identical_across_runs_and_input_forms() {
    let dir = tempfile::tempdir().unwrap();
    let log = generate(
        dir.path(),
        "t.log",
        &["--duration", "12m", "--seed", "7", "--jitter", "1s"],
    );
    let a = gatewatch(
        &["run", "-i", log.to_str().unwrap(), "--threads", "1"],
        None,
    );
    let b = gatewatch(
        &["run", "-i", log.to_str().unwrap(), "--threads", "2"],
        None,
    );
    assert!(a.status.success() && b.status.success());
    assert!(!a.stdout.is_empty());
    // Each alert is identical byte for byte; only the interleaving of different rules' alerts
    // can follow where batches were cut (a window of one rule closing in this batch or the
    // next, relative to another rule's).
    let sorted = |out: &std::process::Output| {
        let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(
        sorted(&a),
        sorted(&b),
        "same input, same alerts byte for byte"
    );

    // gzip (detected by content, not name) and stdin give the same alerts.
    let data = std::fs::read(&log).unwrap();
    let gz = dir.path().join("t.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&data).unwrap();
    enc.finish().unwrap();
    let c = gatewatch(&["run", "-i", gz.to_str().unwrap()], None);
    assert_eq!(sorted(&a), sorted(&c));
    let d = gatewatch(&["run", "-i", "-", "--format", "kong"], Some(&data));
    assert_eq!(sorted(&a), sorted(&d));
}

#[test]
fn generate_is_deterministic_and_writes_labels() {
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels.jsonl");
    let a = generate(
        dir.path(),
        "a.log",
        &["--duration", "5m", "--labels", labels.to_str().unwrap()],
    );
    let b = generate(dir.path(), "b.log", &["--duration", "5m"]);
    let c = generate(dir.path(), "c.log", &["--duration", "5m", "--seed", "1"]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
    let labels = std::fs::read_to_string(labels).unwrap();
    let attacks: Vec<serde_json::Value> = labels
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &serde_json::Value| l["attack"] == true)
        .collect();
    let names: Vec<_> = attacks
        .iter()
        .map(|l| l["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "credential-stuffing",
            "distributed-stuffing",
            "password-spray",
            "account-takeover",
            "id-walking",
            "endpoint-discovery",
            "machine-regular",
            "ua-spoofing",
            "ai-crawler-api",
            "ai-crawler-declared",
            "shadow-api",
            "zombie-api",
            "ai-token-abuse",
            "probing",
            "web-scan",
            "spa-scan",
            "cache-flood",
            "form-brute-force",
            "install-scan",
            "technology-probe",
            "crawl"
        ]
    );
}

#[test]
fn malformed_input_is_counted_dead_lettered_and_the_stream_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("bad.log");
    let mut data = Vec::new();
    let mut push = |line: &[u8]| {
        data.extend_from_slice(line);
        data.push(b'\n');
    };
    let good = failed_logins("203.0.113.9", 60_000, 30, 500);
    for l in &good[..10] {
        push(l.as_bytes());
    }
    push(br#"{"started_at":61000,"client_ip":"203.0.113.9","request":{"#); // line 11: truncated
    push(b"{\"started_at\":61000,\"client_ip\":\"\xff\xfe\"}"); // line 12: invalid UTF-8
    push(br#"{"started_at":61000,"response":{"status":"teapot"}}"#); // line 13: wrong type
    let mut huge = br#"{"started_at":61000,"pad":""#.to_vec(); // line 14: a 10 MB line
    huge.extend(std::iter::repeat_n(b'a', 10 << 20));
    huge.extend_from_slice(br#""}"#);
    push(&huge);
    for l in &good[10..] {
        push(l.as_bytes());
    }
    push(kong(200_000, "10.0.0.1", "GET", "/", 200).as_bytes());
    std::fs::write(&log, &data).unwrap();

    let dl = dir.path().join("dead.jsonl");
    let out = gatewatch(
        &[
            "run",
            "-i",
            log.to_str().unwrap(),
            "--dead-letter",
            dl.to_str().unwrap(),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("malformed: 4"), "{stderr}");
    let alerts = alerts_of(&out);
    assert_eq!(
        alerts.len(),
        1,
        "the good lines around the bad ones still alert"
    );
    assert_eq!(alerts[0]["event_count"], 30);

    let dead: Vec<serde_json::Value> = std::fs::read_to_string(&dl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let offsets: Vec<_> = dead.iter().map(|d| d["offset"].as_i64().unwrap()).collect();
    assert_eq!(offsets, [11, 12, 13, 14]);
    assert!(dead.iter().all(|d| d["source"] == log.to_str().unwrap()));
    assert!(
        dead[0]["raw"]
            .as_str()
            .unwrap()
            .starts_with(r#"{"started_at":61000"#),
        "the raw line is kept"
    );
    assert!(dead[1]["raw_hex"].as_str().unwrap().contains("fffe"));
    assert!(dead[1]["error"].as_str().unwrap().contains("invalid UTF-8"));
    assert!(dead[2]["error"].as_str().unwrap().contains("teapot"));
    assert!(dead[3]["error"]
        .as_str()
        .unwrap()
        .contains("exceeds the 1048576-byte limit"));
    assert_eq!(dead[3]["raw_truncated"], true);
    assert!(dead[3]["raw"].as_str().unwrap().len() <= 4096);
    // Each malformed line is also logged with its position.
    assert!(stderr.contains("offset=11"), "{stderr}");
}

#[test]
fn output_file_gets_the_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("l.log");
    // 20 failures over ten seconds (faster ones, within the retry loop of one HTTP client, are
    // not stuffing: see the rule's `min_failure_seconds`).
    std::fs::write(&log, failed_logins("203.0.113.50", 0, 20, 500).join("\n")).unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    let out = gatewatch(
        &[
            "run",
            "-i",
            log.to_str().unwrap(),
            "-o",
            alerts.to_str().unwrap(),
            "--quiet-alerts",
        ],
        None,
    );
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(alerts).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.contains("203.0.113.50"));
}

#[test]
fn threshold_is_a_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("l.log");
    std::fs::write(&log, failed_logins("203.0.113.50", 0, 12, 1000).join("\n")).unwrap();
    let path = log.to_str().unwrap();
    assert!(alerts_of(&gatewatch(&["run", "-i", path], None)).is_empty());
    let out = gatewatch(&["run", "-i", path, "--param", "min_failures=10"], None);
    assert_eq!(alerts_of(&out).len(), 1);
    let out = gatewatch(&["run", "-i", path, "--param", "min_failures=many"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected an integer"));
}

#[test]
fn user_errors_are_one_line_and_exit_non_zero() {
    let out = gatewatch(&["run", "--input", "/no/such/file.log"], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("gatewatch: error: cannot open input \"/no/such/file.log\""),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let out = gatewatch(&["run", "--format", "syslog"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected auto, kong, envoy or nginx"));

    let out = gatewatch(&["run", "--allowed-lateness", "5 fortnights"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a duration"));
}
