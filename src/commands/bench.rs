//! `gatewatch bench`: throughput figures on generated Kong records. Benchmarks print numbers;
//! no test asserts on them (the machines are small and noisy).

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use gatewatch_generate::{write_line, GenConfig, Generator, Shape};
use gatewatch_ingest::{
    Chunk, ChunkDecoder, ChunkOptions, ChunkReader, ColumnSet, DecodeConfig, Input,
};
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
    /// Also measure the built-in pack together with every Sigma rule under DIR that applies
    /// (proxy rules included), against the pack alone, in the same run.
    #[arg(long, value_name = "DIR")]
    pub sigma: Option<std::path::PathBuf>,
    /// Also measure each built-in rule file alone on the engine: which rules cost what.
    #[arg(long)]
    pub per_rule: bool,
}

fn generate(events: u64) -> Vec<u8> {
    generate_shape(events, Shape::Kong)
}

/// The generator's traffic written in one of the log shapes gatewatch reads.
fn generate_shape(events: u64, shape: Shape) -> Vec<u8> {
    // Benign rate sized so the default 15 minutes of event time hold about `events` records.
    let cfg = GenConfig {
        benign_rate: (events as f64 / 900.0).max(1.0),
        ..GenConfig::default()
    };
    let mut data = Vec::with_capacity(events as usize * 900);
    let mut line = String::new();
    for r in Generator::new(cfg) {
        line.clear();
        write_line(shape, &r, &mut line);
        data.extend_from_slice(line.as_bytes());
        data.push(b'\n');
    }
    data
}

