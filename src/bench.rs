//! `gatewatch bench`: throughput figures on generated Kong records. Benchmarks print numbers;
//! no test asserts on them (the machines are small and noisy).

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use arrow::record_batch::RecordBatch;
use clap::Args;
use gatewatch_generate::{write_kong_line, GenConfig, Generator};
use gatewatch_ingest::{
    Chunk, ChunkDecoder, ChunkOptions, ChunkReader, ColumnSet, DecodeConfig, Input,
};
use gatewatch_rules::RuleFiles;
use gatewatch_sinks::{JsonLinesSink, Sink};

use gatewatch_pipeline::{self as pipeline, PipelineConfig};

/// Options of `gatewatch bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Approximate number of Kong records to generate and replay.
    #[arg(long, default_value_t = 300_000)]
    pub events: u64,
    /// Decoder threads for the pipeline run (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Also write the generated records to this file (e.g. to compare with another tool).
    #[arg(long, value_name = "FILE")]
    pub save: Option<std::path::PathBuf>,
    /// Also measure Kafka -> alerts against a bare consume loop, on a fresh topic of this broker.
    #[arg(long, value_name = "kafka://HOST:PORT")]
    pub kafka: Option<String>,
    /// Also measure inserts into ClickHouse (alerts/s, statistics rows/s) in this database
    /// (created; its tables get benchmark rows).
    #[arg(long, value_name = "http://HOST:PORT/DB")]
    pub clickhouse: Option<String>,
}

fn generate(events: u64) -> Vec<u8> {
    // Benign rate sized so the default 15 minutes of event time hold about `events` records.
    let cfg = GenConfig {
        benign_rate: (events as f64 / 900.0).max(1.0),
        ..GenConfig::default()
    };
    let mut data = Vec::with_capacity(events as usize * 900);
    let mut line = String::new();
    for r in Generator::new(cfg) {
        line.clear();
        write_kong_line(&r, &mut line);
        data.extend_from_slice(line.as_bytes());
        data.push(b'\n');
    }
    data
}

fn chunks(data: &[u8]) -> Result<Vec<Chunk>> {
    let mut reader = ChunkReader::new(data, "bench", ChunkOptions::default(), false);
    let mut out = Vec::new();
    while let Some(c) = reader.next_chunk()? {
        out.push(c);
    }
    Ok(out)
}

/// Decodes every chunk on one thread; returns (rows, elapsed).
fn decode_one_core(chunks: &[Chunk], projection: ColumnSet) -> Result<(u64, Duration)> {
    let mut decoder = ChunkDecoder::new(
        DecodeConfig::default().with_username_field("username"),
        projection,
        1 << 20,
    );
    let start = Instant::now();
    let mut rows = 0;
    for c in chunks {
        rows += decoder.decode(c, 0)?.batch.num_rows() as u64;
    }
    Ok((rows, start.elapsed()))
}

fn line(label: &str, rows: u64, bytes: u64, elapsed: Duration) -> String {
    let s = elapsed.as_secs_f64().max(1e-9);
    format!(
        "{label:<52} {rows:>9} events in {:>7.3}s  {:>10.0} events/s  {:>7.1} MB/s",
        s,
        rows as f64 / s,
        bytes as f64 / 1e6 / s
    )
}

/// Runs the benchmark and prints its figures.
pub fn run(args: BenchArgs) -> Result<ExitCode> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!("generating ~{} Kong records ...", args.events);
    let data = generate(args.events);
    if let Some(p) = &args.save {
        std::fs::write(p, &data).with_context(|| format!("writing {}", p.display()))?;
    }
    let bytes = data.len() as u64;
    let records = memchr::memchr_iter(b'\n', &data).count() as u64;
    println!(
        "gatewatch bench: {records} Kong records, {:.1} MB ({} bytes/record), {cores} cores, {} build",
        bytes as f64 / 1e6,
        bytes / records.max(1),
        if cfg!(debug_assertions) { "DEBUG (numbers meaningless: use --release)" } else { "release" }
    );
    let chunks = chunks(&data)?;
    let rules = gatewatch_rules::load_builtin(&[])?;
    let rule_columns = gatewatch_rules::compile::columns_read(&rules);

    let (rows, t) = decode_one_core(&chunks, ColumnSet::all())?;
    println!(
        "{}",
        line("decode -> Arrow, all columns, 1 core", rows, bytes, t)
    );
    let (rows, t) = decode_one_core(&chunks, rule_columns)?;
    println!(
        "{}",
        line(
            &format!(
                "decode -> Arrow, {} rule columns, 1 core",
                rule_columns.iter().count()
            ),
            rows,
            bytes,
            t
        )
    );

    engine_figures(&chunks, rule_columns)?;

    let threads = args.threads.unwrap_or(cores);
    let cfg = PipelineConfig {
        threads,
        ..Default::default()
    };
    let single = gatewatch_rules::compile_all(
        vec![("builtin:stuffing".into(), stuffing_rule().to_owned())],
        &[],
    )?;
    for (label, rules) in [
        ("the stuffing rule".to_owned(), single),
        (format!("built-in pack ({} rules)", rules.len()), rules),
    ] {
        let sink_file = tempfile_path();
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(JsonLinesSink::file(&sink_file)?)];
        let input = Input {
            reader: Box::new(std::io::Cursor::new(data.clone())),
            name: "bench".into(),
            interactive: false,
        };
        let summary = pipeline::run_lines(input, rules, &mut sinks, &cfg, None)?;
        let _ = std::fs::remove_file(&sink_file);
        println!(
            "{}  ({} alerts, {} columns decoded)",
            line(
                &format!("file -> alerts, {label}, {threads} decoder threads"),
                summary.engine.events,
                bytes,
                summary.elapsed
            ),
            summary.alerts(),
            summary.decoded_columns.len()
        );
    }
    if let Some(broker) = &args.kafka {
        kafka_figures(broker, &chunks, threads)?;
    }
    if let Some(url) = &args.clickhouse {
        crate::bench_clickhouse::figures(url, &data, threads)?;
    }
    std::io::stdout().flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Kafka -> alerts next to a bare consume loop over the same topic: the ceiling.
