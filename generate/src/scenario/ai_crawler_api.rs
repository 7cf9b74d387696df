//! An AI crawler on the API: a declared crawler (GPTBot) reading authenticated API routes.

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan, product_page};
use super::Def;

/// GPTBot reading API routes.
pub const AI_CRAWLER_IP: &str = "192.0.2.60";
const GPTBOT_UA: &str =
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)";

pub(super) const DEF: Def = Def {
    name: "ai-crawler-api",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&AiCrawlerApi, p.window(0.35, 5 * 60_000, 0.4), 0.5);
}

#[derive(Debug)]
struct AiCrawlerApi;

impl Actor for AiCrawlerApi {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let rng = &mut *cx.rng;
        let r = rng.unit();
        let (path, status) = if r < 0.5 {
            (format!("/api/v1/users/{}", 1000 + rng.below(9000)), 401)
        } else if r < 0.8 {
            (
                format!("/api/v1/orders/{}", 500_000 + rng.below(90_000)),
                401,
            )
        } else {
            (product_page(rng), 200)
        };
        Fields {
            method: "GET",
            path,
            status,
            username: None,
            service: "orders",
            ip: AI_CRAWLER_IP.into(),
            user_agent: GPTBOT_UA,
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "ai-crawler-api",
            true,
            "ip",
            strings(&[AI_CRAWLER_IP]),
            vec![],
        );
    }
}
