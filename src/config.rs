//! The config file (`--config FILE`, `GATEWATCH_CONFIG`): one TOML file for everything a
//! `gatewatch run` needs — input (files, stdin, Kafka with librdkafka properties), engine,
//! rules, Sigma, alert outputs and sinks, metrics, logging and the data directory. See
//! `deploy/gatewatch.example.toml`.
//!
//! Every table rejects unknown keys and every value is checked as it is read, so a mistake is
//! reported as `FILE:LINE:COL: what is wrong`. `gatewatch config check FILE` does that and
//! everything a start checks (rules compile, secrets present, sinks valid) without running.
//! Flags and their environment variables win over the file, the file over the defaults.
//! Relative paths in the file are relative to the file's own directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use gatewatch_ingest::kafka::KafkaUrl;
use gatewatch_sinks::config::{
    ClickHouseConfig, PagerDutyConfig, SinksConfig, SlackConfig, SpoolConfig, WebhookConfig,
};
use serde::{Deserialize, Deserializer};

use crate::sigma_cli::SigmaConfig;

/// The whole config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Where gatewatch keeps state (the sinks' spool): as `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `[input]`: what to read and how to decode it.
    #[serde(default)]
    pub input: InputSection,
    /// `[engine]`: event time, state limits, workers.
    #[serde(default)]
    pub engine: EngineSection,
    /// `[rules]`: rule directory, parameters, API inventory.
    #[serde(default)]
    pub rules: RulesSection,
    /// `[sigma]`: how Sigma rules run.
    #[serde(default)]
    pub sigma: SigmaConfig,
    /// `[output]`: alerts on stdout / in a file, the run summary, progress.
    #[serde(default)]
    pub output: OutputSection,
    /// `[metrics]`: the Prometheus and health endpoint.
    #[serde(default)]
    pub metrics: MetricsSection,
    /// `[log]`: diagnostics on stderr.
    #[serde(default)]
    pub log: LogSection,
    // The sink tables repeat `SinksConfig`'s fields: serde's `flatten` cannot be combined
    // with `deny_unknown_fields`, and rejecting unknown keys matters more. `sinks()` maps them.
    /// `[spool]`: where undelivered sink records wait.
    #[serde(default)]
    pub spool: SpoolConfig,
    /// `[clickhouse]`.
    pub clickhouse: Option<ClickHouseConfig>,
    /// `[[webhook]]`.
    #[serde(default)]
    pub webhook: Vec<WebhookConfig>,
    /// `[[slack]]`.
    #[serde(default)]
    pub slack: Vec<SlackConfig>,
    /// `[[pagerduty]]`.
    #[serde(default)]
    pub pagerduty: Vec<PagerDutyConfig>,
}

/// `[input]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSection {
    /// A file, `-` for stdin, or a `kafka://` URL: as `--input`.
    pub source: Option<String>,
    /// As `--format`.
    #[serde(default, deserialize_with = "checked::format")]
    pub format: Option<String>,
    /// As `--input-key`.
    #[serde(default, deserialize_with = "checked::input_key")]
    pub input_key: Option<String>,
    /// As `--username-field`.
    pub username_field: Option<String>,
    /// As `--envoy-format`.
    pub envoy_format: Option<String>,
    /// As `--nginx-format`.
    pub nginx_format: Option<String>,
    /// As `--max-line-bytes`.
    pub max_line_bytes: Option<usize>,
    /// As `--threads`.
    pub threads: Option<usize>,
    /// As `--dead-letter`: a file or `kafka://HOST:PORT/TOPIC`.
    pub dead_letter: Option<String>,
    /// `[input.kafka]`: a Kafka consumer group, instead of a `kafka://` URL in `source`.
    pub kafka: Option<KafkaSection>,
}

/// `[input.kafka]`: the consumer group and librdkafka properties. Its `properties` and
/// `properties_env` also apply to a `kafka://` URL given in `source` or `--input` (a property
/// in the URL wins).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSection {
    /// `bootstrap.servers`: `HOST:PORT[,HOST:PORT]`.
    pub brokers: Option<String>,
    /// Topics to read.
    #[serde(default)]
    pub topics: Vec<String>,
    /// Consumer group (default `gatewatch`).
    pub group: Option<String>,
    /// Where a group with no committed offsets starts: `earliest` (default) or `latest`.
    #[serde(default, deserialize_with = "checked::offset_reset")]
    pub offset_reset: Option<String>,
    /// librdkafka properties (`"security.protocol" = "SASL_SSL"`).
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyValue>,
    /// librdkafka properties read from environment variables at start
    /// (`"sasl.password" = "KAFKA_PASSWORD"`): secrets stay out of the file.
    #[serde(default)]
    pub properties_env: BTreeMap<String, String>,
}

