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
mod refusal;
use catch_all::{catch_all, learn_home, learn_small, MAX_HOMES};
pub use catch_all::{CATCH_ALL_PATHS, MIN_CATCH_ALL_BYTES};
use refusal::refusal_page;
pub use refusal::REFUSAL_PATHS;

/// What a rule passes as the technology of a request for a host's home page (`/` with no
/// query) in its call for products' endpoints ([`HOME_PAGE_TECHNOLOGIES`] in its call for
/// technologies): the page's size is learned, never judged. A host that answers every path with
/// its home page answers a scanner's first probe with that page's size, before three paths
/// taught [`CATCH_ALL_PATHS`]: such an answer counts as a refusal from the start (the home page
/// answered, not what the path names). Each call learns the home page under its own keys, in
/// its own rows' order.
pub const HOME_PAGE_PRODUCTS: &str = "home-page-products";
/// What a rule passes as the technology of a request for a host's home page in its call for
/// technologies (see [`HOME_PAGE_PRODUCTS`]).
pub const HOME_PAGE_TECHNOLOGIES: &str = "home-page-technologies";
/// What a rule passes, in its call for products' endpoints, for a request whose path names
/// none (nor is the home page): its `400` is learned ([`REFUSAL_PATHS`]: the page of a server
/// refusing every request that names no site of its own), never judged.
/// [`OTHER_PATH_TECHNOLOGIES`] is the same in the call for technologies.
pub const OTHER_PATH_PRODUCTS: &str = "other-path-products";
/// What a rule passes, in its call for technologies, for a request whose path names none (see
/// [`OTHER_PATH_PRODUCTS`]).
pub const OTHER_PATH_TECHNOLOGIES: &str = "other-path-technologies";

/// The name of the stateful helper: filters calling it are evaluated per task, in record order,
/// with a learner of their own (see `crate::filter`).
pub const TECHNOLOGY_UNSERVED: &str = "technology_unserved";

/// Host names longer than this are cut (DNS allows 253 bytes; the Host header is the client's).
const MAX_HOST: usize = 253;

/// Path (and address) bytes kept in a learner's key (longer ones are cut: a scanner's paths
/// are short, and a cut path is still one path).
const MAX_PATH: usize = 256;

/// Appends `text` to `out`, cut to `max` bytes (at a character boundary) and lower-cased: the
/// learner's keys hold hosts, paths and addresses that clients write, of any length and case.
fn push_lower(out: &mut String, text: &str, max: usize) {
    out.extend(
        text[..text.floor_char_boundary(max)]
            .chars()
            .map(|c| c.to_ascii_lowercase()),
    );
}

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
    /// as a whole request, or failed), unless the host answers everything so; and 401 for
    /// server code (a site behind a password for every path), not for a product's endpoint
    /// (a console's own password prompt says it is there).
    Silent,
    /// Anything else (1xx, 405, 429, 401 for a product ...): neither.
    Other,
}

fn answer(status: i64, technology: &str) -> Answer {
    match status {
        200..=299 | 304 => Answer::Served,
        300..=399 | 400 | 500..=599 => Answer::Silent,
        401 if kind(technology) == "technology" => Answer::Silent,
        s if super::status::refused(s) => Answer::NotThere,
        _ => Answer::Other,
    }
}

/// A host that answered this many requests for server code (or for products' endpoints) with
/// redirects, 400 or server errors, or this many requests for its home page in a row with a
/// server error (or 401, for code: see [`home_errors`]), and never a request for code (or a
/// product) with success, answers everything so: a
/// plain-HTTP listener sending every request on to HTTPS, a server refusing every request
/// that names no site of its own with 400 (Django's `ALLOWED_HOSTS`, an nginx default server
/// that returns 400: scanners ask by address), a parked domain, a proxy whose application is
/// down. From then on those answers are read as refusals, since what the client asked for is
/// not served there either.
pub const SILENT_HOST: i64 = 3;

/// The learner's keys of what a host did as a whole, per [`kind`] (no technology or product
/// starts with a control character): it served one; how many it answered silently.
const SERVED_ANY: &str = "\u{1}served\u{1}";
const SILENT: &str = "\u{1}silent\u{1}";
/// The learner's key, per host and [`kind`], of the home page's errors since its last success
/// ([`home_errors`]), and (per kind, no host) of how many hosts have one.
const HOME_ERRORS: &str = "\u{1}homeerrors\u{1}";
const HOME_ERROR_HOSTS: &str = "\u{1}homeerrorhosts\u{1}";

/// Counts the home page's errors on `host` (`marker` names the [`kind`]): a proxy whose
/// application is down answers `/` 502 to every visitor long before a scanner's third request
/// for code, and tells the host answers everything so ([`SILENT_HOST`] in a row). Server errors,
/// and 401 for code (a site behind a password); not 400, which any healthy site answers `/` now
/// and then (plain HTTP sent to its HTTPS port, headers too large), nor redirects, which many
/// sites answer `/` with. A success of the home page starts the count again: a site that was
/// down for a while and came back answers again. Counted for the first [`MAX_HOMES`] hosts a
/// task sees with such errors (a flood of ever new `Host` names adds no keys past them).
fn home_errors(
    learner: &mut EndpointLearner,
    scratch: &mut String,
    host: Option<&str>,
    marker: &str,
    status: i64,
    answer: Answer,
) {
    host_key(scratch, host, HOME_ERRORS, marker);
    if answer == Answer::Served {
        if learner.count(scratch) > 0 {
            learner.set(scratch, 0);
        }
        return;
    }
    if answer != Answer::Silent || status < 401 {
        return;
    }
    if !learner.knows(scratch) {
        host_key(scratch, None, HOME_ERROR_HOSTS, marker);
        if learner.count(scratch) >= MAX_HOMES {
            return;
        }
        learner.tally(scratch);
        host_key(scratch, host, HOME_ERRORS, marker);
    }
    learner.tally(scratch);
}

