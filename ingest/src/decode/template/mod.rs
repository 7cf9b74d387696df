//! Text access logs described by the gateway's own format string: Envoy's
//! `%COMMAND(ARG)%`, NGINX's `log_format` `$variable` and Apache's `LogFormat` `%h %l %u %t`.
//!
//! A format string compiles to a [`LineTemplate`]: literal text and fields in order. A line
//! matches when every literal is found where the template puts it; each field is the text up
//! to the next literal (a quoted field skips `\"`; a field starting with `[` runs to its `]`).
//! Fields map onto the canonical columns; unknown variables are read and ignored, so any
//! format whose fields are separated by some text can be read. Matching borrows from the
//! line and allocates nothing unless a target has to be rebuilt from path and query.

use std::borrow::Cow;

mod names;

use super::request::{
    client_addr, first_forwarded, http_protocol, last_status, present, request_line,
};
use crate::batch::{RawEvent, SourceFormat};
use names::{apache_field, envoy_field, nginx_field};

/// What a field of a format string holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// RFC 3339 time (Envoy `%START_TIME%`, NGINX `$time_iso8601`).
    TimeRfc3339,
    /// `10/Oct/2000:13:55:36 -0700`, with or without brackets (NGINX `$time_local`, Apache `%t`).
    TimeLocal,
    /// Seconds since the epoch with a fraction (NGINX `$msec`).
    TimeEpochSecs,
    /// The peer address, maybe with a port.
    Client,
    /// An `X-Forwarded-For` list.
    ForwardedFor,
    /// A whole request line `METHOD TARGET PROTOCOL`.
    Request,
    /// The method alone.
    Method,
    /// The protocol alone (Envoy `%PROTOCOL%`, NGINX `$server_protocol`, Apache `%H`).
    Protocol,
    /// The request target with its query.
    Target,
    /// The path without the query (Apache `%U`, NGINX `$uri`).
    Path,
    /// The query string, with or without its `?`.
    Query,
    /// Status sent to the client.
    Status,
    /// Upstream status list (NGINX `$upstream_status`).
    UpstreamStatus,
    /// Request size.
    RequestBytes,
    /// Response size.
    ResponseBytes,
    /// Duration in milliseconds.
    DurationMs,
    /// Duration in seconds, maybe with a fraction.
    DurationSecs,
    /// Duration in microseconds.
    DurationMicros,
    /// User-Agent header.
    UserAgent,
    /// Referer header.
    Referer,
    /// Request Content-Type header.
    ContentType,
    /// Host header, `:authority` or virtual host.
    Host,
    /// Request id.
    RequestId,
    /// Upstream cluster or upstream name.
    UpstreamCluster,
    /// Route name.
    RouteName,
    /// Authenticated or attempted user name.
    User,
    /// Read and ignored.
    Ignore,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Field(Field, String),
}

/// A compiled format string. See the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct LineTemplate {
    name: String,
    parts: Vec<Part>,
}

/// Why a format string cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{syntax} format string: {message}")]
pub struct TemplateError {
    syntax: &'static str,
    message: String,
}

