//! The arguments of `gatewatch run` (and the sink flags), and how the config file fills in
//! what the command line leaves out.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args};
use gatewatch_ingest::Format;
use gatewatch_sinks::config::SinksConfig;

use crate::config::ConfigFile;
use crate::progress::ProgressMode;
use crate::sigma_cli::SigmaArgs;

/// `gatewatch run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Config file (TOML) for everything below: [input], [engine], [rules], [sigma], [output],
    /// [metrics], [log], sinks ([spool], [clickhouse], [[webhook]], [[slack]], [[pagerduty]]);
    /// see deploy/gatewatch.example.toml and `gatewatch config check`. Flags win over it.
    #[arg(long, value_name = "FILE", env = "GATEWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log input: a file (plain or gzip), `-` for stdin, or
    /// `kafka://HOST:PORT/TOPIC?group=NAME` (more: offset_reset, stop_after_idle, librdkafka
    /// properties such as security.protocol). Without it, bundled sample traffic is used.
    #[arg(long, short = 'i', value_name = "PATH|-|kafka://...")]
    pub input: Option<String>,
    /// Input format; `auto` sniffs each line.
    #[arg(
        long,
        short = 'f',
        default_value = "auto",
        value_name = "auto|kong|envoy|nginx"
    )]
    pub format: Format,
    /// Also (or, with --quiet-alerts, only) write alerts to this file, one JSON object per line.
    /// Alerts are appended and an id already in the file is not written again (a replay
    /// writes nothing twice): delete the file first to compare two runs.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do not print alerts on stdout (useful with --output).
    #[arg(long)]
    pub quiet_alerts: bool,
    /// Rule directory: gatewatch rules (*.toml) and Sigma rules (*.yml, *.yaml); default: the
    /// built-in pack. The directory is watched: changes (and SIGHUP) reload it; a set that
    /// fails to load is rejected and the last good set runs on.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// With no input for this long, event time advances with the wall clock so windows still
    /// close (stdin only; files are replayed as fast as they are read). `0s` disables it.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub idle_timeout: String,
    /// Override a rule parameter: `NAME=VALUE` for every rule that declares NAME, or `RULE.NAME=VALUE`.
    #[arg(long = "param", value_name = "[RULE.]NAME=VALUE")]
    pub params: Vec<String>,
    /// Parameter overrides for this deployment, TOML: top-level `NAME = VALUE` for every rule,
    /// `[RULE-ID]` tables for one rule. `--param` flags apply after it.
    #[arg(long, value_name = "FILE", env = "GATEWATCH_PARAMS_FILE")]
    pub params_file: Option<PathBuf>,
    /// OpenAPI 3 document (YAML or JSON) describing your API: the inventory shadow- and
    /// zombie-API rules compare traffic with. Repeat for several. Without it, new endpoints
    /// are learned instead (rule new-api-endpoint).
    #[arg(long, value_name = "FILE")]
    pub openapi: Vec<PathBuf>,
    /// Directory of published crawler address ranges, one file per crawler named by its id
    /// (`google-crawler.json`, `openai-crawler.json`, ...; `gatewatch rules crawlers` lists
    /// them and where each vendor publishes): a client claiming such a crawler from elsewhere
    /// is `spoofed` (rule crawler-impersonation). Refresh with scripts/fetch-crawler-ranges.sh.
    #[arg(long, value_name = "DIR", env = "GATEWATCH_CRAWLER_RANGES")]
    pub crawler_ranges: Option<PathBuf>,
    /// How late (in event time) an event may arrive and still count in its window.
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub allowed_lateness: String,
    /// An event more than this far ahead of the partition's robust event time (the K-th
    /// largest seen) is held until K later records confirm the jump, and dead-lettered as
    /// `time_jump` if none do: one forged timestamp cannot blind the pipeline. Size it for the
    /// clock skew between the gateway nodes writing one input.
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    pub max_time_jump: String,
    /// K: how many records must agree before event time moves (1 disables the protection).
    #[arg(long, default_value_t = 3, value_name = "K")]
    pub time_confirmations: usize,
    /// A held record not confirmed within this many later records of its partition is
    /// dead-lettered.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub time_hold_records: u64,
    /// Per rule and task: at most this many entities tracked in open windows. Past it, rows
    /// of new entities are shed (counted) and a gatewatch-state-pressure alert says so.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub max_groups: usize,
    /// Per rule and task: at most this many bytes of window state (e.g. 32MiB, 1GiB).
    #[arg(long, default_value = "32MiB", value_name = "BYTES")]
    pub max_state_bytes: String,
    /// Per rule, window and task: at most this many alerts; the rest are summarised in one
    /// gatewatch-alert-flood alert.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub max_alerts_per_window: usize,
    /// Where rejected records go: a file (JSON Lines: source, offset, error, raw line;
    /// appended to) or `kafka://HOST:PORT/TOPIC` (original bytes, with the source topic,
    /// partition, offset and error as headers).
    #[arg(long, value_name = "FILE|kafka://...")]
    pub dead_letter: Option<PathBuf>,
    /// JSON field holding the login name: dotted path such as `username` (Kong custom field),
    /// `request.headers.x-username`; `none` to disable. NGINX always uses `$remote_user`.
    #[arg(long, default_value = "username", value_name = "PATH")]
    pub username_field: String,
    /// Serve Prometheus metrics on http://ADDR/metrics, liveness on /healthz and readiness
    /// (rules loaded; Kafka group joined) on /readyz. `127.0.0.1:0` picks a free port (logged).
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<String>,
    /// Envoy text lines use this format string instead of Envoy's, Istio's and Emissary's
    /// defaults, in Envoy's own syntax: '[%START_TIME%] "%REQ(:METHOD)% %REQ(:PATH)% ..."'.
    #[arg(long, value_name = "FORMAT")]
    pub envoy_format: Option<String>,
    /// NGINX/Apache lines use this format instead of combined/common: an NGINX log_format
    /// ('$remote_addr - $remote_user [$time_local] "$request" $status ...') or an Apache
    /// LogFormat ('%h %l %u %t "%r" %>s %b'). Fields must be separated by some text.
    #[arg(long, value_name = "FORMAT")]
    pub nginx_format: Option<String>,
    /// Lines longer than this are dead-lettered (their first 4 KiB) instead of decoded.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_line_bytes: usize,
    /// Decoder threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// How Kafka messages are keyed: `client_ip` (the default: what `gatewatch generate --to`,
    /// and the Vector / Fluent Bit examples in deploy/ produce) or `none`. Records whose key is
    /// not their client address are counted and reported.
    #[arg(long, default_value = "client_ip", value_name = "client_ip|none")]
    pub input_key: String,
    /// Rule worker threads (default: one per core). A file's entities are sharded over them;
    /// Kafka partitions are spread over them.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Do not print the run summary on stderr.
    #[arg(long)]
    pub no_summary: bool,
    /// Progress of the run on stderr: `auto` draws a bar (bytes, events/s, ETA) when stderr is
    /// a terminal and the input a file, else logs a `progress` line every 5 s.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressMode,
    /// Where gatewatch keeps state (the sinks' spool) [default: $STATE_DIRECTORY under
    /// systemd, else $XDG_STATE_HOME/gatewatch, else ~/.local/state/gatewatch].
    #[arg(long, value_name = "DIR", env = "GATEWATCH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[allow(missing_docs)]
    #[command(flatten)]
    pub sigma: SigmaArgs,
    #[allow(missing_docs)]
    #[command(flatten)]
    pub sinks: SinkArgs,
}

