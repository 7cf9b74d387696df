//! Alerts as JSON Lines: one alert object per line.

use std::collections::{HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use gatewatch_model::Record;

use crate::{Sink, SinkError};

/// How many recent alert ids a file sink remembers to skip repeats.
pub const REMEMBERED_IDS: usize = 200_000;

/// The ids recently written, bounded: the oldest is forgotten first.
#[derive(Debug, Default)]
struct RecentIds {
    set: HashSet<String>,
    order: VecDeque<String>,
    capacity: usize,
}

impl RecentIds {
    fn with_capacity(capacity: usize) -> Self {
        RecentIds {
            capacity: capacity.max(1),
            ..Default::default()
        }
    }

    /// Whether `id` is new (and remembers it).
    fn insert(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() >= self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        true
    }
}

/// Writes each alert as one JSON line and flushes after every delivery.
///
/// A file sink is idempotent: it reads the ids already in the file when it opens and never
/// writes an alert id twice, so a pipeline restarted from a Kafka checkpoint, which re-creates
/// the alerts of windows open at the crash, does not duplicate them. It remembers the last
/// [`REMEMBERED_IDS`] ids (a replay only repeats recent alerts), so its memory is bounded.
pub struct JsonLinesSink {
    name: String,
    out: BufWriter<Box<dyn Write + Send>>,
    file: Option<File>,
    /// Ids already written (file sinks only).
    written: Option<RecentIds>,
}

impl JsonLinesSink {
    /// Alerts to standard output.
    pub fn stdout() -> Self {
        JsonLinesSink {
            name: "stdout".into(),
            out: BufWriter::new(Box::new(io::stdout())),
            file: None,
            written: None,
        }
    }

    /// Alerts appended to a file (created if missing), skipping ids it already holds.
    pub fn file(path: &Path) -> Result<Self, SinkError> {
        Self::file_remembering(path, REMEMBERED_IDS)
    }

    /// As [`file`](Self::file), remembering at most `capacity` ids.
    pub fn file_remembering(path: &Path, capacity: usize) -> Result<Self, SinkError> {
        let name = path.display().to_string();
        let io_err = |source: io::Error| SinkError::Io {
            sink: name.clone(),
            source,
        };
        let mut written = RecentIds::with_capacity(capacity);
        let mut ends_mid_line = false;
        if let Ok(existing) = File::open(path) {
            let mut reader = BufReader::new(existing);
            let mut line = String::new();
            while reader.read_line(&mut line).map_err(io_err)? > 0 {
                ends_mid_line = !line.ends_with('\n');
                // A line cut short by a crash is not an alert; that alert is written again.
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(line.trim_end()) {
                    if let Some(id) = v.get("id").and_then(|i| i.as_str()) {
                        written.insert(id);
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
        // Only a regular file can be fsynced (`-o /dev/null` is a fine benchmark sink).
        let regular = f.metadata().map(|m| m.is_file()).unwrap_or(false);
        let sync_handle = if regular {
            Some(f.try_clone().map_err(io_err)?)
        } else {
            None
        };
        let mut out = BufWriter::new(Box::new(f) as Box<dyn Write + Send>);
        if ends_mid_line {
            out.write_all(b"\n").map_err(io_err)?;
        }
        Ok(JsonLinesSink {
            name,
            out,
            file: sync_handle,
            written: Some(written),
        })
    }
}

impl Sink for JsonLinesSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn deliver(&mut self, records: &[Record]) -> Result<(), SinkError> {
        let io_err = |source: io::Error| SinkError::Io {
            sink: self.name.clone(),
            source,
        };
        for a in records.iter().filter_map(Record::as_alert) {
            if let Some(written) = self.written.as_mut() {
                if !written.insert(&a.id) {
                    continue;
                }
            }
            serde_json::to_writer(&mut self.out, a).map_err(|e| io_err(e.into()))?;
            self.out.write_all(b"\n").map_err(io_err)?;
        }
        self.out.flush().map_err(io_err)
    }

    fn sync(&mut self) -> Result<(), SinkError> {
        let io_err = |source: io::Error| SinkError::Io {
            sink: self.name.clone(),
            source,
        };
        self.out.flush().map_err(io_err)?;
        if let Some(f) = &self.file {
            f.sync_data().map_err(io_err)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_a_bounded_number_of_ids() {
        let mut r = RecentIds::with_capacity(3);
        assert!(r.insert("a") && r.insert("b") && r.insert("c"));
        assert!(!r.insert("a"), "a repeat is skipped");
        assert!(r.insert("d"));
        assert_eq!(r.set.len(), 3);
        assert!(r.insert("a"), "the oldest was forgotten");
    }

    #[test]
    fn a_reopened_file_skips_ids_it_holds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("alerts.jsonl");
        let a = Record::Alert(crate::test_alert("id-1", "r", "high", &[]));
        let mut s = JsonLinesSink::file(&path).expect("open");
        s.deliver(std::slice::from_ref(&a)).expect("deliver");
        s.sync().expect("sync");
        let mut s = JsonLinesSink::file(&path).expect("reopen");
        s.deliver(&[a]).expect("deliver");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 1);
    }
}
