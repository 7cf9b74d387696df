//! A JSON scanner for decoders that need a few fields of a large record.
//!
//! Gateway records are mostly what no rule reads: request and response headers, `tries`,
//! service and route internals. This scanner reads the fields a decoder asks for and skips
//! every other value without tokenising it: a string is skipped by jumping from quote to
//! quote (16-byte compares, SIMD `memchr` past 32 bytes), an object or array 64 bytes at a
//! time: vector compares mark the quotes, backslashes and brackets of a block, a prefix XOR of
//! the quotes tells which bytes are inside strings, and only the brackets outside strings are
//! visited, iteratively, whatever the nesting depth.
//! Skipped values are checked for balance and closed strings, not for every detail of JSON's
//! grammar (a misspelt literal inside `tries` does not cost the record).
//!
//! Strings are borrowed from the line unless they contain escapes. Errors carry the column.
//! The lenient readers (a value as text, integer or float) are in the `loose` submodule.

use std::borrow::Cow;

use crate::batch::Str;

/// Why a record could not be scanned, with the column (1-based byte offset) where it went wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanError {
    /// What is wrong.
    pub message: String,
    /// 1-based byte column.
    pub column: usize,
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at line 1 column {}", self.message, self.column)
    }
}

/// A scanned scalar.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Number(&'a str),
    /// A string.
    Str(Str<'a>),
}

/// What the next value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `{`
    Object,
    /// `[`
    Array,
    /// Anything else.
    Scalar,
}

/// A cursor over one JSON text.
pub struct Scan<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl<'a> Scan<'a> {
    /// A scanner at the start of `s`.
    pub fn new(s: &'a str) -> Self {
        Scan {
            s,
            b: s.as_bytes(),
            pos: 0,
        }
    }

    /// An error at the current position.
    pub fn err(&self, message: impl Into<String>) -> ScanError {
        ScanError {
            message: message.into(),
            column: self.pos + 1,
        }
    }

    fn eof(&self, what: &str) -> ScanError {
        self.err(format!("EOF while parsing {what}"))
    }