/// Decode throughput of every log shape on one core, same requests, the pack's columns.
fn format_figures(events: u64, projection: ColumnSet) -> Result<()> {
    println!(
        "decode -> Arrow per log shape, {} rule columns, 1 core:",
        projection.iter().count()
    );
    for shape in Shape::ALL {
        let data = generate_shape(events, shape);
        let chunks = chunks(&data)?;
        let (rows, t) = decode_one_core(&chunks, projection)?;
        println!(
            "{}",
            line(&format!("  {}", shape.name()), rows, data.len() as u64, t)
        );
    }
    Ok(())
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

    format_figures(args.events.min(200_000), rule_columns)?;
    let batches = super::bench_engine::engine_figures(&chunks, rule_columns)?;
    if args.per_rule {
        super::bench_engine::per_rule_figures(&batches)?;
    }
    crate::commands::bench_state::entity_state_figures()?;

    let threads = args.threads.unwrap_or(cores);
    let cfg = PipelineConfig {
        threads,
        ..Default::default()
    };
    let single = gatewatch_rules::compile_all(
        vec![("builtin:stuffing".into(), stuffing_rule().to_owned())],
        &[],
    )?;
    let pack_len = rules.len();
    let mut runs = vec![
        ("the stuffing rule".to_owned(), single),
        (format!("built-in pack ({} rules)", rules.len()), rules),
    ];
    if let Some(dir) = &args.sigma {
        let mut files = gatewatch_rules::builtin_files();
        files.extend(gatewatch_rules::dir_files(dir)?);
        let opts = gatewatch_rules::SigmaOptions {
            proxy: true,
            ..Default::default()
        };
        let set = gatewatch_rules::compile_set(files, &[], &opts)?;
        runs.push((
            format!(
                "built-in pack + {} Sigma rules",
                set.rules.len().saturating_sub(pack_len)
            ),
            set.rules,
        ));
    }
    let mut rates = Vec::new();
    for (label, rules) in runs {
        let sink_file = tempfile_path();
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(JsonLinesSink::file(&sink_file)?)];
        let input = Input {
            reader: Box::new(std::io::Cursor::new(data.clone())),
            name: "bench".into(),
            interactive: false,
        };
        let summary = pipeline::run_lines(input, rules, &mut sinks, &cfg, None)?;
        let _ = std::fs::remove_file(&sink_file);
        rates.push(summary.engine.events as f64 / summary.elapsed.as_secs_f64().max(1e-9));
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
    if let [_, pack, with_sigma] = rates[..] {
        println!(
            "  pack + Sigma rules run at {:.2}x the pack's events/s",
            with_sigma / pack
        );
    }
    if let Some(broker) = &args.kafka {
        kafka_figures(broker, &chunks, threads)?;
    }
    if let Some(url) = &args.clickhouse {
        crate::commands::bench_clickhouse::figures(url, &data, threads)?;
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
    // The same records unkeyed (spread over the partitions), for `--input-key none`.
    let unkeyed_topic = format!("{topic}-unkeyed");
    let unkeyed = gatewatch_ingest::kafka::KafkaWriter::connect(
        &format!("{base}/{unkeyed_topic}")
            .parse()
            .map_err(anyhow::Error::msg)?,
    )
    .map_err(anyhow::Error::msg)?;
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
            unkeyed
                .send(&records.to_string(), line)
                .map_err(anyhow::Error::msg)?;
            records += 1;
            bytes += line.len() as u64;
        }
    }
    for w in [&writer, &unkeyed] {
        w.flush(Duration::from_secs(120))
            .map_err(anyhow::Error::msg)?;
    }
    println!(
        "{}",
        self::line(
            "produce to Kafka (keyed by client_ip, and unkeyed)",
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

    let bare_rate = seen as f64 / bare.as_secs_f64().max(1e-9);
    // (topic, input keyed by client address, repartition, instances)
    let runs = [
        (&topic, true, false, 1usize),
        (&topic, true, true, 1),
        (&topic, true, true, 2),
        (&unkeyed_topic, false, true, 1),
        (&unkeyed_topic, false, true, 2),
    ];
    for (run_topic, keyed, repartition, instances) in runs {
        let (events, alerts, active, shipped) =
            kafka_run(base, run_topic, keyed, repartition, instances, threads)?;
        let label = format!(
            "Kafka -> alerts, built-in rules, {instances} instance(s), {}, repartition {}",
            if keyed { "keyed" } else { "unkeyed" },
            if repartition { "on" } else { "off" }
        );
        println!(
            "{}  ({} alerts)",
            self::line(&label, events, bytes, active),
            alerts
        );
        println!(
            "  / bare consume: {:.2} (events/s ratio; timed from first to last record); repartition topics: {:.1} bytes and {:.3} rows per input event",
            (events as f64 / active.as_secs_f64().max(1e-9)) / bare_rate,
            shipped.bytes as f64 / events.max(1) as f64,
            shipped.rows as f64 / events.max(1) as f64,
        );
    }
    Ok(())
}

/// One Kafka -> alerts measurement: `instances` pipelines in one group on `topic`. Returns
/// events, alerts, the longest active time and what went through repartition topics.
fn kafka_run(
    base: &str,
    topic: &str,
    keyed: bool,
    repartition: bool,
    instances: usize,
    threads: usize,
) -> Result<(u64, u64, Duration, pipeline::summary::Repartitioned)> {
    let group = format!(
        "bench-{topic}-{instances}-{}",
        if repartition { "r" } else { "n" }
    );
    let runs: Vec<_> = (0..instances)
        .map(|i| {
            let url = format!(
                "{base}/{topic}?group={group}&stop_after_idle=3s&repartition={}",
                if repartition { "on" } else { "off" }
            );
            std::thread::spawn(move || -> Result<pipeline::RunSummary> {
                let kafka_url: gatewatch_ingest::kafka::KafkaUrl =
                    url.parse().map_err(anyhow::Error::msg)?;
                let mut cfg = PipelineConfig {
                    threads: if instances == 1 { threads } else { 1 },
                    workers: if instances == 1 { threads } else { 1 },
                    idle_timeout: Some(Duration::from_secs(30)),
                    ..Default::default()
                };
                if !keyed {
                    cfg.decode.input_key = None;
                }
                let rules = gatewatch_rules::load_builtin(&[])?;
                let sink_file = std::env::temp_dir()
                    .join(format!("gatewatch-bench-{}-{i}.jsonl", std::process::id()));
                let mut sinks: Vec<Box<dyn Sink>> =
                    vec![Box::new(JsonLinesSink::file(&sink_file)?)];
                let summary = pipeline::run(
                    pipeline::InputSource::Kafka(kafka_url),
                    rules,
                    &mut sinks,
                    &cfg,
                    None,
                )?;
                let _ = std::fs::remove_file(&sink_file);
                Ok(summary)
            })
        })
        .collect();
    let (mut events, mut alerts, mut active) = (0u64, 0u64, Duration::ZERO);
    let mut shipped = pipeline::summary::Repartitioned::default();
    for r in runs {
        let summary = r
            .join()
            .map_err(|_| anyhow::anyhow!("a benchmark instance panicked"))??;
        events += summary.engine.events;
        alerts += summary.alerts();
        active = active.max(summary.active);
        if let Some(s) = summary.repartition {
            shipped.bytes += s.bytes;
            shipped.rows += s.rows;
        }
    }
    Ok((events, alerts, active, shipped))
}

/// A copy of the built-in credential-stuffing rule under another id, optionally sliding.
pub(super) fn variant(id: &str, window: &str) -> (String, String) {
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

fn tempfile_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("gatewatch-bench-{}.jsonl", std::process::id()))
}