/// Alert destinations beyond stdout/--output. Everything here can also go in --config; flags
/// add to (or, for ClickHouse and the spool, replace) what the file says.
#[derive(Debug, Args)]
#[command(next_help_heading = "Alert sinks")]
pub struct SinkArgs {
    /// Store alerts, per-minute traffic statistics and the API inventory in ClickHouse
    /// (tables are created/migrated at start-up).
    #[arg(
        long,
        value_name = "http://HOST:PORT/DB",
        env = "GATEWATCH_CLICKHOUSE_URL",
        hide_env_values = true
    )]
    pub clickhouse: Option<String>,
    /// POST each alert as JSON to this URL.
    #[arg(
        long,
        value_name = "URL",
        env = "GATEWATCH_WEBHOOK_URL",
        hide_env_values = true
    )]
    pub webhook: Option<String>,
    /// Sign --webhook requests with HMAC-SHA256 (X-Gatewatch-Signature); prefer the env var.
    #[arg(
        long,
        value_name = "SECRET",
        env = "GATEWATCH_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub webhook_secret: Option<String>,
    /// Post alerts to this Slack incoming-webhook URL; prefer the env var.
    #[arg(
        long,
        value_name = "URL",
        env = "GATEWATCH_SLACK_WEBHOOK",
        hide_env_values = true
    )]
    pub slack_webhook: Option<String>,
    /// Page through PagerDuty Events API v2 with this routing key (alerts of severity high and
    /// above); prefer the env var.
    #[arg(
        long,
        value_name = "KEY",
        env = "GATEWATCH_PAGERDUTY_ROUTING_KEY",
        hide_env_values = true
    )]
    pub pagerduty_routing_key: Option<String>,
    /// Events API endpoint for --pagerduty-routing-key (default PagerDuty's).
    #[arg(long, value_name = "URL")]
    pub pagerduty_url: Option<String>,
    /// Spool directory: records wait here (durably) until their destination takes them
    /// [default: DATA_DIR/spool].
    #[arg(long, value_name = "DIR")]
    pub spool_dir: Option<PathBuf>,
    /// At the end of the run (also after SIGTERM), wait this long for spooled records to be
    /// delivered; what is left is delivered by the next start.
    #[arg(long, value_name = "DURATION", alias = "shutdown-timeout")]
    pub drain_timeout: Option<String>,
}

