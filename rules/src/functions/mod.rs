//! Helper functions shared by SQL rules (as DataFusion UDFs/UDAFs, see [`udf`]) and Rhai
//! scripts (see [`crate::script`]). The logic lives here once, so a threshold means the same
//! thing whichever language a rule is written in.

pub mod classifier;
pub mod collect;
pub mod container;
pub mod form;
pub mod injected;
pub mod memo;
pub mod openapi;
pub(crate) mod probe;
pub mod product;
pub mod registry;
pub mod sequence;
mod shell;
pub mod status;
pub mod technology;
pub mod ua;
pub mod udf;

use std::net::IpAddr;

pub use container::container_api;
pub use gatewatch_ingest::route::route_template;
pub use injected::injected_code;
pub use openapi::{api_spec_status, set_api_spec, with_api_spec, ApiSpec, EndpointLearner};
pub(crate) use probe::normalize_path;
pub use probe::{
    backup_copy, counterfeit_agent, linked, normalized_path, probe_class, self_referred,
};
pub use ua::verify::{crawler_verified, set_crawler_ranges, CrawlerRanges};
pub use ua::{ua_class, verifiable_crawlers, UaClass, VerifiableCrawler};

/// Builds the process's lazy lists (user-agent lists, bot and AI signals, attack tools, probe
/// words: ~215M instructions, some 50 ms) now rather than when the first batch needs them.
/// `gatewatch run` calls it on a thread of its own as it starts, so the work overlaps compiling
/// the rules instead of holding up the first batch. Idempotent, and any thread may call it.
pub fn prepare_lists() {
    ua::prepare();
    probe::prepare();
    product::prepare();
    injected::prepare();
}

/// [`case_insensitive_matcher`] as a DFA whatever the pattern count: for a few hundred short
/// patterns searched on every row. The library's own choice switches to a slower NFA past 100
/// patterns (measured: +3% instructions of the whole pack when the probe patterns passed 100).
pub(crate) fn case_insensitive_dfa(patterns: &[String]) -> aho_corasick::AhoCorasick {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build(patterns)
        .unwrap_or_else(|_| case_insensitive_matcher(patterns))
}

/// An ASCII-case-insensitive multi-pattern matcher over word lists (an empty one if the
/// lists cannot be compiled, so a bad list disables a class rather than failing rules).
pub(crate) fn case_insensitive_matcher(patterns: &[String]) -> aho_corasick::AhoCorasick {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(patterns)
        .unwrap_or_else(|_| {
            aho_corasick::AhoCorasick::new(Vec::<String>::new()).expect("empty automaton")
        })
}

/// Longest run of consecutive integers among `ids` (duplicates count once): the signature of
/// a client walking object ids. `[7, 3, 4, 5, 5, 9]` -> 3.
///
/// ```
/// assert_eq!(gatewatch_rules::functions::longest_id_run(vec![7, 3, 4, 5, 5, 9]), 3);
/// assert_eq!(gatewatch_rules::functions::longest_id_run(vec![]), 0);
/// ```
pub fn longest_id_run(mut ids: Vec<i64>) -> i64 {
    ids.sort_unstable();
    ids.dedup();
    let (mut best, mut run) = (0i64, 0i64);
    for (i, id) in ids.iter().enumerate() {
        run = if i > 0 && ids[i - 1].checked_add(1) == Some(*id) {
            run + 1
        } else {
            1
        };
        best = best.max(run);
    }
    best
}

/// Whether `ip` is inside `cidr` (`10.0.0.0/8`, `2001:db8::/32`, or a bare address). Anything
/// unparsable is simply not contained.
///
/// ```
/// use gatewatch_rules::functions::cidr_contains;
/// assert!(cidr_contains("198.51.100.0/24", "198.51.100.7"));
/// assert!(!cidr_contains("198.51.100.0/24", "198.51.101.7"));
/// assert!(cidr_contains("2001:db8::/32", "2001:db8:1::1"));
/// ```
pub fn cidr_contains(cidr: &str, ip: &str) -> bool {
    let (net, bits) = match cidr.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (cidr, None),
    };
    match (net.trim().parse::<IpAddr>(), ip.trim().parse::<IpAddr>()) {
        (Ok(IpAddr::V4(n)), Ok(IpAddr::V4(a))) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (Ok(IpAddr::V6(n)), Ok(IpAddr::V6(a))) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// Whether a client address belongs to a private network: RFC 1918, IPv4 link-local
/// (169.254/16) and the shared address space of carrier-grade NAT (100.64/10, RFC 6598: a
/// carrier's own subscribers, never routed on the internet), also written as an IPv4-mapped
/// IPv6 address (`::ffff:10.0.0.1`), IPv6 unique-local (fc00::/7) and link-local (fe80::/10, a
/// `%zone` allowed). Loopback is not: `127.0.0.1` is as often a local proxy relaying someone
/// else. Anything that does not parse as an address is not private (a client field taken from
/// a forged `X-Forwarded-For`, such as `10.evil`), so a rule that spares private clients cannot
/// be talked into sparing it.
///
/// ```
/// use gatewatch_rules::functions::private_address;
/// assert!(private_address("192.168.1.3"));
/// assert!(private_address("::ffff:172.20.4.1"));
/// assert!(private_address("fd12:3456:789a::5"));
/// assert!(private_address("fe80::1%eth0"));
/// assert!(private_address("100.72.14.9"));
/// assert!(!private_address("100.128.0.1"));
/// assert!(!private_address("172.32.0.9"));
/// assert!(!private_address("127.0.0.1"));
/// assert!(!private_address("10.evil"));
/// assert!(!private_address("2001:db8::1"));
/// ```
pub fn private_address(ip: &str) -> bool {
    let ip = ip.trim();
    let v4 = |a: std::net::Ipv4Addr| {
        let [first, second, ..] = a.octets();
        a.is_private() || a.is_link_local() || (first == 100 && second & 0xc0 == 0x40)
    };
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => v4(a),
        Ok(IpAddr::V6(a)) => a.to_ipv4_mapped().map_or_else(
            || {
                let first = a.segments()[0];
                first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfe80
            },
            v4,
        ),
        // A zone index (`fe80::1%eth0`) is only valid on a link-local address.
        Err(_) => ip.split_once('%').is_some_and(|(addr, zone)| {
            !zone.is_empty()
                && addr
                    .parse::<std::net::Ipv6Addr>()
                    .is_ok_and(|a| a.segments()[0] & 0xffc0 == 0xfe80)
        }),
    }
}