/// A librdkafka property value: TOML strings, integers and booleans are all accepted.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PropertyValue {
    /// `"SASL_SSL"`.
    Text(String),
    /// `1048576`.
    Integer(i64),
    /// `true`.
    Bool(bool),
}

impl std::fmt::Display for PropertyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PropertyValue::Text(s) => f.write_str(s),
            PropertyValue::Integer(i) => write!(f, "{i}"),
            PropertyValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// `[engine]`: as the flags of the same names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    /// As `--allowed-lateness`.
    #[serde(default, deserialize_with = "checked::duration")]
    pub allowed_lateness: Option<String>,
    /// As `--idle-timeout`.
    #[serde(default, deserialize_with = "checked::duration")]
    pub idle_timeout: Option<String>,
    /// As `--max-time-jump`.
    #[serde(default, deserialize_with = "checked::duration")]
    pub max_time_jump: Option<String>,
    /// As `--time-confirmations`.
    pub time_confirmations: Option<usize>,
    /// As `--time-hold-records`.
    pub time_hold_records: Option<u64>,
    /// As `--max-groups`.
    pub max_groups: Option<usize>,
    /// As `--max-state-bytes` (`32MiB`).
    #[serde(default, deserialize_with = "checked::size")]
    pub max_state_bytes: Option<String>,
    /// As `--max-alerts-per-window`.
    pub max_alerts_per_window: Option<usize>,
    /// As `--workers`.
    pub workers: Option<usize>,
}

/// `[rules]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesSection {
    /// As `--rules`.
    pub dir: Option<PathBuf>,
    /// As `--params-file`.
    pub params_file: Option<PathBuf>,
    /// Parameter overrides in the params-file form: `NAME = VALUE` for every rule,
    /// `[rules.params.RULE-ID]` tables for one rule. `--params-file` and `--param` apply after.
    #[serde(default)]
    pub params: toml::Table,
    /// As `--openapi` (a list).
    #[serde(default)]
    pub openapi: Vec<PathBuf>,
    /// As `--crawler-ranges`.
    pub crawler_ranges: Option<PathBuf>,
}

/// `[output]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// Print alerts on stdout (default true; `--quiet-alerts` is `false`).
    pub stdout: Option<bool>,
    /// As `--output`: also write alerts to this file.
    pub file: Option<PathBuf>,
    /// Print the run summary on stderr at the end (default true).
    pub summary: Option<bool>,
    /// As `--progress`.
    pub progress: Option<crate::progress::ProgressMode>,
}

/// `[metrics]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// As `--metrics-addr`.
    pub addr: Option<String>,
}

/// `[log]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// As `--log` (`info`, `gatewatch=debug`).
    pub level: Option<String>,
    /// As `--log-format`.
    pub format: Option<crate::logging::LogFormat>,
}

/// Deserializes an optional engine duration (`5s`, `10m`, `0s`), checked as it is read.
pub fn checked_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    checked::duration(d)
}

/// Value checks run while the file is read, so their errors carry the value's position.
mod checked {
    use super::*;

    fn check<'de, D: Deserializer<'de>>(
        d: D,
        ok: impl Fn(&str) -> Result<(), String>,
    ) -> Result<Option<String>, D::Error> {
        let v: Option<String> = Option::deserialize(d)?;
        if let Some(t) = &v {
            ok(t).map_err(serde::de::Error::custom)?;
        }
        Ok(v)
    }

    pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        check(d, |t| duration_ms(t).map(|_| ()).map_err(|e| e.to_string()))
    }

    pub fn size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        check(d, |t| parse_bytes(t).map(|_| ()).map_err(|e| e.to_string()))
    }

    pub fn format<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        check(d, |t| t.parse::<gatewatch_ingest::Format>().map(|_| ()))
    }

    pub fn input_key<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        check(d, |t| match t {
            "client_ip" | "none" => Ok(()),
            other => Err(format!("{other:?}: expected client_ip or none")),
        })
    }

    pub fn offset_reset<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        check(d, |t| match t {
            "earliest" | "latest" => Ok(()),
            other => Err(format!("{other:?}: expected earliest or latest")),
        })
    }
}

