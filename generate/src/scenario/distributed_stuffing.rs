//! Distributed (low-and-slow) stuffing: hundreds of addresses, each failing login rarely,
//! sharing one user agent.

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan};
use super::Def;

/// User agent shared by the distributed stuffing campaign (an outdated Chrome, as tools fake).
pub const LOW_SLOW_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36";

pub(super) const DEF: Def = Def {
    name: "distributed-stuffing",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&LowSlow, p.window(0.25, i64::MAX, 0.6), 1.5);
}

/// The campaign's addresses, in the order it rotates through them.
fn low_slow_ips() -> Vec<String> {
    (0..300)
        .map(|i| format!("198.18.{}.{}", i / 200, 10 + i % 200))
        .collect()
}

#[derive(Debug)]
struct LowSlow;

impl Actor for LowSlow {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let ip = format!(
            "198.18.{}.{}",
            (cx.step % 300) / 200,
            10 + (cx.step % 300) % 200
        );
        let status = if cx.rng.chance(0.98) { 401 } else { 200 };
        let name = format!("leaked{:06}@mail.example", cx.rng.below(1_000_000));
        Fields::login(status, name, ip, LOW_SLOW_UA)
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "distributed-stuffing",
            true,
            "user_agent",
            strings(&[LOW_SLOW_UA]),
            low_slow_ips(),
        );
    }
}
