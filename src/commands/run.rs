//! `gatewatch run` (and `gatewatch config check`): settings from flags over the config file,
//! then the pipeline with its sinks, metrics, signals and progress.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use gatewatch_engine::clock::ClockConfig;
use gatewatch_engine::guard::StateLimits;
use gatewatch_engine::EngineConfig;
use gatewatch_generate::{GenConfig, GeneratorReader};
use gatewatch_ingest::kafka::KafkaUrl;
use gatewatch_ingest::{open_input, ChunkOptions, DecodeConfig, Input};
use gatewatch_pipeline::{self as pipeline, InputSource as Source, PipelineConfig, RuleReloader};
use gatewatch_rules::functions::{ApiSpec, CrawlerRanges};
use gatewatch_rules::{CompiledRule, ParamOverride, SigmaOptions};
use gatewatch_sinks::config::SinksConfig;
use gatewatch_sinks::{JsonLinesSink, Sink};

use crate::commands::run_args::{Given, RunArgs};
use crate::config::{duration_ms, parse_bytes, ConfigFile};
use crate::logging::{init_logging, LogArgs};
use crate::sigma_cli::log_skipped;

/// The embedded default traffic of `gatewatch run` without `--input`.
pub fn sample_traffic() -> GenConfig {
    GenConfig {
        duration_ms: 10 * 60_000,
        benign_rate: 20.0,
        ..GenConfig::default()
    }
}

/// What a run reads.
enum InputPlan {
    /// The bundled sample traffic.
    Sample,
    /// A file (plain or gzip) or `-` for stdin.
    Lines(String),
    /// A Kafka consumer group.
    Kafka(KafkaUrl),
}

/// Everything a run needs, checked, with nothing started yet.
struct Prepared {
    input: InputPlan,
    overrides: Vec<ParamOverride>,
    sigma: SigmaOptions,
    rules: Vec<CompiledRule>,
    api_spec: Option<ApiSpec>,
    crawler_ranges: Option<CrawlerRanges>,
    decode: DecodeConfig,
    engine: EngineConfig,
    sinks: SinksConfig,
    /// The configured destinations' names (validated).
    sink_names: Vec<String>,
    /// `--idle-timeout` in milliseconds (0: off).
    idle_timeout_ms: i64,
    data_dir: PathBuf,
}

/// Checks the settings, loads the rules and the API inventory; starts nothing.
fn prepare(args: &RunArgs, file: &ConfigFile) -> Result<Prepared> {
    let kafka_url = args.input.as_deref().filter(|s| s.starts_with("kafka://"));
    let input = match (file.kafka_input(kafka_url)?, &args.input) {
        (Some(k), _) => InputPlan::Kafka(k),
        (None, Some(spec)) => InputPlan::Lines(spec.clone()),
        (None, None) => InputPlan::Sample,
    };
    let params_text = &file.rules.params;
    let overrides = gatewatch_rules::params::all_overrides(
        &args.params,
        args.params_file.as_deref(),
        params_text,
    )?;
    let sigma = args.sigma.options(&file.sigma)?;
    let rules = load_rules(args.rules.as_ref(), &overrides, &sigma)?;
    let api_spec = api_spec(&args.openapi, matches!(input, InputPlan::Sample))?;
    let crawler_ranges = crawler_ranges(args.crawler_ranges.as_deref())?;
    let mut decode = DecodeConfig {
        format: args.format,
        ..Default::default()
    };
    if args.username_field != "none" {
        decode = decode.with_username_field(&args.username_field);
    }
    if let Some(f) = &args.envoy_format {
        decode = decode.with_envoy_format(f).context("--envoy-format")?;
    }
    if let Some(f) = &args.nginx_format {
        decode = decode.with_nginx_format(f).context("--nginx-format")?;
    }
    decode.input_key = args.input_key()?;
    let engine = EngineConfig {
        clock: ClockConfig {
            lateness_ms: duration_ms(&args.allowed_lateness).context("--allowed-lateness")?,
            confirm: args.time_confirmations.max(1),
            max_jump_ms: duration_ms(&args.max_time_jump).context("--max-time-jump")?,
            hold_records: args.time_hold_records,
            ..Default::default()
        },
        limits: StateLimits {
            max_groups: args.max_groups.max(1),
            max_bytes: parse_bytes(&args.max_state_bytes).context("--max-state-bytes")?,
            max_alerts_per_window: args.max_alerts_per_window.max(1),
            ..Default::default()
        },
        ..Default::default()
    };
    let idle_timeout_ms = duration_ms(&args.idle_timeout).context("--idle-timeout")?;
    let data_dir = args.data_dir();
    let sinks = args.sinks.sinks_config(file, &data_dir)?;
    let sink_names = sinks.validate()?;
    if let Some(addr) = &args.metrics_addr {
        if addr
            .rsplit_once(':')
            .is_none_or(|(_, p)| p.parse::<u16>().is_err())
        {
            bail!("--metrics-addr {addr:?}: expected HOST:PORT, e.g. 0.0.0.0:9464");
        }
    }
    Ok(Prepared {
        input,
        overrides,
        sigma,
        rules,
        api_spec,
        crawler_ranges,
        decode,
        engine,
        sinks,
        sink_names,
        idle_timeout_ms,
        data_dir,
    })
}

