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
mod text;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

pub use kong::write_kong_line;
pub use reader::GeneratorReader;
pub use rng::Rng;
pub use text::{write_line, Shape};

/// A labelled attack scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// One address replaying leaked credentials against the login route.
    CredentialStuffing,
    /// Hundreds of addresses, each failing login rarely, sharing one user agent.
    DistributedStuffing,
    /// One address trying one password against many accounts, one or two attempts each.
    PasswordSpray,
    /// A burst of failed logins on one account from one address, then a success.
    AccountTakeover,
    /// An AI agent walking `/api/v1/orders/{id}` sequentially, mostly 403/404.
    IdWalking,
    /// A client trying many endpoint names that do not exist (404/405).
    EndpointDiscovery,
    /// A scraper on a fixed timer, claiming to be Chrome, never loading static assets.
    MachineRegular,
    /// A declared AI crawler (GPTBot) reading authenticated API routes.
    AiCrawlerApi,
    /// A declared AI crawler (ClaudeBot) on public pages: a policy finding, not an attack.
    AiCrawlerDeclared,
    /// Traffic to undocumented endpoints and to a deprecated API version.
    ShadowApi,
    /// An AI-gateway consumer whose token spend jumps far above its own baseline.
    AiTokenAbuse,
    /// A scanner requesting `/.env`, `/.git/config`, admin consoles and injection payloads.
    Probing,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Scenario; 12] = [
        Scenario::CredentialStuffing,
        Scenario::DistributedStuffing,
        Scenario::PasswordSpray,
        Scenario::AccountTakeover,
        Scenario::IdWalking,
        Scenario::EndpointDiscovery,
        Scenario::MachineRegular,
        Scenario::AiCrawlerApi,
        Scenario::AiCrawlerDeclared,
        Scenario::ShadowApi,
        Scenario::AiTokenAbuse,
        Scenario::Probing,
    ];

    /// The scenario's name on the command line and in labels.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::CredentialStuffing => "credential-stuffing",
            Scenario::DistributedStuffing => "distributed-stuffing",
            Scenario::PasswordSpray => "password-spray",
            Scenario::AccountTakeover => "account-takeover",
            Scenario::IdWalking => "id-walking",
            Scenario::EndpointDiscovery => "endpoint-discovery",
            Scenario::MachineRegular => "machine-regular",
            Scenario::AiCrawlerApi => "ai-crawler-api",
            Scenario::AiCrawlerDeclared => "ai-crawler-declared",
            Scenario::ShadowApi => "shadow-api",
            Scenario::AiTokenAbuse => "ai-token-abuse",
            Scenario::Probing => "probing",
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
    /// Kong AI Gateway usage (AI routes only).
    pub ai: Option<AiUsage>,
}

/// What Kong AI Gateway logs about one LLM call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AiUsage {
    /// Tokens in the prompt.
    pub prompt_tokens: u32,
    /// Tokens in the completion.
    pub completion_tokens: u32,
}

/// Ground truth for one entity: attack actors and the benign hard negatives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Label {
    /// Scenario name (`credential-stuffing`, ... or `benign-*`).
    pub scenario: String,
    /// Whether the entity is an attacker.
    pub attack: bool,
    /// Entity kind of `entities` (`ip`, `user_agent`, `consumer`, `endpoint`).
    pub entity_type: String,
    /// The entities a detection should name (recall is measured over these).
    pub entities: Vec<String>,
    /// Other entities of the same actor (its addresses, consumer, target account): an alert
    /// naming one of them is a true positive too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
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
/// User agent shared by the distributed stuffing campaign (an outdated Chrome, as tools fake).
pub const LOW_SLOW_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36";
const AGENT_UA: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ChatGPT-User/1.0; +https://openai.com/bot)";
const PROBE_UA: &str = "kube-probe/1.29";
const SHADOW_UA: &str = "Go-http-client/1.1";
const ATO_UA: &str = "okhttp/4.12.0";
const DISCOVERY_UA: &str = "python-httpx/0.27.0";
const GPTBOT_UA: &str =
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)";
const CLAUDEBOT_UA: &str =
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)";
const GOOGLEBOT_UA: &str =
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const BULK_UA: &str = "acme-sync/2.3 (+https://acme.example/integration)";
const AI_CLIENT_UA: &str = "openai-python/1.54.0";
const SCANNER_UA: &str =
    "Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))";

