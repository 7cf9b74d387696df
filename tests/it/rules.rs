//! Rules as SOC analysts use them: sliding windows against a brute-force oracle, scripts,
//! helper functions, suppression, lint, hot reload and idle input (`rules test` and `rules export`:
//! `rule_tests.rs`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use gatewatch_engine::{Alert, Engine, EngineConfig};
use gatewatch_generate::Rng;
use gatewatch_ingest::{ColumnSet, EventBatchBuilder, Provenance, RawEvent};
use gatewatch_rules::{compile_all, CompiledRule, ParamOverride};

use crate::support::{alerts_of, failed_logins, gatewatch};

const RULE_HEAD: &str = "title = \"t\"\nseverity = \"low\"\n";

pub(crate) fn rule(id: &str, body: &str) -> String {
    format!("id = \"{id}\"\n{RULE_HEAD}{body}")
}

pub(crate) fn compile(text: &str) -> CompiledRule {
    compile_all(vec![("test.toml".into(), text.to_owned())], &[])
        .unwrap()
        .remove(0)
}

pub(crate) fn ev(t: i64, ip: &str, status: i64) -> RawEvent<'static> {
    RawEvent {
        event_time_ms: Some(t),
        client_ip: Some(ip.to_owned().into()),
        method: Some("POST".into()),
        target: Some("/api/v1/login".into()),
        status: Some(status),
        ..Default::default()
    }
}

