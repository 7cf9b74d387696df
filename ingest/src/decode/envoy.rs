//! Envoy's JSON access log (`json_format`), with the key names of Envoy's, Istio's, Envoy
//! Gateway's and Contour's default formats, and Istio Mixer's `accesslog` entries (camelCase,
//! Istio 1.1–1.4). Keys that other common configurations use are accepted as aliases; keys a
//! record may carry next to the canonical one (`time`, `url`, ...) are read as fallbacks,
//! never as aliases, so both in one record is not a duplicate-key error.

use serde::Deserialize;

use super::de::{LooseInt, LooseStr};
use super::request::{client_addr, first_forwarded, http_protocol, map_str};
use crate::batch::{RawEvent, SourceFormat, Str};

#[derive(Deserialize, Default)]
#[serde(default)]
struct EnvoyRecord<'a> {
    #[serde(borrow, alias = "timestamp", alias = "@timestamp")]
    start_time: LooseStr<'a>,
    #[serde(borrow, alias = ":method", alias = "request_method")]
    method: LooseStr<'a>,
    #[serde(
        borrow,
        alias = ":path",
        alias = "x-envoy-original-path",
        alias = "x-envoy-origin-path",
        alias = "request_path"
    )]
    path: LooseStr<'a>,
    #[serde(borrow)]
    protocol: LooseStr<'a>,
    #[serde(borrow, alias = ":authority", alias = "host")]
    authority: LooseStr<'a>,
    #[serde(alias = "status")]
    response_code: LooseInt,
    bytes_received: LooseInt,
    bytes_sent: LooseInt,
    duration: LooseInt,
    #[serde(borrow, alias = "user-agent")]
    user_agent: LooseStr<'a>,
    #[serde(borrow, alias = "referrer")]
    referer: LooseStr<'a>,
    #[serde(borrow, alias = "content-type")]
    content_type: LooseStr<'a>,
    #[serde(borrow, alias = "x-request-id")]
    request_id: LooseStr<'a>,
    #[serde(borrow, alias = "x-forwarded-for")]
    x_forwarded_for: LooseStr<'a>,
    #[serde(borrow)]
    downstream_remote_address: LooseStr<'a>,
    #[serde(borrow)]
    client_ip: LooseStr<'a>,
    #[serde(borrow)]
    upstream_cluster: LooseStr<'a>,
    #[serde(borrow)]
    route_name: LooseStr<'a>,
    #[serde(borrow)]
    username: LooseStr<'a>,
    // Istio Mixer's camelCase keys, read only where the Envoy key is absent.
    #[serde(borrow, rename = "time")]
    m_time: LooseStr<'a>,
    #[serde(borrow, rename = "url")]
    m_url: LooseStr<'a>,
    #[serde(rename = "responseCode")]
    m_response_code: LooseInt,
    #[serde(borrow, rename = "sourceIp")]
    m_source_ip: LooseStr<'a>,
    #[serde(borrow, rename = "userAgent")]
    m_user_agent: LooseStr<'a>,
    #[serde(borrow, rename = "httpAuthority")]
    m_authority: LooseStr<'a>,
    #[serde(borrow, rename = "xForwardedFor")]
    m_x_forwarded_for: LooseStr<'a>,
    #[serde(borrow, rename = "requestId")]
    m_request_id: LooseStr<'a>,
    #[serde(rename = "receivedBytes")]
    m_received_bytes: LooseInt,
    #[serde(rename = "sentBytes")]
    m_sent_bytes: LooseInt,
}

