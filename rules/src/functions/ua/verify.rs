//! Crawler impersonation: a user agent claiming a crawler whose operator publishes its
//! addresses (Googlebot, GPTBot, bingbot, ...), sent from outside those addresses.
//!
//! Ranges come from files the operator refreshes (`--crawler-ranges DIR`, one file per crawler
//! named by its well-known-bots id, in the format the vendor publishes: JSON with prefixes, or
//! text/CSV with one prefix or address per line). No reverse-DNS lookups happen in the
//! pipeline: the attacker controls the PTR records of its own addresses, and a replay a week
//! later would answer differently.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

use ipnet::IpNet;

use super::lists::lists;
use super::{remember, remembered, Remembered};

/// The published address ranges of verifiable crawlers, by well-known-bots id: per crawler,
/// merged into disjoint prefixes sorted by address, so a lookup is one binary search however
/// many prefixes a vendor publishes (every request claiming Googlebot is checked).
#[derive(Debug, Default, Clone)]
pub struct CrawlerRanges {
    by_id: HashMap<String, Vec<IpNet>>,
}

/// Whether `addr` is in `nets` (disjoint, sorted by network address).
fn contains(nets: &[IpNet], addr: IpAddr) -> bool {
    let after = nets.partition_point(|n| n.network() <= addr);
    after > 0 && nets[after - 1].contains(&addr)
}

/// Most prefixes one crawler's file may hold (Google publishes a few hundred).
const MAX_PREFIXES: usize = 100_000;

impl CrawlerRanges {
    /// Reads every file of `dir`: `<id>.json`, `<id>.txt`, `<id>.csv` or `<id>.<n>.<ext>` for a
    /// crawler with several sources, where `<id>` is a crawler of
    /// [`super::super::verifiable_crawlers`] (`gatewatch rules crawlers` lists them).
    pub fn load_dir(dir: &Path) -> Result<CrawlerRanges, String> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            format!(
                "cannot read crawler ranges directory {}: {e}",
                dir.display()
            )
        })?;
        let mut ranges = CrawlerRanges::default();
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths.iter().filter(|p| p.is_file()) {
            let name = path.file_name().and_then(|s| s.to_str()).unwrap_or("");
            if name.starts_with('.') {
                continue; // editor and ConfigMap bookkeeping files
            }
            let id = name.split('.').next().unwrap_or("");
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            ranges
                .add(id, &text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(ranges)
    }

    /// Adds the ranges of crawler `id` from a vendor's file (JSON or text/CSV).
    pub fn add(&mut self, id: &str, text: &str) -> Result<(), String> {
        if !lists().verifiable.iter().any(|c| c.id == id) {
            let known: Vec<&str> = lists().verifiable.iter().map(|c| c.id.as_str()).collect();
            return Err(format!(
                "`{id}` is not a crawler with published ranges; name the file after one of: {} \
                 (`gatewatch rules crawlers` lists them with their sources)",
                known.join(", ")
            ));
        }
        let nets = parse_prefixes(text)?;
        if nets.is_empty() {
            return Err("no IP prefix or address found (expected JSON with prefixes, or one prefix per line)".into());
        }
        let all = self.by_id.entry(id.to_owned()).or_default();
        all.extend(nets);
        let mut merged = IpNet::aggregate(all);
        merged.sort_by_key(|n| n.network());
        *all = merged;
        Ok(())
    }

    /// Number of crawlers with ranges.
    pub fn crawlers(&self) -> usize {
        self.by_id.len()
    }

    /// Number of prefixes over all crawlers.
    pub fn prefixes(&self) -> usize {
        self.by_id.values().map(Vec::len).sum()
    }
}

/// Every IP prefix or address in a vendor's file: any JSON string that parses as one (Google's,
/// Bing's and OpenAI's `{"prefixes": [{"ipv4Prefix": ...}]}` alike), else the first field of
/// each non-comment line of text or CSV.
fn parse_prefixes(text: &str) -> Result<Vec<IpNet>, String> {
    let parse = |s: &str| -> Option<IpNet> {
        let s = s.trim();
        s.parse::<IpNet>()
            .ok()
            .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
    };
    let mut out = Vec::new();
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
        let mut stack = vec![&json];
        while let Some(v) = stack.pop() {
            match v {
                serde_json::Value::String(s) => out.extend(parse(s)),
                serde_json::Value::Array(a) => stack.extend(a),
                serde_json::Value::Object(o) => stack.extend(o.values()),
                _ => {}
            }
            if out.len() > MAX_PREFIXES {
                return Err(format!("more than {MAX_PREFIXES} prefixes"));
            }
        }
        return Ok(out);
    }
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line.split([',', ' ', '\t', ';']).next().unwrap_or("");
        out.extend(parse(first));
        if out.len() > MAX_PREFIXES {
            return Err(format!("more than {MAX_PREFIXES} prefixes"));
        }
    }
    Ok(out)
}

