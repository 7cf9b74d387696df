//! The main loop: collect decoded chunks in input order, clock and route them (the
//! sequencer), hand them to the tasks on the worker threads, deliver what the tasks emit to
//! the sinks, dead-letter what was rejected, and for Kafka checkpoint and commit.

use std::collections::HashMap;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use gatewatch_engine::operator::Emitted;
use gatewatch_engine::sequencer::{Placement, Sequenced, Sequencer};
use gatewatch_engine::{EngineStats, RuleSet, TaskId};
use gatewatch_ingest::kafka::{KafkaSource, KafkaUrl};
use gatewatch_ingest::{ChunkDecoder, ChunkReader, Input, Source, TopicPartition};
use gatewatch_model::Record;
use gatewatch_rules::CompiledRule;
use gatewatch_sinks::Sink;

mod hop;
mod main_loop;
mod partitions;
mod report;

use crate::dead_letter::{DeadLetter, Letter};
use crate::kafka::KafkaCommits;
use crate::observe;
use crate::reload::RuleReloader;
use crate::summary::RunSummary;
use crate::threads::{current, spawn_decoder, spawn_reader, FromDecoder, SharedRules, ToDecoder};
use crate::worker::{spawn_worker, worker_of, FromWorker, ToWorker};
use crate::PipelineConfig;
use report::{batch_source, row_json};

/// Where the pipeline reads from.
pub enum InputSource {
    /// A file or stdin, cut into lines.
    Lines(Input),
    /// A Kafka consumer group.
    Kafka(KafkaUrl),
}

impl InputSource {
    fn interactive(&self) -> bool {
        match self {
            InputSource::Lines(i) => i.interactive,
            InputSource::Kafka(_) => true,
        }
    }
}

/// Malformed lines are logged one by one up to this many, then only counted (and dead-lettered).
const MALFORMED_LOG_LIMIT: u64 = 10;

/// Barrier ids from here on only ask for counters (progress lines); below are commit rounds.
const PROGRESS_BARRIERS: u64 = 1 << 63;

/// How often the main loop wakes without input, to check for rule changes and idleness.
const TICK: Duration = Duration::from_millis(200);

/// How often metrics are refreshed from the task workers' counters (with `--metrics-addr`).
const METRICS_EVERY: Duration = Duration::from_secs(1);

/// Everything the main loop works with.
struct Main<'a> {
    cfg: &'a PipelineConfig,
    rules: SharedRules,
    sequencer: Sequencer,
    workers: Vec<Sender<ToWorker>>,
    sinks: &'a mut [Box<dyn Sink>],
    dead_letter: Option<DeadLetter>,
    kafka: Option<KafkaCommits>,
    hop: Option<hop::Hop>,
    /// A commit round answered by every worker, waiting for the repartition records sent
    /// before it to be acknowledged (records sent, as [`crate::repartition::Shipper::sent`]).
    pending_commit: Option<(crate::kafka::ClockHeld, Vec<crate::worker::TaskReport>, u64)>,
    summary: RunSummary,
    stats: Vec<EngineStats>,
    tasks_seen: std::collections::HashSet<TaskId>,
    last_data: HashMap<TopicPartition, Instant>,
    last_progress: Instant,
    last_progress_line: Instant,
    progress_id: u64,
}

