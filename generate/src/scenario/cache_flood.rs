//! A cache-busting HTTP flood: one address asking for the home page dozens of times a second,
//! each time with a fresh random token as the whole query string (`/?8890121518`), so that no
//! cache answers and every request reaches the origin.

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan};
use super::agents::BROWSER_UAS;
use super::Def;

/// Flooding address.
pub const CACHE_FLOODER_IP: &str = "192.0.2.236";

pub(super) const DEF: Def = Def {
    name: "cache-flood",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&CacheFlooder, p.window(0.6, 20_000, 0.05), 5.0);
}

#[derive(Debug)]
struct CacheFlooder;

impl Actor for CacheFlooder {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let token = 1_000_000_000 + cx.rng.below(900_000_000_000);
        Fields {
            method: "GET",
            path: format!("/?{token}"),
            status: 200,
            username: None,
            service: "web",
            ip: CACHE_FLOODER_IP.into(),
            user_agent: BROWSER_UAS[1],
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add("cache-flood", true, "ip", strings(&[CACHE_FLOODER_IP]), vec![]);
    }
}
