//! Line decoders: one gateway log line in, zero or more [`RawEvent`]s out.

pub mod container;
mod de;
pub mod envoy;
pub mod envoy_text;
pub mod kong;
pub mod kong_serde;
pub mod nginx;
pub mod request;
pub mod scan;
mod swar;
pub mod template;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use memchr::memmem;
use serde::de::{DeserializeSeed, SeqAccess, Visitor};

use crate::batch::{RawEvent, SourceFormat, Str};
use de::PathPick;
pub use template::{LineTemplate, TemplateError};

/// The `--format` of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Sniff every line: JSON with `started_at` is Kong, other JSON is Envoy (Envoy, Istio,
    /// Envoy Gateway and Contour key names); `[2024-...` or `ACCESS [` is Envoy's text log;
    /// anything else is NGINX/Apache. Container envelopes (CRI, Docker JSON-file) are
    /// unwrapped first, whatever the format.
    #[default]
    Auto,
    /// Kong JSON log lines (objects or arrays of objects).
    Kong,
    /// Envoy access logs: JSON, or text in Envoy's, Istio's or Emissary's default format (or
    /// `--envoy-format`).
    Envoy,
    /// NGINX or Apache combined/common log format, with or without a leading virtual host (or
    /// `--nginx-format`).
    Nginx,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Format::Auto),
            "kong" => Ok(Format::Kong),
            "envoy" => Ok(Format::Envoy),
            "nginx" | "apache" | "combined" | "common" => Ok(Format::Nginx),
            other => Err(format!(
                "unknown format {other:?}: expected auto, kong, envoy or nginx"
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Auto => "auto",
            Format::Kong => "kong",
            Format::Envoy => "envoy",
            Format::Nginx => "nginx",
        })
    }
}

/// Why a line could not be decoded. The text is what the dead-letter file and logs show.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The line is not valid UTF-8.
    #[error("invalid UTF-8 at byte {valid_up_to}")]
    InvalidUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// JSON syntax or a field of the wrong type.
    #[error("{format} JSON: {message}")]
    Json {
        /// Which decoder.
        format: SourceFormat,
        /// serde_json's message, with the column of the problem.
        message: String,
    },
    /// A text line that does not fit the format tried (`nginx combined`, `envoy text`,
    /// `nginx custom`); the message says what was expected and at which byte.
    #[error("{format}: {message}")]
    Text {
        /// The format tried.
        format: &'static str,
        /// What was expected where.
        message: String,
    },
    /// A container envelope (CRI, Docker JSON-file) that could not be unwrapped.
    #[error("container log: {0}")]
    Container(String),
    /// `--format auto` could not place the line; says what it looked like and what failed.
    #[error("auto: {sniffed}; {error}")]
    Auto {
        /// What the line looked like and which format that led to.
        sniffed: &'static str,
        /// The error of that format.
        error: Box<DecodeError>,
    },
    /// The record has no event time, so it cannot be windowed.
    #[error("{format} record has no event time (expected `{field}`)")]
    MissingEventTime {
        /// Which decoder.
        format: SourceFormat,
        /// The field that should hold it.
        field: &'static str,
    },
    /// The event time is outside 2000–2100 and no unit error (s, µs, ns) explains it.
    #[error("{format} record: event time {value} is outside 2000-2100 (as ms, s, µs or ns)")]
    TimeOutOfRange {
        /// Which decoder.
        format: SourceFormat,
        /// The time as read, in ms.
        value: i64,
    },
    /// Longer than `--max-line-bytes`; only its head is kept for the dead-letter record.
    #[error("line of {len} bytes exceeds the {max}-byte limit")]
    TooLong {
        /// Full length of the line.
        len: usize,
        /// The limit in force.
        max: usize,
    },
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to decode and how.
#[derive(Debug, Clone, Default)]
pub struct DecodeConfig {
    /// Input format.
    pub format: Format,
    /// Dotted path of the JSON field holding the login name (`request.headers.x-username`,
    /// a Kong custom field such as `user.name`, or an Envoy key). NGINX uses `$remote_user`.
    pub username_field: Option<Vec<String>>,
    /// The column Kafka messages are keyed by (`--input-key`): records whose key is not that
    /// column's value are counted. `None`: the input is not keyed.
    pub input_key: Option<crate::Column>,
    /// `--envoy-format`: Envoy text lines use this format instead of the built-in ones.
    pub envoy_format: Option<Arc<LineTemplate>>,
    /// `--nginx-format`: NGINX/Apache lines use this format instead of combined/common.
    pub nginx_format: Option<Arc<LineTemplate>>,
    /// The parts of a Kong record that are read (the decoder sets them from its columns).
    pub kong_parts: kong::KongParts,
}

