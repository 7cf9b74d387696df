//! # gatewatch-generate
//!
//! Deterministic, realistic API-gateway traffic as Kong JSON log lines: a benign mix with the
//! hard negatives a detection must not page on (carrier-NAT mobile users, an office egress,
//! health checks, users mistyping passwords) and labelled attack scenarios. The same seed
//! and options always give byte-identical output.
#![deny(missing_docs)]

mod kong;
mod reader;
mod rng;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

pub use kong::write_kong_line;
pub use reader::GeneratorReader;
pub use rng::Rng;

/// A labelled attack scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// One address replaying leaked credentials against the login route.
    CredentialStuffing,
    /// Hundreds of addresses, each failing login rarely, sharing one user agent.
    DistributedStuffing,
    /// An AI agent walking `/api/v1/orders/{id}` sequentially, mostly 403/404.
    IdWalking,
    /// A client probing undocumented endpoints.
    ShadowApi,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Scenario; 4] = [
        Scenario::CredentialStuffing,
        Scenario::DistributedStuffing,
        Scenario::IdWalking,
        Scenario::ShadowApi,
    ];

    /// The scenario's name on the command line and in labels.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::CredentialStuffing => "credential-stuffing",
            Scenario::DistributedStuffing => "distributed-stuffing",
            Scenario::IdWalking => "id-walking",
            Scenario::ShadowApi => "shadow-api",
        }
    }
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Scenario::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Scenario::ALL.iter().map(|x| x.name()).collect();
                format!(
                    "unknown scenario {s:?}: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenConfig {
    /// Seed: same seed, same traffic.
    pub seed: u64,
    /// Event time of the first request, epoch ms.
    pub start_ms: i64,
    /// Length of the traffic in event time.
    pub duration_ms: i64,
    /// Benign requests per second from the general user population.
    pub benign_rate: f64,
    /// Attack scenarios to mix in.
    pub scenarios: Vec<Scenario>,
    /// Lines are written up to this many ms out of event-time order, as log shippers do.
    pub jitter_ms: i64,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 42,
            start_ms: 1_767_225_600_000, // 2026-01-01T00:00:00Z
            duration_ms: 15 * 60_000,
            benign_rate: 50.0,
            scenarios: Scenario::ALL.to_vec(),
            jitter_ms: 0,
        }
    }
}

/// One generated request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Event time (Kong `started_at`), epoch ms.
    pub t_ms: i64,
    /// Sequence number, unique per run (request id).
    pub seq: u64,
    /// Client address.
    pub ip: String,
    /// HTTP method.
    pub method: &'static str,
    /// Path with query string.
    pub path: String,
    /// Response status.
    pub status: u16,
    /// User-Agent.
    pub user_agent: &'static str,
    /// Login name tried (login requests only), logged as the custom field `username`.
    pub username: Option<String>,
    /// Authenticated Kong consumer.
    pub consumer: Option<String>,
    /// Response size.
    pub response_bytes: u32,
    /// Request latency.
    pub latency_ms: u32,
    /// Kong service name.
    pub service: &'static str,
}

/// Ground truth for one entity: attack actors and the benign hard negatives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Label {
    /// Scenario name (`credential-stuffing`, ... or `benign-*`).
    pub scenario: String,
    /// Whether the entity is an attacker.
    pub attack: bool,
    /// Entity kind (`ip`, `ip-set`, `consumer`).
    pub entity_type: String,
    /// Entity value(s).
    pub entities: Vec<String>,
    /// Event time the behaviour starts, epoch ms.
    pub start_ms: i64,
    /// Event time it ends.
    pub end_ms: i64,
}

const BROWSER_UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
];
const MOBILE_UAS: &[&str] = &[
    "ShopApp/4.12.0 (iPhone; iOS 18.1; Scale/3.00)",
    "ShopApp/4.12.0 (Android 14; Pixel 8)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
];
const STUFFER_UA: &str = "python-requests/2.31.0";
const LOW_SLOW_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36";
const AGENT_UA: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ChatGPT-User/1.0; +https://openai.com/bot)";
const PROBE_UA: &str = "kube-probe/1.29";
const SHADOW_UA: &str = "Go-http-client/1.1";

