//! Event-time arithmetic that cannot overflow.
//!
//! Event times come from the input, which attackers write. Every computation on them here is
//! checked or saturating: a time near `i64::MIN` or `i64::MAX` yields `None` (the row cannot
//! be windowed and is counted as out of range) or a saturated bound, never a wrapped value and
//! never a loop over an absurd range. Ingest already rejects times outside 2000–2100 (see
//! `gatewatch_ingest::decode::check_event_time`); this module is the second line of defence.

/// Start of the pane (of length `slide`) holding `t`: `floor(t / slide) · slide`, or `None`
/// when that is not representable. `slide` must be positive.
///
/// ```
/// use gatewatch_engine::time::pane_start;
/// assert_eq!(pane_start(125, 60), Some(120));
/// assert_eq!(pane_start(-1, 60), Some(-60));
/// assert_eq!(pane_start(i64::MIN, 7), None);
/// ```
pub fn pane_start(t: i64, slide: i64) -> Option<i64> {
    if slide <= 0 {
        return None;
    }
    t.div_euclid(slide).checked_mul(slide)
}

/// `a + b`, saturating at the i64 bounds: for window ends and horizons, where "never" is the
/// right reading of an overflow.
pub fn end_of(start: i64, len: i64) -> i64 {
    start.saturating_add(len)
}

/// Starts of the windows (size `size`, slide `slide`) that cover the pane starting at `pane`,
/// earliest first: `pane - size + slide, ..., pane`. Empty if any bound is not representable.
/// At most `size / slide` values: the loop is bounded by the window shape, never by `pane`.
pub fn window_starts(pane: i64, size: i64, slide: i64) -> impl Iterator<Item = i64> {
    let count = if slide > 0 && size >= slide {
        size / slide
    } else {
        0
    };
    let first = pane.checked_sub(size).and_then(|v| v.checked_add(slide));
    (0..count).filter_map(move |k| first?.checked_add(k.checked_mul(slide)?))
}

/// The watermark `max_seen - lateness`, saturating.
pub fn watermark_of(max_seen: i64, lateness: i64) -> i64 {
    max_seen.saturating_sub(lateness)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times that break naive arithmetic.
    const EDGES: &[i64] = &[
        i64::MIN,
        i64::MIN + 1,
        -1_000_000_007,
        -60_001,
        -1,
        0,
        1,
        59_999,
        60_000,
        1_700_000_000_000,
        i64::MAX - 60_000,
        i64::MAX - 1,
        i64::MAX,
    ];

    /// A small deterministic generator over the whole i64 range (no external crate needed).
    fn spread(n: usize) -> impl Iterator<Item = i64> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..n).map(move |_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as i64
        })
    }

    #[test]
    fn pane_start_is_floor_or_none_over_the_whole_range() {
        for t in EDGES.iter().copied().chain(spread(20_000)) {
            for slide in [1, 7, 1_000, 60_000, 3_600_000, i64::MAX] {
                match pane_start(t, slide) {
                    Some(p) => {
                        assert!(p <= t, "pane {p} after t {t}");
                        assert!(t - p < slide, "t {t} not in pane {p}+{slide}");
                        assert_eq!(p.rem_euclid(slide), 0);
                    }
                    None => assert!(
                        (t.div_euclid(slide) as i128) * (slide as i128) < i64::MIN as i128,
                        "{t} / {slide} is representable"
                    ),
                }
            }
            assert_eq!(pane_start(t, 0), None);
            assert_eq!(pane_start(t, -5), None);
        }
    }

    #[test]
    fn window_starts_are_bounded_and_cover_the_pane() {
        for t in EDGES.iter().copied().chain(spread(5_000)) {
            for (size, slide) in [(60_000, 60_000), (300_000, 60_000), (1_800_000, 300_000)] {
                let Some(pane) = pane_start(t, slide) else {
                    continue;
                };
                let starts: Vec<i64> = window_starts(pane, size, slide).collect();
                assert!(starts.len() as i64 <= size / slide);
                for s in &starts {
                    assert!(*s <= pane && pane < end_of(*s, size));
                }
                if pane.checked_sub(size).is_some() {
                    assert_eq!(starts.len() as i64, size / slide, "t={t}");
                }
            }
        }
    }

    #[test]
    fn saturating_helpers_never_wrap() {
        for t in EDGES.iter().copied().chain(spread(5_000)) {
            assert!(end_of(t, 60_000) >= t);
            assert!(watermark_of(t, 5_000) <= t);
        }
        assert_eq!(end_of(i64::MAX - 1, 10), i64::MAX);
        assert_eq!(watermark_of(i64::MIN + 1, 10), i64::MIN);
    }
}