impl Main<'_> {
    fn deliver(&mut self, e: Emitted) -> Result<()> {
        if self.cfg.observe.is_some() {
            observe::alerts(&e.alerts);
        }
        self.summary.traffic_rows.0 += e.traffic.entities.len() as u64;
        self.summary.traffic_rows.1 += e.traffic.endpoints.len() as u64;
        if e.is_empty() {
            return Ok(());
        }
        let records = Record::batch(e.alerts, e.traffic);
        for sink in self.sinks.iter_mut() {
            sink.deliver(&records)
                .with_context(|| format!("delivering alerts and statistics to {}", sink.name()))?;
        }
        Ok(())
    }

    fn send(&mut self, task: &TaskId, msg: ToWorker) -> Result<()> {
        self.tasks_seen.insert(task.clone());
        let w = worker_of(task, self.workers.len());
        self.workers[w]
            .send(msg)
            .map_err(|_| anyhow::anyhow!("task worker {w} stopped"))
    }

    fn dead_letter(&mut self, l: &Letter<'_>) -> Result<()> {
        if let Some(k) = &self.kafka {
            if k.replayed(&TopicPartition::new(l.source, l.partition), l.offset) {
                return Ok(());
            }
        }
        if let Some(dl) = self.dead_letter.as_mut() {
            dl.write(l)?;
        }
        Ok(())
    }

    fn dispatch(&mut self, seq: Sequenced) -> Result<()> {
        self.summary.engine.events += seq.events;
        for (k, v) in &seq.late {
            *self
                .summary
                .engine
                .late_by_source
                .entry(k.clone())
                .or_default() += v;
        }
        if !seq.rejected.is_empty() && self.cfg.observe.is_some() {
            observe::time_jumps_rejected(seq.rejected.len());
        }
        for r in seq.rejected {
            let raw = r
                .row
                .as_ref()
                .and_then(|row| row_json(row).ok())
                .unwrap_or_default();
            let error = format!(
                "time_jump: event time {} was never confirmed by later records",
                gatewatch_engine::alert::format_rfc3339(r.time)
            );
            self.dead_letter(&Letter {
                source: &r.upstream.topic,
                partition: r.upstream.partition,
                offset: r.offset,
                error: &error,
                raw: raw.as_bytes(),
                truncated: false,
            })?;
        }
        for (task, input) in seq.inputs {
            let input = self.outbound(&task, input)?;
            self.send(&task, ToWorker::Input(task.clone(), Box::new(input)))?;
        }
        Ok(())
    }

    fn on_decoded(
        &mut self,
        decoded: gatewatch_ingest::DecodedChunk,
        masks: Option<Arc<gatewatch_engine::operator::FilterMasks>>,
    ) -> Result<()> {
        self.summary.lines += decoded.lines;
        self.summary.bytes += decoded.bytes;
        if self.cfg.observe.is_some() {
            let source = decoded
                .last_offset
                .as_ref()
                .map(|(topic, _, _)| topic.clone())
                .unwrap_or_else(|| batch_source(&decoded.batch));
            let by_format: Vec<(&'static str, u64)> = gatewatch_ingest::SourceFormat::ALL
                .iter()
                .zip(decoded.events_by_format)
                .map(|(f, n)| (f.as_str(), n))
                .collect();
            observe::chunk(
                &source,
                decoded.lines,
                decoded.bytes,
                &by_format,
                decoded.malformed.len() as u64,
            );
        }
        self.summary.time_rescaled += decoded.time_rescaled;
        if decoded.key_mismatches > 0 {
            if self.summary.key_mismatches == 0 {
                tracing::warn!(
                    "Kafka records whose key is not their {} value: producers must key by it (see the README's Kafka section), or run with --input-key none",
                    self.cfg
                        .decode
                        .input_key
                        .map_or("input key", |c| c.name())
                );
            }
            self.summary.key_mismatches += decoded.key_mismatches;
        }
        for m in &decoded.malformed {
            self.summary.malformed += 1;
            if self.summary.malformed <= MALFORMED_LOG_LIMIT {
                tracing::warn!(source = %m.source, partition = m.partition, offset = m.offset, "malformed line: {}", m.error);
                if self.summary.malformed == MALFORMED_LOG_LIMIT {
                    tracing::warn!(
                        "further malformed lines are counted{} but not logged",
                        if self.dead_letter.is_some() {
                            " and dead-lettered"
                        } else {
                            ""
                        }
                    );
                }
            }
            let error = m.error.to_string();
            self.dead_letter(&Letter {
                source: &m.source,
                partition: m.partition,
                offset: m.offset,
                error: &error,
                raw: &m.raw,
                truncated: matches!(m.error, gatewatch_ingest::DecodeError::TooLong { .. }),
            })?;
        }
        let mut seq = Sequenced::default();
        if decoded.batch.num_rows() > 0 {
            let tp = gatewatch_engine::sequencer::batch_partition(&decoded.batch)?;
            self.last_data.insert(tp.clone(), Instant::now());
            self.sequencer.sequence(&decoded.batch, masks, &mut seq)?;
            // A restored partition that replayed past what its previous owner processed
            // continues from the watermark that owner had reached.
            let done = self.kafka.as_ref().and_then(|k| k.replay.get(&tp).copied());
            if let (Some(r), Some((_, _, last))) = (done, decoded.last_offset.as_ref()) {
                if *last >= r.processed_through {
                    self.sequencer.raise_watermark(&tp, r.watermark);
                    if let Some(k) = self.kafka.as_mut() {
                        k.replay.remove(&tp);
                    }
                }
            }
        } else if let Some((topic, partition, _)) = &decoded.last_offset {
            self.last_data.insert(
                TopicPartition::new(topic.as_str(), *partition),
                Instant::now(),
            );
        }
        self.dispatch(seq)
    }

    fn on_idle(&mut self, idle: Duration) -> Result<()> {
        let quiet: HashMap<TopicPartition, i64> = self
            .last_data
            .iter()
            .filter(|(_, t)| t.elapsed() >= idle)
            .map(|(tp, t)| (tp.clone(), t.elapsed().as_millis() as i64))
            .collect();
        if quiet.is_empty() {
            return Ok(());
        }
        for tp in quiet.keys() {
            if self.sequencer.never_observed(tp) {
                self.ship_idle(tp, idle)?;
            }
        }
        for (tp, wm) in self.sequencer.advance_idle(&quiet) {
            self.ship_watermark(&tp, wm, idle)?;
            for task in self.sequencer.tasks_of(&tp) {
                self.send(&task, ToWorker::Advance(task.clone(), tp.clone(), wm))?;
            }
        }
        Ok(())
    }
}

