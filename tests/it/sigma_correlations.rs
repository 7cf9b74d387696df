//! Sigma correlation rules (issue 19) as a user runs them: `rules test` on the fixture rules
//! (every correlation type, boundaries, out-of-order events, `temporal_ordered` reversed, a
//! chain, a converted legacy aggregation), `rules lint` explaining what does not load, base
//! rules that only feed a correlation staying quiet, and on a real broker two instances with
//! one killed mid-window giving exactly the alerts of one uninterrupted run.

use crate::exactly_once::{produce, traffic_with};
use crate::kafka::unique;
use crate::scale_out::two_instances_one_killed;
use crate::support::{alerts_of, fixture, gatewatch, gatewatch_ok, generate};

/// Fixture ids (`tests/fixtures/sigma-correlations`).
const LOGIN_FAILED: &str = "5b1e7a8e-1c3f-4c55-9f51-0f0c8b7a0001";
const BRUTE_FORCE: &str = "5b1e7a8e-1c3f-4c55-9f51-0f0c8b7a0010";
const BRUTE_THEN_SUCCESS: &str = "5b1e7a8e-1c3f-4c55-9f51-0f0c8b7a0011";
const SPRAY: &str = "5b1e7a8e-1c3f-4c55-9f51-0f0c8b7a0013";
const LEGACY: &str = "5b1e7a8e-1c3f-4c55-9f51-0f0c8b7a0017";
const AGENT_MANY_SOURCES: &str = "5b1e7a8e-1c3f-4c55-9f51-0f0c8b7a0018";

fn rules_dir() -> String {
    fixture("sigma-correlations").to_str().unwrap().to_owned()
}

#[test]
fn every_correlation_fixture_passes_its_rule_tests() {
    let out = gatewatch(&["rules", "test", &rules_dir()], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    // Every type has tests: a count that drops means a correlation stopped loading.
    assert!(text.contains("26 passed, 0 failed"), "{text}");
    for id in [BRUTE_THEN_SUCCESS, SPRAY, LEGACY, AGENT_MANY_SOURCES] {
        assert!(text.contains(id), "no test ran for {id}: {text}");
    }
}

const BASE: &str = r#"title: Refused login
name: refused
id: 7c0e0000-0000-4000-8000-000000000001
status: test
logsource:
    category: webserver
detection:
    selection:
        sc-status: 401
    condition: selection
"#;

#[test]
fn lint_explains_correlations_that_cannot_run_and_notes_converted_aggregations() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("base.yml"), BASE).unwrap();
    std::fs::write(
        d.join("cookie.yml"),
        BASE.replace("name: refused", "name: cookie_rule")
            .replace("000000000001", "000000000002")
            .replace("sc-status: 401", "cs-cookie|contains: x"),
    )
    .unwrap();
    let corr = |id: &str, rules: &str| {
        format!(
            "title: C {id}\nid: {id}\ncorrelation:\n    type: event_count\n    rules: [{rules}]\n    group-by: [c-ip]\n    timespan: 5m\n    condition:\n        gte: 3\n"
        )
    };
    std::fs::write(d.join("missing.yml"), corr("corr-missing", "no_such_rule")).unwrap();
    std::fs::write(d.join("skipped.yml"), corr("corr-skipped", "cookie_rule")).unwrap();
    std::fs::write(d.join("loop-a.yml"), corr("loop-a", "loop-b")).unwrap();
    std::fs::write(d.join("loop-b.yml"), corr("loop-b", "loop-a")).unwrap();
    std::fs::write(d.join("fine.yml"), corr("corr-fine", "refused")).unwrap();
    std::fs::write(
        d.join("legacy.yml"),
        BASE.replace("000000000001", "000000000003")
            .replace("name: refused\n", "")
            .replace(
                "    condition: selection",
                "    timeframe: 1m\n    condition: selection | count(cs-username) by c-ip >= 5",
            ),
    )
    .unwrap();
    let out = gatewatch(&["rules", "lint", d.to_str().unwrap()], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let line = |id: &str| {
        text.lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("lint says nothing about {id}: {text}"))
            .to_owned()
    };
    assert!(line("corr-missing").contains("\"no_such_rule\", which no loaded Sigma rule has"));
    let skipped = line("corr-skipped");
    assert!(
        skipped.contains("which is skipped") && skipped.contains("cs-cookie"),
        "{skipped}"
    );
    assert!(line("loop-a").contains("references itself"), "{text}");
    assert!(
        !text.contains("corr-fine"),
        "a valid correlation is not reported: {text}"
    );
    let legacy = line("000000000003");
    assert!(
        legacy.contains("note") && legacy.contains("value_count"),
        "{legacy}"
    );
}

