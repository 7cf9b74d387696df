//! Route templating: `/api/v1/users/1042/orders/9f86d081-...` -> `/api/v1/users/{id}/orders/{uuid}`.
//!
//! Enumeration and shadow-API rules group by the template, while the raw ids stay
//! available (as `object_ids`) for rules that look at how ids progress.

/// What kind of object id a path segment looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// All decimal digits: `1042`.
    Numeric,
    /// A canonical 8-4-4-4-12 UUID.
    Uuid,
    /// A long hexadecimal string (hashes, Mongo object ids): 16+ hex digits with at least one digit.
    Hex,
    /// An opaque token: 16+ URL-safe characters mixing letters and digits many times over.
    Token,
}

impl IdKind {
    /// The placeholder that replaces a segment of this kind in a route template.
    pub fn placeholder(self) -> &'static str {
        match self {
            IdKind::Numeric => "{id}",
            IdKind::Uuid => "{uuid}",
            IdKind::Hex => "{hex}",
            IdKind::Token => "{token}",
        }
    }
}

/// Classifies one path segment (without slashes); `None` means it is a literal part of the route.
pub fn classify_segment(segment: &str) -> Option<IdKind> {
    let bytes = segment.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    if bytes.iter().all(u8::is_ascii_digit) {
        return Some(IdKind::Numeric);
    }
    if is_uuid(bytes) {
        return Some(IdKind::Uuid);
    }
    if bytes.len() >= 16
        && bytes.iter().all(u8::is_ascii_hexdigit)
        && bytes.iter().any(u8::is_ascii_digit)
    {
        return Some(IdKind::Hex);
    }
    if is_token(bytes) {
        return Some(IdKind::Token);
    }
    None
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Tokens are told from words like `reporting-v2-endpoints` by how often they switch between
/// letters and digits: random tokens switch many times, human-chosen names rarely.
fn is_token(b: &[u8]) -> bool {
    if b.len() < 16 {
        return false;
    }
    let mut switches = 0;
    let mut last_digit: Option<bool> = None;
    for c in b {
        if !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'=' | b'~' | b'+')) {
            return false;
        }
        if c.is_ascii_alphanumeric() {
            let digit = c.is_ascii_digit();
            if last_digit.is_some_and(|d| d != digit) {
                switches += 1;
            }
            last_digit = Some(digit);
        }
    }
    switches >= 4
}

/// Writes the template of `path` (which must not hold a query string) into `out`, and hands
/// every replaced segment to `on_id`, in path order. `out` is cleared first; reusing it keeps
/// templating free of allocations on the hot path.
pub fn template_into<'p>(path: &'p str, out: &mut String, mut on_id: impl FnMut(&'p str, IdKind)) {
    out.clear();
    // Literal segments are copied in runs (slashes included), one copy per run of them
    // rather than one per segment and slash.
    let mut literal_from = 0;
    let mut start = 0;
    let ends = path
        .bytes()
        .enumerate()
        .filter_map(|(i, c)| (c == b'/').then_some(i))
        .chain(std::iter::once(path.len()));
    for end in ends {
        let segment = &path[start..end];
        if let Some(kind) = classify_segment(segment) {
            out.push_str(&path[literal_from..start]);
            out.push_str(kind.placeholder());
            on_id(segment, kind);
            literal_from = end;
        }
        start = end + 1;
    }
    out.push_str(&path[literal_from..]);
}

/// The route template of a path, allocating; see [`template_into`] for the hot-path form.
///
/// ```
/// use gatewatch_ingest::route::route_template;
/// assert_eq!(route_template("/api/v1/users/1042/orders"), "/api/v1/users/{id}/orders");
/// ```
pub fn route_template(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    template_into(path, &mut out, |_, _| {});
    out
}

