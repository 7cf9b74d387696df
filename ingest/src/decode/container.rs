//! Kubernetes container log envelopes around an access log line: CRI (containerd, CRI-O)
//! `<RFC3339Nano> <stream> <P|F> <line>` and Docker's JSON-file
//! `{"log":"<line>\n","stream":"stdout","time":"..."}`. A `P` (partial) CRI line, or a Docker
//! `log` without its final newline, continues in the next line of the same input; the chunk
//! decoder joins them (up to `--max-line-bytes`) before decoding the access log inside.
//! Also BSD syslog (RFC 3164), what NGINX's `access_log syslog:` leaves in a file once rsyslog
//! or journald wrote it: `[<PRI>]Mmm dd hh:mm:ss host tag[pid]: <line>`.

use std::borrow::Cow;

use serde::Deserialize;

/// One unwrapped envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The runtime's time for the line, as written (RFC 3339; syslog's `Mmm dd hh:mm:ss`).
    pub time: &'a str,
    /// `stdout` or `stderr`; for syslog, the tag (`nginx[2869]`).
    pub stream: Cow<'a, str>,
    /// The line continues in the next envelope.
    pub partial: bool,
    /// The wrapped text, without its newline.
    pub message: Cow<'a, str>,
}

/// Which envelope a line is in, if any; cheap enough to call on every line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// CRI text envelope.
    Cri,
    /// Docker JSON-file envelope.
    Docker,
    /// BSD syslog line.
    Syslog,
}

/// Sniffs the envelope kind: a CRI line starts with a date and time (`2024-01-01T`) followed
/// by ` stdout ` or ` stderr `; a Docker line is a JSON object whose first key is `log`.
pub fn sniff(line: &str) -> Option<Kind> {
    let b = line.as_bytes();
    if b.len() > 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[10] == b'T'
        && memchr::memchr(b' ', &b[..b.len().min(40)])
            .is_some_and(|sp| b[sp..].starts_with(b" stdout ") || b[sp..].starts_with(b" stderr "))
    {
        return Some(Kind::Cri);
    }
    let t = line.trim_start();
    if t.starts_with('{') && t[1..].trim_start().starts_with("\"log\"") {
        return Some(Kind::Docker);
    }
    if matches!(b.first(), Some(b'<' | b'A'..=b'Z')) && syslog(line).is_some() {
        return Some(Kind::Syslog);
    }
    None
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Unwraps a BSD syslog line: an optional `<PRI>`, `Mmm dd hh:mm:ss`, a host, a tag of at most
/// 64 bytes (`nginx`, `nginx[2869]`) and `: `. `None` if the line is not one.
///
/// ```
/// # use gatewatch_ingest::decode::container::syslog;
/// let e = syslog("Jul  8 11:07:07 web-1 nginx[2869]: 10.0.0.1 - - [08/Jul/2021:11:07:07 +0000] \"GET / HTTP/1.1\" 200 5").unwrap();
/// assert_eq!((e.time, e.stream.as_ref()), ("Jul  8 11:07:07", "nginx[2869]"));
/// assert!(e.message.starts_with("10.0.0.1 - - ["));
/// ```
pub fn syslog(line: &str) -> Option<Envelope<'_>> {
    let rest = match line.strip_prefix('<') {
        Some(r) => {
            let end = r.find('>').filter(|&e| (1..=3).contains(&e))?;
            r[..end].bytes().all(|c| c.is_ascii_digit()).then_some(())?;
            &r[end + 1..]
        }
        None => line,
    };
    let b = rest.as_bytes();
    let stamp = b.get(..16)?;
    let digit = |i: usize| stamp[i].is_ascii_digit();
    let shaped = MONTHS.iter().any(|m| stamp.starts_with(m.as_bytes()))
        && stamp[3] == b' '
        && (stamp[4] == b' ' || digit(4))
        && digit(5)
        && stamp[6] == b' '
        && digit(7)
        && digit(8)
        && stamp[9] == b':'
        && digit(10)
        && digit(11)
        && stamp[12] == b':'
        && digit(13)
        && digit(14)
        && stamp[15] == b' ';
    if !shaped {
        return None;
    }
    let (host, after) = rest[16..].split_once(' ')?;
    let head = &after.as_bytes()[..after.len().min(66)];
    let colon = memchr::memmem::find(head, b": ")?;
    let tag = &after[..colon];
    if host.is_empty() || tag.is_empty() || colon > 64 || tag.contains(' ') {
        return None;
    }
    Some(Envelope {
        time: &rest[..15],
        stream: Cow::Borrowed(tag),
        partial: false,
        message: Cow::Borrowed(&after[colon + 2..]),
    })
}

