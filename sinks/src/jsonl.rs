//! Alerts as JSON Lines: one alert object per line.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use gatewatch_engine::Alert;

use crate::{Sink, SinkError};

/// Writes each alert as one JSON line and flushes after every delivery.
///
/// A file sink is idempotent: it reads the ids already in the file when it opens and never
/// writes an alert id twice, so a pipeline restarted from committed Kafka offsets, which
/// re-creates the alerts of windows open at the crash, does not duplicate them.
pub struct JsonLinesSink {
    name: String,
    out: BufWriter<Box<dyn Write + Send>>,
    /// Ids already written (file sinks only).
    written: Option<HashSet<String>>,
}

impl JsonLinesSink {
    /// Alerts to standard output.
    pub fn stdout() -> Self {
        JsonLinesSink {
            name: "stdout".into(),
            out: BufWriter::new(Box::new(io::stdout())),
            written: None,
        }
    }

    /// Alerts appended to a file (created if missing), skipping ids it already holds.
    pub fn file(path: &Path) -> Result<Self, SinkError> {
        let name = path.display().to_string();
        let io_err = |source: io::Error| SinkError::Io {
            sink: name.clone(),
            source,
        };
        let mut written = HashSet::new();
        let mut ends_mid_line = false;
        if let Ok(existing) = File::open(path) {
            let mut reader = BufReader::new(existing);
            let mut line = String::new();
            while reader.read_line(&mut line).map_err(io_err)? > 0 {
                ends_mid_line = !line.ends_with('\n');
                // A line cut short by a crash is not an alert; that alert is written again.
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(line.trim_end()) {
                    if let Some(id) = v.get("id").and_then(|i| i.as_str()) {
                        written.insert(id.to_owned());
                    }
                }
                line.clear();
            }
        }
        let f: File = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_err)?;
        let mut out = BufWriter::new(Box::new(f) as Box<dyn Write + Send>);
        if ends_mid_line {
            out.write_all(b"\n").map_err(io_err)?;
        }
        Ok(JsonLinesSink {
            name,
            out,
            written: Some(written),
        })
    }
}

impl Sink for JsonLinesSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn deliver(&mut self, alerts: &[Alert]) -> Result<(), SinkError> {
        let io_err = |source: io::Error| SinkError::Io {
            sink: self.name.clone(),
            source,
        };
        for a in alerts {
            if let Some(written) = self.written.as_mut() {
                if !written.insert(a.id.clone()) {
                    continue;
                }
            }
            serde_json::to_writer(&mut self.out, a).map_err(|e| io_err(e.into()))?;
            self.out.write_all(b"\n").map_err(io_err)?;
        }
        self.out.flush().map_err(io_err)
    }
}
