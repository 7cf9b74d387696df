//! The open brackets of a container being skipped: a stack that lives in two registers for
//! the first 64 levels, so skipping an ordinary subtree allocates nothing.

/// A stack of `{` and `[`.
#[derive(Default)]
pub(super) struct Brackets {
    depth: usize,
    /// Bit `i` set: level `i` (below 64) is a `{`, clear: a `[`.
    shallow: u64,
    /// Levels from 64 on (hostile nesting; bounded by the line length).
    deep: Vec<u8>,
}

impl Brackets {
    /// Opens a level with `c` (`{` or `[`).
    pub(super) fn push(&mut self, c: u8) {
        if self.depth < 64 {
            let bit = 1u64 << self.depth;
            if c == b'{' {
                self.shallow |= bit;
            } else {
                self.shallow &= !bit;
            }
        } else {
            self.deep.push(c);
        }
        self.depth += 1;
    }

    /// Closes the innermost level and returns its bracket; `None` when nothing is open.
    pub(super) fn pop(&mut self) -> Option<u8> {
        let top = self.last()?;
        self.depth -= 1;
        if self.depth >= 64 {
            self.deep.pop();
        }
        Some(top)
    }

    /// The innermost open bracket.
    pub(super) fn last(&self) -> Option<u8> {
        match self.depth {
            0 => None,
            d if d <= 64 => Some(if self.shallow >> (d - 1) & 1 == 1 {
                b'{'
            } else {
                b'['
            }),
            _ => self.deep.last().copied(),
        }
    }

    /// Whether no level is open.
    pub(super) fn is_empty(&self) -> bool {
        self.depth == 0
    }
}

#[cfg(test)]
mod tests {
    use super::Brackets;

    /// Behaves as a `Vec<u8>` stack at every depth, across the 64-level boundary.
    #[test]
    fn agrees_with_a_vec_stack() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let (mut ours, mut reference) = (Brackets::default(), Vec::<u8>::new());
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // Biased to push, so depths well past 64 are reached, then drained.
            if seed % 5 < 3 || reference.len() < 2 && seed.is_multiple_of(7) {
                let c = if seed >> 8 & 1 == 1 { b'{' } else { b'[' };
                ours.push(c);
                reference.push(c);
            } else {
                assert_eq!(ours.pop(), reference.pop());
            }
            assert_eq!(ours.last(), reference.last().copied());
            assert_eq!(ours.is_empty(), reference.is_empty());
        }
        while let Some(c) = reference.pop() {
            assert_eq!(ours.pop(), Some(c));
        }
        assert_eq!(ours.pop(), None);
    }
}
