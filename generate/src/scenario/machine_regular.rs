//! Machine regularity: a scraper on a fixed timer, claiming to be Chrome, never loading
//! static assets (labelled as user-agent spoofing too).

use super::actor::{product_read, strings, Actor, Cx, Fields, Labels, Plan};
use super::agents::BROWSER_UAS;
use super::Def;

/// Address of the timer-driven scraper that claims to be Chrome.
pub const REGULAR_IP: &str = "192.0.2.33";
/// Consumer of the timer-driven scraper.
pub const REGULAR_CONSUMER: &str = "price-watcher-9";

pub(super) const DEF: Def = Def {
    name: "machine-regular",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&Regular, p.window(0.1, 10 * 60_000, 0.6), 1.25);
}

#[derive(Debug)]
struct Regular;

impl Actor for Regular {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        cx.consumer = Some(REGULAR_CONSUMER.into());
        product_read(cx.rng, REGULAR_IP, BROWSER_UAS[0])
    }

    fn label(&self, l: &mut Labels<'_>) {
        for scenario in ["machine-regular", "ua-spoofing"] {
            l.add(
                scenario,
                true,
                "ip",
                strings(&[REGULAR_IP]),
                strings(&[REGULAR_CONSUMER]),
            );
        }
    }

    fn periodic(&self) -> bool {
        true
    }
}
