//! Other readings of a decoded text, as the program the text is injected into reads it:
//! MySQL runs what its version comments hold, a browser decodes character references in
//! markup, a shell drops quotes and empty variables. Each returns `None` when the text reads
//! the same (most texts), so the patterns run once.

/// `text` with each MySQL version comment's opening (`/*!`, `/*!50000`) replaced by a space,
/// so the keyword it holds starts a word: MySQL runs `/*!50000UNION*/`.
pub(super) fn without_version_comments(text: &str) -> Option<String> {
    if !text.contains("/*!") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("/*!") {
        out.push_str(&rest[..at]);
        out.push(' ');
        rest = rest[at + 3..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    Some(out)
}

/// Named character references a payload spells markup and calls with (HTML's names).
const NAMED: &[(&str, char)] = &[
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("amp", '&'),
    ("equals", '='),
    ("lpar", '('),
    ("rpar", ')'),
    ("colon", ':'),
    ("sol", '/'),
    ("bsol", '\\'),
    ("semi", ';'),
    ("comma", ','),
    ("period", '.'),
    ("grave", '`'),
    ("lsqb", '['),
    ("rsqb", ']'),
    ("lcub", '{'),
    ("rcub", '}'),
    ("excl", '!'),
    ("tab", '\t'),
    ("newline", '\n'),
    ("nbsp", ' '),
];

/// `text` with its character references decoded as a browser decodes them in an attribute or
/// text (`&lt;svg/onload&equals;alert(1)&gt;`, `j&#X41vascript:`, `&#x28` without its `;`);
/// `None` when it has none. A reference that names nothing is kept as written.
pub(super) fn html_decoded(text: &str) -> Option<String> {
    if !text.contains('&') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match reference(after) {
            Some((c, used)) => {
                out.push(c);
                rest = &after[used..];
                changed = true;
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// The character a reference at the start of `s` (after its `&`) stands for, and the bytes it
/// takes: `#65;`, `#x41` (the `;` is optional for numbers, as browsers read them), `lt;`.
fn reference(s: &str) -> Option<(char, usize)> {
    if let Some(num) = s.strip_prefix('#') {
        let (digits, radix, skip) = match num.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 2),
            None => (num, 10, 1),
        };
        let len = digits
            .bytes()
            .take_while(|b| b.is_ascii_hexdigit() && (radix == 16 || b.is_ascii_digit()))
            .count();
        // Browsers take any number of leading zeros (`&#00000106;`); seven significant digits
        // hold every code point, more name none.
        let significant = digits[..len].trim_start_matches('0');
        if len == 0 || significant.len() > 7 {
            return None;
        }
        let value = match significant {
            "" => 0,
            s => u32::from_str_radix(s, radix).ok()?,
        };
        let c = char::from_u32(value)?;
        let semi = usize::from(digits[len..].starts_with(';'));
        return Some((c, skip + len + semi));
    }
    let name_len = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    if !s[name_len..].starts_with(';') {
        return None;
    }
    let name = &s[..name_len];
    NAMED
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, c)| (c, name_len + 1))
}

/// `text` as a shell reads its words: quotes, backslashes and cmd.exe's `^` removed inside a
/// word (`/et'c/pa'ss'wd`, `w\ho^ami`; a quote that delimits a whole argument, `|| 'id'` in
/// JavaScript, or a backslash starting TeX's `(\alpha`, is kept), `$IFS` and `${IFS}` read as a
/// space, and one-letter variables an attacker leaves unset to split a word removed
/// (`cat$u /etc$u/passwd`); `None` when the text has none of these.
pub(super) fn as_shell_words(text: &str) -> Option<String> {
    if !text.contains(['\'', '"', '\\', '^', '$']) {
        return None;
    }
    let spaced = text.replace("${IFS}", " ").replace("$IFS", " ");
    let bytes = spaced.as_bytes();
    let mut out = String::with_capacity(spaced.len());
    let mut chars = spaced.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\'' | '"' | '\\' | '^' if inside_word(&spaced, at) => {}
            // `$u` and its letter (one byte) dropped.
            '$' if bytes.get(at + 1).is_some_and(u8::is_ascii_alphabetic)
                && !bytes
                    .get(at + 2)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') =>
            {
                chars.next();
            }
            c => out.push(c),
        }
    }
    (out != text).then_some(out)
}

/// Whether the run of quotes, backslashes and carets around byte `at` of `text` has a word or
/// path character on both sides (`t'c`, `a''s`, `w\h`): it splits a word. A run longer than
/// [`SPLIT_RUN`] splits nothing (and is not walked once per byte).
fn inside_word(text: &str, at: usize) -> bool {
    let splitter = |b: &u8| matches!(b, b'\'' | b'"' | b'\\' | b'^');
    let word = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-');
    let bytes = text.as_bytes();
    let before = (bytes[..at].iter().rev().take(SPLIT_RUN)).find(|b| !splitter(b));
    let after = (bytes[at..].iter().take(SPLIT_RUN)).find(|b| !splitter(b));
    before.is_some_and(word) && after.is_some_and(word)
}

/// The longest run of quotes, backslashes and carets read as splitting one word.
const SPLIT_RUN: usize = 4;
