//! ID walking: an AI agent walking `/api/v1/orders/{id}` sequentially, mostly 403/404.

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan};
use super::Def;

/// Address of the ID-walking agent.
pub const WALKER_IP: &str = "192.0.2.77";
/// Consumer the ID-walking agent authenticates as.
pub const WALKER_CONSUMER: &str = "partner-app-17";
const AGENT_UA: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ChatGPT-User/1.0; +https://openai.com/bot)";

pub(super) const DEF: Def = Def {
    name: "id-walking",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&Walker, p.window(0.4, 4 * 60_000, 0.3), 3.0);
}

#[derive(Debug)]
struct Walker;

impl Actor for Walker {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        cx.consumer = Some(WALKER_CONSUMER.into());
        let r = cx.rng.unit();
        let status = if r < 0.6 {
            404
        } else if r < 0.85 {
            403
        } else {
            200
        };
        Fields {
            method: "GET",
            path: format!("/api/v1/orders/{}", 100_000 + cx.step),
            status,
            username: None,
            service: "orders",
            ip: WALKER_IP.into(),
            user_agent: AGENT_UA,
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "id-walking",
            true,
            "ip",
            strings(&[WALKER_IP]),
            strings(&[WALKER_CONSUMER]),
        );
    }
}
