//! Sink configuration: the `[spool]`, `[clickhouse]`, `[[webhook]]`, `[[slack]]` and
//! `[[pagerduty]]` tables of the config file (see `deploy/gatewatch.example.toml`), and the
//! sinks built from them. Each destination's own table lives in its folder and implements
//! [`DestinationConfig`]; this module holds what they share (secrets, delivery, the spool).
//!
//! Secrets (webhook URLs, HMAC keys, routing keys, passwords) can be given inline or, better,
//! as the name of an environment variable (`secret_env = "..."`). They are held as [`Secret`],
//! whose `Debug` prints `***`, and never logged.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

pub use crate::clickhouse::ClickHouseConfig;
pub use crate::pagerduty::PagerDutyConfig;
pub use crate::slack::SlackConfig;
pub use crate::webhook::WebhookConfig;

use crate::route::Route;
use crate::spooled::{Delivery, Destination, SpooledSink};
use crate::{Sink, SinkError};

/// A secret string: `Debug` never shows it.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// One destination's table of the config file. Each sink folder implements it: the settings,
/// their checks, the destination they build and (where the protocol allows) a health check.
pub trait DestinationConfig {
    /// The destination it builds.
    type Destination: Destination;
    /// The kind, also the default name (`clickhouse`, `webhook`, ...).
    const KIND: &'static str;
    /// The name the table gives, if any (names are made unique: `slack`, `slack-2`, ...).
    fn name(&self) -> Option<&str> {
        None
    }
    /// Which alerts it takes.
    fn route(&self) -> Route;
    /// Its delivery settings, and the default rate (records per second) if it has one.
    fn delivery(&self) -> (&DeliveryConfig, Option<f64>);
    /// Checks every setting (secrets present, URLs) and builds the destination, whose
    /// requests time out after `timeout`. Contacts nothing.
    fn build(&self, timeout: Duration) -> Result<Self::Destination, String>;
    /// Asks the destination, waiting at most `wait`, whether it will accept records: an error
    /// only when it refuses the configuration (an outage is logged, the spool absorbs it).
    fn health_check(&self, _wait: Duration) -> Result<(), String> {
        Ok(())
    }
}

/// `[spool]`: where undelivered records wait.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SpoolConfig {
    /// Directory; each destination gets a subdirectory (default: `spool` in the data
    /// directory, see `gatewatch run --data-dir`; [`SpoolConfig::dir`] for library users).
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Records undelivered this long go to the dead-letter file (default `24h`).
    #[serde(default, with = "gatewatch_model::duration::option")]
    pub give_up_after: Option<Duration>,
    /// At the end of a run, wait this long for spooled records to be delivered (default `30s`).
    #[serde(default, with = "gatewatch_model::duration::option")]
    pub drain_timeout: Option<Duration>,
}

impl SpoolConfig {
    /// The spool directory: as configured, else `gatewatch-spool` in the current directory.
    pub fn dir(&self) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("gatewatch-spool"))
    }

    /// The drain timeout.
    pub fn drain(&self) -> Duration {
        self.drain_timeout.unwrap_or(Duration::from_secs(30))
    }
}

/// Per-destination delivery settings (`delivery = { ... }`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Records per second at most.
    pub rate_per_sec: Option<f64>,
    /// Request timeout (default `10s`).
    #[serde(default, with = "gatewatch_model::duration::option")]
    pub timeout: Option<Duration>,
    /// Longest retry delay (default `60s`).
    #[serde(default, with = "gatewatch_model::duration::option")]
    pub max_backoff: Option<Duration>,
    /// Overrides `spool.give_up_after` for this destination.
    #[serde(default, with = "gatewatch_model::duration::option")]
    pub give_up_after: Option<Duration>,
}

impl DeliveryConfig {
    /// The sender's settings and the request timeout.
    fn delivery(&self, spool: &SpoolConfig, default_rate: Option<f64>) -> (Delivery, Duration) {
        let mut d = Delivery {
            rate_per_sec: self.rate_per_sec.or(default_rate),
            ..Delivery::default()
        };
        if let Some(b) = self.max_backoff {
            d.max_backoff = b;
            d.min_backoff = d.min_backoff.min(b);
        }
        if let Some(g) = self.give_up_after.or(spool.give_up_after) {
            d.give_up_after = g;
        }
        (d, self.timeout.unwrap_or(Duration::from_secs(10)))
    }
}

/// Resolves an inline secret or the environment variable named by `env`.
pub(crate) fn secret(
    inline: &Option<Secret>,
    env: &Option<String>,
    what: &str,
) -> Result<Option<String>, String> {
    if let Some(s) = inline {
        return Ok(Some(s.0.clone()));
    }
    match env {
        Some(var) => std::env::var(var)
            .map(Some)
            .map_err(|_| format!("{what}: environment variable {var} is not set")),
        None => Ok(None),
    }
}

/// An `http://` or `https://` URL (checked at start, not at the first alert). The error
/// does not repeat the URL: it may carry a token.
pub(crate) fn http_url(url: String) -> Result<String, String> {
    match reqwest::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(url),
        Ok(u) => Err(format!(
            "url: scheme {:?} without a host or not http(s); expected https://HOST/...",
            u.scheme()
        )),
        Err(e) => Err(format!("url is not a URL ({e}); expected https://HOST/...")),
    }
}

/// A secret that must be given, inline (`what`) or through `what_env`.
pub(crate) fn required(
    inline: &Option<Secret>,
    env: &Option<String>,
    what: &str,
) -> Result<String, String> {
    secret(inline, env, what)?.ok_or_else(|| format!("needs {what} or {what}_env"))
}

