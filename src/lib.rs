//! # gatewatch
//!
//! Streaming detection for API-gateway access logs. This crate is the command line and the
//! wiring of the pipeline; the parts live in `gatewatch-ingest` (decode → Arrow),
//! `gatewatch-engine` (windows, watermarks, rules → alerts), `gatewatch-rules` (rule format and
//! pack) and `gatewatch-sinks` (where alerts go).
#![deny(missing_docs)]

pub mod bench;
pub mod bench_clickhouse;
pub mod cli;
pub mod eval;
pub mod pipeline;
pub mod reload;
pub mod rule_tests;