impl DecodeConfig {
    /// Sets `--envoy-format` from an Envoy format string (`%START_TIME% %REQ(:METHOD)% ...`).
    pub fn with_envoy_format(mut self, format: &str) -> Result<Self, TemplateError> {
        self.envoy_format = Some(Arc::new(LineTemplate::envoy("envoy custom", format)?));
        Ok(self)
    }

    /// Sets `--nginx-format` from an NGINX `log_format` string (`$remote_addr ...`) or, when
    /// it has no `$`, an Apache `LogFormat` string (`%h %l %u %t \"%r\" ...`).
    pub fn with_nginx_format(mut self, format: &str) -> Result<Self, TemplateError> {
        let t = if format.contains('$') {
            LineTemplate::nginx("nginx custom", format)?
        } else {
            LineTemplate::apache("apache custom", format)?
        };
        self.nginx_format = Some(Arc::new(t));
        Ok(self)
    }

    /// Sets the username field from its dotted form.
    pub fn with_username_field(mut self, dotted: &str) -> Self {
        self.username_field = Some(dotted.split('.').map(str::to_owned).collect());
        self
    }
}

/// The earliest event time accepted: 2000-01-01T00:00:00Z.
pub const MIN_EVENT_TIME_MS: i64 = 946_684_800_000;
/// The first event time no longer accepted: 2100-01-01T00:00:00Z.
pub const MAX_EVENT_TIME_MS: i64 = 4_102_444_800_000;

/// Checks an event time (ms) against 2000–2100. Outside, a unit error is tried: the value
/// read as seconds, microseconds or nanoseconds. Returns the time to use and whether it was
/// rescaled; `None` when no reading is plausible (the record is dead-lettered).
///
/// ```
/// use gatewatch_ingest::decode::check_event_time;
/// assert_eq!(check_event_time(1_726_783_839_538), Some((1_726_783_839_538, false)));
/// assert_eq!(check_event_time(1_726_783_839), Some((1_726_783_839_000, true)));        // seconds
/// assert_eq!(check_event_time(1_726_783_839_538_123), Some((1_726_783_839_538, true))); // µs
/// assert_eq!(check_event_time(0), None);
/// assert_eq!(check_event_time(i64::MAX), None);
/// ```
pub fn check_event_time(ms: i64) -> Option<(i64, bool)> {
    let ok = |v: i64| (MIN_EVENT_TIME_MS..MAX_EVENT_TIME_MS).contains(&v);
    if ok(ms) {
        return Some((ms, false));
    }
    let candidates = [
        ms.checked_mul(1_000),
        Some(ms.div_euclid(1_000)),
        Some(ms.div_euclid(1_000_000)),
    ];
    let mut plausible = candidates.into_iter().flatten().filter(|v| ok(*v));
    match (plausible.next(), plausible.next()) {
        (Some(v), None) => Some((v, true)),
        _ => None,
    }
}

/// Which decoder a line goes to, and what it looked like (for `auto`'s error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Kong,
    EnvoyJson,
    EnvoyText,
    Nginx,
}

fn sniff(cfg: &DecodeConfig, line: &str) -> (Route, &'static str) {
    let trimmed = line.trim_start();
    let b = trimmed.as_bytes();
    let json_array = b.first() == Some(&b'[') && {
        let rest = trimmed[1..].trim_start();
        rest.is_empty() || rest.starts_with('{') || rest.starts_with(']')
    };
    if b.first() == Some(&b'{') || json_array {
        return if memmem::find(b, b"\"started_at\"").is_some() || json_array {
            (Route::Kong, "JSON with started_at: kong")
        } else {
            (Route::EnvoyJson, "JSON without started_at: envoy")
        };
    }
    if cfg.nginx_format.is_some() && !(cfg.envoy_format.is_some() && envoy_text::sniff(line)) {
        return (Route::Nginx, "text: nginx custom");
    }
    if envoy_text::sniff(line) {
        (Route::EnvoyText, "text starting with [time]: envoy text")
    } else {
        (Route::Nginx, "text: nginx")
    }
}

/// Decodes one line (without its newline) into `out`. Container envelopes are unwrapped
/// first. On error nothing is pushed, so a bad line never half-enters a batch.
pub fn decode_line<'a>(
    cfg: &DecodeConfig,
    line: &'a [u8],
    out: &mut Vec<RawEvent<'a>>,
) -> Result<(), DecodeError> {
    let line = std::str::from_utf8(line).map_err(|e| DecodeError::InvalidUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    match container::unwrap(line) {
        None => decode_message(cfg, line, out),
        Some(Err(e)) => Err(DecodeError::Container(e)),
        Some(Ok(envelope)) => match envelope.message {
            std::borrow::Cow::Borrowed(m) => decode_message(cfg, m, out),
            std::borrow::Cow::Owned(m) => decode_owned(cfg, &m, out),
        },
    }
}

/// Decodes a line that was unescaped or joined into a buffer of its own: the records are
/// copied out of it.
pub fn decode_owned<'o>(
    cfg: &DecodeConfig,
    line: &str,
    out: &mut Vec<RawEvent<'o>>,
) -> Result<(), DecodeError> {
    let mut tmp: Vec<RawEvent<'_>> = Vec::new();
    decode_message(cfg, line, &mut tmp)?;
    for ev in tmp {
        let owned: RawEvent<'static> = ev.into_owned();
        out.push(owned);
    }
    Ok(())
}

