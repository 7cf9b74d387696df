//! How a rule's filter and query meet real values: alerts graded row by row (a `severity`
//! column), helpers DataFusion only runs after its optimizer (in a filter, planned alone), and
//! values a rule cannot evaluate (a client's zero under a division), which cost that rule those
//! rows, never the run.

use gatewatch_ingest::RawEvent;

use crate::rules::{compile, ev, rule, run_engine};
use crate::support::{alerts_of, gatewatch, gatewatch_ok, EPOCH};

#[test]
fn a_severity_column_grades_each_alert_and_a_bad_one_leaves_the_rules_own() {
    let graded = rule(
        "graded",
        "sql = \"\"\"\nSELECT client_ip AS entity, count(*) AS n,\n\
         CASE WHEN count(*) >= 5 THEN 'HIGH' WHEN count(*) >= 3 THEN 'banana' WHEN count(*) = 2 THEN NULL ELSE 'info' END AS severity\n\
         FROM events GROUP BY client_ip\n\"\"\"\n\
         [window]\nsize = \"1m\"\n[entity]\ntype = \"ip\"\ncolumn = \"client_ip\"\n",
    );
    let mut events: Vec<RawEvent> = Vec::new();
    for (ip, n) in [
        ("203.0.113.5", 5),
        ("203.0.113.3", 3),
        ("203.0.113.2", 2),
        ("203.0.113.1", 1),
    ] {
        events.extend((0..n).map(|i| ev(1000 + i * 100, ip, 401)));
    }
    events.sort_by_key(|e| e.event_time_ms);
    let (alerts, _) = run_engine(vec![compile(&graded)], &events, &[100], 0);
    let got: Vec<(&str, &str, Option<&str>)> = alerts
        .iter()
        .map(|a| {
            assert!(!a.fields.contains_key("severity"), "{a:?}");
            let invalid = a.fields.get("invalid_severity").and_then(|v| v.as_str());
            (a.entity.as_str(), a.severity.as_str(), invalid)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("203.0.113.1", "info", None),
            // NULL: the rule's own severity.
            ("203.0.113.2", "low", None),
            // Not a severity: the rule's own, and the value shown.
            ("203.0.113.3", "low", Some("banana")),
            ("203.0.113.5", "high", None),
        ]
    );
}

