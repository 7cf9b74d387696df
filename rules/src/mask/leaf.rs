//! Evaluating the native leaves: regexes (one answer per column and pattern per batch, shared
//! by every rule that asks), classifiers compared with literals ([`classify`]) and integer `IN`
//! lists.

use std::cell::RefCell;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanBufferBuilder};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::{DataType, Int32Type, Int64Type};
use datafusion::error::{DataFusionError, Result};

use super::Truth;
use crate::functions::normalize_path;
use crate::thread_regex;

mod classify;
mod distinct;
mod set;

pub(super) use classify::{classify, Classifier, Test};
pub(super) use set::register;

/// Whole-column regex answers kept per thread: enough for the patterns one batch's rules ask
/// (the pack asks about 25, six of them in two to four rules; Sigma rules use
/// [`crate::sigma::matcher`] instead). Each holds two bitmaps of the batch's rows.
const KEPT: usize = 32;

/// A regex's answer on every row of a column.
struct Answer {
    /// The column answered, held so its identity cannot be reused while remembered.
    column: ArrayRef,
    pattern: String,
    /// Whether the pattern was matched against each value's `normalized_path`.
    normalized: bool,
    /// Where the pattern matches (`t`) and where it does not (`f`); NULLs in neither.
    truth: Truth,
}

thread_local! {
    static ANSWERS: RefCell<Vec<Answer>> = const { RefCell::new(Vec::new()) };
}

/// Whether `a` is the very array `b` (same allocation, length and offset).
fn same(a: &ArrayRef, b: &ArrayRef) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
        && a.len() == b.len()
        && a.offset() == b.offset()
}

/// Adds `entry` to a per-thread list of at most `limit` entries (the oldest leaves first);
/// its position. The lists key entries by a held array's identity ([`same`]).
fn keep<T>(list: &mut Vec<T>, limit: usize, entry: T) -> usize {
    if list.len() >= limit {
        list.remove(0);
    }
    list.push(entry);
    list.len() - 1
}

/// `column` (text, named `name`) against `pattern`, negated if asked. An answer on every row is
/// kept for the next rule asking the same of the same column. A pattern in the column's set
/// ([`set`]: every pattern planned on the column) is answered on every row from one set pass
/// per distinct value, whatever `open` says. Otherwise, on the rows of `open`
/// (all when `None`): the first rule that asks on most rows answers every row and the answer
/// is kept for the others; a rule asking on few open rows answers only those (and keeps
/// nothing).
pub(super) fn regex(
    (name, column): (&str, &ArrayRef),
    pattern: &str,
    normalized: bool,
    negated: bool,
    open: Option<&BooleanBuffer>,
) -> Result<Truth> {
    let kept = ANSWERS.with(|a| {
        (a.borrow().iter())
            .find(|e| same(&e.column, column) && e.normalized == normalized && e.pattern == pattern)
            .map(|e| e.truth.clone())
    });
    if let Some(truth) = kept {
        return Ok(truth.negated_if(negated));
    }
    let keep_answer = |truth: &Truth| {
        ANSWERS.with(|a| {
            let answer = Answer {
                column: column.clone(),
                pattern: pattern.to_owned(),
                normalized,
                truth: truth.clone(),
            };
            keep(&mut a.borrow_mut(), KEPT, answer);
        })
    };
    // Every pattern of the column in one pass per distinct value, when the pattern is in the
    // column's set.
    if let Some(strings) = column.as_string_opt::<i32>() {
        if let Some(truth) = set::answer(name, column, strings, pattern, normalized) {
            keep_answer(&truth);
            return Ok(truth.negated_if(negated));
        }
    }
    let rows = column.len();
    let few = open.filter(|o| o.count_set_bits() * 4 <= rows * 3);
    let truth = matches(column, pattern, normalized, few)?;
    if few.is_none() {
        keep_answer(&truth);
    }
    Ok(truth.negated_if(negated))
}

/// Where `pattern` matches `column` (each value's `normalized_path` if `normalized`), on the
/// rows of `open` (all when `None`: then each distinct value is matched once, see
/// [`distinct`]).
fn matches(
    column: &ArrayRef,
    pattern: &str,
    normalized: bool,
    open: Option<&BooleanBuffer>,
) -> Result<Truth> {
    let regex = thread_regex::compiled(pattern)
        .map_err(|e| DataFusionError::Execution(format!("filter regex: {e}")))?;
    let strings = column
        .as_string_opt::<i32>()
        .ok_or_else(|| DataFusionError::Plan("filter regex on a non-text column".into()))?;
    let rows = strings.len();
    if open.is_none() {
        return Ok(distinct::answer(column, strings, normalized, |s| {
            regex.is_match(s)
        }));
    }
    let is_match = |s: &str| {
        if normalized {
            regex.is_match(&normalize_path(s))
        } else {
            regex.is_match(s)
        }
    };
    let mut t = BooleanBufferBuilder::new(rows);
    let mut f = BooleanBufferBuilder::new(rows);
    t.append_n(rows, false);
    f.append_n(rows, false);
    let mut one = |row: usize| {
        if strings.is_valid(row) {
            if is_match(strings.value(row)) {
                t.set_bit(row, true);
            } else {
                f.set_bit(row, true);
            }
        }
    };
    match open {
        Some(o) => o.set_indices().for_each(&mut one),
        None => (0..rows).for_each(&mut one),
    }
    Ok(Truth {
        t: t.finish(),
        f: f.finish(),
    })
}

/// Integer `IN` answers kept per thread: the pack asks `status IN (401, 403)` in 13 rules, of
/// the same batch.
const KEPT_INT: usize = 8;