fn kafka_figures(broker: &str, chunks: &[Chunk], threads: usize) -> Result<()> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;

    let base = broker.trim_end_matches('/');
    let topic = format!("gatewatch-bench-{}", std::process::id());
    let url: gatewatch_ingest::kafka::KafkaUrl = format!("{base}/{topic}")
        .parse()
        .map_err(anyhow::Error::msg)?;
    let writer = gatewatch_ingest::kafka::KafkaWriter::connect(&url).map_err(anyhow::Error::msg)?;
    let mut records = 0u64;
    let mut bytes = 0u64;
    let started = Instant::now();
    for c in chunks {
        for line in c.data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            // Key by client address, as producers must (rules group by entity).
            let key = memchr::memmem::find(line, b"\"client_ip\":\"")
                .and_then(|i| line[i + 13..].split(|b| *b == b'"').next())
                .unwrap_or_default();
            writer
                .send(&String::from_utf8_lossy(key), line)
                .map_err(anyhow::Error::msg)?;
            records += 1;
            bytes += line.len() as u64;
        }
    }
    writer
        .flush(Duration::from_secs(120))
        .map_err(anyhow::Error::msg)?;
    println!(
        "{}",
        self::line(
            "produce to Kafka (keyed by client_ip)",
            records,
            bytes,
            started.elapsed()
        )
    );

    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &url.brokers)
        .set("group.id", format!("bench-bare-{}", std::process::id()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .create()?;
    consumer.subscribe(&[&topic])?;
    let (mut seen, mut first, mut last) = (0u64, None, Instant::now());
    let deadline = Instant::now() + Duration::from_secs(300);
    while seen < records && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            first.get_or_insert_with(Instant::now);
            seen += u64::from(m.payload().is_some());
            last = Instant::now();
        }
    }
    drop(consumer);
    let bare = last.saturating_duration_since(first.unwrap_or(last));
    println!(
        "{}",
        self::line("bare rdkafka consume loop (the ceiling)", seen, bytes, bare)
    );

    let kafka_url: gatewatch_ingest::kafka::KafkaUrl = format!(
        "{base}/{topic}?group=bench-gw-{}&stop_after_idle=2s",
        std::process::id()
    )
    .parse()
    .map_err(anyhow::Error::msg)?;
    let cfg = PipelineConfig {
        threads,
        idle_timeout: Some(Duration::from_secs(30)),
        ..Default::default()
    };
    let rules = gatewatch_rules::load_builtin(&[])?;
    let sink_file = tempfile_path();
    let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(JsonLinesSink::file(&sink_file)?)];
    let summary = pipeline::run(
        pipeline::InputSource::Kafka(kafka_url),
        rules,
        &mut sinks,
        &cfg,
        None,
    )?;
    let _ = std::fs::remove_file(&sink_file);
    println!(
        "{}  ({} alerts)",
        self::line(
            "Kafka -> alerts, built-in rules",
            summary.engine.events,
            bytes,
            summary.active
        ),
        summary.alerts()
    );
    println!(
        "Kafka -> alerts / bare consume: {:.2} (events/s ratio; both timed from first to last record)",
        (summary.engine.events as f64 / summary.active.as_secs_f64().max(1e-9)) / (seen as f64 / bare.as_secs_f64().max(1e-9))
    );
    Ok(())
}

/// A copy of the built-in credential-stuffing rule under another id, optionally sliding.
fn variant(id: &str, window: &str) -> (String, String) {
    let text = stuffing_rule();
    let text = text
        .replacen(
            "id = \"credential-stuffing-single-source\"",
            &format!("id = \"{id}\""),
            1,
        )
        .replacen("size = \"1m\"", window, 1);
    (format!("bench:{id}"), text)
}

/// The built-in single-source credential-stuffing rule: the one rule the DuckDB comparison
/// and the 1/10/50-rule engine figures use.
fn stuffing_rule() -> &'static str {
    gatewatch_rules::pack::BUILTIN
        .iter()
        .find(|(name, _)| name.starts_with("credential-stuffing-single-source"))
        .map_or("", |(_, text)| text)
}

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
    let mut engine = gatewatch_engine::Engine::new(
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
fn engine_figures(chunks: &[Chunk], projection: ColumnSet) -> Result<()> {
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
    println!("engine only, on {events} pre-decoded events (state = filtered rows held by open windows, at its peak):");
    for (label, files) in cases {
        let timed = run_engine(files.clone(), &batches, false)?;
        let counted = run_engine(files, &batches, true)?;
        println!(
            "  {label:<24} {:>10.0} events/s  {:>5} alerts  state {:>6} rows {:>9.1} KB {:>5.0} B/row {:>5} entities {:>7.0} B/entity",
            events as f64 / timed.elapsed.as_secs_f64().max(1e-9),
            timed.alerts,
            counted.peak_rows,
            counted.peak_bytes as f64 / 1e3,
            counted.peak_bytes as f64 / counted.peak_rows.max(1) as f64,
            counted.peak_entities,
            counted.peak_bytes as f64 / counted.peak_entities.max(1) as f64,
        );
    }
    Ok(())
}

fn tempfile_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("gatewatch-bench-{}.jsonl", std::process::id()))
}
