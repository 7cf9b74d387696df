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

/// Position of the first `"` or `\` at or after `from`: sixteen bytes per step with SSE2
/// compares on x86-64 (as long as sixteen bytes remain), eight per step in a word otherwise,
/// then `memchr`'s SIMD loop past [`SHORT`] bytes.
#[inline]
pub fn quote_or_escape(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    let stop = from.saturating_add(SHORT);
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    while i < stop {
        let Some(lanes) = b.get(i..).and_then(|r| r.first_chunk::<16>()) else {
            break;
        };
        // SAFETY: only SSE2 is needed, which this build enables (checked above; it is part
        // of every x86-64 CPU). Nothing is read through pointers.
        let m = unsafe { quote_or_escape_16(lanes) };
        if m != 0 {
            return Some(i + m.trailing_zeros() as usize);
        }
        i += 16;
    }
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

/// Sixteen bytes of `b` from `at` (which `b` must hold) as SSE2 lanes, built from two
/// little-endian words: no pointer loads, so no `unsafe`; the compiler merges them into one
/// unaligned load.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
#[inline]
fn lanes(b: &[u8], at: usize) -> std::arch::x86_64::__m128i {
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i..i + 8]);
        i64::from_le_bytes(w)
    };
    std::arch::x86_64::_mm_set_epi64x(word(at + 8), word(at))
}

/// One bit per byte of `bytes` that is `"` or `\` (byte 0 in bit 0).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
#[inline]
fn quote_or_escape_16(bytes: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let v = lanes(bytes, 0);
    let hits = _mm_or_si128(
        _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8)),
        _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8)),
    );
    _mm_movemask_epi8(hits) as u32 & 0xffff
}

/// Position of the first byte at or after `from` that matters when skipping a container:
/// a quote, a bracket or a brace. (The byte-at-a-time skip kept as the reference of the block
/// skip's test uses it.)
#[cfg(test)]
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

/// High bit set in exactly the bytes of `w` equal to `c` (no false positives: usable as a
/// mask of every match, not only the first).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
#[inline(always)]
fn eq_exact(w: u64, c: u8) -> u64 {
    let x = w ^ (LO * u64::from(c));
    let low7 = LO * 0x7f;
    !(((x & low7).wrapping_add(low7)) | x | low7)
}

/// The high bits of a byte mask gathered into 8 bits, byte 0 in bit 0.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
#[inline(always)]
fn pack(m: u64) -> u64 {
    ((m >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
}

/// Where the bytes that matter when skipping JSON are in a 64-byte block, one bit per byte
/// (byte 0 in bit 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockMasks {
    /// `"`
    pub quote: u64,
    /// `\`
    pub backslash: u64,
    /// `{`, `}`, `[` and `]`.
    pub bracket: u64,
}

/// The masks of one 64-byte block: SSE2 compares on x86-64 (part of its baseline, so always
/// there), [`block_masks_swar`] elsewhere.
#[inline]
pub fn block_masks(block: &[u8; 64]) -> BlockMasks {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: the function only needs SSE2, which this build enables (`target_feature`
        // checked above; it is part of every x86-64 CPU). It reads nothing through pointers.
        unsafe { block_masks_sse2(block) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        block_masks_swar(block)
    }
}

/// [`block_masks`] with 16-byte compares.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
#[inline]
fn block_masks_sse2(block: &[u8; 64]) -> BlockMasks {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let quote_v = _mm_set1_epi8(b'"' as i8);
    let backslash_v = _mm_set1_epi8(b'\\' as i8);
    let open_v = _mm_set1_epi8(b'{' as i8);
    let close_v = _mm_set1_epi8(b'}' as i8);
    let fold = _mm_set1_epi8(0x20);
    let (mut quote, mut backslash, mut bracket) = (0u64, 0u64, 0u64);
    for k in 0..4 {
        let v = lanes(block, 16 * k);
        // `| 0x20` folds `[` onto `{` and `]` onto `}` (no other byte folds onto either).
        let f = _mm_or_si128(v, fold);
        let bits = |m| u64::from(_mm_movemask_epi8(m) as u16) << (16 * k);
        quote |= bits(_mm_cmpeq_epi8(v, quote_v));
        backslash |= bits(_mm_cmpeq_epi8(v, backslash_v));
        bracket |= bits(_mm_or_si128(
            _mm_cmpeq_epi8(f, open_v),
            _mm_cmpeq_epi8(f, close_v),
        ));
    }
    BlockMasks {
        quote,
        backslash,
        bracket,
    }
}

/// [`block_masks`] eight bytes at a time in general-purpose registers.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
#[inline]
fn block_masks_swar(block: &[u8; 64]) -> BlockMasks {
    let (mut quote, mut backslash, mut bracket) = (0u64, 0u64, 0u64);
    for (k, chunk) in block.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        // `| 0x20` folds `[` onto `{` and `]` onto `}` (no other byte folds onto either).
        let folded = w | (LO * 0x20);
        quote |= pack(eq_exact(w, b'"')) << (8 * k);
        backslash |= pack(eq_exact(w, b'\\')) << (8 * k);
        bracket |= pack(eq_exact(folded, b'{') | eq_exact(folded, b'}')) << (8 * k);
    }
    BlockMasks {
        quote,
        backslash,
        bracket,
    }
}

/// Bit `i` set when an odd number of bits at or below `i` are set in `x`.
#[inline(always)]
pub fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes that matter to the searches and masks, and bytes that defeat naive word
    /// tricks: 0x80, 0x01 after a match, bytes differing from a needle by 0x20 or 0x80.
    const HOSTILE: [u8; 15] = [
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
        0x5b ^ 0x80,
        0,
        0xff,
        b'z',
    ];

    /// The next value of a xorshift64 sequence (deterministic test input).
    fn xorshift(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn block_masks_mark_every_matching_byte() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut block = [0u8; 64];
            for b in block.iter_mut() {
                *b = HOSTILE[(xorshift(&mut seed) >> 11) as usize % HOSTILE.len()];
            }
            let bits = |f: &dyn Fn(u8) -> bool| {
                (0..64)
                    .filter(|&i| f(block[i]))
                    .fold(0u64, |m, i| m | 1 << i)
            };
            let m = block_masks(&block);
            assert_eq!(m, block_masks_swar(&block));
            assert_eq!(m.quote, bits(&|c| c == b'"'));
            assert_eq!(m.backslash, bits(&|c| c == b'\\'));
            assert_eq!(m.bracket, bits(&|c| matches!(c, b'{' | b'}' | b'[' | b']')));
        }
        assert_eq!(prefix_xor(0b1001_0100), 0xFFFF_FFFF_FFFF_FF8C);
    }

    /// Every position and length against the obvious byte loop, including bytes that defeat
    /// naive word tricks (0x80, 0x01 after a match, bytes that differ from a needle by 0x20).
    #[test]
    fn agree_with_a_byte_loop() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for len in 0..80 {
            for _ in 0..200 {
                let text: Vec<u8> = (0..len)
                    .map(|_| {
                        let seed = xorshift(&mut seed);
                        // Mostly plain bytes, so matches land at every offset.
                        if seed.is_multiple_of(5) {
                            HOSTILE[(seed >> 8) as usize % HOSTILE.len()]
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
