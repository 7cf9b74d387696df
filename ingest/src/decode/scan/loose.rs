//! The lenient readers: a value as text, as an integer or as a float, whatever JSON type the
//! gateway wrote it as (`"200"`, `200`, `2e2`), with errors that name what was expected.

use std::borrow::Cow;

use super::{Kind, Scalar, Scan, ScanError};
use crate::batch::Str;

impl<'a> Scan<'a> {
    /// A value as loose text: strings as they are, numbers as written, booleans as
    /// `true`/`false`, null as `None`. `expected` names the field for errors on containers.
    pub fn loose_str(&mut self, expected: &str) -> Result<Option<Str<'a>>, ScanError> {
        match self.kind()? {
            Kind::Scalar => Ok(match self.scalar()? {
                Scalar::Null => None,
                Scalar::Bool(v) => Some(Cow::Borrowed(if v { "true" } else { "false" })),
                Scalar::Number(n) => Some(Cow::Owned(canonical_number(n))),
                Scalar::Str(s) => Some(s),
            }),
            _ => {
                let what = self.what();
                Err(self.err(format!("invalid type: {what}, expected {expected}")))
            }
        }
    }

    /// A value as a lenient integer: integers, floats (truncated), numeric strings (`"200"`;
    /// the last of `"502, 200"` or `"502 : 200"`); null and `"-"` as `None`.
    pub fn loose_int(&mut self) -> Result<Option<i64>, ScanError> {
        const EXPECTED: &str = "expected an integer, a numeric string or null";
        if self.kind()? != Kind::Scalar {
            let what = self.what();
            return Err(self.err(format!("invalid type: {what}, {EXPECTED}")));
        }
        match self.plain_int() {
            Some(v) => Ok(Some(v)),
            None => self.loose_int_general(),
        }
    }

    /// [`Self::loose_int`] for any scalar (the value must be one).
    pub(super) fn loose_int_general(&mut self) -> Result<Option<i64>, ScanError> {
        const EXPECTED: &str = "expected an integer, a numeric string or null";
        let at = self.pos;
        match self.scalar()? {
            Scalar::Null => Ok(None),
            Scalar::Bool(v) => {
                self.pos = at;
                Err(self.err(format!("invalid type: boolean `{v}`, {EXPECTED}")))
            }
            Scalar::Number(n) => number_to_int(n).map(Some).map_err(|m| ScanError {
                message: m,
                column: at + 1,
            }),
            Scalar::Str(s) => {
                let v = s.trim();
                if v.is_empty() || v == "-" {
                    return Ok(None);
                }
                // Multi-valued upstream statuses ("502, 200" servers tried, "502 : 200"
                // internal redirects) keep the last, final attempt.
                crate::decode::request::loose_status(v).map_err(|()| ScanError {
                    message: format!("invalid value: string {v:?}, {EXPECTED}"),
                    column: at + 1,
                })
            }
        }
    }

    /// What gateways write for sizes, statuses and times, read in one pass: up to 18 ASCII
    /// digits, bare (not followed by a fraction, an exponent or a 19th digit) or alone in a
    /// string (`"200"`). `None`, and nothing consumed, for anything else: the general path
    /// reads it and gives the same value or error it always did.
    #[inline(always)]
    fn plain_int(&mut self) -> Option<i64> {
        let b = self.b;
        let quoted = b.get(self.pos) == Some(&b'"');
        let start = self.pos + usize::from(quoted);
        let mut i = start;
        let mut v = 0i64;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() || i - start == 18 {
                break;
            }
            // At most 18 digits: below 10^18, no overflow.
            v = v * 10 + i64::from(c - b'0');
            i += 1;
        }
        if i == start {
            return None;
        }
        match (quoted, b.get(i)) {
            (true, Some(b'"')) => i += 1,
            (true, _) | (false, Some(b'.' | b'e' | b'E' | b'0'..=b'9')) => return None,
            (false, _) => {}
        }
        self.pos = i;
        Some(v)
    }

    /// A value as a lenient float: numbers, numeric strings, null as `None`.
    pub fn loose_float(&mut self) -> Result<Option<f64>, ScanError> {
        const EXPECTED: &str = "expected a number, a numeric string or null";
        if self.kind()? != Kind::Scalar {
            let what = self.what();
            return Err(self.err(format!("invalid type: {what}, {EXPECTED}")));
        }
        let at = self.pos;
        match self.scalar()? {
            Scalar::Null => Ok(None),
            Scalar::Bool(v) => Err(ScanError {
                message: format!("invalid type: boolean `{v}`, {EXPECTED}"),
                column: at + 1,
            }),
            Scalar::Number(n) => n.parse::<f64>().map(Some).map_err(|_| ScanError {
                message: format!("invalid number {n}"),
                column: at + 1,
            }),
            Scalar::Str(s) => s.trim().parse::<f64>().map(Some).map_err(|_| ScanError {
                message: format!("invalid value: string {s:?}, {EXPECTED}"),
                column: at + 1,
            }),
        }
    }
}

/// A JSON integer literal as i64, as serde_json reads it: integers in range, floats truncated
/// when finite and below 9e18.
fn number_to_int(n: &str) -> Result<i64, String> {
    if !n.contains(['.', 'e', 'E']) {
        if let Ok(v) = n.parse::<i64>() {
            return Ok(v);
        }
        if n.parse::<u64>().is_ok() {
            return Err("integer out of range".into());
        }
    }
    match n.parse::<f64>() {
        Ok(v) if v.is_finite() && v.abs() < 9.0e18 => Ok(v as i64),
        _ => Err("number out of range".into()),
    }
}

/// A number as serde_json + `to_string` would render it for a text field.
fn canonical_number(n: &str) -> String {
    if !n.contains(['.', 'e', 'E']) {
        if let Ok(v) = n.parse::<i64>() {
            return v.to_string();
        }
        if let Ok(v) = n.parse::<u64>() {
            return v.to_string();
        }
    }
    n.parse::<f64>()
        .map_or_else(|_| n.to_owned(), |v| v.to_string())
}