/// Address of the single-source stuffer.
pub const STUFFER_IP: &str = "203.0.113.66";
/// Address of the password sprayer.
pub const SPRAY_IP: &str = "203.0.113.90";
/// Address taking over one account.
pub const ATO_IP: &str = "203.0.113.120";
/// The account taken over.
pub const ATO_ACCOUNT: &str = "user04242@example.com";
/// Carrier-NAT address shared by many mobile users (benign).
pub const NAT_IP: &str = "100.64.7.12";
/// Office egress address shared by a team (benign).
pub const OFFICE_IP: &str = "198.51.100.20";
/// Health-check prober (benign).
pub const PROBE_IP: &str = "10.0.0.5";
/// A partner's bulk export client paging through order ids with a valid key (benign).
pub const BULK_IP: &str = "198.51.100.77";
/// The bulk client's consumer.
pub const BULK_CONSUMER: &str = "acme-sync";
/// Googlebot on public pages (benign).
pub const GOOGLEBOT_IP: &str = "66.249.66.1";
/// Address of the ID-walking agent.
pub const WALKER_IP: &str = "192.0.2.77";
/// Consumer the ID-walking agent authenticates as.
pub const WALKER_CONSUMER: &str = "partner-app-17";
/// Address probing undocumented endpoints.
pub const SHADOW_IP: &str = "192.0.2.150";
/// Address guessing endpoint names.
pub const DISCOVERY_IP: &str = "192.0.2.200";
/// Address of the timer-driven scraper that claims to be Chrome.
pub const REGULAR_IP: &str = "192.0.2.33";
/// Consumer of the timer-driven scraper.
pub const REGULAR_CONSUMER: &str = "price-watcher-9";
/// GPTBot reading API routes.
pub const AI_CRAWLER_IP: &str = "192.0.2.60";
/// ClaudeBot on public pages.
pub const AI_DECLARED_IP: &str = "192.0.2.61";
/// Scanner address.
pub const PROBER_IP: &str = "192.0.2.250";
/// AI-gateway consumer whose spend spikes.
pub const AI_ABUSER: &str = "team-analytics";
/// AI-gateway consumers with steady use (benign).
pub const AI_STEADY: [&str; 2] = ["team-support", "team-search"];

/// Undocumented endpoints the shadow actor hits (method, path, status). The first two answer,
/// so they exist: shadow APIs. `/api/v0/users` is a deprecated version: a zombie API.
const SHADOW_PATHS: &[(&str, &str, u16)] = &[
    ("GET", "/api/internal/debug/vars", 200),
    ("GET", "/api/v1/admin/users/export", 403),
    ("GET", "/api/v0/users", 200),
    ("POST", "/api/v1/orders/1001/refund-override", 405),
    ("GET", "/api/v2/beta/recommendations", 404),
    ("GET", "/api/v1/users/me/tokens", 404),
    ("GET", "/graphql", 404),
    ("DELETE", "/api/v1/sessions/all", 405),
];

/// Endpoints (as "METHOD template") the shadow-API label names.
pub const SHADOW_ENDPOINTS: [&str; 2] = [
    "GET /api/internal/debug/vars",
    "GET /api/v1/admin/users/export",
];
/// The zombie endpoint.
pub const ZOMBIE_ENDPOINT: &str = "GET /api/v0/users";

