//! Regexes compiled per thread, cached by pattern.
//!
//! The `regex` crate keeps a regex's scratch space in a pool: the first thread to match owns
//! a fast slot, every other thread takes and returns scratch space under a lock on every
//! call. Stateless filters run on every decoder thread, once per row, so a regex shared by
//! threads took that lock for most rows. Each thread here matches with regexes it compiled
//! itself, looked up by pattern text (once per batch, not per row).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use regex::Regex;

/// Patterns kept per thread, and in the shared table, before the table is emptied (a pattern
/// may come from a column, i.e. from input; emptying only costs recompiling the patterns in
/// use).
const MAX_PER_THREAD: usize = 1024;

thread_local! {
    static COMPILED: RefCell<foldhash::HashMap<String, Arc<Regex>>> =
        RefCell::new(foldhash::HashMap::default());
}

/// Every thread's patterns, compiled once; threads take clones.
static SHARED: Mutex<Option<HashMap<String, Regex>>> = Mutex::new(None);

/// `pattern` compiled once per process, or a clone of it.
fn compile_or_clone(pattern: &str) -> Result<Regex, regex::Error> {
    let mut shared = SHARED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let table = shared.get_or_insert_with(HashMap::new);
    if let Some(re) = table.get(pattern) {
        return Ok(re.clone());
    }
    let re = Regex::new(pattern)?;
    if table.len() >= MAX_PER_THREAD {
        table.clear();
    }
    table.insert(pattern.to_owned(), re.clone());
    Ok(re)
}

/// `pattern` for the calling thread: its own clone, with its own scratch space (flags as
/// inline `(?i)` etc.).
pub(crate) fn compiled(pattern: &str) -> Result<Arc<Regex>, regex::Error> {
    if let Some(r) = COMPILED.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(r);
    }
    let re = Arc::new(compile_or_clone(pattern)?);
    COMPILED.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= MAX_PER_THREAD {
            cache.clear();
        }
        cache.insert(pattern.to_owned(), re.clone());
    });
    Ok(re)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_thread_matches_with_its_own_clone_and_answers_as_the_pattern_does() {
        let pattern = r"^/api/v\d+/login$";
        let handles: Vec<_> = (0..3)
            .map(|_| {
                std::thread::spawn(move || {
                    let r = compiled(pattern).unwrap();
                    let again = compiled(pattern).unwrap();
                    (
                        Arc::ptr_eq(&r, &again),
                        r.is_match("/api/v1/login"),
                        r.is_match("/api/v1/logout"),
                        Arc::as_ptr(&r) as usize,
                    )
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for (cached, yes, no, _) in &results {
            assert!(*cached && *yes && !no);
        }
        let main = compiled(pattern).unwrap();
        assert!(
            results.iter().all(|r| r.3 != Arc::as_ptr(&main) as usize),
            "another thread's regex was shared"
        );
        assert!(compiled("(").is_err());
    }
}
