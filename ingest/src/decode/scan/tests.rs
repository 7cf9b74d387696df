//! Tests of the scanner: its behaviour on valid, hostile and truncated input, and the block
//! skip against the byte-at-a-time reference kept here.

use super::*;

impl Scan<'_> {
    /// The byte-at-a-time skip the block version replaced: the reference of its test.
    fn skip_container_reference(&mut self) -> Result<(), ScanError> {
        let mut stack: Vec<u8> = Vec::new();
        let b = self.b;
        let mut i = self.pos;
        loop {
            let Some(at) = crate::decode::swar::structural(b, i) else {
                self.pos = b.len();
                return Err(self.eof(if stack.last() == Some(&b'[') {
                    "a list"
                } else {
                    "an object"
                }));
            };
            i = at;
            let c = b[at];
            match c {
                b'"' => {
                    let Some((end, _)) = self.string_end(i + 1) else {
                        return Err(self.unterminated());
                    };
                    i = end;
                    continue;
                }
                b'{' | b'[' => stack.push(c),
                b'}' | b']' => {
                    let open = if c == b'}' { b'{' } else { b'[' };
                    if stack.pop() != Some(open) {
                        self.pos = i;
                        return Err(self.err("mismatched bracket"));
                    }
                }
                _ => {}
            }
            i += 1;
            if stack.is_empty() {
                self.pos = i;
                return Ok(());
            }
        }
    }
}

