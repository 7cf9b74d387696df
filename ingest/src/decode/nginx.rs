//! NGINX / Apache access logs in the combined format
//! `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`,
//! the common format (the same without referer and user agent), and the same with a virtual
//! host first: Apache's `vhost_combined` (`%v:%p %h %l %u %t ...`, Debian's
//! `other_vhosts_access.log`) or NGINX formats starting with `$host`. A quoted token before the
//! client address (a logged `X-Forwarded-For`) is skipped; one after the address and ident is
//! the user, as Apache writes an empty one (`""`: Basic credentials with an empty name); two
//! spaces before the time are an empty user field (Caddy's `{common}`). Fields
//! appended after the user agent (e.g. `$request_time`) are ignored. Other layouts:
//! `--nginx-format`.

use std::borrow::Cow;
use std::net::IpAddr;

use super::request::{client_addr, present, request_line};
use crate::batch::{RawEvent, SourceFormat};

/// Why a line is not in combined/common format: the part that is wrong and the byte where
/// reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NginxError(pub &'static str, pub usize);

impl std::fmt::Display for NginxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.0, self.1)
    }
}

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
            return Err(NginxError(what, self.pos));
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
        match self.opened_field(open, close) {
            Some((field, true)) => Ok(field),
            _ => Err(NginxError(what, self.pos)),
        }
    }

    /// A quoted field that may be the last of a line cut short: to its closing quote, or, when
    /// the line ends first, to the end of the line. `None` if no quote opens here.
    fn quoted_or_rest(&mut self) -> Option<&'a str> {
        let (field, closed) = self.opened_field(b'"', b'"')?;
        if !closed {
            self.pos = self.s.len();
        }
        Some(field)
    }

    /// The field opening here with `open` (after spaces), to its `close` (`\` escapes the next
    /// byte) or, if the line ends first, to the end: the field and whether it was closed. The
    /// cursor moves past a closed field and stays at the opening of an unclosed one (where an
    /// error points). `None` if no field opens here.
    fn opened_field(&mut self, open: u8, close: u8) -> Option<(&'a str, bool)> {
        self.skip_spaces();
        let bytes = self.s.as_bytes();
        if bytes.get(self.pos) != Some(&open) {
            return None;
        }
        let start = self.pos + 1;
        let mut i = start;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                c if c == close => {
                    self.pos = i + 1;
                    return Some((self.s.get(start..i)?, true));
                }
                _ => i += 1,
            }
        }
        Some((self.s.get(start..)?, false))
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_spaces();
        self.s.as_bytes().get(self.pos).copied()
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
    if !time_shaped(b) {
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
    present(s).map(Cow::Borrowed)
}

/// A logged header: `-` (not sent) is absent, `""` (sent empty) is an empty value.
fn dash_absent(s: &str) -> Option<Cow<'_, str>> {
    (s != "-").then_some(Cow::Borrowed(s))
}

/// Fields kept of what precedes `[time]` (more are counted, and the last one's end kept): a
/// virtual host, a port, the address, the ident and the user's first word.
const HEAD_FIELDS: usize = 6;

/// What precedes `[time]`: `[vhost] [quoted XFF] addr ident user`, as byte ranges of the line.
/// The user is written by the client (Basic credentials' name, logged as sent: neither NGINX
/// nor Apache escapes a space in it), so it may hold spaces, brackets and what looks like an
/// address or a time; the fields before it are the server's.
#[derive(Clone, Copy)]
struct Head {
    fields: [(usize, usize); HEAD_FIELDS],
    n: usize,
    last_end: usize,
    /// Whether the last field was quoted: Apache's `""` for an empty user.
    last_quoted: bool,
}

impl Head {
    fn push(&mut self, line: &str, field: &str, quoted: bool) {
        let start = field.as_ptr() as usize - line.as_ptr() as usize;
        let end = start + field.len();
        if let Some(slot) = self.fields.get_mut(self.n) {
            *slot = (start, end);
        }
        self.n += 1;
        self.last_end = end;
        self.last_quoted = quoted;
    }