/// `gatewatch run`: the config file fills what the flags (`given`) leave out.
pub fn run(mut args: RunArgs, given: &Given, log: &LogArgs, log_given: &Given) -> Result<ExitCode> {
    let file = match &args.config {
        Some(p) => ConfigFile::load(p)?,
        None => ConfigFile::default(),
    };
    init_logging(&log.with_file(&file.log, log_given));
    // The lazy lists the filters need are built while the rules compile (both take tens of
    // milliseconds); a failure to start the thread only means they are built on first use.
    let _ = std::thread::Builder::new()
        .name("gw-lists".into())
        .spawn(gatewatch_rules::functions::prepare_lists);
    args.apply(&file, given);
    // First, so that health answers (and readiness says "not yet") while rules load.
    let observe = match &args.metrics_addr {
        Some(addr) => {
            let health = std::sync::Arc::new(pipeline::observe::Health::default());
            pipeline::observe::serve(addr, health.clone())?;
            Some(health)
        }
        None => None,
    };
    let p = prepare(&args, &file)?;
    tracing::debug!(data_dir = %p.data_dir.display(), "data directory");
    gatewatch_rules::functions::set_api_spec(p.api_spec);
    gatewatch_rules::functions::set_crawler_ranges(p.crawler_ranges);
    let reloader = args.rules.as_ref().map(|dir| {
        RuleReloader::new(
            dir.clone(),
            p.overrides.clone(),
            p.sigma.clone(),
            Duration::from_secs(1),
        )
    });
    let (source, file_input) = match p.input {
        InputPlan::Kafka(k) => (Source::Kafka(k), false),
        InputPlan::Lines(spec) => (Source::Lines(open_input(&spec)?), spec != "-"),
        InputPlan::Sample => {
            tracing::info!("no --input: replaying bundled sample traffic (10 minutes, benign mix + attack scenarios)");
            let input = Input {
                reader: Box::new(GeneratorReader::new(sample_traffic())),
                name: "sample".into(),
                interactive: false,
            };
            (Source::Lines(input), false)
        }
    };
    let interactive = match &source {
        Source::Lines(i) => i.interactive,
        Source::Kafka(_) => true,
    };
    // SIGTERM/SIGINT end a Kafka run or a file replay as its input's end would (Kafka: commit
    // what is durable, leave the group, keep open windows for the next owner); a second signal
    // ends the process at once. A stdin run keeps the default: a blocked read would never see
    // the flag.
    if !matches!(&source, Source::Lines(i) if i.interactive) {
        stop_on_signals()?;
    }
    if let Source::Kafka(k) = &source {
        if !k.repartition {
            tracing::warn!(
                "repartition=off: rules keyed by another column than --input-key ({}) see only the events of the partitions each instance owns, so an entity spread over partitions is split, and its alerts differ between runs",
                p.decode.input_key.map_or("none: every rule", |c| c.name())
            );
        }
    }
    // A ClickHouse that refuses the credentials or the database fails the start now; one
    // that is down is the spool's business.
    p.sinks.probe(Duration::from_secs(10))?;
    let drain = p.sinks.spool.drain();
    let total = match &args.input {
        Some(path) if file_input && !path.ends_with(".gz") => {
            std::fs::metadata(path).ok().map(|m| m.len())
        }
        _ => None,
    };
    let progress = args.progress.plan(file_input, total);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let cfg = PipelineConfig {
        decode: p.decode,
        chunk: ChunkOptions {
            max_line_bytes: args.max_line_bytes,
            ..Default::default()
        },
        engine: p.engine,
        threads: args.threads.unwrap_or(cores),
        workers: args.workers.unwrap_or(cores),
        dead_letter: args.dead_letter.clone(),
        progress_every: progress.lines_every,
        progress: progress.bar.as_ref().map(|b| b.hook()),
        idle_timeout: match p.idle_timeout_ms {
            0 => None,
            _ if !interactive => None,
            ms => Some(Duration::from_millis(ms as u64)),
        },
        sink_drain: drain,
        observe,
        ..Default::default()
    };
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if !args.quiet_alerts {
        sinks.push(Box::new(JsonLinesSink::stdout()));
    }
    if let Some(path) = &args.output {
        sinks.push(Box::new(JsonLinesSink::file(path)?));
    }
    sinks.extend(p.sinks.build()?);
    let result = pipeline::run(source, p.rules, &mut sinks, &cfg, reloader);
    if let Some(bar) = &progress.bar {
        bar.finish();
    }
    let summary = result?;
    if !args.no_summary {
        eprint!("{}", summary.render());
    }
    Ok(ExitCode::SUCCESS)
}