/// Why a line does not match a template: the part where matching stopped and the byte.
/// Cheap to build (templates are tried one after another on every line); the text comes
/// from [`LineTemplate::explain`], only when a line is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch {
    /// Index of the template part that did not match.
    part: usize,
    /// What went wrong there.
    kind: MismatchKind,
    /// Byte offset in the line.
    pub at: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MismatchKind {
    /// A literal was not where the template puts it.
    Literal,
    /// The literal after a field never came.
    FieldEnd,
    /// A field's text is not what the field holds (a number, a time).
    Value(&'static str),
}

impl LineTemplate {
    /// What a [`Mismatch`] of this template means: `"\" \"" after %RESPONSE_CODE% at byte 44`.
    pub fn explain(&self, m: &Mismatch) -> String {
        let shown = |i: usize| match self.parts.get(i) {
            Some(Part::Field(_, shown)) => shown.as_str(),
            Some(Part::Lit(l)) => l.as_str(),
            None => "",
        };
        let expected = match m.kind {
            MismatchKind::Literal => format!("{:?}", shown(m.part)),
            MismatchKind::FieldEnd => match self.parts.get(m.part + 1) {
                Some(Part::Lit(next)) => format!("{next:?} after {}", shown(m.part)),
                _ => format!("the end of {}", shown(m.part)),
            },
            MismatchKind::Value(what) => format!("{} as {what}", shown(m.part)),
        };
        format!("{expected} at byte {}", m.at)
    }

    /// The template's name, used in dead-letter reasons (`envoy default`, `nginx custom`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Compiles an Envoy format string (`[%START_TIME%] "%REQ(:METHOD)% ..."`).
    pub fn envoy(name: &str, format: &str) -> Result<Self, TemplateError> {
        let err = |message: String| TemplateError {
            syntax: "envoy",
            message,
        };
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = format.trim_end_matches('\n');
        while let Some(i) = rest.find('%') {
            lit.push_str(&rest[..i]);
            rest = &rest[i + 1..];
            if let Some(r) = rest.strip_prefix('%') {
                lit.push('%');
                rest = r;
                continue;
            }
            let end = rest
                .find('%')
                .ok_or_else(|| err(format!("unclosed `%{rest}`: commands are `%NAME%`")))?;
            let command = &rest[..end];
            rest = &rest[end + 1..];
            push_lit(&mut parts, &mut lit);
            parts.push(Part::Field(envoy_field(command), format!("%{command}%")));
        }
        lit.push_str(rest);
        push_lit(&mut parts, &mut lit);
        Self::checked(name, parts).map_err(err)
    }

    /// Compiles an NGINX `log_format` string (`$remote_addr - $remote_user [$time_local] ...`).
    pub fn nginx(name: &str, format: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = format;
        while let Some(i) = rest.find('$') {
            lit.push_str(&rest[..i]);
            rest = &rest[i + 1..];
            let (var, after) = if let Some(r) = rest.strip_prefix('{') {
                let end = r.find('}').ok_or_else(|| TemplateError {
                    syntax: "nginx",
                    message: format!("unclosed `${{{r}`"),
                })?;
                (&r[..end], &r[end + 1..])
            } else {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                (&rest[..end], &rest[end..])
            };
            if var.is_empty() {
                lit.push('$');
                continue;
            }
            rest = after;
            push_lit(&mut parts, &mut lit);
            parts.push(Part::Field(nginx_field(var), format!("${var}")));
        }
        lit.push_str(rest);
        push_lit(&mut parts, &mut lit);
        Self::checked(name, parts).map_err(|message| TemplateError {
            syntax: "nginx",
            message,
        })
    }

    /// Compiles an Apache `LogFormat` string (`%h %l %u %t \"%r\" %>s %b`).
    pub fn apache(name: &str, format: &str) -> Result<Self, TemplateError> {
        let err = |message: String| TemplateError {
            syntax: "apache",
            message,
        };
        let format = format.replace("\\\"", "\"");
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = format.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '%' {
                lit.push(c);
                continue;
            }
            if chars.next_if(|(_, c)| *c == '%').is_some() {
                lit.push('%');
                continue;
            }
            // Modifiers: `<`, `>`, status conditions `400,501` or `!200`, then `{arg}`.
            let mut arg = None;
            let directive = loop {
                match chars.next() {
                    Some((_, '<' | '>' | '!' | ',' | '0'..='9')) => continue,
                    Some((j, '{')) => {
                        let close = format[j..]
                            .find('}')
                            .ok_or_else(|| err(format!("unclosed `{{` at byte {j}")))?;
                        arg = Some(format[j + 1..j + close].to_owned());
                        while chars.next_if(|(k, _)| *k <= j + close).is_some() {}
                    }
                    Some((_, d)) => break d,
                    None => return Err(err(format!("`%` at byte {i} ends the format"))),
                }
            };
            push_lit(&mut parts, &mut lit);
            let field = apache_field(directive, arg.as_deref());
            let shown = match &arg {
                Some(a) => format!("%{{{a}}}{directive}"),
                None => format!("%{directive}"),
            };
            parts.push(Part::Field(field, shown));
        }
        push_lit(&mut parts, &mut lit);
        Self::checked(name, parts).map_err(err)
    }

    fn checked(name: &str, parts: Vec<Part>) -> Result<Self, String> {
        for pair in parts.windows(2) {
            if let [Part::Field(_, a), Part::Field(_, b)] = pair {
                return Err(format!(
                    "{a} and {b} are not separated by any text, so a line cannot be split \
                     between them; put a space or other separator between them"
                ));
            }
        }
        let fields = || {
            parts.iter().filter_map(|p| match p {
                Part::Field(f, _) => Some(*f),
                Part::Lit(_) => None,
            })
        };
        if !fields().any(|f| {
            matches!(
                f,
                Field::TimeRfc3339 | Field::TimeLocal | Field::TimeEpochSecs
            )
        }) {
            return Err(
                "it has no time field (Envoy %START_TIME%, NGINX $time_local, \
                 $time_iso8601 or $msec, Apache %t); records without an event time cannot be \
                 windowed"
                    .into(),
            );
        }
        if !fields().any(|f| {
            matches!(
                f,
                Field::Request | Field::Target | Field::Path | Field::Status
            )
        }) {
            return Err("it has neither a request line, a path nor a status".into());
        }
        Ok(LineTemplate {
            name: name.to_owned(),
            parts,
        })
    }

    /// Fields in order, for documentation and tests.
    pub fn fields(&self) -> impl Iterator<Item = (Field, &str)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(f, shown) => Some((*f, shown.as_str())),
            Part::Lit(_) => None,
        })
    }

    /// Matches `line` and builds its record. A format ending in a field gives it the rest of
    /// the line; after a final literal, trailing text is ignored (formats often gain trailing
    /// fields). A line that ends early, or whose numeric fields are not numbers, does not match.
    pub fn decode<'a>(
        &self,
        line: &'a str,
        format: SourceFormat,
    ) -> Result<RawEvent<'a>, Mismatch> {
        let mut ev = RawEvent {
            format,
            ..RawEvent::default()
        };
        let mut acc = Pieces::default();
        let mut pos = 0usize;
        let bytes = line.as_bytes();
        for (i, part) in self.parts.iter().enumerate() {
            match part {
                Part::Lit(l) => {
                    if !line[pos..].starts_with(l.as_str()) {
                        return Err(Mismatch {
                            part: i,
                            kind: MismatchKind::Literal,
                            at: pos,
                        });
                    }
                    pos += l.len();
                }
                Part::Field(field, _) => {
                    let quoted =
                        i > 0 && matches!(&self.parts[i - 1], Part::Lit(l) if l.ends_with('"'));
                    let end = match self.parts.get(i + 1) {
                        Some(Part::Lit(next)) => field_end(bytes, pos, next, quoted),
                        // The last field runs to the end of the line.
                        _ => Some(line.trim_end().len().max(pos)),
                    }
                    .ok_or(Mismatch {
                        part: i,
                        kind: MismatchKind::FieldEnd,
                        at: pos,
                    })?;
                    acc.set(*field, &line[pos..end]).map_err(|what| Mismatch {
                        part: i,
                        kind: MismatchKind::Value(what),
                        at: pos,
                    })?;
                    pos = end;
                }
            }
        }
        acc.into_event(&mut ev);
        Ok(ev)
    }
}