/// Address of the single-source stuffer.
pub const STUFFER_IP: &str = "203.0.113.66";
/// Carrier-NAT address shared by many mobile users (benign).
pub const NAT_IP: &str = "100.64.7.12";
/// Office egress address shared by a team (benign).
pub const OFFICE_IP: &str = "198.51.100.20";
/// Health-check prober (benign).
pub const PROBE_IP: &str = "10.0.0.5";
/// Address of the ID-walking agent.
pub const WALKER_IP: &str = "192.0.2.77";
/// Consumer the ID-walking agent authenticates as.
pub const WALKER_CONSUMER: &str = "partner-app-17";
/// Address probing undocumented endpoints.
pub const SHADOW_IP: &str = "192.0.2.150";

const SHADOW_PATHS: &[(&str, &str, u16)] = &[
    ("GET", "/api/internal/debug/vars", 200),
    ("GET", "/api/v0/users", 200),
    ("GET", "/api/v1/admin/users/export", 403),
    ("POST", "/api/v1/orders/1001/refund-override", 405),
    ("GET", "/api/v2/beta/recommendations", 404),
    ("GET", "/api/v1/users/me/tokens", 404),
    ("GET", "/graphql", 404),
    ("GET", "/api/v1/metrics/prometheus", 404),
    ("DELETE", "/api/v1/sessions/all", 405),
];

#[derive(Debug, Clone, Copy)]
enum Kind {
    Benign,
    Nat,
    Office,
    Probe,
    Mistyper,
    Stuffer,
    LowSlow,
    Walker,
    Shadow,
}

#[derive(Debug)]
struct Actor {
    kind: Kind,
    rng: Rng,
    next_ms: i64,
    end_ms: i64,
    rate: f64,
    step: u64,
}

/// Streams generated requests in log (emission) order.
pub struct Generator {
    cfg: GenConfig,
    actors: Vec<Actor>,
    heap: BinaryHeap<Reverse<(i64, u64, usize)>>,
    pending: Vec<Option<Request>>,
    seq: u64,
    jitter: Rng,
    users: usize,
}

fn window(cfg: &GenConfig, from: f64, len_ms: i64, max_frac: f64) -> (i64, i64) {
    let start = cfg.start_ms + (cfg.duration_ms as f64 * from) as i64;
    let len = len_ms
        .min((cfg.duration_ms as f64 * max_frac) as i64)
        .max(1);
    (start, start + len)
}

/// Where each actor is active; shared by the generator and [`labels`].
fn plan(cfg: &GenConfig) -> Vec<(Kind, i64, i64, f64)> {
    let all = (cfg.start_ms, cfg.start_ms + cfg.duration_ms);
    let mut v = vec![
        (Kind::Benign, all.0, all.1, cfg.benign_rate),
        (Kind::Nat, all.0, all.1, 2.0),
        (Kind::Office, all.0, all.1, 1.5),
        (Kind::Probe, all.0, all.1, 0.1),
        (Kind::Mistyper, all.0, all.1, 1.0 / 120.0),
    ];
    for s in &cfg.scenarios {
        v.push(match s {
            Scenario::CredentialStuffing => {
                let (a, b) = window(cfg, 0.2, 4 * 60_000, 0.3);
                (Kind::Stuffer, a, b, 4.0)
            }
            Scenario::DistributedStuffing => {
                let (a, b) = window(cfg, 0.25, i64::MAX, 0.6);
                (Kind::LowSlow, a, b, 1.5)
            }
            Scenario::IdWalking => {
                let (a, b) = window(cfg, 0.4, 4 * 60_000, 0.3);
                (Kind::Walker, a, b, 3.0)
            }
            Scenario::ShadowApi => {
                let (a, b) = window(cfg, 0.6, 3 * 60_000, 0.3);
                (Kind::Shadow, a, b, 0.5)
            }
        });
    }
    v
}