impl SinkArgs {
    /// The config file's sink settings with the flags applied; the spool defaults to
    /// `spool` in the data directory.
    pub fn sinks_config(&self, file: &ConfigFile, data_dir: &Path) -> Result<SinksConfig> {
        use gatewatch_sinks::config::{
            ClickHouseConfig, PagerDutyConfig, Secret, SlackConfig, WebhookConfig,
        };
        let mut cfg = file.sinks();
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
            cfg.spool.dir = Some(dir.clone());
        }
        if cfg.spool.dir.is_none() {
            cfg.spool.dir = Some(data_dir.join("spool"));
        }
        if let Some(d) = &self.drain_timeout {
            let d = gatewatch_model::duration::parse(d)
                .map_err(|e| anyhow::anyhow!("--drain-timeout: {e}"))?;
            cfg.spool.drain_timeout = Some(d);
        }
        Ok(cfg)
    }
}

/// Which arguments the user gave (on the command line or through their environment
/// variable): those win over the config file.
pub struct Given<'a>(pub Option<&'a ArgMatches>);

impl Given<'_> {
    /// Whether argument `id` (the field name) was given.
    pub fn has(&self, id: &str) -> bool {
        self.0
            .and_then(|m| m.value_source(id))
            .is_some_and(|s| s != ValueSource::DefaultValue)
    }
}

impl RunArgs {
    /// The arguments of a plain `gatewatch run` (what no subcommand means).
    pub fn defaults() -> RunArgs {
        #[derive(clap::Parser)]
        struct Plain {
            #[command(flatten)]
            run: RunArgs,
        }
        <Plain as clap::Parser>::parse_from(["gatewatch"]).run
    }

    /// Fills what the command line left out from the config file.
    pub fn apply(&mut self, f: &ConfigFile, given: &Given) {
        macro_rules! default_from_file {
            ($field:ident, $value:expr) => {
                if !given.has(stringify!($field)) {
                    if let Some(v) = $value {
                        self.$field = v;
                    }
                }
            };
        }
        let (i, e) = (&f.input, &f.engine);
        default_from_file!(
            format,
            i.format.as_deref().and_then(|s| s.parse::<Format>().ok())
        );
        default_from_file!(input_key, i.input_key.clone());
        default_from_file!(username_field, i.username_field.clone());
        default_from_file!(max_line_bytes, i.max_line_bytes);
        default_from_file!(allowed_lateness, e.allowed_lateness.clone());
        default_from_file!(idle_timeout, e.idle_timeout.clone());
        default_from_file!(max_time_jump, e.max_time_jump.clone());
        default_from_file!(time_confirmations, e.time_confirmations);
        default_from_file!(time_hold_records, e.time_hold_records);
        default_from_file!(max_groups, e.max_groups);
        default_from_file!(max_state_bytes, e.max_state_bytes.clone());
        default_from_file!(max_alerts_per_window, e.max_alerts_per_window);
        default_from_file!(progress, f.output.progress);
        let or = |flag: &mut Option<String>, file: &Option<String>| {
            if flag.is_none() {
                flag.clone_from(file);
            }
        };
        or(&mut self.input, &i.source);
        or(&mut self.envoy_format, &i.envoy_format);
        or(&mut self.nginx_format, &i.nginx_format);
        or(&mut self.metrics_addr, &f.metrics.addr);
        if self.dead_letter.is_none() {
            self.dead_letter = i.dead_letter.as_ref().map(PathBuf::from);
        }
        self.threads = self.threads.or(i.threads);
        self.workers = self.workers.or(e.workers);
        self.rules = self.rules.take().or(f.rules.dir.clone());
        self.params_file = self.params_file.take().or(f.rules.params_file.clone());
        if self.openapi.is_empty() {
            self.openapi.clone_from(&f.rules.openapi);
        }
        self.crawler_ranges = self
            .crawler_ranges
            .take()
            .or(f.rules.crawler_ranges.clone());
        self.output = self.output.take().or(f.output.file.clone());
        self.quiet_alerts |= f.output.stdout == Some(false);
        self.no_summary |= f.output.summary == Some(false);
        self.data_dir = self.data_dir.take().or(f.data_dir.clone());
    }

    /// The data directory: `--data-dir`, the file's `data_dir`, or the default.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(crate::config::default_data_dir)
    }

    /// `--input-key` as a column.
    pub fn input_key(&self) -> Result<Option<gatewatch_ingest::Column>> {
        Ok(match self.input_key.as_str() {
            "client_ip" => Some(gatewatch_ingest::Column::ClientIp),
            "none" => None,
            other => bail!("--input-key {other:?}: expected client_ip or none"),
        })
    }
}