impl ConfigFile {
    /// Reads and checks a config file; errors name `FILE:LINE:COL`. Relative paths in it are
    /// made relative to the file's directory.
    pub fn load(path: &Path) -> Result<ConfigFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut cfg: ConfigFile = toml::from_str(&text).map_err(|e| {
            let (line, col) = e
                .span()
                .map_or((0, 0), |s| gatewatch_rules::spec::line_col(&text, s.start));
            anyhow::anyhow!(
                "{}:{line}:{col}: {}",
                path.display(),
                e.message().trim_end()
            )
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        cfg.resolve_paths(base);
        Ok(cfg)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        let fix_opt = |p: &mut Option<PathBuf>| {
            if let Some(p) = p {
                fix(p)
            }
        };
        fix_opt(&mut self.data_dir);
        fix_opt(&mut self.rules.dir);
        fix_opt(&mut self.rules.params_file);
        self.rules.openapi.iter_mut().for_each(fix);
        fix_opt(&mut self.rules.crawler_ranges);
        fix_opt(&mut self.output.file);
        fix_opt(&mut self.spool.dir);
        let fix_text = |t: &mut Option<String>| {
            if let Some(s) = t {
                if s != "-" && !s.starts_with("kafka://") && Path::new(s.as_str()).is_relative() {
                    *s = base.join(s.as_str()).to_string_lossy().into_owned();
                }
            }
        };
        fix_text(&mut self.input.source);
        fix_text(&mut self.input.dead_letter);
    }

    /// The sink tables as the sinks crate reads them.
    pub fn sinks(&self) -> SinksConfig {
        SinksConfig {
            spool: self.spool.clone(),
            clickhouse: self.clickhouse.clone(),
            webhook: self.webhook.clone(),
            slack: self.slack.clone(),
            pagerduty: self.pagerduty.clone(),
        }
    }

    /// The Kafka input of `[input.kafka]` (when it names brokers and topics), or `url` (a
    /// `kafka://` URL from `--input`/`source`) with the section's properties added.
    pub fn kafka_input(&self, url: Option<&str>) -> Result<Option<KafkaUrl>> {
        let section = self.input.kafka.as_ref();
        let mut k = match (url, section) {
            (Some(u), _) => u.parse::<KafkaUrl>().map_err(anyhow::Error::msg)?,
            (None, Some(s)) if s.brokers.is_some() || !s.topics.is_empty() => {
                let (Some(brokers), false) = (&s.brokers, s.topics.is_empty()) else {
                    bail!(
                        "[input.kafka] needs both brokers = \"HOST:PORT\" and topics = [\"TOPIC\"]"
                    );
                };
                KafkaUrl {
                    brokers: brokers.clone(),
                    topics: s.topics.clone(),
                    group: s.group.clone().unwrap_or_else(|| "gatewatch".into()),
                    offset_reset: s.offset_reset.clone().unwrap_or_else(|| "earliest".into()),
                    stop_after_idle: None,
                    repartition: true,
                    repartition_retention: std::time::Duration::from_secs(7 * 24 * 3600),
                    repartition_partitions: None,
                    properties: Vec::new(),
                }
            }
            _ => return Ok(None),
        };
        if let Some(s) = section {
            let mut add = |key: &str, value: String| {
                if !k.properties.iter().any(|(p, _)| p == key) {
                    k.properties.push((key.to_owned(), value));
                }
            };
            for (key, v) in &s.properties {
                add(key, v.to_string());
            }
            for (key, var) in &s.properties_env {
                let value = std::env::var(var).map_err(|_| {
                    anyhow::anyhow!(
                        "[input.kafka] properties_env: {key} reads environment variable {var}, which is not set"
                    )
                })?;
                add(key, value);
            }
        }
        Ok(Some(k))
    }
}

/// The data directory when neither `--data-dir` nor `data_dir` says: systemd's
/// `$STATE_DIRECTORY` (a unit with `StateDirectory=gatewatch`), else
/// `$XDG_STATE_HOME/gatewatch`, else `~/.local/state/gatewatch`, else `/var/lib/gatewatch`.
pub fn default_data_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(d) = var("STATE_DIRECTORY") {
        // systemd passes a colon-separated list when the unit names several.
        let first = d
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or("")
            .to_owned();
        if !first.is_empty() {
            return PathBuf::from(first);
        }
    }
    if let Some(x) = var("XDG_STATE_HOME").map(PathBuf::from) {
        if x.is_absolute() {
            return x.join("gatewatch");
        }
    }
    match var("HOME") {
        Some(h) => PathBuf::from(h).join(".local/state/gatewatch"),
        None => PathBuf::from("/var/lib/gatewatch"),
    }
}

