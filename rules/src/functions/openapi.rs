//! The documented API inventory from OpenAPI 3 documents, for shadow- and zombie-API rules,
//! and the learned inventory for deployments without a spec.
//!
//! `api_spec_status(method, route_template)` answers `documented`, `deprecated` (the operation
//! is marked `deprecated: true`) or `undocumented`, and NULL when no spec is loaded, so rules
//! built on it stay silent rather than calling all traffic shadow. Spec paths are matched
//! segment by segment: a `{param}` segment matches any one segment, literal or templated, so
//! `/users/{userId}` documents both `/users/{id}` and `/users/me`. The path of the first
//! `servers[].url` is a prefix (`https://api.example/api/v1` + `/orders` = `/api/v1/orders`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock, RwLock};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[derive(Debug, Clone)]
struct Operation {
    method: String,
    segments: Vec<Option<String>>,
    deprecated: bool,
}

/// Documented operations of one or more OpenAPI documents.
#[derive(Debug, Default)]
pub struct ApiSpec {
    operations: Vec<Operation>,
    /// method -> template -> status, memoised (templates repeat endlessly); nested so a hit
    /// is looked up with the borrowed strings, without building a key.
    memo: Mutex<HashMap<String, HashMap<String, &'static str>>>,
}

fn segments(path: &str) -> Vec<Option<String>> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                None
            } else {
                Some(s.to_owned())
            }
        })
        .collect()
}

fn server_prefix(doc: &serde_json::Value) -> String {
    let url = doc["servers"][0]["url"].as_str().unwrap_or("");
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => url,
    };
    path.trim_end_matches('/').to_owned()
}

impl ApiSpec {
    /// Parses OpenAPI 3 documents (JSON or YAML).
    pub fn parse(docs: &[(String, String)]) -> Result<ApiSpec, String> {
        let mut spec = ApiSpec::default();
        for (name, text) in docs {
            let doc: serde_json::Value = yaml_serde::from_str(text)
                .map_err(|e| format!("{name}: not a JSON or YAML document: {e}"))?;
            let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) else {
                return Err(format!(
                    "{name}: no `paths` object: is this an OpenAPI 3 document?"
                ));
            };
            let prefix = server_prefix(&doc);
            for (path, item) in paths {
                let full = format!("{prefix}{path}");
                for m in METHODS {
                    if let Some(op) = item.get(m) {
                        spec.operations.push(Operation {
                            method: m.to_ascii_uppercase(),
                            segments: segments(&full),
                            deprecated: op["deprecated"].as_bool().unwrap_or(false),
                        });
                    }
                }
            }
        }
        Ok(spec)
    }

    /// Reads and parses spec files.
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<ApiSpec, String> {
        let docs = paths
            .iter()
            .map(|p| {
                let p = p.as_ref();
                std::fs::read_to_string(p)
                    .map(|t| (p.display().to_string(), t))
                    .map_err(|e| format!("{}: {e}", p.display()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::parse(&docs)
    }

    /// Documented operations.
    pub fn operations(&self) -> usize {
        self.operations.len()
    }

    /// `documented`, `deprecated` or `undocumented`.
    pub fn status(&self, method: &str, template: &str) -> &'static str {
        let cached = self.memo.lock().ok().and_then(|m| {
            m.get(method)
                .and_then(|by_template| by_template.get(template))
                .copied()
        });
        if let Some(s) = cached {
            return s;
        }
        let observed: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
        let mut best: Option<&Operation> = None;
        for op in &self.operations {
            if !op.method.eq_ignore_ascii_case(method) || op.segments.len() != observed.len() {
                continue;
            }
            let matches = op
                .segments
                .iter()
                .zip(&observed)
                .all(|(s, o)| s.as_deref().is_none_or(|lit| lit == *o));
            if matches {
                // Prefer the most literal match (`/users/me` over `/users/{id}`).
                let literal = |o: &Operation| o.segments.iter().filter(|s| s.is_some()).count();
                if best.is_none_or(|b| literal(op) > literal(b)) {
                    best = Some(op);
                }
            }
        }
        let status = match best {
            Some(op) if op.deprecated => "deprecated",
            Some(_) => "documented",
            None => "undocumented",
        };
        if let Ok(mut m) = self.memo.lock() {
            m.entry(method.to_owned())
                .or_default()
                .insert(template.to_owned(), status);
        }
        status
    }
}

fn registry() -> &'static RwLock<Option<ApiSpec>> {
    static SPEC: OnceLock<RwLock<Option<ApiSpec>>> = OnceLock::new();
    SPEC.get_or_init(|| RwLock::new(None))
}

/// Installs the inventory `api_spec_status` answers from (process-wide; `None` unloads it).
pub fn set_api_spec(spec: Option<ApiSpec>) {
    if let Ok(mut s) = registry().write() {
        *s = spec;
    }
}

/// The status of an observed endpoint, or `None` with no spec loaded.
pub fn api_spec_status(method: &str, template: &str) -> Option<&'static str> {
    with_api_spec(|spec| spec.map(|s| s.status(method, template)))
}

