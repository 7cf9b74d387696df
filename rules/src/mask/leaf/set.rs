//! Every regex the loaded rules ask of one text column, matched together: one pass of a
//! `RegexSet` over each distinct value answers all of them. The pack asks about fifteen
//! patterns of `path` (raw or normalized) per batch; each ran over the batch's distinct paths
//! on its own. Measured on the distinct paths of one 8k-record batch of generated traffic, the
//! pack's 22 patterns took 2.5 ms one by one and 0.27 ms as a set (warm, alone); in the whole
//! pack, over 300k records, the regex leaves went from 762M to 627M instructions (a set also
//! runs patterns a rule would have asked of a few open rows only, and has no literal
//! prefilter to skip a value with).
//!
//! Patterns are registered per column name (and raw or normalized) when filters are planned,
//! so a thread builds its set once with every pattern it will be asked (a set growing as
//! rules first ask would be rebuilt over and over). The set is compiled once per process and
//! each thread matches with its own clone (see [`crate::thread_regex`]). A pattern that is not
//! in a set (past [`MAX_SET`] patterns on a column, or a set the regex engine refuses) is
//! matched alone, as before.
//!
//! A set's answers are also remembered across batches, per value: the same paths
//! come back batch after batch (routes, assets, the popular ids), and a lookup costs a hash of
//! the value where the set's DFA walks every byte of it, for every pattern that could match.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;

use arrow::array::{ArrayRef, StringArray};
use regex::RegexSet;

use super::{distinct, same, Truth};
use crate::functions::normalize_path;
use crate::remembered::{Bounds, Remembered};

/// Patterns per column kept in one set; more are matched alone (Sigma rule sets can put
/// hundreds of `LIKE` patterns on one column, where a set's lazy DFA would thrash).
pub(crate) const MAX_SET: usize = 64;
// A set's answers for one value are one `u64`, a bit per pattern.
const _: () = assert!(MAX_SET <= 64);

/// Which values a set matches: a column by name, raw or normalized.
type Key = (String, bool);

/// The patterns registered per key, in registration order; and per key the compiled set of
/// the registered patterns (`None`: the engine refused it), rebuilt when the list grows.
struct Registry {
    patterns: HashMap<Key, Vec<String>>,
    compiled: HashMap<Key, (usize, Option<RegexSet>)>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

fn with_registry<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    let mut guard = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    let registry = guard.get_or_insert_with(|| Registry {
        patterns: HashMap::new(),
        compiled: HashMap::new(),
    });
    f(registry)
}

/// Registers `pattern` as asked of column `name` (its `normalized_path` when `normalized`):
/// planning calls this for every regex leaf. Past [`MAX_SET`] patterns on a column the pattern
/// is left out (and matched alone).
pub(in crate::mask) fn register(name: &str, pattern: &str, normalized: bool) {
    with_registry(|r| {
        let list = r.patterns.entry((name.to_owned(), normalized)).or_default();
        if list.len() < MAX_SET && !list.iter().any(|p| p == pattern) {
            list.push(pattern.to_owned());
        }
    });
}

/// How many patterns are registered for `key`.
fn registered(key: &Key) -> usize {
    with_registry(|r| r.patterns.get(key).map_or(0, Vec::len))
}

/// The registered patterns of `key` and their set, compiled once per process (the caller
/// clones it). `None` when nothing is registered or the set does not compile.
fn current(key: &Key) -> Option<(Vec<String>, RegexSet)> {
    with_registry(|r| {
        let patterns = r.patterns.get(key)?.clone();
        let fresh = r
            .compiled
            .get(key)
            .is_some_and(|(n, _)| *n == patterns.len());
        if !fresh {
            let set = RegexSet::new(&patterns).ok();
            r.compiled.insert(key.clone(), (patterns.len(), set));
        }
        let set = r.compiled.get(key)?.1.clone()?;
        Some((patterns, set))
    })
}

/// A thread's set for one key, its answers on the last column asked, and its answers per
/// value seen lately.
struct Group {
    patterns: Vec<String>,
    set: RegexSet,
    answered: Option<Answered>,
    memo: Remembered<u64>,
}

