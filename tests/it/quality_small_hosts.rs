//! Real traffic from committed server logs (issue 16), assembled in stop 63 by helpers that read
//! no rules or code, measured first with the rules and binary of the stop's start (`b8908e7`:
//! the figures in each doc comment), then held as floors.

use crate::support::{assert_corpus, BenignHits};

/// The seventy-eighth held-out set (`eval/heldout78`: unread pages of the PHP training site
/// lfphp and the same trainer's phpcl site, both answering every unknown path with their home
/// page, 200, a few bytes longer or shorter each time; 60 attacking and 76 benign clients).
/// First run with `b8908e7`'s rules 24 of 60, none of the 76 benign alerted; now 38: the home
/// page is learned as one page for everything with a 2% size tolerance once one path was
/// answered with two sizes, and one such answer for `/wp-login.php` alerts alone
/// (`unserved-technology-probe`). Missed: lone `/wp-login.php` requests before the page is
/// learned (the log begins mid-stream), `.env` probes answered with the home page, web-shell
/// names asked once.
/// 46 since stop 64: lone WordPress login probes answered with the home page's size before three
/// paths taught the page (the home page's size is the page for every path from the first probe).
/// 48 since stop 65: `.env` probes answered with the home page (`answered_secret_probes`).
/// 53 since stop 68: `GET /wp-login.php` answered with the size of the client's own home page (a
/// site answering every path with it).
#[test]
fn sites_answering_every_path_with_their_home_page_name_wordpress_hunts() {
    assert_corpus(
        "heldout78",
        "labels.jsonl",
        60,
        53,
        &BenignHits::NONE,
        &[
            ("lfphp4.log", "unserved-technology-probe"),
            ("phpcl.log", "unserved-technology-probe"),
        ],
    );
}

/// The seventy-ninth held-out set (`eval/heldout79`: the last unread pages of `ppw-`, among
/// them 45.79.123.76's 301-path probe, and a WordPress host's `nginx_logs`; 58 attacking and
/// 25 benign clients). First run with `b8908e7`'s rules 55 of 58, 2 of 25 benign alerted:
/// `non-http-request` on two clients whose only lines are two TLS handshakes each to the
/// plain-HTTP port (the set's labelling rule calls them benign; the issue asks for repeated
/// ones to alert); unchanged. Missed: a lone `POST /`, a lone `GET /pdown`, a Shodan agent's
/// `GET /`.
#[test]
fn the_last_pages_of_a_probed_server_are_named() {
    assert_corpus(
        "heldout79",
        "labels.jsonl",
        58,
        55,
        &BenignHits {
            max: 2,
            rules: &["non-http-request"],
        },
        &[
            ("ppw5.log", "file-prefix-guessing"),
            ("ppw5.log", "container-api-exposed"),
        ],
    );
}

/// The eightieth held-out set (`eval/heldout80`: committed Apache logs of four repositories no
/// set used: an HTTPS single-page app, a news site, a host under a phpMyAdmin botnet, a student
/// app; 95 attacking and 55 benign clients). First run with `b8908e7`'s rules 13 of 95, none of
/// the 55 benign alerted; now 76: about seventy addresses posting once each to `/phpmyadmin/`
/// in half an hour (`admin-login-distributed`, which names 50 addresses an alert), Nmap's
/// scripts' 404 checks (`probing-attack-tools`). Missed: single product probes on the
/// single-page app before its page is learned (`/owa/`, `/ReportServer`, `/geoserver/web/`),
/// random-path bursts answered 200. 77 since stop 64: a scanning kit's whole-path 404 check
/// (`/aab8`) among random paths is its mark.
/// 78 since stop 64: a GeoServer console probe answered with the home page's size (the home page's
/// size is the page for every path from the first probe).
/// 86 since stop 68: `admin-login-distributed` names up to 500 addresses, not 50 (69 phpMyAdmin
/// guessers), and a scanning kit's `/ab2g` mark.
#[test]
fn a_phpmyadmin_botnet_and_nmaps_scripts_are_named() {
    assert_corpus(
        "heldout80",
        "labels.jsonl",
        95,
        86,
        &BenignHits::NONE,
        &[
            ("errores.log", "admin-login-distributed"),
            ("sslsample.log", "probing-attack-tools"),
        ],
    );
}

/// The eighty-first held-out set (`eval/heldout81`: four committed nginx logs no set used: a
/// Telegram bot's host, a blog on Tencent Cloud, a Django blog, a golf club's first half hour;
/// 28 attacking and 80 benign clients). First run with `b8908e7`'s rules 22 of 28, 1 of 80
/// benign alerted: Netcraft's survey agent asking `/` once (`probing-attack-tools` reads an
/// agent that says it surveys the internet as a scanner's; earlier sets label it either way);
/// unchanged. Since stop 64 a web-server survey asking `/` is a census: none alerted. Missed:
/// Struts' `/index.action` after a malformed agent, a D-Link `getcfg.php`, a UPnP
/// `device_description.xml`, a lone Tomcat manager.
#[test]
fn committed_nginx_logs_of_small_hosts_are_named() {
    assert_corpus(
        "heldout81",
        "labels.jsonl",
        28,
        22,
        &BenignHits::NONE,
        &[
            ("bigfool.log", "non-http-request"),
            ("weibn.log", "open-proxy-probe"),
        ],
    );
}

