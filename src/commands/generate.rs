//! `gatewatch generate`: deterministic labelled traffic as Kong JSON lines, to a file, stdout
//! or a Kafka topic.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use gatewatch_generate::{GenConfig, Generator, Scenario};
use gatewatch_ingest::kafka::KafkaUrl;

use crate::config::duration_ms;

/// `gatewatch generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Random seed: the same seed and options give byte-identical output.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Event-time length of the traffic.
    #[arg(long, default_value = "15m", value_name = "DURATION")]
    duration: String,
    /// Benign requests per second (attacks and fixed benign actors come on top).
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Attack scenarios, comma-separated, or `none`: credential-stuffing, distributed-stuffing,
    /// password-spray, account-takeover, id-walking, endpoint-discovery, machine-regular,
    /// ai-crawler-api, ai-crawler-declared, shadow-api, ai-token-abuse, probing, web-scan,
    /// spa-scan, cache-flood, form-brute-force, install-scan, technology-probe.
    #[arg(long, default_value = "all")]
    scenarios: String,
    /// Event time of the first request (RFC 3339).
    #[arg(long, default_value = "2026-01-01T00:00:00Z")]
    start: String,
    /// Write lines up to this far out of event-time order, as log shippers do.
    #[arg(long, default_value = "0ms", value_name = "DURATION")]
    jitter: String,
    /// Output file (`-` for stdout).
    #[arg(long, short = 'o', default_value = "-")]
    output: String,
    /// Produce to Kafka instead, keyed by client address: `kafka://HOST:PORT/TOPIC`.
    #[arg(long, value_name = "kafka://HOST:PORT/TOPIC")]
    to: Option<String>,
    /// With --to: records per second to send (0: as fast as possible).
    #[arg(long, default_value_t = 0.0)]
    send_rate: f64,
    /// Write ground-truth labels (JSON Lines) here.
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
}

fn parse_start(text: &str) -> Result<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .with_context(|| {
            format!("--start {text:?} is not an RFC 3339 time like 2026-01-01T00:00:00Z")
        })
}

/// Writes (or produces to Kafka) the generated traffic.
pub fn generate(args: GenerateArgs) -> Result<ExitCode> {
    let scenarios = match args.scenarios.as_str() {
        "all" => Scenario::ALL.to_vec(),
        "none" | "" => Vec::new(),
        list => list
            .split(',')
            .map(|s| s.trim().parse::<Scenario>())
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?,
    };
    if !(args.rate >= 0.0 && args.rate.is_finite()) {
        bail!("--rate must be a non-negative number");
    }
    let cfg = GenConfig {
        seed: args.seed,
        start_ms: parse_start(&args.start)?,
        duration_ms: duration_ms(&args.duration)?,
        benign_rate: args.rate,
        scenarios,
        jitter_ms: duration_ms(&args.jitter)?,
    };
    if let Some(to) = &args.to {
        return produce(to, &cfg, args.send_rate, args.labels.as_ref());
    }
    let out: Box<dyn Write> = if args.output == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(
            std::fs::File::create(&args.output)
                .with_context(|| format!("cannot create {}", args.output))?,
        )
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
    let mut line = String::new();
    for r in Generator::new(cfg.clone()) {
        line.clear();
        gatewatch_generate::write_kong_line(&r, &mut line);
        line.push('\n');
        out.write_all(line.as_bytes())
            .context("writing generated traffic")?;
    }
    out.flush().context("writing generated traffic")?;
    write_labels(&cfg, args.labels.as_ref())?;
    Ok(ExitCode::SUCCESS)
}

fn write_labels(cfg: &GenConfig, path: Option<&PathBuf>) -> Result<()> {
    if let Some(p) = path {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        );
        for l in gatewatch_generate::labels(cfg) {
            serde_json::to_writer(&mut f, &l)?;
            f.write_all(b"\n")?;
        }
        f.flush()?;
    }
    Ok(())
}

/// `generate --to kafka://...`: one record per message, keyed by client address.
fn produce(to: &str, cfg: &GenConfig, rate: f64, labels: Option<&PathBuf>) -> Result<ExitCode> {
    let url: KafkaUrl = to.parse().map_err(anyhow::Error::msg)?;
    let writer = gatewatch_ingest::kafka::KafkaWriter::connect(&url).map_err(anyhow::Error::msg)?;
    let started = std::time::Instant::now();
    let mut line = String::new();
    let mut sent = 0u64;
    for r in Generator::new(cfg.clone()) {
        line.clear();
        gatewatch_generate::write_kong_line(&r, &mut line);
        writer
            .send(&r.ip, line.as_bytes())
            .map_err(anyhow::Error::msg)?;
        sent += 1;
        if rate > 0.0 {
            let due = Duration::from_secs_f64(sent as f64 / rate);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    writer
        .flush(Duration::from_secs(60))
        .map_err(anyhow::Error::msg)?;
    eprintln!(
        "gatewatch: produced {sent} records to {to} in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    write_labels(cfg, labels)?;
    Ok(ExitCode::SUCCESS)
}
