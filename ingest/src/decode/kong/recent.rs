//! Parts of Kong records skipped recently, remembered so that the next copy is skipped by one
//! comparison.
//!
//! Kong logs a request's `route` and `service` as the gateway's configuration of them: every
//! request on a route carries the same bytes. A part no loaded rule reads is skipped bracket
//! to bracket ([`Scan::skip`], a few hundred instructions for a `route`); when the bytes that
//! follow are exactly a container skipped before, they are that same container, already found
//! well-formed, and one comparison skips it. Bounded: [`ENTRIES`] per part, each at most
//! [`MAX_BYTES`], replaced in turn. A part that changes with every request (`latencies`) costs
//! comparisons that fail within its first bytes, and a copy of at most [`MAX_BYTES`].

use std::cell::RefCell;

use crate::decode::scan::{Scan, ScanError};

/// Containers remembered per part.
const ENTRIES: usize = 4;
/// Longest container remembered.
const MAX_BYTES: usize = 2048;

/// The optional parts of a Kong record that are skipped whole when no rule reads them.
#[derive(Debug, Clone, Copy)]
pub(super) enum Part {
    Service,
    Route,
    Consumer,
    AuthenticatedEntity,
    Latencies,
    Ai,
}

impl Part {
    /// How many parts there are (the last one's index, plus one).
    const COUNT: usize = Part::Ai as usize + 1;
}

#[derive(Default)]
struct Remembered {
    entries: [Vec<u8>; ENTRIES],
    next: usize,
}

thread_local! {
    static RECENT: RefCell<[Remembered; Part::COUNT]> = RefCell::new(Default::default());
    /// Containers skipped by a comparison (what the tests look at).
    #[cfg(test)]
    static HITS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Skips the container at the scanner's position (the caller checked it is one), `part`
/// saying which part of the record it is.
pub(super) fn skip(s: &mut Scan<'_>, part: Part) -> Result<(), ScanError> {
    RECENT.with(|recent| {
        let mut recent = recent.borrow_mut();
        let remembered = &mut recent[part as usize];
        if remembered.entries.iter().any(|e| !e.is_empty() && s.eat(e)) {
            #[cfg(test)]
            HITS.with(|h| h.set(h.get() + 1));
            return Ok(());
        }
        let from = s.position();
        s.skip()?;
        let bytes = s.read_since(from);
        if bytes.len() <= MAX_BYTES {
            let next = remembered.next;
            let entry = &mut remembered.entries[next];
            entry.clear();
            entry.extend_from_slice(bytes);
            remembered.next = (next + 1) % ENTRIES;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where a skip ends, or its error and column.
    fn skipped(text: &str, remembered: bool) -> Result<usize, (String, usize)> {
        let mut s = Scan::new(text);
        let r = if remembered {
            skip(&mut s, Part::Route)
        } else {
            s.skip()
        };
        r.map(|()| s.position()).map_err(|e| (e.message, e.column))
    }

    /// The remembered skip ends where the plain skip ends, and fails where it fails, on a
    /// sequence that repeats containers (hits), alternates more of them than are remembered,
    /// cuts and alters a remembered one at its end, and passes one longer than is remembered;
    /// repeats of a remembered container are skipped by comparison.
    #[test]
    fn remembered_skips_end_and_fail_as_plain_skips() {
        let route =
            |i: usize| format!(r#"{{"id":"r{i}","paths":["/api/{i}"],"strip_path":false}}"#);
        let long = format!(r#"{{"tags":["{}"]}}"#, "x".repeat(3000));
        let mut texts = Vec::new();
        for i in 0..6 {
            texts.push(format!("{},\"next\":1", route(i)));
            texts.push(format!("{},\"next\":1", route(0)));
        }
        let r0 = route(0);
        texts.push(r0[..r0.len() - 1].to_string()); // cut before its `}`
        texts.push(format!("{}]", &r0[..r0.len() - 1])); // `]` closing a `{`
        texts.push(format!("{r0}{r0}"));
        texts.push(format!("{} ", long));
        texts.push(format!("{} ", long));
        let before = HITS.with(|h| h.get());
        for t in &texts {
            assert_eq!(skipped(t, true), skipped(t, false), "{t:?}");
        }
        let hits = HITS.with(|h| h.get()) - before;
        // route(0) comes back six times in the alternation and is skipped by comparison five
        // times (the fifth other route pushed it out once), then once in `r0r0`; the cut and
        // altered copies and the over-long container are never hits.
        assert_eq!(hits, 6, "repeats skipped by comparison");
    }
}
