//! NGINX / Apache access logs in the combined format
//! `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`
//! and the common format (the same without referer and user agent). Fields appended after the
//! user agent (e.g. `$request_time`) are ignored.

use std::borrow::Cow;

use crate::batch::{RawEvent, SourceFormat};

/// Why a line is not in combined/common format; the message names the part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NginxError(pub &'static str);

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn token(&mut self, what: &'static str) -> Result<&'a str, NginxError> {
        self.skip_spaces();
        let rest = &self.s[self.pos..];
        let end = rest.find(' ').unwrap_or(rest.len());
        if end == 0 {
            return Err(NginxError(what));
        }
        self.pos += end;
        Ok(&rest[..end])
    }

    fn skip_spaces(&mut self) {
        while self.s.as_bytes().get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    /// A field between `open` and `close`; for quotes, `\"` inside does not end the field.
    fn delimited(
        &mut self,
        open: u8,
        close: u8,
        what: &'static str,
    ) -> Result<&'a str, NginxError> {
        self.skip_spaces();
        let bytes = self.s.as_bytes();
        if bytes.get(self.pos) != Some(&open) {
            return Err(NginxError(what));
        }
        let start = self.pos + 1;
        let mut i = start;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                c if c == close => {
                    self.pos = i + 1;
                    return Ok(&self.s[start..i]);
                }
                _ => i += 1,
            }
        }
        Err(NginxError(what))
    }

    fn at_end(&mut self) -> bool {
        self.skip_spaces();
        self.pos >= self.s.len()
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses `$time_local` (`10/Oct/2000:13:55:36 -0700`) to epoch ms.
pub(crate) fn parse_time_local(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[20] != b' ' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let day = num(0..2)?;
    let month = MONTHS.iter().position(|m| *m == &s[3..6])? as u32 + 1;
    let year = num(7..11)? as i32;
    let (h, m, sec) = (num(12..14)?, num(15..17)?, num(18..20)?);
    let sign: i64 = match b[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let off_min = i64::from(num(22..24)?) * 60 + i64::from(num(24..26)?);
    let local = chrono::NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(h, m, sec)?;
    Some(local.and_utc().timestamp_millis() - sign * off_min * 60_000)
}

fn dash_none(s: &str) -> Option<Cow<'_, str>> {
    (s != "-" && !s.is_empty()).then_some(Cow::Borrowed(s))
}

/// Decodes one combined or common log line.
pub fn decode_line(line: &str) -> Result<RawEvent<'_>, NginxError> {
    let mut c = Cursor { s: line, pos: 0 };
    let addr = c.token("remote address")?;
    let _ident = c.token("ident field")?;
    let user = c.token("remote user")?;
    let time = c.delimited(b'[', b']', "[time_local]")?;
    let event_time_ms = parse_time_local(time).ok_or(NginxError(
        "time_local, expected dd/Mon/yyyy:HH:MM:SS +zzzz",
    ))?;
    let request = c.delimited(b'"', b'"', "quoted request line")?;
    let status = c
        .token("status")?
        .parse::<i64>()
        .map_err(|_| NginxError("status, expected a number"))?;
    let bytes = match c.token("body bytes")? {
        "-" => None,
        n => Some(
            n.parse::<i64>()
                .map_err(|_| NginxError("body bytes, expected a number or -"))?,
        ),
    };
    // The common format ends here; combined adds referer and user agent.
    let user_agent = if c.at_end() {
        None
    } else {
        let _referer = c.delimited(b'"', b'"', "quoted referer")?;
        dash_none(c.delimited(b'"', b'"', "quoted user agent")?)
    };
    // A request line that is not `METHOD target PROTOCOL` (TLS noise, scanners) is still a real
    // request the server answered: keep the event, with no method or path.
    let mut parts = request.split(' ');
    let (method, target) = match (parts.next(), parts.next()) {
        (Some(m), Some(t)) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) => {
            (Some(Cow::Borrowed(m)), Some(Cow::Borrowed(t)))
        }
        _ => (None, None),
    };
    Ok(RawEvent {
        format: SourceFormat::Nginx,
        event_time_ms: Some(event_time_ms),
        client_ip: dash_none(addr),
        method,
        target,
        status: Some(status),
        response_bytes: bytes,
        user_agent,
        username: dash_none(user),
        ..RawEvent::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_format() {
        let line = r#"203.0.113.5 - frank [10/Oct/2000:13:55:36 -0700] "POST /api/login?x=1 HTTP/1.1" 401 23 "-" "Mozilla/5.0 (X11; \"Linux\")" 0.003"#;
        let ev = decode_line(line).unwrap();
        assert_eq!(ev.client_ip.as_deref(), Some("203.0.113.5"));
        assert_eq!(ev.username.as_deref(), Some("frank"));
        assert_eq!(ev.event_time_ms, Some(971211336000));
        assert_eq!(ev.method.as_deref(), Some("POST"));
        assert_eq!(ev.target.as_deref(), Some("/api/login?x=1"));
        assert_eq!(ev.status, Some(401));
        assert_eq!(ev.response_bytes, Some(23));
        assert_eq!(
            ev.user_agent.as_deref(),
            Some(r#"Mozilla/5.0 (X11; \"Linux\")"#)
        );
    }

    #[test]
    fn common_format_without_agent() {
        let ev =
            decode_line(r#"127.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.0" 200 -"#)
                .unwrap();
        assert_eq!(ev.event_time_ms, Some(1704067200000));
        assert_eq!(ev.username, None);
        assert_eq!(ev.response_bytes, None);
        assert_eq!(ev.user_agent, None);
    }

    #[test]
    fn garbage_request_line_is_kept_without_path() {
        let ev = decode_line(
            r#"198.51.100.1 - - [01/Jan/2024:00:00:00 +0000] "\x16\x03\x01" 400 157 "-" "-""#,
        )
        .unwrap();
        assert_eq!(ev.method, None);
        assert_eq!(ev.status, Some(400));
    }

    #[test]
    fn errors_name_the_bad_part() {
        assert_eq!(decode_line("hello").unwrap_err(), NginxError("ident field"));
        let bad_time = r#"1.2.3.4 - - [yesterday] "GET / HTTP/1.1" 200 1"#;
        assert!(decode_line(bad_time)
            .unwrap_err()
            .0
            .starts_with("time_local"));
        let truncated = r#"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTT"#;
        assert_eq!(
            decode_line(truncated).unwrap_err(),
            NginxError("quoted request line")
        );
    }
}
