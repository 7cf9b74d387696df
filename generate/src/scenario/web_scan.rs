//! Web scans as the internet sends them: a CMS/framework fingerprinting scanner (WordPress
//! plugins and themes under a path prefix, HEAD and GET, Joomla, Drupal, actuator) and an
//! admin-console prober trying three consoles, both with a browser's user agent. Plus the hard
//! negative that made a real deployment page: a self-hosted app serving its own `.sql` schema
//! to its users with 200.

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan};
use super::agents::BROWSER_UAS;
use super::Def;

/// CMS/framework scanner.
pub const CMS_SCANNER_IP: &str = "192.0.2.240";
/// Admin-console prober.
pub const CONSOLE_PROBER_IP: &str = "192.0.2.241";
/// The app's users that download its schema file (benign).
pub const SCHEMA_USERS: [&str; 4] = ["10.30.0.11", "10.30.0.12", "10.30.0.13", "10.30.0.14"];

/// Fingerprints a CMS scanner walks (a WordPress install under `/blog` is the usual prefix).
const CMS_PATHS: &[&str] = &[
    "/blog/wp-content/plugins/contact-form-7/readme.txt",
    "/blog/wp-content/plugins/revslider/release_log.html",
    "/blog/wp-content/themes/twentytwentyfour/style.css",
    "/blog/xmlrpc.php",
    "/wp-content/plugins/wp-file-manager/readme.txt",
    "/administrator/manifests/files/joomla.xml",
    "/core/CHANGELOG.txt",
    "/actuator/env",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
];

/// Consoles an opportunistic prober tries, a few each.
const CONSOLES: &[&str] = &["/phpmyadmin/", "/pma/index.php", "/remote/login"];

pub(super) const DEF: Def = Def {
    name: "web-scan",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&CmsScanner, p.window(0.6, 2 * 60_000, 0.1), 0.5);
    // Three requests in ten seconds (one every 3.4 s from the window's start), then nothing:
    // below every volume threshold.
    p.add(&ConsoleProber, p.window(0.45, 10_000, 0.01), 0.295);
    p.add(&SchemaDownloads, p.all(), 0.2);
}

#[derive(Debug)]
struct CmsScanner;

impl Actor for CmsScanner {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let path = CMS_PATHS[(cx.step as usize - 1) % CMS_PATHS.len()];
        Fields {
            method: if cx.step.is_multiple_of(3) { "HEAD" } else { "GET" },
            path: path.to_string(),
            status: 404,
            username: None,
            service: "web",
            ip: CMS_SCANNER_IP.into(),
            user_agent: BROWSER_UAS[0],
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "web-scan",
            true,
            "ip",
            strings(&[CMS_SCANNER_IP, CONSOLE_PROBER_IP]),
            vec![],
        );
    }
}

#[derive(Debug)]
struct ConsoleProber;

impl Actor for ConsoleProber {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let path = CONSOLES[(cx.step as usize - 1) % CONSOLES.len()];
        Fields {
            method: "GET",
            path: path.to_string(),
            status: 404,
            username: None,
            service: "web",
            ip: CONSOLE_PROBER_IP.into(),
            user_agent: BROWSER_UAS[2],
        }
    }

    fn label(&self, _l: &mut Labels<'_>) {
        // Labelled with the CMS scanner: one label per scenario.
    }

    fn periodic(&self) -> bool {
        true
    }

    fn starts_at_window(&self) -> bool {
        true
    }
}

/// A self-hosted app's users downloading the schema file it publishes (benign: several
/// clients get the same `.sql` with 200, the signature of a file the app serves).
#[derive(Debug)]
struct SchemaDownloads;

impl Actor for SchemaDownloads {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        let ip = SCHEMA_USERS[cx.rng.below(SCHEMA_USERS.len() as u64) as usize];
        let path = if cx.rng.chance(0.5) {
            "/install/db.sql"
        } else {
            "/docs/getting-started"
        };
        Fields {
            method: "GET",
            path: path.into(),
            status: 200,
            username: None,
            service: "web",
            ip: ip.into(),
            user_agent: BROWSER_UAS[1],
        }
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add("benign-app-serves-sql", false, "ip", strings(&SCHEMA_USERS), vec![]);
    }
}