/// The eighty-second held-out set (`eval/heldout82`: six committed Apache logs: a game clan's
/// site, a Django API, a university data broker, a chat app's API, a small site abused as an
/// open proxy, a 2014 vhost log; 58 attacking and 133 benign clients). First run with
/// `b8908e7`'s rules 52 of 58, 10 of 133 benign alerted, all by `probing-attack-tools`: agents
/// that describe themselves as surveying or scanning the internet for research (Netcraft,
/// pdrlabs' cloud mapping, RWTH, InternetMeasurement, "Research scan") asking `/` (the set
/// labels them benign, earlier sets label Netcraft and pdrlabs attack); unchanged. Since stop 64
/// Netcraft's web-server survey is a census (6 benign alerted: the measurement and mapping
/// projects). Missed:
/// Horde and webmail `README` discovery, phpMyAdmin's `scripts/setup.php`, a lone Tomcat
/// manager.
#[test]
fn committed_apache_logs_and_an_open_proxy_are_named() {
    assert_corpus(
        "heldout82",
        "labels.jsonl",
        58,
        52,
        &BenignHits {
            max: 6,
            rules: &["probing-attack-tools"],
        },
        &[
            ("jpo16.log", "open-proxy-probe"),
            ("nesl.log", "machine-regular-client"),
        ],
    );
}

/// The eighty-third held-out set (`eval/heldout83`: leads heldout81/82 named: further pages of
/// the open proxy's and the clan site's logs, a university's own vulnerability scan of its data
/// broker, a sibling bot's host; 25 attacking and 60 benign clients). First run with
/// `b8908e7`'s rules 23 of 25, 5 of 60 benign alerted, all by `probing-attack-tools`: Netcraft's
/// and pdrlabs' survey agents (the set labels them benign, earlier sets attack); unchanged.
/// Since stop 64 Netcraft's web-server survey is a census (pdrlabs' mapping still alerts: 4).
/// Missed: `GET /wordpress/` after `/` with a bare agent, `/admin/` and `/manager/` asked once
/// each on a site that answers them 200.
#[test]
fn further_pages_of_an_open_proxy_and_a_vulnerability_scan_are_named() {
    assert_corpus(
        "heldout83",
        "labels.jsonl",
        25,
        23,
        &BenignHits {
            max: 4,
            rules: &["probing-attack-tools"],
        },
        &[
            ("jpo16.log", "open-proxy-probe"),
            ("nesl.log", "exploit-payload"),
        ],
    );
}

/// The eighty-fourth held-out set (`eval/heldout84`: committed `nginx_access.log` files of four
/// servers no set used: a fresh VPS's first 28 hours, two Aliyun VMs, an AWS host; 45
/// attacking and 85 benign clients). First run with `b8908e7`'s rules 41 of 45, 1 of 85 benign
/// alerted: the server's own address, written by a scanner into its `MGLNDD_<address>_80`
/// banner and quoted in that scanner's alert, counted as naming the owner; `eval` now counts
/// an address only as a value of its own, and none is alerted. Now 43: LeakIX's banner grab
/// (`l9tcpid`, a TLS handshake and `GET /` a round, hours apart) names a scanner. Missed: a
/// FreePBX `/admin/config.php` with agent `xfa1`, `/bins/` after two `GET /`.
#[test]
fn a_fresh_servers_first_day_is_named_and_its_owner_stays_quiet() {
    assert_corpus(
        "heldout84",
        "labels.jsonl",
        45,
        43,
        &BenignHits::NONE,
        &[
            ("knowledgehub.log", "refused-agent-rotation"),
            ("dmtrack.log", "container-api-exposed"),
        ],
    );
}

/// The eighty-fifth held-out set (`eval/heldout85`: committed nginx-access logs of three servers
/// no set used, a Django blog on AWS, a Laravel forum on Tencent Cloud, a map site on Aliyun,
/// and an unread page of heldout84's Track log; 66 attacking and 124 benign clients). First run
/// with `b8908e7`'s rules 58 of 66, none of the 124 benign alerted; unchanged. Missed: Struts'
/// `/index.action` after a `GET /` whose agent begins with the header's name (`User-Agent:...`),
/// `/phpmyadmin` asked twice with a forged self-referer, a router's `/vpnupload.cgi`, lone
/// `/server-status` and `/rockmongo` probes.
#[test]
fn committed_nginx_access_logs_of_three_servers_are_named() {
    assert_corpus(
        "heldout85",
        "labels.jsonl",
        66,
        58,
        &BenignHits::NONE,
        &[
            ("sorvena.log", "exploit-payload"),
            ("swat.log", "open-proxy-probe"),
        ],
    );
}

/// The eighty-sixth held-out set (`eval/heldout86`: access logs of two Express apps written by
/// morgan, client addresses IPv6-mapped, `::ffff:203.0.113.5`; 10 attacking and 3 benign
/// clients; the vein ran dry). First run with `b8908e7`'s rules 10 of 10, none of the 3 benign
/// alerted; unchanged.
#[test]
fn express_apps_morgan_logs_with_mapped_addresses_are_named() {
    assert_corpus(
        "heldout86",
        "labels.jsonl",
        10,
        10,
        &BenignHits::NONE,
        &[
            ("optarest.log", "endpoint-discovery"),
            ("rjpzgrab.log", "probing-attack-tools"),
        ],
    );
}
