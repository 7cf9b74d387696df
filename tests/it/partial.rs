//! Partial aggregates (windows hold per-group accumulator state, merged per window) give
//! exactly what the whole query gives on the window's raw rows — the simple path every rule
//! took before — for every rule of the pack, tumbling and sliding, on generated traffic with
//! every attack scenario, written out of order. Thresholds are opened up so nearly every
//! group alerts: the comparison then covers the aggregates themselves, not only the few
//! groups a real threshold lets through.

use std::collections::BTreeMap;

use arrow::record_batch::RecordBatch;
use gatewatch_engine::guard::StateLimits;
use gatewatch_engine::{Alert, Engine, EngineConfig, RuleSet};
use gatewatch_generate::{GenConfig, GeneratorReader};
use gatewatch_ingest::{ChunkDecoder, ChunkOptions, ChunkReader, ColumnSet, DecodeConfig};
use gatewatch_rules::spec::ParamValue;
use gatewatch_rules::{CompiledRule, ParamOverride, RuleSpec};

/// Generated traffic, decoded, in batches of a few hundred rows.
fn traffic(seed: u64, minutes: i64, jitter_ms: i64) -> Vec<RecordBatch> {
    let cfg = GenConfig {
        seed,
        duration_ms: minutes * 60_000,
        benign_rate: 20.0,
        jitter_ms,
        ..Default::default()
    };
    let mut reader = ChunkReader::new(
        GeneratorReader::new(cfg),
        "gen",
        ChunkOptions {
            chunk_bytes: 200_000,
            ..Default::default()
        },
        false,
    );
    let mut decoder = ChunkDecoder::new(
        DecodeConfig::default().with_username_field("username"),
        ColumnSet::all(),
        1 << 20,
    );
    let mut out = Vec::new();
    while let Some(chunk) = reader.next_chunk().unwrap() {
        out.push(decoder.decode(&chunk, 0).unwrap().batch);
    }
    out
}

/// Every pack rule's `min_*` thresholds at their most permissive, `max_*` likewise.
fn open_thresholds() -> Vec<ParamOverride> {
    let mut out = Vec::new();
    for (name, text) in gatewatch_rules::pack::BUILTIN {
        let spec = RuleSpec::from_toml(name, text).unwrap();
        for (p, v) in &spec.params {
            let value = match (p.as_str(), v) {
                (p, ParamValue::Int(_)) if p.starts_with("min_") => "1",
                (p, ParamValue::Int(_)) if p.starts_with("max_") => "1000000000",
                (p, ParamValue::Float(_)) if p.starts_with("min_") => "0.0",
                (p, ParamValue::Float(_)) if p.starts_with("max_") => "1000000000.0",
                ("spike_factor", _) => "0.0",
                _ => continue,
            };
            out.push(ParamOverride {
                rule: Some(spec.id.clone()),
                name: p.clone(),
                value: value.into(),
            });
        }
    }
    out
}

/// The pack, optionally with every rule's window made sliding (10 minutes, sliding by 2).
fn pack(sliding: bool) -> Vec<(String, String)> {
    gatewatch_rules::builtin_files()
        .into_iter()
        .map(|(origin, text)| {
            if !sliding {
                return (origin, text);
            }
            let start = text.find("[window]").unwrap();
            let end = text[start..].find("\n[").map_or(text.len(), |i| start + i);
            let text = format!(
                "{}[window]\nsize = \"10m\"\nslide = \"2m\"\n{}",
                &text[..start],
                &text[end..]
            );
            (origin, text)
        })
        .collect()
}

