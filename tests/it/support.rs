//! Helpers shared by the integration tests.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use gatewatch_engine::{Alert, EngineConfig};
use gatewatch_ingest::{ChunkOptions, DecodeConfig, Input};
use gatewatch_model::Record;
use gatewatch_pipeline::{self as pipeline, PipelineConfig};
use gatewatch_sinks::Sink;

/// Test times are offsets from this instant (2026-01-01T00:00:00Z, a whole hour): ingest
/// rejects event times before 2000 as implausible.
pub const EPOCH: i64 = 1_767_225_600_000;

/// A minimal Kong log line at `EPOCH + t_ms`.
pub fn kong(t_ms: i64, ip: &str, method: &str, uri: &str, status: u16) -> String {
    let t = EPOCH + t_ms;
    format!(
        r#"{{"started_at":{t},"client_ip":"{ip}","request":{{"method":"{method}","uri":"{uri}","headers":{{"user-agent":"test"}}}},"response":{{"status":{status}}}}}"#
    )
}

/// `n` failed logins from `ip`, `gap_ms` apart from `t0`.
pub fn failed_logins(ip: &str, t0: i64, n: usize, gap_ms: i64) -> Vec<String> {
    (0..n)
        .map(|i| kong(t0 + i as i64 * gap_ms, ip, "POST", "/api/v1/login", 401))
        .collect()
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Collects alerts in memory.
#[derive(Default)]
pub struct Collect(pub std::sync::Arc<std::sync::Mutex<Vec<Alert>>>);

impl Sink for Collect {
    fn name(&self) -> &str {
        "collect"
    }
    fn deliver(&mut self, records: &[Record]) -> Result<(), gatewatch_sinks::SinkError> {
        let alerts = records.iter().filter_map(Record::as_alert).cloned();
        self.0.lock().unwrap().extend(alerts);
        Ok(())
    }
}

/// Runs the built-in rules over `lines` with small chunks (so several batches and both decoder
/// threads are exercised) and returns the alerts and the run summary.
pub fn run_lines(
    lines: &[String],
    lateness_ms: i64,
    chunk_bytes: usize,
) -> (Vec<Alert>, pipeline::RunSummary) {
    run_lines_with(
        lines,
        EngineConfig::default().with_lateness_ms(lateness_ms),
        chunk_bytes,
    )
}

/// [`run_lines`] with any engine settings.
pub fn run_lines_with(
    lines: &[String],
    engine: EngineConfig,
    chunk_bytes: usize,
) -> (Vec<Alert>, pipeline::RunSummary) {
    let data = lines.join("\n").into_bytes();
    let rules = gatewatch_rules::load_builtin(&[]).unwrap();
    let collect = Collect::default();
    let out = collect.0.clone();
    let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(collect)];
    let cfg = PipelineConfig {
        decode: DecodeConfig::default().with_username_field("username"),
        chunk: ChunkOptions {
            chunk_bytes,
            ..Default::default()
        },
        engine,
        threads: 2,
        workers: 2,
        sink_drain: std::time::Duration::ZERO,
        ..Default::default()
    };
    let input = Input {
        reader: Box::new(std::io::Cursor::new(data)),
        name: "test".into(),
        interactive: false,
    };
    let summary = pipeline::run_lines(input, rules, &mut sinks, &cfg, None).unwrap();
    let alerts = out.lock().unwrap().clone();
    (alerts, summary)
}