fn registry() -> &'static RwLock<Option<Arc<CrawlerRanges>>> {
    static R: OnceLock<RwLock<Option<Arc<CrawlerRanges>>>> = OnceLock::new();
    R.get_or_init(|| RwLock::new(None))
}

/// Installs the ranges `crawler_verified()` checks against (`None`: every claim is
/// `unverified`).
pub fn set_crawler_ranges(ranges: Option<CrawlerRanges>) {
    if let Ok(mut r) = registry().write() {
        *r = ranges.map(Arc::new);
    }
}

/// The verifiable crawler a user agent claims to be, if any (index into the list; remembered
/// per thread for the user agents seen last).
fn claimed(ua: &str) -> Option<usize> {
    thread_local! {
        static SEEN: Remembered<Option<usize>> = remembered();
    }
    remember(&SEEN, ua, |ua| {
        lists().verifiable_patterns.matches(ua).iter().next()
    })
}

/// Whether a user agent claims a crawler whose address ranges can be published: only then
/// does `crawler_verified` look at the address.
pub(crate) fn claims_verifiable(ua: &str) -> bool {
    claimed(ua).is_some()
}

/// Whether a client claiming a verifiable crawler really is it: `verified` (the address is in
/// the crawler's published ranges), `spoofed` (it is not, or the address is missing or
/// unparsable), `unverified` (no ranges loaded for that crawler), or `None` when the user agent
/// claims no such crawler.
///
/// ```
/// use gatewatch_rules::functions::{crawler_verified, set_crawler_ranges, CrawlerRanges};
/// let mut ranges = CrawlerRanges::default();
/// ranges.add("google-crawler", r#"{"prefixes": [{"ipv4Prefix": "192.0.2.0/24"}]}"#).unwrap();
/// set_crawler_ranges(Some(ranges));
/// let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
/// assert_eq!(crawler_verified(googlebot, "192.0.2.7"), Some("verified"));
/// assert_eq!(crawler_verified(googlebot, "203.0.113.9"), Some("spoofed"));
/// assert_eq!(crawler_verified(googlebot, "not-an-address"), Some("spoofed"));
/// assert_eq!(crawler_verified("curl/8.5.0", "203.0.113.9"), None);
/// ```
pub fn crawler_verified(ua: &str, ip: &str) -> Option<&'static str> {
    let index = claimed(ua)?;
    let id = &lists().verifiable.get(index)?.id;
    let guard = registry().read().ok()?;
    let Some(nets) = guard.as_ref().and_then(|r| r.by_id.get(id)) else {
        return Some("unverified");
    };
    // A real crawler always has an address: a claim from no valid address is not verified,
    // it is spoofed (fail closed).
    let verified = ip.trim().parse::<IpAddr>().is_ok_and(|a| contains(nets, a));
    Some(if verified { "verified" } else { "spoofed" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_formats_parse() {
        let google = r#"{"creationTime": "2026-11-30T00:00:00", "prefixes": [{"ipv6Prefix": "2001:db8:4801::/48"}, {"ipv4Prefix": "192.0.2.0/27"}]}"#;
        assert_eq!(parse_prefixes(google).unwrap().len(), 2);
        let text = "# probes\n198.51.100.7\n198.51.100.8\n\n2001:db8::1\n";
        assert_eq!(parse_prefixes(text).unwrap().len(), 3);
        let geofeed = "203.0.113.0/24,US,US-CA,Menlo Park,\n2001:db8:f::/48,IE,,Dublin,\n";
        assert_eq!(parse_prefixes(geofeed).unwrap().len(), 2);
    }

    #[test]
    fn lookups_find_every_prefix_after_merging() {
        let mut r = CrawlerRanges::default();
        r.add(
            "google-crawler",
            "192.0.2.0/25\n192.0.2.128/25\n198.51.100.7\n2001:db8::/32\n10.0.0.0/8\n",
        )
        .unwrap();
        let nets = &r.by_id["google-crawler"];
        assert_eq!(nets.len(), 4, "{nets:?}: the two /25 merge");
        for ip in [
            "192.0.2.1",
            "192.0.2.200",
            "198.51.100.7",
            "2001:db8::9",
            "10.9.9.9",
        ] {
            assert!(contains(nets, ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "192.0.3.1",
            "198.51.100.8",
            "2001:db9::1",
            "9.255.255.255",
            "::1",
        ] {
            assert!(!contains(nets, ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn unknown_ids_and_empty_files_are_errors_that_say_what_to_do() {
        let mut r = CrawlerRanges::default();
        let err = r.add("googlebot", "192.0.2.0/24").unwrap_err();
        assert!(err.contains("google-crawler"), "{err}");
        let err = r.add("google-crawler", "{}").unwrap_err();
        assert!(err.contains("no IP prefix"), "{err}");
    }
}
