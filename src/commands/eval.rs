//! `gatewatch eval`: replays generated, labelled traffic through the rules and measures them:
//! recall per attack scenario, precision and alert counts per rule, and alerts on the hard
//! negatives (carrier NAT, office egress, bulk API client, health checks, search crawler,
//! users mistyping passwords, steady AI-gateway consumers), which must be none.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use clap::Args;
use gatewatch_engine::Alert;
use gatewatch_generate::{labels, write_kong_line, GenConfig, Generator, Label, Scenario};
use gatewatch_ingest::Input;
use gatewatch_model::Record;
use gatewatch_rules::functions::{set_api_spec, ApiSpec};
use gatewatch_sinks::{Sink, SinkError};

use gatewatch_pipeline::{self as pipeline, PipelineConfig};

/// Which rules are meant to detect each labelled scenario (with an OpenAPI document loaded,
/// shadow and zombie endpoints are the spec rules' job; without, `new-api-endpoint`'s).
pub const EXPECTED: &[(&str, &[&str])] = &[
    (
        "credential-stuffing",
        &["credential-stuffing-single-source"],
    ),
    ("distributed-stuffing", &["credential-stuffing-distributed"]),
    ("password-spray", &["password-spray"]),
    ("account-takeover", &["login-success-after-failures"]),
    ("id-walking", &["bola-id-walking"]),
    ("endpoint-discovery", &["endpoint-discovery"]),
    ("machine-regular", &["machine-regular-client"]),
    ("ua-spoofing", &["browser-ua-automation"]),
    ("ai-crawler-api", &["ai-crawler-on-api"]),
    ("ai-crawler-declared", &["ai-crawler-declared"]),
    ("shadow-api", &["shadow-api-endpoint", "new-api-endpoint"]),
    ("zombie-api", &["zombie-api-endpoint", "new-api-endpoint"]),
    ("ai-token-abuse", &["ai-gateway-token-spike"]),
    ("probing", &["probing-attack-tools"]),
    ("web-scan", &["cms-framework-scan", "admin-console-probing"]),
    ("spa-scan", &["probing-attack-tools"]),
    ("cache-flood", &["cache-busting-flood"]),
    ("form-brute-force", &["login-brute-force"]),
    ("install-scan", &["file-prefix-guessing"]),
    ("technology-probe", &["unserved-technology-probe"]),
    ("crawl", &["machine-regular-client"]),
];

/// Rules that must stay quiet on a scenario's attackers although others report them: a scan of
/// a single-page app gets 200 with `index.html` for `/.env`, which is no leak.
pub const MUST_NOT: &[(&str, &[&str])] = &[("spa-scan", &["sensitive-file-exposed"])];

/// Options of `gatewatch eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Event-time length of each generated dataset.
    #[arg(long, default_value = "30m", value_name = "DURATION")]
    duration: String,
    /// Datasets (seeds 1..=N), each with every scenario and hard negative.
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// Benign requests per second of the general population.
    #[arg(long, default_value_t = 30.0)]
    rate: f64,
    /// Rule directory; default: the built-in pack.
    #[arg(long, value_name = "DIR")]
    rules: Option<std::path::PathBuf>,
    /// Parameter overrides, as for `run`.
    #[arg(long = "param", value_name = "[RULE.]NAME=VALUE")]
    params: Vec<String>,
    /// Parameter overrides file, as for `run`.
    #[arg(long, value_name = "FILE")]
    params_file: Option<std::path::PathBuf>,
    /// Run without the shop's OpenAPI document: shadow and zombie endpoints must then be found
    /// by learning (rule new-api-endpoint).
    #[arg(long)]
    no_openapi: bool,
    /// Exit with status 1 unless every scenario has recall >= 0.95 and no hard negative has
    /// an alert (for CI); with --corpus, unless every target of the corpus manifest is met.
    #[arg(long)]
    check: bool,
    /// Evaluate on labelled public material instead of generated traffic: DIR/corpus.toml
    /// lists user-agent lists (share classified as AI, browsers flagged) and labelled access
    /// logs (recall per attacking client, alerts on benign clients). See eval/corpus.
    #[arg(long, value_name = "DIR")]
    corpus: Option<std::path::PathBuf>,
    /// With --corpus: how many missed attacking clients to list per log, with what their label
    /// says they did (the rest are counted). Benign clients alerted are always all listed.
    #[arg(long, value_name = "N", default_value_t = 10)]
    missed: usize,
    /// Published crawler ranges, as for `run` (one file per crawler): without them
    /// crawler-impersonation cannot check a claim and stays silent.
    #[arg(long, value_name = "DIR")]
    crawler_ranges: Option<std::path::PathBuf>,
}

