//! How a run shows its progress: a bar on a terminal for file replays (bytes, events/s, ETA),
//! periodic structured `progress` log lines otherwise.

use std::sync::Arc;
use std::time::Duration;

use gatewatch_pipeline::{Progress, ProgressHook, ProgressView};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Deserialize;

/// `--progress` / `[output] progress`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ProgressMode {
    /// A bar when stderr is a terminal and the input is a file, else lines.
    #[default]
    Auto,
    /// Always a bar (drawn only on a terminal).
    Bar,
    /// A structured `progress` log line every few seconds.
    Lines,
    /// Neither.
    Off,
}

/// What the pipeline is told: a bar to update, and how often to log progress lines.
pub struct Plan {
    /// The bar, if one is drawn.
    pub bar: Option<Bar>,
    /// Seconds between progress lines (zero: none).
    pub lines_every: Duration,
}

impl ProgressMode {
    /// Decides for an input: `total` is its size when known (a plain file), `file` whether it
    /// is a replay (a bar makes no sense for a live stream).
    pub fn plan(self, file: bool, total: Option<u64>) -> Plan {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let bar = match self {
            ProgressMode::Auto => terminal && file,
            ProgressMode::Bar => true,
            ProgressMode::Lines | ProgressMode::Off => false,
        };
        let lines_every = match self {
            ProgressMode::Off => Duration::ZERO,
            _ if bar => Duration::ZERO,
            _ => Duration::from_secs(5),
        };
        Plan {
            bar: bar.then(|| Bar::new(total)),
            lines_every,
        }
    }
}

/// A progress bar on stderr over input bytes.
#[derive(Clone)]
pub struct Bar(ProgressBar);

impl Bar {
    fn new(total: Option<u64>) -> Bar {
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let template = if total.is_some() {
            "{spinner} [{elapsed_precise}] {bar:30} {binary_bytes}/{binary_total_bytes} ETA {eta} {msg}"
        } else {
            "{spinner} [{elapsed_precise}] {binary_bytes} ({binary_bytes_per_sec}) {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        Bar(bar)
    }

    /// The hook the pipeline updates.
    pub fn hook(&self) -> ProgressHook {
        ProgressHook(Arc::new(self.clone()))
    }

    /// Removes the bar (before the summary is printed).
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl ProgressView for Bar {
    fn update(&self, p: &Progress) {
        self.0.set_position(p.bytes);
        let secs = self.0.elapsed().as_secs_f64().max(1e-3);
        self.0.set_message(format!(
            "{} events ({:.0}/s), {} alerts, {} malformed",
            p.events,
            p.events as f64 / secs,
            p.alerts,
            p.malformed
        ));
    }
}
