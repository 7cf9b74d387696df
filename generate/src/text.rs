//! The same generated requests in the text and JSON shapes other gateways write, so decoders
//! can be measured and tested on every format with identical content.

use std::fmt::Write;

use crate::Request;

/// A log shape gatewatch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Kong JSON (`write_kong_line`).
    Kong,
    /// NGINX/Apache combined.
    NginxCombined,
    /// Apache `vhost_combined`.
    ApacheVhost,
    /// Envoy JSON with Istio's default keys.
    EnvoyJson,
    /// Envoy's default text format.
    EnvoyText,
    /// Istio 1.8+ default text format.
    IstioText,
    /// NGINX combined inside a CRI (containerd) envelope.
    CriNginx,
    /// Envoy text inside a Docker JSON-file envelope.
    DockerEnvoy,
}

impl Shape {
    /// Every shape, for benchmarks.
    pub const ALL: [Shape; 8] = [
        Shape::Kong,
        Shape::NginxCombined,
        Shape::ApacheVhost,
        Shape::EnvoyJson,
        Shape::EnvoyText,
        Shape::IstioText,
        Shape::CriNginx,
        Shape::DockerEnvoy,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Kong => "kong json",
            Shape::NginxCombined => "nginx combined",
            Shape::ApacheVhost => "apache vhost_combined",
            Shape::EnvoyJson => "envoy json",
            Shape::EnvoyText => "envoy text",
            Shape::IstioText => "istio text",
            Shape::CriNginx => "cri(nginx combined)",
            Shape::DockerEnvoy => "docker(envoy text)",
        }
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn time_local(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%d/%b/%Y:%H:%M:%S +0000")
        .to_string()
}

fn combined(r: &Request, out: &mut String) {
    let _ = write!(
        out,
        r#"{} - {} [{}] "{} {} HTTP/1.1" {} {} "-" "{}""#,
        r.ip,
        r.username.as_deref().unwrap_or("-"),
        time_local(r.t_ms),
        r.method,
        r.path,
        r.status,
        r.response_bytes,
        r.user_agent
    );
}

fn envoy_text(r: &Request, out: &mut String) {
    let _ = write!(
        out,
        r#"[{}] "{} {} HTTP/1.1" {} - 0 {} {} {} "{}" "{}" "{:016x}" "api.shop.example" "10.1.0.5:8080""#,
        rfc3339(r.t_ms),
        r.method,
        r.path,
        r.status,
        r.response_bytes,
        r.latency_ms,
        r.latency_ms.saturating_sub(1),
        r.ip,
        r.user_agent,
        r.seq
    );
}

/// Appends one record for `r` in `shape` (no trailing newline) to `out`.
pub fn write_line(shape: Shape, r: &Request, out: &mut String) {
    match shape {
        Shape::Kong => crate::write_kong_line(r, out),
        Shape::NginxCombined => combined(r, out),
        Shape::ApacheVhost => {
            out.push_str("api.shop.example:443 ");
            combined(r, out);
        }
        Shape::EnvoyJson => {
            let _ = write!(
                out,
                r#"{{"start_time":"{}","method":"{}","path":{},"protocol":"HTTP/1.1","response_code":{},"response_flags":"-","bytes_received":0,"bytes_sent":{},"duration":{},"x_forwarded_for":"-","user_agent":{},"request_id":"{:016x}","authority":"api.shop.example","upstream_cluster":"outbound|8080||{}","downstream_remote_address":"{}:40000"}}"#,
                rfc3339(r.t_ms),
                r.method,
                serde_json::to_string(&r.path).unwrap_or_default(),
                r.status,
                r.response_bytes,
                r.latency_ms,
                serde_json::to_string(r.user_agent).unwrap_or_default(),
                r.seq,
                r.service,
                r.ip
            );
        }
        Shape::EnvoyText => envoy_text(r, out),
        Shape::IstioText => {
            let _ = write!(
                out,
                r#"[{}] "{} {} HTTP/1.1" {} - via_upstream - "-" 0 {} {} {} "-" "{}" "{:016x}" "api.shop.example" "10.1.0.5:8080" outbound|8080||{} 10.1.0.9:40000 10.1.0.9:8080 {}:40000 - default"#,
                rfc3339(r.t_ms),
                r.method,
                r.path,
                r.status,
                r.response_bytes,
                r.latency_ms,
                r.latency_ms.saturating_sub(1),
                r.user_agent,
                r.seq,
                r.service,
                r.ip
            );
        }
        Shape::CriNginx => {
            let _ = write!(out, "{} stdout F ", rfc3339(r.t_ms));
            combined(r, out);
        }
        Shape::DockerEnvoy => {
            let mut inner = String::new();
            envoy_text(r, &mut inner);
            inner.push('\n');
            let _ = write!(
                out,
                r#"{{"log":{},"stream":"stdout","time":"{}"}}"#,
                serde_json::to_string(&inner).unwrap_or_default(),
                rfc3339(r.t_ms)
            );
        }
    }
}