/// Values remembered per set and thread (see [`crate::remembered`]): enough for the routes,
/// assets and popular ids of a gateway, 1 MiB at most.
const MEMO: Bounds = Bounds {
    entries: 16_384,
    bytes: 1 << 20,
    key_bytes: 256,
};

/// The set's answers on one column.
struct Answered {
    /// The column, held so its identity cannot be reused while remembered.
    column: ArrayRef,
    /// Per row, its distinct value's index (NULL rows: the index after the last value's).
    keys: Vec<u32>,
    /// Per distinct value, bit `p` set when pattern `p` matches it (at most [`MAX_SET`]
    /// patterns: one `u64`).
    hits: Vec<u64>,
}

thread_local! {
    static GROUPS: RefCell<HashMap<Key, Group>> = RefCell::new(HashMap::new());
}

/// Where `pattern` matches `column` (named `name`; each value's `normalized_path` when
/// `normalized`), from the column's set: NULL rows in neither part. `None` when the pattern
/// is in no set: the caller matches it alone.
pub(in crate::mask) fn answer(
    name: &str,
    column: &ArrayRef,
    strings: &StringArray,
    pattern: &str,
    normalized: bool,
) -> Option<Truth> {
    GROUPS.with(|groups| {
        let mut groups = groups.borrow_mut();
        let key = (name.to_owned(), normalized);
        let known = groups
            .get(&key)
            .is_some_and(|g| g.patterns.iter().any(|p| p == pattern));
        if !known {
            // Registered since this thread built its set (a reload), or never: only a grown
            // registration is worth a new set (a pattern past the cap is asked every batch).
            let built = groups.get(&key).map_or(0, |g| g.patterns.len());
            if registered(&key) == built {
                return None;
            }
            let (patterns, set) = current(&key)?;
            if !patterns.iter().any(|p| p == pattern) {
                return None;
            }
            groups.insert(
                key.clone(),
                Group {
                    patterns,
                    set,
                    answered: None,
                    memo: Remembered::new(MEMO),
                },
            );
        }
        let group = groups.get_mut(&key)?;
        let index = group.patterns.iter().position(|p| p == pattern)?;
        if !group
            .answered
            .as_ref()
            .is_some_and(|a| same(&a.column, column))
        {
            let answered = match_all(&group.set, &mut group.memo, column, strings, normalized);
            group.answered = Some(answered);
        }
        let answered = group.answered.as_ref()?;
        let hit = |k: usize| answered.hits.get(k).is_some_and(|b| b >> index & 1 == 1);
        Some(distinct::spread(&answered.keys, hit, strings))
    })
}

