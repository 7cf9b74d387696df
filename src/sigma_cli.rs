//! Command-line and config-file options of Sigma rules (`--sigma-*`, `[sigma]`).

use anyhow::Result;
use clap::Args;
use gatewatch_rules::{SigmaOptions, Skipped};
use serde::Deserialize;

/// How Sigma rules (`*.yml` in a rule directory) run. Flags win over the config file's
/// `[sigma]` table, which wins over the defaults.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Sigma rules")]
pub struct SigmaArgs {
    /// Also run Sigma rules of `category: proxy` (config: `sigma.proxy = true`). Gateway logs
    /// are reverse-proxy logs: most proxy rules apply, some assume a full URL in `c-uri`.
    #[arg(long)]
    pub sigma_proxy: bool,
    /// Also run Sigma rules whose status is `deprecated` or `unsupported`.
    #[arg(long)]
    pub sigma_include_deprecated: bool,
    /// The tumbling window of a Sigma rule's alerts: one alert per client address and window
    /// [default: 1m]. `--param RULE_ID.window=5m` sets it for one rule.
    #[arg(long, value_name = "DURATION")]
    pub sigma_window: Option<String>,
    /// No repeat alert of a Sigma rule for the same client within this much event time
    /// [default: 10m]. `--param RULE_ID.suppress_for=1h` sets it for one rule.
    #[arg(long, value_name = "DURATION")]
    pub sigma_suppress: Option<String>,
}

/// The `[sigma]` table of the config file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SigmaConfig {
    /// As `--sigma-proxy`.
    #[serde(default)]
    pub proxy: bool,
    /// As `--sigma-include-deprecated`.
    #[serde(default)]
    pub include_deprecated: bool,
    /// As `--sigma-window`.
    #[serde(default, deserialize_with = "crate::config::checked_duration")]
    pub window: Option<String>,
    /// As `--sigma-suppress`.
    #[serde(default, deserialize_with = "crate::config::checked_duration")]
    pub suppress_for: Option<String>,
}

impl SigmaArgs {
    /// The options, from the flags over the config file's `[sigma]` table.
    pub fn options(&self, file: &SigmaConfig) -> Result<SigmaOptions> {
        let file = file.clone();
        let defaults = SigmaOptions::default();
        let opts = SigmaOptions {
            proxy: self.sigma_proxy || file.proxy,
            include_deprecated: self.sigma_include_deprecated || file.include_deprecated,
            window: self
                .sigma_window
                .clone()
                .or(file.window)
                .unwrap_or(defaults.window),
            suppress_for: self
                .sigma_suppress
                .clone()
                .or(file.suppress_for)
                .unwrap_or(defaults.suppress_for),
        };
        for (flag, v) in [
            ("--sigma-window", &opts.window),
            ("--sigma-suppress", &opts.suppress_for),
        ] {
            gatewatch_model::duration::parse_positive_ms(v)
                .map_err(|m| anyhow::anyhow!("{flag}: {m}"))?;
        }
        Ok(opts)
    }
}

/// Logs each skipped Sigma rule once, with its reason, and a count.
pub fn log_skipped(skipped: &[Skipped]) {
    for s in skipped {
        tracing::warn!("{s}");
    }
    if !skipped.is_empty() {
        tracing::warn!(
            "{} Sigma rule(s) skipped (`gatewatch rules lint DIR` lists them)",
            skipped.len()
        );
    }
}
