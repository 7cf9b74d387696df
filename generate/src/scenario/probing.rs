//! Probing: a scanner requesting `/.env`, `/.git/config`, admin consoles and injection
//! payloads, alternating its own user agent with a browser's.

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan};
use super::agents::BROWSER_UAS;
use super::Def;

/// Scanner address.
pub const PROBER_IP: &str = "192.0.2.250";
const SCANNER_UA: &str =
    "Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))";

/// What a scanner requests (path with query, user agent is the scanner's or a browser's).
const PROBES: &[&str] = &[
    "/.env",
    "/.git/config",
    "/wp-admin/",
    "/phpmyadmin/index.php",
    "/backup.sql.gz",
    "/.aws/credentials",
    "/api/v1/files?path=..%2f..%2f..%2fetc%2fpasswd",
    "/api/v1/search?q=%27%20OR%201%3D1--",
    "/api/v1/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/1337.php",
    "/.htpasswd",
    "/admin/login",
];

pub(super) const DEF: Def = Def {
    name: "probing",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&Prober, p.window(0.8, 60_000, 0.1), 1.0);
}

#[derive(Debug)]
struct Prober;

impl Actor for Prober {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let path = PROBES[(cx.step as usize - 1) % PROBES.len()];
        let user_agent = if cx.step.is_multiple_of(2) {
            SCANNER_UA
        } else {
            BROWSER_UAS[2]
        };
        Fields {
            method: "GET",
            path: path.to_string(),
            status: 404,
            username: None,
            service: "web",
            ip: PROBER_IP.into(),
            user_agent,
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add("probing", true, "ip", strings(&[PROBER_IP]), vec![]);
    }
}
