//! Scale-out that gives one answer (issue 12), on a real broker (tansu, 4 partitions): several
//! instances in one consumer group, on input keyed by client address and on unkeyed input,
//! with an instance killed (SIGKILL) mid-stream, give exactly the alerts of one uninterrupted
//! file run for every rule of the pack: the same ids, each written once per output, the same
//! event counts and fields. Rules keyed by another column than the input key (user agent,
//! account, endpoint; every rule on unkeyed input) go through repartition topics, so all rows
//! of one entity meet in one task however the input is spread.
//!
//! Joining and leaving instances and repeated kills are in `exactly_once` (the same
//! comparison); the longer matrix is in `scripts/chaos-kafka.sh`.

use crate::exactly_once::{
    assert_exact, delay, finish, kill, produce, produce_unkeyed, read_alerts, seed, spawn_with,
    traffic, traffic_from, wait_for, Traffic,
};
use crate::kafka::unique;

/// The distributed-stuffing scenario's user agent is spread over every partition: the test
/// traffic must carry an alert whose entity is not the input key, or it proves nothing.
fn assert_has_cross_partition_alerts(t: &Traffic) {
    assert!(
        t.reference
            .values()
            .any(|a| a["entity"].as_str().is_some_and(|e| e.contains("Mozilla"))),
        "the traffic must alert on an entity spread over partitions: {:#?}",
        t.reference
    );
}

/// 20 minutes of every scenario: past `new-api-endpoint`'s 10-minute learning period, so the
/// rule whose filter learns across all traffic (one task, rows in event-time order) alerts too.
const LONG_TRAFFIC: &[&str] = &["--duration", "20m", "--rate", "20", "--seed", "5"];

#[test]
fn three_instances_on_unkeyed_input_give_the_alerts_of_one_run() {
    let t = traffic_from(LONG_TRAFFIC);
    assert_has_cross_partition_alerts(&t);
    assert!(
        t.reference
            .values()
            .any(|a| a["rule_id"] == "new-api-endpoint"),
        "the traffic must raise new-api-endpoint: {:#?}",
        t.reference
    );
    let topic = unique("scale-unkeyed");
    produce_unkeyed(&topic, &t);
    let group = unique("g");
    let dir = tempfile::tempdir().unwrap();
    let outs: Vec<_> = (0..3)
        .map(|i| dir.path().join(format!("{i}.jsonl")))
        .collect();
    let runs: Vec<_> = outs
        .iter()
        .map(|o| spawn_with(&topic, &group, o, "12s", &["--input-key", "none"]))
        .collect();
    for r in runs {
        finish(r);
    }
    assert_exact(&outs, &t.reference);
}

#[test]
fn two_instances_one_killed_mid_stream_give_the_alerts_of_one_run() {
    let t = traffic();
    assert_has_cross_partition_alerts(&t);
    let topic = unique("scale-kill");
    produce(&topic, &t, |_| true);
    two_instances_one_killed(&topic, &t, &[]);
}

/// Two instances with `more` arguments on `topic` (produced from `t`), one SIGKILLed
/// mid-stream and replaced: together exactly the alerts of the uninterrupted file run.
pub(crate) fn two_instances_one_killed(topic: &str, t: &Traffic, more: &[&str]) {
    let group = unique("g");
    let dir = tempfile::tempdir().unwrap();
    let outs: Vec<_> = (0..3)
        .map(|i| dir.path().join(format!("{i}.jsonl")))
        .collect();
    let mut s = seed();
    let mut a = spawn_with(topic, &group, &outs[0], "30s", more);
    let mut b = spawn_with(topic, &group, &outs[1], "15s", more);
    wait_for(&mut a, "partitions assigned");
    wait_for(&mut b, "partitions assigned");
    std::thread::sleep(delay(&mut s, 1_500));
    kill(a);
    // The replacement outlives the killed member's session (6 s) before it takes over.
    let c = spawn_with(topic, &group, &outs[2], "15s", more);
    finish(b);
    finish(c);
    assert_exact(&outs, &t.reference);
}

/// A live input partition that never gets a record (no watermark can speak for it) does not hold
/// back the windows of repartitioned rules once `--idle-timeout` says it is idle: the
/// distributed-stuffing alert (its user agent spread over the other partitions) is written while
/// the run goes on, long before its idle stop would close every window.
#[test]
fn an_input_partition_with_no_record_does_not_hold_repartitioned_windows() {
    let t = traffic_from(LONG_TRAFFIC);
    let topic = unique("scale-idle");
    produce(&topic, &t, |p| p != 3);
    let group = unique("g");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alerts.jsonl");
    let mut run = spawn_with(&topic, &group, &out, "120s", &["--idle-timeout", "2s"]);
    wait_for(&mut run, "partitions assigned");
    let assigned = std::time::Instant::now();
    let found = loop {
        let seen = read_alerts(&out)
            .iter()
            .any(|a| a["rule_id"] == "credential-stuffing-distributed");
        if seen || assigned.elapsed() > std::time::Duration::from_secs(60) {
            break seen;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let waited = assigned.elapsed();
    kill(run);
    assert!(
        found,
        "no credential-stuffing-distributed alert within {waited:?} of the assignment: the empty partition held the repartitioned windows"
    );
}
