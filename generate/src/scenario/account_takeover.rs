//! Account takeover: a burst of failed logins on one account from one address, a success,
//! then the account in use.

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan};
use super::Def;

/// Address taking over one account.
pub const ATO_IP: &str = "203.0.113.120";
/// The account taken over.
pub const ATO_ACCOUNT: &str = "user04242@example.com";
const ATO_UA: &str = "okhttp/4.12.0";

pub(super) const DEF: Def = Def {
    name: "account-takeover",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&Takeover, p.window(0.5, 60_000, 0.1), 0.5);
}

#[derive(Debug)]
struct Takeover;

impl Actor for Takeover {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        if cx.step <= 12 {
            Fields::login(401, ATO_ACCOUNT, ATO_IP, ATO_UA)
        } else if cx.step == 13 {
            Fields::login(200, ATO_ACCOUNT, ATO_IP, ATO_UA)
        } else {
            Fields {
                method: "GET",
                path: "/api/v1/users/me".into(),
                status: 200,
                username: None,
                service: "accounts",
                ip: ATO_IP.into(),
                user_agent: ATO_UA,
            }
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "account-takeover",
            true,
            "ip",
            strings(&[ATO_IP]),
            strings(&[ATO_ACCOUNT]),
        );
    }
}