fn push_lit(parts: &mut Vec<Part>, lit: &mut String) {
    if !lit.is_empty() {
        parts.push(Part::Lit(std::mem::take(lit)));
    }
}

/// Where a field starting at `pos` ends: the next occurrence of `next`, skipping quotes
/// escaped with `\` in a quoted field and the inside of a `[...]` group.
fn field_end(line: &[u8], pos: usize, next: &str, quoted: bool) -> Option<usize> {
    let mut from = pos;
    if line.get(pos) == Some(&b'[') {
        from = pos + memchr::memchr(b']', &line[pos..])?;
    }
    let finder = memchr::memmem::Finder::new(next.as_bytes());
    loop {
        let at = from + finder.find(&line[from..])?;
        if quoted && next.starts_with('"') {
            let escapes = line[pos..at]
                .iter()
                .rev()
                .take_while(|b| **b == b'\\')
                .count();
            if escapes % 2 == 1 {
                from = at + 1;
                continue;
            }
        }
        return Some(at);
    }
}

/// Field values collected while matching, turned into a record at the end.
#[derive(Default)]
struct Pieces<'a> {
    time: Option<i64>,
    client: Option<&'a str>,
    forwarded: Option<&'a str>,
    request: Option<&'a str>,
    method: Option<&'a str>,
    protocol: Option<&'a str>,
    target: Option<&'a str>,
    path: Option<&'a str>,
    query: Option<&'a str>,
    status: Option<i64>,
    upstream_status: Option<i64>,
    request_bytes: Option<i64>,
    response_bytes: Option<i64>,
    latency_ms: Option<i64>,
    user_agent: Option<&'a str>,
    referer: Option<&'a str>,
    content_type: Option<&'a str>,
    host: Option<&'a str>,
    request_id: Option<&'a str>,
    upstream_cluster: Option<&'a str>,
    route_name: Option<&'a str>,
    user: Option<&'a str>,
}

fn int(v: &str) -> Result<Option<i64>, &'static str> {
    match present(v) {
        None => Ok(None),
        Some(n) => n.parse::<i64>().map(Some).map_err(|_| "a number or -"),
    }
}

/// Seconds with an optional fraction, scaled by `unit` (1000 for ms), without floats.
fn scaled(v: &str, unit: i64) -> Result<Option<i64>, &'static str> {
    const WHAT: &str = "seconds like 0.003";
    let Some(v) = present(v) else { return Ok(None) };
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    let whole: i64 = whole.parse().map_err(|_| WHAT)?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WHAT);
    }
    let mut f = 0i64;
    let mut scale = unit;
    for d in frac.bytes().take(9) {
        scale /= 10;
        f += i64::from(d - b'0') * scale;
    }
    whole
        .checked_mul(unit)
        .and_then(|w| w.checked_add(f))
        .map(Some)
        .ok_or(WHAT)
}

