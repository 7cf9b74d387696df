//! Which `events` column a Sigma field reads. The table here is the user documentation of the
//! mapping; the README shows it per input format.

/// How a field's values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Text: patterns match case-insensitively (unless `cased`).
    Text,
    /// An integer column (status, sizes): a number compares as a number, a string pattern
    /// matches the decimal text (`sc-status|startswith: '5'`).
    Int,
}

/// One mapped Sigma field.
#[derive(Debug, Clone, Copy)]
pub struct FieldMap {
    /// The Sigma names (webserver/proxy taxonomy first), compared case-insensitively.
    pub names: &'static [&'static str],
    /// The SQL expression over `events` that holds the value.
    pub sql: &'static str,
    /// How values compare.
    pub kind: FieldKind,
    /// Where the value comes from, per input format.
    pub doc: &'static str,
}

/// Every mapped field.
pub const FIELDS: &[FieldMap] = &[
    FieldMap {
        names: &["c-ip", "src_ip", "clientip", "client_ip"],
        sql: "client_ip",
        kind: FieldKind::Text,
        doc: "client address: Kong `client_ip`, Envoy downstream address, NGINX `$remote_addr`",
    },
    FieldMap {
        names: &["cs-method", "method"],
        sql: "method",
        kind: FieldKind::Text,
        doc: "HTTP method",
    },
    FieldMap {
        names: &["cs-uri-query", "cs-uri", "c-uri", "uri", "url", "request_target"],
        sql: "request_target",
        kind: FieldKind::Text,
        doc: "the request target as logged, path and `?query`, not URL-decoded (Kong `request.uri`, Envoy `path`/`%REQ(:PATH)%`, NGINX `$request` middle)",
    },
    FieldMap {
        names: &["cs-version", "http_version"],
        sql: "http_version",
        kind: FieldKind::Text,
        doc: "the request line's protocol as logged (`HTTP/1.1`; NGINX/Apache `$request` end, `$server_protocol`, `%H`, Envoy `protocol`/`%PROTOCOL%`; Kong does not log it)",
    },
    FieldMap {
        names: &["cs-uri-stem", "c-uri-stem"],
        sql: "path",
        kind: FieldKind::Text,
        doc: "the path without the query, not URL-decoded",
    },
    FieldMap {
        names: &["c-uri-query"],
        sql: "query",
        kind: FieldKind::Text,
        doc: "the query string after `?`, not URL-decoded; absent without one",
    },
    FieldMap {
        names: &["c-uri-extension"],
        sql: "url_extension(path)",
        kind: FieldKind::Text,
        doc: "what follows the last `.` of the path's last segment; absent without one",
    },
    FieldMap {
        names: &["sc-status", "status"],
        sql: "status",
        kind: FieldKind::Int,
        doc: "HTTP status sent to the client",
    },
    FieldMap {
        names: &["cs-user-agent", "c-useragent", "user_agent", "useragent"],
        sql: "user_agent",
        kind: FieldKind::Text,
        doc: "User-Agent header",
    },
    FieldMap {
        names: &["cs-referer", "c-referer", "referer", "referrer"],
        sql: "referer",
        kind: FieldKind::Text,
        doc: "Referer header (NGINX/Apache `\"-\"`: absent; `\"\"`: sent empty)",
    },
    FieldMap {
        names: &["cs-content-type", "content-type", "content_type"],
        sql: "content_type",
        kind: FieldKind::Text,
        doc: "request Content-Type header (Kong headers; `$content_type` / `%{Content-Type}i` in a custom format)",
    },
    FieldMap {
        names: &["cs-host", "c-host", "host"],
        sql: "host",
        kind: FieldKind::Text,
        doc: "Host header / `:authority`; absent in NGINX combined lines without `$host`",
    },
    FieldMap {
        names: &["cs-username", "username", "user"],
        sql: "username",
        kind: FieldKind::Text,
        doc: "login name (`--username-field`; NGINX `$remote_user`)",
    },
    FieldMap {
        names: &["cs-bytes"],
        sql: "request_bytes",
        kind: FieldKind::Int,
        doc: "request size",
    },
    FieldMap {
        names: &["sc-bytes"],
        sql: "response_bytes",
        kind: FieldKind::Int,
        doc: "response size",
    },
];

/// Sigma fields the taxonomy defines that gateway logs as gatewatch decodes them cannot hold:
/// a rule on one of them is skipped (loading it would make `not field: x` fire on everything).
pub const UNAVAILABLE: &[(&str, &str)] = &[
    ("cs-cookie", "gateway access logs do not carry cookies"),
    (
        "dst_ip",
        "the destination (server) address is not decoded into a column",
    ),
    ("r-dns", "gateway access logs carry no reverse DNS name"),
];

/// The columns a keyword (field-less) search looks in: every mapped field (the path, query
/// and extension are parts of `request_target`).
pub const KEYWORD_COLUMNS: &[(&str, FieldKind)] = &[
    ("request_target", FieldKind::Text),
    ("user_agent", FieldKind::Text),
    ("referer", FieldKind::Text),
    ("content_type", FieldKind::Text),
    ("host", FieldKind::Text),
    ("method", FieldKind::Text),
    ("username", FieldKind::Text),
    ("client_ip", FieldKind::Text),
    ("status", FieldKind::Int),
    ("request_bytes", FieldKind::Int),
    ("response_bytes", FieldKind::Int),
];

/// The mapping of a Sigma field name, or why there is none.
pub fn lookup(name: &str) -> Result<&'static FieldMap, String> {
    if let Some(f) = FIELDS
        .iter()
        .find(|f| f.names.iter().any(|n| n.eq_ignore_ascii_case(name)))
    {
        return Ok(f);
    }
    match UNAVAILABLE
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some((n, why)) => Err(format!("field `{n}` is not available: {why}")),
        None => Err(format!(
            "field `{name}` has no mapping to a gatewatch column (mapped: {})",
            FIELDS
                .iter()
                .map(|f| f.names[0])
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