/// A sink keeping alerts in memory.
#[derive(Default, Clone)]
pub(super) struct Memory(Arc<Mutex<Vec<Alert>>>);

impl Memory {
    /// The alerts delivered so far.
    pub(super) fn alerts(&self) -> Vec<Alert> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Sink for Memory {
    fn name(&self) -> &str {
        "memory"
    }
    fn deliver(&mut self, records: &[Record]) -> Result<(), SinkError> {
        if let Ok(mut v) = self.0.lock() {
            v.extend(records.iter().filter_map(Record::as_alert).cloned());
        }
        Ok(())
    }
}

/// Counts over all seeds.
#[derive(Default)]
struct Score {
    /// scenario -> (primary entities, detected)
    recall: BTreeMap<String, (u64, u64)>,
    /// rule -> (alerts, true positives)
    rules: BTreeMap<String, (u64, u64)>,
    /// rule -> (entities of the scenarios it is meant for, of those it alerted on)
    rule_recall: BTreeMap<String, (u64, u64)>,
    /// hard-negative scenario -> alerts on its entities (rule ids)
    negatives: BTreeMap<String, Vec<String>>,
}

fn expected_rules(scenario: &str, with_spec: bool) -> Vec<&'static str> {
    EXPECTED
        .iter()
        .find(|(sc, _)| *sc == scenario)
        .map_or(&[][..], |(_, r)| *r)
        .iter()
        .copied()
        .filter(|r| match *r {
            "new-api-endpoint" => !with_spec,
            "shadow-api-endpoint" | "zombie-api-endpoint" => with_spec,
            _ => true,
        })
        .collect()
}

fn score(labels: &[Label], alerts: &[Alert], with_spec: bool, s: &mut Score) {
    let attack_entities: BTreeSet<&str> = labels
        .iter()
        .filter(|l| l.attack)
        .flat_map(|l| l.entities.iter().chain(&l.related).map(String::as_str))
        .collect();
    for a in alerts {
        let r = s.rules.entry(a.rule_id.clone()).or_default();
        r.0 += 1;
        r.1 += u64::from(attack_entities.contains(a.entity.as_str()));
    }
    for l in labels {
        if l.attack {
            let expected = expected_rules(&l.scenario, with_spec);
            let alerted = |entity: &str, rule: &str| {
                alerts
                    .iter()
                    .any(|a| a.entity == entity && a.rule_id == rule)
            };
            for (_, rules) in MUST_NOT.iter().filter(|(sc, _)| *sc == l.scenario) {
                for rule in *rules {
                    let hits = s
                        .negatives
                        .entry(format!("{} (no {rule})", l.scenario))
                        .or_default();
                    hits.extend(
                        l.entities
                            .iter()
                            .filter(|e| alerted(e, rule))
                            .map(|e| format!("{rule} on {e}")),
                    );
                }
            }
            let e = s.recall.entry(l.scenario.clone()).or_default();
            for entity in &l.entities {
                e.0 += 1;
                e.1 += u64::from(expected.iter().any(|r| alerted(entity, r)));
            }
            for rule in &expected {
                let r = s.rule_recall.entry((*rule).to_owned()).or_default();
                for entity in &l.entities {
                    r.0 += 1;
                    r.1 += u64::from(alerted(entity, rule));
                }
            }
        } else {
            let hits = s.negatives.entry(l.scenario.clone()).or_default();
            let own: BTreeSet<&str> = l
                .entities
                .iter()
                .chain(&l.related)
                .map(String::as_str)
                .collect();
            hits.extend(
                alerts
                    .iter()
                    .filter(|a| own.contains(a.entity.as_str()))
                    .map(|a| format!("{} on {}", a.rule_id, a.entity)),
            );
        }
    }
}

fn ratio(n: u64, d: u64) -> String {
    if d == 0 {
        "-".into()
    } else {
        format!("{:.2}", n as f64 / d as f64)
    }
}

