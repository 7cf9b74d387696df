//! The dead-letter file: one JSON object per malformed line, with where it came from.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use gatewatch_ingest::Malformed;

/// Writes malformed lines as JSON objects; raw bytes that are not UTF-8 are written as hex.
pub struct DeadLetter {
    out: BufWriter<File>,
}

impl DeadLetter {
    /// Creates (truncates) the file.
    pub fn create(path: &Path) -> Result<Self> {
        let f = File::create(path)
            .with_context(|| format!("cannot create dead-letter file {}", path.display()))?;
        Ok(DeadLetter {
            out: BufWriter::new(f),
        })
    }

    /// Flushes to the OS: done before offsets are committed past the lines written.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().context("writing the dead-letter file")
    }

    /// Appends one record.
    pub fn write(&mut self, m: &Malformed) -> Result<()> {
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