/// Decodes one access log line, already out of any container envelope.
pub fn decode_message<'a>(
    cfg: &DecodeConfig,
    line: &'a str,
    out: &mut Vec<RawEvent<'a>>,
) -> Result<(), DecodeError> {
    let (route, sniffed) = match cfg.format {
        Format::Auto => sniff(cfg, line),
        Format::Kong => (Route::Kong, ""),
        Format::Envoy if line.trim_start().starts_with('{') => (Route::EnvoyJson, ""),
        Format::Envoy => (Route::EnvoyText, ""),
        Format::Nginx => (Route::Nginx, ""),
    };
    let format = match route {
        Route::Kong => SourceFormat::Kong,
        Route::EnvoyJson | Route::EnvoyText => SourceFormat::Envoy,
        Route::Nginx => SourceFormat::Nginx,
    };
    let first = out.len();
    let result = match route {
        Route::Kong => {
            kong::decode_into(line, &cfg.kong_parts, out).map_err(|e| DecodeError::Json {
                format,
                message: e.to_string(),
            })
        }
        Route::EnvoyJson => envoy::decode_line(line)
            .map(|e| out.push(e))
            .map_err(|message| DecodeError::Json { format, message }),
        Route::EnvoyText => envoy_text::decode_line(line, cfg.envoy_format.as_deref())
            .map(|e| out.push(e))
            .map_err(|message| DecodeError::Text {
                format: "envoy text",
                message,
            }),
        Route::Nginx => match cfg.nginx_format.as_deref() {
            Some(t) => t
                .decode(line, SourceFormat::Nginx)
                .map(|e| out.push(e))
                .map_err(|m| DecodeError::Text {
                    format: if t.name().starts_with("apache") {
                        "apache custom"
                    } else {
                        "nginx custom"
                    },
                    message: format!("expected {}", t.explain(&m)),
                }),
            None => nginx::decode_line(line)
                .map(|e| out.push(e))
                .map_err(|e| DecodeError::Text {
                    format: "nginx combined",
                    message: e.to_string(),
                }),
        },
    };
    let checked = result.and_then(|()| {
        if out[first..].iter().any(|e| e.event_time_ms.is_none()) {
            let field = match route {
                Route::Kong => "started_at",
                Route::EnvoyJson => "start_time",
                Route::EnvoyText => "%START_TIME%",
                Route::Nginx => "time_local",
            };
            return Err(DecodeError::MissingEventTime { format, field });
        }
        for e in out[first..].iter_mut() {
            let value = e.event_time_ms.unwrap_or_default();
            let (t, rescaled) =
                check_event_time(value).ok_or(DecodeError::TimeOutOfRange { format, value })?;
            e.event_time_ms = Some(t);
            e.time_rescaled = rescaled;
        }
        if matches!(route, Route::Kong | Route::EnvoyJson) {
            match cfg.username_field.as_deref() {
                // The main pass already read a top-level `username`.
                Some([top]) if top == "username" => {}
                Some(path) => pick_usernames(line, path, &mut out[first..]).map_err(|e| {
                    DecodeError::Json {
                        format,
                        message: e.to_string(),
                    }
                })?,
                None => out[first..].iter_mut().for_each(|e| e.username = None),
            }
        }
        Ok(())
    });
    if checked.is_err() {
        out.truncate(first);
    }
    checked.map_err(|error| match (sniffed, &error) {
        ("", _) | (_, DecodeError::TimeOutOfRange { .. }) => error,
        (sniffed, _) => DecodeError::Auto {
            sniffed,
            error: Box::new(error),
        },
    })
}

/// A second, skipping pass over the line for the configured username field. It only runs when
/// `--username-field` is set, and costs one scan of the line without building values.
fn pick_usernames<'a>(
    line: &'a str,
    path: &[String],
    events: &mut [RawEvent<'a>],
) -> Result<(), serde_json::Error> {
    let mut d = serde_json::Deserializer::from_str(line);
    let names = PickEach(path).deserialize(&mut d)?;
    for (ev, name) in events.iter_mut().zip(names) {
        ev.username = name;
    }
    Ok(())
}

/// [`PathPick`] over one object, or over each element of an array of objects.
struct PickEach<'p>(&'p [String]);

