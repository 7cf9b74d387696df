//! Server technologies a URL names (`.php`, `.jsp`, `.aspx`, `.cgi` ...) and which of them a
//! site has been seen serving. A request for a technology the site never answered with success
//! is a probe for software it does not run: an API gateway in front of Java services answers
//! every `/wp-login.php` 404, and no user of it asks for one. `unserved-technology-probe` uses
//! both halves: [`server_technology`] (stateless, SQL and Rhai) and `technology_unserved`
//! (stateful, SQL filters only, learning per rule and task like `endpoint_is_new`).

use std::sync::{Arc, Mutex};

use arrow::array::{Array, AsArray, BooleanArray};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};

use super::EndpointLearner;

mod catch_all;
use catch_all::catch_all;
pub use catch_all::{CATCH_ALL_PATHS, MIN_CATCH_ALL_BYTES};

/// The name of the stateful helper: filters calling it are evaluated per task, in record order,
/// with a learner of their own (see `crate::filter`).
pub const TECHNOLOGY_UNSERVED: &str = "technology_unserved";

/// Host names longer than this are cut (DNS allows 253 bytes; the Host header is the client's).
const MAX_HOST: usize = 253;

/// The server-side technology a path's file extension names: `php` (`.php`, `.php5`, `.phtml`,
/// `.phar`), `asp`, `aspnet` (`.aspx`, `.axd`, `.ashx`, `.asmx`), `java` (`.jsp`, `.jspx`, and
/// the Struts/Spring MVC `.do` and `.action`), `cgi` (`.cgi`, `.pl`) or `coldfusion` (`.cfm`,
/// `.cfml`, `.cfc`); any case, with a `;jsessionid=...` parameter or not. Static files, and paths whose
/// last segment has no extension, name none.
///
/// ```
/// use gatewatch_rules::functions::technology::server_technology;
/// assert_eq!(server_technology("/wp-login.php"), Some("php"));
/// assert_eq!(server_technology("/carbon/admin/login.JSP;jsessionid=1A"), Some("java"));
/// assert_eq!(server_technology("/Telerik.Web.UI.WebResource.axd?type=rau"), Some("aspnet"));
/// assert_eq!(server_technology("/index.php/api/users"), None);
/// assert_eq!(server_technology("/static/app.js"), None);
/// ```
pub fn server_technology(path: &str) -> Option<&'static str> {
    let ext = super::url_extension(path)?;
    EXTENSIONS
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|&(_, technology)| technology)
}

/// File extensions of server-side code, and the technology each names.
const EXTENSIONS: &[(&str, &str)] = &[
    ("php", "php"),
    ("php3", "php"),
    ("php4", "php"),
    ("php5", "php"),
    ("php7", "php"),
    ("php8", "php"),
    ("phtml", "php"),
    ("phar", "php"),
    ("asp", "asp"),
    ("aspx", "aspnet"),
    ("axd", "aspnet"),
    ("ashx", "aspnet"),
    ("asmx", "aspnet"),
    ("jsp", "java"),
    ("jspx", "java"),
    ("do", "java"),
    ("action", "java"),
    ("cgi", "cgi"),
    ("pl", "cgi"),
    ("cfm", "coldfusion"),
    ("cfml", "coldfusion"),
    ("cfc", "coldfusion"),
];

/// What `technology_unserved` learns from a response, and how it answers one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// 2xx or 304: the site runs the technology.
    Served,
    /// Nothing there, or refused ([`super::status::refused`]).
    NotThere,
    /// 3xx other than 304, 400, or 5xx: says nothing of the path (sent on elsewhere, refused
    /// as a whole request, or failed), unless the host answers everything so.
    Silent,
    /// Anything else (1xx, 401, 405, 429 ...): neither.
    Other,
}

fn answer(status: i64) -> Answer {
    match status {
        200..=299 | 304 => Answer::Served,
        300..=399 | 400 | 500..=599 => Answer::Silent,
        s if super::status::refused(s) => Answer::NotThere,
        _ => Answer::Other,
    }
}