/// Parses a duration like `5s`, `10m` or `0s` into ms (`gatewatch_model::duration`'s grammar).
pub fn duration_ms(text: &str) -> Result<i64> {
    gatewatch_model::duration::parse_ms(text).map_err(anyhow::Error::msg)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<ConfigFile> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("gatewatch.toml");
        std::fs::write(&path, text)?;
        ConfigFile::load(&path)
    }

    #[test]
    fn unknown_keys_and_bad_values_are_reported_at_their_line_and_column() {
        let e = load_text("[engine]\nallowed_lateness = \"5s\"\nmax_grups = 10\n")
            .expect_err("unknown key")
            .to_string();
        assert!(
            e.contains("gatewatch.toml:3:1:") && e.contains("max_grups"),
            "{e}"
        );
        let e = load_text("[engine]\n\nallowed_lateness = \"5 parsecs\"\n")
            .expect_err("bad duration")
            .to_string();
        assert!(e.contains("gatewatch.toml:3:20:"), "{e}");
        let e = load_text("[spool]\ngive_up_after = \"1 parsec\"\n")
            .expect_err("bad sink duration")
            .to_string();
        assert!(e.contains("gatewatch.toml:2:17:"), "{e}");
        let e = load_text("[input]\nformat = \"iis\"\n")
            .expect_err("bad format")
            .to_string();
        assert!(e.contains(":2:10:"), "{e}");
        let e = load_text("[log]\nformat = \"xml\"\n")
            .expect_err("bad log format")
            .to_string();
        assert!(e.contains(":2:10:"), "{e}");
    }

    #[test]
    fn relative_paths_are_relative_to_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("gw.toml");
        std::fs::write(
            &path,
            "data_dir = \"state\"\n[rules]\ndir = \"/abs/rules\"\n[input]\nsource = \"logs/a.json\"\n",
        )
        .expect("write");
        let cfg = ConfigFile::load(&path).expect("load");
        assert_eq!(cfg.data_dir, Some(dir.path().join("state")));
        assert_eq!(cfg.rules.dir, Some(PathBuf::from("/abs/rules")));
        assert_eq!(
            cfg.input.source.as_deref().map(PathBuf::from),
            Some(dir.path().join("logs/a.json"))
        );
    }

    #[test]
    fn kafka_section_gives_a_consumer_with_properties_and_env_secrets() {
        std::env::set_var("GW_TEST_KAFKA_PW", "pa55");
        let cfg = load_text(
            "[input.kafka]\nbrokers = \"b:9092\"\ntopics = [\"kong\"]\ngroup = \"soc\"\nproperties = { \"security.protocol\" = \"SASL_SSL\", \"fetch.max.bytes\" = 1048576 }\nproperties_env = { \"sasl.password\" = \"GW_TEST_KAFKA_PW\" }\n",
        )
        .expect("load");
        let k = cfg.kafka_input(None).expect("kafka").expect("some");
        assert_eq!((k.brokers.as_str(), k.group.as_str()), ("b:9092", "soc"));
        assert!(k
            .properties
            .contains(&("sasl.password".into(), "pa55".into())));
        assert!(k
            .properties
            .contains(&("fetch.max.bytes".into(), "1048576".into())));
        assert!(!format!("{k:?}").contains("pa55"));
        // A URL's own property wins over the section's.
        let k = cfg
            .kafka_input(Some("kafka://x:1/t?security.protocol=PLAINTEXT"))
            .expect("kafka")
            .expect("some");
        assert_eq!(k.brokers, "x:1");
        let protocols: Vec<_> = k
            .properties
            .iter()
            .filter(|(p, _)| p == "security.protocol")
            .collect();
        assert_eq!(protocols.len(), 1);
        assert_eq!(protocols[0].1, "PLAINTEXT");
        let missing = load_text(
            "[input.kafka]\nbrokers = \"b:9092\"\ntopics = [\"kong\"]\nproperties_env = { \"sasl.password\" = \"GW_TEST_UNSET_VAR\" }\n",
        )
        .expect("load")
        .kafka_input(None)
        .expect_err("unset variable")
        .to_string();
        assert!(missing.contains("GW_TEST_UNSET_VAR"), "{missing}");
    }

    #[test]
    fn the_example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/gatewatch.example.toml");
        ConfigFile::load(&path).expect("deploy/gatewatch.example.toml loads");
    }
}
