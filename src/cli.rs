//! Command-line interface: the subcommands, logging, exit codes. Each subcommand lives in its
//! own module (`run_cmd`, `gen_cmd`, `rules_cmd`, `bench`, `eval`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use gatewatch_ingest::Column;
use serde::Deserialize;

use crate::config::LogSection;
use crate::gen_cmd::GenerateArgs;
use crate::rules_cmd::RulesCommand;
use crate::run_args::{Given, RunArgs};

/// Streaming detection for API-gateway access logs (Kong, Envoy, NGINX).
///
/// Run with no arguments to replay bundled sample traffic (benign users plus credential
/// stuffing and other attacks) through the built-in rules and print the alerts.
#[derive(Debug, Parser)]
#[command(name = "gatewatch", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    log: LogArgs,
}

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
    /// Check a config file.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate FILE as `gatewatch run --config FILE` would (unknown keys, values, secrets in
    /// the environment, rules, sinks) without reading input or contacting anything; prints
    /// `FILE:LINE:COL: error` or a summary of what would run.
    Check {
        /// The config file.
        file: PathBuf,
    },
}

/// The arguments of a plain `gatewatch run`.
pub fn default_run_args() -> RunArgs {
    match Cli::parse_from(["gatewatch", "run"]).command {
        Some(Command::Run(a)) => *a,
        _ => unreachable!("`gatewatch run` parses to the run command"),
    }
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

/// Entry point: parses arguments, runs the command, prints the error chain on failure.
pub fn main() -> ExitCode {
    // A closed stdout (`gatewatch schema | head`) ends the process quietly, as for any Unix
    // tool, instead of a panic in `println!`. Nothing is lost: Kafka offsets only move past
    // output that was made durable, and spools are replayed on the next start.
    // SAFETY: called first thing, before any thread exists; SIG_DFL is always a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let log_given = Given(Some(&matches));
    // `run` reads its config file (which may set logging) before logging starts.
    if !matches!(cli.command, None | Some(Command::Run(_))) {
        init_logging(&cli.log);
    }
    let result = match cli.command {
        // No subcommand: the same as `gatewatch run` with its defaults.
        None => crate::run_cmd::run(default_run_args(), &Given(None), &cli.log, &log_given),
        Some(Command::Run(a)) => {
            let given = Given(matches.subcommand_matches("run"));
            crate::run_cmd::run(*a, &given, &cli.log, &log_given)
        }
        Some(Command::Generate(a)) => crate::gen_cmd::generate(a),
        Some(Command::Bench(a)) => crate::bench::run(a),
        Some(Command::Eval(a)) => crate::eval::run(a),
        Some(Command::Schema) => schema(),
        Some(Command::Rules(c)) => crate::rules_cmd::rules_command(c),
        Some(Command::Config(ConfigCommand::Check { file })) => crate::run_cmd::check(&file),
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
