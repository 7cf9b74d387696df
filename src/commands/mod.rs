//! The subcommands, one module each: `run` (and `config check`), `generate`, `bench`,
//! `eval`, `rules`, and `schema` here.

use std::process::ExitCode;

use anyhow::Result;
use gatewatch_ingest::Column;

pub mod bench;
pub mod bench_clickhouse;
mod bench_engine;
pub mod bench_state;
pub mod eval;
mod eval_corpus;
pub mod generate;
pub mod rules;
pub mod run;
pub mod run_args;

/// `gatewatch schema`: the columns rules can query.
pub fn schema() -> Result<ExitCode> {
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