/// Splits a request target into path and query string (without the `?`).
pub fn split_query(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

/// Splits a request target as logged into the path and query the columns hold, the same way
/// for every decoder: an absolute URI (`http://host:8080/a?b`, proxies and scanners send them)
/// loses its origin; an authority-form target (`CONNECT host:443`) or a target that is not a
/// path at all (`*`, garbage) has no path. The raw target stays in `request_target`.
///
/// ```
/// use gatewatch_ingest::route::split_target;
/// assert_eq!(split_target(Some("GET"), "/a/b?x=1"), (Some("/a/b"), Some("x=1")));
/// assert_eq!(split_target(Some("GET"), "http://h:80/a?x"), (Some("/a"), Some("x")));
/// assert_eq!(split_target(Some("GET"), "https://h"), (Some("/"), None));
/// assert_eq!(split_target(Some("GET"), "%2Fa%3Fx"), (Some("%2Fa%3Fx"), None));
/// assert_eq!(split_target(Some("CONNECT"), "h:443"), (None, None));
/// assert_eq!(split_target(None, "h:443"), (None, None));
/// ```
pub fn split_target<'t>(
    method: Option<&str>,
    target: &'t str,
) -> (Option<&'t str>, Option<&'t str>) {
    if method.is_some_and(|m| m.eq_ignore_ascii_case("CONNECT")) {
        return (None, None);
    }
    let origin_form = if target.starts_with('/')
        || target
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case("%2f"))
    {
        // A path whose first slash is percent-encoded is still a path: servers that decode
        // before routing answer it, and scanners send it to slip past filters on `/`.
        target
    } else if let Some(i) = target.find("://").filter(|&i| {
        i > 0
            && target[..i]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    }) {
        let after = &target[i + 3..];
        match after.find(['/', '?']) {
            Some(j) if after.as_bytes()[j] == b'/' => &after[j..],
            Some(j) => return (Some("/"), Some(&after[j + 1..])),
            None => return (Some("/"), None),
        }
    } else if target == "*" {
        // `OPTIONS *`: the server itself, a real (if odd) request target.
        target
    } else {
        return (None, None);
    };
    let (path, query) = split_query(origin_form);
    (Some(path), query)
}

/// The parameter names of a query string, in order, without values (`a=1&b&c=` -> a, b, c).
pub fn query_keys(query: &str) -> impl Iterator<Item = &str> {
    query
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(k, _)| k))
        .filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template_with_ids(path: &str) -> (String, Vec<String>) {
        let mut out = String::new();
        let mut ids = Vec::new();
        template_into(path, &mut out, |id, _| ids.push(id.to_string()));
        (out, ids)
    }

    #[test]
    fn numeric_and_uuid_segments() {
        let (t, ids) =
            template_with_ids("/api/v1/users/1042/orders/9f86d081-884c-4d63-a5b9-6f9c2e3f1a2b");
        assert_eq!(t, "/api/v1/users/{id}/orders/{uuid}");
        assert_eq!(ids, ["1042", "9f86d081-884c-4d63-a5b9-6f9c2e3f1a2b"]);
    }

    #[test]
    fn long_hex_is_an_id_but_short_hex_words_are_not() {
        assert_eq!(
            route_template("/blobs/9f86d081884c7d659a2feaa0c55ad015"),
            "/blobs/{hex}"
        );
        assert_eq!(
            route_template("/objects/507f1f77bcf86cd799439011"),
            "/objects/{hex}"
        );
        assert_eq!(route_template("/cafe/facade"), "/cafe/facade");
    }

    #[test]
    fn opaque_tokens() {
        assert_eq!(
            route_template("/reset/aZ3kQ9xL2mP7vB4nR8tY"),
            "/reset/{token}"
        );
        assert_eq!(
            route_template("/s/eyJhbGciOi.J9IUzI1NiIsInR5cCI6"),
            "/s/{token}"
        );
    }

    #[test]
    fn words_and_versions_stay_literal() {
        for p in [
            "/api/v1/health",
            "/api/v2/reporting-endpoints-list",
            "/static/app.min.js",
            "/oauth2/token",
            "/",
            "",
            "/a//b/",
        ] {
            assert_eq!(route_template(p), p, "{p}");
        }
    }

    #[test]
    fn query_split_and_keys() {
        let (path, query) = split_query("/search?q=a&page=2&flag&=x");
        assert_eq!(path, "/search");
        let keys: Vec<_> = query_keys(query.unwrap()).collect();
        assert_eq!(keys, ["q", "page", "flag"]);
        assert_eq!(split_query("/x"), ("/x", None));
    }

    /// Copying literal runs whole gives what joining the path segment by segment gives, ids
    /// and their order included: empty segments, doubled and trailing slashes, no leading
    /// slash, ids first, last and adjacent, non-ASCII segments.
    #[test]
    fn runs_copied_whole_equal_the_segment_by_segment_join() {
        let reference = |path: &str| {
            let mut ids = Vec::new();
            let joined = path
                .split('/')
                .map(|segment| match classify_segment(segment) {
                    Some(kind) => {
                        ids.push(segment.to_string());
                        kind.placeholder().to_string()
                    }
                    None => segment.to_string(),
                })
                .collect::<Vec<_>>()
                .join("/");
            (joined, ids)
        };
        for path in [
            "",
            "/",
            "//",
            "1042",
            "1042/",
            "/1042",
            "/1042/7",
            "/a//1042//b/",
            "/api/v1/users/1042/orders/9f86d081-884c-4d63-a5b9-6f9c2e3f1a2b",
            "/blobs/9f86d081884c7d659a2feaa0c55ad015/x1y2z3a4b5c6d7e8f9",
            "/caf\u{e9}/42/\u{4e2d}\u{6587}/",
            "relative/path/99",
        ] {
            assert_eq!(template_with_ids(path), reference(path), "{path:?}");
        }
    }
}