    /// Skips whitespace.
    #[inline]
    pub fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// The next non-blank byte, not consumed.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        // Compact JSON (what gateways write) has no blanks between tokens: one comparison.
        match self.b.get(self.pos) {
            Some(&c) if c > b' ' => Some(c),
            _ => {
                self.ws();
                self.b.get(self.pos).copied()
            }
        }
    }

    /// What the next value is.
    pub fn kind(&mut self) -> Result<Kind, ScanError> {
        match self.peek() {
            Some(b'{') => Ok(Kind::Object),
            Some(b'[') => Ok(Kind::Array),
            Some(_) => Ok(Kind::Scalar),
            None => Err(self.eof("a value")),
        }
    }

    /// Nothing but whitespace left.
    pub fn end(&mut self) -> Result<(), ScanError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.err("trailing characters")),
        }
    }

    #[inline]
    fn expect(&mut self, c: u8, what: &str) -> Result<(), ScanError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    #[cold]
    #[inline(never)]
    fn expected(&mut self, what: &str) -> ScanError {
        match self.peek() {
            Some(_) => self.err(format!("expected {what}")),
            None => self.eof(what),
        }
    }

    /// The position just after the closing quote of the string starting at `from` (the byte
    /// after its opening quote), and whether it had escapes; `None` if it never closes.
    /// Inlined, with a small result: most strings are a few bytes long, so a call's set-up
    /// and a large `Result` cost more than the search.
    #[inline(always)]
    fn string_end(&self, from: usize) -> Option<(usize, bool)> {
        let mut i = from;
        let mut escaped = false;
        while let Some(at) = super::swar::quote_or_escape(self.b, i) {
            if self.b[at] == b'"' {
                return Some((at + 1, escaped));
            }
            escaped = true;
            // An escape: the next byte is escaped whatever it is.
            i = at + 2;
        }
        None
    }

    #[cold]
    #[inline(never)]
    fn unterminated(&self) -> ScanError {
        ScanError {
            message: "EOF while parsing a string".into(),
            column: self.b.len() + 1,
        }
    }

    /// A string value (the next token must be one).
    #[inline(always)]
    pub fn string(&mut self) -> Result<Str<'a>, ScanError> {
        self.expect(b'"', "a string")?;
        let start = self.pos;
        let Some((end, escaped)) = self.string_end(start) else {
            return Err(self.unterminated());
        };
        self.pos = end;
        let raw = &self.s[start..end - 1];
        if !escaped {
            return Ok(Cow::Borrowed(raw));
        }
        unescape(raw).map(Cow::Owned).map_err(|m| ScanError {
            message: m,
            column: start + 1,
        })
    }

    /// The next object key and its `:`; `None` at the object's end (its `}` consumed).
    /// `first` says whether no key was read yet in this object.
    #[inline]
    pub fn key(&mut self, first: bool) -> Result<Option<Str<'a>>, ScanError> {
        if let Some(key) = self.compact_key(first) {
            return Ok(Some(Cow::Borrowed(key)));
        }
        self.key_general(first)
    }

    /// The next key if it is written compactly (what gateways write): `,"key":`, or
    /// `"key":` first, without escapes, read in one go. `None`, and nothing consumed, for
    /// anything else (blanks, escapes, the object's end, errors): [`Self::key`] reads those.
    /// Small and inlined, so a record's few dozen keys cost no call and no large `Result`.
    #[inline(always)]
    pub fn compact_key(&mut self, first: bool) -> Option<&'a str> {
        let b = self.b;
        let quote = if first { self.pos } else { self.pos + 1 };
        if (first || b.get(self.pos) == Some(&b',')) && b.get(quote) == Some(&b'"') {
            if let Some((end, false)) = self.string_end(quote + 1) {
                if b.get(end) == Some(&b':') {
                    let key = self.s.get(quote + 1..end - 1)?;
                    self.pos = end + 1;
                    return Some(key);
                }
            }
        }
        None
    }

    /// [`Self::key`] from any position: blanks, escapes, the object's end and errors (a
    /// caller that just tried [`Self::compact_key`] goes straight here).
    #[inline(never)]
    pub(crate) fn key_general(&mut self, first: bool) -> Result<Option<Str<'a>>, ScanError> {
        match self.peek() {
            Some(b'}') => {
                self.pos += 1;
                return Ok(None);
            }
            Some(b',') if !first => {
                self.pos += 1;
            }
            Some(_) if first => {}
            Some(_) => return Err(self.err("expected `,` or `}` after an object entry")),
            None => return Err(self.eof("an object")),
        }
        if self.peek() != Some(b'"') {
            return Err(match self.peek() {
                None => self.eof("an object"),
                Some(_) => self.err("key must be a string"),
            });
        }
        let k = self.string()?;
        self.expect(b':', "`:`")?;
        Ok(Some(k))
    }

    /// Enters an object (`{`).
    pub fn open_object(&mut self) -> Result<(), ScanError> {
        self.expect(b'{', "an object")
    }

    /// Enters an array (`[`).
    pub fn open_array(&mut self) -> Result<(), ScanError> {
        self.expect(b'[', "an array")
    }

    /// Before the next array element: `false` at the array's end (its `]` consumed).
    pub fn next_element(&mut self, first: bool) -> Result<bool, ScanError> {
        match self.peek() {
            Some(b']') => {
                self.pos += 1;
                Ok(false)
            }
            Some(b',') if !first => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) if first => Ok(true),
            Some(_) => Err(self.err("expected `,` or `]` after an array element")),
            None => Err(self.eof("a list")),
        }
    }

    /// A scalar (the next value must not be an object or array).
    pub fn scalar(&mut self) -> Result<Scalar<'a>, ScanError> {
        match self.peek() {
            Some(b'"') => self.string().map(Scalar::Str),
            Some(b'n') => self.literal("null").map(|_| Scalar::Null),
            Some(b't') => self.literal("true").map(|_| Scalar::Bool(true)),
            Some(b'f') => self.literal("false").map(|_| Scalar::Bool(false)),
            Some(b'-' | b'0'..=b'9') => self.number().map(Scalar::Number),
            Some(b'{') => Err(self.err("invalid type: map")),
            Some(b'[') => Err(self.err("invalid type: sequence")),
            Some(_) => Err(self.err("expected value")),
            None => Err(self.eof("a value")),
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), ScanError> {
        if self.b[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.err("expected value"))
        }
    }

    fn number(&mut self) -> Result<&'a str, ScanError> {
        let start = self.pos;
        let b = self.b;
        let mut i = self.pos;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let digits = |i: &mut usize| {
            let s = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > s
        };
        if !digits(&mut i) {
            self.pos = i;
            return Err(self.err("invalid number"));
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                self.pos = i;
                return Err(self.err("invalid number"));
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                self.pos = i;
                return Err(self.err("invalid number"));
            }
        }
        self.pos = i;
        Ok(&self.s[start..i])
    }

    /// Skips the next value, whatever it is, without building anything.
    pub fn skip(&mut self) -> Result<(), ScanError> {
        match self.peek() {
            Some(b'"') => {
                let Some((end, _)) = self.string_end(self.pos + 1) else {
                    return Err(self.unterminated());
                };
                self.pos = end;
                Ok(())
            }
            Some(b'{' | b'[') => self.skip_container(),
            Some(_) => self.scalar().map(|_| ()),
            None => Err(self.eof("a value")),
        }
    }

    /// Skips an object or array by its brackets, strings jumped over, iteratively. Works 64
    /// bytes at a time: one pass over a block finds its quotes, backslashes and brackets
    /// ([`super::swar::block_masks`]); without a backslash in the block, which bytes lie inside
    /// strings follows from the quotes alone (a prefix XOR), and only the brackets outside
    /// strings are visited, one by one, against a stack (a `]` closing a `{` is an error). A
    /// block with a backslash is walked byte by byte.
    fn skip_container(&mut self) -> Result<(), ScanError> {
        let b = self.b;
        let mut stack = brackets::Brackets::default();
        let (mut in_string, mut escaped) = (false, false);
        let mut at = self.pos;
        while at < b.len() {
            let mut block = [0u8; 64];
            let block = match b[at..].first_chunk::<64>() {
                Some(full) => full,
                None => {
                    block[..b.len() - at].copy_from_slice(&b[at..]);
                    &block
                }
            };
            let m = super::swar::block_masks(block);
            let mut visit = |i: usize,
                             c: u8,
                             stack: &mut brackets::Brackets|
             -> Option<Result<(), ScanError>> {
                match c {
                    b'{' | b'[' => stack.push(c),
                    _ => {
                        let open = if c == b'}' { b'{' } else { b'[' };
                        if stack.pop() != Some(open) {
                            self.pos = i;
                            return Some(Err(self.err("mismatched bracket")));
                        }
                        if stack.is_empty() {
                            self.pos = i + 1;
                            return Some(Ok(()));
                        }
                    }
                }
                None
            };
            if m.backslash != 0 || escaped {
                for (k, &c) in block.iter().enumerate().take(b.len() - at) {
                    if escaped {
                        escaped = false;
                    } else if in_string {
                        match c {
                            b'\\' => escaped = true,
                            b'"' => in_string = false,
                            _ => {}
                        }
                    } else if c == b'"' {
                        in_string = true;
                    } else if matches!(c, b'{' | b'}' | b'[' | b']') {
                        if let Some(done) = visit(at + k, c, &mut stack) {
                            return done;
                        }
                    }
                }
            } else {
                let carry = if in_string { !0 } else { 0 };
                let inside = super::swar::prefix_xor(m.quote) ^ carry;
                in_string ^= m.quote.count_ones() % 2 == 1;
                let mut brackets = m.bracket & !inside;
                while brackets != 0 {
                    let k = brackets.trailing_zeros() as usize;
                    brackets &= brackets - 1;
                    if let Some(done) = visit(at + k, block[k], &mut stack) {
                        return done;
                    }
                }
            }
            at += 64;
        }
        if in_string {
            return Err(self.unterminated());
        }
        self.pos = b.len();
        Err(self.eof(if stack.last() == Some(b'[') {
            "a list"
        } else {
            "an object"
        }))
    }

    /// The position of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The bytes read since `from`, a [`Self::position`] taken earlier.
    pub fn read_since(&self, from: usize) -> &'a [u8] {
        self.b.get(from..self.pos).unwrap_or_default()
    }

    /// Consumes `bytes` if the input goes on with exactly them; `false`, nothing consumed,
    /// otherwise.
    pub fn eat(&mut self, bytes: &[u8]) -> bool {
        let found = self.b.get(self.pos..).is_some_and(|r| r.starts_with(bytes));
        if found {
            self.pos += bytes.len();
        }
        found
    }

    /// `null` consumed if it is next.
    pub fn null(&mut self) -> bool {
        if self.peek() == Some(b'n') && self.b[self.pos..].starts_with(b"null") {
            self.pos += 4;
            true
        } else {
            false
        }
    }

    fn what(&mut self) -> &'static str {
        match self.peek() {
            Some(b'{') => "map",
            Some(b'[') => "sequence",
            Some(b'"') => "string",
            Some(b't' | b'f') => "boolean",
            Some(b'n') => "null",
            Some(_) => "number",
            None => "end of input",
        }
    }
}

