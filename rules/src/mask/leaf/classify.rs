//! A classifier of text columns compared with literals: `ua_class(user_agent) IN ('ai_crawler',
//! 'ai_agent')`, `ua_class(user_agent) = 'browser'`, `probe_class(path, query, user_agent) IS
//! NOT NULL`, `injected_code(path, query, user_agent) IS NOT NULL`. As DataFusion expressions
//! these ran the classifier on every row and built a text array of its answers, then compared
//! the texts, once per rule asking (a rule asking on a few open rows got a copy of them, which
//! the per-batch memo could not recognise). Here the classifier runs once per distinct tuple of
//! its arguments in the batch (a batch of 8k requests holds a handful of user agents) —
//! `probe_class` and `injected_code` once per distinct value of each argument, their answers
//! being a function of what each says alone — the per-row index and the
//! answers are kept per thread for the next rule asking about the same columns, and each test
//! is a lookup per row.

use std::cell::RefCell;

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::buffer::{BooleanBuffer, Buffer};
use datafusion::error::{DataFusionError, Result};

use super::{distinct, keep, same, Truth};
pub(in crate::mask) use crate::functions::classifier::Classifier;
use crate::functions::{injected, probe};

/// What a filter asks of a classifier's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::mask) enum Test {
    /// `IN` a list of names (`NOT IN` when negated); `=` and `<>` are lists of one. A NULL
    /// answer is unknown, as in SQL.
    In { names: Vec<String>, negated: bool },
    /// `IS NULL` (`IS NOT NULL` when negated): never unknown.
    Null { negated: bool },
}

impl Test {
    /// True, false, or unknown (`None`) for an answer.
    fn decide(&self, answer: Option<&str>) -> Option<bool> {
        match self {
            Test::In { names, negated } => answer.map(|a| names.iter().any(|n| n == a) != *negated),
            Test::Null { negated } => Some(answer.is_none() != *negated),
        }
    }
}

/// Classified batches kept per thread: a batch's rules ask about `ua_class(user_agent)` and
/// `probe_class(path, query, user_agent)`, three rules each in the pack, and
/// `injected_code(path, query, user_agent)` and `crawler_verified(user_agent, client_ip)`.
const KEPT: usize = 6;

/// A classifier's answers on one batch's columns.
struct Classified {
    classifier: Classifier,
    /// The argument columns, held so their identities cannot be reused while remembered.
    columns: Vec<ArrayRef>,
    /// Per row, the index of its tuple of argument values among the batch's distinct tuples.
    keys: Vec<u32>,
    /// Per distinct tuple, the classifier's answer.
    answers: Vec<Option<&'static str>>,
}

thread_local! {
    static CLASSIFIED: RefCell<Vec<Classified>> = const { RefCell::new(Vec::new()) };
}

impl Classified {
    fn of(classifier: Classifier, columns: &[ArrayRef]) -> Result<Classified> {
        let strings = columns
            .iter()
            .map(|c| {
                c.as_string_opt::<i32>().ok_or_else(|| {
                    DataFusionError::Plan(format!("{classifier:?} of a non-text column"))
                })
            })
            .collect::<Result<Vec<&StringArray>>>()?;
        let (Some(first), Some(first_strings)) = (columns.first(), strings.first()) else {
            return Err(DataFusionError::Plan(format!(
                "{classifier:?} without arguments"
            )));
        };
        if let (Classifier::ProbeClass, [path, query, agent]) = (classifier, &strings[..]) {
            return Ok(probe_classes(columns, [path, query, agent]));
        }
        if let (Classifier::InjectedCode, [path, query, agent]) = (classifier, &strings[..]) {
            return Ok(injected_codes(columns, [path, query, agent]));
        }
        if let [_, second] = strings[..] {
            if let Some(c) = gated_pairs(classifier, first, first_strings, second) {
                return Ok(Classified {
                    classifier,
                    columns: columns.to_vec(),
                    ..c
                });
            }
        }
        // Each column's distinct-value keys (shared with the regex leaves), then the tuples
        // numbered pair by pair.
        let mut keys = distinct::keys(first, first_strings);
        for (column, s) in columns.iter().zip(&strings).skip(1) {
            let other = distinct::keys(column, s);
            let mut tuples: foldhash::HashMap<u64, u32> =
                foldhash::HashMap::with_capacity_and_hasher(keys.len() / 2, Default::default());
            for (k, o) in keys.iter_mut().zip(other) {
                let next = tuples.len() as u32;
                *k = *tuples
                    .entry((u64::from(*k) << 32) | u64::from(o))
                    .or_insert(next);
            }
        }
        // A row holding each tuple, then one answer per tuple.
        let tuples = keys.iter().max().map_or(0, |&m| m as usize + 1);
        let mut holder = vec![u32::MAX; tuples];
        for (row, &k) in keys.iter().enumerate() {
            if holder[k as usize] == u32::MAX {
                holder[k as usize] = row as u32;
            }
        }
        let mut values: Vec<Option<&str>> = Vec::with_capacity(strings.len());
        let answers = holder
            .iter()
            .map(|&row| {
                if row == u32::MAX {
                    return None;
                }
                let row = row as usize;
                values.clear();
                values.extend(
                    strings
                        .iter()
                        .map(|s| s.is_valid(row).then(|| s.value(row))),
                );
                classifier.answer(&values)
            })
            .collect();
        Ok(Classified {
            classifier,
            columns: columns.to_vec(),
            keys,
            answers,
        })
    }
}

