//! # gatewatch
//!
//! Streaming detection for API-gateway access logs. This crate is the command line; the parts
//! live in `gatewatch-ingest` (sources, decode → Arrow), `gatewatch-engine` (clocks, tasks,
//! windows, rules → alerts), `gatewatch-rules` (rule format and pack), `gatewatch-sinks`
//! (where alerts go) and `gatewatch-pipeline` (the threads that run them together).
#![deny(missing_docs)]

pub mod bench;
pub mod bench_clickhouse;
pub mod cli;
pub mod config;
pub mod eval;
pub mod gen_cmd;
pub mod progress;
pub mod rule_tests;
pub mod rules_cmd;
pub mod run_args;
pub mod run_cmd;
pub mod sigma_cli;
