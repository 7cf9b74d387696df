//! Command-line interface: the subcommands and exit codes. Each subcommand lives in its own
//! module under [`crate::commands`]; logging is [`crate::logging`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::commands::generate::GenerateArgs;
use crate::commands::rules::RulesCommand;
use crate::commands::run_args::{Given, RunArgs};
use crate::logging::{init_logging, LogArgs};

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

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the detection pipeline over logs and print alerts as JSON Lines.
    Run(Box<RunArgs>),
    /// Generate deterministic labelled traffic as Kong JSON lines.
    Generate(GenerateArgs),
    /// Measure decode and pipeline throughput on generated Kong records.
    Bench(crate::commands::bench::BenchArgs),
    /// Measure the rules on generated, labelled traffic: recall per attack scenario,
    /// precision per rule, and alerts on hard negatives (which must be none).
    Eval(crate::commands::eval::EvalArgs),
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
        None => crate::commands::run::run(RunArgs::defaults(), &Given(None), &cli.log, &log_given),
        Some(Command::Run(a)) => {
            let given = Given(matches.subcommand_matches("run"));
            crate::commands::run::run(*a, &given, &cli.log, &log_given)
        }
        Some(Command::Generate(a)) => crate::commands::generate::generate(a),
        Some(Command::Bench(a)) => crate::commands::bench::run(a),
        Some(Command::Eval(a)) => crate::commands::eval::run(a),
        Some(Command::Schema) => crate::commands::schema(),
        Some(Command::Rules(c)) => crate::commands::rules::rules_command(c),
        Some(Command::Config(ConfigCommand::Check { file })) => crate::commands::run::check(&file),
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