/// Feeds events to an engine in the given order, cut into batches of the given sizes.
pub(crate) fn run_engine(
    rules: Vec<CompiledRule>,
    events: &[RawEvent<'_>],
    cuts: &[usize],
    lateness_ms: i64,
) -> (Vec<Alert>, Engine) {
    let mut engine = Engine::new(rules, EngineConfig::default().with_lateness_ms(lateness_ms));
    let prov = Provenance {
        source: "p".into(),
        partition: 0,
    };
    let mut builder = EventBatchBuilder::new(ColumnSet::all());
    let mut alerts = Vec::new();
    let mut cut = cuts.iter().cycle();
    let mut in_batch = 0;
    let mut limit = *cut.next().unwrap_or(&usize::MAX);
    for (i, e) in events.iter().enumerate() {
        builder.append(e, e.event_time_ms.unwrap(), &prov, i as i64);
        in_batch += 1;
        if in_batch >= limit {
            alerts.extend(engine.process(&builder.finish().unwrap()).unwrap());
            in_batch = 0;
            limit = *cut.next().unwrap();
        }
    }
    alerts.extend(engine.process(&builder.finish().unwrap()).unwrap());
    alerts.extend(engine.finish().unwrap());
    (alerts, engine)
}

#[test]
fn sliding_windows_equal_brute_force_on_random_out_of_order_input() {
    let (size, slide, lateness) = (60_000i64, 10_000i64, 3_000i64);
    let text = rule(
        "slide",
        "filter = \"status = 401\"\nsql = \"SELECT client_ip AS entity, count(*) AS event_count FROM events GROUP BY client_ip\"\n\
         [window]\nsize = \"60s\"\nslide = \"10s\"\n[entity]\ntype = \"ip\"\ncolumn = \"client_ip\"\n",
    );
    let ips = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
    for seed in 0..25u64 {
        let mut rng = Rng::new(seed);
        let n = 50 + rng.below(250) as usize;
        // Event times over ~4 minutes; arrival order = time plus jitter, some beyond the lateness.
        let mut rows: Vec<(i64, i64, &str, i64)> = (0..n)
            .map(|_| {
                let t = 1_000_000 + rng.below(240_000) as i64;
                let spread = if rng.chance(0.2) { 20_000 } else { 2_000 };
                let arrival = t + rng.below(spread) as i64;
                (
                    arrival,
                    t,
                    *rng.pick(&ips),
                    if rng.chance(0.7) { 401 } else { 200 },
                )
            })
            .collect();
        rows.sort();
        let events: Vec<_> = rows.iter().map(|(_, t, ip, s)| ev(*t, ip, *s)).collect();
        let cuts: Vec<usize> = (0..8).map(|_| 1 + rng.below(40) as usize).collect();
        let (alerts, _) = run_engine(vec![compile(&text)], &events, &cuts, lateness);
        let got: BTreeMap<(i64, String), i64> = alerts
            .iter()
            .map(|a| ((a.window_start, a.entity.clone()), a.event_count))
            .collect();
        assert_eq!(got.len(), alerts.len(), "one alert per window and entity");

        // Oracle: a row counts in window ws iff it passes the filter, lies in [ws, ws+W), and
        // arrived before the watermark reached ws+W. The watermark before a row is the robust
        // maximum of the times before it (the K-th largest, K = 3 by default) minus the
        // lateness; with fewer than K rows seen nothing is late yet.
        let k = EngineConfig::default().clock.confirm;
        let mut want: BTreeMap<(i64, String), i64> = BTreeMap::new();
        let mut seen: Vec<i64> = Vec::new();
        for (_, t, ip, status) in &rows {
            let wm = if seen.len() < k {
                i64::MIN
            } else {
                let mut top = seen.clone();
                top.sort_unstable_by(|a, b| b.cmp(a));
                top[k - 1] - lateness
            };
            if *status == 401 {
                let mut ws = (t.div_euclid(slide)) * slide - size + slide;
                while ws <= *t {
                    if ws + size > wm {
                        *want.entry((ws, ip.to_string())).or_default() += 1;
                    }
                    ws += slide;
                }
            }
            seen.push(*t);
        }
        assert_eq!(got, want, "seed {seed}");
    }
}

#[test]
fn helper_functions_work_in_sql() {
    let text = rule(
        "walk",
        r#"filter = "status IN (403, 404) AND route_template(path) = '/api/v1/orders/{id}'"
sql = """
SELECT client_ip AS entity, count(*) AS event_count, longest_id_run(object_id) AS run,
       interarrival_cv(event_time) AS cv, min(ua_class(user_agent)) AS ua,
       bool_and(cidr_contains('192.0.2.0/24', client_ip)) AS in_net,
       max(shannon_entropy(client_ip)) AS h
FROM events GROUP BY client_ip HAVING longest_id_run(object_id) >= 30
"""
[window]
size = "5m"
[entity]
type = "ip"
column = "client_ip"
"#,
    );
    let mut events: Vec<RawEvent> = (0..40)
        .map(|i| RawEvent {
            target: Some(format!("/api/v1/orders/{}", 5000 + i).into()),
            user_agent: Some(
                "Mozilla/5.0 (compatible; GPTBot/1.2; +https://openai.com/gptbot)".into(),
            ),
            ..ev(1_000_000 + i * 1000, "192.0.2.77", 404)
        })
        .collect();
    // A human browsing scattered ids never makes a run of 30.
    events.extend((0..40).map(|i| RawEvent {
        target: Some(format!("/api/v1/orders/{}", 100 + i * 7).into()),
        ..ev(1_000_500 + i * 1000, "198.51.100.9", 404)
    }));
    events.sort_by_key(|e| e.event_time_ms);
    let (alerts, _) = run_engine(vec![compile(&text)], &events, &[1000], 0);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!(a.entity, "192.0.2.77");
    assert_eq!(a.fields["run"], 40);
    assert_eq!(a.fields["cv"], 0.0);
    assert_eq!(a.fields["ua"], "ai_crawler");
    assert_eq!(a.fields["in_net"], true);
    assert!(a.fields["h"].as_f64().unwrap() > 2.0);
}

#[test]
fn scripts_flag_events_and_annotate_windows_and_runaways_are_contained() {
    let per_event = rule(
        "tools",
        "script = \"\"\"\nfn on_event(e) { e.status == 401 && ua_class(e.user_agent) == \"tool\" }\n\"\"\"\n\
         [window]\nsize = \"1m\"\n[entity]\ntype = \"ip\"\ncolumn = \"client_ip\"\n",
    );
    let per_window = rule(
        "score",
        "sql = \"SELECT client_ip AS entity, count(*) AS n FROM events WHERE status = 401 GROUP BY client_ip\"\n\
         script = \"\"\"\nfn on_window(row) { if row.n < 3 { return false; } #{ severity: \"critical\", score: row.n * 10 } }\n\"\"\"\n\
         [window]\nsize = \"1m\"\n[entity]\ntype = \"ip\"\ncolumn = \"client_ip\"\n",
    );
    let runaway = rule(
        "runaway",
        "script = \"fn on_event(e) { loop { } }\"\n[window]\nsize = \"1m\"\n[entity]\ntype = \"ip\"\ncolumn = \"client_ip\"\n",
    );
    let mut events: Vec<RawEvent> = (0..5)
        .map(|i| RawEvent {
            user_agent: Some("curl/8.5".into()),
            ..ev(i * 1000, "203.0.113.1", 401)
        })
        .collect();
    events.push(RawEvent {
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0".into()),
        ..ev(6000, "203.0.113.2", 401)
    });
    let rules = vec![compile(&per_event), compile(&per_window), compile(&runaway)];
    let (alerts, engine) = run_engine(rules, &events, &[100], 0);
    let by_rule = |id: &str| {
        alerts
            .iter()
            .filter(|a| a.rule_id == id)
            .collect::<Vec<_>>()
    };
    let tools = by_rule("tools");
    assert_eq!(tools.len(), 1);
    assert_eq!(
        (tools[0].entity.as_str(), tools[0].event_count),
        ("203.0.113.1", 5)
    );
    let score = by_rule("score");
    assert_eq!(
        score.len(),
        1,
        "the browser with one failure is dropped by on_window"
    );
    assert_eq!(score[0].severity, "critical");
    assert_eq!(score[0].fields["score"], 50);
    assert!(by_rule("runaway").is_empty());
    assert_eq!(
        engine.stats().script_errors_by_rule.get("runaway"),
        Some(&6),
        "every event's script was stopped and counted"
    );
}

#[test]
fn suppression_holds_back_repeats_for_the_same_entity() {
    let text = rule(
        "sup",
        "suppress_for = \"3m\"\nsql = \"SELECT client_ip AS entity FROM events GROUP BY client_ip\"\n\
         [window]\nsize = \"1m\"\n[entity]\ntype = \"ip\"\ncolumn = \"client_ip\"\n",
    );
    // One event per minute for 6 minutes from one address, one event at minute 2 from another.
    let mut events: Vec<RawEvent> = (0..6)
        .map(|m| ev(m * 60_000 + 1000, "10.0.0.1", 401))
        .collect();
    events.insert(3, ev(2 * 60_000 + 2000, "10.0.0.2", 401));
    let (alerts, engine) = run_engine(vec![compile(&text)], &events, &[1], 0);
    let got: Vec<_> = alerts
        .iter()
        .map(|a| (a.entity.as_str(), a.window_start / 60_000))
        .collect();
    assert_eq!(got, [("10.0.0.1", 0), ("10.0.0.2", 2), ("10.0.0.1", 3)]);
    assert_eq!(engine.stats().suppressed_by_rule.get("sup"), Some(&4));
}

#[test]
fn reload_keeps_state_of_unchanged_rules_and_resets_changed_ones() {
    let builtin = || gatewatch_rules::load_builtin(&[]);
    let events = |from: i64, n: i64| -> Vec<RawEvent<'static>> {
        (0..n)
            .map(|i| ev(60_000 + (from + i) * 1000, "203.0.113.5", 401))
            .collect()
    };
    let prov = Provenance {
        source: "p".into(),
        partition: 0,
    };
    let batch = |evs: &[RawEvent]| {
        let mut b = EventBatchBuilder::new(ColumnSet::all());
        for (i, e) in evs.iter().enumerate() {
            b.append(e, e.event_time_ms.unwrap(), &prov, i as i64);
        }
        b.finish().unwrap()
    };
    let first = events(0, 15);
    let second = events(15, 10);

    // Unchanged rule: the 15 buffered failures survive the reload, 15 + 10 >= 20 alerts.
    let mut engine = Engine::new(builtin().unwrap(), EngineConfig::default());
    engine.process(&batch(&first)).unwrap();
    engine.replace_rules(builtin().unwrap()).unwrap();
    engine.process(&batch(&second)).unwrap();
    let alerts = engine.finish().unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].event_count, 25);

    // Changed rule (a parameter changed): it starts empty, 10 < 20 gives nothing.
    let mut engine = Engine::new(builtin().unwrap(), EngineConfig::default());
    engine.process(&batch(&first)).unwrap();
    let changed =
        gatewatch_rules::load_builtin(&["min_failures=21".parse::<ParamOverride>().unwrap()])
            .unwrap();
    engine.replace_rules(changed).unwrap();
    engine.process(&batch(&second)).unwrap();
    assert!(engine.finish().unwrap().is_empty());
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn lint_reports_each_error_class_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let window = "[window]\nsize = \"1m\"\n[entity]\ntype = \"ip\"\ncolumn = \"client_ip\"\n";
    let sql = "sql = \"SELECT client_ip AS entity FROM events GROUP BY client_ip\"\n";
    write(
        d,
        "a_unknown_field.toml",
        &rule("a", &format!("{sql}threshhold = 3\n{window}")),
    );
    write(
        d,
        "b_unknown_column.toml",
        &rule("b", &format!("filter = \"stauts = 401\"\n{sql}{window}")),
    );
    write(
        d,
        "c_bad_duration.toml",
        &rule("c", &format!("{sql}{}", window.replace("1m", "1 parsec"))),
    );
    write(d, "d_dup.toml", &rule("dup", &format!("{sql}{window}")));
    write(d, "e_dup.toml", &rule("dup", &format!("{sql}{window}")));
    write(
        d,
        "f_script.toml",
        &rule(
            "f",
            &format!("script = \"\"\"\nfn on_event(e) {{\n  let = 1;\n}}\n\"\"\"\n{window}"),
        ),
    );
    write(d, "g_sql_column.toml", &rule("g", &format!("sql = \"\"\"\nSELECT client_ip AS entity\nFROM events GROUP BY client_ip, nope\n\"\"\"\n{window}")));
    write(d, "h_ok.toml", &rule("h", &format!("{sql}{window}")));
    let out = gatewatch(&["rules", "lint", d.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let path = |f: &str| d.join(f).display().to_string();
    for want in [
        format!(
            "{}:5:1: unknown field `threshhold`",
            path("a_unknown_field.toml")
        ),
        format!(
            "{}:4:11: rule b: filter: Schema error: No field named stauts. Did you mean 'status'?",
            path("b_unknown_column.toml")
        ),
        format!(
            "{}:6:1: rule c: \"1 parsec\" is not a duration",
            path("c_bad_duration.toml")
        ),
        format!("{}:1:1: rule dup: duplicate rule id", path("e_dup.toml")),
        format!("{}:6:", path("f_script.toml")),
        format!(
            "{}:6:33: rule g: sql: Schema error: No field named nope",
            path("g_sql_column.toml")
        ),
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&want)),
            "missing {want:?} in:\n{text}"
        );
    }
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("6 error(s) in 8 rule file(s)"));
}