impl<'de> DeserializeSeed<'de> for PickEach<'_> {
    type Value = Vec<Option<Str<'de>>>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PickEach<'_> {
    type Value = Vec<Option<Str<'de>>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object or an array of objects")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let one =
            PathPick(self.0).deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(vec![one])
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut all = Vec::new();
        while let Some(one) = seq.next_element_seed(PathPick(self.0))? {
            all.push(one);
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(cfg: &DecodeConfig, line: &str) -> Result<Vec<RawEvent<'static>>, DecodeError> {
        let line: &'static str = Box::leak(line.to_owned().into_boxed_str());
        let mut out = Vec::new();
        decode_line(cfg, line.as_bytes(), &mut out).map(|()| out)
    }

    #[test]
    fn auto_sniffs_each_line() {
        let cfg = DecodeConfig::default();
        let kong = decode(
            &cfg,
            r#"{"started_at":1767225601000,"request":{"uri":"/a"}}"#,
        )
        .unwrap();
        assert_eq!(kong[0].format, SourceFormat::Kong);
        let envoy = decode(&cfg, r#"{"start_time":"2024-01-01T00:00:00Z","path":"/a"}"#).unwrap();
        assert_eq!(envoy[0].format, SourceFormat::Envoy);
        let nginx = decode(
            &cfg,
            r#"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5"#,
        )
        .unwrap();
        assert_eq!(nginx[0].format, SourceFormat::Nginx);
        // A `$host`-first NGINX line whose client sent an IPv6 literal as `Host` is NGINX's,
        // not an Envoy line dated `[2001...`: a scanner cannot keep its lines out so.
        let ipv6_host = decode(
            &cfg,
            r#"[2001:db8::5] 198.51.100.7 - - [01/Jan/2024:00:00:00 +0000] "GET /.env HTTP/1.1" 404 5"#,
        )
        .unwrap();
        assert_eq!(ipv6_host[0].format, SourceFormat::Nginx);
        assert_eq!(ipv6_host[0].client_ip.as_deref(), Some("198.51.100.7"));
    }

    #[test]
    fn username_from_header_or_custom_field() {
        let cfg = DecodeConfig::default().with_username_field("request.headers.x-username");
        let evs = decode(
            &cfg,
            r#"[{"started_at":1767225601000,"request":{"headers":{"x-username":"bob"}}},{"started_at":1767225602000}]"#,
        )
        .unwrap();
        assert_eq!(evs[0].username.as_deref(), Some("bob"));
        assert_eq!(evs[1].username, None);
        let cfg = DecodeConfig::default().with_username_field("login.user");
        let evs = decode(&cfg, r#"{"started_at":1767225601000,"login":{"user":42}}"#).unwrap();
        assert_eq!(evs[0].username.as_deref(), Some("42"));
    }

    #[test]
    fn errors_are_classified() {
        let cfg = DecodeConfig {
            format: Format::Kong,
            ..Default::default()
        };
        let mut out = Vec::new();
        assert_eq!(
            decode_line(&cfg, b"{\"started_at\":1,\"client_ip\":\"\xff\"}", &mut out),
            Err(DecodeError::InvalidUtf8 { valid_up_to: 29 })
        );
        assert!(matches!(
            decode(&cfg, r#"{"client_ip":"1.2.3.4"}"#),
            Err(DecodeError::MissingEventTime {
                field: "started_at",
                ..
            })
        ));
        let err = decode(&cfg, r#"{"started_at":1,"response":{"status":true}}"#).unwrap_err();
        assert!(
            err.to_string().starts_with("kong JSON: invalid type"),
            "{err}"
        );
        assert!(out.is_empty());
    }

    #[test]
    fn out_of_range_times_are_rescaled_once_or_rejected() {
        let cfg = DecodeConfig::default();
        let secs = decode(&cfg, r#"{"started_at":1767225601,"client_ip":"1.1.1.1"}"#).unwrap();
        assert_eq!(secs[0].event_time_ms, Some(1_767_225_601_000));
        assert!(secs[0].time_rescaled);
        let nanos = decode(&cfg, r#"{"started_at":1767225601000000000}"#).unwrap();
        assert_eq!(nanos[0].event_time_ms, Some(1_767_225_601_000));
        for bad in [
            r#"{"started_at":0}"#,
            r#"{"started_at":-5}"#,
            r#"{"started_at":9223372036854775807}"#,
            r#"{"started_at":-9223372036854775808}"#,
            r#"{"start_time":"9999-12-31T23:59:59Z","path":"/"}"#,
        ] {
            let err = decode(&cfg, bad).unwrap_err();
            assert!(
                matches!(err, DecodeError::TimeOutOfRange { .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn format_names() {
        assert_eq!("apache".parse::<Format>(), Ok(Format::Nginx));
        assert!("syslog"
            .parse::<Format>()
            .unwrap_err()
            .contains("expected auto, kong, envoy or nginx"));
    }
}
