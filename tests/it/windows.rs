//! Event-time window semantics through the real pipeline (reader, decoder threads, engine):
//! lateness, closing, end of input, and independence from how the input is cut into batches.

use arrow::record_batch::RecordBatch;
use gatewatch_engine::{Engine, EngineConfig};
use gatewatch_ingest::{Chunk, ChunkDecoder, DecodeConfig, TopicPartition};

use crate::support::{failed_logins, kong, run_lines, run_lines_with, EPOCH};

const MIN: i64 = 60_000;
const STUFFER: &str = "203.0.113.66";

#[test]
fn out_of_order_event_within_lateness_lands_in_its_window() {
    let mut lines = failed_logins(STUFFER, MIN, 19, 1000); // 1:00 .. 1:18, one short of 20
    lines.push(kong(2 * MIN + 2000, "10.9.9.9", "GET", "/", 200)); // watermark 1:57 with 5 s lateness
    lines.push(kong(MIN + 59_000, STUFFER, "POST", "/api/v1/login", 401)); // 1:59 arrives late but in time
    let (alerts, summary) = run_lines(&lines, 5_000, 1 << 20);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].window_start, EPOCH + MIN);
    assert_eq!(alerts[0].event_count, 20);
    assert_eq!(alerts[0].last_seen, EPOCH + MIN + 59_000);
    assert_eq!(summary.engine.late_by_source.values().sum::<u64>(), 0);
}

#[test]
fn event_beyond_lateness_is_counted_late_and_never_enters_a_later_window() {
    let mut lines = failed_logins(STUFFER, MIN, 19, 1000); // window 1:00-2:00 gets 19
                                                           // Three requests at 2:10 agree (K = 3): watermark 2:05 closes 1:00-2:00.
    for ip in ["10.9.9.9", "10.9.9.8", "10.9.9.7"] {
        lines.push(kong(2 * MIN + 10_000, ip, "GET", "/", 200));
    }
    lines.push(kong(MIN + 59_000, STUFFER, "POST", "/api/v1/login", 401)); // too late for 1:00-2:00
    lines.extend(failed_logins(STUFFER, 2 * MIN + 11_000, 19, 1000)); // 19 in 2:00-3:00
    let (alerts, summary) = run_lines(&lines, 5_000, 1 << 20);
    assert!(
        alerts.is_empty(),
        "the late row must not make the next window reach 20: {alerts:#?}"
    );
    assert_eq!(summary.engine.late_by_source.get("test"), Some(&1));
    assert_eq!(
        summary
            .engine
            .late_by_rule
            .get("credential-stuffing-single-source"),
        Some(&1)
    );
}

#[test]
fn last_window_closes_at_end_of_input() {
    let lines = failed_logins(STUFFER, 5 * MIN, 25, 100);
    let (alerts, _) = run_lines(&lines, 5_000, 1 << 20);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].window_start, EPOCH + 5 * MIN);
    assert_eq!(alerts[0].window_end, EPOCH + 6 * MIN);
    assert_eq!(alerts[0].event_count, 25);
    assert_eq!(alerts[0].entity, STUFFER);
    assert_eq!(alerts[0].evidence.len(), 5);
    assert_eq!(alerts[0].evidence[0]["path"], "/api/v1/login");
}

#[test]
fn alerts_do_not_depend_on_batch_boundaries() {
    // Shuffled within the lateness bound, crossing several windows, several attackers.
    let mut lines = Vec::new();
    for (k, ip) in ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
        .iter()
        .enumerate()
    {
        lines.extend(failed_logins(ip, MIN + k as i64 * 7_000, 60, 1_500));
    }
    lines.sort_by_key(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let t = v["started_at"].as_i64().unwrap() - EPOCH;
        t + (t * 7919) % 4_000 // deterministic disorder of up to 4 s
    });
    let key = |alerts: Vec<gatewatch_engine::Alert>| {
        let mut v: Vec<_> = alerts.into_iter().map(|a| (a.id, a.event_count)).collect();
        v.sort();
        v
    };
    let (big, _) = run_lines(&lines, 5_000, 1 << 20);
    // No lateness, and the watermark on the newest time (K = 1): some rows are late.
    let mut strict = EngineConfig::default().with_lateness_ms(0);
    strict.clock.confirm = 1;
    let (small, small_summary) = run_lines_with(&lines, strict, 300);
    assert!(
        small_summary.engine.late_by_rule.values().sum::<u64>() > 0,
        "{:?}",
        small_summary.engine
    );
    let (tiny, _) = run_lines(&lines, 5_000, 150);
    assert!(big.len() >= 4, "{big:#?}");
    assert_eq!(key(big.clone()), key(tiny));
    assert_ne!(
        key(big),
        key(small),
        "a smaller lateness must change what counts (sanity check of the test)"
    );
}

