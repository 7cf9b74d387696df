//! Shadow and zombie APIs: traffic to undocumented endpoints and to a deprecated API version.

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan};
use super::Def;

/// Address probing undocumented endpoints.
pub const SHADOW_IP: &str = "192.0.2.150";
const SHADOW_UA: &str = "Go-http-client/1.1";

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

pub(super) const DEF: Def = Def {
    name: "shadow-api",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&Shadow, p.window(0.6, 3 * 60_000, 0.3), 0.5);
}

#[derive(Debug)]
struct Shadow;

impl Actor for Shadow {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let (method, path, status) = *cx.rng.pick(SHADOW_PATHS);
        Fields {
            method,
            path: path.to_string(),
            status,
            username: None,
            service: "web",
            ip: SHADOW_IP.into(),
            user_agent: SHADOW_UA,
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "shadow-api",
            true,
            "endpoint",
            strings(&SHADOW_ENDPOINTS),
            strings(&[SHADOW_IP]),
        );
        l.add(
            "zombie-api",
            true,
            "endpoint",
            strings(&[ZOMBIE_ENDPOINT]),
            strings(&[SHADOW_IP]),
        );
    }
}
