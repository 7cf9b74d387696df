//! What the main loop reports while it runs: progress lines, metrics refreshed from the task
//! workers' counters, and the JSON form of a rejected row.

use std::time::{Duration, Instant};

use anyhow::Result;

use gatewatch_engine::EngineStats;

use super::{Main, METRICS_EVERY};
use crate::threads::current;
use crate::worker::ToWorker;
use crate::{observe, Progress};

/// How often a progress view (bar) is refreshed.
const VIEW_EVERY: Duration = Duration::from_millis(250);

impl Main<'_> {
    /// Every `--progress` period a progress line, and with `--metrics-addr` every second a
    /// metrics refresh; both ask the workers for fresh counters for the next round.
    pub(super) fn progress(&mut self) {
        let observing = self.cfg.observe.is_some();
        let lines = (!self.cfg.progress_every.is_zero()).then_some(self.cfg.progress_every);
        let view = self.cfg.progress.is_some().then_some(VIEW_EVERY);
        let metrics = observing.then_some(METRICS_EVERY);
        let Some(every) = [lines, view, metrics].into_iter().flatten().min() else {
            return;
        };
        if self.last_progress.elapsed() < every {
            return;
        }
        self.last_progress = Instant::now();
        let mut stats = EngineStats::default();
        for s in &self.stats {
            stats.merge(s);
        }
        if observing {
            let set = current(&self.rules);
            observe::engine(&stats, &set.ids());
            observe::eval_errors(&set.rules);
            for tp in self.sequencer.partitions() {
                if let Some(wm) = self.sequencer.watermark(&tp) {
                    observe::watermark(&tp.topic, tp.partition, wm);
                }
            }
            if let Some(k) = &self.kafka {
                observe::commit_age(k.since_commit());
            }
        }
        if let Some(view) = &self.cfg.progress {
            view.0.update(&Progress {
                bytes: self.summary.bytes,
                events: self.summary.engine.events,
                malformed: self.summary.malformed,
                alerts: stats.alerts(),
                late: stats.late(),
            });
        } else if !self.cfg.progress_every.is_zero()
            && self.last_progress_line.elapsed() >= self.cfg.progress_every
        {
            self.last_progress_line = Instant::now();
            tracing::info!(
                events = self.summary.engine.events,
                bytes = self.summary.bytes,
                malformed = self.summary.malformed,
                alerts = stats.alerts(),
                late = stats.late(),
                "progress"
            );
        }
        // Ask for fresh counters (no checkpoint needed) for the next round.
        self.progress_id += 1;
        for w in &self.workers {
            let _ = w.send(ToWorker::Barrier {
                id: self.progress_id,
                checkpoint: false,
            });
        }
    }
}

/// The input name of a decoded batch (its `source_name` column), for metrics labels.
pub(super) fn batch_source(batch: &arrow::array::RecordBatch) -> String {
    use arrow::array::{Array, AsArray};
    batch
        .column_by_name(gatewatch_ingest::Column::SourceName.name())
        .and_then(|c| {
            c.as_string_opt::<i32>()
                .filter(|a| !a.is_empty())
                .map(|a| a.value(0).to_owned())
        })
        .unwrap_or_else(|| "input".to_owned())
}

/// One JSON object with a decoded row's fields: what a dead letter of a rejected row holds.
pub(super) fn row_json(row: &arrow::array::RecordBatch) -> Result<String> {
    use arrow::array::Array;
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let mut obj = serde_json::Map::new();
    let options = FormatOptions::default();
    for (field, col) in row.schema().fields().iter().zip(row.columns()) {
        if col.is_empty() || col.is_null(0) {
            continue;
        }
        let f = ArrayFormatter::try_new(col.as_ref(), &options)?;
        obj.insert(field.name().clone(), f.value(0).to_string().into());
    }
    Ok(serde_json::Value::Object(obj).to_string())
}