/// `coalesce`, `nvl`, `nvl2` and `arrow_cast` are rewritten by DataFusion's query optimizer
/// before they run; a filter is planned on its own, and once failed on its first batch with
/// "coalesce should have been simplified" although `rules lint` had accepted it.
#[test]
fn null_handling_functions_work_in_filters() {
    let text = rule(
        "nulls",
        r#"filter = """
coalesce(user_agent, '') NOT IN ('bot')
AND nvl(referer, '-') = '-'
AND nvl2(user_agent, 'sent', 'none') = 'none'
AND arrow_cast(status, 'Int64') = 404
"""
sql = "SELECT client_ip AS entity, count(*) AS event_count FROM events GROUP BY client_ip"
[window]
size = "1m"
[entity]
type = "ip"
column = "client_ip"
"#,
    );
    let mut events: Vec<RawEvent> = (0..3)
        .map(|i| ev(1_000_000 + i * 1000, "192.0.2.5", 404))
        .collect();
    // With an agent the `nvl2` conjunct is false; with a referer the `nvl` one is.
    events.push(RawEvent {
        user_agent: Some("curl/8.5.0".into()),
        ..ev(1_000_500, "192.0.2.6", 404)
    });
    events.push(RawEvent {
        referer: Some("https://example.com/".into()),
        ..ev(1_000_700, "192.0.2.7", 404)
    });
    let (alerts, _) = run_engine(vec![compile(&text)], &events, &[2], 0);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].entity, "192.0.2.5");
    assert_eq!(alerts[0].event_count, 3);
}

/// `gatewatch run` over `lines` (written to `dir/in.jsonl`) with the rules of `rules`.
fn run_lines_with_rules(
    dir: &std::path::Path,
    rules: &std::path::Path,
    lines: &[String],
) -> std::process::Output {
    let input = dir.join("in.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    gatewatch_ok(
        &[
            "run",
            "--input",
            input.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
        ],
        None,
    )
}

/// A rule is code over attacker-written values: `1000 / latency_ms` meets a client that logs a
/// latency of 0. The rows the filter cannot evaluate, the group the query cannot, and the
/// entity a whole-window query cannot, are left out of that rule only (counted in the summary,
/// logged with the error); the run, the other rows and the other clients' alerts go on.
/// Before, the first such row ended the run.
#[test]
fn a_value_a_rule_cannot_evaluate_costs_that_rule_those_rows_not_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let head = "title = \"t\"\nseverity = \"low\"\n[window]\nsize = \"1m\"\n[entity]\ntype = \"ip\"\ncolumn = \"client_ip\"\n";
    std::fs::write(
        rules.join("fast.toml"),
        format!("id = \"fast\"\nfilter = \"1000 / latency_ms > 1\"\nsql = \"SELECT client_ip AS entity, count(*) AS event_count FROM events GROUP BY client_ip\"\n{head}"),
    )
    .unwrap();
    std::fs::write(
        rules.join("speed.toml"),
        format!("id = \"speed\"\nsql = \"SELECT client_ip AS entity, count(*) AS event_count, 1000 / min(latency_ms) AS speed FROM events GROUP BY client_ip\"\n{head}"),
    )
    .unwrap();
    // A query that joins the window's rows runs whole (no partial aggregate): run per entity
    // when it fails, the failing entity left out.
    std::fs::write(
        rules.join("joined.toml"),
        format!("id = \"joined\"\nsql = \"SELECT a.client_ip AS entity, count(*) AS event_count FROM events a JOIN events b ON a.client_ip = b.client_ip AND a.event_time = b.event_time WHERE 1000 / b.latency_ms > 1 GROUP BY a.client_ip\"\n{head}"),
    )
    .unwrap();
    let line = |t: i64, ip: &str, latency: i64| {
        format!(
            r#"{{"started_at":{},"client_ip":"{ip}","request":{{"method":"GET","uri":"/api/v1/items"}},"response":{{"status":200}},"latencies":{{"request":{latency}}}}}"#,
            EPOCH + t
        )
    };
    let mut lines = Vec::new();
    for i in 0..5 {
        lines.push(line(i * 1000, "203.0.113.10", 50));
        lines.push(line(
            i * 1000 + 500,
            "203.0.113.11",
            if i < 3 { 0 } else { 100 },
        ));
    }
    let out = run_lines_with_rules(dir.path(), &rules, &lines);
    let mut got: Vec<(String, String, i64)> = alerts_of(&out)
        .iter()
        .map(|a| {
            (
                a["rule_id"].as_str().unwrap().to_owned(),
                a["entity"].as_str().unwrap().to_owned(),
                a["event_count"].as_i64().unwrap(),
            )
        })
        .collect();
    got.sort();
    let want = [
        ("fast", "203.0.113.10", 5),
        // Its three zero-latency rows are left out of `fast`, its other two counted.
        ("fast", "203.0.113.11", 2),
        ("joined", "203.0.113.10", 5),
        // Its group cannot be divided by: no `speed` alert for it, the other client's stands.
        ("speed", "203.0.113.10", 5),
    ];
    let want: Vec<(String, String, i64)> = want
        .iter()
        .map(|(r, e, n)| (r.to_string(), e.to_string(), *n))
        .collect();
    assert_eq!(got, want);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rule fast: 2 alerts, 0 suppressed, 0 late rows dropped, 0 script errors, 3 rows and 0 windows it could not (fully) evaluate"),
        "{err}"
    );
    assert!(
        err.contains("rule speed: 1 alerts, 0 suppressed, 0 late rows dropped, 0 script errors, 0 rows and 1 windows it could not (fully) evaluate"),
        "{err}"
    );
    assert!(
        err.contains("rule joined: 1 alerts, 0 suppressed, 0 late rows dropped, 0 script errors, 0 rows and 1 windows it could not (fully) evaluate"),
        "{err}"
    );
    assert!(err.contains("Divide by zero"), "the log says why: {err}");
    // `rules lint` names both operations beforehand, with their guard, and still passes.
    let lint = gatewatch_ok(&["rules", "lint", rules.to_str().unwrap()], None);
    let text = String::from_utf8_lossy(&lint.stdout);
    assert!(
        text.contains("fast.toml: warning: rule fast: filter: `1000 / latency_ms` fails on a row where `latency_ms` is 0")
            && text.contains("speed.toml: warning: rule speed: sql: `1000 / min(latency_ms)`")
            && text.contains("NULLIF(min(latency_ms), 0)"),
        "{text}"
    );
}

/// A rule test whose rows the rule cannot evaluate fails and says how to guard the operation:
/// `rules test` catches before deployment what the run would count and leave out.
#[test]
fn a_rule_test_fails_when_the_rule_cannot_evaluate_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fast.toml"),
        "id = \"fast\"\ntitle = \"t\"\nseverity = \"low\"\nfilter = \"1000 / latency_ms > 1\"\n\
         sql = \"SELECT client_ip AS entity FROM events GROUP BY client_ip\"\n\
         [window]\nsize = \"1m\"\n[entity]\ntype = \"ip\"\ncolumn = \"client_ip\"\n\
         [[tests]]\nname = \"fast clients\"\n\
         events = [{ client_ip = \"203.0.113.10\", latency_ms = 50 }, { at = \"1s\", client_ip = \"203.0.113.11\", latency_ms = 0 }]\n\
         expect = { alerts = 1 }\n",
    )
    .unwrap();
    let out = gatewatch(&["rules", "test", dir.path().to_str().unwrap()], None);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("could not evaluate 1 row(s) and 0 window(s) of the test")
            && text.contains("NULLIF(x, 0)"),
        "{text}"
    );
}

/// The same for a filter that learns (`endpoint_is_new`): the rows its conjunct cannot evaluate
/// are left out of the rule (counted), the others are answered as if none had failed.
#[test]
fn a_learning_filter_that_cannot_evaluate_a_row_leaves_out_that_row_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("newish.toml"),
        "id = \"newish\"\ntitle = \"t\"\nseverity = \"low\"\n\
         filter = \"endpoint_is_new(method, route_template, event_time, 1000 / latency_ms)\"\n\
         sql = \"SELECT client_ip AS entity, count(*) AS event_count FROM events GROUP BY client_ip\"\n\
         [window]\nsize = \"1m\"\n[entity]\ntype = \"ip\"\ncolumn = \"client_ip\"\n",
    )
    .unwrap();
    let line = |t: i64, ip: &str, uri: &str, latency: i64| {
        format!(
            r#"{{"started_at":{},"client_ip":"{ip}","request":{{"method":"GET","uri":"{uri}"}},"response":{{"status":200}},"latencies":{{"request":{latency}}}}}"#,
            EPOCH + t
        )
    };
    let lines = [
        // Learning lasts 1 ms from here: /warmup is learned, not new.
        line(0, "203.0.113.10", "/warmup", 1000),
        line(1000, "203.0.113.10", "/a", 50),
        line(2000, "203.0.113.11", "/b", 0),
        line(3000, "203.0.113.11", "/c", 100),
    ];
    let out = run_lines_with_rules(dir.path(), dir.path(), &lines);
    let mut got: Vec<(String, i64)> = alerts_of(&out)
        .iter()
        .map(|a| {
            (
                a["entity"].as_str().unwrap().to_owned(),
                a["event_count"].as_i64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("203.0.113.10".to_owned(), 1),
            ("203.0.113.11".to_owned(), 1)
        ]
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rule newish: 2 alerts, 0 suppressed, 0 late rows dropped, 0 script errors, 1 rows and 0 windows"),
        "{err}"
    );
}