/// All sink settings of the config file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SinksConfig {
    /// The spool.
    #[serde(default)]
    pub spool: SpoolConfig,
    /// ClickHouse.
    pub clickhouse: Option<ClickHouseConfig>,
    /// Generic webhooks.
    #[serde(default)]
    pub webhook: Vec<WebhookConfig>,
    /// Slack.
    #[serde(default)]
    pub slack: Vec<SlackConfig>,
    /// PagerDuty.
    #[serde(default)]
    pub pagerduty: Vec<PagerDutyConfig>,
}

/// Something done to every configured destination, under its unique name.
trait Visit {
    fn visit<C: DestinationConfig>(&mut self, name: &str, c: &C) -> Result<(), SinkError>;
}

fn unique_name(given: Option<&str>, kind: &str, taken: &mut Vec<String>) -> String {
    let base = given.unwrap_or(kind).to_owned();
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    taken.push(name.clone());
    name
}

/// Builds (and with `start`, starts) the spooled sink of each destination.
struct Assemble<'a> {
    spool: &'a SpoolConfig,
    start: bool,
    sinks: Vec<Box<dyn Sink>>,
}

impl Visit for Assemble<'_> {
    fn visit<C: DestinationConfig>(&mut self, name: &str, c: &C) -> Result<(), SinkError> {
        let err = |reason: String| SinkError::Config {
            sink: name.to_owned(),
            reason,
        };
        let (cfg, rate) = c.delivery();
        let (delivery, timeout) = cfg.delivery(self.spool, rate);
        let route = c.route();
        route.validate().map_err(|r| err(format!("route: {r}")))?;
        let dest = c.build(timeout).map_err(err)?;
        if self.start {
            let dir = self.spool.dir().join(name);
            let sink = SpooledSink::start(name, dest, &dir, route, delivery)?;
            self.sinks.push(Box::new(sink));
        }
        Ok(())
    }
}

/// Runs every destination's health check.
struct Probe(Duration);

impl Visit for Probe {
    fn visit<C: DestinationConfig>(&mut self, name: &str, c: &C) -> Result<(), SinkError> {
        c.health_check(self.0).map_err(|reason| SinkError::Config {
            sink: name.to_owned(),
            reason,
        })
    }
}

impl SinksConfig {
    /// Checks every destination's settings (secrets present, durations, routes, URLs) without
    /// starting anything; returns the destinations' names.
    pub fn validate(&self) -> Result<Vec<String>, SinkError> {
        let mut check = Assemble {
            spool: &self.spool,
            start: false,
            sinks: Vec::new(),
        };
        self.each(&mut check)
    }

    /// Starts a spooled sink per configured destination, after all of them were validated
    /// (a bad last destination does not leave the first ones' senders running).
    pub fn build(&self) -> Result<Vec<Box<dyn Sink>>, SinkError> {
        self.validate()?;
        let mut start = Assemble {
            spool: &self.spool,
            start: true,
            sinks: Vec::new(),
        };
        self.each(&mut start)?;
        Ok(start.sinks)
    }

    /// Asks the destinations whose protocol can tell a wrong configuration from an outage
    /// (ClickHouse: authentication, rights, unknown table) whether they will accept records,
    /// waiting at most `wait` for each. A refusal is an error now, instead of records retried
    /// for `give_up_after`; an unreachable destination is only logged (the spool absorbs
    /// outages).
    pub fn probe(&self, wait: Duration) -> Result<(), SinkError> {
        self.each(&mut Probe(wait)).map(|_| ())
    }

    /// Visits every destination in a fixed order under its unique name; returns the names.
    fn each(&self, v: &mut impl Visit) -> Result<Vec<String>, SinkError> {
        let mut names = Vec::new();
        fn one<C: DestinationConfig>(
            c: &C,
            names: &mut Vec<String>,
            v: &mut impl Visit,
        ) -> Result<(), SinkError> {
            let name = unique_name(c.name(), C::KIND, names);
            v.visit(&name, c)
        }
        if let Some(c) = &self.clickhouse {
            one(c, &mut names, v)?;
        }
        for c in &self.webhook {
            one(c, &mut names, v)?;
        }
        for c in &self.slack {
            one(c, &mut names, v)?;
        }
        for c in &self.pagerduty {
            one(c, &mut names, v)?;
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_checked_while_parsing() {
        let c: SinksConfig =
            toml::from_str("[spool]\ngive_up_after = \"1h 30m\"\n").expect("parse");
        assert_eq!(c.spool.give_up_after, Some(Duration::from_secs(5400)));
        let e = toml::from_str::<SinksConfig>("[spool]\ndrain_timeout = \"5 parsecs\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("like 500ms"), "{e}");
    }

    #[test]
    fn names_are_unique_per_kind() {
        let c: SinksConfig = toml::from_str(
            r#"
            [[slack]]
            url = "https://hooks.example/a"
            [[slack]]
            url = "https://hooks.example/b"
            [[webhook]]
            name = "siem"
            url = "https://siem.example/in"
            "#,
        )
        .expect("parse");
        assert_eq!(
            c.validate().expect("valid"),
            ["siem", "slack", "slack-2"].map(String::from)
        );
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let c: SinksConfig = toml::from_str(
            r#"
            [[webhook]]
            url = "https://hooks.example/abc"
            secret = "hunter2"
            "#,
        )
        .expect("parse");
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("hunter2") && !dbg.contains("hooks.example"),
            "{dbg}"
        );
    }
}
