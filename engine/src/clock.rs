//! The event-time clock of one source partition: a watermark no single record can move.
//!
//! A naive watermark (newest event time − lateness) is blinded by one record dated in the
//! future: every later row becomes late. This clock instead follows a **robust maximum**, the
//! `confirm`-th largest event time it has accepted (K = 3 by default), and a record more than
//! `max_jump` ahead of that maximum is **held** in a small quarantine instead of processed:
//!
//! * it is **released** (processed, in arrival order) once `confirm − 1` later records agree
//!   with it, i.e. are not more than `max_jump` behind it: a quiet night in a log file, a
//!   partition catching up, or simply a sparse log;
//! * it is **rejected** (dead-lettered with reason `time_jump`) if that has not happened within
//!   the next `hold_records` records, or when the quarantine is full (oldest first).
//!
//! Until `confirm` records have been accepted there is no reference, so the first records wait
//! for each other the same way: a future-dated first record cannot set the clock either.
//!
//! Every decision depends only on the partition's record order, never on the wall clock, so a
//! replay of the same records decides the same; [`ClockSnapshot`] captures the state between
//! two records so a task rebuilt elsewhere continues exactly (see `checkpoint`).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::time::watermark_of;

/// The watermark before any event: nothing can be late yet.
pub const NO_WATERMARK: i64 = i64::MIN;

/// How a partition's clock treats event times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockConfig {
    /// How far behind the robust maximum an event may arrive and still be windowed.
    pub lateness_ms: i64,
    /// K: how many records must agree before event time moves (the watermark follows the
    /// K-th largest accepted time). 1 disables the protection.
    pub confirm: usize,
    /// A record more than this far ahead of the robust maximum is held until confirmed.
    /// Size it for the clock skew between gateway nodes writing one partition.
    pub max_jump_ms: i64,
    /// A held record not confirmed within this many later records is rejected.
    pub hold_records: u64,
    /// At most this many records are held at once; beyond, the oldest is rejected.
    pub hold_capacity: usize,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            lateness_ms: 5_000,
            confirm: 3,
            max_jump_ms: 600_000,
            hold_records: 10_000,
            hold_capacity: 256,
        }
    }
}

/// What to do with records, in processing order.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<T> {
    /// Process the record just observed; `wm_before` decides whether it is late.
    Current {
        /// The watermark in force when it is processed.
        wm_before: i64,
    },
    /// Process a record held earlier, now confirmed.
    Released {
        /// Its offset.
        offset: i64,
        /// Its event time.
        time: i64,
        /// What was kept of it when it was held (`None` when it was held before a restore:
        /// see [`ClockSnapshot`]).
        payload: Option<T>,
        /// The watermark in force when it is processed.
        wm_before: i64,
    },
    /// Dead-letter a held record: its jump in time was never confirmed.
    Rejected {
        /// Its offset.
        offset: i64,
        /// Its event time.
        time: i64,
        /// What was kept of it (`None` if held before a restore).
        payload: Option<T>,
    },
}

#[derive(Debug, Clone)]
struct Held<T> {
    seq: u64,
    offset: i64,
    time: i64,
    agreed: usize,
    payload: Option<T>,
}

/// A held record as saved in a snapshot (its payload is not saved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldMark {
    /// Record sequence number in the partition.
    pub seq: u64,
    /// Source offset.
    pub offset: i64,
    /// Event time.
    pub time: i64,
    /// Later records that agreed with it so far.
    pub agreed: usize,
}

/// The clock's whole state between two records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClockSnapshot {
    /// The largest accepted times, ascending (at most `confirm`).
    pub top: Vec<i64>,
    /// The watermark.
    pub watermark: i64,
    /// Records observed.
    pub seq: u64,
    /// Records held.
    pub held: Vec<HeldMark>,
}

/// Counters of what the clock decided.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ClockStats {
    /// Records held for a while.
    pub held: u64,
    /// Held records later released.
    pub released: u64,
    /// Held records rejected.
    pub rejected: u64,
}

/// One partition's event-time clock.
#[derive(Debug, Clone)]
pub struct PartitionClock<T> {
    cfg: ClockConfig,
    top: Vec<i64>,
    watermark: i64,
    seq: u64,
    held: VecDeque<Held<T>>,
    stats: ClockStats,
}

impl<T> PartitionClock<T> {
    /// A clock with nothing seen.
    pub fn new(cfg: ClockConfig) -> Self {
        PartitionClock {
            cfg,
            top: Vec::new(),
            watermark: NO_WATERMARK,
            seq: 0,
            held: VecDeque::new(),
            stats: ClockStats::default(),
        }
    }