fn run(rules: Vec<CompiledRule>, batches: &[RecordBatch]) -> BTreeMap<String, serde_json::Value> {
    let cfg = EngineConfig {
        limits: StateLimits {
            max_alerts_per_window: usize::MAX,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut engine = Engine::new(rules, cfg);
    let mut alerts: Vec<Alert> = Vec::new();
    for b in batches {
        alerts.extend(engine.process(b).unwrap());
    }
    alerts.extend(engine.finish().unwrap());
    alerts
        .into_iter()
        .map(|a| (a.id.clone(), serde_json::to_value(&a).unwrap()))
        .collect()
}

/// Pack rules that run their whole query on the window's buffered rows, and why: they join
/// the window's rows with each other, which no per-group partial aggregate expresses.
/// `sensitive-file-exposed` compares a client's 2xx answer on a secret path with its other
/// pages (catch-all detection) and with other clients' (files the app serves); its filter keeps
/// only 2xx page-like rows.
const WHOLE_WINDOW: &[&str] = &[
    "sensitive-file-exposed",
    // Lists the addresses (array_agg DISTINCT, cut to 50): its filter keeps failed admin-login
    // POSTs only, so the window holds few rows.
    "admin-login-distributed",
    // Joins each address with the others sharing its agent: its filter keeps requests for CMS
    // login pages only.
    "login-page-sweep",
];

fn compare(sliding: bool, seed: u64) {
    let batches = traffic(seed, 25, 3_000);
    let overrides = open_thresholds();
    let split = gatewatch_rules::compile_all(pack(sliding), &overrides).unwrap();
    let whole_only: Vec<&str> = split
        .iter()
        .filter(|r| r.agg.is_none() && !WHOLE_WINDOW.contains(&r.id()))
        .map(|r| r.id())
        .collect();
    assert!(
        whole_only.is_empty(),
        "every pack rule not in WHOLE_WINDOW splits at its aggregate; these do not: {whole_only:?}"
    );
    let whole: Vec<CompiledRule> = gatewatch_rules::compile_all(pack(sliding), &overrides)
        .unwrap()
        .into_iter()
        .map(CompiledRule::without_partial_aggregates)
        .collect();
    let got = run(split, &batches);
    let want = run(whole, &batches);
    let rules: std::collections::BTreeSet<&str> = want
        .values()
        .map(|a| a["rule_id"].as_str().unwrap())
        .collect();
    assert!(
        rules.len() >= 12,
        "most rules alert with open thresholds: {rules:?}"
    );
    assert!(want.len() > 100, "{} alerts", want.len());
    for (id, w) in &want {
        assert_eq!(
            got.get(id),
            Some(w),
            "alert {id} (sliding: {sliding}, seed {seed})"
        );
    }
    assert_eq!(got.len(), want.len());
}

/// `regexp_like` calls in a rule's aggregate arguments and aggregate filters are answered
/// once per batch upstream (the masks the decoder threads compute carry them), and the rule
/// counts with them exactly what the whole query counts row by row on the window's rows: also
/// around the rows its filter and its `WHERE` leave out, and on two columns.
#[test]
fn aggregate_inputs_answered_upstream_equal_the_whole_query() {
    const RULE: &str = r#"id = "answered"
title = "t"
severity = "low"
description = "t"
filter = "status < 500"
sql = """
SELECT client_ip AS entity,
       count(*) AS event_count,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen,
       sum(CASE WHEN regexp_like(path, '^/api/v1/') THEN 1 ELSE 0 END) AS api_calls,
       count(CASE WHEN regexp_like(user_agent, '(?i)bot') THEN 1 END) AS bot_rows,
       count(*) FILTER (WHERE regexp_like(path, '[0-9]$')) AS id_paths
FROM events
WHERE method = 'GET'
GROUP BY client_ip
"""

[window]
size = "5m"

[entity]
type = "ip"
column = "client_ip"
"#;
    let compile =
        || gatewatch_rules::compile_all(vec![("test:answered".into(), RULE.into())], &[]).unwrap();
    let batches = traffic(7, 25, 3_000);
    let split = compile();
    let agg = split[0]
        .agg
        .as_ref()
        .expect("the rule splits at its aggregate");
    let answered: Vec<(String, String)> = (agg.answered())
        .map(|(c, p)| (c.to_owned(), p.to_owned()))
        .collect();
    assert_eq!(
        answered,
        [
            ("path".to_owned(), "^/api/v1/".to_owned()),
            ("user_agent".to_owned(), "(?i)bot".to_owned()),
            ("path".to_owned(), "[0-9]$".to_owned()),
        ]
    );
    let masks = RuleSet::new(compile(), 1, false)
        .masks(&batches[0])
        .unwrap();
    for (column, pattern) in &answered {
        let a = masks.answer(column, pattern);
        assert_eq!(
            a.map(|a| a.len()),
            Some(batches[0].num_rows()),
            "{column} ~ {pattern}"
        );
    }
    let whole: Vec<CompiledRule> = compile()
        .into_iter()
        .map(CompiledRule::without_partial_aggregates)
        .collect();
    let got = run(split, &batches);
    let want = run(whole, &batches);
    assert!(want.len() > 50, "{} alerts", want.len());
    for field in ["api_calls", "bot_rows", "id_paths"] {
        let counts: std::collections::BTreeSet<i64> = (want.values())
            .filter_map(|a| a["fields"][field].as_i64())
            .collect();
        assert!(counts.len() > 2, "{field} takes several values: {counts:?}");
    }
    // Counts and fields; not the evidence, which the whole query samples from the rows the
    // rule's filter keeps, before its `WHERE` (the pack's rules filter in `filter`).
    let counted = |a: &serde_json::Value| {
        let keys = [
            "entity",
            "window_start",
            "event_count",
            "first_seen",
            "last_seen",
            "fields",
        ];
        keys.map(|k| a[k].clone())
    };
    for (id, w) in &want {
        assert_eq!(got.get(id).map(counted), Some(counted(w)), "alert {id}");
    }
    assert_eq!(got.len(), want.len());
}

#[test]
fn partial_aggregates_equal_the_whole_query_tumbling() {
    compare(false, 7);
}

#[test]
fn partial_aggregates_equal_the_whole_query_sliding() {
    compare(true, 8);
}

/// The same alerts however many tasks share the rules (a file's entities sharded over 1, 2 or
/// 3 workers), on generated traffic with every scenario, written out of order.
#[test]
fn sharding_entities_over_workers_changes_no_alert() {
    use gatewatch_generate::GenConfig;
    use std::io::Read;
    let mut data = Vec::new();
    GeneratorReader::new(GenConfig {
        seed: 9,
        duration_ms: 30 * 60_000,
        benign_rate: 20.0,
        jitter_ms: 2_000,
        ..Default::default()
    })
    .read_to_end(&mut data)
    .unwrap();
    let run = |workers: usize| {
        let collect = crate::support::Collect::default();
        let out = collect.0.clone();
        let mut sinks: Vec<Box<dyn gatewatch_sinks::Sink>> = vec![Box::new(collect)];
        let cfg = gatewatch_pipeline::PipelineConfig {
            workers,
            threads: 2,
            ..Default::default()
        };
        let input = gatewatch_ingest::Input {
            reader: Box::new(std::io::Cursor::new(data.clone())),
            name: "gen".into(),
            interactive: false,
        };
        let rules = gatewatch_rules::load_builtin(&[]).unwrap();
        let summary = gatewatch_pipeline::run_lines(input, rules, &mut sinks, &cfg, None).unwrap();
        let alerts = out.lock().unwrap().clone();
        let by_id: BTreeMap<String, serde_json::Value> = alerts
            .into_iter()
            .map(|a| (a.id.clone(), serde_json::to_value(&a).unwrap()))
            .collect();
        (by_id, summary)
    };
    let (one, s1) = run(1);
    assert!(one.len() >= 20, "{} alerts", one.len());
    assert_eq!(s1.tasks, 1);
    for workers in [2, 3] {
        let (many, s) = run(workers);
        assert_eq!(s.tasks, workers);
        assert_eq!(many, one, "{workers} workers");
    }
}

/// Window state names what aggregates that keep every value hold: `bola-id-walking`'s
/// `longest_id_run` keeps its ids (part of the rule's bytes, not all of them); the counting
/// rules keep none.
#[test]
fn kept_values_are_reported_for_the_aggregates_that_keep_them_only() {
    let rules = gatewatch_rules::load_builtin(&open_thresholds()).unwrap();
    let mut engine = Engine::new(rules, EngineConfig::default());
    // Ten minutes of traffic: the 5-minute windows of the last batches are still open.
    for b in traffic(3, 10, 0) {
        engine.process(&b).unwrap();
    }
    let state = engine.state_by_operator();
    let bola = state["bola-id-walking"];
    assert!(
        bola.kept_values_bytes > 0 && bola.kept_values_bytes < bola.bytes,
        "{bola:?}"
    );
    for id in ["credential-stuffing-single-source", "endpoint-discovery"] {
        assert_eq!(state[id].kept_values_bytes, 0, "{id}");
    }
}
