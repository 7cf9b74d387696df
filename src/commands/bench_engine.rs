//! `gatewatch bench`'s engine-only figures: the rules on pre-decoded batches, on one core (the
//! [`Engine`] in one thread) and on every core as `gatewatch run` places them (filters on
//! every core, rows routed by entity hash to one shard task per core).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use arrow::record_batch::RecordBatch;
use gatewatch_engine::sequencer::{Placement, Sequenced, Sequencer};
use gatewatch_engine::{Engine, EngineConfig, RuleSet};
use gatewatch_ingest::{Chunk, ChunkDecoder, ColumnSet, DecodeConfig};
use gatewatch_pipeline::worker::{spawn_worker, worker_of, FromWorker, ToWorker};
use gatewatch_rules::RuleFiles;

use super::bench::variant;

struct EngineRun {
    elapsed: Duration,
    alerts: usize,
    peak_rows: usize,
    peak_bytes: usize,
    peak_entities: usize,
}

/// Runs the engine over `batches`. With `count_entities`, also counts the entities held at the
/// state's peak (slow: a second, untimed pass does it).
fn run_engine(
    files: RuleFiles,
    batches: &[RecordBatch],
    count_entities: bool,
) -> Result<EngineRun> {
    let mut engine = Engine::new(
        gatewatch_rules::compile_all(files, &[])?,
        Default::default(),
    );
    let mut run = EngineRun {
        elapsed: Duration::ZERO,
        alerts: 0,
        peak_rows: 0,
        peak_bytes: 0,
        peak_entities: 0,
    };
    let start = Instant::now();
    for b in batches {
        run.alerts += engine.process(b)?.len();
        let (rows, bytes) = engine.buffered();
        if bytes > run.peak_bytes {
            (run.peak_rows, run.peak_bytes) = (rows, bytes);
            if count_entities {
                run.peak_entities = engine.buffered_entities();
            }
        }
    }
    run.alerts += engine.finish()?.len();
    run.elapsed = start.elapsed();
    Ok(run)
}

