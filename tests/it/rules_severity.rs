//! Alerts graded row by row: a rule's SQL may answer a `severity` per result row, so one rule
//! can page for a burst and queue a single probe.

use gatewatch_ingest::RawEvent;

use crate::rules::{compile, ev, rule, run_engine};

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
