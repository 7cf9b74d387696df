//! Real traffic from committed server logs (issue 16), assembled in stop 69 by helpers that read
//! no rules or code: pages earlier sets named as not read (AsiaToken's Windows Apache log,
//! mailoon, SGPD_OS, chaofanonline, Bomberos, backend_sumi) and five repositories no set had used
//! (pushell, openresty_conf, aws_cloud_docker, GameStocker, a museum ticket site). Each set was
//! measured first with the rules and binary of the stop's start (`516da0b`: the figures in each
//! doc comment; the second round, heldout132-135, was started when the head detected the same),
//! then held as floors. Every benign client alerted is `non-http-request` on bare TLS
//! ClientHellos to the plain-HTTP port, which the helpers label benign and the issue a scan.

use crate::support::{assert_corpus, BenignHits};

/// Bare TLS ClientHellos to the plain-HTTP port: benign for the helpers, a scan for the issue.
const TLS_HELLOS: &[&str] = &["non-http-request"];

/// `eval/heldout128`: thirteen more of AsiaToken's unread pages (twelve weeks of 2023, one
/// repository; 117 attacking and 180 benign clients). First run 103 of 117; 6 benign alerted
/// (two TLS ClientHellos then `GET /`). 106 since: SSTP VPN probes, ManageEngine's login page
/// and SAML endpoint. Missed: lone `/actuator/health`, `/dist/`, `/api/v1` requests.
#[test]
fn a_windows_apache_logs_later_weeks_are_named() {
    assert_corpus(
        "heldout128",
        "labels.jsonl",
        117,
        106,
        &BenignHits {
            max: 6,
            rules: TLS_HELLOS,
        },
        &[
            ("asiatoken128.log", "probing-attack-tools"),
            ("asiatoken128.log", "unserved-technology-probe"),
        ],
    );
}

/// `eval/heldout129`: mailoon's unread pages and one DeztinysDessertz client (60 attacking and
/// 29 benign clients, two repositories). First run 53 of 60, no benign alerted. 55 since: an
/// SSTP VPN probe, Citrix Gateway's EPA installer asked with `HEAD`. Missed: raw `test` banner
/// probes, a lone `/login`.
#[test]
fn an_nginx_logs_unread_pages_are_named() {
    assert_corpus(
        "heldout129",
        "labels.jsonl",
        60,
        55,
        &BenignHits::NONE,
        &[
            ("mailoon5.log", "exploit-payload"),
            ("dezt4.log", "probing-attack-tools"),
        ],
    );
}

/// `eval/heldout130`: SGPD_OS's nights (a Django site answering 400 to requests by address and
/// one 2,374-byte page to most others) and chaofanonline (59 attacking and 81 benign clients).
/// First run 33 of 59, no benign alerted. Missed: a botnet's single `/<dir>/license.txt` each
/// (15 addresses, one agent, half an hour apart), lone `python-requests` `POST /`, a FortiOS
/// `PUT /api/v2/cmdb/system/admin/admin`, probes answered with the catch-all page before it was
/// learned.
/// 51 since stop 70: the `license.txt` botnet, one folder every three hours
/// (`distributed-file-sweep`), a DNS-over-HTTPS probe met by the `400` page.
#[test]
fn a_django_sites_nights_are_named() {
    assert_corpus(
        "heldout130",
        "labels.jsonl",
        59,
        51,
        &BenignHits::NONE,
        &[
            ("sgpd130.log", "exploit-payload"),
            ("chaofan130.log", "unserved-technology-probe"),
        ],
    );
}