/// `probe_class(path, query, user_agent)` on every row, from each column's facts found once
/// per distinct value of that column ([`probe::PathFacts`]): no tuple of values is numbered
/// (that cost ~500 instructions a row), and a row's class is [`probe::decide`] of three
/// lookups. The rows' keys are the classes themselves.
fn probe_classes(columns: &[ArrayRef], strings: [&StringArray; 3]) -> Classified {
    let keys = per_column_keys(
        columns,
        strings,
        (probe::path_facts, probe::query_facts, probe::agent_facts),
        // A NULL path: NULL.
        |p, q, a| p.map_or(0, |p| probe::decide(p, q, a)),
    );
    keyed(Classifier::ProbeClass, columns, keys, &probe::CLASSES)
}

/// `injected_code(path, query, user_agent)` on every row, the same way as [`probe_classes`]
/// (its answer too is a function of what each column says alone).
fn injected_codes(columns: &[ArrayRef], strings: [&StringArray; 3]) -> Classified {
    let keys = per_column_keys(
        columns,
        strings,
        (
            |p: &str| injected::path_facts(Some(p)),
            injected::query_facts,
            injected::agent_facts,
        ),
        |p, q, a| injected::decide(p.unwrap_or(0), q, a),
    );
    keyed(
        Classifier::InjectedCode,
        columns,
        keys,
        &injected::LANGUAGES,
    )
}

