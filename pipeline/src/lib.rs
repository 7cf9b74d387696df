//! # gatewatch-pipeline
//!
//! The running pipeline, without any command-line concern: a source (file, stdin or a Kafka
//! consumer group) cut into chunks by a reader thread; decoder threads turning chunks into
//! Arrow batches and evaluating the rules' stateless filters; the main thread clocking and
//! routing rows (the engine's sequencer) to tasks on worker threads; sinks receiving what the
//! tasks emit; and, for Kafka, checkpoints and commits that move only past durable output.
//!
//! Files and Kafka take the same path. What differs is the placement of tasks: a file's rows
//! are sharded by entity over the workers (every core runs rules); a Kafka partition is one
//! task, whose state moves with the partition through the checkpoint topic.
#![deny(missing_docs)]

pub mod dead_letter;
pub mod kafka;
pub mod observe;
pub mod reload;
pub mod repartition;
mod run;
pub mod summary;
pub mod threads;
pub mod worker;

use std::path::PathBuf;
use std::time::Duration;

use gatewatch_engine::EngineConfig;
use gatewatch_ingest::{ChunkOptions, DecodeConfig, Input};
use gatewatch_rules::CompiledRule;
use gatewatch_sinks::Sink;

pub use reload::RuleReloader;
pub use run::{run, InputSource};
pub use summary::RunSummary;

/// How the pipeline runs.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Decoding options.
    pub decode: DecodeConfig,
    /// Chunking options.
    pub chunk: ChunkOptions,
    /// Engine options.
    pub engine: EngineConfig,
    /// Decoder threads.
    pub threads: usize,
    /// Task worker threads (rules run there).
    pub workers: usize,
    /// Where rejected records go: a file (JSON Lines, appended) or `kafka://HOST:PORT/TOPIC`.
    pub dead_letter: Option<PathBuf>,
    /// Seconds between progress lines on stderr (0: none).
    pub progress_every: Duration,
    /// With no input on a partition for this long, its event time advances with the wall
    /// clock so open windows still close (`None`: never; right for files, which are replayed
    /// faster than real time). Only for live inputs (stdin, Kafka).
    pub idle_timeout: Option<Duration>,
    /// At the end, how long spooled sinks may take to deliver what they hold.
    pub sink_drain: Duration,
    /// How often Kafka partitions are checkpointed and committed.
    pub commit_every: Duration,
    /// With `--metrics-addr`: record metrics and report health here (see [`observe`]).
    pub observe: Option<std::sync::Arc<observe::Health>>,
    /// A live view of the run's progress (a progress bar), updated a few times per second
    /// instead of the progress lines.
    pub progress: Option<ProgressHook>,
}

/// Counters of a running pipeline, for a progress view.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Input bytes decoded.
    pub bytes: u64,
    /// Events decoded.
    pub events: u64,
    /// Records rejected as malformed.
    pub malformed: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Late events.
    pub late: u64,
}

/// Something that shows [`Progress`] (e.g. a terminal progress bar).
pub trait ProgressView: Send + Sync {
    /// The latest counters.
    fn update(&self, progress: &Progress);
}

/// A shared [`ProgressView`] in the pipeline's configuration.
#[derive(Clone)]
pub struct ProgressHook(pub std::sync::Arc<dyn ProgressView>);

impl std::fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressHook")
    }
}

impl Default for PipelineConfig {
    /// Files at full speed: every core decoding and running rules, the default username field,
    /// Kafka input keyed by client address (as `--input-key`), no dead-letter file, no progress lines, no idle timeout.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PipelineConfig {
            decode: DecodeConfig {
                input_key: Some(gatewatch_ingest::Column::ClientIp),
                ..DecodeConfig::default().with_username_field("username")
            },
            chunk: ChunkOptions::default(),
            engine: EngineConfig::default(),
            threads: cores,
            workers: cores,
            dead_letter: None,
            progress_every: Duration::ZERO,
            idle_timeout: None,
            sink_drain: Duration::from_secs(30),
            commit_every: Duration::from_secs(1),
            observe: None,
            progress: None,
        }
    }
}

/// For callers with a file or stdin: [`run`] on [`InputSource::Lines`].
pub fn run_lines(
    input: Input,
    rules: Vec<CompiledRule>,
    sinks: &mut [Box<dyn Sink>],
    cfg: &PipelineConfig,
    reloader: Option<RuleReloader>,
) -> anyhow::Result<RunSummary> {
    run(InputSource::Lines(input), rules, sinks, cfg, reloader)
}
