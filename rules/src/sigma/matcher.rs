//! One multi-pattern pass per column for every Sigma string value: SigmaHQ's web rules are
//! hundreds of case-insensitive substrings of the request target, and matching each with its
//! own `ILIKE` scans every target hundreds of times. Instead each distinct value is registered
//! once per column (process-wide), and `sigma_match(column, 'column', anchor, 'ids', all)`
//! answers from a single ASCII-case-insensitive Aho-Corasick pass over the column, made once
//! per batch and shared by every rule that asks about the same column (by array identity, as
//! `functions::memo` does). Filter programs (`crate::mask`) call [`match_buffer`] directly;
//! the SQL function serves the other callers (a cast column, plain DataFusion evaluation).
//!
//! Values with wildcards, non-ASCII letters, `cased`, or empty values keep `ILIKE`/`LIKE`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, BooleanBufferBuilder};
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};

/// Where a value must sit in the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The whole field.
    Whole = 1,
    /// Anywhere.
    Contains = 2,
    /// At the start.
    StartsWith = 4,
    /// At the end.
    EndsWith = 8,
}

/// More values than this and new ones fall back to `ILIKE` (a bound on what hot reloads of
/// ever-changing rule sets can accumulate).
const MAX_VALUES: usize = 1 << 16;

/// Total length of the values up to which the automaton is a DFA.
const DFA_MAX_BYTES: usize = 64 << 10;

/// The values registered for one column, and their automaton.
#[derive(Default)]
struct Values {
    values: Vec<String>,
    ids: HashMap<String, u32>,
    automaton: Option<Arc<AhoCorasick>>,
}

/// Values per column: a column's pass looks only for the values rules ask of that column, so
/// a short method or extension value does not fire on every user agent.
#[derive(Default)]
struct Registry {
    columns: HashMap<String, Values>,
    total: usize,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

/// The id of a value (ASCII-lowercased) in the process-wide set of `column`, registering it;
/// `None` when the value cannot use the shared pass (empty, non-ASCII, or the set is full).
pub fn register(column: &str, value: &str) -> Option<u32> {
    if value.is_empty() || !value.is_ascii() {
        return None;
    }
    let value = value.to_ascii_lowercase();
    let mut guard = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    let reg = guard.get_or_insert_with(Registry::default);
    if let Some(id) = reg.columns.get(column).and_then(|c| c.ids.get(&value)) {
        return Some(*id);
    }
    if reg.total >= MAX_VALUES {
        return None;
    }
    reg.total += 1;
    let set = reg.columns.entry(column.to_owned()).or_default();
    let id = set.values.len() as u32;
    set.values.push(value.clone());
    set.ids.insert(value, id);
    set.automaton = None;
    Some(id)
}

/// The automaton over every value registered for `column`, built on first use after a
/// registration.
fn automaton(column: &str) -> Result<(Arc<AhoCorasick>, usize)> {
    let mut guard = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    let reg = guard.get_or_insert_with(Registry::default);
    let set = reg.columns.entry(column.to_owned()).or_default();
    if let Some(a) = &set.automaton {
        return Ok((a.clone(), set.values.len()));
    }
    // A DFA (one table lookup per byte) while the values are few enough for its tables to stay
    // small (SigmaHQ's web rules: about 15 KB of values); past that the crate's own choice, so
    // that rule sets of any size cannot blow up memory.
    let total: usize = set.values.iter().map(String::len).sum();
    let kind = (total <= DFA_MAX_BYTES).then_some(AhoCorasickKind::DFA);
    let a = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(kind)
        .build(&set.values)
        .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
    let a = Arc::new(a);
    set.automaton = Some(a.clone());
    Ok((a, set.values.len()))
}

/// Where each value was found in one column: per value id, the rows and anchor bits, so that
/// answering for one value costs its matches, not the column's length.
struct Found {
    rows: usize,
    by_value: foldhash::HashMap<u32, Vec<(u32, u8)>>,
    /// The number of registered values the pass knew: ids beyond it were registered later.
    known: usize,
}

impl Found {
    fn scan(column: &ArrayRef, name: &str) -> Result<Found> {
        let (ac, known) = automaton(name)?;
        let strings = column.as_string::<i32>();
        let mut found = Found {
            rows: strings.len(),
            by_value: foldhash::HashMap::default(),
            known,
        };
        let mut flags = vec![0u8; known];
        let mut touched: Vec<u32> = Vec::new();
        for row in 0..strings.len() {
            if strings.is_null(row) {
                continue;
            }
            let text = strings.value(row).as_bytes();
            for m in ac.find_overlapping_iter(text) {
                let id = m.pattern().as_u32();
                let slot = &mut flags[id as usize];
                if *slot == 0 {
                    touched.push(id);
                }
                *slot |= Anchor::Contains as u8;
                if m.start() == 0 {
                    *slot |= Anchor::StartsWith as u8;
                }
                if m.end() == text.len() {
                    *slot |= Anchor::EndsWith as u8;
                    if m.start() == 0 {
                        *slot |= Anchor::Whole as u8;
                    }
                }
            }
            for id in touched.drain(..) {
                found
                    .by_value
                    .entry(id)
                    .or_default()
                    .push((row as u32, flags[id as usize]));
                flags[id as usize] = 0;
            }
        }
        Ok(found)
    }