/// A host that answered this many requests for server code (or for products' endpoints) with
/// redirects, 400 or server errors, and never one with success, answers everything so: a
/// plain-HTTP listener sending every request on to HTTPS, a server refusing every request
/// that names no site of its own with 400 (Django's `ALLOWED_HOSTS`, an nginx default server
/// that returns 400: scanners ask by address), a parked domain, a proxy whose application is
/// down. From then on those answers are read as refusals, since what the client asked for is
/// not served there either.
pub const SILENT_HOST: i64 = 5;

/// The learner's keys of what a host did as a whole, per [`kind`] (no technology or product
/// starts with a control character): it served one; how many it answered silently.
const SERVED_ANY: &str = "\u{1}served\u{1}";
const SILENT: &str = "\u{1}silent\u{1}";

/// Which of a host's two tallies `name` belongs to: technologies (what [`server_technology`]
/// names) or products (what `known_product` names). A rule asks for each in a call of its own,
/// and a call answers a whole batch before the next starts: kept apart, each call's keys see
/// their rows in record order.
fn kind(name: &str) -> &'static str {
    if EXTENSIONS.iter().any(|(_, t)| *t == name) {
        "technology"
    } else {
        "product"
    }
}

/// The learner's key for what `host` did as a whole (`what`: [`SERVED_ANY`] or [`SILENT`])
/// for the [`kind`] of `name`, written into `out`.
fn host_key(out: &mut String, host: Option<&str>, what: &str, name: &str) {
    key(out, host, what);
    out.push_str(kind(name));
}

