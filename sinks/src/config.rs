//! Sink configuration: the `[spool]`, `[clickhouse]`, `[[webhook]]`, `[[slack]]` and
//! `[[pagerduty]]` tables of the config file (see `deploy/gatewatch.example.toml`), and the
//! sinks built from them.
//!
//! Secrets (webhook URLs, HMAC keys, routing keys, passwords) can be given inline or, better,
//! as the name of an environment variable (`secret_env = "..."`). They are held as [`Secret`],
//! whose `Debug` prints `***`, and never logged.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::clickhouse::{ClickHouseDestination, ClickHouseTarget};
use crate::http::HttpPoster;
use crate::pagerduty::{PagerDutyDestination, EVENTS_URL};
use crate::route::Route;
use crate::slack::SlackDestination;
use crate::spooled::{Delivery, Destination, SpooledSink};
use crate::webhook::WebhookDestination;
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

/// Parses `500ms`, `10s`, `5m`, `24h`, `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms, 10s, 5m, 24h or 7d"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => {
            return Err(format!(
                "{text:?}: unit must be ms, s, m, h or d (e.g. 30s)"
            ))
        }
    };
    Ok(Duration::from_secs_f64(secs))
}

/// Deserializes an optional duration text, rejecting what [`parse_duration`] rejects: a bad
/// duration in a config file is reported at its line and column, not when a sender starts.
pub fn checked_duration<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    let v: Option<String> = Option::deserialize(d)?;
    if let Some(t) = &v {
        parse_duration(t).map_err(serde::de::Error::custom)?;
    }
    Ok(v)
}

fn opt_duration(v: &Option<String>, what: &str) -> Result<Option<Duration>, String> {
    v.as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|e| format!("{what}: {e}"))
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
    #[serde(default, deserialize_with = "checked_duration")]
    pub give_up_after: Option<String>,
    /// At the end of a run, wait this long for spooled records to be delivered (default `30s`).
    #[serde(default, deserialize_with = "checked_duration")]
    pub drain_timeout: Option<String>,
}

impl SpoolConfig {
    /// The spool directory: as configured, else `gatewatch-spool` in the current directory.
    pub fn dir(&self) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("gatewatch-spool"))
    }

    /// The drain timeout.
    pub fn drain(&self) -> Result<Duration, String> {
        Ok(opt_duration(&self.drain_timeout, "spool.drain_timeout")?
            .unwrap_or(Duration::from_secs(30)))
    }
}

/// Per-destination delivery settings (`delivery = { ... }`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Records per second at most.
    pub rate_per_sec: Option<f64>,
    /// Request timeout (default `10s`).
    #[serde(default, deserialize_with = "checked_duration")]
    pub timeout: Option<String>,
    /// Longest retry delay (default `60s`).
    #[serde(default, deserialize_with = "checked_duration")]
    pub max_backoff: Option<String>,
    /// Overrides `spool.give_up_after` for this destination.
    #[serde(default, deserialize_with = "checked_duration")]
    pub give_up_after: Option<String>,
}

impl DeliveryConfig {
    fn delivery(
        &self,
        spool: &SpoolConfig,
        default_rate: Option<f64>,
    ) -> Result<(Delivery, Duration), String> {
        let mut d = Delivery {
            rate_per_sec: self.rate_per_sec.or(default_rate),
            ..Delivery::default()
        };
        if let Some(b) = opt_duration(&self.max_backoff, "delivery.max_backoff")? {
            d.max_backoff = b;
            d.min_backoff = d.min_backoff.min(b);
        }
        if let Some(g) = opt_duration(&self.give_up_after, "delivery.give_up_after")?
            .or(opt_duration(&spool.give_up_after, "spool.give_up_after")?)
        {
            d.give_up_after = g;
        }
        let timeout =
            opt_duration(&self.timeout, "delivery.timeout")?.unwrap_or(Duration::from_secs(10));
        Ok((d, timeout))
    }
}

