//! Command-line interface: arguments, subcommands and exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use gatewatch_engine::clock::ClockConfig;
use gatewatch_engine::guard::StateLimits;
use gatewatch_engine::EngineConfig;
use gatewatch_generate::{GenConfig, Generator, GeneratorReader, Scenario};
use gatewatch_ingest::kafka::KafkaUrl;
use gatewatch_ingest::{open_input, ChunkOptions, Column, DecodeConfig, Format, Input};
use gatewatch_rules::{CompiledRule, ParamOverride, SigmaOptions};

use crate::sigma_cli::{log_skipped, SigmaArgs};
use gatewatch_sinks::{JsonLinesSink, Sink};

use gatewatch_pipeline::RuleReloader;
use gatewatch_pipeline::{self as pipeline, InputSource as Source, PipelineConfig};

/// Streaming detection for API-gateway access logs (Kong, Envoy, NGINX).
///
/// Run with no arguments to replay bundled sample traffic (benign users plus credential
/// stuffing and other attacks) through the built-in rules and print the alerts.
#[derive(Debug, Parser)]
#[command(name = "gatewatch", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Log filter for diagnostics on stderr (e.g. `info`, `gatewatch=debug`); or set RUST_LOG.
    #[arg(long, global = true, default_value = "info", env = "GATEWATCH_LOG")]
    log: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the detection pipeline over logs and print alerts as JSON Lines.
    Run(Box<RunArgs>),
    /// Generate deterministic labelled traffic as Kong JSON lines.
    Generate(GenerateArgs),
    /// Measure decode and pipeline throughput on generated Kong records.
    Bench(crate::bench::BenchArgs),
    /// Measure the rules on generated, labelled traffic: recall per attack scenario,
    /// precision per rule, and alerts on hard negatives (which must be none).
    Eval(crate::eval::EvalArgs),
    /// Print the canonical event schema that rules query (table `events`).
    Schema,
    /// Check, test or export detection rules.
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Parse every rule file, plan its SQL and compile its script; print `file:line:col: error`.
    Lint(RulesDirArgs),
    /// Run every rule's [[tests]] and print a pass/fail table.
    Test(RulesDirArgs),
    /// Write the built-in pack to DIR as a starting point for your own rules.
    Export {
        /// Target directory (created if missing).
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
struct RulesDirArgs {
    /// Rule directory; default: the built-in pack.
    dir: Option<PathBuf>,
    /// Parameter overrides, as for `run`.
    #[arg(long = "param", value_name = "[RULE.]NAME=VALUE")]
    params: Vec<String>,
    /// Parameter overrides file, as for `run`.
    #[arg(long, value_name = "FILE")]
    params_file: Option<PathBuf>,
    /// Config file, as for `run` (its `[sigma]` table applies).
    #[arg(long, value_name = "FILE", env = "GATEWATCH_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    sigma: SigmaArgs,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Log input: a file (plain or gzip), `-` for stdin, or
    /// `kafka://HOST:PORT/TOPIC?group=NAME` (more: offset_reset, stop_after_idle, librdkafka
    /// properties such as security.protocol). Without it, bundled sample traffic is used.
    #[arg(long, short = 'i', value_name = "PATH|-|kafka://...")]
    input: Option<String>,
    /// Input format; `auto` sniffs each line.
    #[arg(
        long,
        short = 'f',
        default_value = "auto",
        value_name = "auto|kong|envoy|nginx"
    )]
    format: Format,
    /// Also (or, with --quiet-alerts, only) write alerts to this file, one JSON object per line.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Do not print alerts on stdout (useful with --output).
    #[arg(long)]
    quiet_alerts: bool,
    /// Rule directory: gatewatch rules (*.toml) and Sigma rules (*.yml, *.yaml); default: the
    /// built-in pack. The directory is watched: changes (and SIGHUP) reload it; a set that
    /// fails to load is rejected and the last good set runs on.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// With no input for this long, event time advances with the wall clock so windows still
    /// close (stdin only; files are replayed as fast as they are read). `0s` disables it.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    idle_timeout: String,
    /// Override a rule parameter: `NAME=VALUE` for every rule that declares NAME, or `RULE.NAME=VALUE`.
    #[arg(long = "param", value_name = "[RULE.]NAME=VALUE")]
    params: Vec<String>,
    /// Parameter overrides for this deployment, TOML: top-level `NAME = VALUE` for every rule,
    /// `[RULE-ID]` tables for one rule. `--param` flags apply after it.
    #[arg(long, value_name = "FILE", env = "GATEWATCH_PARAMS_FILE")]
    params_file: Option<PathBuf>,
    /// OpenAPI 3 document (YAML or JSON) describing your API: the inventory shadow- and
    /// zombie-API rules compare traffic with. Repeat for several. Without it, new endpoints
    /// are learned instead (rule new-api-endpoint).
    #[arg(long, value_name = "FILE")]
    openapi: Vec<PathBuf>,
    /// How late (in event time) an event may arrive and still count in its window.
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    allowed_lateness: String,
    /// An event more than this far ahead of the partition's robust event time (the K-th
    /// largest seen) is held until K later records confirm the jump, and dead-lettered as
    /// `time_jump` if none do: one forged timestamp cannot blind the pipeline. Size it for the
    /// clock skew between the gateway nodes writing one input.
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    max_time_jump: String,
    /// K: how many records must agree before event time moves (1 disables the protection).
    #[arg(long, default_value_t = 3, value_name = "K")]
    time_confirmations: usize,
    /// A held record not confirmed within this many later records of its partition is
    /// dead-lettered.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    time_hold_records: u64,
    /// Per rule and task: at most this many entities tracked in open windows. Past it, rows
    /// of new entities are shed (counted) and a gatewatch-state-pressure alert says so.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    max_groups: usize,
    /// Per rule and task: at most this many bytes of window state (e.g. 32MiB, 1GiB).
    #[arg(long, default_value = "32MiB", value_name = "BYTES")]
    max_state_bytes: String,
    /// Per rule and window: at most this many alerts; the rest are summarised in one
    /// gatewatch-alert-flood alert.
    #[arg(long, default_value_t = 100, value_name = "N")]
    max_alerts_per_window: usize,
    /// Where rejected records go: a file (JSON Lines: source, offset, error, raw line;
    /// appended to) or `kafka://HOST:PORT/TOPIC` (original bytes, with the source topic,
    /// partition, offset and error as headers).
    #[arg(long, value_name = "FILE|kafka://...")]
    dead_letter: Option<PathBuf>,
    /// JSON field holding the login name: dotted path such as `username` (Kong custom field),
    /// `request.headers.x-username`; `none` to disable. NGINX always uses `$remote_user`.
    #[arg(long, default_value = "username", value_name = "PATH")]
    username_field: String,
    /// Serve Prometheus metrics on http://ADDR/metrics, liveness on /healthz and readiness
    /// (rules loaded; Kafka group joined) on /readyz. `127.0.0.1:0` picks a free port (logged).
    #[arg(long, value_name = "HOST:PORT")]
    metrics_addr: Option<String>,
    /// Envoy text lines use this format string instead of Envoy's, Istio's and Emissary's
    /// defaults, in Envoy's own syntax: '[%START_TIME%] "%REQ(:METHOD)% %REQ(:PATH)% ..."'.
    #[arg(long, value_name = "FORMAT")]
    envoy_format: Option<String>,
    /// NGINX/Apache lines use this format instead of combined/common: an NGINX log_format
    /// ('$remote_addr - $remote_user [$time_local] "$request" $status ...') or an Apache
    /// LogFormat ('%h %l %u %t "%r" %>s %b'). Fields must be separated by some text.
    #[arg(long, value_name = "FORMAT")]
    nginx_format: Option<String>,
    /// Lines longer than this are dead-lettered (their first 4 KiB) instead of decoded.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    max_line_bytes: usize,
    /// Decoder threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// How Kafka messages are keyed: `client_ip` (the default: what `gatewatch generate --to`,
    /// and the Vector / Fluent Bit examples in deploy/ produce) or `none`. Records whose key is
    /// not their client address are counted and reported.
    #[arg(long, default_value = "client_ip", value_name = "client_ip|none")]
    input_key: String,
    /// Rule worker threads (default: one per core). A file's entities are sharded over them;
    /// Kafka partitions are spread over them.
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Do not print the run summary on stderr.
    #[arg(long)]
    no_summary: bool,
    #[command(flatten)]
    sigma: SigmaArgs,
    #[command(flatten)]
    sinks: SinkArgs,
}

