//! `gatewatch rules lint|test|export`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use gatewatch_rules::{ParamOverride, SigmaOptions};

use crate::config::ConfigFile;
use crate::sigma_cli::SigmaArgs;

/// `gatewatch rules ...`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Parse every rule file, plan its SQL and compile its script; print `file:line:col: error`.
    Lint(RulesDirArgs),
    /// Run every rule's [[tests]] and print a pass/fail table.
    Test(RulesDirArgs),
    /// Write the built-in pack to DIR as a starting point for your own rules.
    Export {
        /// Target directory (created if missing).
        dir: PathBuf,
    },
    /// List the crawlers whose address ranges are published (`--crawler-ranges` file names)
    /// and where each vendor publishes them: `ID<TAB>URL`, one line per source.
    Crawlers,
}

/// A rule directory and the settings rules are loaded with.
#[derive(Debug, Args)]
pub struct RulesDirArgs {
    /// Rule directory; default: the config file's `[rules] dir`, else the built-in pack.
    dir: Option<PathBuf>,
    /// Parameter overrides, as for `run`.
    #[arg(long = "param", value_name = "[RULE.]NAME=VALUE")]
    params: Vec<String>,
    /// Parameter overrides file, as for `run`.
    #[arg(long, value_name = "FILE")]
    params_file: Option<PathBuf>,
    /// Config file, as for `run` (its `[rules]` and `[sigma]` tables apply).
    #[arg(long, value_name = "FILE", env = "GATEWATCH_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    sigma: SigmaArgs,
}

impl RulesDirArgs {
    /// The directory, parameter overrides and Sigma options: flags over the config file.
    fn settings(&self) -> Result<(Option<PathBuf>, Vec<ParamOverride>, SigmaOptions)> {
        let file = match &self.config {
            Some(p) => ConfigFile::load(p)?,
            None => ConfigFile::default(),
        };
        let params_file = self.params_file.clone().or(file.rules.params_file.clone());
        let overrides = gatewatch_rules::params::all_overrides(
            &self.params,
            params_file.as_deref(),
            &file.rules.params,
        )?;
        let dir = self.dir.clone().or(file.rules.dir.clone());
        Ok((dir, overrides, self.sigma.options(&file.sigma)?))
    }
}

fn rule_files(dir: Option<&PathBuf>) -> Result<gatewatch_rules::RuleFiles> {
    Ok(match dir {
        Some(d) => gatewatch_rules::dir_files(d)?,
        None => gatewatch_rules::builtin_files(),
    })
}

/// Runs a `rules` subcommand.
pub fn rules_command(cmd: RulesCommand) -> Result<ExitCode> {
    match cmd {
        RulesCommand::Lint(a) => {
            let (dir, overrides, sigma) = a.settings()?;
            let files = rule_files(dir.as_ref())?;
            let n = files.len();
            let notes = gatewatch_rules::parse_files(&files, &sigma, &overrides).notes;
            let (errors, skipped, warnings) = gatewatch_rules::lint_with(files, &overrides, &sigma);
            for w in &warnings {
                println!("{w}");
            }
            for s in &skipped {
                println!("{s}");
            }
            for n in &notes {
                println!(
                    "{}: note: Sigma rule {} ({}): {}",
                    n.origin, n.rule_id, n.title, n.reason
                );
            }
            for e in &errors {
                println!("{e}");
            }
            if !skipped.is_empty() {
                eprintln!("{} Sigma rule(s) skipped (listed above)", skipped.len());
            }
            if errors.is_empty() {
                match warnings.len() {
                    0 => eprintln!("{n} rule file(s) OK"),
                    w => eprintln!("{n} rule file(s) OK, {w} warning(s): at run time the rows these fail on are left out of their rule"),
                }
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{} error(s) in {n} rule file(s)", errors.len());
                Ok(ExitCode::from(1))
            }
        }
        RulesCommand::Test(a) => {
            let (dir, overrides, sigma) = a.settings()?;
            let files = rule_files(dir.as_ref())?;
            let outcomes = crate::rule_tests::run_tests(&files, &overrides, &sigma);
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
            let pack = gatewatch_rules::pack::BUILTIN.iter();
            for (name, text) in pack.chain(gatewatch_rules::pack::BUILTIN_TESTS) {
                let path = dir.join(name);
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                println!("{}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Crawlers => {
            for c in gatewatch_rules::functions::verifiable_crawlers() {
                for url in &c.sources {
                    println!("{}\t{url}", c.id);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
