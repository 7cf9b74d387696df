//! End-to-end tests of gatewatch: real decoders on real Kong records, engine window semantics,
//! and the `gatewatch` binary as a user runs it.

mod cli;
mod config;
mod decoders;
mod deploy;
mod exactly_once;
mod fuzz_corpus;
mod hostile;
mod kafka;
mod layout;
mod pack;
mod partial;
mod quality;
mod quality_committed;
mod quality_hosting;
mod quality_pages;
mod quality_payloads;
mod quality_proxies;
mod quality_public;
mod quality_real;
mod quality_small_hosts;
mod receiver;
mod rule_eval;
mod rules;
mod scale_out;
mod service;
mod sigma;
mod sigma_cli;
mod sigma_corr_diff;
mod sigma_correlations;
mod sigma_diff;
mod sigma_rules;
mod sinks;
mod sinks_http;
mod support;
mod windows;
