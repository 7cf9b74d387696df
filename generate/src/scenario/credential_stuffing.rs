//! Credential stuffing: one address replaying leaked credentials against the login route.
//!
//! The template for a scenario: its addresses and agents, a `DEF` naming it and planning its
//! actors, and the actors (what each sends and how it is labelled).

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan};
use super::Def;

/// Address of the single-source stuffer.
pub const STUFFER_IP: &str = "203.0.113.66";
const STUFFER_UA: &str = "python-requests/2.31.0";

pub(super) const DEF: Def = Def {
    name: "credential-stuffing",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&Stuffer, p.window(0.2, 4 * 60_000, 0.3), 4.0);
}

#[derive(Debug)]
struct Stuffer;

impl Actor for Stuffer {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let status = if cx.rng.chance(0.97) { 401 } else { 200 };
        let name = format!("leaked{:06}@mail.example", cx.rng.below(1_000_000));
        Fields::login(status, name, STUFFER_IP, STUFFER_UA)
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "credential-stuffing",
            true,
            "ip",
            strings(&[STUFFER_IP]),
            vec![],
        );
    }
}