    /// A clock continuing from a snapshot; held records come back without payload.
    pub fn restore(cfg: ClockConfig, s: &ClockSnapshot) -> Self {
        let mut top = s.top.clone();
        top.sort_unstable();
        let k = cfg.confirm.max(1);
        if top.len() > k {
            top.drain(..top.len() - k);
        }
        PartitionClock {
            cfg,
            top,
            watermark: s.watermark,
            seq: s.seq,
            held: s
                .held
                .iter()
                .map(|h| Held {
                    seq: h.seq,
                    offset: h.offset,
                    time: h.time,
                    agreed: h.agreed,
                    payload: None,
                })
                .collect(),
            stats: ClockStats::default(),
        }
    }

    /// The state now, for a checkpoint.
    pub fn snapshot(&self) -> ClockSnapshot {
        ClockSnapshot {
            top: self.top.clone(),
            watermark: self.watermark,
            seq: self.seq,
            held: self
                .held
                .iter()
                .map(|h| HeldMark {
                    seq: h.seq,
                    offset: h.offset,
                    time: h.time,
                    agreed: h.agreed,
                })
                .collect(),
        }
    }

    /// The current watermark (never goes back).
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// The robust maximum: the K-th largest accepted time, once K records were accepted.
    pub fn robust_max(&self) -> Option<i64> {
        (self.top.len() >= self.cfg.confirm.max(1)).then(|| self.top[0])
    }

    /// Counters so far.
    pub fn stats(&self) -> ClockStats {
        self.stats
    }

    /// Lowest offset of a held record: the commit point must not pass it.
    pub fn held_offset(&self) -> Option<i64> {
        self.held.iter().map(|h| h.offset).min()
    }

    /// Records held now.
    pub fn held_len(&self) -> usize {
        self.held.len()
    }

    /// Raises the watermark to at least `wm` (an idle live tail, or the watermark a restored
    /// task had reached before it moved).
    pub fn raise_to(&mut self, wm: i64) {
        self.watermark = self.watermark.max(wm);
    }

    /// End of input: nothing more can confirm a jump. A held record that every later record
    /// agreed with (the tail of a sparse log, a jump at the very end) is released; one that
    /// later records contradicted (a forged time followed by ordinary traffic) is rejected.
    pub fn finish(&mut self, out: &mut Vec<Step<T>>) {
        while let Some(h) = self.held.pop_front() {
            let after = (self.seq - h.seq) as usize;
            if h.agreed >= after {
                let wm_before = self.watermark;
                self.accept(h.time);
                self.stats.released += 1;
                out.push(Step::Released {
                    offset: h.offset,
                    time: h.time,
                    payload: h.payload,
                    wm_before,
                });
            } else {
                self.stats.rejected += 1;
                out.push(Step::Rejected {
                    offset: h.offset,
                    time: h.time,
                    payload: h.payload,
                });
            }
        }
    }

    fn accept(&mut self, t: i64) {
        let k = self.cfg.confirm.max(1);
        if self.top.len() < k {
            let at = self.top.partition_point(|&x| x < t);
            self.top.insert(at, t);
        } else if t > self.top[0] {
            self.top.remove(0);
            let at = self.top.partition_point(|&x| x < t);
            self.top.insert(at, t);
        }
        if let Some(m) = self.robust_max() {
            self.watermark = self.watermark.max(watermark_of(m, self.cfg.lateness_ms));
        }
    }

    fn within_reach(&self, t: i64) -> bool {
        self.robust_max()
            .is_some_and(|m| t <= m.saturating_add(self.cfg.max_jump_ms))
    }

    /// Releases, in arrival order, every held record now confirmed or within reach of the
    /// robust maximum; repeats while releases move the maximum.
    fn release(&mut self, out: &mut Vec<Step<T>>) {
        let k = self.cfg.confirm.max(1);
        loop {
            let pos = self
                .held
                .iter()
                .position(|h| h.agreed + 1 >= k || self.within_reach(h.time));
            let Some(i) = pos else { return };
            let Some(h) = self.held.remove(i) else { return };
            let wm_before = self.watermark;
            self.accept(h.time);
            self.stats.released += 1;
            out.push(Step::Released {
                offset: h.offset,
                time: h.time,
                payload: h.payload,
                wm_before,
            });
        }
    }