/// Unwraps a CRI line. `None` if it is not `<time> <stdout|stderr> <P|F> <text>`.
///
/// ```
/// # use gatewatch_ingest::decode::container::cri;
/// let e = cri("2016-10-06T00:17:09.669794202Z stdout P First line").unwrap();
/// assert!(e.partial);
/// assert_eq!(e.message, "First line");
/// ```
pub fn cri(line: &str) -> Option<Envelope<'_>> {
    let mut it = line.splitn(4, ' ');
    let time = it.next()?;
    let stream = it.next().filter(|s| *s == "stdout" || *s == "stderr")?;
    // The tag is `P` or `F`, possibly followed by `:`-separated future flags.
    let tag = it.next()?;
    let partial = match tag.split(':').next() {
        Some("P") => true,
        Some("F") => false,
        _ => return None,
    };
    Some(Envelope {
        time,
        stream: Cow::Borrowed(stream),
        partial,
        message: Cow::Borrowed(it.next().unwrap_or("")),
    })
}

#[derive(Deserialize)]
struct DockerLine<'a> {
    #[serde(borrow)]
    log: Cow<'a, str>,
    #[serde(borrow, default)]
    stream: Cow<'a, str>,
    #[serde(borrow, default)]
    time: &'a str,
}

/// Unwraps a Docker JSON-file line. The error is serde's, for the dead-letter reason.
///
/// ```
/// # use gatewatch_ingest::decode::container::docker;
/// let e = docker(r#"{"log":"a \"b\"\n","stream":"stderr","time":"2016-10-05T00:00:30.08Z"}"#).unwrap();
/// assert_eq!((e.message.as_ref(), e.partial), ("a \"b\"", false));
/// ```
pub fn docker(line: &str) -> Result<Envelope<'_>, String> {
    // `time` has no escapes in practice; a time with escapes fails the borrow and is reported.
    let d: DockerLine<'_> = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let (message, partial) = match d.log {
        Cow::Borrowed(s) => match s.strip_suffix('\n') {
            Some(m) => (Cow::Borrowed(m.strip_suffix('\r').unwrap_or(m)), false),
            None => (Cow::Borrowed(s), true),
        },
        Cow::Owned(mut s) => {
            let complete = s.ends_with('\n');
            if complete {
                s.pop();
                if s.ends_with('\r') {
                    s.pop();
                }
            }
            (Cow::Owned(s), !complete)
        }
    };
    Ok(Envelope {
        time: d.time,
        stream: d.stream,
        partial,
        message,
    })
}

/// Unwraps any envelope; `None` when the line is not in one.
pub fn unwrap(line: &str) -> Option<Result<Envelope<'_>, String>> {
    match sniff(line)? {
        Kind::Cri => Some(cri(line).ok_or_else(|| "not a CRI log line".to_owned())),
        Kind::Docker => Some(docker(line).map_err(|e| format!("docker JSON log: {e}"))),
        Kind::Syslog => syslog(line).map(Ok),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_does_not_mistake_access_logs() {
        assert_eq!(
            sniff("2024-04-13T07:59:37.505201169-05:00 stderr F x"),
            Some(Kind::Cri)
        );
        assert_eq!(
            sniff(r#"{ "log": "x", "stream": "stdout"}"#),
            Some(Kind::Docker)
        );
        assert_eq!(sniff(r#"{"started_at":1,"log":"x"}"#), None);
        assert_eq!(
            sniff("[2024-01-01T00:00:00.000Z] \"GET / HTTP/1.1\" 200"),
            None
        );
        assert_eq!(
            sniff("10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] \"GET /\" 200 1"),
            None
        );
    }

    /// NGINX through rsyslog (a line from the CrowdSec Hub's tests, MIT), with and without a
    /// priority; lines that only look a little like syslog stay what they are.
    #[test]
    fn syslog_lines_are_unwrapped() {
        let line = "Jul  8 11:07:07 ip-172-31-43-28.us-east-2.compute.internal nginx[2869]: 167.71.13.196 - - [08/Jul/2021:11:07:07 +0000] \"GET /wp-config.php HTTP/1.1\" 200 5 \"-\" \"Go-http-client/1.1\"";
        assert_eq!(sniff(line), Some(Kind::Syslog));
        let e = syslog(line).unwrap();
        assert!(e.message.starts_with("167.71.13.196 - - [08/Jul/2021"));
        assert_eq!(e.stream, "nginx[2869]");
        let with_pri = format!("<190>{line}");
        assert_eq!(syslog(&with_pri).unwrap().message, e.message);
        for not in [
            "Jul  8 11:07:07 host message without a tag",
            "July 8 11:07:07 host nginx: x",
            "<1900>Jul  8 11:07:07 host nginx: x",
            "Jul  8 11:07 host nginx: x",
            "GET / HTTP/1.1",
            "Jul",
        ] {
            assert_eq!(syslog(not), None, "{not}");
        }
    }

    #[test]
    fn docker_line_without_newline_is_partial() {
        let e =
            docker(r#"{"log": "bb", "stream": "stdout", "time": "2021-02-01T16:45:03.01232z"}"#)
                .unwrap();
        assert!(e.partial);
        assert_eq!(e.stream, "stdout");
    }
}