fn low_slow_ips() -> Vec<String> {
    (0..300)
        .map(|i| format!("198.18.{}.{}", i / 200, 10 + i % 200))
        .collect()
}

/// Ground-truth labels for a configuration.
pub fn labels(cfg: &GenConfig) -> Vec<Label> {
    plan(cfg)
        .into_iter()
        .filter_map(|(kind, start_ms, end_ms, _)| {
            let (scenario, attack, entity_type, entities) = match kind {
                Kind::Nat => ("benign-carrier-nat", false, "ip", vec![NAT_IP.to_owned()]),
                Kind::Office => (
                    "benign-office-egress",
                    false,
                    "ip",
                    vec![OFFICE_IP.to_owned()],
                ),
                Kind::Probe => (
                    "benign-health-check",
                    false,
                    "ip",
                    vec![PROBE_IP.to_owned()],
                ),
                Kind::Stuffer => (
                    "credential-stuffing",
                    true,
                    "ip",
                    vec![STUFFER_IP.to_owned()],
                ),
                Kind::LowSlow => ("distributed-stuffing", true, "ip-set", low_slow_ips()),
                Kind::Walker => ("id-walking", true, "ip", vec![WALKER_IP.to_owned()]),
                Kind::Shadow => ("shadow-api", true, "ip", vec![SHADOW_IP.to_owned()]),
                Kind::Benign | Kind::Mistyper => return None,
            };
            Some(Label {
                scenario: scenario.into(),
                attack,
                entity_type: entity_type.into(),
                entities,
                start_ms,
                end_ms,
            })
        })
        .collect()
}

impl Generator {
    /// A generator for `cfg`.
    pub fn new(cfg: GenConfig) -> Self {
        let mut root = Rng::new(cfg.seed);
        let jitter = root.fork(0x717);
        let users = ((cfg.benign_rate * 2.0) as usize).clamp(200, 200_000);
        let mut g = Generator {
            actors: Vec::new(),
            heap: BinaryHeap::new(),
            pending: Vec::new(),
            seq: 0,
            jitter,
            users,
            cfg: cfg.clone(),
        };
        for (i, (kind, start, end, rate)) in plan(&cfg).into_iter().enumerate() {
            if rate <= 0.0 {
                continue;
            }
            let mut rng = root.fork(i as u64 + 1);
            let first = start + rng.exp_ms(rate).min(end - start);
            g.actors.push(Actor {
                kind,
                rng,
                next_ms: first,
                end_ms: end,
                rate,
                step: 0,
            });
        }
        for i in 0..g.actors.len() {
            g.schedule(i);
        }
        g
    }

    fn schedule(&mut self, i: usize) {
        while self.pending.len() <= i {
            self.pending.push(None);
        }
        let a = &mut self.actors[i];
        if a.next_ms >= a.end_ms {
            return;
        }
        let t = a.next_ms;
        let req = emit(a, t, &mut self.seq, self.users);
        a.next_ms = t + a.rng.exp_ms(a.rate);
        let emit_at = if self.cfg.jitter_ms > 0 {
            t + self.jitter.below(self.cfg.jitter_ms as u64 + 1) as i64
        } else {
            t
        };
        self.heap.push(Reverse((emit_at, req.seq, i)));
        self.pending[i] = Some(req);
    }
}

impl Iterator for Generator {
    type Item = Request;
    fn next(&mut self) -> Option<Request> {
        let Reverse((_, _, i)) = self.heap.pop()?;
        let req = self.pending[i].take();
        self.schedule(i);
        req
    }
}

fn user_name(n: u64) -> String {
    format!("user{n:05}@example.com")
}

fn user_ip(n: u64) -> String {
    // Spread users over a /12 of ordinary-looking addresses, stable per user.
    let h = n.wrapping_mul(0x9E37_79B9).wrapping_add(7);
    format!(
        "81.{}.{}.{}",
        16 + (h >> 16) % 16,
        (h >> 8) % 256,
        1 + h % 254
    )
}