#[test]
fn strings_borrow_unless_escaped() {
    let mut s = Scan::new(r#""plain" "a\"b\\c\u00e9\ud83d\ude00""#);
    assert!(matches!(s.string().unwrap(), Cow::Borrowed("plain")));
    assert_eq!(s.string().unwrap(), "a\"b\\cé😀");
    assert!(s.end().is_ok());
}

#[test]
fn skips_nested_values_iteratively() {
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let text = format!(r#"{{"a":{{"b":[1,{{"c":"x}}]"}}]}},"d":{deep},"e":7}}"#);
    let mut s = Scan::new(&text);
    s.open_object().unwrap();
    let mut seen = Vec::new();
    let mut first = true;
    while let Some(k) = s.key(first).unwrap() {
        first = false;
        if k == "e" {
            seen.push(s.loose_int().unwrap());
        } else {
            s.skip().unwrap();
        }
    }
    assert_eq!(seen, [Some(7)]);
    s.end().unwrap();
}

/// The 64-byte block skip against the byte-at-a-time reference on random nested JSON:
/// strings holding brackets, quotes and escapes (also escaped backslashes and escapes
/// across block edges), truncated input, mismatched and stray brackets. Same end position
/// on success, same message and column on failure.
#[test]
fn block_skip_equals_the_byte_at_a_time_reference() {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let pieces: [&[u8]; 16] = [
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b"\\",
        b"\\\"",
        b"\"a]}\"",
        b"\"x\\\\\"",
        b",",
        b":",
        b"123",
        b"\"\\\"{\"",
        b"    ",
        b"\"long string with no specials at all\"",
        b"\xc3\xa9",
    ];
    let mut compared = 0;
    for _ in 0..40_000 {
        let mut text = vec![b'{'];
        let len = next(90);
        for _ in 0..len {
            text.extend_from_slice(pieces[next(pieces.len() as u64) as usize]);
        }
        // Mostly well-formed: close what is open about half the time.
        if next(2) == 0 {
            let mut depth = Vec::new();
            let mut in_str = false;
            let mut esc = false;
            for &c in &text {
                if esc {
                    esc = false;
                } else if in_str {
                    match c {
                        b'\\' => esc = true,
                        b'"' => in_str = false,
                        _ => {}
                    }
                } else {
                    match c {
                        b'"' => in_str = true,
                        b'{' => depth.push(b'}'),
                        b'[' => depth.push(b']'),
                        b'}' | b']' => {
                            depth.pop();
                        }
                        _ => {}
                    }
                }
            }
            if in_str {
                text.push(b'"');
            }
            text.extend(depth.iter().rev());
        }
        text.extend_from_slice(b",\"tail\":1}");
        let Ok(s) = std::str::from_utf8(&text) else {
            continue;
        };
        let (mut a, mut b) = (Scan::new(s), Scan::new(s));
        let (ra, rb) = (a.skip_container(), b.skip_container_reference());
        match (&ra, &rb) {
            (Ok(()), Ok(())) => assert_eq!(a.pos, b.pos, "{s}"),
            (Err(x), Err(y)) => {
                assert_eq!((&x.message, x.column), (&y.message, y.column), "{s}")
            }
            _ => panic!("{s}: block {ra:?}, reference {rb:?}"),
        }
        compared += 1;
    }
    assert!(compared > 30_000);
}

#[test]
fn truncated_and_mismatched_input_fails_with_a_position() {
    for bad in [
        r#"{"a":"#,
        r#"{"a":[1,2"#,
        r#"{"a":"unterminated"#,
        r#"{"a":[1}"#,
    ] {
        let mut s = Scan::new(bad);
        s.open_object().unwrap();
        let k = s.key(true).unwrap();
        assert!(k.is_some());
        let e = s.skip().unwrap_err();
        assert!(e.column >= 1, "{bad}: {e}");
    }
}

#[test]
fn loose_numbers() {
    let mut s = Scan::new(r#"200 "502, 200" "-" null 1.5e3 "x" true 18446744073709551615"#);
    assert_eq!(s.loose_int().unwrap(), Some(200));
    assert_eq!(s.loose_int().unwrap(), Some(200));
    assert_eq!(s.loose_int().unwrap(), None);
    assert_eq!(s.loose_int().unwrap(), None);
    assert_eq!(s.loose_int().unwrap(), Some(1500));
    assert!(s.loose_int().unwrap_err().message.contains("invalid value"));
    assert!(s
        .loose_int()
        .unwrap_err()
        .message
        .contains("invalid type: boolean"));
    s.scalar().unwrap(); // the boolean was not consumed by the error
    assert!(s.loose_int().unwrap_err().message.contains("out of range"));
}

/// An object's keys, or the first error with its column.
fn keys_of(text: &str) -> Result<Vec<String>, (String, usize)> {
    let mut s = Scan::new(text);
    let fail = |e: ScanError| (e.message, e.column);
    s.open_object().map_err(fail)?;
    let mut keys = Vec::new();
    let mut first = true;
    while let Some(k) = s.key(first).map_err(fail)? {
        first = false;
        keys.push(k.into_owned());
        s.skip().map_err(fail)?;
    }
    s.end().map_err(fail)?;
    Ok(keys)
}

/// Compact keys (read in one go), keys after blanks, escaped and empty keys read alike; a
/// missing comma, a leading comma, a missing colon or a non-string key fail where they are.
#[test]
fn keys_read_the_same_compact_or_not_and_fail_where_the_text_is_wrong() {
    let keys = |t: &str| keys_of(t).unwrap();
    assert_eq!(keys(r#"{"a":1,"bc":[2],"":3}"#), ["a", "bc", ""]);
    assert_eq!(keys(r#"{ "a" : 1 , "bc":[2] ,"":3 }"#), ["a", "bc", ""]);
    assert_eq!(keys(r#"{"a\"b":1,"c\u0041":2}"#), ["a\"b", "cA"]);
    assert!(keys("{}").is_empty());
    let err = |t: &str| keys_of(t).unwrap_err();
    assert_eq!(
        err(r#"{"a":1 "b":2}"#),
        ("expected `,` or `}` after an object entry".into(), 8)
    );
    assert_eq!(err(r#"{,"a":1}"#), ("key must be a string".into(), 2));
    assert_eq!(err(r#"{"a" 1}"#), ("expected `:`".into(), 6));
    assert_eq!(err(r#"{"a":1,2:3}"#), ("key must be a string".into(), 8));
    assert_eq!(err(r#"{"a":1,"b"#).0, "EOF while parsing a string");
}

/// The one-pass integer read gives what the general path gives (value or error, and where it
/// stops) on plain, quoted, signed, fractional, exponent, overlong and malformed numbers.
#[test]
fn plain_integers_read_as_the_general_path_reads_them() {
    let heads = ["", "\"", "-", "\"-", "0", "00", "\" "];
    let digits = [
        "",
        "7",
        "200",
        "1767225600001",
        "999999999999999999",
        "1000000000000000000",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551616",
    ];
    let tails = [
        "", "\"", ",", "}", ".5", "e3", "E-2", "x", "\"x", " ", "\" ", "-", ", 200\"", "9\"",
    ];
    let mut checked = 0;
    for head in heads {
        for d in digits {
            for tail in tails {
                let text = format!("{head}{d}{tail}");
                let read = |general: bool| {
                    let mut s = Scan::new(&text);
                    let r = if general {
                        s.loose_int_general()
                    } else {
                        s.loose_int()
                    };
                    (r.map_err(|e| (e.message, e.column)), s.pos)
                };
                assert_eq!(read(false), read(true), "{text:?}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 7 * 9 * 14);
}
