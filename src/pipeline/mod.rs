//! The pipeline: one reader thread cuts the input (file, stdin or Kafka) into chunks, N decoder
//! threads turn chunks into Arrow batches (only the columns the rules read), and the calling
//! thread runs the engine, delivers alerts and commits Kafka offsets. Chunks are dealt to
//! decoders round-robin and collected in the same order, so the engine sees input order
//! whatever the thread count, and source events (partition revocations) arrive in order too.

mod dead_letter;
mod threads;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use gatewatch_engine::{Engine, EngineConfig, EngineStats};
use gatewatch_ingest::kafka::{KafkaCommitter, KafkaSource, KafkaUrl, SourceEvent};
use gatewatch_ingest::{ChunkDecoder, ChunkOptions, ChunkReader, DecodeConfig, Input};
use gatewatch_rules::CompiledRule;
use gatewatch_sinks::Sink;

use crate::reload::RuleReloader;
use dead_letter::DeadLetter;
use threads::{spawn_decoder, spawn_reader, FromWorker, Reader};

/// Where the pipeline reads from.
pub enum Source {
    /// A file or stdin, cut into lines.
    Lines(Input),
    /// A Kafka consumer group.
    Kafka(KafkaUrl),
}

impl Source {
    fn interactive(&self) -> bool {
        match self {
            Source::Lines(i) => i.interactive,
            Source::Kafka(_) => true,
        }
    }
}

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
    /// Where malformed lines are written, one JSON object each.
    pub dead_letter: Option<PathBuf>,
    /// Seconds between progress lines on stderr (0: none).
    pub progress_every: Duration,
    /// With no input for this long, event time advances with the wall clock so open windows
    /// still close (`None`: never; right for files, which are replayed faster than real time).
    /// For Kafka, a partition without records for this long also stops holding the watermark.
    pub idle_timeout: Option<Duration>,
    /// At the end, how long spooled sinks may take to deliver what they hold.
    pub sink_drain: Duration,
}

impl Default for PipelineConfig {
    /// Files at full speed: every core decoding, the default username field, no dead-letter
    /// file, no progress lines, no idle timeout.
    fn default() -> Self {
        PipelineConfig {
            decode: DecodeConfig::default().with_username_field("username"),
            chunk: ChunkOptions::default(),
            engine: EngineConfig::default(),
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            dead_letter: None,
            progress_every: Duration::ZERO,
            idle_timeout: None,
            sink_drain: Duration::from_secs(30),
        }
    }
}

/// What a run did: the figures of the summary.
#[derive(Debug, Default, Clone)]
pub struct RunSummary {
    /// Input lines read (blank lines included).
    pub lines: u64,
    /// Input bytes (decompressed).
    pub bytes: u64,
    /// Malformed lines.
    pub malformed: u64,
    /// Engine counters: events, late, windows, alerts per rule.
    pub engine: EngineStats,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Columns decoded (at the end of the run).
    pub decoded_columns: Vec<&'static str>,
    /// Rules loaded (at the end of the run).
    pub rules: Vec<String>,
    /// Offset commits made (Kafka).
    pub commits: u64,
    /// From the first decoded chunk to the last: the time spent on data, without waiting to
    /// join a Kafka group or for the input to go idle.
    pub active: Duration,
    /// Traffic statistics rows handed to sinks (entity rows, endpoint rows).
    pub traffic_rows: (u64, u64),
    /// Events the traffic statistics dropped because their minute had already closed.
    pub traffic_late: u64,
    /// Per sink with a spool: what it delivered, left pending or gave up on.
    pub sinks: Vec<(String, gatewatch_sinks::SinkReport)>,
}

impl RunSummary {
    /// Alerts over all rules.
    pub fn alerts(&self) -> u64 {
        self.engine.alerts_by_rule.values().sum()
    }