/// A running `gatewatch run` on a stdin pipe, with its stdout and stderr read line by line.
struct Live {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

impl Live {
    fn start(args: &[&str]) -> Live {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gatewatch"))
            .args(args)
            .env("GATEWATCH_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe = |r: Box<dyn std::io::Read + Send>| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            rx
        };
        let stdout = pipe(Box::new(child.stdout.take().unwrap()));
        let stderr = pipe(Box::new(child.stderr.take().unwrap()));
        Live {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
        }
    }

    fn send(&mut self, lines: &[String]) {
        let stdin = self.stdin.as_mut().unwrap();
        for l in lines {
            writeln!(stdin, "{l}").unwrap();
        }
        stdin.flush().unwrap();
    }

    fn wait_line(rx: &mpsc::Receiver<String>, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(l) if pred(&l) => return l,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("timed out waiting for {what}");
    }

    fn alert(&self) -> serde_json::Value {
        serde_json::from_str(&Self::wait_line(&self.stdout, "an alert", |_| true)).unwrap()
    }

    fn log(&self, needle: &str) -> String {
        Self::wait_line(&self.stderr, needle, |l| l.contains(needle))
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` failed logins ending just before the end of minute `minute`, so that a short idle
/// period is enough for the watermark to pass the window's end.
fn burst(ip: &str, minute: i64, n: usize) -> Vec<String> {
    failed_logins(ip, minute * 60_000 + 59_000 - n as i64 * 10, n, 10)
}

#[test]
fn idle_input_closes_windows_and_rule_changes_apply_while_running() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        gatewatch(&["rules", "export", dir.path().to_str().unwrap()], None)
            .status
            .success()
    );
    let file = dir.path().join("credential-stuffing-single-source.toml");
    let original = std::fs::read_to_string(&file).unwrap();
    let mut live = Live::start(&[
        "run",
        "-i",
        "-",
        "--rules",
        dir.path().to_str().unwrap(),
        "--idle-timeout",
        "1s",
        "--allowed-lateness",
        "0s",
    ]);

    // Idle: the window closes by wall clock while stdin stays open, and the alert is flushed.
    live.send(&burst("203.0.113.1", 1, 25));
    let a = live.alert();
    assert_eq!(
        (a["entity"].as_str(), a["event_count"].as_i64()),
        (Some("203.0.113.1"), Some(25))
    );

    // A good change is picked up: 6 failures (in one second) now alert.
    std::fs::write(
        &file,
        original
            .replace("min_failures = 20", "min_failures = 5")
            .replace("min_failure_seconds = 5", "min_failure_seconds = 1"),
    )
    .unwrap();
    live.log("rules reloaded");
    live.send(&burst("203.0.113.2", 3, 6));
    let a = live.alert();
    assert_eq!(a["entity"], "203.0.113.2");

    // A broken change is rejected with its error, and the last good rules keep running.
    std::fs::write(&file, original.replace("[window]", "[window\n")).unwrap();
    let err = live.log("rule reload rejected");
    assert!(
        err.contains("credential-stuffing-single-source.toml:"),
        "{err}"
    );
    live.send(&burst("203.0.113.3", 5, 6));
    let a = live.alert();
    assert_eq!(a["entity"], "203.0.113.3");

    drop(live.stdin.take());
    let status = live.child.wait().unwrap();
    assert!(status.success());
}

#[test]
fn alerts_of_an_unknown_rules_dir_are_an_error() {
    let out = gatewatch(&["run", "--rules", "/no/such/dir"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read rule directory"));
    assert!(alerts_of(&out).is_empty());
}
