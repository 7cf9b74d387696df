//! The internet's background of product probes: addresses that each ask once for one product's
//! entry point, written in a server technology the shop's API does not run (ColdFusion's
//! `/CFIDE/administrator/index.cfm`, WSO2's `/carbon/admin/login.jsp`, Exchange's
//! `/owa/auth/logon.aspx`, Struts' `/login.action`, a router's `/cgi-bin/*.cgi`), answered 404,
//! with a browser's user agent. Plus the hard negative that looks like it: a legacy PHP
//! reporting service behind the same gateway, its users' reports served 200, and a report link
//! that no longer exists answered 404. (So the shop does run PHP: a `/wp-login.php` probe here
//! is `cms-framework-scan`'s, not this scenario's.)

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan};
use super::agents::BROWSER_UAS;
use super::Def;

/// Product probers, one request each.
pub const TECH_PROBE_IPS: [&str; 5] = [
    "198.51.100.171",
    "198.51.100.172",
    "198.51.100.173",
    "198.51.100.174",
    "198.51.100.175",
];
/// Users of the legacy PHP reports (benign).
pub const LEGACY_PHP_USERS: [&str; 2] = ["10.40.0.31", "10.40.0.32"];

/// One product's entry point per prober.
const PROBES: [&str; 5] = [
    "/CFIDE/administrator/index.cfm",
    "/carbon/admin/login.jsp",
    "/owa/auth/logon.aspx",
    "/login.action",
    "/cgi-bin/config.exp.cgi",
];

pub(super) const DEF: Def = Def {
    name: "technology-probe",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    // Five requests five seconds apart: one per address.
    p.add(&TechnologyProber, p.window(0.6, 25_000, 0.05), 0.2);
    p.add(&LegacyPhp, p.all(), 0.1);
}

#[derive(Debug)]
struct TechnologyProber;

impl Actor for TechnologyProber {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let n = (cx.step as usize - 1) % PROBES.len();
        Fields {
            method: "GET",
            path: PROBES[n].into(),
            status: 404,
            username: None,
            service: "web",
            ip: TECH_PROBE_IPS[n].into(),
            user_agent: BROWSER_UAS[n % BROWSER_UAS.len()],
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "technology-probe",
            true,
            "ip",
            strings(&TECH_PROBE_IPS),
            vec![],
        );
    }

    fn periodic(&self) -> bool {
        true
    }

    fn starts_at_window(&self) -> bool {
        true
    }
}

/// Readers of a legacy PHP reporting service: reports served 200, and every fifth request an
/// old report link answered 404 (benign: the service runs PHP, the page is gone).
#[derive(Debug)]
struct LegacyPhp;

impl Actor for LegacyPhp {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let ip = LEGACY_PHP_USERS[cx.rng.below(LEGACY_PHP_USERS.len() as u64) as usize];
        let gone = cx.step.is_multiple_of(5);
        Fields {
            method: "GET",
            path: if gone {
                "/reports/export_2019.php".into()
            } else {
                "/reports/monthly.php".into()
            },
            status: if gone { 404 } else { 200 },
            username: None,
            service: "reports",
            ip: ip.into(),
            user_agent: BROWSER_UAS[0],
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "benign-legacy-php",
            false,
            "ip",
            strings(&LEGACY_PHP_USERS),
            vec![],
        );
    }

    fn starts_at_window(&self) -> bool {
        true
    }
}