/// An integer `IN` list's answer on every row of a column (not negated).
struct IntAnswer {
    /// The column answered, held so its identity cannot be reused while remembered.
    column: ArrayRef,
    values: Vec<i64>,
    truth: Truth,
}

thread_local! {
    static INT_ANSWERS: RefCell<Vec<IntAnswer>> = const { RefCell::new(Vec::new()) };
}

/// An integer `column` `IN` (`NOT IN` if `negated`) `values`, on every row; the answer is
/// kept for the next rule asking about the same column.
pub(super) fn int_in(column: &ArrayRef, values: &[i64], negated: bool) -> Result<Truth> {
    let kept = INT_ANSWERS.with(|a| {
        (a.borrow().iter())
            .find(|e| e.values == values && same(&e.column, column))
            .map(|e| e.truth.clone())
    });
    if let Some(truth) = kept {
        return Ok(truth.negated_if(negated));
    }
    let truth = int_in_rows(column, values)?;
    INT_ANSWERS.with(|a| {
        let answer = IntAnswer {
            column: column.clone(),
            values: values.to_vec(),
            truth: truth.clone(),
        };
        keep(&mut a.borrow_mut(), KEPT_INT, answer);
    });
    Ok(truth.negated_if(negated))
}

/// Where `column`'s value is one of `values` (`t`) or not (`f`); NULLs in neither. Status
/// codes are read as they are stored (no widened copy) and looked up in a bitmap.
fn int_in_rows(column: &ArrayRef, values: &[i64]) -> Result<Truth> {
    let set = IntSet::new(values);
    let hit = match column.data_type() {
        DataType::Int32 => {
            let raw = column.as_primitive::<Int32Type>().values();
            BooleanBuffer::collect_bool(raw.len(), |i| set.has(i64::from(raw[i])))
        }
        DataType::Int64 => {
            let raw = column.as_primitive::<Int64Type>().values();
            BooleanBuffer::collect_bool(raw.len(), |i| set.has(raw[i]))
        }
        _ => {
            let wide = arrow::compute::cast(column, &DataType::Int64)?;
            let raw = wide.as_primitive::<Int64Type>().values();
            BooleanBuffer::collect_bool(raw.len(), |i| set.has(raw[i]))
        }
    };
    let miss = !&hit;
    Ok(match column.nulls() {
        None => Truth { t: hit, f: miss },
        Some(valid) => Truth {
            t: &hit & valid.inner(),
            f: &miss & valid.inner(),
        },
    })
}

/// A list of integers to test values against: a bitmap when every one is in 0..1024 (status
/// codes), else the list.
struct IntSet<'a> {
    bits: Option<[u64; 16]>,
    values: &'a [i64],
}

impl<'a> IntSet<'a> {
    fn new(values: &'a [i64]) -> IntSet<'a> {
        let mut bits = [0u64; 16];
        let small = values.iter().all(|&v| {
            let fits = (0..1024).contains(&v);
            if fits {
                bits[(v >> 6) as usize] |= 1 << (v & 63);
            }
            fits
        });
        IntSet {
            bits: small.then_some(bits),
            values,
        }
    }

    fn has(&self, v: i64) -> bool {
        match &self.bits {
            Some(bits) => (0..1024).contains(&v) && bits[(v >> 6) as usize] >> (v & 63) & 1 == 1,
            None => self.values.contains(&v),
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int32Array, StringArray};

    use super::*;

    /// Rules asking the same list of the same column share one answer (negated or not);
    /// another list, or the same values in another column, get their own.
    #[test]
    fn an_integer_list_is_answered_once_per_column() {
        let held = || INT_ANSWERS.with(|a| a.borrow().len());
        let status: ArrayRef = Arc::new(Int32Array::from(vec![Some(401), None, Some(200)]));
        let other: ArrayRef = Arc::new(Int32Array::from(vec![Some(401), None, Some(200)]));
        let before = held();
        let bits = |t: &Truth| {
            (
                t.t.iter().collect::<Vec<_>>(),
                t.f.iter().collect::<Vec<_>>(),
            )
        };
        let first = int_in(&status, &[401, 403], false).unwrap();
        assert_eq!(
            bits(&first),
            (vec![true, false, false], vec![false, false, true])
        );
        let negated = int_in(&status, &[401, 403], true).unwrap();
        assert_eq!(
            bits(&negated),
            (vec![false, false, true], vec![true, false, false])
        );
        assert_eq!(held(), before + 1);
        int_in(&status, &[200], false).unwrap();
        int_in(&other, &[401, 403], false).unwrap();
        assert_eq!(held(), before + 3);
    }

    /// A pattern of a column's set answered for one rule is kept for the next rule asking
    /// about the same column (the pack asks its login pattern in four rules).
    #[test]
    fn a_set_patterns_answer_is_kept_for_the_next_rule() {
        let held = || ANSWERS.with(|a| a.borrow().len());
        // A column name of its own: the set registry is shared by the process's tests.
        let name = "leaf_test_shared";
        set::register(name, "(?i)/login", false);
        let column: ArrayRef = Arc::new(StringArray::from(vec![Some("/Login"), None, Some("/x")]));
        let before = held();
        let first = regex((name, &column), "(?i)/login", false, false, None).unwrap();
        let bits = |t: &Truth| {
            (
                t.t.iter().collect::<Vec<_>>(),
                t.f.iter().collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            bits(&first),
            (vec![true, false, false], vec![false, false, true])
        );
        let again = regex((name, &column), "(?i)/login", false, true, None).unwrap();
        assert_eq!(
            bits(&again),
            (vec![false, false, true], vec![true, false, false])
        );
        assert_eq!(held(), before + 1);
    }
}