/// Parses Envoy's `%START_TIME%` (RFC 3339, e.g. `2024-05-01T12:00:00.123Z`) to epoch ms.
pub(crate) fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Envoy writes `-` for absent values.
fn present(v: LooseStr<'_>) -> Option<Str<'_>> {
    v.0.filter(|s| s != "-" && !s.is_empty())
}

/// Decodes one Envoy JSON line. Errors are JSON errors or a start time that is not RFC 3339.
pub fn decode_line<'a>(line: &'a str) -> Result<RawEvent<'a>, String> {
    let rec: EnvoyRecord<'a> = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let event_time_ms = match present(rec.start_time).or_else(|| present(rec.m_time)) {
        Some(t) => Some(
            parse_rfc3339_ms(&t)
                .ok_or_else(|| format!("start_time {t:?} is not an RFC 3339 timestamp"))?,
        ),
        None => None,
    };
    let client_ip = present(rec.client_ip)
        .or_else(|| present(rec.downstream_remote_address).and_then(|a| map_str(a, client_addr)))
        .or_else(|| present(rec.m_source_ip).and_then(|a| map_str(a, client_addr)))
        .or_else(|| {
            present(rec.x_forwarded_for)
                .or_else(|| present(rec.m_x_forwarded_for))
                .and_then(|x| map_str(x, first_forwarded))
        });
    let ev = RawEvent {
        format: SourceFormat::Envoy,
        event_time_ms,
        client_ip,
        method: present(rec.method),
        host: present(rec.authority).or_else(|| present(rec.m_authority)),
        target: present(rec.path).or_else(|| present(rec.m_url)),
        http_version: present(rec.protocol).and_then(|p| map_str(p, http_protocol)),
        status: rec.response_code.0.or(rec.m_response_code.0),
        request_bytes: rec.bytes_received.0.or(rec.m_received_bytes.0),
        response_bytes: rec.bytes_sent.0.or(rec.m_sent_bytes.0),
        latency_ms: rec.duration.0,
        user_agent: present(rec.user_agent).or_else(|| present(rec.m_user_agent)),
        referer: present(rec.referer),
        content_type: present(rec.content_type),
        request_id: present(rec.request_id).or_else(|| present(rec.m_request_id)),
        service: present(rec.upstream_cluster),
        route_name: present(rec.route_name),
        username: present(rec.username),
        ..RawEvent::default()
    };
    // Any JSON object deserializes into this lenient shape; one with no request and no status
    // (an application's own log line) is not an access log.
    if ev.method.is_none() && ev.target.is_none() && ev.status.is_none() {
        return Err(
            "no request (method, path) and no response code: not an access log record \
             (Envoy keys: method, path, response_code)"
                .into(),
        );
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istio_default_format() {
        let line = r#"{"start_time":"2024-05-01T12:00:00.123Z","method":"GET","path":"/api/v1/orders/17?x=1",
            "protocol":"HTTP/1.1","response_code":404,"response_flags":"-","bytes_received":0,"bytes_sent":19,
            "duration":3,"upstream_service_time":"2","x_forwarded_for":"-","user_agent":"python-requests/2.31",
            "request_id":"r-1","authority":"shop.example.com","upstream_host":"10.1.2.3:8080",
            "upstream_cluster":"outbound|8080||orders","downstream_remote_address":"203.0.113.9:51234",
            "route_name":"default"}"#;
        let ev = decode_line(line).unwrap();
        assert_eq!(ev.event_time_ms, Some(1714564800123));
        assert_eq!(ev.client_ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(ev.status, Some(404));
        assert_eq!(ev.host.as_deref(), Some("shop.example.com"));
        assert_eq!(ev.target.as_deref(), Some("/api/v1/orders/17?x=1"));
        assert_eq!(ev.http_version.as_deref(), Some("HTTP/1.1"));
        assert_eq!(ev.format, SourceFormat::Envoy);
    }

    #[test]
    fn protocol_is_an_http_version_or_nothing() {
        let ev = decode_line(
            r#"{"start_time":"2024-05-01T12:00:00Z","path":"/","response_code":200,"protocol":"HTTP/2"}"#,
        )
        .unwrap();
        assert_eq!(ev.http_version.as_deref(), Some("HTTP/2"));
        // Istio Mixer logs the protocol family there.
        let ev = decode_line(
            r#"{"start_time":"2024-05-01T12:00:00Z","path":"/","response_code":200,"protocol":"http"}"#,
        )
        .unwrap();
        assert_eq!(ev.http_version, None);
    }

    #[test]
    fn falls_back_to_forwarded_for_and_handles_ipv6() {
        let ev = decode_line(
            r#"{"start_time":"2024-05-01T12:00:00Z","response_code":200,"x_forwarded_for":"198.51.100.7, 10.0.0.1"}"#,
        )
        .unwrap();
        assert_eq!(ev.client_ip.as_deref(), Some("198.51.100.7"));
        let ev = decode_line(
            r#"{"start_time":"2024-05-01T12:00:00Z","path":"/","downstream_remote_address":"[2001:db8::1]:443"}"#,
        )
        .unwrap();
        assert_eq!(ev.client_ip.as_deref(), Some("2001:db8::1"));
    }

    #[test]
    fn bad_time_is_an_error() {
        let err = decode_line(r#"{"start_time":"yesterday"}"#).unwrap_err();
        assert!(err.contains("RFC 3339"), "{err}");
    }
}
