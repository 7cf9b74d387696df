//! Word-at-a-time byte searches for the JSON scanner ([`super::scan`]).
//!
//! Most strings in a gateway record are short (keys, methods, statuses, ids): a SIMD search
//! pays its set-up for every one of them. Eight bytes at a time in a plain `u64` ("SWAR")
//! finds the end of a short string in one or two steps; past 32 bytes the search hands over
//! to `memchr`'s SIMD loop, which wins on long values (user agents, URLs).
//!
//! The test for "some byte of `w` equals `c`" is the classic `(x - 0x01..) & !x & 0x80..`
//! with `x = w ^ c..`. It can flag a false byte only *above* a true one (a borrow), so its
//! lowest set bit always marks the first match, which is all these searches use.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;
/// Bytes searched a word at a time before handing over to `memchr`.
const SHORT: usize = 32;

/// High bit set in each byte of `w` equal to `c` (plus, possibly, bytes above such a byte).
#[inline(always)]
fn eq_mask(w: u64, c: u8) -> u64 {
    let x = w ^ (LO * u64::from(c));
    x.wrapping_sub(LO) & !x & HI
}

/// The eight bytes at `i` as a little-endian word, if there are eight.
#[inline(always)]
fn word(b: &[u8], i: usize) -> Option<u64> {
    b.get(i..)?
        .first_chunk::<8>()
        .map(|w| u64::from_le_bytes(*w))
}

/// Index of the byte a non-zero match mask marks first, from the word starting at `i`.
#[inline(always)]
fn first(i: usize, mask: u64) -> usize {
    i + (mask.trailing_zeros() / 8) as usize
}

/// Position of the first `"` or `\` at or after `from`.
#[inline]
pub fn quote_or_escape(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    let stop = from.saturating_add(SHORT);
    while i < stop {
        let Some(w) = word(b, i) else { break };
        let m = eq_mask(w, b'"') | eq_mask(w, b'\\');
        if m != 0 {
            return Some(first(i, m));
        }
        i += 8;
    }
    memchr::memchr2(b'"', b'\\', b.get(i..)?).map(|k| i + k)
}

/// Position of the first byte at or after `from` that matters when skipping a container:
/// a quote, a bracket or a brace.
#[inline]
pub fn structural(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(w) = word(b, i) {
        // `| 0x20` folds `[` onto `{` and `]` onto `}` (no other byte folds onto either).
        let folded = w | (LO * 0x20);
        let m = eq_mask(w, b'"') | eq_mask(folded, b'{') | eq_mask(folded, b'}');
        if m != 0 {
            return Some(first(i, m));
        }
        i += 8;
    }
    b.get(i..)?
        .iter()
        .position(|c| matches!(c, b'"' | b'{' | b'}' | b'[' | b']'))
        .map(|k| i + k)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every position and length against the obvious byte loop, including bytes that defeat
    /// naive word tricks (0x80, 0x01 after a match, bytes that differ from a needle by 0x20).
    #[test]
    fn agree_with_a_byte_loop() {
        let alphabet = [
            b'a',
            b'"',
            b'\\',
            b'{',
            b'}',
            b'[',
            b']',
            0x80,
            0x01,
            0x02,
            0x7b ^ 0x20,
            b'\0',
            0xff,
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for len in 0..80 {
            for _ in 0..200 {
                let text: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        // Mostly plain bytes, so matches land at every offset.
                        if seed.is_multiple_of(5) {
                            alphabet[(seed >> 8) as usize % alphabet.len()]
                        } else {
                            b'a' + (seed >> 16) as u8 % 26
                        }
                    })
                    .collect();
                for from in 0..=len {
                    let want_q = (from..len).find(|&i| matches!(text[i], b'"' | b'\\'));
                    assert_eq!(quote_or_escape(&text, from), want_q, "{text:?} from {from}");
                    let want_s =
                        (from..len).find(|&i| matches!(text[i], b'"' | b'{' | b'}' | b'[' | b']'));
                    assert_eq!(structural(&text, from), want_s, "{text:?} from {from}");
                }
            }
        }
    }
}