/// Every pattern of `set` against each distinct value of `column` (its `normalized_path`
/// when `normalized`), in one pass per value not in `memo`.
fn match_all(
    set: &RegexSet,
    memo: &mut Remembered<u64>,
    column: &ArrayRef,
    strings: &StringArray,
    normalized: bool,
) -> Answered {
    let mut hits: Vec<u64> = Vec::new();
    let keys = distinct::each_value(column, strings, |raw| {
        hits.push(memo.answer(raw, |raw| {
            let form = match normalized {
                true => normalize_path(raw),
                false => Cow::Borrowed(raw),
            };
            (set.matches(&form).iter()).fold(0, |bits, p| bits | 1 << p)
        }));
    });
    Answered {
        column: column.clone(),
        keys,
        hits,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::buffer::BooleanBuffer;
    use regex::Regex;

    use super::*;

    fn bits(b: &BooleanBuffer) -> Vec<bool> {
        b.iter().collect()
    }

    /// Registered patterns are answered from the column's set exactly as each regex alone
    /// answers (raw and normalized values, NULL rows in neither part); a pattern registered
    /// later (a reload) is picked up by a thread that already built its set; a pattern past
    /// [`MAX_SET`] or never registered is left to the caller.
    #[test]
    fn a_columns_set_answers_each_registered_pattern_as_the_regex_alone() {
        // A column name of its own: the registry is shared by the process's tests.
        let name = "set_test_path";
        let values = vec![
            Some("/wp-login.php"),
            None,
            Some("/API/v1/Login"),
            Some("//admin//"),
            Some("/static/app.js"),
            Some("/wp-login.php"),
            Some("/%61dmin/"),
        ];
        let strings = StringArray::from(values.clone());
        let column: ArrayRef = Arc::new(strings.clone());
        let patterns = [
            r"(?i)/login",
            r"\.php$",
            r"^/admin/$",
            r"^/(static|assets)/",
        ];
        for p in patterns {
            register(name, p, false);
            register(name, p, true);
        }
        for normalized in [false, true] {
            for p in patterns {
                let truth = answer(name, &column, &strings, p, normalized).expect("in the set");
                let re = Regex::new(p).unwrap();
                let expect: Vec<bool> = (values.iter())
                    .map(|v| {
                        v.is_some_and(|v| {
                            let form = if normalized {
                                crate::functions::normalize_path(v).into_owned()
                            } else {
                                v.to_owned()
                            };
                            re.is_match(&form)
                        })
                    })
                    .collect();
                assert_eq!(bits(&truth.t), expect, "{p} normalized={normalized}");
                let nulls: Vec<bool> = values.iter().map(|v| v.is_none()).collect();
                let f_expect: Vec<bool> =
                    (0..values.len()).map(|i| !expect[i] && !nulls[i]).collect();
                assert_eq!(bits(&truth.f), f_expect, "{p} normalized={normalized}");
            }
        }
        // `^/admin/$` matches `//admin//` and `/%61dmin/` only once normalized.
        let raw = answer(name, &column, &strings, r"^/admin/$", false).unwrap();
        let normalized = answer(name, &column, &strings, r"^/admin/$", true).unwrap();
        assert_eq!(raw.t.count_set_bits(), 0);
        assert_eq!(normalized.t.count_set_bits(), 2);
        // Registered after this thread built its set: picked up.
        register(name, "js$", false);
        let late = answer(name, &column, &strings, "js$", false).expect("a reload's pattern");
        assert_eq!(late.t.count_set_bits(), 1);
        // Never registered, or past the cap: the caller matches it alone.
        assert!(answer(name, &column, &strings, "never-registered", false).is_none());
        let crowded = "set_test_crowded";
        for i in 0..MAX_SET {
            register(crowded, &format!("^/p{i}$"), false);
        }
        register(crowded, "^/one-too-many$", false);
        assert!(answer(crowded, &column, &strings, "^/p0$", false).is_some());
        assert!(answer(crowded, &column, &strings, "^/one-too-many$", false).is_none());
    }

    /// Values come back batch after batch: a later batch's values are answered from the memo
    /// exactly as the patterns alone answer them (raw and normalized), values new to it are
    /// matched, and the memo holds what was asked.
    #[test]
    fn later_batches_are_answered_from_the_memo_as_the_patterns_alone_answer() {
        let name = "set_test_memo";
        let patterns = [r"(?i)/login", r"\.php$", r"^/admin/$"];
        for p in patterns {
            register(name, p, false);
            register(name, p, true);
        }
        let first = ["/wp-login.php", "/a", "//admin//", "/x.php"];
        let second = ["/x.php", "/b/LOGIN", "/a", "/%61dmin/", "//admin//"];
        for normalized in [false, true] {
            for values in [&first[..], &second[..], &first[..]] {
                let strings = StringArray::from(values.to_vec());
                let column: ArrayRef = Arc::new(strings.clone());
                for p in patterns {
                    let truth = answer(name, &column, &strings, p, normalized).expect("in the set");
                    let re = Regex::new(p).unwrap();
                    let expect: Vec<bool> = (values.iter())
                        .map(|v| match normalized {
                            true => re.is_match(&crate::functions::normalize_path(v)),
                            false => re.is_match(v),
                        })
                        .collect();
                    assert_eq!(bits(&truth.t), expect, "{p} normalized={normalized}");
                }
            }
            let kept = GROUPS.with(|g| g.borrow()[&(name.to_owned(), normalized)].memo.len());
            assert_eq!(kept, 6, "the distinct values of both batches");
        }
    }
}