/// End of input: rows still held by the clocks are rejected, every window closes and its
/// alerts are delivered; Kafka partitions are checkpointed as fully processed.
fn finish_windows(m: &mut Main<'_>, out_rx: &Receiver<FromWorker>) -> Result<()> {
    let mut seq = Sequenced::default();
    m.sequencer.finish(&mut seq)?;
    m.dispatch(seq)?;
    for w in &m.workers {
        w.send(ToWorker::Finish)
            .map_err(|_| anyhow::anyhow!("a task worker stopped"))?;
    }
    let mut finished = 0;
    let mut reports = Vec::new();
    while finished < m.workers.len() {
        match out_rx.recv() {
            Ok(FromWorker::Emitted(e)) => m.deliver(e)?,
            Ok(FromWorker::Error(e)) => bail!(e),
            Ok(FromWorker::Report { .. }) => {}
            Ok(FromWorker::Finished {
                worker,
                tasks,
                stats,
            }) => {
                m.stats[worker] = stats;
                reports.extend(tasks);
                finished += 1;
            }
            Err(_) => bail!("a task worker stopped before finishing"),
        }
    }
    if let Some(h) = m.hop.as_mut() {
        h.shipper.flush()?;
    }
    m.make_durable()?;
    if let Some(k) = m.kafka.as_mut() {
        // Final checkpoints: every window closed, nothing held.
        let parts = m.sequencer.partitions();
        let clock_held = parts.into_iter().map(|tp| (tp, None)).collect();
        let down = m.hop.as_mut().map(|h| &mut h.downstream);
        if let Err(e) = k.commit(&mut m.sequencer, &clock_held, &reports, true, down) {
            tracing::warn!("final commit failed ({e}); the next start replays from the last one");
        }
        m.summary.commits = k.commits;
    }
    Ok(())
}

