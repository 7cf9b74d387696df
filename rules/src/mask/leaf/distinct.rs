//! The distinct values of a text column, found once per batch and shared by every pattern asked
//! of it. The pack puts about fifteen regexes on `path`; a batch of 8k requests holds roughly a
//! third as many distinct paths as rows (ids vary, routes repeat; real gateways repeat more), so
//! each pattern runs on the distinct values and its answer is spread to the rows by index.
//! Patterns over `normalized_path(column)` read each distinct value's normalized form, made
//! once per batch for all of them.

use std::borrow::Cow;
use std::cell::RefCell;

use arrow::array::{Array, ArrayRef, StringArray};
use arrow::buffer::BooleanBuffer;

use super::{keep, same, Truth};
use crate::functions::normalize_path;

/// Distinct-value indexes kept per thread (the pack asks regexes of `path`, `query` and
/// `method`, and classifiers of `path`, `query`, `user_agent` and `client_ip`); each holds its
/// column and two `u32` per row until evicted.
const KEPT: usize = 8;

/// A column's rows by distinct value.
struct Distinct {
    /// The column indexed, held so its identity cannot be reused while remembered.
    column: ArrayRef,
    /// Per row, the index of its value among the distinct ones; NULL rows get `rows.len()`.
    keys: Vec<u32>,
    /// Per distinct value, in order of first appearance, the first row holding it.
    rows: Vec<u32>,
    /// Per distinct value, its `normalized_path` when that differs from the value; made on
    /// the first question about the normalized column.
    normalized: Option<Vec<Option<String>>>,
}

thread_local! {
    static INDEXES: RefCell<Vec<Distinct>> = const { RefCell::new(Vec::new()) };
}

impl Distinct {
    fn of(column: &ArrayRef, strings: &StringArray) -> Distinct {
        let n = strings.len();
        let mut index: foldhash::HashMap<&str, u32> =
            foldhash::HashMap::with_capacity_and_hasher(n / 2, Default::default());
        let mut rows = Vec::new();
        let mut keys = Vec::with_capacity(n);
        let mut nulls = Vec::new();
        for row in 0..n {
            if strings.is_null(row) {
                nulls.push(row);
                keys.push(0);
                continue;
            }
            let next = rows.len() as u32;
            let key = *index.entry(strings.value(row)).or_insert_with(|| {
                rows.push(row as u32);
                next
            });
            keys.push(key);
        }
        let null_key = rows.len() as u32;
        for row in nulls {
            keys[row] = null_key;
        }
        Distinct {
            column: column.clone(),
            keys,
            rows,
            normalized: None,
        }
    }
}

/// Runs `f` on the kept index of `column` (`strings` is the same column as text), made first
/// if there is none.
fn with_index<R>(
    column: &ArrayRef,
    strings: &StringArray,
    f: impl FnOnce(&mut Distinct) -> R,
) -> R {
    INDEXES.with(|kept| {
        let mut kept = kept.borrow_mut();
        let at = match kept.iter().position(|d| same(&d.column, column)) {
            Some(at) => at,
            None => keep(&mut kept, KEPT, Distinct::of(column, strings)),
        };
        f(&mut kept[at])
    })
}

/// Per row of `column`, the index of its value among the column's distinct values, from 0 in
/// order of first appearance; NULL rows share the index after the last value's.
pub(super) fn keys(column: &ArrayRef, strings: &StringArray) -> Vec<u32> {
    with_index(column, strings, |d| d.keys.clone())
}

impl Distinct {
    /// Makes each distinct value's `normalized_path` if not made yet.
    fn normalize(&mut self, strings: &StringArray) {
        if self.normalized.is_none() {
            let forms =
                self.rows
                    .iter()
                    .map(|&row| match normalize_path(strings.value(row as usize)) {
                        Cow::Owned(changed) => Some(changed),
                        Cow::Borrowed(_) => None,
                    });
            self.normalized = Some(forms.collect());
        }
    }

    /// The `i`-th distinct value (its normalized form when `normalized` and made).
    fn value<'s>(&'s self, strings: &'s StringArray, i: usize, normalized: bool) -> &'s str {
        let form = (self.normalized.as_ref())
            .filter(|_| normalized)
            .and_then(|f| f[i].as_deref());
        form.unwrap_or_else(|| strings.value(self.rows[i] as usize))
    }
}

