//! Answers remembered per text value across batches, within bounds.
//!
//! Values repeat endlessly in traffic (user agents, routes, asset paths) while answering one
//! can cost a walk of hundreds of patterns, so the helpers that answer per value remember
//! their answers per thread. The values are written by clients: every memory here is bounded
//! in entries and in bytes, keeps no value longer than its key limit (those are answered, not
//! kept), and starts again when full (a flood of distinct values then costs what it cost
//! without the memory, plus one insert per value).

/// How much one memory may hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    /// Values kept at most.
    pub entries: usize,
    /// Bytes of kept values at most.
    pub bytes: usize,
    /// Longest value kept.
    pub key_bytes: usize,
}

/// Answers of type `V` per value.
pub(crate) struct Remembered<V> {
    answers: foldhash::HashMap<Box<str>, V>,
    bytes: usize,
    bounds: Bounds,
}

impl<V: Copy> Remembered<V> {
    /// An empty memory holding at most `bounds`.
    pub(crate) fn new(bounds: Bounds) -> Self {
        Remembered {
            answers: foldhash::HashMap::default(),
            bytes: 0,
            bounds,
        }
    }

    /// `value`'s remembered answer (a value too long to keep is not even hashed).
    pub(crate) fn get(&self, value: &str) -> Option<V> {
        if value.len() > self.bounds.key_bytes {
            return None;
        }
        self.answers.get(value).copied()
    }

    /// Remembers `answer` for `value` if the value is short enough, emptying the memory first
    /// when it is full.
    pub(crate) fn keep(&mut self, value: &str, answer: V) {
        let b = self.bounds;
        if value.len() > b.key_bytes {
            return;
        }
        if self.answers.len() >= b.entries || self.bytes + value.len() > b.bytes {
            self.answers.clear();
            self.bytes = 0;
        }
        if self.answers.insert(value.into(), answer).is_none() {
            self.bytes += value.len();
        }
    }

    /// `value`'s answer, remembered, or `compute`d and kept.
    pub(crate) fn answer(&mut self, value: &str, compute: impl FnOnce(&str) -> V) -> V {
        if let Some(v) = self.get(value) {
            return v;
        }
        let v = compute(value);
        self.keep(value, v);
        v
    }

    /// Values kept now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.answers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Client-written values cannot grow a memory without bound: past its entry or byte cap
    /// it starts again, an over-long value is answered but not kept, and every answer is the
    /// computed one, also for a value asked again after the memory emptied.
    #[test]
    fn a_memory_stays_within_its_bounds_and_answers_right_after_emptying() {
        let bounds = Bounds {
            entries: 1000,
            bytes: 64 * 1024,
            key_bytes: 256,
        };
        let answer_of = |v: &str| v.len();
        let mut m = Remembered::new(bounds);
        for i in 0..bounds.entries + 10 {
            let v = format!("/p/{i}");
            assert_eq!(m.answer(&v, answer_of), v.len());
            assert!(m.len() <= bounds.entries);
        }
        assert_eq!(m.len(), 10, "emptied once when full");
        let long = "x".repeat(bounds.key_bytes + 1);
        assert_eq!(m.answer(&long, answer_of), long.len());
        assert!(!m.answers.contains_key(long.as_str()), "too long to keep");
        assert_eq!(m.get(&long), None);
        let mut m = Remembered::new(bounds);
        for i in 0..2 * bounds.bytes / bounds.key_bytes {
            let v = format!("{i:0width$}", width = bounds.key_bytes);
            assert_eq!(m.answer(&v, answer_of), bounds.key_bytes);
            assert!(m.bytes <= bounds.bytes);
            assert_eq!(m.bytes, m.answers.keys().map(|k| k.len()).sum::<usize>());
        }
        let mut computed = 0;
        let mut count = |_: &str| {
            computed += 1;
            7
        };
        assert_eq!(m.answer("/again", &mut count), 7);
        assert_eq!(m.answer("/again", &mut count), 7);
        // Kept again (a helper asked between its lookup and its keep): counted once.
        let before = m.bytes;
        m.keep("/again", 7);
        assert_eq!(m.bytes, before);
        m.answers.clear();
        assert_eq!(m.answer("/again", &mut count), 7);
        assert_eq!(computed, 2, "asked once, then again after emptying");
    }
}