/// A stop requested (SIGTERM, SIGINT) on Kafka: open windows stay open for the partitions'
/// next owners. Every worker reports through one last barrier (after the alerts of windows
/// already closed), those alerts and the repartition records become durable, and each
/// partition is committed at its ordinary commit point, so the next owner replays the rows its
/// open windows need and closes them with every row.
fn stop_keeping_windows(m: &mut Main<'_>, out_rx: &Receiver<FromWorker>) -> Result<()> {
    let id = PROGRESS_BARRIERS - 1;
    let clock_held = m
        .sequencer
        .partitions()
        .into_iter()
        .map(|tp| {
            let held = m.sequencer.held_offset(&tp);
            (tp, held)
        })
        .collect();
    for w in &m.workers {
        w.send(ToWorker::Barrier {
            id,
            checkpoint: true,
        })
        .map_err(|_| anyhow::anyhow!("a task worker stopped"))?;
    }
    let mut reports = Vec::new();
    let mut answered = 0;
    while answered < m.workers.len() {
        match out_rx.recv() {
            Ok(FromWorker::Emitted(e)) => m.deliver(e)?,
            Ok(FromWorker::Error(e)) => bail!(e),
            Ok(FromWorker::Report {
                id: got,
                worker,
                tasks,
                stats,
            }) => {
                m.stats[worker] = stats;
                if got == id {
                    reports.extend(tasks);
                    answered += 1;
                }
            }
            Ok(FromWorker::Finished { .. }) => bail!("a task worker finished early"),
            Err(_) => bail!("a task worker stopped before its last report"),
        }
    }
    if let Some(h) = m.hop.as_mut() {
        h.shipper.flush()?;
    }
    m.make_durable()?;
    if let Some(k) = m.kafka.as_mut() {
        let down = m.hop.as_mut().map(|h| &mut h.downstream);
        if let Err(e) = k.commit(&mut m.sequencer, &clock_held, &reports, false, down) {
            tracing::warn!("last commit failed ({e}); the next owner replays from the one before");
        }
        m.summary.commits = k.commits;
    }
    Ok(())
}

