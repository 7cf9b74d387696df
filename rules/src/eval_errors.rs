//! Rows and windows a rule cannot evaluate. A rule is code its author wrote over values an
//! attacker wrote: `100 / latency_ms` meets a record whose latency is 0, `CAST(x AS INT)` meets
//! text. Such an error belongs to that rule and those rows, not to the run: the rows that raise
//! it are found (by halving the batch) and left out of that rule only, every other row and rule
//! goes on, and each one is counted per rule (run summary, `gatewatch_rule_eval_errors_total`)
//! and the first few are logged with the error. A window whose query fails on some groups (the
//! part above the aggregate, for a group whose values it cannot take) or on some entities (a
//! query run on the window's rows) leaves those out; one whose failure cannot be narrowed down
//! gives no alert. Both are counted as failed windows.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

/// Errors logged per rule and kind; the rest are only counted.
const LOG_LIMIT: u64 = 10;

/// One rule's evaluation errors, shared by every thread evaluating it.
#[derive(Debug, Default)]
pub struct EvalErrors {
    rows: AtomicU64,
    windows: AtomicU64,
    logged: AtomicU64,
}

impl EvalErrors {
    /// Rows left out of the rule because evaluating them failed.
    pub fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    /// Windows whose query failed, on some groups (no alert from those) or as a whole.
    pub fn windows(&self) -> u64 {
        self.windows.load(Ordering::Relaxed)
    }

    /// Counts `n` rows left out of `rule` for `error`.
    pub fn rows_failed(&self, rule: &str, n: u64, error: &dyn std::fmt::Display) {
        let total = self.rows.fetch_add(n, Ordering::Relaxed) + n;
        if self.logged.fetch_add(1, Ordering::Relaxed) < LOG_LIMIT {
            tracing::warn!(
                rule,
                rows = n,
                total,
                "rule cannot evaluate these rows; they are left out of this rule only (fix the rule: guard the operation, e.g. NULLIF(x, 0), TRY_CAST): {error}"
            );
        }
    }

    /// Counts a window of `rule` whose query failed with `error`.
    pub fn window_failed(&self, rule: &str, error: &dyn std::fmt::Display) {
        let total = self.windows.fetch_add(1, Ordering::Relaxed) + 1;
        if self.logged.fetch_add(1, Ordering::Relaxed) < LOG_LIMIT {
            tracing::warn!(
                rule,
                total,
                "rule query failed on a closed window; what it failed on gives no alert (fix the rule: guard the operation, e.g. NULLIF(x, 0), TRY_CAST): {error}"
            );
        }
    }
}

/// The positions in `0..len` where `evaluates` fails on its own, found by halving: `evaluates`
/// is asked about ranges and must answer whether it evaluates the whole range without error.
/// The caller knows `0..len` fails as a whole. One failing row of `n` costs about `2n` rows of
/// evaluation in `2 log2 n` calls.
pub fn failing_positions(
    len: usize,
    evaluates: &mut dyn FnMut(Range<usize>) -> bool,
) -> Vec<usize> {
    let mut failing = Vec::new();
    // Ranges known to fail, to split; left halves first so positions come out ascending.
    let mut todo: Vec<Range<usize>> = Vec::with_capacity(32);
    todo.push(0..len);
    while let Some(r) = todo.pop() {
        if r.len() <= 1 {
            failing.extend(r);
            continue;
        }
        let mid = r.start + r.len() / 2;
        for half in [mid..r.end, r.start..mid] {
            if !half.is_empty() && !evaluates(half.clone()) {
                todo.push(half);
            }
        }
    }
    failing.sort_unstable();
    failing
}

/// The ranges of `0..len` between `failing` positions (ascending), empty ones left out.
pub fn between(len: usize, failing: &[usize]) -> Vec<Range<usize>> {
    let mut out = Vec::with_capacity(failing.len() + 1);
    let mut start = 0;
    for &f in failing.iter().chain(std::iter::once(&len)) {
        if f > start {
            out.push(start..f);
        }
        start = f + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_finds_exactly_the_failing_rows_in_few_calls() {
        for bad in [
            vec![0],
            vec![8191],
            vec![3, 4, 5000],
            vec![],
            (0..10).collect(),
        ] {
            let mut calls = 0;
            let got = failing_positions(8192, &mut |r| {
                calls += 1;
                !bad.iter().any(|b| r.contains(b))
            });
            assert_eq!(got, bad);
            assert!(
                calls <= 2 * 14 * bad.len().max(1),
                "{calls} calls for {bad:?}"
            );
        }
    }

    #[test]
    fn the_rest_is_the_ranges_between() {
        assert_eq!(between(10, &[]), vec![0..10]);
        assert_eq!(between(10, &[0, 9]), vec![1..9]);
        assert_eq!(between(10, &[3, 4, 7]), vec![0..3, 5..7, 8..10]);
        assert_eq!(between(1, &[0]), Vec::<Range<usize>>::new());
    }
}
