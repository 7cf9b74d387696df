//! A declared AI crawler (ClaudeBot) on public pages: a policy finding, not an attack.

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan, product_page};
use super::Def;

/// ClaudeBot on public pages.
pub const AI_DECLARED_IP: &str = "192.0.2.61";
const CLAUDEBOT_UA: &str =
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)";

pub(super) const DEF: Def = Def {
    name: "ai-crawler-declared",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&AiDeclared, p.all(), 0.3);
}

#[derive(Debug)]
struct AiDeclared;

impl Actor for AiDeclared {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let path = if cx.rng.chance(0.7) {
            product_page(cx.rng)
        } else {
            "/static/app.css".to_string()
        };
        Fields {
            method: "GET",
            path,
            status: 200,
            username: None,
            service: "catalog",
            ip: AI_DECLARED_IP.into(),
            user_agent: CLAUDEBOT_UA,
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "ai-crawler-declared",
            true,
            "ip",
            strings(&[AI_DECLARED_IP]),
            vec![],
        );
    }
}