/// One benign request of a user; `login_fail` is the chance a login is mistyped.
fn benign_request(
    rng: &mut Rng,
    user: u64,
    login_fail: f64,
) -> (&'static str, String, u16, Option<String>, &'static str) {
    let r = rng.unit();
    if r < 0.30 {
        (
            "GET",
            format!("/api/v1/products/{}", 1 + rng.below(5000)),
            200,
            None,
            "catalog",
        )
    } else if r < 0.45 {
        let q = rng.pick(&["shoes", "laptop", "coffee", "desk"]);
        (
            "GET",
            format!("/api/v1/search?q={q}&page={}", 1 + rng.below(3)),
            200,
            None,
            "catalog",
        )
    } else if r < 0.65 {
        let asset = rng.pick(&["/static/app.js", "/static/app.css", "/static/logo.svg"]);
        ("GET", (*asset).to_string(), 200, None, "web")
    } else if r < 0.80 {
        (
            "GET",
            format!("/api/v1/orders/{}", 500_000 + user * 10 + rng.below(3)),
            200,
            None,
            "orders",
        )
    } else if r < 0.90 {
        (
            "POST",
            "/api/v1/cart/items".to_string(),
            201,
            None,
            "orders",
        )
    } else if r < 0.95 {
        ("GET", "/api/v1/users/me".to_string(), 200, None, "accounts")
    } else {
        let status = if rng.chance(login_fail) { 401 } else { 200 };
        (
            "POST",
            "/api/v1/login".to_string(),
            status,
            Some(user_name(user)),
            "accounts",
        )
    }
}

/// What varies between generated requests: method, path, status, username, service, address, agent.
type RequestFields = (
    &'static str,
    String,
    u16,
    Option<String>,
    &'static str,
    String,
    &'static str,
);

