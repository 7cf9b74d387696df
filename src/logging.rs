//! Diagnostics on stderr: the `--log` filter and `--log-format`, from flags, environment or
//! the config file's `[log]`.

use clap::Args;
use serde::Deserialize;

use crate::commands::run_args::Given;
use crate::config::LogSection;

/// Diagnostics on stderr.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log filter for diagnostics on stderr (e.g. `info`, `gatewatch=debug`); or set RUST_LOG.
    #[arg(long, global = true, default_value = "info", env = "GATEWATCH_LOG")]
    pub log: String,
    /// Log line format: `text` for people, `json` (one object per line) for log collectors.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "GATEWATCH_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
}

impl LogArgs {
    /// The config file's `[log]` where no flag (or environment variable) was given.
    pub fn with_file(&self, file: &LogSection, given: &Given) -> LogArgs {
        let mut out = self.clone();
        if !given.has("log") {
            if let Some(l) = &file.level {
                out.log.clone_from(l);
            }
        }
        if !given.has("log_format") {
            if let Some(f) = file.format {
                out.log_format = f;
            }
        }
        out
    }
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `LEVEL message key=value`, coloured on a terminal.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `message` and the fields.
    Json,
}

/// Installs the stderr logger (`RUST_LOG` wins over `--log`).
pub fn init_logging(log: &LogArgs) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| log.log.clone());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match log.log_format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false)
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}