/// Decodes a JSON string body with escapes (lone surrogates become U+FFFD).
fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices().peekable();
    let b = raw.as_bytes();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            if (c as u32) < 0x20 {
                return Err(
                    "control character (\\u0000-\\u001F) found while parsing a string".into(),
                );
            }
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else {
            return Err("EOF while parsing a string".into());
        };
        match e {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '/' => out.push('/'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let hex = |at: usize| -> Option<u32> {
                    let h = raw.get(at..at + 4)?;
                    u32::from_str_radix(h, 16).ok()
                };
                let Some(u) = hex(i + 2) else {
                    return Err("invalid escape".into());
                };
                for _ in 0..4 {
                    chars.next();
                }
                let ch = if (0xD800..0xDC00).contains(&u) {
                    // A high surrogate: pair it with the low one that should follow.
                    let next = i + 6;
                    if b.get(next) == Some(&b'\\') && b.get(next + 1) == Some(&b'u') {
                        match hex(next + 2) {
                            Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                                for _ in 0..6 {
                                    chars.next();
                                }
                                char::from_u32(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00))
                            }
                            _ => None,
                        }
                    } else {
                        None
                    }
                } else {
                    char::from_u32(u)
                };
                out.push(ch.unwrap_or('\u{FFFD}'));
            }
            _ => return Err("invalid escape".into()),
        }
    }
    Ok(out)
}

mod brackets;
mod loose;
#[cfg(test)]
mod tests;