/// Runs `f` with the loaded inventory (one lock for a whole batch of lookups).
pub fn with_api_spec<R>(f: impl FnOnce(Option<&ApiSpec>) -> R) -> R {
    match registry().read() {
        Ok(guard) => f(guard.as_ref()),
        Err(_) => f(None),
    }
}

/// First sightings of endpoints, for rules that learn the inventory instead of reading a spec
/// (and of the technologies each host served, for `technology_unserved`). One per rule and
/// task: a rule reload starts a new learning period, and the state moves with the task in its
/// checkpoint.
///
/// Bounded: at most `capacity` endpoints are remembered (default [`EndpointLearner::CAPACITY`]).
/// Beyond, the least recently seen tenth is forgotten at once and counted in
/// [`evicted`](Self::evicted); a forgotten endpoint seen again after the learning period
/// counts as new (and the rule's `suppress_for` keeps it from alerting twice in a row).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EndpointLearner {
    start: Option<i64>,
    /// endpoint -> (first seen, last seen tick); hashed with a per-process seed (routes come
    /// from requests: colliding keys cannot be searched for offline), and faster than SipHash
    /// on this per-row lookup.
    first_seen: HashMap<String, (i64, u64), foldhash::fast::RandomState>,
    tick: u64,
    capacity: usize,
    evicted: u64,
}

impl Default for EndpointLearner {
    fn default() -> Self {
        EndpointLearner::with_capacity(EndpointLearner::CAPACITY)
    }
}

