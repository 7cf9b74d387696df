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

/// Where a row goes (see [`RuleWindows::place`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// Start of its pane.
    pub pane: i64,
    /// End of its pane (saturating).
    pane_end: i64,
    /// End of the last window covering it (the window starting at `pane`; saturating): the row
    /// is late under a watermark at or past this.
    pub last_end: i64,
}

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

    /// Where event time `t` goes: its pane and the end of the last window covering it; `None`
    /// if not representable. `hint`, an earlier row's place, is returned again when `t` lies
    /// in the same pane: rows of a batch mostly share one or two panes, and a 64-bit division
    /// per row and rule is then saved.
    pub fn place(&self, t: i64, hint: Option<Place>) -> Option<Place> {
        if let Some(h) = hint.filter(|h| h.pane <= t && t < h.pane_end) {
            return Some(h);
        }
        let pane = self.pane_start(t)?;
        Some(Place {
            pane,
            pane_end: end_of(pane, self.slide_ms),
            last_end: end_of(pane, self.size_ms),
        })
    }

    /// Whether a row placed at `place` ([`place`](Self::place); `None`: its time cannot be
    /// windowed) arriving under its partition's watermark `own` is late: late by that
    /// watermark, or every window covering it already closed here (a partition that joined the
    /// task after the others had moved on).
    pub fn late_at(&self, place: Option<Place>, own: i64) -> bool {
        place.is_none_or(|p| p.last_end <= own || p.last_end <= self.closed_through)
    }

    /// Whether a row at `t` arriving under watermark `wm` is late: every window covering it
    /// closed (or its time cannot be windowed at all).
    pub fn is_late(&self, t: i64, wm: i64) -> bool {
        self.place(t, None).is_none_or(|p| p.last_end <= wm)
    }

    /// Whether moving the watermark to `wm` would close a window: one may end in
    /// `(closed_through, wm]` (window ends are multiples of the slide).
    pub fn would_close(&self, wm: i64) -> bool {
        self.next_close().is_some_and(|b| wm >= b)
    }

    /// The lowest watermark that closes a window: the first window end (a multiple of the
    /// slide) after `closed_through`; `None` when no representable watermark can. Fixed until
    /// [`close_until`](Self::close_until) moves `closed_through`, so a loop over rows asks once.
    pub fn next_close(&self) -> Option<i64> {
        let s = self.slide_ms;
        self.closed_through
            .div_euclid(s)
            .checked_add(1)
            .and_then(|k| k.checked_mul(s))
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

    /// `place` with any hint agrees with `place` without one, and `would_close` through
    /// `next_close` agrees with the division it replaces, over the whole i64 range and after
    /// closes at the edges.
    #[test]
    fn places_and_closes_agree_with_the_division_at_every_edge() {
        let edges = [
            i64::MIN,
            i64::MIN + 1,
            -60_001,
            -60_000,
            -1,
            0,
            1,
            59_999,
            60_000,
            i64::MAX - 1,
            i64::MAX,
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut times: Vec<i64> = edges.to_vec();
        for _ in 0..2_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            times.push(seed as i64 >> (seed % 40));
        }
        for (size, slide) in [
            (60_000, 60_000),
            (600_000, 60_000),
            (1, 1),
            (i64::MAX, i64::MAX),
            (7, 7),
        ] {
            for closed in [
                None,
                Some(i64::MIN),
                Some(-1),
                Some(0),
                Some(59_999),
                Some(i64::MAX),
            ] {
                let mut w: RuleWindows<()> = RuleWindows::new(size, slide);
                if let Some(c) = closed {
                    w.close_until::<()>(c, |_, _| Ok(())).unwrap();
                }
                let mut hint = None;
                for &t in &times {
                    let fresh = w.place(t, None);
                    assert_eq!(fresh.map(|p| p.pane), w.pane_start(t), "pane of {t}");
                    assert_eq!(w.place(t, hint), fresh, "t {t} with hint {hint:?}");
                    hint = fresh.or(hint);
                    let old = t > w.closed_through()
                        && t.div_euclid(w.slide_ms) > w.closed_through().div_euclid(w.slide_ms);
                    assert_eq!(
                        w.would_close(t),
                        old,
                        "watermark {t} after {closed:?}, {size}/{slide}"
                    );
                }
            }
        }
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