    /// The rows where any (with `all`: every) value of `ids` sits as `anchor` says.
    fn mask(&self, ids: &[u32], anchor: u8, all: bool) -> BooleanArray {
        let mut bits = BooleanBufferBuilder::new(self.rows);
        bits.append_n(self.rows, false);
        let rows_of = |id: &u32| {
            self.by_value
                .get(id)
                .into_iter()
                .flatten()
                .filter(move |(_, f)| f & anchor != 0)
                .map(|(row, _)| *row as usize)
        };
        if all && ids.len() > 1 {
            let mut count = vec![0u32; self.rows];
            for id in ids {
                for row in rows_of(id) {
                    count[row] += 1;
                }
            }
            for (row, c) in count.iter().enumerate() {
                if *c as usize == ids.len() {
                    bits.set_bit(row, true);
                }
            }
        } else {
            for row in ids.iter().flat_map(rows_of) {
                bits.set_bit(row, true);
            }
        }
        BooleanArray::new(bits.finish(), None)
    }
}

/// Scans kept per thread. Rules reading a column get the same array; a call on a new array made
/// for it (a cast, or DataFusion evaluating a filtered copy) is used once: recently used scans
/// are kept, so those never push out the batch's own. The bound also bounds the arrays kept
/// alive here.
const SCANS_KEPT: usize = 32;

thread_local! {
    static SCANS: RefCell<Vec<(ArrayRef, String, Arc<Found>)>> = const { RefCell::new(Vec::new()) };
}

/// The scan of `column` for the values of `name`, shared by every call on the same array.
fn scan(column: &ArrayRef, name: &str, id: u32) -> Result<Arc<Found>> {
    let hit = SCANS.with(|s| {
        let mut s = s.borrow_mut();
        let at = s.iter().position(|(a, n, f)| {
            Arc::ptr_eq(a, column)
                && n == name
                && a.offset() == column.offset()
                && a.len() == column.len()
                && (id as usize) < f.known
        })?;
        // Most recently used last.
        let entry = s.remove(at);
        let found = entry.2.clone();
        s.push(entry);
        Some(found)
    });
    if let Some(f) = hit {
        return Ok(f);
    }
    let found = Arc::new(Found::scan(column, name)?);
    SCANS.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() >= SCANS_KEPT {
            s.remove(0);
        }
        s.push((column.clone(), name.to_owned(), found.clone()));
    });
    Ok(found)
}

/// The rows of a text column where any (with `all`: every) registered value of `ids` sits as
/// `anchor` says: what `sigma_match` answers, for callers that hold the column and the parsed
/// ids (the filter programs of [`crate::mask`]).
pub(crate) fn match_buffer(
    column: &ArrayRef,
    name: &str,
    anchor: u8,
    ids: &[u32],
    all: bool,
) -> Result<arrow::buffer::BooleanBuffer> {
    let newest = ids.iter().copied().max().unwrap_or(0);
    let found = scan(column, name, newest)?;
    Ok(found.mask(ids, anchor, all).values().clone())
}

fn scalar_int(v: &ColumnarValue) -> Option<i64> {
    match v {
        ColumnarValue::Scalar(ScalarValue::Int64(Some(i))) => Some(*i),
        _ => None,
    }
}

/// The ids of a `'3,17,42'` literal.
fn ids(v: &ColumnarValue) -> Option<Vec<u32>> {
    match v {
        ColumnarValue::Scalar(ScalarValue::Utf8(Some(s))) => {
            s.split(',').map(|x| x.trim().parse().ok()).collect()
        }
        _ => None,
    }
}

/// `sigma_match(text, 'column', anchor, 'id,id,...', all)`: whether any (with `all`: every)
/// value of the list (ids registered for `column`) sits in the text where the anchor says (ASCII
/// case-insensitively); false for null text.
pub fn sigma_match_udf() -> ScalarUDF {
    create_udf(
        "sigma_match",
        vec![
            DataType::Utf8,
            DataType::Utf8,
            DataType::Int64,
            DataType::Utf8,
            DataType::Boolean,
        ],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let (
                ColumnarValue::Scalar(ScalarValue::Utf8(Some(name))),
                Some(anchor),
                Some(ids),
                ColumnarValue::Scalar(ScalarValue::Boolean(Some(all))),
            ) = (&args[1], scalar_int(&args[2]), ids(&args[3]), &args[4])
            else {
                return exec_err!(
                    "sigma_match takes a literal column name, anchor, id list and mode"
                );
            };
            let column = match &args[0] {
                ColumnarValue::Array(a) => a.clone(),
                ColumnarValue::Scalar(s) => s.to_array()?,
            };
            // Cast only when needed: a cast makes a new array, and the shared scan is found by
            // array identity.
            let column = match column.data_type() {
                DataType::Utf8 => column,
                _ => arrow::compute::cast(&column, &DataType::Utf8)?,
            };
            let newest = ids.iter().copied().max().unwrap_or(0);
            let found = scan(&column, name, newest)?;
            Ok(ColumnarValue::Array(Arc::new(found.mask(
                &ids,
                anchor as u8,
                *all,
            ))))
        }),
    )
}