/// Names an endpoint-discovery client tries.
const DISCOVERY_WORDS: &[&str] = &[
    "admin",
    "internal",
    "debug",
    "config",
    "settings",
    "export",
    "import",
    "backup",
    "users",
    "accounts",
    "billing",
    "invoices",
    "payments",
    "refunds",
    "coupons",
    "reports",
    "metrics",
    "status",
    "keys",
    "tokens",
    "secrets",
    "webhooks",
    "jobs",
    "tasks",
    "queue",
    "cache",
    "search-internal",
    "graph",
    "batch",
    "bulk",
    "audit",
    "logs",
    "files",
    "uploads",
    "media",
    "teams",
    "roles",
    "permissions",
    "flags",
    "experiments",
];

/// What a scanner requests (path with query, user agent is the scanner's or a browser's).
const PROBES: &[&str] = &[
    "/.env",
    "/.git/config",
    "/wp-admin/",
    "/phpmyadmin/index.php",
    "/backup.sql.gz",
    "/.aws/credentials",
    "/api/v1/files?path=..%2f..%2f..%2fetc%2fpasswd",
    "/api/v1/search?q=%27%20OR%201%3D1--",
    "/api/v1/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/1337.php",
    "/.htpasswd",
    "/admin/login",
];

/// The documented API of the generated shop, as an OpenAPI 3 document: the spec shadow- and
/// zombie-API rules compare traffic with (`gatewatch eval` and the bundled sample use it).
pub const SHOP_OPENAPI: &str = include_str!("shop-openapi.yaml");

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Benign,
    Nat,
    Office,
    Probe,
    Mistyper,
    Bulk,
    Googlebot,
    AiSteady,
    Stuffer,
    LowSlow,
    Spray,
    Takeover,
    Walker,
    Discovery,
    Regular,
    AiCrawlerApi,
    AiDeclared,
    Shadow,
    AiBaseline,
    AiSpike,
    Prober,
}

impl Kind {
    /// Requests on a fixed timer (with a little jitter) instead of Poisson arrivals.
    fn periodic(self) -> bool {
        matches!(self, Kind::Regular | Kind::Probe)
    }
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
        (Kind::Bulk, all.0, all.1, 3.0),
        (Kind::Googlebot, all.0, all.1, 0.5),
        (Kind::AiSteady, all.0, all.1, 0.2),
    ];
    for s in &cfg.scenarios {
        let (kind, (a, b), rate) = match s {
            Scenario::CredentialStuffing => (Kind::Stuffer, window(cfg, 0.2, 4 * 60_000, 0.3), 4.0),
            Scenario::DistributedStuffing => (Kind::LowSlow, window(cfg, 0.25, i64::MAX, 0.6), 1.5),
            Scenario::PasswordSpray => (Kind::Spray, window(cfg, 0.3, 10 * 60_000, 0.6), 0.25),
            Scenario::AccountTakeover => (Kind::Takeover, window(cfg, 0.5, 60_000, 0.1), 0.5),
            Scenario::IdWalking => (Kind::Walker, window(cfg, 0.4, 4 * 60_000, 0.3), 3.0),
            Scenario::EndpointDiscovery => {
                (Kind::Discovery, window(cfg, 0.7, 3 * 60_000, 0.2), 2.0)
            }
            Scenario::MachineRegular => (Kind::Regular, window(cfg, 0.1, 10 * 60_000, 0.6), 1.25),
            Scenario::AiCrawlerApi => (Kind::AiCrawlerApi, window(cfg, 0.35, 5 * 60_000, 0.4), 0.5),
            Scenario::AiCrawlerDeclared => (Kind::AiDeclared, all, 0.3),
            Scenario::ShadowApi => (Kind::Shadow, window(cfg, 0.6, 3 * 60_000, 0.3), 0.5),
            Scenario::AiTokenAbuse => {
                v.push((Kind::AiBaseline, all.0, all.1, 0.05));
                (Kind::AiSpike, window(cfg, 0.55, 4 * 60_000, 0.2), 1.5)
            }
            Scenario::Probing => (Kind::Prober, window(cfg, 0.8, 60_000, 0.1), 1.0),
        };
        v.push((kind, a, b, rate));
    }
    v
}