/// Alert destinations beyond stdout/--output. Everything here can also go in --config; flags
/// add to (or, for ClickHouse, replace) what the file says.
#[derive(Debug, Args)]
#[command(next_help_heading = "Alert sinks")]
struct SinkArgs {
    /// Config file (TOML) with [spool], [clickhouse], [[webhook]], [[slack]], [[pagerduty]]
    /// tables; see deploy/gatewatch.example.toml.
    #[arg(long, value_name = "FILE", env = "GATEWATCH_CONFIG")]
    config: Option<PathBuf>,
    /// Store alerts, per-minute traffic statistics and the API inventory in ClickHouse
    /// (tables are created/migrated at start-up).
    #[arg(
        long,
        value_name = "http://HOST:PORT/DB",
        env = "GATEWATCH_CLICKHOUSE_URL",
        hide_env_values = true
    )]
    clickhouse: Option<String>,
    /// POST each alert as JSON to this URL.
    #[arg(
        long,
        value_name = "URL",
        env = "GATEWATCH_WEBHOOK_URL",
        hide_env_values = true
    )]
    webhook: Option<String>,
    /// Sign --webhook requests with HMAC-SHA256 (X-Gatewatch-Signature); prefer the env var.
    #[arg(
        long,
        value_name = "SECRET",
        env = "GATEWATCH_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    webhook_secret: Option<String>,
    /// Post alerts to this Slack incoming-webhook URL; prefer the env var.
    #[arg(
        long,
        value_name = "URL",
        env = "GATEWATCH_SLACK_WEBHOOK",
        hide_env_values = true
    )]
    slack_webhook: Option<String>,
    /// Page through PagerDuty Events API v2 with this routing key (alerts of severity high and
    /// above); prefer the env var.
    #[arg(
        long,
        value_name = "KEY",
        env = "GATEWATCH_PAGERDUTY_ROUTING_KEY",
        hide_env_values = true
    )]
    pagerduty_routing_key: Option<String>,
    /// Events API endpoint for --pagerduty-routing-key (default PagerDuty's).
    #[arg(long, value_name = "URL")]
    pagerduty_url: Option<String>,
    /// Spool directory: records wait here (durably) until their destination takes them.
    #[arg(long, value_name = "DIR")]
    spool_dir: Option<PathBuf>,
    /// At the end of the run (also after SIGTERM), wait this long for spooled records to be
    /// delivered; what is left is delivered by the next start.
    #[arg(long, value_name = "DURATION", alias = "shutdown-timeout")]
    drain_timeout: Option<String>,
}

