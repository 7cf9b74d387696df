//! The variables of each format-string syntax, mapped to what they hold.

use super::Field;

pub(super) fn envoy_field(command: &str) -> Field {
    // `%REQ(USER-AGENT):64%`: a length limit after the closing parenthesis.
    let command = match command.rfind("):") {
        Some(i) => &command[..=i],
        None => command,
    };
    let (name, arg) = match command.split_once('(') {
        Some((n, a)) => (n, a.trim_end_matches(')')),
        None => (command, ""),
    };
    match name {
        "START_TIME" if arg.is_empty() => Field::TimeRfc3339,
        "PROTOCOL" => Field::Protocol,
        "RESPONSE_CODE" => Field::Status,
        "BYTES_RECEIVED" => Field::RequestBytes,
        "BYTES_SENT" => Field::ResponseBytes,
        "DURATION" => Field::DurationMs,
        "UPSTREAM_CLUSTER" => Field::UpstreamCluster,
        "ROUTE_NAME" => Field::RouteName,
        "DOWNSTREAM_REMOTE_ADDRESS"
        | "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT"
        | "DOWNSTREAM_DIRECT_REMOTE_ADDRESS"
        | "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT" => Field::Client,
        "REQ" => {
            // `X-ENVOY-ORIGINAL-PATH?:PATH`: the first header present; both are the path.
            let header = arg.split('?').next().unwrap_or(arg).to_ascii_lowercase();
            match header.as_str() {
                ":method" => Field::Method,
                ":path" | "x-envoy-original-path" | "x-envoy-origin-path" => Field::Target,
                ":authority" | "host" => Field::Host,
                "user-agent" => Field::UserAgent,
                "referer" => Field::Referer,
                "content-type" => Field::ContentType,
                "x-forwarded-for" => Field::ForwardedFor,
                "x-request-id" => Field::RequestId,
                _ => Field::Ignore,
            }
        }
        _ => Field::Ignore,
    }
}

pub(super) fn nginx_field(var: &str) -> Field {
    match var {
        "remote_addr" | "realip_remote_addr" => Field::Client,
        "remote_user" => Field::User,
        "time_local" => Field::TimeLocal,
        "time_iso8601" => Field::TimeRfc3339,
        "msec" => Field::TimeEpochSecs,
        "request" => Field::Request,
        "request_method" => Field::Method,
        "server_protocol" => Field::Protocol,
        "request_uri" => Field::Target,
        "uri" | "document_uri" => Field::Path,
        "args" | "query_string" => Field::Query,
        "status" => Field::Status,
        "upstream_status" => Field::UpstreamStatus,
        "body_bytes_sent" | "bytes_sent" => Field::ResponseBytes,
        "request_length" => Field::RequestBytes,
        "request_time" => Field::DurationSecs,
        "http_user_agent" => Field::UserAgent,
        "http_referer" => Field::Referer,
        "content_type" | "http_content_type" => Field::ContentType,
        "http_x_forwarded_for" | "proxy_add_x_forwarded_for" => Field::ForwardedFor,
        "host" | "http_host" | "server_name" => Field::Host,
        "request_id" | "http_x_request_id" => Field::RequestId,
        "proxy_upstream_name" | "upstream_addr" => Field::UpstreamCluster,
        _ => Field::Ignore,
    }
}

pub(super) fn apache_field(directive: char, arg: Option<&str>) -> Field {
    let header = arg.map(str::to_ascii_lowercase);
    match (directive, header.as_deref()) {
        ('h' | 'a', _) => Field::Client,
        ('u', _) => Field::User,
        ('t', None) => Field::TimeLocal,
        ('r', _) => Field::Request,
        ('s', _) => Field::Status,
        ('b' | 'B' | 'O', _) => Field::ResponseBytes,
        ('I', _) => Field::RequestBytes,
        ('D', _) => Field::DurationMicros,
        ('T', None | Some("s")) => Field::DurationSecs,
        ('T', Some("ms")) => Field::DurationMs,
        ('T', Some("us")) => Field::DurationMicros,
        ('m', _) => Field::Method,
        ('H', _) => Field::Protocol,
        ('U', _) => Field::Path,
        ('q', _) => Field::Query,
        ('v' | 'V', _) => Field::Host,
        ('i', Some("user-agent")) => Field::UserAgent,
        ('i', Some("referer")) => Field::Referer,
        ('i', Some("content-type")) => Field::ContentType,
        ('i', Some("host")) => Field::Host,
        ('i', Some("x-forwarded-for")) => Field::ForwardedFor,
        ('i', Some("x-request-id")) => Field::RequestId,
        _ => Field::Ignore,
    }
}
