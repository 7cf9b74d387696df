//! A server that refuses every request naming no site of its own answers every path with one
//! `400` page: Django's `ALLOWED_HOSTS`, an nginx default server returning 400, the plain-HTTP
//! request sent to an HTTPS port. Scanners ask by address and meet it; a site's users ask by
//! name and are served. For `technology_unserved`, such a `400` says what a `404` says: not
//! here.

use super::{host_key, push_lower, EndpointLearner, Reply, MAX_HOMES, MAX_PATH};

/// A host that answered this many different paths (server code, products' endpoints, its home
/// page) with a `400` of one same size, not all to one client, answers every request naming no
/// site of its own so: from then on a `400` of that size for a technology or product the host
/// never served with success is a refusal, whatever the host serves to the requests naming it
/// (its successes are not the refusal page's business). One client's paths alone do not teach
/// it: nginx answers a visitor whose cookies outgrew its header buffers `400 Request Header Or
/// Cookie Too Large`, of one size, on every page that visitor asks, old bookmarks too.
pub const REFUSAL_PATHS: i64 = 3;

/// The learner's key prefix, per host and kind, of a `400` size's tally of the different paths
/// it answered (at most [`REFUSAL_PATHS`] paths are kept under it); under it, `FIRST` and the
/// address of the client that asked the first path, and `OTHER` once another client asked.
const REFUSAL: &str = "\u{1}refusal\u{1}";
const FIRST: &str = "\u{1}first\u{1}";
const OTHER: &str = "\u{1}other\u{1}";

/// The learner's keys of how many `400` sizes a host has tallies for (per kind), and of how
/// many hosts have any (per kind, no host).
const REFUSAL_SIZES: &str = "\u{1}refusalsizes\u{1}";
const REFUSAL_HOSTS: &str = "\u{1}refusalhosts\u{1}";

/// `400` sizes tallied per host and kind: a server's refusal page has one size (two, compressed
/// and not); a host answering every request with a `400` of another size (a page echoing the
/// path) adds no keys past these.
const MAX_SIZES: i64 = 4;

/// Learns a `400` answering a request on `host` (its size, path and client: in the tally of
/// the kind of `technology`, each of the rule's two calls seeing its own rows in record order)
/// and answers whether that size is the host's refusal page (any other answer, or a `400` of
/// unknown size, is `false` and learns nothing): it answered [`REFUSAL_PATHS`] different paths
/// (any case), not all to one client. Bounded: at most that many path keys per host, kind and
/// size, [`MAX_SIZES`] sizes per host and kind, and the first [`MAX_HOMES`] hosts per kind (a
/// flood of `400`s under ever new `Host` names cannot push what the task learned of real hosts
/// out of its learner).
pub(super) fn refusal_page(
    learner: &mut EndpointLearner,
    scratch: &mut String,
    host: Option<&str>,
    technology: &str,
    reply: Reply<'_>,
) -> bool {
    let Some(bytes) = reply.bytes.filter(|_| reply.status == 400) else {
        return false;
    };
    let client = reply.client.unwrap_or("");
    size_key(scratch, host, technology, bytes);
    let paths = learner.count(scratch);
    if paths == 0 {
        if !admit_size(learner, scratch, host, technology) {
            return false;
        }
        size_key(scratch, host, technology, bytes);
    }
    let base = scratch.len();
    if paths < REFUSAL_PATHS {
        sub_key(scratch, base, "\0", reply.path);
        if learner.knows(scratch) {
            return false;
        }
        learner.remember(scratch);
        sub_key(scratch, base, FIRST, client);
        if paths == 0 {
            learner.remember(scratch);
        } else if !learner.knows(scratch) {
            sub_key(scratch, base, OTHER, "");
            learner.remember(scratch);
        }
        scratch.truncate(base);
        if learner.tally(scratch) < REFUSAL_PATHS {
            return false;
        }
    }
    sub_key(scratch, base, OTHER, "");
    if learner.knows(scratch) {
        return true;
    }
    // Three paths, all one client's: the page is the host's once another client meets it.
    sub_key(scratch, base, FIRST, client);
    if learner.knows(scratch) {
        return false;
    }
    sub_key(scratch, base, OTHER, "");
    learner.remember(scratch);
    true
}

/// Writes the key `mark` + `text` (cut and lower-cased) under the size key of `base` bytes
/// already in `scratch`.
fn sub_key(scratch: &mut String, base: usize, mark: &str, text: &str) {
    scratch.truncate(base);
    scratch.push_str(mark);
    push_lower(scratch, text, MAX_PATH);
}

