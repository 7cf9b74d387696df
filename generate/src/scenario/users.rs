//! The benign user population: ordinary users on their own addresses, many mobile users behind
//! a carrier NAT, a team behind an office egress, and users who mistype their password.

use super::actor::{product_page, strings, Actor, Cx, Fields, Labels};
use super::agents::{BROWSER_UAS, MOBILE_UAS};
use crate::Rng;

/// Carrier-NAT address shared by many mobile users (benign).
pub const NAT_IP: &str = "100.64.7.12";
/// Office egress address shared by a team (benign).
pub const OFFICE_IP: &str = "198.51.100.20";

/// The users who mistype their password (a fixed few, so they can be labelled).
const MISTYPERS: [u64; 6] = [101, 202, 303, 404, 505, 606];

/// User `n`'s login name.
pub(crate) fn user_name(n: u64) -> String {
    format!("user{n:05}@example.com")
}

/// User `n`'s own address.
fn user_ip(n: u64) -> String {
    // Spread users over a /12 of ordinary-looking addresses, stable per user.
    let h = n.wrapping_mul(0x9E37_79B9).wrapping_add(7);
    format!(
        "81.{}.{}.{}",
        16 + (h >> 16) % 16,
        (h >> 8) % 256,
        1 + h % 254
    )
}

/// A benign request of one user of a population sharing `ip` (their own, a NAT's, an
/// office's); `login_fail` is the chance a login is mistyped.
fn population(
    rng: &mut Rng,
    user: u64,
    login_fail: f64,
    ip: String,
    agents: &[&'static str],
) -> Fields {
    let user_agent = agents[(user % agents.len() as u64) as usize];
    let r = rng.unit();
    let (method, path, status, service) = if r < 0.30 {
        ("GET", product_page(rng), 200, "catalog")
    } else if r < 0.45 {
        let q = rng.pick(&["shoes", "laptop", "coffee", "desk"]);
        (
            "GET",
            format!("/api/v1/search?q={q}&page={}", 1 + rng.below(3)),
            200,
            "catalog",
        )
    } else if r < 0.65 {
        let asset = rng.pick(&["/static/app.js", "/static/app.css", "/static/logo.svg"]);
        ("GET", (*asset).to_string(), 200, "web")
    } else if r < 0.80 {
        (
            "GET",
            format!("/api/v1/orders/{}", 500_000 + user * 10 + rng.below(3)),
            200,
            "orders",
        )
    } else if r < 0.90 {
        ("POST", "/api/v1/cart/items".to_string(), 201, "orders")
    } else if r < 0.95 {
        ("GET", "/api/v1/users/me".to_string(), 200, "accounts")
    } else {
        let status = if rng.chance(login_fail) { 401 } else { 200 };
        return Fields::login(status, user_name(user), ip, user_agent);
    };
    Fields {
        method,
        path,
        status,
        username: None,
        service,
        ip,
        user_agent,
    }
}

/// The general population, each user on their own address.
#[derive(Debug)]
pub(crate) struct Benign;

impl Actor for Benign {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let user = cx.rng.below(cx.users as u64);
        population(cx.rng, user, 0.05, user_ip(user), BROWSER_UAS)
    }
}

/// Mobile users behind one carrier-NAT address.
#[derive(Debug)]
pub(crate) struct Nat;

impl Actor for Nat {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let user = 900_000 + cx.rng.below(40);
        population(cx.rng, user, 0.15, NAT_IP.into(), MOBILE_UAS)
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "benign-carrier-nat",
            false,
            "ip",
            strings(&[NAT_IP]),
            vec![],
        );
    }
}

/// A team behind one office egress address.
#[derive(Debug)]
pub(crate) struct Office;

impl Actor for Office {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let user = 800_000 + cx.rng.below(25);
        population(cx.rng, user, 0.10, OFFICE_IP.into(), BROWSER_UAS)
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "benign-office-egress",
            false,
            "ip",
            strings(&[OFFICE_IP]),
            vec![],
        );
    }
}

/// Users who fail a few times then get in: 3 failures and a success in a burst.
#[derive(Debug)]
pub(crate) struct Mistyper;

impl Actor for Mistyper {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let user = MISTYPERS[((cx.step / 4) % MISTYPERS.len() as u64) as usize];
        let burst_done = cx.step.is_multiple_of(4);
        let status = if burst_done { 200 } else { 401 };
        if !burst_done {
            *cx.rate = 0.2;
        } else {
            *cx.rate = 1.0 / 120.0;
        }
        Fields::login(status, user_name(user), user_ip(user), BROWSER_UAS[0])
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "benign-mistyped-passwords",
            false,
            "ip",
            MISTYPERS.iter().map(|u| user_ip(*u)).collect(),
            MISTYPERS.iter().map(|u| user_name(*u)).collect(),
        );
    }
}