/// The learner's key for a technology on a host, written into `out`: the host lower-cased,
/// without a port, cut to [`MAX_HOST`] bytes (an unknown host is its own site: a scanner asking
/// by address reaches the default server, which may run nothing).
fn key(out: &mut String, host: Option<&str>, technology: &str) {
    let host = host.unwrap_or("");
    let host = match host.rsplit_once(':') {
        // `[v6]:port` or `name:port`; a bare IPv6 address has more colons and no brackets.
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
        Some((h, port)) if h.ends_with(']') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    out.clear();
    out.extend(
        host[..host.floor_char_boundary(MAX_HOST)]
            .chars()
            .map(|c| c.to_ascii_lowercase()),
    );
    out.push('\0');
    out.push_str(technology);
}

/// Whether a request for `technology` on `host`, answered `status`, asks for a technology that
/// host never served, learning as it goes: a success teaches that the host runs it; a refusal
/// (`refused`: 403, 404, 410, 418, 444) for one it was never seen serving is `true`; so is a
/// redirect, a 400 or a server error from a host that answers everything so ([`SILENT_HOST`]);
/// so is a success of the size the host answers everything with ([`CATCH_ALL_PATHS`]; `bytes`
/// is the response size and `path` the request's path: unknown or small sizes never count);
/// anything else is `false`. `scratch` holds the key (one buffer for a whole batch, not an
/// allocation per row).
pub fn technology_unserved(
    learner: &mut EndpointLearner,
    scratch: &mut String,
    host: Option<&str>,
    technology: &str,
    status: i64,
    bytes: Option<i64>,
    path: &str,
) -> bool {
    let answer = answer(status);
    if answer == Answer::Other {
        return false;
    }
    if answer == Answer::Served && status != 304 {
        if let Some(bytes) = bytes.filter(|b| *b >= MIN_CATCH_ALL_BYTES) {
            if catch_all(learner, scratch, host, technology, bytes, path) {
                return true;
            }
        }
    }
    key(scratch, host, technology);
    match answer {
        Answer::Served => {
            learner.remember(scratch);
            host_key(scratch, host, SERVED_ANY, technology);
            learner.remember(scratch);
            false
        }
        Answer::NotThere => !learner.knows(scratch),
        Answer::Silent => {
            host_key(scratch, host, SERVED_ANY, technology);
            if learner.knows(scratch) {
                return false;
            }
            host_key(scratch, host, SILENT, technology);
            learner.tally(scratch) >= SILENT_HOST
        }
        Answer::Other => false,
    }
}

/// `technology_unserved(host, technology, status, response_bytes, path)`, answering from
/// `learner`: stateful (volatile), so every task gets its own instance bound to its own learner.
/// Null technology or status is null; a null host is the unnamed site; a null size is unknown, a
/// null path empty.
pub fn technology_unserved_udf(learner: Arc<Mutex<EndpointLearner>>) -> ScalarUDF {
    create_udf(
        TECHNOLOGY_UNSERVED,
        vec![
            DataType::Utf8,
            DataType::Utf8,
            DataType::Int64,
            DataType::Int64,
            DataType::Utf8,
        ],
        DataType::Boolean,
        Volatility::Volatile,
        Arc::new(move |args| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let host = arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
            let tech = arrow::compute::cast(&arrays[1], &DataType::Utf8)?;
            let status = arrow::compute::cast(&arrays[2], &DataType::Int64)?;
            let bytes = arrow::compute::cast(&arrays[3], &DataType::Int64)?;
            let path = arrow::compute::cast(&arrays[4], &DataType::Utf8)?;
            let (host, tech) = (host.as_string::<i32>(), tech.as_string::<i32>());
            let path = path.as_string::<i32>();
            let status = status.as_primitive::<Int64Type>();
            let bytes = bytes.as_primitive::<Int64Type>();
            let mut l = EndpointLearner::lock(&learner)?;
            let mut scratch = String::new();
            let out: BooleanArray = (0..tech.len())
                .map(|i| {
                    if tech.is_null(i) || status.is_null(i) {
                        return None;
                    }
                    let h = host.is_valid(i).then(|| host.value(i));
                    Some(technology_unserved(
                        &mut l,
                        &mut scratch,
                        h,
                        tech.value(i),
                        status.value(i),
                        bytes.is_valid(i).then(|| bytes.value(i)),
                        if path.is_valid(i) { path.value(i) } else { "" },
                    ))
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `technology_unserved` over one learner, as a rule's task runs it.
    fn site() -> impl FnMut(Option<&str>, &str, i64) -> bool {
        let mut learner = EndpointLearner::default();
        let mut scratch = String::new();
        move |host, tech, status| {
            technology_unserved(&mut learner, &mut scratch, host, tech, status, None, "/")
        }
    }

    #[test]
    fn a_technology_is_unserved_until_the_host_answers_it_with_success() {
        let mut unserved = site();
        let api = Some("api.shop.example");
        assert!(unserved(api, "php", 404));
        assert!(unserved(api, "php", 403));
        assert!(!unserved(api, "php", 500), "a 5xx says nothing");
        assert!(!unserved(api, "php", 301), "a redirect teaches nothing");
        assert!(unserved(api, "php", 410));
        assert!(!unserved(api, "php", 200));
        assert!(!unserved(api, "php", 404), "served once: runs it");
        assert!(!unserved(Some("API.shop.example:443"), "php", 404));
        assert!(unserved(api, "java", 404), "per technology");
        assert!(unserved(Some("203.0.113.9"), "php", 404), "per host");
        assert!(unserved(None, "php", 404));
        assert!(!unserved(None, "php", 304));
        assert!(!unserved(None, "php", 404));
    }

    #[test]
    fn hosts_are_compared_without_port_or_case_and_bounded() {
        let k = |host: &str| {
            let mut out = String::from("left over");
            key(&mut out, Some(host), "php");
            out
        };
        assert_eq!(k("Shop.Example:8443"), "shop.example\0php");
        assert_eq!(k("[2001:db8::1]:80"), "[2001:db8::1]\0php");
        assert_eq!(k("2001:db8::1"), "2001:db8::1\0php");
        assert!(k(&"é".repeat(400)).len() <= MAX_HOST + 4);
    }

    #[test]
    fn a_host_that_redirects_or_fails_everything_has_those_answers_read_as_refusals() {
        let mut unserved = site();
        let port80 = Some("shop.example:80");
        for (host, tech, status, silent, why) in [
            (port80, "php", 301, false, "the first redirect"),
            (port80, "php", 301, false, "the second"),
            (port80, "asp", 301, false, "the third"),
            (port80, "php", 301, false, "the fourth"),
            (port80, "java", 429, false, "a rate limit says something"),
            (port80, "java", 401, false, "so does a login prompt"),
            (port80, "wordpress", 301, false, "products: own tally"),
            (port80, "java", 302, true, "the fifth"),
            (Some("SHOP.Example"), "php", 301, true, "host, not port"),
            (port80, "php", 503, true, "5xx counts like 3xx"),
            (port80, "php", 400, true, "and so does 400"),
            (port80, "php", 304, false, "a 304 is a success"),
            (port80, "cgi", 301, false, "served: 3xx says nothing"),
            (port80, "cgi", 404, true, "refusals still count"),
        ] {
            assert_eq!(unserved(host, tech, status), silent, "{why}");
        }

        let blog = Some("blog.example");
        assert!(!unserved(blog, "php", 200));
        for tech in ["php", "java", "cgi", "asp", "php"] {
            assert!(
                !unserved(blog, tech, 301),
                "{tech}: a host that serves code"
            );
            assert!(
                !unserved(blog, tech, 500),
                "{tech}: a host that serves code"
            );
        }
        for _ in 0..4 {
            assert!(!unserved(blog, "fortinet-interface-probing", 301));
        }
        assert!(
            unserved(blog, "fortinet-interface-probing", 301),
            "a host that serves code but no product redirects every product's page"
        );
        assert!(!unserved(blog, "exchange", 200));
        assert!(
            !unserved(blog, "fortinet-interface-probing", 301),
            "now it serves one"
        );

        let down = Some("app.example");
        for status in [500, 502, 500, 504] {
            assert!(!unserved(down, "java", status));
        }
        assert!(unserved(down, "java", 500), "an application down");
    }

    #[test]
    fn a_host_refusing_every_request_by_address_with_400_has_those_answers_read_as_refusals() {
        let mut unserved = site();
        // A Django test server asked by address: `DisallowedHost`, 400, whatever the path.
        let django = Some("54.68.96.53:8080");
        let tomcat = "apache-tomcat-manager-login-probing";
        for tech in [tomcat, "php", "php", "cgi", "php"] {
            assert!(
                !unserved(django, tech, 400),
                "{tech}: not known to answer all so yet"
            );
        }
        for _ in 0..3 {
            assert!(!unserved(django, tomcat, 400));
        }
        assert!(
            unserved(django, tomcat, 400),
            "the fifth product request so"
        );
        assert!(
            unserved(django, "java", 400),
            "code keeps a tally of its own"
        );

        // A site that serves its code: a 400 (a browser's cookies outgrowing the header
        // buffers) says nothing there.
        let shop = Some("shop.example");
        assert!(!unserved(shop, "php", 200));
        for _ in 0..6 {
            assert!(!unserved(shop, "php", 400));
        }
    }

    #[test]
    fn a_host_answering_everything_with_one_page_has_that_page_read_as_a_refusal() {
        let mut learner = EndpointLearner::default();
        let mut scratch = String::new();
        let mut unserved = |host, tech, status, bytes, path| {
            technology_unserved(&mut learner, &mut scratch, host, tech, status, bytes, path)
        };
        let spa = Some("app.example");
        for (tech, status, bytes, path, want, why) in [
            (
                "php",
                200,
                Some(1337),
                "/wp-login.php",
                false,
                "the first success: learned",
            ),
            (
                "php",
                200,
                Some(1337),
                "/wp-login.php",
                false,
                "the same path again",
            ),
            (
                "php",
                200,
                Some(1337),
                "/xmlrpc.php",
                false,
                "a second path of that size",
            ),
            (
                "php",
                200,
                Some(1337),
                "/admin.php",
                true,
                "a third: one page for everything",
            ),
            (
                "php",
                200,
                Some(1337),
                "/wp-login.php",
                true,
                "then every path of that size",
            ),
            (
                "cgi",
                200,
                Some(1337),
                "/cgi-bin/x.cgi",
                true,
                "whatever the technology",
            ),
            (
                "cgi",
                404,
                None,
                "/y.cgi",
                true,
                "not learned from the page: a refusal counts",
            ),
            (
                "php",
                404,
                None,
                "/z.php",
                false,
                "learned before the page was known",
            ),
            (
                "php",
                200,
                Some(689),
                "/a.php",
                false,
                "the page compressed: a size of its own",
            ),
            ("php", 200, Some(689), "/b.php", false, "..."),
            (
                "php",
                200,
                Some(689),
                "/c.php",
                true,
                "learned the same way",
            ),
            (
                "java",
                304,
                Some(0),
                "/d.jsp",
                false,
                "a 304 says the page is there",
            ),
            (
                "php",
                200,
                Some(7311),
                "/e.php",
                false,
                "another size: a page",
            ),
        ] {
            assert_eq!(unserved(spa, tech, status, bytes, path), want, "{why}");
        }

        let api = Some("api.example");
        for (tech, bytes, path) in [
            ("php", Some(2), "/health.php"),
            ("cgi", Some(2), "/health.cgi"),
            ("java", Some(2), "/health.jsp"),
            ("php", Some(2), "/ping.php"),
            ("php", Some(0), "/a.php"),
            ("php", Some(0), "/b.php"),
            ("php", Some(0), "/c.php"),
            ("php", None, "/d.php"),
        ] {
            assert!(
                !unserved(api, tech, 200, bytes, path),
                "{path}: small or unknown sizes"
            );
        }
        assert!(
            !unserved(Some("other.example"), "cgi", 200, Some(1337), "/x.cgi"),
            "per host"
        );
        let crm = Some("crm.example");
        assert!(
            !unserved(crm, "java", 200, Some(5120), "/crm/home.do"),
            "a page"
        );
        for path in ["/crm/a.do", "/crm/b.do", "/crm/c.do", "/crm/d.do"] {
            assert!(
                !unserved(crm, "java", 200, Some(2214), path),
                "{path}: a login page answered in place of protected pages, on a site whose Java \
                 pages have sizes of their own"
            );
        }
        assert!(
            unserved(crm, "php", 200, Some(2214), "/x.php"),
            "but PHP it never served otherwise"
        );
        let fresh = Some("fresh.example");
        for path in [
            "/wp-admin/setup-config.php",
            "/wp-admin/setup-config.php/",
            "/wp-admin/setup-config.php/xmlrpc.php",
            "/wp-admin/SETUP-CONFIG.PHP/wp-json/wp/v2/users/",
            "/WP-ADMIN/setup-config.php",
        ] {
            assert!(
                !unserved(fresh, "php", 200, Some(3314), path),
                "{path}: one script, whatever its path info"
            );
        }
        assert!(
            !unserved(spa, "wordpress", 200, Some(1337), "/wp-includes/x"),
            "products keep their own tally"
        );
    }

    /// The pack rule's prefilter admits exactly the extensions named here.
    #[test]
    fn the_rule_prefilter_knows_every_extension() {
        let rule: toml::Value =
            toml::from_str(include_str!("../../pack/unserved-technology-probe.toml")).unwrap();
        let pattern = rule["params"]["server_code_regex"].as_str().unwrap();
        let re = regex::Regex::new(pattern).unwrap();
        for (ext, _) in EXTENSIONS {
            let path = format!("/a/b.{ext}");
            assert!(re.is_match(&path), "{path}");
            assert!(re.is_match(&format!("{path};jsessionid=1")), "{path}");
        }
        for path in [
            "/a/b.js",
            "/a.php/b",
            "/a/b.phpx",
            "/a/b.json",
            "/a/do",
            "/a/b.pdf",
        ] {
            assert!(!re.is_match(path), "{path}");
        }
    }

    #[test]
    fn technologies() {
        for (path, want) in [
            ("/xmlrpc.php", Some("php")),
            ("/shell.PHP7", Some("php")),
            ("/owa/auth/logon.aspx", Some("aspnet")),
            ("/default.asp", Some("asp")),
            ("/login.action", Some("java")),
            ("/struts2-showcase/index.do", Some("java")),
            ("/cgi-bin/tools/tools.pl", Some("cgi")),
            ("/setup.cgi?next_file=netgear.cfg", Some("cgi")),
            ("/CFIDE/administrator/index.cfm", Some("coldfusion")),
            ("/backup.tar.gz", None),
            ("/api/v1/orders/42", None),
            ("/x.phpinfo", None),
            ("/x.php;a.b", Some("php")),
            ("/x.;jsessionid=1", None),
        ] {
            assert_eq!(server_technology(path), want, "{path}");
        }
    }
}