    /// Whether field `i` is an IP address (with or without a port).
    fn is_ip(&self, line: &str, i: usize) -> bool {
        client_addr(self.field(line, i)).is_some_and(|a| a.parse::<IpAddr>().is_ok())
    }

    fn field<'a>(&self, line: &'a str, i: usize) -> &'a str {
        self.fields
            .get(i)
            .and_then(|&(s, e)| line.get(s..e))
            .unwrap_or("")
    }

    /// (virtual host, address, user) of the line. The ident is a `-` in the second or third
    /// field (what the server writes there: hardly anyone runs identd), so the fields before it
    /// are the server's and everything after it up to the time is the user, spaces and all: a
    /// user named `203.0.113.70 - admin` cannot pass for the client address. With three fields
    /// they are address, ident and user. Where identd answered, the address is the first of the
    /// first two fields that is one (the user comes after it); failing that, the last three
    /// fields are address, ident and user.
    fn split<'a>(&self, line: &'a str) -> Option<(Option<&'a str>, &'a str, &'a str, bool)> {
        let n = self.n;
        if n == 3 {
            return Some((
                None,
                self.field(line, 0),
                self.field(line, 2),
                self.last_quoted,
            ));
        }
        let is_ip = |i: usize| self.is_ip(line, i);
        let dash = |i: usize| i < n && self.field(line, i) == "-";
        // The address's place: before a `-` ident (after a virtual host, an address); else
        // (identd answered) the first of the first two fields that is an address; else before
        // a `-` after a virtual host and a host name; else the last three are address, ident
        // and user.
        let addr = match () {
            () if dash(1) => 0,
            () if dash(2) && is_ip(1) => 1,
            () if is_ip(0) => 0,
            () if is_ip(1) => 1,
            () if dash(2) => 1,
            () if n <= HEAD_FIELDS => {
                return Some((
                    Some(self.field(line, 0)),
                    self.field(line, n - 3),
                    self.field(line, n - 1),
                    self.last_quoted,
                ))
            }
            () => return None,
        };
        let host = (addr >= 1).then(|| self.field(line, 0));
        let user = match self.fields.get(addr + 2) {
            Some(&(start, _)) if addr + 2 < n => line.get(start..self.last_end)?,
            _ => "-",
        };
        let quoted = self.last_quoted && addr + 3 == n;
        Some((host, self.field(line, addr), user, quoted))
    }
}

/// Whether the `[` at the cursor opens the line's time: 26 bytes shaped as `time_local` and a
/// `]` right after them, then the quoted request (or the end of a cut line). A bracket in the
/// user's name is not: a user cannot write the quote after it (servers escape `"` in every
/// field). Fixed offsets only, so a name of a thousand brackets costs a thousand checks.
fn opens_time(c: &Cursor<'_>) -> bool {
    let b = c.s.as_bytes();
    let p = c.pos;
    let shaped = b.get(p + 1..p + 27).is_some_and(time_shaped) && b.get(p + 27) == Some(&b']');
    shaped && {
        let after = b.get(p + 28..).unwrap_or_default();
        matches!(after.iter().find(|&&x| x != b' '), Some(b'"') | None)
    }
}

/// `dd/Mon/yyyy:HH:MM:SS +zzzz`'s length and separators (what [`parse_time_local`] checks
/// first).
fn time_shaped(b: &[u8]) -> bool {
    b.len() == 26 && b[2] == b'/' && b[6] == b'/' && b[11] == b':' && b[20] == b' '
}

