//! Per-rule window bookkeeping: panes cut at the slide, and the windows over them.
//!
//! A tumbling window of size W is one pane; a sliding window (W, S) spans W/S panes of length
//! S. A row is stored once, in its pane, whatever the number of windows covering it, so sliding
//! windows cost no re-buffering. Window ends are multiples of S, which is what lets the engine
//! close windows exactly between the rows where the watermark crosses one.
//!
//! The pane content is generic ([`Pane`]): raw rows today for rules whose query needs them.
//! All arithmetic on event times is checked (see [`crate::time`]).

use std::collections::{BTreeMap, BTreeSet};

use crate::time::{end_of, pane_start, window_starts};

/// Open panes of one rule, with pane content `P`.
#[derive(Debug)]
pub struct RuleWindows<P> {
    size_ms: i64,
    slide_ms: i64,
    panes: BTreeMap<i64, P>,
    /// Every window whose end is at or before this has been closed.
    closed_through: i64,
}

impl<P> RuleWindows<P> {
    /// State for windows of `size_ms`, sliding by `slide_ms` (which divides it).
    pub fn new(size_ms: i64, slide_ms: i64) -> Self {
        RuleWindows {
            size_ms: size_ms.max(1),
            slide_ms: slide_ms.clamp(1, size_ms.max(1)),
            panes: BTreeMap::new(),
            closed_through: i64::MIN,
        }
    }

    /// Window size in ms.
    pub fn size_ms(&self) -> i64 {
        self.size_ms
    }

    /// Start of the pane holding event time `t`; `None` if not representable.
    pub fn pane_start(&self, t: i64) -> Option<i64> {
        pane_start(t, self.slide_ms)
    }

    /// Whether a row at `t` arriving under watermark `wm` is late: every window covering it
    /// closed (or its time cannot be windowed at all).
    pub fn is_late(&self, t: i64, wm: i64) -> bool {
        match self.pane_start(t) {
            Some(p) => end_of(p, self.size_ms) <= wm,
            None => true,
        }
    }

    /// Whether moving the watermark to `wm` would close a window: one may end in
    /// `(closed_through, wm]` (window ends are multiples of the slide).
    pub fn would_close(&self, wm: i64) -> bool {
        wm > self.closed_through
            && wm.div_euclid(self.slide_ms) > self.closed_through.div_euclid(self.slide_ms)
    }

    /// Every window ending at or before this has been closed.
    pub fn closed_through(&self) -> i64 {
        self.closed_through
    }

    /// The pane starting at `pane`, created empty if needed.
    pub fn pane_mut(&mut self, pane: i64) -> &mut P
    where
        P: Default,
    {
        self.panes.entry(pane).or_default()
    }

    /// Whether the pane starting at `pane` is open.
    pub fn has_pane(&self, pane: i64) -> bool {
        self.panes.contains_key(&pane)
    }

    /// The pane starting at `pane`, created by `make` if needed.
    pub fn pane_mut_with(&mut self, pane: i64, make: impl FnOnce() -> P) -> &mut P {
        self.panes.entry(pane).or_insert_with(make)
    }

    /// Closes every window ending at or before `wm`, earliest first: `on_window` gets each
    /// window's start and its panes (in time order). Panes no open window needs are dropped.
    pub fn close_until<E>(
        &mut self,
        wm: i64,
        mut on_window: impl FnMut(i64, &mut [&mut P]) -> Result<(), E>,
    ) -> Result<(), E> {
        if wm <= self.closed_through {
            return Ok(());
        }
        let (w, s) = (self.size_ms, self.slide_ms);
        let mut starts = BTreeSet::new();
        for &p in self.panes.keys() {
            for ws in window_starts(p, w, s) {
                let end = end_of(ws, w);
                if end > self.closed_through && end <= wm {
                    starts.insert(ws);
                }
            }
        }
        let mut result = Ok(());
        for ws in starts {
            let mut panes: Vec<&mut P> = self
                .panes
                .range_mut(ws..end_of(ws, w))
                .map(|(_, p)| p)
                .collect();
            if let Err(e) = on_window(ws, &mut panes) {
                result = Err(e);
                break;
            }
        }
        self.closed_through = wm;
        // A pane is needed until the last window covering it (start = the pane) closes.
        self.panes.retain(|p, _| end_of(*p, w) > wm);
        result
    }

    /// Open panes, by start.
    pub fn panes(&self) -> impl Iterator<Item = (&i64, &P)> {
        self.panes.iter()
    }

    /// Open panes, mutable.
    pub fn panes_mut(&mut self) -> impl Iterator<Item = (&i64, &mut P)> {
        self.panes.iter_mut()
    }

    /// Drops the panes `keep` refuses.
    pub fn retain(&mut self, mut keep: impl FnMut(&P) -> bool) {
        self.panes.retain(|_, p| keep(p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_windows_share_panes_and_close_in_order() {
        let mut w: RuleWindows<Vec<u32>> = RuleWindows::new(30, 10);
        w.pane_mut(w.pane_start(5).unwrap()).push(1);
        let p = w.pane_start(25).unwrap();
        w.pane_mut(p).extend([2, 3]);
        let mut closed = Vec::new();
        w.close_until::<()>(40, |start, panes| {
            closed.push((start, panes.iter().map(|p| p.len()).sum::<usize>()));
            Ok(())
        })
        .unwrap();
        // Windows ending at or before 40: [-20,10) [-10,20) [0,30) [10,40).
        assert_eq!(closed, [(-20, 1), (-10, 1), (0, 3), (10, 2)]);
        assert_eq!(w.panes().count(), 1, "pane 20 is still needed by [20,50)");
        assert!(w.is_late(5, 40) && !w.is_late(25, 40));
    }

    #[test]
    fn extreme_times_close_without_looping_or_overflowing() {
        let mut w: RuleWindows<Vec<u32>> = RuleWindows::new(300_000, 60_000);
        for t in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX] {
            if let Some(p) = w.pane_start(t) {
                w.pane_mut(p).push(0);
            }
        }
        let mut n = 0;
        w.close_until::<()>(i64::MAX, |_, _| {
            n += 1;
            Ok(())
        })
        .unwrap();
        assert!(n <= 6 * 5, "{n} windows");
        assert!(w.is_late(i64::MIN, i64::MAX));
    }
}
