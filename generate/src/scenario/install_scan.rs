//! A scanner looking for where a shop application was installed: it asks for the application's
//! tell-tale files under each usual prefix (`/shop/install.txt`, `/store/install.txt`,
//! `/cart/admin/login.php`, ...), every answer a 404, with a browser's user agent and no other
//! sign of a tool. Plus the hard negative that looks like it: visitors of pages whose logo and
//! print stylesheet are missing, fetched relative to each section, so the same file name 404s
//! under several directories.

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan};
use super::agents::BROWSER_UAS;
use super::Def;

/// Install-location scanner.
pub const INSTALL_SCANNER_IP: &str = "192.0.2.238";
/// Visitors of pages with missing relative assets (benign).
pub const BROKEN_ASSET_USERS: [&str; 3] = ["10.40.0.21", "10.40.0.22", "10.40.0.23"];

/// Where shop software is usually installed.
const PREFIXES: &[&str] = &["/shop", "/store", "/cart", "/catalog", "/oscommerce"];
/// Files that tell the software and its version.
const FILES: &[&str] = &["install.txt", "admin/login.php", "includes/version.php"];
/// Site sections whose pages load their assets relative to themselves.
const SECTIONS: &[&str] = &["/docs", "/blog", "/help"];
/// The missing assets.
const ASSETS: &[&str] = &["img/logo.png", "css/print.css"];

pub(super) const DEF: Def = Def {
    name: "install-scan",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    // Fifteen requests in 30 seconds: one file under every prefix, then the next file.
    p.add(&InstallScanner, p.window(0.55, 30_000, 0.05), 0.5);
    p.add(&BrokenAssets, p.all(), 0.1);
}

#[derive(Debug)]
struct InstallScanner;

impl Actor for InstallScanner {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let n = cx.step as usize - 1;
        let prefix = PREFIXES[n % PREFIXES.len()];
        let file = FILES[(n / PREFIXES.len()) % FILES.len()];
        Fields {
            method: "GET",
            path: format!("{prefix}/{file}"),
            status: 404,
            username: None,
            service: "web",
            ip: INSTALL_SCANNER_IP.into(),
            user_agent: BROWSER_UAS[2],
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "install-scan",
            true,
            "ip",
            strings(&[INSTALL_SCANNER_IP]),
            vec![],
        );
    }
}

/// Readers of pages in several sections, each page's missing logo and print stylesheet 404ing
/// under its own directory (benign: a broken page, not a probe).
#[derive(Debug)]
struct BrokenAssets;

impl Actor for BrokenAssets {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let ip = BROKEN_ASSET_USERS[cx.rng.below(BROKEN_ASSET_USERS.len() as u64) as usize];
        let section = SECTIONS[cx.rng.below(SECTIONS.len() as u64) as usize];
        let asset = ASSETS[cx.rng.below(ASSETS.len() as u64) as usize];
        Fields {
            method: "GET",
            path: format!("{section}/{asset}"),
            status: 404,
            username: None,
            service: "web",
            ip: ip.into(),
            user_agent: BROWSER_UAS[1],
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "benign-broken-assets",
            false,
            "ip",
            strings(&BROKEN_ASSET_USERS),
            vec![],
        );
    }
}
