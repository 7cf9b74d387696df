//! Dead letters: records gatewatch could not use, with where they came from and why.
//!
//! `--dead-letter FILE` appends one JSON object per record (never truncates: an earlier run's
//! records stay); `--dead-letter kafka://HOST:PORT/TOPIC` produces the original bytes with
//! headers naming the source topic, partition, offset and error. Either way the records are
//! durable ([`DeadLetter::sync`]) before any offset commit passes them.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use gatewatch_ingest::kafka::writer::DeadLetterSource;
use gatewatch_ingest::kafka::{DeadLetterTopic, KafkaUrl};

/// One record to dead-letter.
#[derive(Debug, Clone)]
pub struct Letter<'a> {
    /// Source topic or input name.
    pub source: &'a str,
    /// Source partition.
    pub partition: i32,
    /// Kafka offset or line number.
    pub offset: i64,
    /// Why it was rejected.
    pub error: &'a str,
    /// What is known of it: the raw bytes, or (for a row rejected after decoding) its fields
    /// as JSON.
    pub raw: &'a [u8],
    /// Only the head of an oversized record was kept.
    pub truncated: bool,
}

/// Where dead letters go.
pub enum DeadLetter {
    /// A JSON Lines file, appended to.
    File {
        /// Its path.
        path: PathBuf,
        /// The open file.
        out: BufWriter<File>,
    },
    /// A Kafka topic.
    Topic(Box<DeadLetterTopic>),
}

impl DeadLetter {
    /// Opens `--dead-letter`: a `kafka://` URL or a file path (appended to, created if missing).
    pub fn open(spec: &Path) -> Result<Self> {
        let text = spec.to_string_lossy();
        if text.starts_with("kafka://") {
            let url: KafkaUrl = text.parse().map_err(anyhow::Error::msg)?;
            let topic = DeadLetterTopic::connect(&url).map_err(anyhow::Error::msg)?;
            return Ok(DeadLetter::Topic(Box::new(topic)));
        }
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(spec)
            .with_context(|| format!("cannot open dead-letter file {}", spec.display()))?;
        Ok(DeadLetter::File {
            path: spec.to_owned(),
            out: BufWriter::new(f),
        })
    }

    /// Appends one record.
    pub fn write(&mut self, l: &Letter<'_>) -> Result<()> {
        match self {
            DeadLetter::File { out, .. } => {
                let mut rec = serde_json::Map::new();
                rec.insert("source".into(), l.source.into());
                rec.insert("partition".into(), l.partition.into());
                rec.insert("offset".into(), l.offset.into());
                rec.insert("error".into(), l.error.into());
                match std::str::from_utf8(l.raw) {
                    Ok(s) => rec.insert("raw".into(), s.into()),
                    Err(_) => rec.insert(
                        "raw_hex".into(),
                        l.raw
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<String>()
                            .into(),
                    ),
                };
                if l.truncated {
                    rec.insert("raw_truncated".into(), true.into());
                }
                serde_json::to_writer(&mut *out, &rec)?;
                out.write_all(b"\n")?;
                Ok(())
            }
            DeadLetter::Topic(t) => t
                .send(
                    &DeadLetterSource {
                        topic: l.source,
                        partition: l.partition,
                        offset: l.offset,
                        error: l.error,
                    },
                    l.raw,
                )
                .map_err(anyhow::Error::msg),
        }
    }

    /// Makes everything written durable: fsync for a file, broker acknowledgement for a topic.
    pub fn sync(&mut self) -> Result<()> {
        match self {
            DeadLetter::File { path, out } => out
                .flush()
                .and_then(|()| out.get_ref().sync_data())
                .with_context(|| format!("writing dead-letter file {}", path.display())),
            DeadLetter::Topic(t) => t.flush().map_err(anyhow::Error::msg),
        }
    }
}