/// `gatewatch config check FILE`: everything a start checks (the file, the input, rules,
/// parameters, API inventory, secrets, sinks), without reading input or contacting anything.
pub fn check(path: &Path) -> Result<ExitCode> {
    let file = ConfigFile::load(path)?;
    let mut args = RunArgs::defaults();
    args.config = Some(path.to_owned());
    args.apply(&file, &Given(None));
    let p = prepare(&args, &file)?;
    let input = match &p.input {
        InputPlan::Sample => "bundled sample traffic (no input set)".to_owned(),
        InputPlan::Lines(s) if s == "-" => "stdin".to_owned(),
        InputPlan::Lines(s) => {
            if !Path::new(s).exists() {
                bail!("[input] source: {s} does not exist");
            }
            s.clone()
        }
        InputPlan::Kafka(k) => k.redacted(),
    };
    let sinks = &p.sink_names;
    println!("{}: OK", path.display());
    println!("  input:    {input}");
    println!(
        "  rules:    {} ({})",
        p.rules.len(),
        args.rules
            .as_ref()
            .map_or("built-in pack".to_owned(), |d| d.display().to_string())
    );
    println!(
        "  sinks:    {}",
        if sinks.is_empty() {
            "none (alerts on stdout)".to_owned()
        } else {
            sinks.join(", ")
        }
    );
    println!("  data dir: {}", p.data_dir.display());
    if let Some(a) = &args.metrics_addr {
        println!("  metrics:  http://{a}/metrics");
    }
    Ok(ExitCode::SUCCESS)
}

fn load_rules(
    dir: Option<&PathBuf>,
    overrides: &[ParamOverride],
    sigma: &SigmaOptions,
) -> Result<Vec<CompiledRule>> {
    let rules = match dir {
        Some(d) => {
            let set = gatewatch_rules::load_dir_with(d, overrides, sigma)?;
            log_skipped(&set.skipped);
            for n in &set.notes {
                tracing::warn!(
                    "{}: Sigma rule {} ({}): {}",
                    n.origin,
                    n.rule_id,
                    n.title,
                    n.reason
                );
            }
            set.rules
        }
        None => gatewatch_rules::load_builtin(overrides)?,
    };
    if rules.is_empty() {
        bail!("no enabled rules to run (check --rules)");
    }
    Ok(rules)
}

/// The published crawler ranges of `--crawler-ranges DIR`, if given.
pub(super) fn crawler_ranges(dir: Option<&std::path::Path>) -> Result<Option<CrawlerRanges>> {
    let Some(dir) = dir else {
        tracing::info!(
            "no --crawler-ranges: crawler claims stay unverified; crawler-impersonation sees only \
             claimed crawlers that log in"
        );
        return Ok(None);
    };
    let ranges =
        CrawlerRanges::load_dir(dir).map_err(|e| anyhow::anyhow!("--crawler-ranges: {e}"))?;
    tracing::info!(
        crawlers = ranges.crawlers(),
        prefixes = ranges.prefixes(),
        "crawler ranges loaded: claims of those crawlers are verified"
    );
    Ok(Some(ranges))
}

/// The API inventory: the `--openapi` files, or for the bundled sample traffic the spec of
/// the simulated shop.
fn api_spec(files: &[PathBuf], sample: bool) -> Result<Option<ApiSpec>> {
    let spec = if !files.is_empty() {
        Some(ApiSpec::load(files).map_err(|e| anyhow::anyhow!("--openapi: {e}"))?)
    } else if sample {
        Some(
            ApiSpec::parse(&[(
                "shop-openapi.yaml".into(),
                gatewatch_generate::SHOP_OPENAPI.into(),
            )])
            .map_err(anyhow::Error::msg)?,
        )
    } else {
        None
    };
    match &spec {
        Some(s) => tracing::info!(
            operations = s.operations(),
            "API inventory loaded: shadow- and zombie-API rules active"
        ),
        None => tracing::info!("no --openapi: no API inventory; shadow/zombie-API rules stay silent and new-api-endpoint learns endpoints instead"),
    }
    Ok(spec)
}

/// SIGTERM and SIGINT set the sources' stop flag; a second one exits at once.
pub(crate) fn stop_on_signals() -> Result<()> {
    let stop = gatewatch_ingest::source::stop_flag();
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        // The conditional shutdown first: it fires only once the flag is already set.
        signal_hook::flag::register_conditional_shutdown(sig, 1, stop.clone())
            .context("installing a signal handler")?;
        signal_hook::flag::register(sig, stop.clone()).context("installing a signal handler")?;
    }
    Ok(())
}