/// Calls `each` once per distinct value of `column` (`strings` is the same column as text),
/// in index order; returns each row's index (NULL rows: the index after the last value's).
pub(super) fn each_value(
    column: &ArrayRef,
    strings: &StringArray,
    mut each: impl FnMut(&str),
) -> Vec<u32> {
    with_index(column, strings, |d| {
        for &row in &d.rows {
            each(strings.value(row as usize));
        }
        d.keys.clone()
    })
}

/// Where `is` holds on each row of `column` (`strings` is the same column as text), asking it
/// once per distinct value (of its `normalized_path` when `normalized`); NULL rows are neither
/// true nor false.
pub(super) fn answer(
    column: &ArrayRef,
    strings: &StringArray,
    normalized: bool,
    mut is: impl FnMut(&str) -> bool,
) -> Truth {
    with_index(column, strings, |d| {
        if normalized {
            d.normalize(strings);
        }
        // One answer per distinct value (the NULL rows' key is past the end: false).
        let hits: Vec<bool> = (0..d.rows.len())
            .map(|i| is(d.value(strings, i, normalized)))
            .collect();
        spread(&d.keys, |k| hits.get(k).copied().unwrap_or(false), strings)
    })
}

/// Each row's answer, its distinct value's (`hit(keys[row])`); NULL rows of `strings` are
/// neither true nor false.
pub(super) fn spread(keys: &[u32], hit: impl Fn(usize) -> bool, strings: &StringArray) -> Truth {
    let t = BooleanBuffer::collect_bool(keys.len(), |row| hit(keys[row] as usize));
    let f = match strings.nulls() {
        None => !&t,
        Some(valid) => &!&t & valid.inner(),
    };
    Truth { t, f }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Each distinct value is asked once; every row gets its value's answer; NULLs get none;
    /// a second question on the same column reuses the index, another column gets its own.
    #[test]
    fn each_distinct_value_is_asked_once_and_answers_every_row() {
        let values = [
            Some("/a"),
            Some("/b"),
            None,
            Some("/a"),
            Some("/c"),
            Some("/b"),
        ];
        let strings = StringArray::from(values.to_vec());
        let column: ArrayRef = Arc::new(strings.clone());
        let mut asked = Vec::new();
        let truth = answer(&column, &strings, false, |s| {
            asked.push(s.to_owned());
            s != "/b"
        });
        assert_eq!(asked, ["/a", "/b", "/c"]);
        let bits = |b: &BooleanBuffer| b.iter().collect::<Vec<_>>();
        assert_eq!(bits(&truth.t), [true, false, false, true, true, false]);
        assert_eq!(bits(&truth.f), [false, true, false, false, false, true]);

        let again = answer(&column, &strings, false, |s| s == "/c");
        assert_eq!(bits(&again.t), [false, false, false, false, true, false]);
        let other_strings = StringArray::from(vec!["/c", "/a"]);
        let other: ArrayRef = Arc::new(other_strings.clone());
        let fresh = answer(&other, &other_strings, false, |s| s == "/c");
        assert_eq!(bits(&fresh.t), [true, false]);
        assert_eq!(bits(&fresh.f), [false, true]);
    }

    /// Asked about the normalized column, the question sees each distinct value's
    /// `normalized_path` (made once, kept for the next question); asked about the raw column,
    /// the raw values.
    #[test]
    fn normalized_questions_see_normalized_values_and_raw_ones_do_not() {
        let strings = StringArray::from(vec![Some("/%2eENV"), Some("/a"), None, Some("//A")]);
        let column: ArrayRef = Arc::new(strings.clone());
        let mut asked = Vec::new();
        answer(&column, &strings, true, |s| {
            asked.push(s.to_owned());
            true
        });
        assert_eq!(asked, ["/.env", "/a", "/a"]);
        let again = answer(&column, &strings, true, |s| s == "/a");
        let bits = |b: &BooleanBuffer| b.iter().collect::<Vec<_>>();
        assert_eq!(bits(&again.t), [false, true, false, true]);
        let raw = answer(&column, &strings, false, |s| s == "/a");
        assert_eq!(bits(&raw.t), [false, true, false, false]);
    }
}