fn low_slow_ips() -> Vec<String> {
    (0..300)
        .map(|i| format!("198.18.{}.{}", i / 200, 10 + i % 200))
        .collect()
}

/// The users who mistype their password (a fixed few, so they can be labelled).
const MISTYPERS: [u64; 6] = [101, 202, 303, 404, 505, 606];

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Ground-truth labels for a configuration: one per attack actor and per hard negative.
pub fn labels(cfg: &GenConfig) -> Vec<Label> {
    let mut out = Vec::new();
    for (kind, start_ms, end_ms) in plan(cfg).into_iter().map(|(k, a, b, _)| (k, a, b)) {
        let mut add = |scenario: &str, attack: bool, ty: &str, e: Vec<String>, r: Vec<String>| {
            out.push(Label {
                scenario: scenario.into(),
                attack,
                entity_type: ty.into(),
                entities: e,
                related: r,
                start_ms,
                end_ms,
            })
        };
        match kind {
            Kind::Benign | Kind::AiBaseline => {}
            Kind::Nat => add(
                "benign-carrier-nat",
                false,
                "ip",
                strings(&[NAT_IP]),
                vec![],
            ),
            Kind::Office => add(
                "benign-office-egress",
                false,
                "ip",
                strings(&[OFFICE_IP]),
                vec![],
            ),
            Kind::Probe => add(
                "benign-health-check",
                false,
                "ip",
                strings(&[PROBE_IP]),
                vec![],
            ),
            Kind::Mistyper => add(
                "benign-mistyped-passwords",
                false,
                "ip",
                MISTYPERS.iter().map(|u| user_ip(*u)).collect(),
                MISTYPERS.iter().map(|u| user_name(*u)).collect(),
            ),
            Kind::Bulk => add(
                "benign-bulk-api-client",
                false,
                "ip",
                strings(&[BULK_IP]),
                strings(&[BULK_CONSUMER]),
            ),
            Kind::Googlebot => add(
                "benign-search-crawler",
                false,
                "ip",
                strings(&[GOOGLEBOT_IP]),
                strings(&[GOOGLEBOT_UA]),
            ),
            Kind::AiSteady => add(
                "benign-ai-consumers",
                false,
                "consumer",
                strings(&AI_STEADY),
                strings(&["10.20.0.5", "10.20.0.6"]),
            ),
            Kind::Stuffer => add(
                "credential-stuffing",
                true,
                "ip",
                strings(&[STUFFER_IP]),
                vec![],
            ),
            Kind::LowSlow => add(
                "distributed-stuffing",
                true,
                "user_agent",
                strings(&[LOW_SLOW_UA]),
                low_slow_ips(),
            ),
            Kind::Spray => add("password-spray", true, "ip", strings(&[SPRAY_IP]), vec![]),
            Kind::Takeover => add(
                "account-takeover",
                true,
                "ip",
                strings(&[ATO_IP]),
                strings(&[ATO_ACCOUNT]),
            ),
            Kind::Walker => add(
                "id-walking",
                true,
                "ip",
                strings(&[WALKER_IP]),
                strings(&[WALKER_CONSUMER]),
            ),
            Kind::Discovery => add(
                "endpoint-discovery",
                true,
                "ip",
                strings(&[DISCOVERY_IP]),
                vec![],
            ),
            Kind::Regular => {
                add(
                    "machine-regular",
                    true,
                    "ip",
                    strings(&[REGULAR_IP]),
                    strings(&[REGULAR_CONSUMER]),
                );
                add(
                    "ua-spoofing",
                    true,
                    "ip",
                    strings(&[REGULAR_IP]),
                    strings(&[REGULAR_CONSUMER]),
                );
            }
            Kind::AiCrawlerApi => add(
                "ai-crawler-api",
                true,
                "ip",
                strings(&[AI_CRAWLER_IP]),
                vec![],
            ),
            Kind::AiDeclared => add(
                "ai-crawler-declared",
                true,
                "ip",
                strings(&[AI_DECLARED_IP]),
                vec![],
            ),
            Kind::Shadow => {
                add(
                    "shadow-api",
                    true,
                    "endpoint",
                    strings(&SHADOW_ENDPOINTS),
                    strings(&[SHADOW_IP]),
                );
                add(
                    "zombie-api",
                    true,
                    "endpoint",
                    strings(&[ZOMBIE_ENDPOINT]),
                    strings(&[SHADOW_IP]),
                );
            }
            Kind::AiSpike => add(
                "ai-token-abuse",
                true,
                "consumer",
                strings(&[AI_ABUSER]),
                strings(&["10.20.0.9"]),
            ),
            Kind::Prober => add("probing", true, "ip", strings(&[PROBER_IP]), vec![]),
        }
    }
    out
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
        a.next_ms = if a.kind.periodic() {
            // A timer: the period plus up to 1% of scheduling noise.
            let period = 1000.0 / a.rate;
            t + (period * (1.0 + 0.01 * a.rng.unit())) as i64
        } else {
            t + a.rng.exp_ms(a.rate)
        };
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
        ai: None,
    };
    let step = a.step;
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
            let user = MISTYPERS[((a.step / 4) % MISTYPERS.len() as u64) as usize];
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
        Kind::Bulk => {
            req.consumer = Some(BULK_CONSUMER.into());
            let status = if rng.chance(0.02) { 404 } else { 200 };
            (
                "GET",
                format!("/api/v1/orders/{}", 700_000 + step),
                status,
                None,
                "orders",
                BULK_IP.into(),
                BULK_UA,
            )
        }
        Kind::Googlebot => {
            let r = rng.unit();
            let path = if r < 0.6 {
                format!("/api/v1/products/{}", 1 + rng.below(5000))
            } else if r < 0.8 {
                format!(
                    "/api/v1/search?q={}",
                    rng.pick(&["shoes", "laptop", "desk"])
                )
            } else if r < 0.95 {
                (*rng.pick(&["/static/app.css", "/static/logo.svg"])).to_string()
            } else {
                "/robots.txt".to_string()
            };
            (
                "GET",
                path,
                200,
                None,
                "catalog",
                GOOGLEBOT_IP.into(),
                GOOGLEBOT_UA,
            )
        }
        Kind::AiSteady | Kind::AiBaseline | Kind::AiSpike => {
            let (consumer, ip, prompt, completion) = match a.kind {
                Kind::AiSteady => {
                    let i = rng.below(2) as usize;
                    (AI_STEADY[i], ["10.20.0.5", "10.20.0.6"][i], 500, 250)
                }
                Kind::AiBaseline => (AI_ABUSER, "10.20.0.9", 600, 300),
                _ => (AI_ABUSER, "10.20.0.9", 6_000, 2_500),
            };
            req.consumer = Some(consumer.into());
            let spread = |base: u32, rng: &mut Rng| base / 2 + rng.below(base as u64) as u32;
            req.ai = Some(AiUsage {
                prompt_tokens: spread(prompt, rng),
                completion_tokens: spread(completion, rng),
            });
            (
                "POST",
                "/ai/v1/chat/completions".into(),
                200,
                None,
                "ai-gateway",
                ip.into(),
                AI_CLIENT_UA,
            )
        }
        Kind::Spray => {
            // One attempt per account, working through a list of real account names.
            let status = if rng.chance(0.99) { 401 } else { 200 };
            (
                "POST",
                "/api/v1/login".into(),
                status,
                Some(user_name(10_000 + step)),
                "accounts",
                SPRAY_IP.into(),
                BROWSER_UAS[1],
            )
        }
        Kind::Takeover => {
            if step <= 12 {
                (
                    "POST",
                    "/api/v1/login".into(),
                    401,
                    Some(ATO_ACCOUNT.into()),
                    "accounts",
                    ATO_IP.into(),
                    ATO_UA,
                )
            } else if step == 13 {
                (
                    "POST",
                    "/api/v1/login".into(),
                    200,
                    Some(ATO_ACCOUNT.into()),
                    "accounts",
                    ATO_IP.into(),
                    ATO_UA,
                )
            } else {
                (
                    "GET",
                    "/api/v1/users/me".into(),
                    200,
                    None,
                    "accounts",
                    ATO_IP.into(),
                    ATO_UA,
                )
            }
        }
        Kind::Discovery => {
            let word = rng.pick(DISCOVERY_WORDS);
            let version = rng.pick(&["v1", "v2", "internal"]);
            let r = rng.unit();
            let (method, status) = if r < 0.8 {
                ("GET", 404)
            } else if r < 0.92 {
                ("POST", 405)
            } else {
                ("GET", 401)
            };
            (
                method,
                format!("/api/{version}/{word}"),
                status,
                None,
                "web",
                DISCOVERY_IP.into(),
                DISCOVERY_UA,
            )
        }
        Kind::Regular => {
            req.consumer = Some(REGULAR_CONSUMER.into());
            (
                "GET",
                format!("/api/v1/products/{}", 1 + rng.below(5000)),
                200,
                None,
                "catalog",
                REGULAR_IP.into(),
                BROWSER_UAS[0],
            )
        }
        Kind::AiCrawlerApi => {
            let r = rng.unit();
            let (path, status) = if r < 0.5 {
                (format!("/api/v1/users/{}", 1000 + rng.below(9000)), 401)
            } else if r < 0.8 {
                (
                    format!("/api/v1/orders/{}", 500_000 + rng.below(90_000)),
                    401,
                )
            } else {
                (format!("/api/v1/products/{}", 1 + rng.below(5000)), 200)
            };
            (
                "GET",
                path,
                status,
                None,
                "orders",
                AI_CRAWLER_IP.into(),
                GPTBOT_UA,
            )
        }
        Kind::AiDeclared => {
            let path = if rng.chance(0.7) {
                format!("/api/v1/products/{}", 1 + rng.below(5000))
            } else {
                "/static/app.css".to_string()
            };
            (
                "GET",
                path,
                200,
                None,
                "catalog",
                AI_DECLARED_IP.into(),
                CLAUDEBOT_UA,
            )
        }
        Kind::Prober => {
            let path = PROBES[(step as usize - 1) % PROBES.len()];
            let ua = if step.is_multiple_of(2) {
                SCANNER_UA
            } else {
                BROWSER_UAS[2]
            };
            (
                "GET",
                path.to_string(),
                404,
                None,
                "web",
                PROBER_IP.into(),
                ua,
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
        // 12 scenarios; machine-regular also labels ua-spoofing, shadow-api also zombie-api.
        assert_eq!(l.iter().filter(|l| l.attack).count(), 14);
        for (ip, n) in [
            (SPRAY_IP, 50),
            (ATO_IP, 14),
            (DISCOVERY_IP, 100),
            (REGULAR_IP, 300),
            (PROBER_IP, 30),
            (BULK_IP, 1000),
        ] {
            assert!(from(ip) > n, "{ip}: {}", from(ip));
        }
        assert!(reqs
            .iter()
            .any(|r| r.ai.is_some_and(|a| a.prompt_tokens > 3000)));
        assert!(l.iter().any(|l| !l.attack && l.entities == [NAT_IP]));
        let none = GenConfig {
            scenarios: vec![],
            ..cfg
        };
        assert!(Generator::new(none).all(|r| r.ip != STUFFER_IP));
    }
}
