//! Sigma correlations through the engine (partial aggregates per pane, sliding windows merged,
//! evaluator states merged, rows arriving out of order within the allowed lateness) against a
//! brute-force evaluation written here from the specification's words: for every window
//! `[k·S, k·S + T)` and group, take the window's events and measure them directly. Thresholds
//! are opened up so nearly every group alerts and the measures themselves are compared, for
//! every correlation type, a chain, and a group-by on another column than the client address.

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use arrow::record_batch::RecordBatch;
use gatewatch_engine::guard::StateLimits;
use gatewatch_engine::{Alert, Engine, EngineConfig};
use gatewatch_generate::{GenConfig, GeneratorReader};
use gatewatch_ingest::{ChunkDecoder, ChunkOptions, ChunkReader, ColumnSet, DecodeConfig};
use gatewatch_rules::{ParamOverride, SigmaOptions};

const T_MS: i64 = 300_000;
const S_MS: i64 = 30_000;

fn base(name: &str, selection: &str) -> (String, String) {
    (
        format!("{name}.yml"),
        format!(
            "title: {name}\nname: {name}\nid: diff-{name}\nlogsource:\n    category: webserver\ndetection:\n    selection:\n{selection}\n    condition: selection\n"
        ),
    )
}

fn corr(id: &str, body: &str) -> (String, String) {
    (
        format!("{id}.yml"),
        format!("title: {id}\nid: {id}\ncorrelation:\n{body}"),
    )
}

fn rule_files() -> Vec<(String, String)> {
    let by_ip = "    group-by: [c-ip]\n    timespan: 5m\n";
    vec![
        base("fail", "        sc-status: 401"),
        base("ok", "        sc-status: 200\n        cs-method: POST"),
        base("nf", "        sc-status: 404"),
        base("get", "        sc-status: 200\n        cs-method: GET"),
        corr(
            "ec",
            &format!("    type: event_count\n    rules: [fail, nf]\n{by_ip}    condition:\n        gte: 1\n"),
        ),
        corr(
            "vc",
            &format!("    type: value_count\n    rules: [nf]\n{by_ip}    condition:\n        field: cs-uri-stem\n        gte: 1\n"),
        ),
        corr(
            "vs",
            &format!("    type: value_sum\n    rules: [get]\n{by_ip}    condition:\n        field: sc-bytes\n        gte: 0\n"),
        ),
        corr(
            "va",
            &format!("    type: value_avg\n    rules: [get]\n{by_ip}    condition:\n        field: sc-bytes\n        gte: 0\n"),
        ),
        corr(
            "vp",
            &format!("    type: value_percentile\n    rules: [get]\n{by_ip}    condition:\n        field: sc-bytes\n        percentile: 75\n        gte: 0\n"),
        ),
        corr(
            "tp",
            &format!("    type: temporal\n    rules: [fail, nf, ok]\n{by_ip}    condition:\n        gte: 1\n"),
        ),
        corr(
            "to",
            &format!("    type: temporal_ordered\n    rules: [fail, ok]\n{by_ip}    condition:\n        gte: 1\n"),
        ),
        corr(
            "burst",
            "    type: event_count\n    rules: [fail]\n    group-by: [c-ip]\n    timespan: 1m\n    condition:\n        gte: 3\n",
        ),
        corr(
            "ch",
            &format!("    type: temporal_ordered\n    rules: [burst, ok]\n{by_ip}    condition:\n        gte: 1\n"),
        ),
        corr(
            "ua",
            "    type: event_count\n    rules: [fail]\n    group-by: [cs-user-agent]\n    timespan: 5m\n    condition:\n        gte: 1\n",
        ),
    ]
}

/// One decoded event, as the brute force reads it.
#[derive(Debug, Clone)]
struct Ev {
    t: i64,
    ip: Option<String>,
    ua: Option<String>,
    method: Option<String>,
    path: Option<String>,
    status: Option<i64>,
    bytes: Option<i64>,
}

impl Ev {
    fn is(&self, rule: &str) -> bool {
        let m = |x: &str| self.method.as_deref() == Some(x);
        match rule {
            "fail" => self.status == Some(401),
            "ok" => self.status == Some(200) && m("POST"),
            "nf" => self.status == Some(404),
            "get" => self.status == Some(200) && m("GET"),
            _ => unreachable!(),
        }
    }
}

fn traffic() -> Vec<RecordBatch> {
    let cfg = GenConfig {
        seed: 11,
        duration_ms: 25 * 60_000,
        benign_rate: 20.0,
        jitter_ms: 2_000,
        ..Default::default()
    };
    let mut reader = ChunkReader::new(
        GeneratorReader::new(cfg),
        "gen",
        ChunkOptions {
            chunk_bytes: 150_000,
            ..Default::default()
        },
        false,
    );
    let mut decoder = ChunkDecoder::new(DecodeConfig::default(), ColumnSet::all(), 1 << 20);
    let mut out = Vec::new();
    while let Some(chunk) = reader.next_chunk().unwrap() {
        out.push(decoder.decode(&chunk, 0).unwrap().batch);
    }
    out
}