    /// The human-readable summary printed at the end of `gatewatch run`.
    pub fn render(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let late: u64 = self.engine.late_by_source.values().sum();
        let mut s = format!(
            "gatewatch: {} events from {} lines ({:.1} MB) in {:.2}s: {:.0} events/s, {:.1} MB/s\n",
            self.engine.events,
            self.lines,
            self.bytes as f64 / 1e6,
            secs,
            self.engine.events as f64 / secs,
            self.bytes as f64 / 1e6 / secs
        );
        s += &format!(
            "  malformed: {}   late (behind watermark): {}   windows closed: {}   alerts: {}\n",
            self.malformed,
            late,
            self.engine.windows_closed,
            self.alerts()
        );
        for (source, n) in &self.engine.late_by_source {
            s += &format!("  late from {source}: {n}\n");
        }
        for id in &self.rules {
            let get = |m: &std::collections::BTreeMap<String, u64>| m.get(id).copied().unwrap_or(0);
            s += &format!(
                "  rule {id}: {} alerts, {} suppressed, {} late rows dropped, {} script errors\n",
                get(&self.engine.alerts_by_rule),
                get(&self.engine.suppressed_by_rule),
                get(&self.engine.late_by_rule),
                get(&self.engine.script_errors_by_rule)
            );
        }
        if self.commits > 0 {
            s += &format!("  kafka offset commits: {}\n", self.commits);
        }
        if self.traffic_rows != (0, 0) {
            s += &format!(
                "  traffic statistics: {} entity-minute rows, {} endpoint-minute rows, {} late events dropped\n",
                self.traffic_rows.0, self.traffic_rows.1, self.traffic_late
            );
        }
        for (name, r) in &self.sinks {
            s += &format!(
                "  sink {name}: {} delivered, {} pending in spool, {} dead-lettered, {} failed attempts\n",
                r.delivered, r.pending, r.dead_lettered, r.failed_attempts
            );
        }
        s += &format!("  decoded columns: {}\n", self.decoded_columns.join(", "));
        s
    }
}

/// Malformed lines are logged one by one up to this many, then only counted (and dead-lettered).
const MALFORMED_LOG_LIMIT: u64 = 10;

/// How often the main loop wakes without input, to check for rule changes and idleness.
const TICK: Duration = Duration::from_millis(200);

/// How often Kafka offsets are committed while running (and once more at the end).
const COMMIT_EVERY: Duration = Duration::from_millis(500);

/// Kafka progress: what has been processed per partition, and the committer.
struct Offsets {
    committer: KafkaCommitter,
    /// Highest offset processed (rows windowed or dead-lettered), per (topic, partition).
    processed: HashMap<(String, i32), i64>,
    last_commit: Instant,
    committed: HashMap<(String, i32), i64>,
}

impl Offsets {
    /// Per partition: the lowest offset an open window holds, else the next unread offset.
    fn committable(&self, engine: &Engine) -> HashMap<(String, i32), i64> {
        let held = engine.held_offsets();
        self.processed
            .iter()
            .map(|((t, p), last)| {
                let next = last + 1;
                let key = (Arc::<str>::from(t.as_str()), *p);
                (
                    (t.clone(), *p),
                    held.get(&key).map_or(next, |h| (*h).min(next)),
                )
            })
            .collect()
    }

    fn commit(&mut self, engine: &Engine, summary: &mut RunSummary, sync: bool) {
        let offsets = self.committable(engine);
        if offsets == self.committed {
            return;
        }
        let result = self.committer.commit(&offsets, sync);
        match result {
            Ok(()) => {
                summary.commits += 1;
                self.committed = offsets;
            }
            Err(e) => tracing::warn!("offset commit failed ({e}); retrying with the next commit"),
        }
        self.last_commit = Instant::now();
    }
}