/// A benign request of one user of a population sharing `ip` (their own, a NAT's, an office's).
fn population(
    rng: &mut Rng,
    user: u64,
    login_fail: f64,
    ip: String,
    agents: &[&'static str],
) -> RequestFields {
    let (m, p, s, u, svc) = benign_request(rng, user, login_fail);
    (
        m,
        p,
        s,
        u,
        svc,
        ip,
        agents[(user % agents.len() as u64) as usize],
    )
}

fn emit(a: &mut Actor, t: i64, seq: &mut u64, users: usize) -> Request {
    *seq += 1;
    a.step += 1;
    let rng = &mut a.rng;
    let mut req = Request {
        t_ms: t,
        seq: *seq,
        ip: String::new(),
        method: "GET",
        path: String::new(),
        status: 200,
        user_agent: BROWSER_UAS[0],
        username: None,
        consumer: None,
        response_bytes: 200 + rng.below(4000) as u32,
        latency_ms: 5 + rng.below(120) as u32,
        service: "catalog",
    };
    let (method, path, status, username, service, ip, ua): RequestFields = match a.kind {
        Kind::Benign => {
            let user = rng.below(users as u64);
            population(rng, user, 0.05, user_ip(user), BROWSER_UAS)
        }
        Kind::Nat => {
            let user = 900_000 + rng.below(40);
            population(rng, user, 0.15, NAT_IP.into(), MOBILE_UAS)
        }
        Kind::Office => {
            let user = 800_000 + rng.below(25);
            population(rng, user, 0.10, OFFICE_IP.into(), BROWSER_UAS)
        }
        Kind::Probe => (
            "GET",
            "/health".into(),
            200,
            None,
            "web",
            PROBE_IP.into(),
            PROBE_UA,
        ),
        Kind::Mistyper => {
            // A user who fails a few times then gets in: 3 failures and a success in a burst.
            let user = rng.below(users as u64);
            let burst_done = a.step.is_multiple_of(4);
            let status = if burst_done { 200 } else { 401 };
            if !burst_done {
                a.rate = 0.2;
            } else {
                a.rate = 1.0 / 120.0;
            }
            (
                "POST",
                "/api/v1/login".into(),
                status,
                Some(user_name(user)),
                "accounts",
                user_ip(user),
                BROWSER_UAS[0],
            )
        }
        Kind::Stuffer => {
            let status = if rng.chance(0.97) { 401 } else { 200 };
            let name = format!("leaked{:06}@mail.example", rng.below(1_000_000));
            (
                "POST",
                "/api/v1/login".into(),
                status,
                Some(name),
                "accounts",
                STUFFER_IP.into(),
                STUFFER_UA,
            )
        }
        Kind::LowSlow => {
            let ip = format!(
                "198.18.{}.{}",
                (a.step % 300) / 200,
                10 + (a.step % 300) % 200
            );
            let status = if rng.chance(0.98) { 401 } else { 200 };
            let name = format!("leaked{:06}@mail.example", rng.below(1_000_000));
            (
                "POST",
                "/api/v1/login".into(),
                status,
                Some(name),
                "accounts",
                ip,
                LOW_SLOW_UA,
            )
        }
        Kind::Walker => {
            req.consumer = Some(WALKER_CONSUMER.into());
            let r = rng.unit();
            let status = if r < 0.6 {
                404
            } else if r < 0.85 {
                403
            } else {
                200
            };
            (
                "GET",
                format!("/api/v1/orders/{}", 100_000 + a.step),
                status,
                None,
                "orders",
                WALKER_IP.into(),
                AGENT_UA,
            )
        }
        Kind::Shadow => {
            let (m, p, s) = *rng.pick(SHADOW_PATHS);
            (
                m,
                p.to_string(),
                s,
                None,
                "web",
                SHADOW_IP.into(),
                SHADOW_UA,
            )
        }
    };
    req.method = method;
    req.path = path;
    req.status = status;
    req.username = username;
    req.service = service;
    req.ip = ip;
    req.user_agent = ua;
    if status >= 400 {
        req.response_bytes = 60 + (req.response_bytes % 80);
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(cfg: &GenConfig) -> Vec<String> {
        Generator::new(cfg.clone())
            .map(|r| {
                let mut s = String::new();
                write_kong_line(&r, &mut s);
                s
            })
            .collect()
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let cfg = GenConfig {
            duration_ms: 60_000,
            ..Default::default()
        };
        assert_eq!(lines(&cfg), lines(&cfg));
        assert_ne!(lines(&cfg), lines(&GenConfig { seed: 7, ..cfg }));
    }

    #[test]
    fn event_times_are_ordered_without_jitter_and_within_bounds() {
        let cfg = GenConfig {
            duration_ms: 120_000,
            ..Default::default()
        };
        let reqs: Vec<_> = Generator::new(cfg.clone()).collect();
        assert!(reqs.len() > 5000);
        assert!(reqs.windows(2).all(|w| w[0].t_ms <= w[1].t_ms));
        assert!(reqs
            .iter()
            .all(|r| r.t_ms >= cfg.start_ms && r.t_ms < cfg.start_ms + cfg.duration_ms));
    }

    #[test]
    fn scenarios_are_present_and_labelled() {
        let cfg = GenConfig {
            duration_ms: 20 * 60_000,
            benign_rate: 5.0,
            ..Default::default()
        };
        let reqs: Vec<_> = Generator::new(cfg.clone()).collect();
        let from = |ip: &str| reqs.iter().filter(|r| r.ip == ip).count();
        assert!(from(STUFFER_IP) > 500);
        assert!(from(WALKER_IP) > 300);
        assert!(from(SHADOW_IP) > 30);
        let low_slow = reqs.iter().filter(|r| r.user_agent == LOW_SLOW_UA).count();
        assert!(low_slow > 500);
        let l = labels(&cfg);
        assert_eq!(l.iter().filter(|l| l.attack).count(), 4);
        assert!(l.iter().any(|l| !l.attack && l.entities == [NAT_IP]));
        let none = GenConfig {
            scenarios: vec![],
            ..cfg
        };
        assert!(Generator::new(none).all(|r| r.ip != STUFFER_IP));
    }
}