/// Runs `rules` over `input`, delivering alerts to `sinks` as windows close. With a
/// `reloader`, rule changes are applied while running.
pub fn run(
    input: InputSource,
    rules: Vec<CompiledRule>,
    sinks: &mut [Box<dyn Sink>],
    cfg: &PipelineConfig,
    mut reloader: Option<RuleReloader>,
) -> Result<RunSummary> {
    let started = Instant::now();
    let interactive = input.interactive();
    let traffic = sinks.iter().any(|s| s.wants_traffic());
    let rule_set = Arc::new(RuleSet::new(rules, 1, traffic));
    let shared: SharedRules = Arc::new(RwLock::new(rule_set.clone()));
    let threads = cfg.threads.max(1);
    let workers_n = cfg.workers.max(1);
    let engine_cfg = Arc::new(cfg.engine.clone());

    let (recycle_tx, recycle_rx) = sync_channel(threads * 4);
    let mut hop = None;
    let (source, placement, kafka): (Box<dyn Source>, Placement, Option<KafkaCommits>) = match input
    {
        InputSource::Lines(input) => (
            Box::new(
                ChunkReader::new(
                    input.reader,
                    input.name.as_str(),
                    cfg.chunk.clone(),
                    input.interactive,
                )
                .recycle_from(recycle_rx),
            ),
            Placement::Sharded(workers_n as u32),
            None,
        ),
        InputSource::Kafka(url) => {
            hop = hop::Hop::connect(&url, &rule_set, cfg.decode.input_key)?;
            let topics = hop.as_ref().map(|h| h.plan.topics()).unwrap_or_default();
            let (src, committer) = KafkaSource::connect(
                &url,
                cfg.chunk.chunk_bytes,
                cfg.chunk.max_line_bytes,
                cfg.chunk.oversized_head_bytes,
                Duration::from_millis(100),
                &topics,
            )
            .map_err(anyhow::Error::msg)?;
            (
                Box::new(src),
                Placement::PerPartition,
                Some(KafkaCommits::new(committer, cfg.commit_every)),
            )
        }
    };
    let mut sequencer =
        Sequencer::new(cfg.engine.clock.clone(), placement, rule_set.route_groups());
    if kafka.is_some() {
        sequencer = sequencer.with_snapshots();
    }

    let mut handles = Vec::new();
    let mut to_decoders = Vec::new();
    let mut from_decoders: Vec<Receiver<FromDecoder>> = Vec::new();
    for _ in 0..threads {
        let (tx_in, rx_in) = bounded::<ToDecoder>(4);
        let (tx_out, rx_out) = bounded::<FromDecoder>(4);
        let decoder = ChunkDecoder::new(
            cfg.decode.clone(),
            rule_set.projection(),
            cfg.chunk.max_line_bytes,
        );
        handles.push(spawn_decoder(
            decoder,
            shared.clone(),
            rx_in,
            tx_out,
            recycle_tx.clone(),
        )?);
        to_decoders.push(tx_in);
        from_decoders.push(rx_out);
    }
    drop(recycle_tx);
    handles.push(spawn_reader(source, to_decoders)?);

    let (out_tx, out_rx) = unbounded::<FromWorker>();
    let mut workers = Vec::new();
    for i in 0..workers_n {
        let (tx, rx) = bounded::<ToWorker>(8);
        handles.push(spawn_worker(
            i,
            engine_cfg.clone(),
            rule_set.clone(),
            rx,
            out_tx.clone(),
        )?);
        workers.push(tx);
    }
    drop(out_tx);

    let dead_letter = cfg
        .dead_letter
        .as_deref()
        .map(DeadLetter::open)
        .transpose()?;
    let mut m = Main {
        cfg,
        rules: shared,
        sequencer,
        workers,
        sinks,
        dead_letter,
        kafka,
        hop,
        pending_commit: None,
        summary: RunSummary::default(),
        stats: vec![EngineStats::default(); workers_n],
        tasks_seen: Default::default(),
        last_data: HashMap::new(),
        last_progress: Instant::now(),
        last_progress_line: Instant::now(),
        progress_id: PROGRESS_BARRIERS,
    };

    if let Some(h) = &cfg.observe {
        if m.kafka.is_some() {
            h.expect_group();
        }
        h.rules_loaded();
        h.beat();
    }
    let result = main_loop::main_loop(&mut m, &from_decoders, &out_rx, &mut reloader, interactive);
    if let Err(e) = result {
        drop(m.workers);
        drop(from_decoders);
        return Err(e);
    }

    if m.kafka.is_some() && gatewatch_ingest::source::stop_requested() {
        stop_keeping_windows(&mut m, &out_rx)?;
    } else {
        finish_windows(&mut m, &out_rx)?;
    }
    drop(m.workers);
    drop(from_decoders);
    for h in handles {
        let _ = h.join();
    }

    let mut summary = m.summary;
    summary.repartition = m.hop.as_ref().map(hop::Hop::summary);
    let (events, late) = (summary.engine.events, summary.engine.late_by_source.clone());
    for s in &m.stats {
        summary.engine.merge(s);
    }
    summary.engine.events = events;
    summary.engine.late_by_source = late;
    let (held, released, rejected) = m.sequencer.clock_stats();
    (
        summary.engine.time_held,
        summary.engine.time_released,
        summary.engine.time_rejected,
    ) = (held, released, rejected);
    summary.traffic_late = summary.engine.traffic_late;
    for sink in m.sinks.iter_mut() {
        if let Some(report) = sink.finish(cfg.sink_drain) {
            summary.sinks.push((sink.name().to_owned(), report));
        }
    }
    let set = current(&m.rules);
    summary.rules = set.ids();
    summary.eval_errors = (set.rules.iter())
        .map(|r| (r.id().to_owned(), (r.errors.rows(), r.errors.windows())))
        .collect();
    summary.decoded_columns = set.projection().iter().map(|c| c.name()).collect();
    summary.tasks = m.tasks_seen.len();
    summary.elapsed = started.elapsed();
    Ok(summary)
}
