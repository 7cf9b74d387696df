//! Benign machine traffic that looks suspicious to a naive detection: a health-check prober,
//! a partner's bulk export client, Googlebot and steady AI-gateway consumers.

use super::actor::{product_page, strings, Actor, Cx, Fields, Labels};

/// Health-check prober (benign).
pub const PROBE_IP: &str = "10.0.0.5";
/// A partner's bulk export client paging through order ids with a valid key (benign).
pub const BULK_IP: &str = "198.51.100.77";
/// The bulk client's consumer.
pub const BULK_CONSUMER: &str = "acme-sync";
/// Googlebot on public pages (benign).
pub const GOOGLEBOT_IP: &str = "66.249.66.1";
/// AI-gateway consumers with steady use (benign).
pub const AI_STEADY: [&str; 2] = ["team-support", "team-search"];
/// Addresses of the [`AI_STEADY`] consumers.
const AI_STEADY_IPS: [&str; 2] = ["10.20.0.5", "10.20.0.6"];

const PROBE_UA: &str = "kube-probe/1.29";
const GOOGLEBOT_UA: &str =
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const BULK_UA: &str = "acme-sync/2.3 (+https://acme.example/integration)";

/// A Kubernetes probe on `/health`, on a timer.
#[derive(Debug)]
pub(crate) struct HealthCheck;

impl Actor for HealthCheck {
    fn request(&self, _cx: &mut Cx<'_>) -> Fields {
        Fields {
            method: "GET",
            path: "/health".into(),
            status: 200,
            username: None,
            service: "web",
            ip: PROBE_IP.into(),
            user_agent: PROBE_UA,
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "benign-health-check",
            false,
            "ip",
            strings(&[PROBE_IP]),
            vec![],
        );
    }

    fn periodic(&self) -> bool {
        true
    }
}

/// A partner's export walking order ids sequentially, like an ID-walker but authorised.
#[derive(Debug)]
pub(crate) struct Bulk;

impl Actor for Bulk {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        cx.consumer = Some(BULK_CONSUMER.into());
        let status = if cx.rng.chance(0.02) { 404 } else { 200 };
        Fields {
            method: "GET",
            path: format!("/api/v1/orders/{}", 700_000 + cx.step),
            status,
            username: None,
            service: "orders",
            ip: BULK_IP.into(),
            user_agent: BULK_UA,
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "benign-bulk-api-client",
            false,
            "ip",
            strings(&[BULK_IP]),
            strings(&[BULK_CONSUMER]),
        );
    }
}

/// Googlebot on public pages.
#[derive(Debug)]
pub(crate) struct Googlebot;

impl Actor for Googlebot {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let rng = &mut *cx.rng;
        let r = rng.unit();
        let path = if r < 0.6 {
            product_page(rng)
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
        Fields {
            method: "GET",
            path,
            status: 200,
            username: None,
            service: "catalog",
            ip: GOOGLEBOT_IP.into(),
            user_agent: GOOGLEBOT_UA,
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "benign-search-crawler",
            false,
            "ip",
            strings(&[GOOGLEBOT_IP]),
            strings(&[GOOGLEBOT_UA]),
        );
    }
}

/// The [`AI_STEADY`] consumers calling the AI gateway at their usual volume.
#[derive(Debug)]
pub(crate) struct AiSteady;

impl Actor for AiSteady {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let i = cx.rng.below(2) as usize;
        cx.ai_call(AI_STEADY[i], AI_STEADY_IPS[i], 500, 250)
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "benign-ai-consumers",
            false,
            "consumer",
            strings(&AI_STEADY),
            strings(&AI_STEADY_IPS),
        );
    }
}
