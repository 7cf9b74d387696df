//! # gatewatch
//!
//! Streaming detection for API-gateway access logs. This crate is the command line; the parts
//! live in `gatewatch-model` (schema, alerts, records, durations), `gatewatch-ingest` (sources,
//! decode → Arrow), `gatewatch-engine` (clocks, tasks,
//! windows, rules → alerts), `gatewatch-rules` (rule format and pack), `gatewatch-sinks`
//! (where alerts go) and `gatewatch-pipeline` (the threads that run them together).
#![deny(missing_docs)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod logging;
pub mod progress;
pub mod rule_tests;
pub mod sigma_cli;
