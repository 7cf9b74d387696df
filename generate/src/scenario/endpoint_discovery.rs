//! Endpoint discovery: a client trying many endpoint names that do not exist (404/405).

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan};
use super::Def;

/// Address guessing endpoint names.
pub const DISCOVERY_IP: &str = "192.0.2.200";
const DISCOVERY_UA: &str = "python-httpx/0.27.0";

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

pub(super) const DEF: Def = Def {
    name: "endpoint-discovery",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&Discovery, p.window(0.7, 3 * 60_000, 0.2), 2.0);
}

#[derive(Debug)]
struct Discovery;

impl Actor for Discovery {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let word = cx.rng.pick(DISCOVERY_WORDS);
        let version = cx.rng.pick(&["v1", "v2", "internal"]);
        let r = cx.rng.unit();
        let (method, status) = if r < 0.8 {
            ("GET", 404)
        } else if r < 0.92 {
            ("POST", 405)
        } else {
            ("GET", 401)
        };
        Fields {
            method,
            path: format!("/api/{version}/{word}"),
            status,
            username: None,
            service: "web",
            ip: DISCOVERY_IP.into(),
            user_agent: DISCOVERY_UA,
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "endpoint-discovery",
            true,
            "ip",
            strings(&[DISCOVERY_IP]),
            vec![],
        );
    }
}
