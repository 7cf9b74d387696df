//! The file/stdin pipeline: one reader thread cuts the input into chunks, N decoder threads
//! turn chunks into Arrow batches (only the columns the rules read), and the calling thread
//! runs the engine and delivers alerts. Chunks are dealt to decoders round-robin and collected
//! in the same order, so the engine sees input order whatever the thread count.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use gatewatch_engine::{Engine, EngineConfig, EngineStats};
use gatewatch_ingest::{
    ChunkDecoder, ChunkOptions, ChunkReader, ColumnSet, DecodeConfig, DecodedChunk, Input,
    Malformed,
};
use gatewatch_rules::CompiledRule;
use gatewatch_sinks::Sink;

use crate::reload::RuleReloader;

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
    pub idle_timeout: Option<Duration>,
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
        s += &format!("  decoded columns: {}\n", self.decoded_columns.join(", "));
        s
    }
}

/// The columns to decode: everything the rules read.
pub fn projection_for(rules: &[CompiledRule]) -> ColumnSet {
    rules
        .iter()
        .fold(ColumnSet::required(), |acc, r| acc.union(r.columns))
}

type Decoded = Result<DecodedChunk, String>;

fn spawn_reader<R: std::io::Read + Send + 'static>(
    mut reader: ChunkReader<R>,
    workers: Vec<SyncSender<Result<gatewatch_ingest::Chunk, String>>>,
) -> thread::JoinHandle<()> {
    thread::Builder::new()
        .name("gw-read".into())
        .spawn(move || {
            let mut i = 0;
            loop {
                let next = reader.next_chunk();
                let done = !matches!(next, Ok(Some(_)));
                let msg = match next {
                    Ok(Some(c)) => Ok(c),
                    Ok(None) => break,
                    Err(e) => Err(format!("reading input: {e}")),
                };
                if workers[i % workers.len()].send(msg).is_err() || done {
                    break;
                }
                i += 1;
            }
        })
        .expect("spawning the reader thread")
}

fn spawn_decoder(
    mut decoder: ChunkDecoder,
    projection: Arc<AtomicU64>,
    input: Receiver<Result<gatewatch_ingest::Chunk, String>>,
    output: SyncSender<Decoded>,
) -> thread::JoinHandle<()> {
    thread::Builder::new()
        .name("gw-decode".into())
        .spawn(move || {
            for msg in input {
                decoder.set_projection(ColumnSet::from_bits(projection.load(Ordering::Relaxed)));
                let now_ms = chrono_now_ms();
                let out = msg.and_then(|chunk| {
                    decoder
                        .decode(&chunk, now_ms)
                        .map_err(|e| format!("decoding: {e}"))
                });
                if output.send(out).is_err() {
                    break;
                }
            }
        })
        .expect("spawning a decoder thread")
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Writes malformed lines as JSON objects; raw bytes that are not UTF-8 are written as hex.
struct DeadLetter {
    out: BufWriter<File>,
}

impl DeadLetter {
    fn write(&mut self, m: &Malformed) -> Result<()> {
        let mut rec = serde_json::Map::new();
        rec.insert("source".into(), m.source.to_string().into());
        rec.insert("partition".into(), m.partition.into());
        rec.insert("offset".into(), m.offset.into());
        rec.insert("error".into(), m.error.to_string().into());
        match std::str::from_utf8(&m.raw) {
            Ok(s) => rec.insert("raw".into(), s.into()),
            Err(_) => rec.insert(
                "raw_hex".into(),
                m.raw
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
                    .into(),
            ),
        };
        if matches!(m.error, gatewatch_ingest::DecodeError::TooLong { .. }) {
            rec.insert("raw_truncated".into(), true.into());
        }
        serde_json::to_writer(&mut self.out, &rec)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }
}

/// Malformed lines are logged one by one up to this many, then only counted (and dead-lettered).
const MALFORMED_LOG_LIMIT: u64 = 10;

/// Runs `rules` over `input`, delivering alerts to `sinks` as windows close. With a `reloader`,
/// rule changes are applied while running.
pub fn run(
    input: Input,
    rules: Vec<CompiledRule>,
    sinks: &mut [Box<dyn Sink>],
    cfg: &PipelineConfig,
    mut reloader: Option<RuleReloader>,
) -> Result<RunSummary> {
    let started = Instant::now();
    let mut engine = Engine::new(rules, cfg.engine.clone());
    // Decoders read the projection per chunk, so a reload that needs new columns gets them.
    let projection = Arc::new(AtomicU64::new(engine.projection().bits()));
    let threads = cfg.threads.max(1);
    let reader = ChunkReader::new(
        input.reader,
        input.name.as_str(),
        cfg.chunk.clone(),
        input.interactive,
    );

    let mut to_workers = Vec::new();
    let mut from_workers = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..threads {
        let (tx_in, rx_in) = sync_channel(2);
        let (tx_out, rx_out) = sync_channel::<Decoded>(2);
        let decoder = ChunkDecoder::new(
            cfg.decode.clone(),
            engine.projection(),
            cfg.chunk.max_line_bytes,
        );
        handles.push(spawn_decoder(decoder, projection.clone(), rx_in, tx_out));
        to_workers.push(tx_in);
        from_workers.push(rx_out);
    }
    handles.push(spawn_reader(reader, to_workers));

    let mut dead_letter = match &cfg.dead_letter {
        Some(p) => Some(DeadLetter {
            out: BufWriter::new(
                File::create(p)
                    .with_context(|| format!("cannot create dead-letter file {}", p.display()))?,
            ),
        }),
        None => None,
    };
    let mut summary = RunSummary::default();
    let mut last_progress = Instant::now();
    let mut last_input = Instant::now();
    let mut deliver = |alerts: Vec<gatewatch_engine::Alert>| -> Result<()> {
        if alerts.is_empty() {
            return Ok(());
        }
        for sink in sinks.iter_mut() {
            sink.deliver(&alerts)
                .with_context(|| format!("delivering alerts to {}", sink.name()))?;
        }
        Ok(())
    };

    let mut next = 0;
    loop {
        match from_workers[next].recv_timeout(TICK) {
            Ok(decoded) => {
                next = (next + 1) % from_workers.len();
                last_input = Instant::now();
                let decoded = decoded.map_err(anyhow::Error::msg)?;
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
                        dl.write(m).context("writing the dead-letter file")?;
                    }
                }
                deliver(engine.process(&decoded.batch)?)?;
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
                deliver(engine.advance_idle(quiet.as_millis() as i64)?)?;
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
    deliver(engine.finish()?)?;
    if let Some(mut dl) = dead_letter {
        dl.out.flush().context("writing the dead-letter file")?;
    }
    summary.engine = engine.stats().clone();
    summary.rules = engine.rule_ids();
    summary.decoded_columns = engine.projection().iter().map(|c| c.name()).collect();
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// How often the main loop wakes without input, to check for rule changes and idleness.
const TICK: Duration = Duration::from_millis(200);