impl SinkArgs {
    /// The config file's sink settings with the flags applied.
    fn sinks_config(&self) -> Result<gatewatch_sinks::config::SinksConfig> {
        use gatewatch_sinks::config::{
            ClickHouseConfig, PagerDutyConfig, Secret, SinksConfig, SlackConfig, WebhookConfig,
        };
        let mut cfg: SinksConfig = match &self.config {
            Some(path) => read_config_without_sigma(path)?,
            None => SinksConfig::default(),
        };
        if let Some(url) = &self.clickhouse {
            match cfg.clickhouse.as_mut() {
                Some(c) => c.url = Secret(url.clone()),
                None => {
                    cfg.clickhouse = Some(ClickHouseConfig {
                        url: Secret(url.clone()),
                        ..Default::default()
                    })
                }
            }
        }
        if let Some(url) = &self.webhook {
            cfg.webhook.push(WebhookConfig {
                url: Some(Secret(url.clone())),
                secret: self.webhook_secret.clone().map(Secret),
                ..Default::default()
            });
        } else if self.webhook_secret.is_some() && cfg.webhook.is_empty() {
            bail!("--webhook-secret needs --webhook URL (or a [[webhook]] in --config)");
        }
        if let Some(url) = &self.slack_webhook {
            cfg.slack.push(SlackConfig {
                url: Some(Secret(url.clone())),
                ..Default::default()
            });
        }
        if let Some(key) = &self.pagerduty_routing_key {
            cfg.pagerduty.push(PagerDutyConfig {
                routing_key: Some(Secret(key.clone())),
                url: self.pagerduty_url.clone(),
                ..Default::default()
            });
        } else if self.pagerduty_url.is_some() && cfg.pagerduty.is_empty() {
            bail!("--pagerduty-url needs --pagerduty-routing-key (or a [[pagerduty]] in --config)");
        }
        if let Some(dir) = &self.spool_dir {
            cfg.spool.dir = dir.clone();
        }
        if let Some(d) = &self.drain_timeout {
            cfg.spool.drain_timeout = Some(d.clone());
        }
        Ok(cfg)
    }
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// Random seed: the same seed and options give byte-identical output.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Event-time length of the traffic.
    #[arg(long, default_value = "15m", value_name = "DURATION")]
    duration: String,
    /// Benign requests per second (attacks and fixed benign actors come on top).
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Attack scenarios, comma-separated, or `none`: credential-stuffing, distributed-stuffing,
    /// password-spray, account-takeover, id-walking, endpoint-discovery, machine-regular,
    /// ai-crawler-api, ai-crawler-declared, shadow-api, ai-token-abuse, probing.
    #[arg(long, default_value = "all")]
    scenarios: String,
    /// Event time of the first request (RFC 3339).
    #[arg(long, default_value = "2026-01-01T00:00:00Z")]
    start: String,
    /// Write lines up to this far out of event-time order, as log shippers do.
    #[arg(long, default_value = "0ms", value_name = "DURATION")]
    jitter: String,
    /// Output file (`-` for stdout).
    #[arg(long, short = 'o', default_value = "-")]
    output: String,
    /// Produce to Kafka instead, keyed by client address: `kafka://HOST:PORT/TOPIC`.
    #[arg(long, value_name = "kafka://HOST:PORT/TOPIC")]
    to: Option<String>,
    /// With --to: records per second to send (0: as fast as possible).
    #[arg(long, default_value_t = 0.0)]
    send_rate: f64,
    /// Write ground-truth labels (JSON Lines) here.
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
}