/// Which of a host's two tallies `name` belongs to: technologies (what [`server_technology`]
/// names) or products (what `known_product` names). A rule asks for each in a call of its own,
/// and a call answers a whole batch before the next starts: kept apart, each call's keys see
/// their rows in record order.
fn kind(name: &str) -> &'static str {
    if name == HOME_PAGE_TECHNOLOGIES
        || name == OTHER_PATH_TECHNOLOGIES
        || EXTENSIONS.iter().any(|(_, t)| *t == name)
    {
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
    push_lower(out, host, MAX_HOST);
    out.push('\0');
    out.push_str(technology);
}

/// One answered request, as [`technology_unserved`] reads it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reply<'a> {
    /// The response status.
    pub status: i64,
    /// The response size, when known (a rule passes none for an empty answer to a method other
    /// than `GET`: see [`technology_unserved`]).
    pub bytes: Option<i64>,
    /// The request's path (empty when unknown).
    pub path: &'a str,
    /// The client's address, when known: a `400` page is learned only from more than one
    /// client ([`REFUSAL_PATHS`]).
    pub client: Option<&'a str>,
}

/// Whether a request for `technology` on `host`, answered `status`, asks for a technology that
/// host never served, learning as it goes: a success teaches that the host runs it; a refusal
/// (`refused`: 403, 404, 410, 418, 444) for one it was never seen serving is `true`; so is a
/// redirect, a 400 or a server error from a host that answers everything so ([`SILENT_HOST`]);
/// so is a `400` of the size the host answers every request naming no site of its own with
/// ([`REFUSAL_PATHS`]); so is a success of the size the host answers everything with
/// ([`CATCH_ALL_PATHS`]; `bytes` is the response size and `path` the request's path: unknown or
/// small non-empty sizes never count, an empty answer does); anything else is `false`.
/// `scratch` holds the key (one buffer for a whole batch, not an allocation per row).
pub fn technology_unserved(
    learner: &mut EndpointLearner,
    scratch: &mut String,
    host: Option<&str>,
    technology: &str,
    reply: Reply<'_>,
) -> bool {
    let Reply {
        status,
        bytes,
        path,
        ..
    } = reply;
    let answer = answer(status, technology);
    if technology == OTHER_PATH_PRODUCTS || technology == OTHER_PATH_TECHNOLOGIES {
        refusal_page(learner, scratch, host, technology, reply);
        return false;
    }
    if technology == HOME_PAGE_PRODUCTS || technology == HOME_PAGE_TECHNOLOGIES {
        if let Some(bytes) = bytes.filter(|_| answer == Answer::Served && status != 304) {
            learn_home(learner, scratch, host, technology, bytes);
        }
        refusal_page(learner, scratch, host, technology, reply);
        home_errors(learner, scratch, host, technology, status, answer);
        return false;
    }
    // The host's page for requests naming no site of its own: a refusal, whatever the host
    // serves to those naming it.
    let answer = if refusal_page(learner, scratch, host, technology, reply) {
        Answer::NotThere
    } else {
        answer
    };
    if answer == Answer::Other {
        return false;
    }
    if answer == Answer::Served && status != 304 {
        match bytes {
            Some(bytes) if bytes > 0 && bytes < MIN_CATCH_ALL_BYTES => {
                learn_small(learner, scratch, host, technology)
            }
            // An empty answer is a page only as a 200 (a 204 says there is nothing to send).
            Some(bytes)
                if (bytes >= MIN_CATCH_ALL_BYTES || (bytes == 0 && status == 200))
                    && catch_all(learner, scratch, host, technology, bytes, path) =>
            {
                return true
            }
            _ => {}
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
            if learner.tally(scratch) >= SILENT_HOST {
                return true;
            }
            host_key(scratch, host, HOME_ERRORS, technology);
            learner.count(scratch) >= SILENT_HOST
        }
        Answer::Other => false,
    }
}

/// `technology_unserved(host, technology, status, response_bytes, path, client_ip)`, answering
/// from `learner`: stateful (volatile), so every task gets its own instance bound to its own
/// learner. Null technology or status is null; a null host is the unnamed site; a null size is
/// unknown, a null path empty, a null client one client.
pub fn technology_unserved_udf(learner: Arc<Mutex<EndpointLearner>>) -> ScalarUDF {
    create_udf(
        TECHNOLOGY_UNSERVED,
        vec![
            DataType::Utf8,
            DataType::Utf8,
            DataType::Int64,
            DataType::Int64,
            DataType::Utf8,
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
            let client = arrow::compute::cast(&arrays[5], &DataType::Utf8)?;
            let (host, tech) = (host.as_string::<i32>(), tech.as_string::<i32>());
            let (path, client) = (path.as_string::<i32>(), client.as_string::<i32>());
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
                    let reply = Reply {
                        status: status.value(i),
                        bytes: bytes.is_valid(i).then(|| bytes.value(i)),
                        path: if path.is_valid(i) { path.value(i) } else { "" },
                        client: client.is_valid(i).then(|| client.value(i)),
                    };
                    Some(technology_unserved(
                        &mut l,
                        &mut scratch,
                        h,
                        tech.value(i),
                        reply,
                    ))
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

#[cfg(test)]
mod tests;
