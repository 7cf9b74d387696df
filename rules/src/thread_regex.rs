//! A compiled regex matched from several threads, each through its own clone.
//!
//! The `regex` crate keeps a regex's scratch space in a pool: the first thread to match owns
//! a fast slot, every other thread takes and returns scratch space under a lock on every
//! call. Stateless filters run on every decoder thread, once per row, so that lock was taken
//! for most rows. A clone shares the compiled program and brings its own pool, so each thread
//! here matches with a clone it owns, found by the regex's id once per batch.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use regex::Regex;

/// Clones kept per thread before the table is emptied (rule reloads create new regexes and
/// leave old ids behind; emptying only costs a clone per regex in use).
const MAX_CLONES_PER_THREAD: usize = 4096;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static CLONES: RefCell<HashMap<u64, Regex>> = RefCell::new(HashMap::new());
}

/// A regex with an identity, matched through the calling thread's own clone.
#[derive(Debug)]
pub struct ThreadRegex {
    id: u64,
    regex: Regex,
}

impl ThreadRegex {
    /// Wraps `regex` under a fresh id.
    pub fn new(regex: Regex) -> Self {
        ThreadRegex {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            regex,
        }
    }

    /// Runs `f` with this thread's clone of the regex (call once per batch, not per row).
    pub fn with<R>(&self, f: impl FnOnce(&Regex) -> R) -> R {
        CLONES.with(|clones| {
            let mut clones = clones.borrow_mut();
            if clones.len() >= MAX_CLONES_PER_THREAD && !clones.contains_key(&self.id) {
                clones.clear();
            }
            let local = clones.entry(self.id).or_insert_with(|| self.regex.clone());
            f(local)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_thread_matches_as_the_regex_does() {
        let re = std::sync::Arc::new(ThreadRegex::new(Regex::new(r"^/api/v\d+/login$").unwrap()));
        let other = ThreadRegex::new(Regex::new("x").unwrap());
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let re = re.clone();
                std::thread::spawn(move || {
                    re.with(|r| (r.is_match("/api/v1/login"), r.is_match("/api/v1/logout")))
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), (true, false));
        }
        // Two regexes on one thread never answer for each other.
        assert!(re.with(|r| !r.is_match("x")) && other.with(|r| r.is_match("x")));
    }
}