fn events(batches: &[RecordBatch]) -> Vec<Ev> {
    let mut out = Vec::new();
    for b in batches {
        let int = |name: &str| {
            let a =
                arrow::compute::cast(b.column_by_name(name).unwrap(), &DataType::Int64).unwrap();
            a.as_primitive::<Int64Type>().clone()
        };
        let text = |name: &str| b.column_by_name(name).unwrap().as_string::<i32>().clone();
        let (t, status, bytes) = (int("event_time"), int("status"), int("response_bytes"));
        let (ip, ua, method, path) = (
            text("client_ip"),
            text("user_agent"),
            text("method"),
            text("path"),
        );
        let s =
            |a: &arrow::array::StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_owned());
        let n = |a: &arrow::array::Int64Array, i: usize| a.is_valid(i).then(|| a.value(i));
        for i in 0..b.num_rows() {
            out.push(Ev {
                t: t.value(i),
                ip: s(&ip, i),
                ua: s(&ua, i),
                method: s(&method, i),
                path: s(&path, i),
                status: n(&status, i),
                bytes: n(&bytes, i),
            });
        }
    }
    out
}

/// Events of the longest prefix of `steps` found in order (each strictly after the previous
/// step's event in (time, rule order) order: ties in time go to the lower step first).
fn ordered(window: &[&Ev], steps: &[Vec<(i64, usize)>]) -> i64 {
    let mut after: Option<(i64, usize)> = None;
    let mut found = 0;
    for s in steps {
        match s.iter().filter(|e| after.is_none_or(|a| **e > a)).min() {
            Some(e) => {
                after = Some(*e);
                found += 1;
            }
            None => break,
        }
    }
    let _ = window;
    found
}

/// The measure of correlation `id` over one group's window events (`None`: no alert).
fn measure(id: &str, evs: &[&Ev]) -> Option<f64> {
    let of = |r: &str| {
        evs.iter()
            .filter(|e| e.is(r))
            .copied()
            .collect::<Vec<&Ev>>()
    };
    // (time, tie-break) of a rule's events: within one millisecond a later-listed rule's event
    // sorts after (the evaluator orders events by time, then by the rules they match).
    let times =
        |r: &str, rank: usize| -> Vec<(i64, usize)> { of(r).iter().map(|e| (e.t, rank)).collect() };
    let x = match id {
        "ec" | "ua" => evs.len() as f64,
        "vc" => of("nf")
            .iter()
            .filter_map(|e| e.path.clone())
            .collect::<BTreeSet<_>>()
            .len() as f64,
        "vs" | "va" | "vp" => {
            let mut v: Vec<f64> = of("get")
                .iter()
                .filter_map(|e| e.bytes)
                .map(|b| b as f64)
                .collect();
            if v.is_empty() {
                return None;
            }
            match id {
                "vs" => v.iter().sum(),
                "va" => v.iter().sum::<f64>() / v.len() as f64,
                _ => {
                    v.sort_by(f64::total_cmp);
                    let rank = (0.75 * v.len() as f64).ceil() as usize;
                    v[rank.clamp(1, v.len()) - 1]
                }
            }
        }
        "tp" => ["fail", "nf", "ok"]
            .iter()
            .filter(|r| !of(r).is_empty())
            .count() as f64,
        "to" => ordered(evs, &[times("fail", 0), times("ok", 1)]) as f64,
        "ch" => {
            // The burst occurs at each failure with >= 3 failures in the minute ending at it.
            let fails = of("fail");
            let bursts: Vec<(i64, usize)> = fails
                .iter()
                .filter(|e| {
                    fails
                        .iter()
                        .filter(|f| f.t > e.t - 60_000 && f.t <= e.t)
                        .count()
                        >= 3
                })
                .map(|e| (e.t, 0))
                .collect();
            ordered(evs, &[bursts, times("ok", 1)]) as f64
        }
        _ => unreachable!(),
    };
    (x >= if matches!(id, "vs" | "va" | "vp") {
        0.0
    } else {
        1.0
    })
    .then_some(x)
}

/// (rule, entity, window start) -> (measure, event count, first seen, last seen).
type Outcome = BTreeMap<(String, String, i64), (f64, i64, i64, i64)>;

