//! Paths and referers as a web server reads them: `%XX` escapes decoded once, case folded,
//! slashes collapsed ([`normalized_path`]); whether a request came from a link ([`linked`]) or
//! forged its own address as the `Referer` ([`self_referred`]).

use std::borrow::Cow;

/// A query string or form value decoded once: `%XX` escapes, and `+` as a space.
pub(super) fn percent_decode(s: &str) -> Cow<'_, str> {
    decode(s, true)
}

/// `%XX` escapes decoded once (a malformed escape is kept as written); `+` read as a space
/// when `plus_is_space` (query strings), kept in paths. Invalid UTF-8 becomes U+FFFD.
pub(crate) fn decode(s: &str, plus_is_space: bool) -> Cow<'_, str> {
    let escaped = s.contains('%') || (plus_is_space && s.contains('+'));
    if !escaped {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                // Exactly two hex digits (`%+a` is no escape).
                let digit = |c: u8| (c as char).to_digit(16);
                match digit(b[i + 1]).zip(digit(b[i + 2])) {
                    Some((high, low)) => {
                        out.push((high * 16 + low) as u8);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// A request path as a web server resolves it, for matching names in it: `%XX` escapes
/// decoded once, letters lower-cased (ASCII), every run of `/` made one. The path
/// [`probe_class`] looks names up in. A regex over the raw path misses `/%2eenv`,
/// `/.ENV` and `//.git/config`; over this one it does not.
///
/// ```
/// use gatewatch_rules::functions::normalized_path;
/// assert_eq!(normalized_path("/%2eenv"), "/.env");
/// assert_eq!(normalized_path("//App/%2E%67it/Config"), "/app/.git/config");
/// assert_eq!(normalized_path("/c++/a%zz"), "/c++/a%zz");
/// assert_eq!(normalized_path("/a%+ab"), "/a%+ab");
/// assert_eq!(normalized_path("/api/v1/orders/7"), "/api/v1/orders/7");
/// ```
pub fn normalized_path(path: &str) -> String {
    normalize_path(path).into_owned()
}

/// Whether a request came from a link on a page: its `Referer` is a page's address (a URL:
/// it holds `://`) and does not name the requested path itself (scanners forge that one). A
/// broken link a visitor followed, a file a directory listing or repository browser shows; not a
/// guess. Browsers and apps send the address of the page or app they came from
/// (`https://...`, `android-app://...`); a bare host (`ANRI-SHOP.RU`, `www.google.com`), a
/// relative path or a shell payload in the header is a tool's forgery, no link. SQL plans
/// `linked(referer, path)` as the same test written out (see `udf::Linked`).
///
/// ```
/// use gatewatch_rules::functions::linked;
/// assert!(linked(Some("https://shop.example/blog/"), "/old.php"));
/// assert!(linked(Some("android-app://com.google.android.gm/"), "/old.php"));
/// assert!(!linked(Some("http://203.0.113.10/Old.php"), "/old.php"));
/// assert!(!linked(Some("-"), "/old.php") && !linked(None, "/old.php"));
/// assert!(!linked(Some("SHOP.EXAMPLE"), "/wp-config.php.bak"));
/// ```
pub fn linked(referer: Option<&str>, path: &str) -> bool {
    referer.is_some_and(|r| {
        r.contains("://") && !r.to_lowercase().contains(normalize_path(path).as_ref())
    })
}

/// Whether a `Referer` names the request itself: a scheme, `//`, a host, then exactly the
/// request target (path and query as sent), as botnets forge it; a browser arriving at a page
/// sends the page it came from. Compared as sent (no case folding, no decoding): the test
/// `admin-console-probing` makes of a forged Referer, in its filter and its query alike.
///
/// ```
/// use gatewatch_rules::functions::self_referred;
/// assert!(self_referred("http://blog.example/wp-login.php", "/wp-login.php"));
/// assert!(self_referred("https://203.0.113.5/user?x=1", "/user?x=1"));
/// assert!(!self_referred("https://blog.example/", "/wp-login.php"));
/// assert!(!self_referred("https://blog.example/a/wp-login.php", "/wp-login.php"));
/// assert!(!self_referred("blog.example/wp-login.php", "/wp-login.php"));
/// ```
pub fn self_referred(referer: &str, target: &str) -> bool {
    // The host ends at the first `/` after `//`, so the target must start with one (or be
    // empty); scheme and host hold no `/` of their own.
    let starts_a_path = target.is_empty() || target.starts_with('/');
    starts_a_path
        && referer
            .strip_suffix(target)
            .and_then(|origin| origin.split_once("//"))
            .is_some_and(|(scheme, host)| !scheme.contains('/') && !host.contains('/'))
}

/// [`normalized_path`], borrowing `path` when nothing changes (most paths): callers that
/// normalize a column copy only the paths that change.
pub(crate) fn normalize_path(path: &str) -> Cow<'_, str> {
    if !path_changes_when_normalized(path) {
        return Cow::Borrowed(path);
    }
    let mut lower = decode(path, false).into_owned();
    lower.make_ascii_lowercase();
    Cow::Owned(if lower.contains("//") {
        collapse_slashes(&lower)
    } else {
        lower
    })
}

/// Whether [`normalized_path`] would change `path`: an escape, an upper-case letter or a run
/// of slashes (most paths have none, and are then used as they are).
///
/// One pass over the bytes: this runs on every path of every batch a normalized-path rule reads.
pub(crate) fn path_changes_when_normalized(path: &str) -> bool {
    let mut after_slash = false;
    path.bytes().any(|b| {
        let slash = b == b'/';
        let changes = b == b'%' || b.is_ascii_uppercase() || (slash && after_slash);
        after_slash = slash;
        changes
    })
}

/// `path` with every run of `/` made one.
pub(super) fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}