/// Runs the gatewatch binary.
pub fn gatewatch(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatewatch"));
    cmd.args(args)
        .env("GATEWATCH_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("gatewatch binary runs");
    if let Some(data) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    child.wait_with_output().unwrap()
}

/// Runs the gatewatch binary and fails the test, showing its stderr, unless it succeeds.
pub fn gatewatch_ok(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let out = gatewatch(args, stdin);
    assert!(
        out.status.success(),
        "gatewatch {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The alerts printed on stdout, parsed.
pub fn alerts_of(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"))
        })
        .collect()
}

/// Runs `gatewatch generate ARGS --output DIR/NAME` and returns the file.
pub fn generate(dir: &std::path::Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let mut all = vec!["generate", "--output", path.to_str().unwrap()];
    all.extend_from_slice(args);
    gatewatch_ok(&all, None);
    path
}

/// Replays the labelled logs of `eval/<dir>` and checks the total row (`all of <labels>`): the
/// number of attacking clients, at least `min_found` of them named, no benign client alerted;
/// and that each `(file, rule)` pair shows the rule alerting in that file. Returns the report.
pub fn assert_corpus_recall(
    dir: &str,
    labels: &str,
    attackers: u32,
    min_found: u32,
    named: &[(&str, &str)],
) -> String {
    assert_corpus(dir, labels, attackers, min_found, &BenignHits::NONE, named)
}

/// Benign clients a set may see alerted: at most `max`, each by one of `rules` (a known
/// disagreement between the set's labels and what a rule is for, said where it is used).
pub struct BenignHits<'a> {
    /// At most this many benign clients alerted.
    pub max: u32,
    /// The rules allowed to name them.
    pub rules: &'a [&'a str],
}

impl BenignHits<'_> {
    /// No benign client alerted.
    pub const NONE: BenignHits<'static> = BenignHits { max: 0, rules: &[] };
}

/// [`assert_corpus_recall`], allowing the benign hits `benign` describes.
pub fn assert_corpus(
    dir: &str,
    labels: &str,
    attackers: u32,
    min_found: u32,
    benign: &BenignHits<'_>,
    named: &[(&str, &str)],
) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("eval")
        .join(dir);
    let out = gatewatch(&["eval", "--corpus", dir.to_str().unwrap()], None);
    let report = String::from_utf8_lossy(&out.stdout);
    // `all of <labels> attackers found benign-hit (...)`; a set of one log has only its row,
    // `<file> attackers found benign-hit alerts`.
    let total = report
        .lines()
        .find(|l| l.starts_with(&format!("all of {labels}")))
        .map(|l| l.split_whitespace().skip(3).collect::<Vec<&str>>())
        .or_else(|| {
            let rows: Vec<&str> = (report.lines())
                .filter(|l| !l.starts_with(' '))
                .filter(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .is_some_and(|c| c.parse::<u32>().is_ok())
                })
                .collect();
            (rows.len() == 1).then(|| rows[0].split_whitespace().skip(1).collect())
        })
        .unwrap_or_else(|| panic!("no total row in:\n{report}"));
    let (total_attackers, found, benign_hit): (u32, u32, u32) = (
        total[0].parse().unwrap(),
        total[1].parse().unwrap(),
        total[2].parse().unwrap(),
    );
    assert_eq!(total_attackers, attackers, "{report}");
    assert!(
        found >= min_found,
        "{found} of {attackers} named:\n{report}"
    );
    assert!(benign_hit <= benign.max, "{report}");
    // Every benign client alerted is listed, with the rule that named it.
    let hits: Vec<&str> = (report.lines())
        .filter_map(|l| l.trim_start().strip_prefix("false positive: "))
        .collect();
    assert!(hits.len() as u32 >= benign_hit, "{report}");
    for hit in hits {
        assert!(
            benign
                .rules
                .iter()
                .any(|r| hit.starts_with(&format!("{r} on "))),
            "benign client alerted: {hit}\n{report}"
        );
    }
    // Every attacking client no alert named is listed under its file, with its label.
    let listed: u32 = (report.lines())
        .filter_map(|l| l.trim_start().strip_prefix("missed: "))
        .map(|m| match m.strip_suffix(" more") {
            Some(n) => n.parse::<u32>().unwrap(),
            None => 1,
        })
        .sum();
    assert_eq!(listed, attackers - found, "{report}");
    for (file, rule) in named {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(file) && l.contains(rule)),
            "{file}: no {rule} alert:\n{report}"
        );
    }
    report.into_owned()
}