#[test]
fn rules_that_only_feed_a_correlation_do_not_alert_on_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let file = generate(
        dir.path(),
        "t.log",
        &["--duration", "20m", "--rate", "20", "--seed", "5"],
    );
    let out = gatewatch_ok(
        &["run", "--rules", &rules_dir(), "-i", file.to_str().unwrap()],
        None,
    );
    let alerts = alerts_of(&out);
    let count = |id: &str| alerts.iter().filter(|a| a["rule_id"] == id).count();
    // The chain alerts, its parts (a detection rule and an event_count correlation with the
    // default `generate: false`) do not; nor does the legacy rule's detection part.
    assert!(count(BRUTE_THEN_SUCCESS) > 0, "{alerts:#?}");
    assert_eq!(count(LOGIN_FAILED), 0);
    assert_eq!(count(BRUTE_FORCE), 0);
    assert!(count(LEGACY) > 0);
    assert_eq!(count(&format!("{LEGACY}:events")), 0);
    let chain = alerts
        .iter()
        .find(|a| a["rule_id"] == BRUTE_THEN_SUCCESS)
        .unwrap();
    assert_eq!(chain["fields"]["correlation_type"], "temporal_ordered");
    assert_eq!(chain["fields"]["rules_matched"], 2);
    // Chained windows are 1 h long: the alert covers them, not one event.
    assert!(chain["event_count"].as_i64().unwrap() > 10, "{chain:#}");
}

/// Two instances on input keyed by client address, one killed mid-stream and replaced: every
/// correlation (by client address in the input's tasks, by user agent through a repartition
/// topic, the chain with its hour-long windows held across the kill) gives exactly the alerts
/// of one uninterrupted file run.
#[test]
fn correlations_on_kafka_survive_a_kill_and_two_instances_with_the_alerts_of_one_run() {
    let rules = rules_dir();
    let t = traffic_with(
        &["--duration", "20m", "--rate", "20", "--seed", "5"],
        &["--rules", &rules],
    );
    for id in [BRUTE_THEN_SUCCESS, SPRAY, LEGACY, AGENT_MANY_SOURCES] {
        assert!(
            t.reference.values().any(|a| a["rule_id"] == id),
            "the traffic must raise {id}: {:#?}",
            t.reference
        );
    }
    let topic = unique("sigma-corr");
    produce(&topic, &t, |_| true);
    two_instances_one_killed(&topic, &t, &["--rules", rules.as_str()]);
}

const SUCCESS: &str = r#"title: Accepted login
name: accepted
id: 7c0e0000-0000-4000-8000-000000000010
status: test
logsource:
    category: webserver
detection:
    selection:
        sc-status: 200
        cs-uri-stem: /login
    condition: selection
"#;

/// `aliases`: one group key read from a different field per referenced rule. Here the refused
/// logins are grouped by their client address and the accepted ones by their username (an
/// application that logs the caller's address as the username of anonymous sessions): the
/// correlation needs both for one value.
#[test]
fn aliases_group_each_referenced_rule_on_its_own_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("refused.yml"), BASE).unwrap();
    std::fs::write(d.join("accepted.yml"), SUCCESS).unwrap();
    std::fs::write(
        d.join("corr.yml"),
        r#"title: Refused then accepted for one value
id: corr-alias
correlation:
    type: temporal
    rules: [refused, accepted]
    group-by: [actor]
    timespan: 5m
    aliases:
        actor:
            refused: c-ip
            accepted: cs-username
"#,
    )
    .unwrap();
    std::fs::write(
        d.join("corr.tests.toml"),
        r#"
[[tests]]
name = "the address refused and the same value as username accepted alert on that value"
events = [
  { at = "0s", client_ip = "192.0.2.9", path = "/login", status = 401 },
  { at = "20s", client_ip = "198.51.100.1", path = "/login", status = 200, username = "192.0.2.9" },
]
expect = { alerts = 1, entity = "192.0.2.9", fields = { rules_matched = 2, actor = "192.0.2.9" } }

[[tests]]
name = "the accepted login's own address does not count as the actor"
events = [
  { at = "0s", client_ip = "192.0.2.9", path = "/login", status = 401 },
  { at = "20s", client_ip = "192.0.2.9", path = "/login", status = 200, username = "alice" },
]
expect = { alerts = 0 }
"#,
    )
    .unwrap();
    let out = gatewatch(&["rules", "test", d.to_str().unwrap()], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("2 passed, 0 failed"), "{text}");
}

/// Group-by values compare as logged unless `group_case=lower` says otherwise.
#[test]
fn group_by_is_case_sensitive_unless_lowercased_by_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("refused.yml"), BASE).unwrap();
    std::fs::write(
        d.join("corr.yml"),
        "title: Refused per agent\nid: corr-case\ncorrelation:\n    type: event_count\n    rules: [refused]\n    group-by: [cs-user-agent]\n    timespan: 5m\n    condition:\n        gte: 3\n",
    )
    .unwrap();
    let tests = |alerts: usize| {
        format!(
            r#"
[[tests]]
name = "three spellings of one agent"
events = [
  {{ at = "0s", client_ip = "192.0.2.1", user_agent = "Stuffer", status = 401 }},
  {{ at = "5s", client_ip = "192.0.2.2", user_agent = "stuffer", status = 401 }},
  {{ at = "9s", client_ip = "192.0.2.3", user_agent = "STUFFER", status = 401 }},
]
expect = {{ alerts = {alerts} }}
"#
        )
    };
    let run = |alerts: usize, more: &[&str]| {
        std::fs::write(d.join("corr.tests.toml"), tests(alerts)).unwrap();
        let mut args = vec!["rules", "test", d.to_str().unwrap()];
        args.extend_from_slice(more);
        let out = gatewatch(&args, None);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{more:?}: {text}");
    };
    run(0, &[]);
    run(1, &["--param", "corr-case.group_case=lower"]);
}