/// Whether a new `400` size may be tallied on `host` (fewer than [`MAX_SIZES`] there, and the
/// host among the first [`MAX_HOMES`] with any), counting it if so.
fn admit_size(
    learner: &mut EndpointLearner,
    scratch: &mut String,
    host: Option<&str>,
    technology: &str,
) -> bool {
    host_key(scratch, host, REFUSAL_SIZES, technology);
    let sizes = learner.count(scratch);
    if sizes >= MAX_SIZES {
        return false;
    }
    if sizes == 0 {
        host_key(scratch, None, REFUSAL_HOSTS, technology);
        if learner.count(scratch) >= MAX_HOMES {
            return false;
        }
        learner.tally(scratch);
    }
    host_key(scratch, host, REFUSAL_SIZES, technology);
    learner.tally(scratch);
    true
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

    /// A `400` of `bytes` for `path` asked by `client` on `host`: whether it is the refusal page.
    fn refused(
        learner: &mut EndpointLearner,
        host: &str,
        bytes: i64,
        path: &str,
        client: &str,
    ) -> bool {
        let reply = Reply {
            status: 400,
            bytes: Some(bytes),
            path,
            client: Some(client),
        };
        refusal_page(learner, &mut String::new(), Some(host), "php", reply)
    }

    #[test]
    fn three_paths_answered_with_one_400_to_several_clients_make_it_the_refusal_page() {
        let mut learner = EndpointLearner::default();
        let django = "198.51.100.7";
        for (bytes, path, client, want, why) in [
            (154, "/", "203.0.113.1", false, "the first path"),
            (154, "/modules.php", "203.0.113.2", false, "a second"),
            (
                154,
                "/MODULES.php",
                "203.0.113.3",
                false,
                "the same path in capitals",
            ),
            (657, "/system_api.php", "203.0.113.4", false, "another size"),
            (154, "/system_api.php", "203.0.113.4", true, "a third path"),
            (
                154,
                "/modules.php",
                "203.0.113.1",
                true,
                "then every 400 of that size",
            ),
        ] {
            assert_eq!(
                refused(&mut learner, django, bytes, path, client),
                want,
                "{path}: {why}"
            );
        }
        assert!(
            !refused(&mut learner, "shop.example", 154, "/a.php", "203.0.113.5"),
            "another host learns its own"
        );
        let keys = learner.len();
        for i in 0..100 {
            let path = format!("/p{i}.php");
            assert!(refused(&mut learner, django, 154, &path, "203.0.113.9"));
        }
        assert_eq!(learner.len(), keys, "no path is kept past the tally");
        let other = Reply {
            status: 404,
            bytes: Some(154),
            ..Reply::default()
        };
        assert!(
            !refusal_page(&mut learner, &mut String::new(), Some(django), "php", other),
            "a 404 is no 400 page"
        );
    }

    #[test]
    fn one_clients_400s_do_not_teach_the_page_until_another_client_meets_it() {
        // nginx's `400 Request Header Or Cookie Too Large`: one visitor, every page.
        let mut learner = EndpointLearner::default();
        let shop = "shop.example";
        let visitor = "192.0.2.7";
        for path in ["/", "/products", "/cart", "/account", "/download.php"] {
            assert!(!refused(&mut learner, shop, 264, path, visitor), "{path}");
        }
        assert!(!refused(&mut learner, shop, 264, "/invoice.php", visitor));
        assert!(refused(
            &mut learner,
            shop,
            264,
            "/wp-login.php",
            "198.51.100.9"
        ));
        assert!(refused(&mut learner, shop, 264, "/invoice.php", visitor));
    }

    #[test]
    fn sizes_and_hosts_are_bounded() {
        let mut learner = EndpointLearner::default();
        // A page echoing the path: a size per request.
        for i in 0..100 {
            let path = format!("/x{i}");
            assert!(!refused(
                &mut learner,
                "echo.example",
                150 + i,
                &path,
                "203.0.113.1"
            ));
        }
        let keys = learner.len();
        assert!(keys < 40, "{keys} keys");
        // A flood of `Host` names.
        for i in 0..MAX_HOMES + 100 {
            let host = format!("h{i}.scan.example");
            refused(&mut learner, &host, 154, "/", "203.0.113.2");
        }
        let late = "late.example";
        for (path, client) in [
            ("/", "198.51.100.1"),
            ("/a", "198.51.100.2"),
            ("/b", "198.51.100.3"),
        ] {
            assert!(!refused(&mut learner, late, 154, path, client), "{path}");
        }
        assert!(
            !refused(&mut learner, late, 154, "/c.php", "198.51.100.4"),
            "past the hosts' bound"
        );
    }
}