/// Resolves an inline secret or the environment variable named by `env`.
fn secret(
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
fn http_url(url: String) -> Result<String, String> {
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
fn required(inline: &Option<Secret>, env: &Option<String>, what: &str) -> Result<String, String> {
    secret(inline, env, what)?.ok_or_else(|| format!("needs {what} or {what}_env"))
}

/// `[clickhouse]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseConfig {
    /// `http://[user[:password]@]host:port/database`.
    pub url: Secret,
    /// User (instead of in the URL).
    pub user: Option<String>,
    /// Password (instead of in the URL).
    pub password: Option<Secret>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// Rows per insert at most (default 10000).
    pub batch_rows: Option<usize>,
    /// How long a partial batch may wait for more rows (default `1s`).
    #[serde(default, deserialize_with = "checked_duration")]
    pub batch_linger: Option<String>,
    /// Store per-minute traffic statistics and the API inventory (default true).
    pub traffic_stats: Option<bool>,
    /// Which alerts are stored (default: all).
    #[serde(default)]
    pub route: Route,
    /// Delivery settings.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

/// `[[webhook]]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Name in logs and of the spool subdirectory (default `webhook`, `webhook-2`, ...).
    pub name: Option<String>,
    /// The URL.
    pub url: Option<Secret>,
    /// Environment variable holding the URL.
    pub url_env: Option<String>,
    /// HMAC-SHA256 key.
    pub secret: Option<Secret>,
    /// Environment variable holding the HMAC key.
    pub secret_env: Option<String>,
    /// Extra headers on every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Which alerts go here.
    #[serde(default)]
    pub route: Route,
    /// Delivery settings.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

/// `[[slack]]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Name in logs and of the spool subdirectory.
    pub name: Option<String>,
    /// Incoming-webhook URL.
    pub url: Option<Secret>,
    /// Environment variable holding the URL.
    pub url_env: Option<String>,
    /// Link template for the rule, `{rule_id}` replaced.
    pub rule_link: Option<String>,
    /// Which alerts go here.
    #[serde(default)]
    pub route: Route,
    /// Delivery settings (default rate 1 message/s, Slack's limit per webhook).
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

/// `[[pagerduty]]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// Name in logs and of the spool subdirectory.
    pub name: Option<String>,
    /// Integration (routing) key.
    pub routing_key: Option<Secret>,
    /// Environment variable holding the routing key.
    pub routing_key_env: Option<String>,
    /// Events API URL (default PagerDuty's).
    pub url: Option<String>,
    /// Resolve an entity's incidents after it stopped triggering the rule for this long.
    #[serde(default, deserialize_with = "checked_duration")]
    pub resolve_after: Option<String>,
    /// Which alerts go here (default: severity high and above).
    #[serde(default)]
    pub route: Option<Route>,
    /// Delivery settings.
    #[serde(default)]
    pub delivery: DeliveryConfig,
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

fn unique_name(given: &Option<String>, kind: &str, taken: &mut Vec<String>) -> String {
    let base = given.clone().unwrap_or_else(|| kind.to_owned());
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    taken.push(name.clone());
    name
}

impl SinksConfig {
    /// Checks every destination's settings (secrets present, durations, routes, URLs) without
    /// starting anything; returns the destinations' names.
    pub fn validate(&self) -> Result<Vec<String>, SinkError> {
        let mut names = Vec::new();
        self.assemble(false, &mut names)?;
        Ok(names)
    }

    /// Starts a spooled sink per configured destination, after all of them were validated
    /// (a bad last destination does not leave the first ones' senders running).
    pub fn build(&self) -> Result<Vec<Box<dyn Sink>>, SinkError> {
        self.validate()?;
        self.assemble(true, &mut Vec::new())
    }

    /// Asks the destinations whose protocol can tell a wrong configuration from an outage
    /// (ClickHouse: authentication, rights, unknown table) whether they will accept records,
    /// waiting at most `wait`. A refusal is an error now, instead of records retried for
    /// `give_up_after`; an unreachable destination is only logged (the spool absorbs outages).
    pub fn probe(&self, wait: Duration) -> Result<(), SinkError> {
        let Some(c) = &self.clickhouse else {
            return Ok(());
        };
        let target = self.clickhouse_target(c)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SinkError::Config {
                sink: "clickhouse".into(),
                reason: format!("cannot start a runtime: {e}"),
            })?;
        match rt.block_on(async { tokio::time::timeout(wait, crate::clickhouse::migrate(&target)).await }) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if !e.retryable => Err(SinkError::Config {
                sink: "clickhouse".into(),
                reason: format!(
                    "{} (ClickHouse refused the configuration: fix the URL, user, password or grants in [clickhouse] / --clickhouse; this is not retried)",
                    e.reason
                ),
            }),
            Ok(Err(e)) => {
                tracing::warn!(sink = "clickhouse", "not reachable yet ({}); alerts are spooled until it is", e.reason);
                Ok(())
            }
            Err(_) => {
                tracing::warn!(sink = "clickhouse", "no answer within {wait:?}; alerts are spooled until it answers");
                Ok(())
            }
        }
    }

    fn clickhouse_target(&self, c: &ClickHouseConfig) -> Result<ClickHouseTarget, SinkError> {
        let cfg_err = |reason: String| SinkError::Config {
            sink: "clickhouse".into(),
            reason,
        };
        let mut target = ClickHouseTarget::parse(&c.url.0).map_err(cfg_err)?;
        if let Some(u) = &c.user {
            target.user = Some(u.clone());
        }
        if let Some(p) = secret(&c.password, &c.password_env, "password").map_err(cfg_err)? {
            target.password = Some(p);
        }
        Ok(target)
    }

    /// Builds every destination; with `start`, starts its sender and returns the sinks.
    fn assemble(
        &self,
        start: bool,
        names: &mut Vec<String>,
    ) -> Result<Vec<Box<dyn Sink>>, SinkError> {
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        let cfg_err = |sink: &str, reason: String| SinkError::Config {
            sink: sink.to_owned(),
            reason,
        };
        if let Some(c) = &self.clickhouse {
            let name = unique_name(&Some("clickhouse".into()), "clickhouse", names);
            let target = self.clickhouse_target(c)?;
            let linger = opt_duration(&c.batch_linger, "batch_linger")
                .map_err(|e| cfg_err(&name, e))?
                .unwrap_or(Duration::from_secs(1));
            let (delivery, _) = c
                .delivery
                .delivery(&self.spool, None)
                .map_err(|e| cfg_err(&name, e))?;
            let dest = ClickHouseDestination::new(
                target,
                c.batch_rows.unwrap_or(10_000),
                linger,
                c.traffic_stats.unwrap_or(true),
            );
            sinks.extend(self.spooled(start, &name, dest, &c.route, delivery)?);
        }
        for w in &self.webhook {
            let name = unique_name(&w.name, "webhook", names);
            let url = required(&w.url, &w.url_env, "url")
                .and_then(http_url)
                .map_err(|e| cfg_err(&name, e))?;
            let key = secret(&w.secret, &w.secret_env, "secret").map_err(|e| cfg_err(&name, e))?;
            let (delivery, http) = self
                .http_delivery(&w.delivery, None)
                .map_err(|e| cfg_err(&name, e))?;
            let headers = w
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let dest = WebhookDestination::new(url, key.map(String::into_bytes), headers, http);
            sinks.extend(self.spooled(start, &name, dest, &w.route, delivery)?);
        }
        for s in &self.slack {
            let name = unique_name(&s.name, "slack", names);
            let url = required(&s.url, &s.url_env, "url")
                .and_then(http_url)
                .map_err(|e| cfg_err(&name, e))?;
            let (delivery, http) = self
                .http_delivery(&s.delivery, Some(1.0))
                .map_err(|e| cfg_err(&name, e))?;
            let dest = SlackDestination::new(url, s.rule_link.clone(), http);
            sinks.extend(self.spooled(start, &name, dest, &s.route, delivery)?);
        }
        for p in &self.pagerduty {
            let name = unique_name(&p.name, "pagerduty", names);
            let key = required(&p.routing_key, &p.routing_key_env, "routing_key")
                .map_err(|e| cfg_err(&name, e))?;
            let (delivery, http) = self
                .http_delivery(&p.delivery, None)
                .map_err(|e| cfg_err(&name, e))?;
            let resolve_after =
                opt_duration(&p.resolve_after, "resolve_after").map_err(|e| cfg_err(&name, e))?;
            let url = http_url(p.url.clone().unwrap_or_else(|| EVENTS_URL.to_owned()))
                .map_err(|e| cfg_err(&name, e))?;
            let dest = PagerDutyDestination::new(url, key, resolve_after, http);
            let route = p.route.clone().unwrap_or(Route {
                min_severity: Some("high".into()),
                ..Route::default()
            });
            sinks.extend(self.spooled(start, &name, dest, &route, delivery)?);
        }
        Ok(sinks)
    }

    /// Delivery settings and an HTTP client with their timeout.
    fn http_delivery(
        &self,
        cfg: &DeliveryConfig,
        default_rate: Option<f64>,
    ) -> Result<(Delivery, HttpPoster), String> {
        let (delivery, timeout) = cfg.delivery(&self.spool, default_rate)?;
        Ok((delivery, HttpPoster::new(timeout)?))
    }

    /// The sink of a validated destination: started with `start`, else none.
    fn spooled<D: Destination>(
        &self,
        start: bool,
        name: &str,
        dest: D,
        route: &Route,
        delivery: Delivery,
    ) -> Result<Option<Box<dyn Sink>>, SinkError> {
        route.validate().map_err(|reason| SinkError::Config {
            sink: name.to_owned(),
            reason: format!("route: {reason}"),
        })?;
        if !start {
            return Ok(None);
        }
        Ok(Some(Box::new(SpooledSink::start(
            name,
            dest,
            &self.spool.dir().join(name),
            route.clone(),
            delivery,
        )?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86400)));
        assert!(parse_duration("5 minutes").is_err());
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