/// Engine-only figures on pre-decoded batches: tumbling vs sliding windows, 1/10/50 rules,
/// and the state the windows hold (rows, bytes, entities) at its peak.
pub(super) fn engine_figures(chunks: &[Chunk], projection: ColumnSet) -> Result<Vec<RecordBatch>> {
    let mut decoder = ChunkDecoder::new(
        DecodeConfig::default().with_username_field("username"),
        projection,
        1 << 20,
    );
    let batches = chunks
        .iter()
        .map(|c| Ok(decoder.decode(c, 0)?.batch))
        .collect::<Result<Vec<_>>>()?;
    let events: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    let tumbling = "size = \"1m\"";
    let sliding = "size = \"10m\"\nslide = \"1m\"";
    let cases: Vec<(&str, RuleFiles)> = vec![
        ("1 rule, tumbling 1m", vec![variant("t", tumbling)]),
        ("1 rule, sliding 10m/1m", vec![variant("s", sliding)]),
        (
            "10 rules, tumbling 1m",
            (0..10)
                .map(|i| variant(&format!("t{i}"), tumbling))
                .collect(),
        ),
        (
            "50 rules, tumbling 1m",
            (0..50)
                .map(|i| variant(&format!("t{i}"), tumbling))
                .collect(),
        ),
        ("built-in pack", gatewatch_rules::builtin_files()),
    ];
    println!("engine only, on {events} pre-decoded events (warm: a fresh engine after a first pass built the process's lazy lists and this thread's regex caches, as in a running service; cold: that first pass; state = filtered rows held by open windows, at its peak):");
    let mut one_core = Vec::with_capacity(cases.len());
    for (label, files) in &cases {
        let cold = run_engine(files.clone(), &batches, false)?;
        let counted = run_engine(files.clone(), &batches, true)?;
        let timed = run_engine(files.clone(), &batches, false)?;
        let rate = |r: &EngineRun| events as f64 / r.elapsed.as_secs_f64().max(1e-9);
        println!(
            "  {label:<24} {:>10.0} events/s warm {:>10.0} cold  {:>5} alerts  state {:>6} rows {:>9.1} KB {:>5.0} B/row {:>5} entities {:>7.0} B/entity",
            rate(&timed),
            rate(&cold),
            timed.alerts,
            counted.peak_rows,
            counted.peak_bytes as f64 / 1e3,
            counted.peak_bytes as f64 / counted.peak_rows.max(1) as f64,
            counted.peak_entities,
            counted.peak_bytes as f64 / counted.peak_entities.max(1) as f64,
        );
        one_core.push(timed);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("engine only, on {cores} cores as `gatewatch run` places it (filters on {cores} threads, rows routed by entity hash to {cores} shard tasks on {cores} worker threads; fresh threads each run, so their regex caches start cold; best of 2):");
    for ((label, files), single) in cases.into_iter().zip(one_core) {
        let (mut best, mut same) = (Duration::MAX, true);
        for _ in 0..2 {
            let (elapsed, alerts) = run_on_cores(files.clone(), &batches, cores)?;
            best = best.min(elapsed);
            same &= alerts == single.alerts;
        }
        let rate = |t: Duration| events as f64 / t.as_secs_f64().max(1e-9);
        println!(
            "  {label:<24} {:>10.0} events/s on {cores} cores ({:.2}x one core)  {}",
            rate(best),
            single.elapsed.as_secs_f64() / best.as_secs_f64().max(1e-9),
            if same {
                format!("{:>5} alerts, as on one core", single.alerts)
            } else {
                "ALERTS DIFFER FROM ONE CORE'S".to_owned()
            },
        );
    }
    Ok(batches)
}

/// Each built-in rule file alone on the engine (warm, best of two), costliest first. A rule
/// alone also pays the per-batch work the pack shares (user-agent classes, regex sets,
/// distinct values), so the files' sum exceeds the pack's time: the figures rank rules, they
/// do not add up to the pack.
pub(super) fn per_rule_figures(batches: &[RecordBatch]) -> Result<()> {
    let events: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    let mut costs = Vec::new();
    for file in gatewatch_rules::builtin_files() {
        let name = file.0.trim_start_matches("builtin:").to_owned();
        run_engine(vec![file.clone()], batches, false)?;
        let mut best = Duration::MAX;
        for _ in 0..2 {
            best = best.min(run_engine(vec![file.clone()], batches, false)?.elapsed);
        }
        costs.push((name, best));
    }
    costs.sort_by_key(|c| std::cmp::Reverse(c.1));
    println!("engine only, each built-in rule file alone (warm, best of 2; costliest first; a rule alone also pays the per-batch work the pack shares):");
    for (name, t) in costs {
        println!(
            "  {name:<44} {:>10.0} events/s  {:>7.1} ns/event",
            events as f64 / t.as_secs_f64().max(1e-9),
            t.as_secs_f64() * 1e9 / events.max(1) as f64,
        );
    }
    Ok(())
}

/// The engine as `gatewatch run` places it on `cores` cores, on pre-decoded batches: the
/// rules' stateless filters on `cores` threads (in a run, the decoder threads do this), the
/// sequencer on this thread routing each rule's rows by a hash of its entity to `cores` shard
/// tasks, each on a worker thread of the pipeline's own (`gatewatch_pipeline::worker`).
/// Returns the time from the first filter to the last closed window, and the alerts.
fn run_on_cores(
    files: RuleFiles,
    batches: &[RecordBatch],
    cores: usize,
) -> Result<(Duration, usize)> {
    let n = cores.max(1);
    let set = Arc::new(RuleSet::new(
        gatewatch_rules::compile_all(files, &[])?,
        1,
        false,
    ));
    let cfg = Arc::new(EngineConfig::default());
    let mut sequencer = Sequencer::new(
        cfg.clock.clone(),
        Placement::Sharded(n as u32),
        set.route_groups(),
    );
    let start = Instant::now();
    let (out_tx, out_rx) = crossbeam_channel::unbounded();
    let mut workers = Vec::with_capacity(n);
    for i in 0..n {
        let (tx, rx) = crossbeam_channel::bounded(64);
        spawn_worker(i, cfg.clone(), set.clone(), rx, out_tx.clone())?;
        workers.push(tx);
    }
    drop(out_tx);
    let send = |to: usize, msg: ToWorker| {
        workers[to]
            .send(msg)
            .map_err(|_| anyhow::anyhow!("a benchmark worker stopped (see its error below)"))
    };
    let routed = std::thread::scope(|s| -> Result<()> {
        let filtered: Vec<_> = (0..n)
            .map(|k| {
                let (tx, rx) = std::sync::mpsc::sync_channel(4);
                let set = &set;
                s.spawn(move || {
                    for b in batches.iter().skip(k).step_by(n) {
                        if tx.send(set.masks(b).map(Arc::new)).is_err() {
                            break;
                        }
                    }
                });
                rx
            })
            .collect();
        let mut seq = Sequenced::default();
        for (i, batch) in batches.iter().enumerate() {
            let masks = filtered[i % n]
                .recv()
                .context("a filter thread stopped")??;
            sequencer.sequence(batch, Some(masks), &mut seq)?;
            for (id, input) in seq.inputs.drain(..) {
                send(worker_of(&id, n), ToWorker::Input(id, Box::new(input)))?;
            }
        }
        sequencer.finish(&mut seq)?;
        for (id, input) in seq.inputs.drain(..) {
            send(worker_of(&id, n), ToWorker::Input(id, Box::new(input)))?;
        }
        (0..n).try_for_each(|w| send(w, ToWorker::Finish))
    });
    // Without their inputs the workers end (after `Finish`, or at once if routing failed), and
    // with them the last senders of `out_rx`.
    drop(workers);
    let (mut alerts, mut finished) = (0, 0);
    for msg in out_rx {
        match msg {
            FromWorker::Emitted(e) => alerts += e.alerts.len(),
            FromWorker::Finished { .. } => finished += 1,
            FromWorker::Error(e) => anyhow::bail!("benchmark worker: {e}"),
            FromWorker::Report { .. } => {}
        }
    }
    routed?;
    anyhow::ensure!(
        finished == n,
        "{} of {n} benchmark workers finished",
        finished
    );
    Ok((start.elapsed(), alerts))
}
