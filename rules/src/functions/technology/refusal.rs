//! A server that refuses every request naming no site of its own answers every path with one
//! `400` page: Django's `ALLOWED_HOSTS`, an nginx default server returning 400, the plain-HTTP
//! request sent to an HTTPS port. Scanners ask by address and meet it; a site's users ask by
//! name and are served. For `technology_unserved`, such a `400` says what a `404` says: not
//! here.

use super::{host_key, EndpointLearner};

/// A host that answered this many different paths (server code, products' endpoints, its home
/// page) with a `400` of one same size answers every request naming no site of its own so: from
/// then on a `400` of that size for a technology or product the host never served is a refusal,
/// whatever the host serves to the requests naming it (its successes are not the refusal
/// page's business).
pub const REFUSAL_PATHS: i64 = 3;

/// The learner's key prefix, per host and kind, of a `400` size's tally of the different paths
/// it answered (at most [`REFUSAL_PATHS`] paths are kept under it).
const REFUSAL: &str = "\u{1}refusal\u{1}";

/// Path bytes kept in a refusal key (longer paths are cut: a cut path is still one path).
const MAX_PATH: usize = 256;

/// Learns a `400` of `bytes` answering `path` on `host` (in the tally of the kind of
/// `technology`: each of the rule's two calls sees its own rows in record order) and answers
/// whether that size is the host's refusal page: it answered [`REFUSAL_PATHS`] different paths
/// (any case). At most that many path keys per host, kind and size.
pub(super) fn refusal_page(
    learner: &mut EndpointLearner,
    scratch: &mut String,
    host: Option<&str>,
    technology: &str,
    bytes: i64,
    path: &str,
) -> bool {
    size_key(scratch, host, technology, bytes);
    if learner.count(scratch) >= REFUSAL_PATHS {
        return true;
    }
    scratch.push('\0');
    scratch.extend(
        path[..path.floor_char_boundary(MAX_PATH)]
            .chars()
            .map(|c| c.to_ascii_lowercase()),
    );
    if learner.knows(scratch) {
        return false;
    }
    learner.remember(scratch);
    size_key(scratch, host, technology, bytes);
    learner.tally(scratch) >= REFUSAL_PATHS
}

/// Writes the key of the tally of paths a `400` of `bytes` answered into `scratch`.
fn size_key(scratch: &mut String, host: Option<&str>, technology: &str, bytes: i64) {
    use std::fmt::Write;
    host_key(scratch, host, REFUSAL, technology);
    let _ = write!(scratch, "{bytes}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_paths_answered_with_one_400_make_it_the_refusal_page() {
        let mut learner = EndpointLearner::default();
        let mut scratch = String::new();
        let mut refused = |learner: &mut EndpointLearner, host: &str, bytes: i64, path: &str| {
            refusal_page(learner, &mut scratch, Some(host), "php", bytes, path)
        };
        let django = "198.51.100.7";
        assert!(!refused(&mut learner, django, 154, "/"));
        assert!(!refused(&mut learner, django, 154, "/modules.php"));
        // The same path again (any case) is still two paths.
        assert!(!refused(&mut learner, django, 154, "/MODULES.php"));
        // Another size is another page.
        assert!(!refused(&mut learner, django, 657, "/system_api.php"));
        assert!(refused(&mut learner, django, 154, "/system_api.php"));
        assert!(refused(&mut learner, django, 154, "/modules.php"));
        // Another host learns its own.
        assert!(!refused(&mut learner, "shop.example", 154, "/a.php"));
        let keys = learner.len();
        for i in 0..100 {
            assert!(refused(&mut learner, django, 154, &format!("/p{i}.php")));
        }
        assert_eq!(learner.len(), keys, "no path is kept past the tally");
    }
}
