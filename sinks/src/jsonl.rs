//! Alerts as JSON Lines: one alert object per line.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use gatewatch_engine::Alert;

use crate::{Sink, SinkError};

/// Writes each alert as one JSON line and flushes after every delivery.
pub struct JsonLinesSink {
    name: String,
    out: BufWriter<Box<dyn Write + Send>>,
}

impl JsonLinesSink {
    /// Alerts to standard output.
    pub fn stdout() -> Self {
        JsonLinesSink {
            name: "stdout".into(),
            out: BufWriter::new(Box::new(io::stdout())),
        }
    }

    /// Alerts appended to a file (created if missing).
    pub fn file(path: &Path) -> Result<Self, SinkError> {
        let name = path.display().to_string();
        let f: File = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| SinkError::Io {
                sink: name.clone(),
                source,
            })?;
        Ok(JsonLinesSink {
            name,
            out: BufWriter::new(Box::new(f)),
        })
    }

    /// Alerts to any writer (tests, pipes).
    pub fn writer(name: &str, w: Box<dyn Write + Send>) -> Self {
        JsonLinesSink {
            name: name.into(),
            out: BufWriter::new(w),
        }
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
            serde_json::to_writer(&mut self.out, a).map_err(|e| io_err(e.into()))?;
            self.out.write_all(b"\n").map_err(io_err)?;
        }
        self.out.flush().map_err(io_err)
    }
}
