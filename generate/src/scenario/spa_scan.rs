//! A scanner against a single-page app whose server answers every path with its `index.html`
//! (200, always the same size): the scan must be reported, but no secret leaked, so the critical
//! `sensitive-file-exposed` must stay quiet (the eval checks both).

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan};
use super::Def;

/// Scanner of the single-page app.
pub const SPA_SCANNER_IP: &str = "192.0.2.243";
/// Size of the app's `index.html`, the answer to every path.
const INDEX_HTML_BYTES: u32 = 1_834;
const SCANNER_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

const PATHS: &[&str] = &[
    "/",
    "/.env",
    "/.git/config",
    "/backup.zip",
    "/wp-config.php.bak",
    "/.aws/credentials",
    "/db.sql",
    "/.env.production",
];

pub(super) const DEF: Def = Def {
    name: "spa-scan",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&SpaScanner, p.window(0.3, 60_000, 0.05), 0.5);
}

#[derive(Debug)]
struct SpaScanner;

impl Actor for SpaScanner {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        cx.body_bytes = Some(INDEX_HTML_BYTES);
        Fields {
            method: "GET",
            path: PATHS[(cx.step as usize - 1) % PATHS.len()].to_string(),
            status: 200,
            username: None,
            service: "spa",
            ip: SPA_SCANNER_IP.into(),
            user_agent: SCANNER_UA,
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add("spa-scan", true, "ip", strings(&[SPA_SCANNER_IP]), vec![]);
    }
}