#[test]
fn open_windows_hold_the_offsets_of_their_rows_only() {
    let mut lines = vec![kong(MIN, "10.0.0.1", "GET", "/", 200)]; // line 1: filtered out, holds nothing
    lines.extend(failed_logins(STUFFER, MIN + 1000, 3, 1000)); // lines 2-4
    let (rules, mut decoder) = stuffing_rule();
    let batch = decode(&mut decoder, 1, &lines);
    let mut engine = Engine::new(rules, EngineConfig::default());
    engine.process(&batch).unwrap();
    let held = engine.held_offsets();
    assert_eq!(held.get(&TopicPartition::new("f", 0)), Some(&2));
    engine.finish().unwrap();
    assert!(
        engine.held_offsets().is_empty(),
        "closed windows hold nothing"
    );
}

/// A pane takes every row while even all-new entities would leave it under its share of
/// `max_groups`; at the edge, rows of the entities past the share are shed (and counted), the
/// entities it already tracks still counted: 9 addresses, then 3 more, then the 10 tracked and
/// one more, with room for 10.
#[test]
fn a_pane_sheds_exactly_the_entities_past_its_share() {
    let (rules, mut decoder) = stuffing_rule();
    let mut batch = |first_line: u64, ips: &[String]| {
        let lines: Vec<String> = (ips.iter().enumerate())
            .map(|(i, ip)| kong(MIN + i as i64 * 10, ip, "POST", "/api/v1/login", 401))
            .collect();
        decode(&mut decoder, first_line, &lines)
    };
    let ips = |from: usize, n: usize| -> Vec<String> {
        (from..from + n).map(|i| format!("10.1.0.{i}")).collect()
    };
    let mut cfg = EngineConfig::default();
    cfg.limits.max_groups = 10;
    let mut engine = Engine::new(rules, cfg);
    engine.process(&batch(1, &ips(0, 9))).unwrap();
    let shed = |e: &Engine| {
        (e.stats().shed_by_rule)
            .get("credential-stuffing-single-source")
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(shed(&engine), 0, "nine entities fit in ten");
    engine.process(&batch(10, &ips(9, 3))).unwrap();
    assert_eq!(shed(&engine), 2, "one more entity fits, two are shed");
    let mut third = ips(0, 10);
    third.push("10.1.0.99".into());
    engine.process(&batch(13, &third)).unwrap();
    assert_eq!(
        shed(&engine),
        3,
        "tracked entities are counted, a new one is shed"
    );
    engine.finish().unwrap();
}

/// `lines` decoded as one chunk of source `f`, partition 0, from line `first_line`.
fn decode(decoder: &mut ChunkDecoder, first_line: u64, lines: &[String]) -> RecordBatch {
    let chunk = Chunk {
        source: "f".into(),
        partition: 0,
        first_line,
        data: lines.join("\n").into_bytes(),
        oversized: vec![],
        offsets: None,
        keys: None,
    };
    decoder.decode(&chunk, 0).unwrap().batch
}

/// The built-in single-source stuffing rule alone, and a decoder of the columns it reads.
fn stuffing_rule() -> (Vec<gatewatch_rules::CompiledRule>, ChunkDecoder) {
    let rules: Vec<_> = gatewatch_rules::load_builtin(&[])
        .unwrap()
        .into_iter()
        .filter(|r| r.id() == "credential-stuffing-single-source")
        .collect();
    let projection = gatewatch_rules::compile::columns_read(&rules);
    let decoder = ChunkDecoder::new(DecodeConfig::default(), projection, 1 << 20);
    (rules, decoder)
}