/// Runs the evaluation and prints the tables.
pub fn run(args: EvalArgs) -> Result<ExitCode> {
    let duration_ms = gatewatch_model::duration::parse_positive_ms(&args.duration)
        .map_err(|e| anyhow::anyhow!("--duration: {e}"))?;
    let overrides = gatewatch_rules::params::all_overrides(
        &args.params,
        args.params_file.as_deref(),
        &toml::Table::new(),
    )?;
    gatewatch_rules::functions::set_crawler_ranges(super::run::crawler_ranges(
        args.crawler_ranges.as_deref(),
    )?);
    if let Some(dir) = &args.corpus {
        let load = || -> Result<_> {
            Ok(match &args.rules {
                Some(d) => gatewatch_rules::load_dir(d, &overrides)?,
                None => gatewatch_rules::load_builtin(&overrides)?,
            })
        };
        let ok = super::eval_corpus::run(dir, &load, args.missed)?;
        return Ok(super::eval_corpus::exit_code(ok, args.check));
    }
    let spec = if args.no_openapi {
        None
    } else {
        Some(
            ApiSpec::parse(&[(
                "shop-openapi.yaml".into(),
                gatewatch_generate::SHOP_OPENAPI.into(),
            )])
            .map_err(anyhow::Error::msg)?,
        )
    };
    set_api_spec(spec);
    let mut s = Score::default();
    let mut rule_ids = Vec::new();
    let mut events = 0;
    for seed in 1..=args.seeds {
        let cfg = GenConfig {
            seed,
            duration_ms,
            benign_rate: args.rate,
            scenarios: Scenario::ALL.to_vec(),
            ..GenConfig::default()
        };
        let mut data = Vec::new();
        let mut line = String::new();
        for r in Generator::new(cfg.clone()) {
            line.clear();
            write_kong_line(&r, &mut line);
            data.extend_from_slice(line.as_bytes());
            data.push(b'\n');
        }
        let rules = match &args.rules {
            Some(d) => gatewatch_rules::load_dir(d, &overrides)?,
            None => gatewatch_rules::load_builtin(&overrides)?,
        };
        rule_ids = rules.iter().map(|r| r.id().to_owned()).collect();
        let memory = Memory::default();
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(memory.clone())];
        let input = Input {
            reader: Box::new(std::io::Cursor::new(data)),
            name: format!("eval-seed-{seed}"),
            interactive: false,
        };
        let summary =
            pipeline::run_lines(input, rules, &mut sinks, &PipelineConfig::default(), None)
                .with_context(|| format!("replaying seed {seed}"))?;
        events += summary.engine.events;
        let alerts = memory.alerts();
        score(&labels(&cfg), &alerts, !args.no_openapi, &mut s);
    }

    println!(
        "gatewatch eval: {} datasets x {} of generated traffic ({events} events), benign rate {}/s, API inventory: {}",
        args.seeds,
        args.duration,
        args.rate,
        if args.no_openapi { "learned (no OpenAPI document)" } else { "the shop's OpenAPI document" }
    );
    println!("\nper scenario (recall over the labelled attack entities)");
    println!(
        "{:<24} {:>9} {:>9} {:>7}  detected by",
        "scenario", "entities", "detected", "recall"
    );
    let mut recall_ok = true;
    for (scenario, (n, hit)) in &s.recall {
        let rules = expected_rules(scenario, !args.no_openapi).join(", ");
        recall_ok &= *n > 0 && (*hit as f64 / *n as f64) >= 0.95;
        println!(
            "{scenario:<24} {n:>9} {hit:>9} {:>7}  {rules}",
            ratio(*hit, *n)
        );
    }
    println!("\nper rule (precision: alerts naming an attacker's entity; recall: over the scenarios it is meant for)");
    println!(
        "{:<36} {:>7} {:>6} {:>6} {:>9} {:>7}",
        "rule", "alerts", "TP", "FP", "precision", "recall"
    );
    for id in &rule_ids {
        let (n, tp) = s.rules.get(id).copied().unwrap_or_default();
        let (ents, hits) = s.rule_recall.get(id).copied().unwrap_or_default();
        println!(
            "{id:<36} {n:>7} {tp:>6} {:>6} {:>9} {:>7}",
            n - tp,
            ratio(tp, n),
            ratio(hits, ents)
        );
    }
    println!("\nhard negatives (alerts on them: must be none)");
    let mut negatives_ok = true;
    for (scenario, hits) in &s.negatives {
        negatives_ok &= hits.is_empty();
        let shown: BTreeSet<&String> = hits.iter().collect();
        println!(
            "{scenario:<28} {:>4}  {}",
            hits.len(),
            shown
                .into_iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    set_api_spec(None);
    if args.check && !(recall_ok && negatives_ok) {
        eprintln!(
            "gatewatch eval: targets missed (recall >= 0.95 on every scenario: {recall_ok}; no alert on hard negatives: {negatives_ok})"
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