/// Parses a duration like `5s` or `10m`, or `0ms`.
pub fn duration_ms(text: &str) -> Result<i64> {
    if text
        .trim()
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        == "0"
    {
        return Ok(0);
    }
    gatewatch_rules::spec::parse_duration_ms(text).map_err(anyhow::Error::msg)
}

/// The embedded default traffic of `gatewatch run` without `--input`.
pub fn sample_traffic() -> GenConfig {
    GenConfig {
        duration_ms: 10 * 60_000,
        benign_rate: 20.0,
        ..GenConfig::default()
    }
}

/// Reads and parses a TOML file; errors name `file:line:col`, as rule errors do.
fn read_toml<T: serde::de::DeserializeOwned>(path: &std::path::Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let (line, col) = e
            .span()
            .map_or((0, 0), |s| gatewatch_rules::spec::line_col(&text, s.start));
        anyhow::anyhow!("{}:{line}:{col}: {}", path.display(), e.message())
    })
}

/// The sink settings of the config file: everything but its `[sigma]` table (read by
/// [`crate::sigma_cli::read_config`]).
fn read_config_without_sigma<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T> {
    let table: toml::Table = read_toml(path, "config file")?;
    if !table.contains_key("sigma") {
        return read_toml(path, "config file");
    }
    let mut rest = table;
    rest.remove("sigma");
    toml::Value::Table(rest)
        .try_into()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("{}: {}", path.display(), e.message()))
}