/// `eval/heldout131`: four repositories no set had used (pushell, a web console answering 500 to
/// every outside request; openresty_conf; aws_cloud_docker; GameStocker's first day; 74
/// attacking and 50 benign clients). First run 63 of 74; 1 benign alerted (TLS ClientHellos).
/// 65 since: a device login with its password in the query answered 200, Tomcat's manager on
/// the host whose home page fails. Missed: a `curl` loop posting to `/` (judgement calls), a
/// DrayTek exploit answered 502.
/// 66 since stop 70: DrayTek's `/cgi-bin/mainfunction.cgi` (a device's page).
#[test]
fn four_new_repositories_are_named() {
    assert_corpus(
        "heldout131",
        "labels.jsonl",
        74,
        66,
        &BenignHits {
            max: 1,
            rules: TLS_HELLOS,
        },
        &[
            ("openresty.log", "open-proxy-probe"),
            ("pushell.log", "unserved-technology-probe"),
            ("gamestocker.log", "cms-framework-scan"),
            ("awsdocker.log", "admin-console-probing"),
        ],
    );
}

/// `eval/heldout132`: openresty_conf's unread days (an Alibaba Cloud server, October-November
/// 2021; 73 attacking and 66 benign clients, one repository). First run 67 of 73; 2 benign
/// alerted (TLS ClientHellos). Missed: lone `/phpmyadmin/`, `/PSIA/index`, `/recordings/`,
/// `/script`.
#[test]
fn an_openresty_servers_unread_days_are_named() {
    assert_corpus(
        "heldout132",
        "labels.jsonl",
        73,
        67,
        &BenignHits {
            max: 2,
            rules: TLS_HELLOS,
        },
        &[
            ("openresty2.log", "exploit-payload"),
            ("openresty2.log", "open-proxy-probe"),
        ],
    );
}

/// `eval/heldout133`: GameStocker's, pushell's and aws_cloud_docker's unread pages and a museum
/// ticket site's log no set had used (89 attacking and 102 benign clients, four repositories).
/// First run 61 of 89; 2 benign alerted (TLS ClientHellos). 64 since: JBoss' invoker servlet
/// on pushell's host, whose home page fails; DrayTek's `mainfunction.cgi` posted twice and
/// abandoned (499). Missed: pushell's 500s for single phpMyAdmin and Struts probes, a DrayTek
/// exploit answered 502, single `curl` `POST /` (judgement calls), a Spring Boot actuator sweep
/// redirected by the plain-HTTP listener.
/// 66 since stop 70: a phpMyAdmin release folder in a `HEAD` sweep, Hikvision's `/SDK/webLanguage`.
#[test]
fn a_museum_site_and_three_known_repositories_later_pages_are_named() {
    assert_corpus(
        "heldout133",
        "labels.jsonl",
        89,
        66,
        &BenignHits {
            max: 2,
            rules: TLS_HELLOS,
        },
        &[
            ("museum133.log", "probing-attack-tools"),
            ("gamestocker133.log", "cms-framework-scan"),
            ("pushell133.log", "unserved-technology-probe"),
        ],
    );
}

/// `eval/heldout134`: SGPD_OS's three more nights, Bomberos and backend_sumi pages earlier sets
/// named as not read (91 attacking and 89 benign clients, three repositories). First run 71 of
/// 91; 1 benign alerted (two TLS alert records).
/// 77 since stop 70: the `license.txt` botnet (`distributed-file-sweep`), a DNS-over-HTTPS probe
/// met by the `400` page.
#[test]
fn three_more_nights_of_a_django_site_are_named() {
    assert_corpus(
        "heldout134",
        "labels.jsonl",
        91,
        77,
        &BenignHits {
            max: 1,
            rules: TLS_HELLOS,
        },
        &[
            ("sgpd134.log", "exploit-payload"),
            ("bomberos134.log", "exploit-payload"),
            ("sumi134.log", "unserved-technology-probe"),
        ],
    );
}

/// `eval/heldout135`: AsiaToken's and mailoon's pages heldout128 and 129 named as not read (115
/// attacking and 153 benign clients, two repositories). First run 98 of 115; 7 benign alerted
/// (TLS ClientHello fragments then `GET /`).
#[test]
fn two_logs_remaining_pages_are_named() {
    assert_corpus(
        "heldout135",
        "labels.jsonl",
        115,
        98,
        &BenignHits {
            max: 7,
            rules: TLS_HELLOS,
        },
        &[
            ("asiatoken135.log", "probing-attack-tools"),
            ("mailoon135.log", "exploit-payload"),
        ],
    );
}
