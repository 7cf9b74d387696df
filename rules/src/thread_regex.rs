//! Regexes compiled per thread, cached by pattern.
//!
//! The `regex` crate keeps a regex's scratch space in a pool: the first thread to match owns
//! a fast slot, every other thread takes and returns scratch space under a lock on every
//! call. Stateless filters run on every decoder thread, once per row, so a regex shared by
//! threads took that lock for most rows. Each thread here matches with regexes it compiled
//! itself, looked up by pattern text (once per batch, not per row).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;

/// Patterns kept per thread before the table is emptied (a pattern may come from a column,
/// i.e. from input; emptying only costs recompiling the patterns in use).
const MAX_PER_THREAD: usize = 1024;

thread_local! {
    static COMPILED: RefCell<HashMap<String, Arc<Regex>>> = RefCell::new(HashMap::new());
}

/// `pattern` compiled by and for the calling thread (flags as inline `(?i)` etc.).
pub(crate) fn compiled(pattern: &str) -> Result<Arc<Regex>, regex::Error> {
    if let Some(r) = COMPILED.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(r);
    }
    let re = Arc::new(Regex::new(pattern)?);
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
    fn every_thread_compiles_its_own_and_answers_as_the_pattern_does() {
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
