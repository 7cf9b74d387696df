//! Password spraying: one address trying one password against many accounts.

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan};
use super::agents::BROWSER_UAS;
use super::users::user_name;
use super::Def;

/// Address of the password sprayer.
pub const SPRAY_IP: &str = "203.0.113.90";

pub(super) const DEF: Def = Def {
    name: "password-spray",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&Spray, p.window(0.3, 10 * 60_000, 0.6), 0.25);
}

#[derive(Debug)]
struct Spray;

impl Actor for Spray {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        // One attempt per account, working through a list of real account names.
        let status = if cx.rng.chance(0.99) { 401 } else { 200 };
        Fields::login(status, user_name(10_000 + cx.step), SPRAY_IP, BROWSER_UAS[1])
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add("password-spray", true, "ip", strings(&[SPRAY_IP]), vec![]);
    }
}