impl EndpointLearner {
    /// `learner` locked for a batch of a learning helper (`endpoint_is_new`,
    /// `technology_unserved`); a lock a panicking thread left poisoned is an internal error.
    pub(crate) fn lock(
        learner: &std::sync::Mutex<EndpointLearner>,
    ) -> datafusion::error::Result<std::sync::MutexGuard<'_, EndpointLearner>> {
        learner
            .lock()
            .map_err(|_| datafusion::error::DataFusionError::Internal("learner lock".into()))
    }

    /// Endpoints remembered by default.
    pub const CAPACITY: usize = 100_000;

    /// A learner remembering at most `capacity` endpoints.
    pub fn with_capacity(capacity: usize) -> Self {
        EndpointLearner {
            start: None,
            first_seen: HashMap::default(),
            tick: 0,
            capacity: capacity.max(1),
            evicted: 0,
        }
    }

    /// Endpoints forgotten to stay within the capacity.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Endpoints remembered now.
    pub fn len(&self) -> usize {
        self.first_seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.first_seen.is_empty()
    }

    /// Whether `endpoint`, seen at event time `t`, was first seen after the learning period
    /// (`learning_ms` from the first event this learner saw).
    pub fn is_new(&mut self, endpoint: &str, t: i64, learning_ms: i64) -> bool {
        let start = *self.start.get_or_insert(t);
        let first = self.see(endpoint, t, false);
        first >= start.saturating_add(learning_ms)
    }

    /// Remembers `key` as seen (no time: for `technology_unserved`, which only asks whether a
    /// host was ever seen serving a technology). Bounded like every sighting.
    pub fn remember(&mut self, key: &str) {
        self.see(key, 0, false);
    }

    /// Adds one to the tally kept under `key` (remembered like a sighting, and bounded with
    /// them) and returns the new tally: for `technology_unserved`'s count of what a host
    /// answered with redirects or server errors.
    pub fn tally(&mut self, key: &str) -> i64 {
        self.see(key, 1, true)
    }

    /// Remembers `value` under `key` (the first value stays; read it with [`Self::count`]):
    /// for `technology_unserved`'s sizes of a technology's successes. Bounded like every
    /// sighting.
    pub fn put(&mut self, key: &str, value: i64) {
        self.see(key, value, false);
    }

    /// Keeps `value` under `key`, replacing what was there: for `technology_unserved`'s range of
    /// a home page's sizes, which widens. Bounded like every sighting.
    pub fn set(&mut self, key: &str, value: i64) {
        self.tick += 1;
        let tick = self.tick;
        match self.first_seen.get_mut(key) {
            Some(entry) => *entry = (value, tick),
            None => {
                self.see(key, value, false);
            }
        }
    }

    /// The value kept under `key`, or `None` when there is none (see [`Self::count`], which
    /// answers 0 for both).
    pub fn value(&self, key: &str) -> Option<i64> {
        self.first_seen.get(key).map(|v| v.0)
    }

    /// The tally or value kept under `key` (0 when there is none), without adding to it.
    pub fn count(&self, key: &str) -> i64 {
        self.value(key).unwrap_or(0)
    }

    /// Whether `key` is remembered (seen and not forgotten to stay within the capacity).
    pub fn knows(&self, key: &str) -> bool {
        self.first_seen.contains_key(key)
    }

    /// Records a sighting of `key` at `t`; returns when it was first seen (or, with `count`,
    /// adds one to the number kept in its place and returns that: `t` starts it).
    fn see(&mut self, key: &str, t: i64, count: bool) -> i64 {
        self.tick += 1;
        let tick = self.tick;
        match self.first_seen.get_mut(key) {
            Some(entry) => {
                if count {
                    entry.0 = entry.0.saturating_add(1);
                }
                entry.1 = tick;
                entry.0
            }
            None => {
                if self.first_seen.len() >= self.capacity {
                    self.evict();
                }
                self.first_seen.insert(key.to_owned(), (t, tick));
                t
            }
        }
    }

    /// Forgets the least recently seen tenth (at least one endpoint).
    fn evict(&mut self) {
        let mut ticks: Vec<u64> = self.first_seen.values().map(|v| v.1).collect();
        let n = (ticks.len() / 10).max(1).min(ticks.len());
        let (_, cut, _) = ticks.select_nth_unstable(n - 1);
        let cut = *cut;
        let before = self.first_seen.len();
        self.first_seen.retain(|_, v| v.1 > cut);
        self.evicted += (before - self.first_seen.len()) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
openapi: 3.0.3
info: {title: shop, version: "1"}
servers: [{url: "https://api.shop.example/api"}]
paths:
  /v1/orders/{orderId}:
    get: {summary: one order}
  /v1/users/{userId}:
    get: {}
  /v1/users/me:
    delete: {}
  /v0/users:
    get: {deprecated: true}
"#;

    #[test]
    fn matches_templates_segment_by_segment() {
        let s = ApiSpec::parse(&[("shop.yaml".into(), SPEC.into())]).expect("parse");
        assert_eq!(s.operations(), 4);
        assert_eq!(s.status("GET", "/api/v1/orders/{id}"), "documented");
        assert_eq!(s.status("GET", "/api/v1/users/me"), "documented");
        assert_eq!(s.status("DELETE", "/api/v1/users/me"), "documented");
        assert_eq!(s.status("POST", "/api/v1/orders/{id}"), "undocumented");
        assert_eq!(
            s.status("GET", "/api/v1/orders/{id}/refund"),
            "undocumented"
        );
        assert_eq!(s.status("GET", "/api/v0/users"), "deprecated");
        assert!(ApiSpec::parse(&[("x".into(), "a: 1".into())]).is_err());
    }

    #[test]
    fn learner_flags_endpoints_first_seen_after_the_learning_period() {
        let mut l = EndpointLearner::default();
        assert!(!l.is_new("GET /a", 0, 100));
        assert!(
            !l.is_new("GET /a", 500, 100),
            "known before the period ended"
        );
        assert!(l.is_new("GET /b", 200, 100));
        assert!(l.is_new("GET /b", 300, 100));
    }

    #[test]
    fn learner_is_bounded_and_forgets_the_least_recently_seen() {
        let mut l = EndpointLearner::with_capacity(100);
        for i in 0..1_000 {
            l.is_new(&format!("GET /x/{i}"), i, 10);
            l.is_new("GET /hot", i, 10);
        }
        assert!(l.len() <= 100, "{}", l.len());
        assert!(l.evicted() >= 900);
        assert!(
            !l.is_new("GET /hot", 2_000, 10),
            "a busy endpoint stays known"
        );
    }
}