/// The overrides of a `--params-file` (first) and `--param` flags (after, so they win).
pub(crate) fn all_overrides(
    params: &[String],
    file: Option<&std::path::Path>,
) -> Result<Vec<ParamOverride>> {
    let mut specs = Vec::new();
    if let Some(path) = file {
        let table: toml::Table = read_toml(path, "parameters file")?;
        let value_text = |v: &toml::Value| -> Result<String> {
            Ok(match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => bail!("{}: unsupported parameter value {other:?}", path.display()),
            })
        };
        for (key, v) in &table {
            match v {
                toml::Value::Table(rule) => {
                    for (name, v) in rule {
                        specs.push(format!("{key}.{name}={}", value_text(v)?));
                    }
                }
                v => specs.push(format!("{key}={}", value_text(v)?)),
            }
        }
    }
    specs.extend(params.iter().cloned());
    Ok(specs
        .iter()
        .map(|p| p.parse::<ParamOverride>())
        .collect::<Result<Vec<_>, _>>()?)
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
            set.rules
        }
        None => gatewatch_rules::load_builtin(overrides)?,
    };
    if rules.is_empty() {
        bail!("no enabled rules to run (check --rules)");
    }
    Ok(rules)
}

fn run(args: RunArgs) -> Result<ExitCode> {
    // First, so that health answers (and readiness says "not yet") while rules load.
    let observe = match &args.metrics_addr {
        Some(addr) => {
            let health = std::sync::Arc::new(gatewatch_pipeline::observe::Health::default());
            gatewatch_pipeline::observe::serve(addr, health.clone())?;
            Some(health)
        }
        None => None,
    };
    let overrides = all_overrides(&args.params, args.params_file.as_deref())?;
    let sigma = args.sigma.options(args.sinks.config.as_deref())?;
    let rules = load_rules(args.rules.as_ref(), &overrides, &sigma)?;
    load_api_spec(&args.openapi, args.input.is_none())?;
    let reloader = args
        .rules
        .as_ref()
        .map(|dir| {
            Ok::<_, anyhow::Error>(RuleReloader::new(
                dir.clone(),
                overrides.clone(),
                sigma.clone(),
                Duration::from_secs(1),
            ))
        })
        .transpose()?;
    let source = match &args.input {
        Some(spec) if spec.starts_with("kafka://") => {
            Source::Kafka(spec.parse::<KafkaUrl>().map_err(anyhow::Error::msg)?)
        }
        Some(spec) => Source::Lines(open_input(spec)?),
        None => {
            tracing::info!("no --input: replaying bundled sample traffic (10 minutes, benign mix + attack scenarios)");
            Source::Lines(Input {
                reader: Box::new(GeneratorReader::new(sample_traffic())),
                name: "sample".into(),
                interactive: false,
            })
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
    decode.input_key = match args.input_key.as_str() {
        "client_ip" => Some(Column::ClientIp),
        "none" => None,
        other => bail!("--input-key {other:?}: expected client_ip or none"),
    };
    if decode.input_key.is_none() && matches!(source, Source::Kafka(_)) {
        tracing::warn!("--input-key none: each instance evaluates rules on the partitions it owns only, so an entity whose events are spread over partitions is split until repartitioning is configured");
    }
    let sink_cfg = args.sinks.sinks_config()?;
    let drain = sink_cfg.spool.drain().map_err(anyhow::Error::msg)?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let cfg = PipelineConfig {
        decode,
        chunk: ChunkOptions {
            max_line_bytes: args.max_line_bytes,
            ..Default::default()
        },
        engine: EngineConfig {
            clock: ClockConfig {
                lateness_ms: duration_ms(&args.allowed_lateness)?,
                confirm: args.time_confirmations.max(1),
                max_jump_ms: duration_ms(&args.max_time_jump)?,
                hold_records: args.time_hold_records,
                ..Default::default()
            },
            limits: StateLimits {
                max_groups: args.max_groups.max(1),
                max_bytes: parse_bytes(&args.max_state_bytes)?,
                max_alerts_per_window: args.max_alerts_per_window.max(1),
                ..Default::default()
            },
            ..Default::default()
        },
        threads: args.threads.unwrap_or(cores),
        workers: args.workers.unwrap_or(cores),
        dead_letter: args.dead_letter.clone(),
        progress_every: Duration::from_secs(5),
        idle_timeout: match duration_ms(&args.idle_timeout)? {
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
    if let Some(p) = &args.output {
        sinks.push(Box::new(JsonLinesSink::file(p)?));
    }
    sinks.extend(sink_cfg.build()?);
    let summary = pipeline::run(source, rules, &mut sinks, &cfg, reloader)?;
    if !args.no_summary {
        eprint!("{}", summary.render());
    }
    Ok(ExitCode::SUCCESS)
}

/// A size such as `512KiB`, `32MiB`, `1GiB` or plain bytes.
pub fn parse_bytes(text: &str) -> Result<usize> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: usize = n
        .parse()
        .with_context(|| format!("{text:?} is not a size (e.g. 32MiB)"))?;
    let mult: usize = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" | "KB" => 1 << 10,
        "MiB" | "M" | "MB" => 1 << 20,
        "GiB" | "G" | "GB" => 1 << 30,
        other => bail!("{text:?}: unknown unit {other:?} (use B, KiB, MiB or GiB)"),
    };
    n.checked_mul(mult)
        .with_context(|| format!("{text:?} is too large"))
}

/// Installs the API inventory: the `--openapi` files, or for the bundled sample traffic the
/// spec of the simulated shop.
fn load_api_spec(files: &[PathBuf], sample: bool) -> Result<()> {
    use gatewatch_rules::functions::{set_api_spec, ApiSpec};
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
    set_api_spec(spec);
    Ok(())
}

fn parse_start(text: &str) -> Result<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .with_context(|| {
            format!("--start {text:?} is not an RFC 3339 time like 2026-01-01T00:00:00Z")
        })
}

fn generate(args: GenerateArgs) -> Result<ExitCode> {
    let scenarios = match args.scenarios.as_str() {
        "all" => Scenario::ALL.to_vec(),
        "none" | "" => Vec::new(),
        list => list
            .split(',')
            .map(|s| s.trim().parse::<Scenario>())
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?,
    };
    if !(args.rate >= 0.0 && args.rate.is_finite()) {
        bail!("--rate must be a non-negative number");
    }
    let cfg = GenConfig {
        seed: args.seed,
        start_ms: parse_start(&args.start)?,
        duration_ms: duration_ms(&args.duration)?,
        benign_rate: args.rate,
        scenarios,
        jitter_ms: duration_ms(&args.jitter)?,
    };
    if let Some(to) = &args.to {
        return produce(to, &cfg, args.send_rate, args.labels.as_ref());
    }
    let out: Box<dyn Write> = if args.output == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(
            std::fs::File::create(&args.output)
                .with_context(|| format!("cannot create {}", args.output))?,
        )
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
    let mut line = String::new();
    for r in Generator::new(cfg.clone()) {
        line.clear();
        gatewatch_generate::write_kong_line(&r, &mut line);
        line.push('\n');
        out.write_all(line.as_bytes())
            .context("writing generated traffic")?;
    }
    out.flush().context("writing generated traffic")?;
    write_labels(&cfg, args.labels.as_ref())?;
    Ok(ExitCode::SUCCESS)
}

fn write_labels(cfg: &GenConfig, path: Option<&PathBuf>) -> Result<()> {
    if let Some(p) = path {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        );
        for l in gatewatch_generate::labels(cfg) {
            serde_json::to_writer(&mut f, &l)?;
            f.write_all(b"\n")?;
        }
        f.flush()?;
    }
    Ok(())
}