/// Brute force: every window's groups measured directly.
fn brute_force(evs: &[Ev]) -> Outcome {
    let (lo, hi) = (
        evs.iter().map(|e| e.t).min().unwrap(),
        evs.iter().map(|e| e.t).max().unwrap(),
    );
    let leaves: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("ec", &["fail", "nf"][..]),
        ("vc", &["nf"][..]),
        ("vs", &["get"][..]),
        ("va", &["get"][..]),
        ("vp", &["get"][..]),
        ("tp", &["fail", "nf", "ok"][..]),
        ("to", &["fail", "ok"][..]),
        ("ch", &["fail", "ok"][..]),
        ("ua", &["fail"][..]),
    ]);
    let mut out = BTreeMap::new();
    let mut start = (lo - T_MS).div_euclid(S_MS) * S_MS;
    while start <= hi {
        let window: Vec<&Ev> = evs
            .iter()
            .filter(|e| e.t >= start && e.t < start + T_MS)
            .collect();
        for (&id, rules) in &leaves {
            let mut groups: BTreeMap<String, Vec<&Ev>> = BTreeMap::new();
            for e in &window {
                let key = if id == "ua" { &e.ua } else { &e.ip };
                if let Some(k) = key {
                    if rules.iter().any(|r| e.is(r)) {
                        groups.entry(k.clone()).or_default().push(e);
                    }
                }
            }
            for (k, g) in groups {
                if let Some(m) = measure(id, &g) {
                    let first = g.iter().map(|e| e.t).min().unwrap();
                    let last = g.iter().map(|e| e.t).max().unwrap();
                    out.insert((id.to_owned(), k, start), (m, g.len() as i64, first, last));
                }
            }
        }
        start += S_MS;
    }
    out
}

#[test]
fn correlations_through_the_engine_equal_a_brute_force_of_every_window() {
    let batches = traffic();
    let files = rule_files();
    let overrides: Vec<ParamOverride> = ["ec", "vc", "vs", "va", "vp", "tp", "to", "ch", "ua"]
        .iter()
        .map(|id| format!("{id}.suppress_for=1s").parse().unwrap())
        .collect();
    let set = gatewatch_rules::compile_set(files, &overrides, &SigmaOptions::default()).unwrap();
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    let ids: BTreeSet<&str> = set.rules.iter().map(|r| r.id()).collect();
    assert_eq!(
        ids,
        BTreeSet::from(["ec", "vc", "vs", "va", "vp", "tp", "to", "ch", "ua"]),
        "base rules and the chain's inner part only feed the correlations"
    );
    let cfg = EngineConfig {
        limits: StateLimits {
            max_alerts_per_window: usize::MAX,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut engine = Engine::new(set.rules, cfg);
    let mut alerts: Vec<Alert> = Vec::new();
    for b in &batches {
        alerts.extend(engine.process(b).unwrap());
    }
    alerts.extend(engine.finish().unwrap());

    let measure_field = |a: &Alert| -> f64 {
        let name = match a.rule_id.as_str() {
            "ec" | "ua" => return a.event_count as f64,
            "vc" => "value_count",
            "vs" => "value_sum",
            "va" => "value_avg",
            "vp" => "value_percentile",
            _ => "rules_matched",
        };
        a.fields[name].as_f64().unwrap()
    };
    let got: Outcome = alerts
        .iter()
        .map(|a| {
            (
                (a.rule_id.clone(), a.entity.clone(), a.window_start),
                (measure_field(a), a.event_count, a.first_seen, a.last_seen),
            )
        })
        .collect();
    assert_eq!(
        got.len(),
        alerts.len(),
        "one alert per rule, group and window"
    );
    let want = brute_force(&events(&batches));
    for id in ["ec", "vc", "vs", "va", "vp", "tp", "to", "ch", "ua"] {
        let n = want.keys().filter(|k| k.0 == id).count();
        assert!(
            n >= 20,
            "{id}: the traffic must give many groups and windows ({n})"
        );
    }
    assert!(
        want.iter().any(|(k, v)| k.0 == "to" && v.0 == 2.0)
            && want.iter().any(|(k, v)| k.0 == "ch" && v.0 == 2.0),
        "ordered sequences and the chain must complete somewhere"
    );
    let mut diffs = Vec::new();
    for (k, w) in &want {
        match got.get(k) {
            Some(g)
                if (g.0 - w.0).abs() <= 1e-9 * w.0.abs().max(1.0)
                    && g.1 == w.1
                    && g.2 == w.2
                    && g.3 == w.3 => {}
            g => diffs.push(format!("{k:?}: engine {g:?}, brute force {w:?}")),
        }
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        diffs.push(format!("{k:?}: engine only {:?}", got[k]));
    }
    assert!(
        diffs.is_empty(),
        "{} of {} differ:\n{}",
        diffs.len(),
        want.len(),
        diffs
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