/// A time field: `-` or empty is absent, anything else must parse.
fn time(
    v: &str,
    parse: fn(&str) -> Option<i64>,
    what: &'static str,
) -> Result<Option<i64>, &'static str> {
    present(v).map(|t| parse(t).ok_or(what)).transpose()
}

impl<'a> Pieces<'a> {
    fn set(&mut self, field: Field, v: &'a str) -> Result<(), &'static str> {
        match field {
            Field::TimeRfc3339 => {
                self.time = time(
                    v,
                    crate::decode::envoy::parse_rfc3339_ms,
                    "an RFC 3339 time",
                )?
            }
            Field::TimeLocal => {
                let t = v.trim_start_matches('[').trim_end_matches(']');
                let parse = crate::decode::nginx::parse_time_local;
                self.time = time(t, parse, "dd/Mon/yyyy:HH:MM:SS +zzzz")?
            }
            Field::TimeEpochSecs => self.time = scaled(v, 1000)?,
            Field::Client => self.client = client_addr(v),
            Field::ForwardedFor => self.forwarded = present(v),
            Field::Request => self.request = Some(v),
            Field::Method => self.method = present(v),
            Field::Protocol => self.protocol = present(v),
            Field::Target => self.target = present(v),
            Field::Path => self.path = present(v),
            Field::Query => self.query = present(v.strip_prefix('?').unwrap_or(v)),
            Field::Status => self.status = int(v)?,
            Field::UpstreamStatus => self.upstream_status = last_status(v),
            Field::RequestBytes => self.request_bytes = int(v)?,
            Field::ResponseBytes => self.response_bytes = int(v)?,
            Field::DurationMs => self.latency_ms = int(v)?,
            Field::DurationSecs => self.latency_ms = scaled(v, 1000)?,
            Field::DurationMicros => self.latency_ms = int(v)?.map(|us| us / 1000),
            Field::UserAgent => self.user_agent = present(v),
            // `-` is a header not sent; `""` one sent empty (NGINX), kept as such.
            Field::Referer => self.referer = (v != "-").then_some(v),
            Field::ContentType => self.content_type = (v != "-").then_some(v),
            Field::Host => self.host = present(v),
            Field::RequestId => self.request_id = present(v),
            Field::UpstreamCluster => self.upstream_cluster = present(v),
            Field::RouteName => self.route_name = present(v),
            Field::User => self.user = present(v),
            Field::Ignore => {}
        }
        Ok(())
    }

    fn into_event(self, ev: &mut RawEvent<'a>) {
        let b = |s: Option<&'a str>| s.map(Cow::Borrowed);
        let (mut method, mut target, mut protocol) = (self.method, self.target, self.protocol);
        let (mut unparsed, mut target_from_line) = (None, false);
        if let Some(line) = self.request {
            let parts = request_line(line);
            method = method.or(parts.method);
            target_from_line = target.is_none() && parts.target.is_some();
            target = target.or(parts.target);
            protocol = protocol.or(parts.protocol);
            unparsed = parts.unparsed;
        }
        ev.target = match (target, self.path) {
            (Some(t), _) => Some(Cow::Borrowed(t)),
            (None, Some(p)) => Some(match self.query {
                Some(q) => Cow::Owned(format!("{p}?{q}")),
                None => Cow::Borrowed(p),
            }),
            (None, None) => None,
        };
        // A method logged without a request target (Envoy's `- - -` for TCP) is not a request.
        ev.method = if ev.target.is_some() { b(method) } else { None };
        ev.http_version = b(protocol.and_then(http_protocol));
        // Received bytes that were no complete request, when the event has no target or took it
        // from them; a format logging the target or path apart has its request.
        ev.unparsed_request = if ev.target.is_none() || target_from_line {
            b(unparsed)
        } else {
            None
        };
        ev.event_time_ms = self.time;
        // The peer address first; only a format without one falls back to X-Forwarded-For.
        ev.client_ip = b(self
            .client
            .or_else(|| self.forwarded.and_then(first_forwarded)));
        ev.status = self.status;
        ev.upstream_status = self.upstream_status;
        ev.request_bytes = self.request_bytes;
        ev.response_bytes = self.response_bytes;
        ev.latency_ms = self.latency_ms;
        ev.user_agent = b(self.user_agent);
        ev.referer = b(self.referer);
        ev.content_type = b(self.content_type);
        ev.host = b(self.host);
        ev.request_id = b(self.request_id);
        ev.service = b(self.upstream_cluster);
        ev.route_name = b(self.route_name);
        ev.username = b(self.user);
    }
}

#[cfg(test)]
mod tests;
