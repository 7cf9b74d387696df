//! Hot reload of a rule directory: polled for changes (names, sizes, modification times of
//! its rule files, `*.toml` and Sigma `*.yml`/`*.yaml`) and on SIGHUP. A set that fails to load is rejected with its errors logged; the
//! pipeline keeps running the last good set.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use gatewatch_rules::{CompiledRule, ParamOverride, RuleError, SigmaOptions};

/// Watches one rule directory.
pub struct RuleReloader {
    dir: PathBuf,
    overrides: Vec<ParamOverride>,
    sigma: SigmaOptions,
    seen: Vec<(PathBuf, u64, Option<SystemTime>)>,
    sighup: Arc<AtomicBool>,
    every: Duration,
    last_poll: Instant,
}

impl RuleReloader {
    /// Watches `dir`, reloading with the same `--param` overrides and Sigma options. SIGHUP
    /// forces a reload.
    pub fn new(
        dir: PathBuf,
        overrides: Vec<ParamOverride>,
        sigma: SigmaOptions,
        every: Duration,
    ) -> Self {
        let sighup = Arc::new(AtomicBool::new(false));
        #[cfg(unix)]
        if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGHUP, sighup.clone()) {
            tracing::warn!(
                "cannot listen for SIGHUP ({e}); rule changes are still picked up by polling"
            );
        }
        let mut r = RuleReloader {
            seen: Vec::new(),
            dir,
            overrides,
            sigma,
            sighup,
            every,
            last_poll: Instant::now(),
        };
        r.seen = r.listing();
        r
    }

    fn listing(&self) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
        let rules = gatewatch_rules::rule_paths(&self.dir).unwrap_or_default();
        // A rule's `NAME.tests.toml` is part of it (its tests are parsed with it); watch it too.
        let tests: Vec<PathBuf> = rules
            .iter()
            .map(|p| gatewatch_rules::tests_path(&p.to_string_lossy()))
            .filter(|p| p.is_file())
            .collect();
        let mut files: Vec<_> = rules
            .into_iter()
            .chain(tests)
            .map(|p| {
                let meta = std::fs::metadata(&p).ok();
                let len = meta.as_ref().map_or(0, |m| m.len());
                let modified = meta.and_then(|m| m.modified().ok());
                (p, len, modified)
            })
            .collect();
        files.sort();
        files
    }

    /// A freshly loaded rule set if the directory changed (or SIGHUP arrived) since the last call.
    pub fn poll(&mut self) -> Option<Result<Vec<CompiledRule>, RuleError>> {
        let hup = self.sighup.swap(false, Ordering::Relaxed);
        if !hup && self.last_poll.elapsed() < self.every {
            return None;
        }
        self.last_poll = Instant::now();
        let listing = self.listing();
        if !hup && listing == self.seen {
            return None;
        }
        self.seen = listing;
        Some(
            gatewatch_rules::load_dir_with(&self.dir, &self.overrides, &self.sigma)
                .map(|set| set.rules),
        )
    }
}