/// Runs `rules` over `source`, delivering alerts to `sinks` as windows close. With a `reloader`,
/// rule changes are applied while running.
pub fn run(
    source: Source,
    rules: Vec<CompiledRule>,
    sinks: &mut [Box<dyn Sink>],
    cfg: &PipelineConfig,
    mut reloader: Option<RuleReloader>,
) -> Result<RunSummary> {
    let started = Instant::now();
    let mut engine_cfg = cfg.engine.clone();
    if source.interactive() {
        engine_cfg.partition_idle_ms = cfg.idle_timeout.map(|d| d.as_millis() as i64);
    }
    let mut engine = Engine::new(rules, engine_cfg);
    if sinks.iter().any(|s| s.wants_traffic()) {
        engine = engine.with_traffic_stats();
    }
    // Decoders read the projection per chunk, so a reload that needs new columns gets them.
    let projection = Arc::new(AtomicU64::new(engine.projection().bits()));
    let threads = cfg.threads.max(1);
    let mut offsets = None;
    let (recycle_tx, recycle_rx) = sync_channel(threads * 4);
    let reader = match source {
        Source::Lines(input) => Reader::Lines(
            ChunkReader::new(
                input.reader,
                input.name.as_str(),
                cfg.chunk.clone(),
                input.interactive,
            )
            .recycle_from(recycle_rx),
        ),
        Source::Kafka(url) => {
            let (src, committer) =
                KafkaSource::connect(&url, cfg.chunk.chunk_bytes, Duration::from_millis(100))
                    .map_err(anyhow::Error::msg)?;
            offsets = Some(Offsets {
                committer,
                processed: HashMap::new(),
                last_commit: Instant::now(),
                committed: HashMap::new(),
            });
            Reader::Kafka(Box::new(src))
        }
    };

    let mut to_workers = Vec::new();
    let mut from_workers = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..threads {
        let (tx_in, rx_in) = sync_channel(4);
        let (tx_out, rx_out) = sync_channel(4);
        let decoder = ChunkDecoder::new(
            cfg.decode.clone(),
            engine.projection(),
            cfg.chunk.max_line_bytes,
        );
        handles.push(spawn_decoder(
            decoder,
            projection.clone(),
            rx_in,
            tx_out,
            recycle_tx.clone(),
        ));
        to_workers.push(tx_in);
        from_workers.push(rx_out);
    }
    handles.push(spawn_reader(reader, to_workers));

    let mut dead_letter = cfg
        .dead_letter
        .as_deref()
        .map(DeadLetter::create)
        .transpose()?;
    let mut summary = RunSummary::default();
    let mut last_progress = Instant::now();
    let mut last_input = Instant::now();
    let mut traffic_rows = (0u64, 0u64);
    // Alerts and traffic rows of the windows and minutes just closed, to every sink.
    let mut deliver = |alerts: Vec<gatewatch_engine::Alert>, engine: &mut Engine| -> Result<()> {
        let traffic = engine.take_traffic();
        traffic_rows.0 += traffic.entities.len() as u64;
        traffic_rows.1 += traffic.endpoints.len() as u64;
        for sink in sinks.iter_mut() {
            if !alerts.is_empty() {
                sink.deliver(&alerts)
                    .with_context(|| format!("delivering alerts to {}", sink.name()))?;
            }
            if !traffic.is_empty() {
                sink.deliver_traffic(&traffic)
                    .with_context(|| format!("delivering traffic statistics to {}", sink.name()))?;
            }
        }
        Ok(())
    };

    let mut next = 0;
    let mut first_data: Option<Instant> = None;
    let mut last_data = Instant::now();
    loop {
        match from_workers[next].recv_timeout(TICK) {
            Ok(item) => {
                next = (next + 1) % from_workers.len();
                last_input = Instant::now();
                match item {
                    FromWorker::Error(e) => anyhow::bail!(e),
                    FromWorker::Event(SourceEvent::Assigned(parts)) => {
                        let keys: Vec<_> = parts
                            .iter()
                            .map(|(t, p)| (Arc::<str>::from(t.as_str()), *p))
                            .collect();
                        engine.assign_partitions(&keys);
                    }
                    FromWorker::Event(SourceEvent::Revoked(parts)) => {
                        let keys: Vec<_> = parts
                            .iter()
                            .map(|(t, p)| (Arc::<str>::from(t.as_str()), *p))
                            .collect();
                        engine.drop_partitions(&keys);
                        if let Some(o) = offsets.as_mut() {
                            o.committer.forget(&parts);
                            for p in &parts {
                                o.processed.remove(p);
                                o.committed.remove(p);
                            }
                        }
                    }
                    FromWorker::Decoded(decoded) => {
                        first_data.get_or_insert_with(Instant::now);
                        summary.lines += decoded.lines;
                        summary.bytes += decoded.bytes;
                        for m in &decoded.malformed {
                            summary.malformed += 1;
                            if summary.malformed <= MALFORMED_LOG_LIMIT {
                                tracing::warn!(source = %m.source, partition = m.partition, offset = m.offset, "malformed line: {}", m.error);
                                if summary.malformed == MALFORMED_LOG_LIMIT {
                                    tracing::warn!(
                                        "further malformed lines are counted{} but not logged",
                                        if dead_letter.is_some() {
                                            " and dead-lettered"
                                        } else {
                                            ""
                                        }
                                    );
                                }
                            }
                            if let Some(dl) = dead_letter.as_mut() {
                                dl.write(m)?;
                            }
                        }
                        let alerts = engine.process(&decoded.batch)?;
                        deliver(alerts, &mut engine)?;
                        last_data = Instant::now();
                        if let (Some(o), Some((t, p, last))) =
                            (offsets.as_mut(), decoded.last_offset)
                        {
                            let e = o.processed.entry((t, p)).or_insert(last);
                            *e = (*e).max(last);
                        }
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if let Some(r) = reloader.as_mut() {
            match r.poll() {
                Some(Ok(rules)) => {
                    let ids: Vec<_> = rules.iter().map(|r| r.id().to_owned()).collect();
                    engine.replace_rules(rules);
                    projection.store(engine.projection().bits(), Ordering::Relaxed);
                    tracing::info!(rules = %ids.join(","), "rules reloaded");
                }
                Some(Err(e)) => {
                    tracing::error!("rule reload rejected, still running the last good rules: {e}")
                }
                None => {}
            }
        }
        if let Some(idle) = cfg.idle_timeout {
            let quiet = last_input.elapsed();
            if quiet >= idle {
                let alerts = engine.advance_idle(quiet.as_millis() as i64)?;
                deliver(alerts, &mut engine)?;
            }
        }
        if let Some(o) = offsets.as_mut() {
            if o.last_commit.elapsed() >= COMMIT_EVERY {
                // Alerts are delivered and dead letters written before offsets pass them.
                if let Some(dl) = dead_letter.as_mut() {
                    dl.flush()?;
                }
                o.commit(&engine, &mut summary, false);
            }
        }
        if !cfg.progress_every.is_zero() && last_progress.elapsed() >= cfg.progress_every {
            last_progress = Instant::now();
            let (rows, bytes) = engine.buffered();
            tracing::info!(
                events = engine.stats().events,
                malformed = summary.malformed,
                alerts = engine.stats().alerts_by_rule.values().sum::<u64>(),
                watermark = %gatewatch_engine::alert::format_rfc3339(engine.watermark()),
                buffered_rows = rows,
                buffered_bytes = bytes,
                "progress"
            );
        }
    }
    drop(from_workers);
    for h in handles {
        let _ = h.join();
    }
    let alerts = engine.finish()?;
    deliver(alerts, &mut engine)?;
    if let Some(dl) = dead_letter.as_mut() {
        dl.flush()?;
    }
    if let Some(o) = offsets.as_mut() {
        o.commit(&engine, &mut summary, true);
    }
    summary.traffic_rows = traffic_rows;
    summary.traffic_late = engine.traffic_late();
    for sink in sinks.iter_mut() {
        if let Some(report) = sink.finish(cfg.sink_drain) {
            summary.sinks.push((sink.name().to_owned(), report));
        }
    }
    summary.engine = engine.stats().clone();
    summary.rules = engine.rule_ids();
    summary.decoded_columns = engine.projection().iter().map(|c| c.name()).collect();
    summary.elapsed = started.elapsed();
    summary.active = first_data.map_or(Duration::ZERO, |f| last_data.saturating_duration_since(f));
    Ok(summary)
}

/// For callers with a file or stdin: [`run`] on [`Source::Lines`].
pub fn run_lines(
    input: Input,
    rules: Vec<CompiledRule>,
    sinks: &mut [Box<dyn Sink>],
    cfg: &PipelineConfig,
    reloader: Option<RuleReloader>,
) -> Result<RunSummary> {
    run(Source::Lines(input), rules, sinks, cfg, reloader)
}
