//! A password-guessing tool against the shop's web login form, which re-renders the form with
//! 200 on a wrong password (as WordPress, Drupal and most HTML forms do) and redirects on the
//! right one: no 401 ever comes back, so a rule counting failed logins by status sees nothing.
//! A second tool guesses at the same account slower, with another user agent on every try, so
//! that no agent reaches a per-agent threshold.

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan};
use super::agents::{BROWSER_UAS, MOBILE_UAS};
use super::Def;

/// Guessing address.
pub const FORM_GUESSER_IP: &str = "192.0.2.237";
/// Guessing address of the tool rotating its user agent.
pub const FORM_ROTATOR_IP: &str = "192.0.2.234";

pub(super) const DEF: Def = Def {
    name: "form-brute-force",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&FormGuesser, p.window(0.45, 3 * 60_000, 0.2), 2.0);
    p.add(&FormRotator, p.window(0.5, 3 * 60_000, 0.2), 1.0);
}

#[derive(Debug)]
struct FormGuesser;

impl Actor for FormGuesser {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let status = if cx.rng.chance(0.01) { 302 } else { 200 };
        Fields {
            method: "POST",
            path: "/account/login".into(),
            status,
            username: Some("admin".into()),
            service: "web",
            ip: FORM_GUESSER_IP.into(),
            user_agent: BROWSER_UAS[0],
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "form-brute-force",
            true,
            "ip",
            strings(&[FORM_GUESSER_IP, FORM_ROTATOR_IP]),
            vec![],
        );
    }
}

/// One try a second at the same account, every try with the next of six user agents.
#[derive(Debug)]
struct FormRotator;

impl Actor for FormRotator {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let agents = BROWSER_UAS.len() + MOBILE_UAS.len();
        let n = cx.step as usize % agents;
        let user_agent = match n.checked_sub(BROWSER_UAS.len()) {
            Some(m) => MOBILE_UAS[m],
            None => BROWSER_UAS[n],
        };
        Fields {
            method: "POST",
            path: "/account/login".into(),
            status: 200,
            username: Some("admin".into()),
            service: "web",
            ip: FORM_ROTATOR_IP.into(),
            user_agent,
        }
    }
}
