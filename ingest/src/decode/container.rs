//! Kubernetes container log envelopes around an access log line: CRI (containerd, CRI-O)
//! `<RFC3339Nano> <stream> <P|F> <line>` and Docker's JSON-file
//! `{"log":"<line>\n","stream":"stdout","time":"..."}`. A `P` (partial) CRI line, or a Docker
//! `log` without its final newline, continues in the next line of the same input; the chunk
//! decoder joins them (up to `--max-line-bytes`) before decoding the access log inside.

use std::borrow::Cow;

use serde::Deserialize;

/// One unwrapped envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The runtime's time for the line, as written (RFC 3339).
    pub time: &'a str,
    /// `stdout` or `stderr`.
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
    None
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

    #[test]
    fn docker_line_without_newline_is_partial() {
        let e =
            docker(r#"{"log": "bb", "stream": "stdout", "time": "2021-02-01T16:45:03.01232z"}"#)
                .unwrap();
        assert!(e.partial);
        assert_eq!(e.stream, "stdout");
    }
}
