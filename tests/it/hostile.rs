//! The input is written by attackers: hostile lines, forged timestamps, floods of entities,
//! and alerts carrying attacker text to chats and webhooks. None of it may crash, hang, blind
//! or exhaust the pipeline; what is rejected is dead-lettered with its reason.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::receiver::Receiver;
use crate::support::{alerts_of, failed_logins, gatewatch, gatewatch_ok, kong, EPOCH};

const MIN: i64 = 60_000;
const STUFFER: &str = "203.0.113.66";

fn dead_letters(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A Kong line with a raw `started_at` (any number, as an attacker writes it).
fn kong_at(started_at: &str, ip: &str, status: u16) -> String {
    format!(
        r#"{{"started_at":{started_at},"client_ip":"{ip}","request":{{"method":"POST","uri":"/api/v1/login","headers":{{"user-agent":"test"}}}},"response":{{"status":{status}}}}}"#
    )
}

#[test]
fn a_hostile_corpus_is_dead_lettered_with_reasons_and_the_attacks_are_still_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut data: Vec<u8> = Vec::new();
    // (line number, what the dead letter must say)
    let mut expect: Vec<(usize, &str)> = Vec::new();
    let mut n = 0usize;
    let mut push = |line: &[u8], data: &mut Vec<u8>| {
        data.extend_from_slice(line);
        data.push(b'\n');
        n += 1;
        n
    };
    let attack = failed_logins(STUFFER, MIN, 30, 1_000);
    for (i, good) in attack.iter().enumerate() {
        push(good.as_bytes(), &mut data);
        match i {
            2 => {
                let l = push(
                    br#"{"started_at":1767225660000,"client_ip":"1.2.3.4","request":{"#,
                    &mut data,
                );
                expect.push((l, "EOF"));
            }
            4 => {
                let l = push(
                    b"{\"started_at\":1767225660000,\"client_ip\":\"\xff\xfe\"}",
                    &mut data,
                );
                expect.push((l, "invalid UTF-8"));
            }
            6 => {
                let t = EPOCH + MIN + 6_500;
                let l = push(
                    format!(r#"{{"started_at":{t},"response":{{"status":"teapot"}}}}"#).as_bytes(),
                    &mut data,
                );
                expect.push((l, "teapot"));
            }
            8 => {
                // Deep nesting, unclosed: rejected; closed: skipped without recursing (and the
                // record, at 1:08.5, is a benign one).
                let mut deep = br#"{"started_at":1767225660000,"x":"#.to_vec();
                deep.extend(std::iter::repeat_n(b'[', 100_000));
                let l = push(&deep, &mut data);
                expect.push((l, "EOF while parsing"));
                let t = EPOCH + MIN + 8_500;
                let mut closed =
                    format!(r#"{{"started_at":{t},"client_ip":"10.8.8.8","x":"#).into_bytes();
                closed.extend(std::iter::repeat_n(b'[', 100_000));
                closed.extend(std::iter::repeat_n(b']', 100_000));
                closed.push(b'}');
                push(&closed, &mut data);
            }
            10 => {
                let mut huge = br#"{"started_at":1767225660000,"pad":""#.to_vec();
                huge.extend(std::iter::repeat_n(b'a', 2 << 20));
                huge.extend_from_slice(br#""}"#);
                let l = push(&huge, &mut data);
                expect.push((l, "exceeds"));
            }
            12 => {
                for (t, why) in [
                    ("0", "outside 2000-2100"),
                    ("-1767225660000", "outside 2000-2100"),
                    ("9223372036854775807", "outside 2000-2100"),
                    ("-9223372036854775808", "outside 2000-2100"),
                ] {
                    let l = push(kong_at(t, "10.6.6.6", 200).as_bytes(), &mut data);
                    expect.push((l, why));
                }
            }
            14 => {
                // One record a year ahead: held, never confirmed, dead-lettered.
                let year = (EPOCH + MIN + 14_500 + 365 * 24 * 60 * MIN).to_string();
                let l = push(kong_at(&year, "10.6.6.7", 200).as_bytes(), &mut data);
                expect.push((l, "time_jump"));
            }
            16 => {
                // Accepted as they are: a BOM, CRLF, and times in s / µs / ns.
                let t = EPOCH + MIN + 16_500;
                let mut bom = b"\xEF\xBB\xBF".to_vec();
                bom.extend_from_slice(kong(MIN + 16_500, "10.7.7.7", "GET", "/", 200).as_bytes());
                push(&bom, &mut data);
                let crlf = format!("{}\r", kong(MIN + 16_600, "10.7.7.8", "GET", "/", 200));
                push(crlf.as_bytes(), &mut data);
                push(
                    kong_at(&(t / 1000).to_string(), "10.7.7.9", 200).as_bytes(),
                    &mut data,
                );
                push(
                    kong_at(&(t * 1000).to_string(), "10.7.7.9", 200).as_bytes(),
                    &mut data,
                );
                push(
                    kong_at(&(t * 1_000_000).to_string(), "10.7.7.9", 200).as_bytes(),
                    &mut data,
                );
            }
            _ => {}
        }
    }
    // A quiet night, then a genuine jump confirmed by the records after it: a second burst.
    let morning = 8 * 60 * MIN;
    for good in failed_logins(STUFFER, morning, 25, 500) {
        push(good.as_bytes(), &mut data);
    }
    let input = dir.path().join("hostile.log");
    std::fs::write(&input, &data).unwrap();
    let dl = dir.path().join("dead.jsonl");
    let started = Instant::now();
    let out = gatewatch(
        &[
            "run",
            "-i",
            input.to_str().unwrap(),
            "--dead-letter",
            dl.to_str().unwrap(),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60), "no hang");
    let alerts = alerts_of(&out);
    let bursts: Vec<i64> = alerts
        .iter()
        .filter(|a| a["entity"] == STUFFER && a["rule_id"] == "credential-stuffing-single-source")
        .map(|a| a["event_count"].as_i64().unwrap())
        .collect();
    assert_eq!(bursts, [30, 25], "both bursts found: {alerts:#?}");
    let dead = dead_letters(&dl);
    for (line, why) in &expect {
        let d = dead
            .iter()
            .find(|d| d["offset"].as_i64() == Some(*line as i64))
            .unwrap_or_else(|| panic!("line {line} not dead-lettered: {dead:#?}"));
        let error = d["error"].as_str().unwrap();
        assert!(error.contains(why), "line {line}: {error:?} (want {why:?})");
    }
    assert_eq!(dead.len(), expect.len(), "only the bad lines: {dead:#?}");
    assert!(
        stderr.contains("event times rescaled: 3 records"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 rejected (dead-lettered as time_jump)"),
        "{stderr}"
    );
}

#[test]
fn one_record_a_year_ahead_cannot_blind_the_burst_after_it() {
    let mut lines: Vec<String> = (0..10)
        .map(|i| kong(MIN + i * 1_000, "10.1.1.1", "GET", "/", 200))
        .collect();
    let year = (EPOCH + 365 * 24 * 60 * MIN).to_string();
    lines.push(kong_at(&year, "10.6.6.6", 200));
    lines.extend(failed_logins(STUFFER, MIN + 11_000, 25, 1_000));
    let out = gatewatch(&["run", "-i", "-"], Some(lines.join("\n").as_bytes()));
    assert!(out.status.success());
    let alerts = alerts_of(&out);
    assert!(
        alerts
            .iter()
            .any(|a| a["entity"] == STUFFER && a["event_count"] == 25),
        "{alerts:#?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("late (behind watermark): 0"));
}

/// Peak resident memory of a running process, polled until it exits.
fn run_measuring_rss(
    mut cmd: Command,
    stdin: impl FnOnce(std::process::ChildStdin) + Send + 'static,
) -> (std::process::Output, u64) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin(input));
    let pid = child.id();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let p = peak.clone();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = done.clone();
    let poller = std::thread::spawn(move || {
        while !d.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                if let Some(kb) = s
                    .lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    p.fetch_max(kb * 1024, std::sync::atomic::Ordering::Relaxed);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = (writer.join(), poller.join());
    (out, peak.load(std::sync::atomic::Ordering::Relaxed))
}

/// A million distinct client addresses each failing one login, over five minutes: every rule
/// stays within its state limit (shedding new entities, raising state-pressure alerts), memory
/// stays bounded, and a stuffing burst from an address already tracked is still found.
#[test]
fn a_flood_of_a_million_addresses_stays_bounded_and_the_burst_is_still_found() {
    const FLOOD: u64 = 1_000_000;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatewatch"));
    cmd.args([
        "run",
        "-i",
        "-",
        "--max-state-bytes",
        "4MiB",
        "--max-groups",
        "20000",
    ])
    .env("GATEWATCH_LOG", "warn");
    let (out, peak) = run_measuring_rss(cmd, |mut stdin| {
        let mut buf = String::new();
        let span = 5 * MIN;
        for i in 0..FLOOD {
            let t = MIN + (i as i64 * span) / FLOOD as i64;
            // The attacker's burst: the first seconds of minute 3, before that minute's flood.
            if i == FLOOD * 2 / 5 {
                for l in failed_logins(STUFFER, 3 * MIN, 25, 50) {
                    buf.push_str(&l);
                    buf.push('\n');
                }
            }
            let ip = format!("2001:db8:{:x}:{:x}::1", i >> 16, i & 0xffff);
            buf.push_str(&kong(t, &ip, "POST", "/api/v1/login", 401));
            buf.push('\n');
            if buf.len() > 1 << 20 {
                if stdin.write_all(buf.as_bytes()).is_err() {
                    return;
                }
                buf.clear();
            }
        }
        let _ = stdin.write_all(buf.as_bytes());
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let alerts = alerts_of(&out);
    assert!(
        alerts
            .iter()
            .any(|a| a["entity"] == STUFFER && a["rule_id"] == "credential-stuffing-single-source"),
        "the burst is found: {stderr}"
    );
    let pressure: Vec<_> = alerts
        .iter()
        .filter(|a| a["rule_id"] == "gatewatch-state-pressure")
        .collect();
    assert!(!pressure.is_empty(), "shedding is reported: {stderr}");
    assert!(pressure
        .iter()
        .all(|a| a["fields"]["shed_rows"].as_u64().unwrap() > 0));
    let ids: std::collections::HashSet<_> = pressure.iter().map(|a| a["id"].clone()).collect();
    assert_eq!(
        ids.len(),
        pressure.len(),
        "each task's report of a rule and window has its own id"
    );
    assert!(
        peak < 900 << 20,
        "peak RSS {} MiB with a million entities",
        peak >> 20
    );
    eprintln!("flood of {FLOOD} addresses: peak RSS {} MiB", peak >> 20);
}

/// Three hundred addresses each stuffing logins in one minute, on two workers capped at ten
/// alerts per rule and window: each worker keeps its ten busiest and summarises the rest in
/// one `gatewatch-alert-flood` alert; kept and summarised add up to every stuffer, and the
/// two workers' summaries of one rule and window keep distinct ids (a sink deduplicating by
/// id keeps both counts).
#[test]
fn an_alert_flood_is_summarised_per_worker_under_distinct_ids() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.log");
    let mut lines = Vec::new();
    for i in 0..300 {
        let ip = if i < 250 {
            format!("198.51.100.{}", i + 1)
        } else {
            format!("192.0.2.{}", i - 249)
        };
        lines.extend(failed_logins(&ip, MIN + i as i64, 25, 1_000));
    }
    lines.sort_by_key(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        v["started_at"].as_i64().unwrap()
    });
    std::fs::write(&input, lines.join("\n")).unwrap();
    let out = gatewatch(
        &[
            "run",
            "-i",
            input.to_str().unwrap(),
            "--workers",
            "2",
            "--max-alerts-per-window",
            "10",
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let alerts = alerts_of(&out);
    let rule = "credential-stuffing-single-source";
    let kept = alerts.iter().filter(|a| a["rule_id"] == rule).count();
    let floods: Vec<_> = alerts
        .iter()
        .filter(|a| a["rule_id"] == "gatewatch-alert-flood" && a["fields"]["rule"] == rule)
        .collect();
    assert_eq!(floods.len(), 2, "one summary per worker: {floods:?}");
    assert!(kept <= 20, "at most ten kept per worker, got {kept}");
    let dropped: u64 = floods
        .iter()
        .map(|a| a["fields"]["alerts_dropped"].as_u64().unwrap())
        .sum();
    assert_eq!(
        kept as u64 + dropped,
        300,
        "every stuffer is kept or summarised"
    );
    let ids: std::collections::HashSet<_> = alerts.iter().map(|a| a["id"].clone()).collect();
    assert_eq!(ids.len(), alerts.len(), "every alert has its own id");
    assert_ne!(floods[0]["fields"]["task"], floods[1]["fields"]["task"]);
}

#[test]
fn a_webhook_answering_with_a_redirect_is_a_failed_delivery_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let target = Receiver::start();
    let hook = Receiver::start();
    hook.redirect_all(&target.url("/elsewhere?token=abc"));
    let input = tmp.path().join("in.log");
    std::fs::write(&input, failed_logins(STUFFER, MIN, 25, 100).join("\n")).unwrap();
    let config = tmp.path().join("gatewatch.toml");
    std::fs::write(
        &config,
        format!(
            "[spool]\ndir = {:?}\n[[webhook]]\nurl = \"{}\"\nsecret = \"s3cr3t\"\ndelivery = {{ max_backoff = \"100ms\", give_up_after = \"1s\" }}\n",
            tmp.path().join("spool"),
            hook.url("/hook")
        ),
    )
    .unwrap();
    let out = gatewatch(
        &[
            "run",
            "-i",
            input.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--drain-timeout",
            "5s",
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!hook.received().is_empty());
    assert!(hook.received().iter().all(|r| r.status == 301));
    assert!(
        target.received().is_empty(),
        "the redirect was never followed"
    );
    assert!(stderr.contains("0 delivered"), "{stderr}");
    assert!(stderr.contains("1 dead-lettered"), "{stderr}");
    let spool_dl = std::fs::read_to_string(tmp.path().join("spool/webhook/dead-letter.jsonl"))
        .or_else(|_| {
            // The destination's folder is named after it; find the one dead-letter file.
            let mut found = String::new();
            for e in std::fs::read_dir(tmp.path().join("spool"))
                .unwrap()
                .flatten()
            {
                if let Ok(t) = std::fs::read_to_string(e.path().join("dead-letter.jsonl")) {
                    found = t;
                }
            }
            Ok::<_, std::io::Error>(found)
        })
        .unwrap();
    assert!(spool_dl.contains("redirect to http://"), "{spool_dl}");
    assert!(spool_dl.contains("/elsewhere"), "{spool_dl}");
    assert!(
        !spool_dl.contains("token=abc"),
        "the query is not logged: {spool_dl}"
    );
}

#[test]
fn slack_gets_escaped_attacker_text_within_block_kit_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let slack = Receiver::start();
    let ua = format!(
        "<!channel> <https://evil.example|login here> {}",
        "A".repeat(3000)
    );
    let lines: Vec<String> = (0..25)
        .map(|i| {
            format!(
                r#"{{"started_at":{},"client_ip":"{STUFFER}","request":{{"method":"POST","uri":"/api/v1/login","headers":{{"user-agent":"{ua}"}}}},"response":{{"status":401}}}}"#,
                EPOCH + MIN + i * 100
            )
        })
        .collect();
    let input = tmp.path().join("in.log");
    std::fs::write(&input, lines.join("\n")).unwrap();
    gatewatch_ok(
        &[
            "run",
            "-i",
            input.to_str().unwrap(),
            "--slack-webhook",
            &slack.url("/services/T/B/X"),
            "--spool-dir",
            tmp.path().join("spool").to_str().unwrap(),
        ],
        None,
    );
    let messages = slack.accepted();
    assert!(!messages.is_empty());
    for m in messages {
        let text = String::from_utf8_lossy(&m.body).to_string();
        assert!(!text.contains("<!channel>"), "unescaped mention: {text}");
        assert!(!text.contains("<https://evil"), "unescaped link: {text}");
        let v = m.json();
        for b in v["blocks"].as_array().unwrap() {
            if let Some(t) = b["text"]["text"].as_str() {
                assert!(t.chars().count() <= 3000);
            }
            for f in b["fields"].as_array().into_iter().flatten() {
                assert!(f["text"].as_str().unwrap().chars().count() <= 2000);
            }
        }
    }
}
