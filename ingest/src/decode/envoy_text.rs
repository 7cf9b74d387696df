//! Envoy's text access log: Envoy's default format, Istio's defaults (1.0/1.1, 1.2–1.7 with
//! Mixer, 1.8 and later), Emissary's `ACCESS ` prefix, or the operator's own format string
//! (`--envoy-format`). The built-in formats are tried longest first, so a line is read with
//! the most specific format it fits.

use std::sync::OnceLock;

use super::template::{LineTemplate, Mismatch};
use crate::batch::{RawEvent, SourceFormat};

const HEAD: &str = r#"[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% "#;
const TAIL: &str = r#"%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%""#;
const ISTIO_ADDRS: &str = " %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME%";

/// The built-in formats, most specific first: (name, format string).
pub fn builtin_formats() -> Vec<(&'static str, String)> {
    vec![
        (
            "istio 1.8+",
            format!(
                "{HEAD}%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% \"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" {TAIL}{ISTIO_ADDRS} %ROUTE_NAME%"
            ),
        ),
        (
            "istio 1.2-1.7",
            format!(
                "{HEAD}\"%DYNAMIC_METADATA(istio.mixer:status)%\" \"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" {TAIL}{ISTIO_ADDRS} %ROUTE_NAME%"
            ),
        ),
        ("istio 1.0-1.1", format!("{HEAD}{TAIL}{ISTIO_ADDRS}")),
        ("envoy default", format!("{HEAD}{TAIL}")),
        ("emissary", format!("ACCESS {HEAD}{TAIL}")),
    ]
}

fn builtin() -> &'static [LineTemplate] {
    static TEMPLATES: OnceLock<Vec<LineTemplate>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        builtin_formats()
            .into_iter()
            .map(|(name, f)| LineTemplate::envoy(name, &f).expect("built-in Envoy formats compile"))
            .collect()
    })
}

/// Whether a line looks like Envoy's text log: `[2024-...` (or a custom `[2024/...`) or
/// Emissary's `ACCESS [2024-...`. Not `[2001:db8::5] ...`: an NGINX line whose format starts
/// with `$host` begins so when a client sends an IPv6 literal as its `Host`.
pub fn sniff(line: &str) -> bool {
    let l = line.strip_prefix("ACCESS ").unwrap_or(line).as_bytes();
    l.len() > 5
        && l[0] == b'['
        && l[1..5].iter().all(u8::is_ascii_digit)
        && matches!(l[5], b'-' | b'/')
}

/// Decodes one Envoy text line with `custom` if given, else with the built-in formats. The
/// error names every format tried and where each stopped.
pub fn decode_line<'a>(
    line: &'a str,
    custom: Option<&LineTemplate>,
) -> Result<RawEvent<'a>, String> {
    let templates = match custom {
        Some(t) => std::slice::from_ref(t),
        None => builtin(),
    };
    // The common case allocates nothing: the first template that fits wins.
    for t in templates {
        if let Ok(ev) = t.decode(line, SourceFormat::Envoy) {
            return Ok(ev);
        }
    }
    // Rejected: say why for each, the format that got furthest (the likeliest) first.
    let mut tried: Vec<(&LineTemplate, Mismatch)> = templates
        .iter()
        .filter_map(|t| t.decode(line, SourceFormat::Envoy).err().map(|m| (t, m)))
        .collect();
    tried.sort_by_key(|(_, m)| std::cmp::Reverse(m.at));
    Err(tried
        .iter()
        .map(|(t, m)| format!("{}: expected {}", t.name(), t.explain(m)))
        .collect::<Vec<_>>()
        .join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envoy_default_falls_back_to_forwarded_for() {
        let ev = decode_line(
            r#"[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0" "locations" "tcp://10.0.2.1:80""#,
            None,
        )
        .unwrap();
        assert_eq!(ev.client_ip.as_deref(), Some("10.0.35.28"));
        assert_eq!(ev.request_bytes, Some(154));
        assert_eq!(ev.latency_ms, Some(226));
        assert_eq!(ev.host.as_deref(), Some("locations"));
        assert_eq!(ev.http_version.as_deref(), Some("HTTP/2"));
    }

    #[test]
    fn istio_uses_the_downstream_peer_and_tcp_lines_have_no_request() {
        let ev = decode_line(
            r#"[2019-01-02T11:46:46.981Z] "- - -" 0 - 627 1879689 44 - "-" "-" "-" "-" "151.101.129.67:443" outbound|443||edition.cnn.com 172.30.109.80:41122 172.30.109.80:443 172.30.109.112:59970 edition.cnn.com"#,
            None,
        )
        .unwrap();
        assert_eq!(ev.client_ip.as_deref(), Some("172.30.109.112"));
        assert_eq!(ev.method, None);
        assert_eq!(ev.target, None);
        assert_eq!(ev.http_version, None);
        assert_eq!(ev.status, Some(0));
        assert_eq!(ev.service.as_deref(), Some("outbound|443||edition.cnn.com"));
    }

    #[test]
    fn emissary_prefix() {
        let line = r#"ACCESS [2021-03-01T10:00:00.000Z] "GET /backend/ HTTP/1.1" 200 - 0 13 4 3 "-" "curl/7.64" "a1" "example.com" "10.1.1.1:8080""#;
        assert!(sniff(line));
        let ev = decode_line(line, None).unwrap();
        assert_eq!(ev.target.as_deref(), Some("/backend/"));
    }

    #[test]
    fn the_error_lists_the_formats_tried() {
        let err =
            decode_line(r#"[2021-03-01T10:00:00.000Z] "GET / HTTP/1.1" OK"#, None).unwrap_err();
        for name in ["istio 1.8+", "envoy default", "emissary"] {
            assert!(err.contains(name), "{err}");
        }
        assert!(
            err.contains("\" \" after %RESPONSE_CODE% at byte 44"),
            "{err}"
        );
    }
}
