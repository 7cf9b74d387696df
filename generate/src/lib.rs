//! # gatewatch-generate
//!
//! Deterministic, realistic API-gateway traffic as Kong JSON log lines: a benign mix with the
//! hard negatives a detection must not page on (carrier-NAT mobile users, an office egress,
//! health checks, users mistyping passwords) and labelled attack scenarios. The same seed
//! and options always give byte-identical output.
//!
//! Layout: [`Generator`] (`generator.rs`) schedules actors and streams their requests;
//! `scenario/` holds the actors, one file per attack scenario (registered in
//! `scenario/mod.rs`), plus the benign background (`users.rs`, `background.rs`).
#![deny(missing_docs)]

mod generator;
mod kong;
mod reader;
mod rng;
mod scenario;
mod text;

use serde::Serialize;

pub use generator::Generator;
pub use kong::write_kong_line;
pub use reader::GeneratorReader;
pub use rng::Rng;
pub use scenario::account_takeover::{ATO_ACCOUNT, ATO_IP};
pub use scenario::ai_crawler_api::AI_CRAWLER_IP;
pub use scenario::ai_crawler_declared::AI_DECLARED_IP;
pub use scenario::ai_token_abuse::AI_ABUSER;
pub use scenario::background::{AI_STEADY, BULK_CONSUMER, BULK_IP, GOOGLEBOT_IP, PROBE_IP};
pub use scenario::cache_flood::CACHE_FLOODER_IP;
pub use scenario::crawl::CRAWLER_IP;
pub use scenario::credential_stuffing::STUFFER_IP;
pub use scenario::distributed_stuffing::LOW_SLOW_UA;
pub use scenario::endpoint_discovery::DISCOVERY_IP;
pub use scenario::form_brute_force::{FORM_GUESSER_IP, FORM_ROTATOR_IP};
pub use scenario::id_walking::{WALKER_CONSUMER, WALKER_IP};
pub use scenario::install_scan::{BROKEN_ASSET_USERS, INSTALL_SCANNER_IP};
pub use scenario::machine_regular::{REGULAR_CONSUMER, REGULAR_IP};
pub use scenario::password_spray::SPRAY_IP;
pub use scenario::probing::PROBER_IP;
pub use scenario::shadow_api::{SHADOW_ENDPOINTS, SHADOW_IP, ZOMBIE_ENDPOINT};
pub use scenario::spa_scan::SPA_SCANNER_IP;
pub use scenario::technology_probe::{LEGACY_PHP_USERS, TECH_PROBE_IPS};
pub use scenario::users::{NAT_IP, OFFICE_IP};
pub use scenario::web_scan::{CMS_SCANNER_IP, CONSOLE_PROBER_IP, SCHEMA_USERS};
pub use scenario::{labels, Scenario};
pub use text::{write_line, Shape};

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

/// The documented API of the generated shop, as an OpenAPI 3 document: the spec shadow- and
/// zombie-API rules compare traffic with (`gatewatch eval` and the bundled sample use it).
pub const SHOP_OPENAPI: &str = include_str!("shop-openapi.yaml");
