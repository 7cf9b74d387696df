//! The main loop: decoded chunks in input order, worker output, rule reloads, idle partitions,
//! commit rounds and progress, until the input ends.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use crossbeam_channel::{Receiver, Select};
use gatewatch_engine::RuleSet;
use gatewatch_ingest::SourceItem;

use super::{Main, TICK};
use crate::observe;
use crate::reload::RuleReloader;
use crate::threads::{current, FromDecoder};
use crate::worker::{FromWorker, ToWorker};

pub(super) fn main_loop(
    m: &mut Main<'_>,
    from_decoders: &[Receiver<FromDecoder>],
    out_rx: &Receiver<FromWorker>,
    reloader: &mut Option<RuleReloader>,
    interactive: bool,
) -> Result<()> {
    let mut next = 0;
    let mut first_data: Option<Instant> = None;
    let mut last_data = Instant::now();
    let mut decoders_open = true;
    while decoders_open {
        let mut sel = Select::new();
        let i_dec = sel.recv(&from_decoders[next]);
        let i_out = sel.recv(out_rx);
        match sel.select_timeout(TICK) {
            Ok(op) if op.index() == i_dec => match op.recv(&from_decoders[next]) {
                Ok(item) => {
                    next = (next + 1) % from_decoders.len();
                    match item {
                        FromDecoder::Error(e) => bail!(e),
                        FromDecoder::Event(SourceItem::Assigned(a)) => m.on_assigned(a)?,
                        FromDecoder::Event(SourceItem::Revoked(r)) => m.on_revoked(r)?,
                        FromDecoder::Event(SourceItem::Shuffled(r)) => m.on_shuffled(r)?,
                        FromDecoder::Event(SourceItem::Chunk(_)) => {}
                        FromDecoder::Decoded(decoded, masks) => {
                            first_data.get_or_insert_with(Instant::now);
                            m.on_decoded(*decoded, masks)?;
                            last_data = Instant::now();
                        }
                    }
                }
                Err(_) => decoders_open = false,
            },
            Ok(op) if op.index() == i_out => match op.recv(out_rx) {
                Ok(msg) => m.on_worker(msg)?,
                Err(_) => bail!("every task worker stopped"),
            },
            Ok(_) => {}
            Err(_) => {}
        }
        if let Some(r) = reloader.as_mut() {
            match r.poll() {
                Some(Ok(rules)) => {
                    let old = current(&m.rules);
                    let set = Arc::new(RuleSet::new(rules, old.generation + 1, old.traffic));
                    *m.rules.write().unwrap_or_else(PoisonError::into_inner) = set.clone();
                    m.sequencer.set_groups(set.route_groups());
                    if let Some(h) = m.hop.as_mut() {
                        h.reload(&set);
                    }
                    for w in &m.workers {
                        w.send(ToWorker::Rules(set.clone()))
                            .map_err(|_| anyhow::anyhow!("a task worker stopped"))?;
                    }
                    tracing::info!(rules = %set.ids().join(","), "rules reloaded");
                    if m.cfg.observe.is_some() {
                        observe::reload(true);
                    }
                }
                Some(Err(e)) => {
                    tracing::error!("rule reload rejected, still running the last good rules: {e}");
                    if m.cfg.observe.is_some() {
                        observe::reload(false);
                    }
                }
                None => {}
            }
        }
        if interactive {
            if let Some(idle) = m.cfg.idle_timeout {
                m.on_idle(idle)?;
            }
        }
        m.try_commit()?;
        if let Some(k) = m.kafka.as_mut().filter(|_| m.pending_commit.is_none()) {
            let parts = m.sequencer.partitions();
            k.maybe_start(&m.sequencer, &parts, &m.workers);
        }
        m.progress();
        if let Some(h) = &m.cfg.observe {
            h.beat();
        }
    }
    m.summary.active =
        first_data.map_or(Duration::ZERO, |f| last_data.saturating_duration_since(f));
    Ok(())
}