/// Decodes one combined or common log line, with or without a leading virtual host.
pub fn decode_line(line: &str) -> Result<RawEvent<'_>, NginxError> {
    let mut c = Cursor { s: line, pos: 0 };
    let mut head = Head {
        fields: [(0, 0); HEAD_FIELDS],
        n: 0,
        last_end: 0,
        last_quoted: false,
    };
    // The first `[` that is no time, and the fields read before it: when no time follows, the
    // line is read again from there to say what is wrong with it.
    let mut first_bad: Option<(usize, Head)> = None;
    loop {
        let field_end = c.pos;
        match c.peek() {
            Some(b'[') if opens_time(&c) => {
                // Two spaces before `[time]` right after the address and ident: an empty user
                // field (Caddy's `{common}` writes `{user}` as nothing when no one
                // authenticated). Only there (or after a virtual host, an address and a `-`):
                // after three fields the last may be the user itself, and reading it as the
                // ident would take the ident for the address.
                let after_ident = || {
                    head.n == 2
                        || (head.n == 3 && head.field(line, 2) == "-" && head.is_ip(line, 1))
                };
                if c.pos - field_end >= 2 && after_ident() {
                    head.push(line, &line[c.pos..c.pos], false);
                }
                break;
            }
            None => match first_bad {
                Some((at, before)) => {
                    (c.pos, head) = (at, before);
                    break;
                }
                None => {
                    return Err(NginxError(
                        "no [time_local] after the client address",
                        c.pos,
                    ))
                }
            },
            Some(b'"') if head.n >= 2 => {
                // After the address and ident: the user, quoted by Apache when it is empty.
                let field = c.delimited(b'"', b'"', "closing quote of a quoted field")?;
                head.push(line, field, true);
            }
            Some(b'"') => {
                // A logged X-Forwarded-For list; the peer address follows it.
                c.delimited(b'"', b'"', "closing quote of a quoted field")?;
                continue;
            }
            Some(b) => {
                if b == b'[' && first_bad.is_none() {
                    first_bad = Some((c.pos, head));
                }
                let field = c.token("client address")?;
                head.push(line, field, false);
            }
        }
    }
    if head.n < 3 {
        return Err(NginxError(
            "client address, ident and user before [time_local]",
            c.pos,
        ));
    }
    let (host, addr, user, user_quoted) = head.split(line).ok_or(NginxError(
        "client address, ident and user before [time_local]",
        c.pos,
    ))?;
    let host = host.and_then(dash_none);
    let time_at = c.pos;
    let time = c.delimited(b'[', b']', "closing ] of [time_local]")?;
    let event_time_ms = parse_time_local(time).ok_or(NginxError(
        "time_local, expected dd/Mon/yyyy:HH:MM:SS +zzzz",
        time_at,
    ))?;
    let request = c.delimited(b'"', b'"', "quoted request line")?;
    let status_at = c.pos;
    let status = match c.token("status")? {
        "-" => None,
        s => Some(
            s.parse::<i64>()
                .map_err(|_| NginxError("status, expected a number or -", status_at))?,
        ),
    };
    // Sizes and the rest are optional: a record with its essentials is never rejected for them.
    let bytes = if c.at_end() {
        None
    } else {
        c.token("body bytes")?.parse::<i64>().ok()
    };
    // The common format ends here; combined adds referer and user agent. NGINX writes `-` for a
    // header that was not sent and `""` for one sent empty: only `-` is absent. A line cut short
    // inside one of them (a truncated copy, a full disk) keeps what it has: the request, its time
    // and status are whole, and a record is never rejected for an optional field.
    let referer = c.quoted_or_rest().and_then(dash_absent);
    let user_agent = c.quoted_or_rest().and_then(dash_absent);
    // A request line that is not `METHOD target PROTOCOL` (TLS noise, scanners) is still a real
    // request the server answered: keep the event, with no method or path.
    let line = request_line(request);
    Ok(RawEvent {
        format: SourceFormat::Nginx,
        event_time_ms: Some(event_time_ms),
        client_ip: client_addr(addr).map(Cow::Borrowed),
        method: line.method.map(Cow::Borrowed),
        host,
        target: line.target.map(Cow::Borrowed),
        http_version: line.protocol.map(Cow::Borrowed),
        unparsed_request: line.unparsed.map(Cow::Borrowed),
        status,
        response_bytes: bytes,
        user_agent,
        referer,
        // A quoted user is kept even empty: credentials were sent, with an empty name.
        username: if user_quoted {
            Some(Cow::Borrowed(user))
        } else {
            dash_none(user).filter(|u| !u.is_empty())
        },
        ..RawEvent::default()
    })
}

#[cfg(test)]
mod tests;