/// Shannon entropy of a string's bytes, in bits per byte: random tokens score high (> 4),
/// words and repeated characters low.
///
/// ```
/// use gatewatch_rules::functions::shannon_entropy;
/// assert_eq!(shannon_entropy("aaaa"), 0.0);
/// assert_eq!(shannon_entropy("ab"), 1.0);
/// ```
pub fn shannon_entropy(s: &str) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// The file extension of a request path (Sigma's `c-uri-extension`), lower-cased: what follows
/// the last `.` of the last segment, without the query, the fragment or `;` path parameters
/// (`login.jsp;jsessionid=...`); `None` when the segment has no dot or ends with one.
///
/// ```
/// use gatewatch_rules::functions::url_extension;
/// assert_eq!(url_extension("/wp-login.php").as_deref(), Some("php"));
/// assert_eq!(url_extension("/a.b/c"), None);
/// assert_eq!(url_extension("/backup.tar.gz?x=1").as_deref(), Some("gz"));
/// assert_eq!(url_extension("/x."), None);
/// assert_eq!(url_extension("/img/LOGO.PNG").as_deref(), Some("png"));
/// assert_eq!(url_extension("/login.jsp;jsessionid=1A.2").as_deref(), Some("jsp"));
/// ```
pub fn url_extension(path: &str) -> Option<std::borrow::Cow<'_, str>> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let segment = path.rsplit('/').next().unwrap_or(path);
    let segment = segment.split(';').next().unwrap_or(segment);
    match segment.rsplit_once('.') {
        Some((_, ext)) if !ext.is_empty() => {
            Some(match ext.bytes().any(|b| b.is_ascii_uppercase()) {
                true => std::borrow::Cow::Owned(ext.to_ascii_lowercase()),
                false => std::borrow::Cow::Borrowed(ext),
            })
        }
        _ => None,
    }
}

/// The shape of a query string: the query with every parameter's value removed, names and
/// order kept (`page=3&sort=new` -> `page=&sort=`). A parameter without `=` (a bare token,
/// `?8890121518`) is its own shape. Applications reuse a few shapes whatever the values;
/// cache-busting floods make up a new one per request.
///
/// ```
/// use gatewatch_rules::functions::query_shape;
/// assert_eq!(query_shape("page=3&sort=new"), "page=&sort=");
/// assert_eq!(query_shape("8890121518"), "8890121518");
/// assert_eq!(query_shape("a=1&&b&c=x=y"), "a=&&b&c=");
/// ```
pub fn query_shape(query: &str) -> String {
    let mut out = String::with_capacity(query.len().min(64));
    for (i, param) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match param.split_once('=') {
            Some((name, _)) => {
                out.push_str(name);
                out.push('=');
            }
            None => out.push_str(param),
        }
    }
    out
}

/// Coefficient of variation (stddev / mean) of the gaps between sorted event times: near 0 for
/// machine-regular clients (a scraper on a timer), around 1 for human or Poisson-like traffic.
/// `None` with fewer than 3 events or when all events share one instant.
///
/// ```
/// use gatewatch_rules::functions::interarrival_cv;
/// assert_eq!(interarrival_cv(vec![0, 1000, 2000, 3000]), Some(0.0));
/// assert_eq!(interarrival_cv(vec![0, 10]), None);
/// ```
pub fn interarrival_cv(mut times: Vec<i64>) -> Option<f64> {
    if times.len() < 3 {
        return None;
    }
    times.sort_unstable();
    let gaps: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    if mean <= 0.0 {
        return None;
    }
    let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
    Some(var.sqrt() / mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_runs() {
        assert_eq!(longest_id_run((100..150).chain([7, 9, 11]).collect()), 50);
        assert_eq!(longest_id_run(vec![i64::MAX, i64::MAX - 1]), 2);
    }

    #[test]
    fn cidr_edges() {
        assert!(cidr_contains("0.0.0.0/0", "8.8.8.8"));
        assert!(cidr_contains("10.1.2.3", "10.1.2.3"));
        assert!(!cidr_contains("10.0.0.0/8", "::1"));
        assert!(!cidr_contains("garbage", "10.0.0.1"));
    }

    #[test]
    fn regular_timing_has_low_cv() {
        let human = vec![0, 400, 5000, 5200, 13000, 13100, 30000];
        assert!(interarrival_cv(human).unwrap() > 0.8);
        assert!(interarrival_cv((0..50).map(|i| i * 500 + (i % 3)).collect()).unwrap() < 0.01);
    }

    #[test]
    fn entropy_separates_tokens_from_words() {
        assert!(shannon_entropy("aZ3kQ9xL2mP7vB4nR8tY") > 4.0);
        assert!(shannon_entropy("password") < 3.0);
    }
}