/// Answers whose keys are 0 for NULL and `i + 1` for `names[i]`.
fn keyed(
    classifier: Classifier,
    columns: &[ArrayRef],
    keys: Vec<u32>,
    names: &[&'static str],
) -> Classified {
    Classified {
        classifier,
        columns: columns.to_vec(),
        keys,
        answers: std::iter::once(None)
            .chain(names.iter().map(|&c| Some(c)))
            .collect(),
    }
}

/// Each row's answer (a small number, the key) from its path's, query's and agent's facts,
/// each found once per distinct value of its column (`facts`); `decide` gets `None` for a NULL
/// path, and a NULL query or agent's facts.
fn per_column_keys<P: Copy, Q: Copy + Default, A: Copy + Default>(
    columns: &[ArrayRef],
    [path, query, agent]: [&StringArray; 3],
    facts: (
        impl Fn(&str) -> P,
        impl Fn(Option<&str>) -> Q,
        impl Fn(Option<&str>) -> A,
    ),
    decide: impl Fn(Option<P>, Q, A) -> u8,
) -> Vec<u32> {
    let (path_facts, query_facts, agent_facts) = facts;
    let mut paths = Vec::new();
    let path_keys = distinct::each_value(&columns[0], path, |v| paths.push(path_facts(v)));
    // The NULL rows' key is the one after the last value's.
    let mut queries = Vec::new();
    let query_keys =
        distinct::each_value(&columns[1], query, |v| queries.push(query_facts(Some(v))));
    queries.push(query_facts(None));
    let mut agents = Vec::new();
    let agent_keys =
        distinct::each_value(&columns[2], agent, |v| agents.push(agent_facts(Some(v))));
    agents.push(agent_facts(None));
    (path_keys.iter().zip(&query_keys).zip(&agent_keys))
        .map(|((&p, &q), &a)| {
            let (q, a) = (queries.get(q as usize), agents.get(a as usize));
            u32::from(decide(
                paths.get(p as usize).copied(),
                q.copied().unwrap_or_default(),
                a.copied().unwrap_or_default(),
            ))
        })
        .collect()
}

/// The answers of a two-argument classifier that reads its second argument only for some
/// first values ([`Classifier::reads_rest`]): the rows of every other first value share one
/// NULL answer, and only the others are numbered by pair of values. `None` when every first
/// value reads the second (the general path is as fast).
fn gated_pairs(
    classifier: Classifier,
    first_column: &ArrayRef,
    first: &StringArray,
    second: &StringArray,
) -> Option<Classified> {
    // Whether each distinct first value reads the second argument; the NULL rows' key is the
    // one past the last value's.
    let mut reads: Vec<bool> = Vec::new();
    let first_keys = distinct::each_value(first_column, first, |v| {
        reads.push(classifier.reads_rest(Some(v)))
    });
    reads.push(classifier.reads_rest(None));
    if reads.iter().all(|&r| r) {
        return None;
    }
    fn value(s: &StringArray, row: usize) -> Option<&str> {
        s.is_valid(row).then(|| s.value(row))
    }
    // Tuple 0: every row whose first value decides alone (NULL).
    let mut answers: Vec<Option<&'static str>> = vec![None];
    let mut pairs: foldhash::HashMap<(u32, Option<&str>), u32> = foldhash::HashMap::default();
    let keys = (first_keys.iter().enumerate())
        .map(|(row, &k)| {
            if !reads.get(k as usize).copied().unwrap_or(false) {
                return 0;
            }
            let pair = (k, value(second, row));
            *pairs.entry(pair).or_insert_with(|| {
                answers.push(classifier.answer(&[value(first, row), pair.1]));
                answers.len() as u32 - 1
            })
        })
        .collect();
    Some(Classified {
        classifier,
        columns: Vec::new(),
        keys,
        answers,
    })
}

/// `test` of `classifier` on `columns`, on every row (the answers are kept for the next rule
/// asking about the same columns of the same batch).
pub(in crate::mask) fn classify(
    classifier: Classifier,
    columns: &[ArrayRef],
    test: &Test,
) -> Result<Truth> {
    CLASSIFIED.with(|kept| {
        let mut kept = kept.borrow_mut();
        let found = kept.iter().position(|c| {
            c.classifier == classifier
                && c.columns.len() == columns.len()
                && c.columns.iter().zip(columns).all(|(a, b)| same(a, b))
        });
        let at = match found {
            Some(at) => at,
            None => keep(&mut kept, KEPT, Classified::of(classifier, columns)?),
        };
        let c = &kept[at];
        // Per answer: bit 0 true, bit 1 false, neither unknown.
        let decided: Vec<u8> = (c.answers.iter())
            .map(|&a| match test.decide(a) {
                Some(true) => 1,
                Some(false) => 2,
                None => 0,
            })
            .collect();
        Ok(spread_decisions(&c.keys, &decided))
    })
}

/// Each row's decision, its key's (`decided[key]`: bit 0 true, bit 1 false; a key past the
/// end is unknown), both bitmaps in one pass over the keys.
fn spread_decisions(keys: &[u32], decided: &[u8]) -> Truth {
    let words = keys.len().div_ceil(64);
    let (mut t, mut f) = (Vec::with_capacity(words), Vec::with_capacity(words));
    for chunk in keys.chunks(64) {
        let (mut tw, mut fw) = (0u64, 0u64);
        for (i, &k) in chunk.iter().enumerate() {
            let d = decided.get(k as usize).copied().unwrap_or(0);
            tw |= u64::from(d & 1) << i;
            fw |= u64::from(d >> 1) << i;
        }
        t.push(tw);
        f.push(fw);
    }
    let bits = |words: Vec<u64>| BooleanBuffer::new(Buffer::from_vec(words), 0, keys.len());
    Truth {
        t: bits(t),
        f: bits(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows past the first 64 and a last partial word get their key's decision; keys past
    /// the decisions (NULL rows) are unknown.
    #[test]
    fn decisions_spread_to_every_row() {
        let decided = [1u8, 2, 0];
        let keys: Vec<u32> = (0..150u32).map(|r| (r * 7 + r / 64) % 4).collect();
        let truth = spread_decisions(&keys, &decided);
        assert_eq!((truth.t.len(), truth.f.len()), (150, 150));
        for (row, &k) in keys.iter().enumerate() {
            let d = decided.get(k as usize).copied().unwrap_or(0);
            assert_eq!(truth.t.value(row), d == 1, "row {row}");
            assert_eq!(truth.f.value(row), d == 2, "row {row}");
        }
    }
}