    /// Observes the partition's next record (event time `t`, source `offset`) and appends what
    /// to process or dead-letter, in order, to `out`. `payload` is called only if the record
    /// is held, to keep what is needed to process it later.
    pub fn observe(
        &mut self,
        t: i64,
        offset: i64,
        payload: impl FnOnce() -> T,
        out: &mut Vec<Step<T>>,
    ) {
        self.seq += 1;
        let seq = self.seq;
        // Records held for longer than `hold_records` were never confirmed.
        while self
            .held
            .front()
            .is_some_and(|h| seq.saturating_sub(h.seq) > self.cfg.hold_records)
        {
            if let Some(h) = self.held.pop_front() {
                self.stats.rejected += 1;
                out.push(Step::Rejected {
                    offset: h.offset,
                    time: h.time,
                    payload: h.payload,
                });
            }
        }
        // This record agrees with every held one it is not far behind.
        let jump = self.cfg.max_jump_ms;
        for h in self.held.iter_mut() {
            if t >= h.time.saturating_sub(jump) {
                h.agreed += 1;
            }
        }
        if self.within_reach(t) {
            out.push(Step::Current {
                wm_before: self.watermark,
            });
            self.accept(t);
        } else {
            self.stats.held += 1;
            self.held.push_back(Held {
                seq,
                offset,
                time: t,
                agreed: 0,
                payload: Some(payload()),
            });
            if self.held.len() > self.cfg.hold_capacity.max(1) {
                if let Some(h) = self.held.pop_front() {
                    self.stats.rejected += 1;
                    out.push(Step::Rejected {
                        offset: h.offset,
                        time: h.time,
                        payload: h.payload,
                    });
                }
            }
        }
        self.release(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn cfg() -> ClockConfig {
        ClockConfig {
            lateness_ms: 0,
            confirm: 3,
            max_jump_ms: 10 * MIN,
            hold_records: 100,
            hold_capacity: 8,
        }
    }

    /// Feeds times (offset = index) and returns the processing order as (offset, wm_before)
    /// plus the rejected offsets.
    fn feed(clock: &mut PartitionClock<usize>, times: &[i64]) -> (Vec<(i64, i64)>, Vec<i64>) {
        let mut done = Vec::new();
        let mut rejected = Vec::new();
        let mut out = Vec::new();
        for (i, &t) in times.iter().enumerate() {
            out.clear();
            clock.observe(t, i as i64, || i, &mut out);
            for s in out.drain(..) {
                match s {
                    Step::Current { wm_before } => done.push((i as i64, wm_before)),
                    Step::Released {
                        offset, wm_before, ..
                    } => done.push((offset, wm_before)),
                    Step::Rejected { offset, .. } => rejected.push(offset),
                }
            }
        }
        (done, rejected)
    }

    #[test]
    fn first_records_wait_for_each_other_then_flow() {
        let mut c = PartitionClock::new(cfg());
        let (done, rejected) = feed(&mut c, &[1000, 2000, 3000, 4000, 5000, 6000]);
        let order: Vec<i64> = done.iter().map(|d| d.0).collect();
        assert_eq!(order, [0, 1, 2, 3, 4, 5], "held at first, then in order");
        assert!(rejected.is_empty());
        assert_eq!(c.held_len(), 0, "steady state: nothing held");
        assert_eq!(c.robust_max(), Some(4000));
        assert_eq!(c.watermark(), 4000);
    }

    #[test]
    fn one_future_record_cannot_move_the_watermark_and_is_rejected() {
        let mut c = PartitionClock::new(cfg());
        let year = 365 * 24 * 60 * MIN;
        let mut times: Vec<i64> = (0..10).map(|i| i * 1000).collect();
        times.push(year);
        times.extend((10..200).map(|i| i * 1000));
        let (done, rejected) = feed(&mut c, &times);
        assert_eq!(rejected, [10], "the future record is dead-lettered");
        let mut out = Vec::new();
        c.finish(&mut out);
        assert!(out.is_empty());
        assert_eq!(done.len(), 200);
        assert!(done.iter().all(|(_, wm)| *wm < 200_000));
        assert_eq!(c.robust_max(), Some(197_000));
    }

    #[test]
    fn a_future_record_at_the_end_of_a_file_is_rejected_unless_nothing_followed() {
        let year = 365 * 24 * 60 * MIN;
        let mut times: Vec<i64> = (0..10).map(|i| i * 1000).collect();
        times.push(year);
        times.extend([11_000, 12_000]);
        let mut c = PartitionClock::new(cfg());
        let (_, rejected) = feed(&mut c, &times);
        assert!(rejected.is_empty());
        let mut out = Vec::new();
        c.finish(&mut out);
        assert!(
            matches!(out[..], [Step::Rejected { offset: 10, .. }]),
            "{out:?}"
        );
    }

    #[test]
    fn tiny_inputs_are_processed_whole() {
        for n in 1..6 {
            let mut c = PartitionClock::new(cfg());
            let times: Vec<i64> = (0..n).map(|i| i * 1000).collect();
            let (mut done, rejected) = feed(&mut c, &times);
            assert!(rejected.is_empty());
            let mut out = Vec::new();
            c.finish(&mut out);
            for s in out {
                if let Step::Released { offset, .. } = s {
                    done.push((offset, 0));
                }
            }
            let mut order: Vec<i64> = done.iter().map(|d| d.0).collect();
            order.sort_unstable();
            assert_eq!(order, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_future_first_record_cannot_set_the_clock() {
        let mut c = PartitionClock::new(cfg());
        let mut times = vec![i64::MAX / 2];
        times.extend((0..150).map(|i| i * 1000));
        let (done, rejected) = feed(&mut c, &times);
        assert_eq!(rejected, [0]);
        assert_eq!(done.len(), 150);
    }

    #[test]
    fn a_quiet_night_is_confirmed_and_processed_in_order() {
        let mut c = PartitionClock::new(cfg());
        let mut times: Vec<i64> = (0..10).map(|i| i * 1000).collect();
        let morning = 8 * 60 * MIN;
        times.extend((0..10).map(|i| morning + i * 1000));
        let (done, rejected) = feed(&mut c, &times);
        assert!(rejected.is_empty());
        let order: Vec<i64> = done.iter().map(|d| d.0).collect();
        assert_eq!(order, (0..20).collect::<Vec<_>>(), "arrival order is kept");
        assert!(c.robust_max().unwrap() >= morning);
    }

    #[test]
    fn a_sparse_log_is_delayed_not_rejected() {
        let mut c = PartitionClock::new(cfg());
        let times: Vec<i64> = (0..20).map(|i| i * 60 * MIN).collect();
        let (done, rejected) = feed(&mut c, &times);
        assert!(rejected.is_empty());
        assert_eq!(done.len(), 18, "the last two wait for confirmation");
        let mut out = Vec::new();
        c.finish(&mut out);
        assert!(
            out.iter().all(|s| matches!(s, Step::Released { .. })),
            "at the end of input they are processed: {out:?}"
        );
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn the_quarantine_is_bounded() {
        let mut c = PartitionClock::new(cfg());
        let mut times: Vec<i64> = (0..10).map(|i| i * 1000).collect();
        // Future records, each far behind the one before: none agrees with another.
        times.extend((1..=50).rev().map(|i| i * 1_000 * MIN));
        let (_, rejected) = feed(&mut c, &times);
        assert!(c.held_len() <= 8);
        assert_eq!(rejected.len(), 50 - c.held_len());
    }

    #[test]
    fn snapshot_and_restore_decide_the_same() {
        let year = 365 * 24 * 60 * MIN;
        let mut times: Vec<i64> = (0..40).map(|i| i * 700).collect();
        times.insert(15, year);
        times.insert(30, 9 * 60 * MIN);
        times.extend((0..40).map(|i| 9 * 60 * MIN + i * 700));
        let mut whole = PartitionClock::new(cfg());
        let (done_whole, rej_whole) = feed(&mut whole, &times);

        let cut = 33;
        let mut first = PartitionClock::new(cfg());
        let (mut done, mut rej) = feed(&mut first, &times[..cut]);
        let mut second = PartitionClock::<usize>::restore(cfg(), &first.snapshot());
        let mut out = Vec::new();
        for (i, &t) in times.iter().enumerate().skip(cut) {
            out.clear();
            second.observe(t, i as i64, || i, &mut out);
            for s in out.drain(..) {
                match s {
                    Step::Current { wm_before } => done.push((i as i64, wm_before)),
                    Step::Released {
                        offset, wm_before, ..
                    } => done.push((offset, wm_before)),
                    Step::Rejected { offset, .. } => rej.push(offset),
                }
            }
        }
        assert_eq!(done, done_whole);
        assert_eq!(rej, rej_whole);
        assert_eq!(second.snapshot(), whole.snapshot());
    }

    #[test]
    fn hostile_times_never_panic() {
        let mut c = PartitionClock::new(cfg());
        let times = [
            i64::MIN,
            i64::MAX,
            0,
            -1,
            i64::MAX - 1,
            i64::MIN + 1,
            1_700_000_000_000,
            i64::MAX,
            i64::MAX,
            i64::MAX,
        ];
        let _ = feed(&mut c, &times);
        assert!(c.held_len() <= 8, "the quarantine stays bounded");
    }
}