/// `generate --to kafka://...`: one record per message, keyed by client address.
fn produce(to: &str, cfg: &GenConfig, rate: f64, labels: Option<&PathBuf>) -> Result<ExitCode> {
    let url: KafkaUrl = to.parse().map_err(anyhow::Error::msg)?;
    let writer = gatewatch_ingest::kafka::KafkaWriter::connect(&url).map_err(anyhow::Error::msg)?;
    let started = std::time::Instant::now();
    let mut line = String::new();
    let mut sent = 0u64;
    for r in Generator::new(cfg.clone()) {
        line.clear();
        gatewatch_generate::write_kong_line(&r, &mut line);
        writer
            .send(&r.ip, line.as_bytes())
            .map_err(anyhow::Error::msg)?;
        sent += 1;
        if rate > 0.0 {
            let due = Duration::from_secs_f64(sent as f64 / rate);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    writer
        .flush(Duration::from_secs(60))
        .map_err(anyhow::Error::msg)?;
    eprintln!(
        "gatewatch: produced {sent} records to {to} in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    write_labels(cfg, labels)?;
    Ok(ExitCode::SUCCESS)
}

fn schema() -> Result<ExitCode> {
    println!("Table `events` (one row per request), as seen by rule SQL:\n");
    for c in Column::ALL {
        println!(
            "  {:<22} {:<28} {}",
            c.name(),
            format!("{}", c.data_type()),
            c.doc()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn rule_files(dir: Option<&PathBuf>) -> Result<gatewatch_rules::RuleFiles> {
    Ok(match dir {
        Some(d) => gatewatch_rules::dir_files(d)?,
        None => gatewatch_rules::builtin_files(),
    })
}

fn rules_command(cmd: RulesCommand) -> Result<ExitCode> {
    match cmd {
        RulesCommand::Lint(a) => {
            let files = rule_files(a.dir.as_ref())?;
            let n = files.len();
            let (errors, skipped) = gatewatch_rules::lint_with(
                files,
                &all_overrides(&a.params, a.params_file.as_deref())?,
                &a.sigma.options(a.config.as_deref())?,
            );
            for s in &skipped {
                println!("{s}");
            }
            for e in &errors {
                println!("{e}");
            }
            if !skipped.is_empty() {
                eprintln!("{} Sigma rule(s) skipped (listed above)", skipped.len());
            }
            if errors.is_empty() {
                eprintln!("{n} rule file(s) OK");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{} error(s) in {n} rule file(s)", errors.len());
                Ok(ExitCode::from(1))
            }
        }
        RulesCommand::Test(a) => {
            let files = rule_files(a.dir.as_ref())?;
            let outcomes = crate::rule_tests::run_tests(
                &files,
                &all_overrides(&a.params, a.params_file.as_deref())?,
                &a.sigma.options(a.config.as_deref())?,
            );
            let width = outcomes
                .iter()
                .map(|o| o.rule_id.len())
                .max()
                .unwrap_or(4)
                .max(4);
            println!("{:<6} {:<width$}  test", "result", "rule");
            for o in &outcomes {
                let verdict = if o.failure.is_none() { "PASS" } else { "FAIL" };
                println!("{verdict:<6} {:<width$}  {}", o.rule_id, o.name);
                if let Some(f) = &o.failure {
                    println!("{:<6} {:<width$}    {f}  ({})", "", "", o.origin);
                }
            }
            let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
            println!("{} passed, {} failed", outcomes.len() - failed, failed);
            Ok(if failed == 0 && !outcomes.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        RulesCommand::Export { dir } => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for (name, text) in gatewatch_rules::pack::BUILTIN {
                let path = dir.join(name);
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                println!("{}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init_logging(filter: &str) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| filter.to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// SIGTERM and SIGINT set the sources' stop flag; a second one exits at once.
fn stop_on_signals() -> Result<()> {
    let stop = gatewatch_ingest::source::stop_flag();
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        // The conditional shutdown first: it fires only once the flag is already set.
        signal_hook::flag::register_conditional_shutdown(sig, 1, stop.clone())
            .context("installing a signal handler")?;
        signal_hook::flag::register(sig, stop.clone()).context("installing a signal handler")?;
    }
    Ok(())
}

/// Entry point: parses arguments, runs the command, prints the error chain on failure.
pub fn main() -> ExitCode {
    // A closed stdout (`gatewatch schema | head`) ends the process quietly, as for any Unix
    // tool, instead of a panic in `println!`. Nothing is lost: Kafka offsets only move past
    // output that was made durable, and spools are replayed on the next start.
    // SAFETY: called first thing, before any thread exists; SIG_DFL is always a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    init_logging(&cli.log);
    let result = match cli.command {
        // No subcommand: the same as `gatewatch run` with its defaults.
        None => match Cli::parse_from(["gatewatch", "run"]).command {
            Some(Command::Run(a)) => run(*a),
            _ => unreachable!("`gatewatch run` parses to the run command"),
        },
        Some(Command::Run(a)) => run(*a),
        Some(Command::Generate(a)) => generate(a),
        Some(Command::Bench(a)) => crate::bench::run(a),
        Some(Command::Eval(a)) => crate::eval::run(a),
        Some(Command::Schema) => schema(),
        Some(Command::Rules(c)) => rules_command(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gatewatch: error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}
