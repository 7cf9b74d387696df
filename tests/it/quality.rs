//! Detection quality on material nobody here wrote (`eval/corpus`, issue 16) and crawler
//! impersonation against published ranges.

use std::path::Path;

use crate::support::{alerts_of, assert_corpus_recall, gatewatch, gatewatch_ok};

/// The `share` column of the report row whose name starts with `name`.
fn share(report: &str, name: &str) -> f64 {
    let line = report
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no row {name:?} in:\n{report}"));
    let cols: Vec<&str> = line.split_whitespace().collect();
    // ... share, target (`>= 0.95`: two words), ok
    cols[cols.len() - 4].parse().unwrap()
}

#[test]
fn the_public_corpus_keeps_browsers_quiet_and_finds_ai_agents() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/corpus");
    let out = gatewatch(&["eval", "--corpus", corpus.to_str().unwrap()], None);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Targets of issue 16 where we meet them, floors at today's figures where we do not yet.
    assert!(
        share(&report, "real browsers flagged as AI or bot") <= 0.01,
        "{report}"
    );
    assert!(
        share(&report, "AI vendors' agents (tuning set)") >= 0.95,
        "{report}"
    );
    assert!(
        share(&report, "AI vendors' agents (held out: Matomo") >= 0.90,
        "{report}"
    );
    // A second browser set nobody here tuned to (npm user-agents 2.1.198, minus what the first
    // set holds; an AI vendor's in-app browser among them): none flagged on its first run.
    assert!(
        share(&report, "real browsers (held out 2") <= 0.01,
        "{report}"
    );
    assert!(
        share(&report, "scanner and attack-tool agents") >= 0.9,
        "{report}"
    );
    // The distributed Joomla admin brute force (16 addresses, one try each): every one named.
    assert!(
        report.lines().any(
            |l| l.starts_with("azure-sentinel-apache-joomla-admin-bruteforce.log")
                && l.split_whitespace().nth(1) == Some("16")
                && l.split_whitespace().nth(2) == Some("16")
        ),
        "{report}"
    );
    // Benign application logs: no client gets an alert.
    assert!(!report.contains("false positive:"), "{report}");
    for file in [
        "elastic-examples-apache-semicomplete.log",
        "azure-sentinel-nginx-apt-downloads.log",
    ] {
        assert!(
            report.lines().any(|l| l.starts_with(file)),
            "{file} not replayed:\n{report}"
        );
    }
}

/// The report line under `file`'s row that counts its lines no window saw, if any.
fn not_windowed<'r>(report: &'r str, file: &str) -> Option<&'r str> {
    let mut lines = report.lines().skip_while(|l| !l.starts_with(file)).skip(1);
    lines
        .next()
        .filter(|l| l.trim_start().starts_with("not windowed:"))
}

/// The held-out CrowdSec Hub scenario-test logs (`eval/heldout`): at least the attacking clients
/// named on 2026-12-05 (70 of 73: scans, exploit payloads, syslog-wrapped lines, author walks,
/// web-shell names, open-proxy probes, cache-busting floods, made-up HTTP versions, a command
/// injected into a parameter, a burst of login submissions answered 404, one request each for
/// a Telerik `.axd`, a Confluence `.action` on a site that runs neither), and not one alert on a
/// benign client.
#[test]
fn held_out_scan_logs_keep_their_recall_and_benign_clients_stay_quiet() {
    // The single-request exploit rule and the syslog envelope are what reach most of them.
    let report = assert_corpus_recall(
        "heldout",
        "crowdsec-hub/labels.jsonl",
        73,
        70,
        &[
            // One request line each with `HTTP/1.2` or `HTTP/2.1`.
            ("http-dos-invalid-http-versions.log", "non-http-request"),
            ("apache_log4j2_cve-2021-44228.log", "exploit-payload"),
            ("spring4shell_cve-2022-22965.log", "exploit-payload"),
            ("http-wordpress_wpconfig.log", "cms-framework-scan"),
            ("http-wordpress_user-enum.log", "cms-user-enumeration"),
            ("nginx-http-open-proxy.log", "open-proxy-probe"),
            ("nginx-http-backdoor.log", "probing-attack-tools"),
            ("http-dos-bypass-cache.log", "cache-busting-flood"),
            ("jira_cve-2021-26086.log", "exploit-payload"),
            ("http-cve-probing.log", "cms-framework-scan"),
            // Cacti's `poller_id=;touch test.txt`.
            ("CVE-2022-46169.log", "exploit-payload"),
            // Six POSTs to Ghost's admin session endpoint in one second, each answered 404.
            ("CVE-2022-41697.log", "login-brute-force"),
            // One request each, for code of a technology the site never served.
            ("CVE-2019-18935.log", "unserved-technology-probe"),
            ("CVE-2023-22518.log", "unserved-technology-probe"),
        ],
    );
    // The misses no rule could see are reported as such: a ThinkPHP line logged hours out of
    // order, an Apache error-log line among access-log lines.
    assert_eq!(
        not_windowed(&report, "thinkphp-cve-2018-20062.log").map(str::trim),
        Some("not windowed: 1 late (behind the watermark; see allowed_lateness), 0 malformed"),
        "{report}"
    );
    assert!(
        not_windowed(&report, "apache-cve-2021-41773.log")
            .is_some_and(|l| l.ends_with("1 malformed")),
        "{report}"
    );
}

/// The second held-out set (`eval/heldout2`: fail2ban, Wazuh, OSSEC test lines and benign
/// application logs): at least the 24 of 29 attacking clients named on 2026-12-05 (DFind's and
/// Muieblackcat's marker paths among them), each by the rule that reaches it, and not one alert on a benign client. The set's lines are windowed in
/// their own time (`allowed_lateness` in its corpus.toml: fail2ban's files are concatenated
/// test cases, not one stream).
#[test]
fn second_held_out_set_keeps_its_recall_and_benign_clients_stay_quiet() {
    let report = assert_corpus_recall(
        "heldout2",
        "labels.jsonl",
        29,
        24,
        &[
            // A time-delay SQL injection; an XSS probe whose target holds raw spaces; an RFI.
            ("wazuh-web_rules.log", "exploit-payload"),
            ("ossec-web_rules.log", "exploit-payload"),
            ("fail2ban-php-url-fopen.log", "exploit-payload"),
            // masscan's single banner grab; phpMyAdmin's installer asked once; Jorgee's one
            // HEAD for /phpmyadmin/ (a console's existence checked).
            ("fail2ban-apache-zerotolerance.log", "probing-attack-tools"),
            ("fail2ban-apache-zerotolerance.log", "admin-console-probing"),
            // One missed request each for `.env` or `.flaskenv`.
            ("fail2ban-nginx-env.log", "probing-attack-tools"),
            // One missed request for a CGI program (router worms, cPanel probes, a refused one).
            ("fail2ban-apache-zerotolerance.log", "cms-framework-scan"),
            ("fail2ban-nginx-botsearch.log", "cms-framework-scan"),
            ("fail2ban-nginx-bad-request.log", "cms-framework-scan"),
            // A CONNECT that lies hours before the lines above it in its file.
            ("fail2ban-nginx-bad-request.log", "open-proxy-probe"),
        ],
    );
    // With the set's `allowed_lateness`, every line is windowed.
    assert!(!report.contains("not windowed:"), "{report}");
}

/// The third held-out set (`eval/heldout3`, assembled on 2026-12-05: parser fixtures of
/// request-log-analyzer and apachelogs, MIT): at least the 3 of 5 attacking clients named since
/// (a serialized PHP object in a user agent: Joomla's session exploit; one shop's install file
/// tried under two prefixes; one Gh0st RAT handshake on the HTTP port) and no benign client
/// alerted. Its files are fixtures gathered from several years: the exploit line is dated five
/// months after the lines around it, so the set's `max_time_jump` lets it be windowed in its own
/// time; without it the report says the line was dead-lettered as a time jump, which is what a
/// live stream must do with it.
#[test]
fn third_held_out_set_keeps_its_recall_and_reports_lines_dated_far_ahead() {
    let report = assert_corpus_recall(
        "heldout3",
        "labels.jsonl",
        5,
        3,
        &[
            ("apachelogs-test-strings.log", "exploit-payload"),
            ("apachelogs-test-strings.log", "non-http-request"),
            (
                "request-log-analyzer-apache-combined.log",
                "file-prefix-guessing",
            ),
        ],
    );
    assert!(!report.contains("not windowed:"), "{report}");

    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/heldout3");
    let tmp = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, tmp.path().join(path.file_name().unwrap())).unwrap();
    }
    let manifest = tmp.path().join("corpus.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("\nmax_time_jump = "), "{text}");
    let without: Vec<&str> = (text.lines())
        .filter(|l| !l.starts_with("max_time_jump"))
        .collect();
    std::fs::write(&manifest, without.join("\n")).unwrap();
    let out = gatewatch(&["eval", "--corpus", tmp.path().to_str().unwrap()], None);
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        not_windowed(&report, "apachelogs-test-strings.log").map(str::trim),
        Some("not windowed: 0 late (behind the watermark; see allowed_lateness), 0 malformed, 1 dated far ahead and never confirmed (see max_time_jump)"),
        "{report}"
    );
    assert!(report.contains("missed: 185.234.218.71 "), "{report}");
}

/// The fourth held-out set (`eval/heldout4`, assembled on 2026-12-05: real nginx and Apache
/// lines of pff's block-list tests, apache-log-geo and django-cast): 10 of 23 attacking clients
/// on the first run, 20 since, 21 since stop 63 (LeakIX's `l9explore` names a scanner), no
/// benign client alerted. What the 10 named since show: one line
/// of a scanner cut inside its user agent is still its request (two phpMyAdmin copies, not
/// one), WordPress discovery comes as one or two requests per address, a credentials file is
/// asked for once (`config/aws.yml`) whether or not its name starts with a dot, and IoT botnets
/// hit a router's back-end once (`POST /HNAP1/`, `/boaform/admin/formLogin`), and a product
/// probe is one request for code the site does not run (WSO2's `login.jsp`, Struts'
/// `login.action`).
#[test]
fn fourth_held_out_set_keeps_its_recall_and_benign_clients_stay_quiet() {
    let report = assert_corpus_recall(
        "heldout4",
        "labels.jsonl",
        23,
        21,
        &[
            // RDP and SOCKS5 handshakes and a botnet's command as the request line.
            ("pff-tests.log", "non-http-request"),
            // ThinkPHP's invokefunction, the `/cgi-bin/.%2e/` shell, FortiOS traversals.
            ("pff-tests.log", "exploit-payload"),
            // Two phpMyAdmin copies, one of them on a line cut inside its user agent; one
            // request each for a router's back-end.
            ("pff-tests.log", "admin-console-probing"),
            // `GET /wp-login.php` then `GET /`; one `wlwmanifest.xml`; `xmlrpc.php?rsd`.
            ("pff-tests.log", "cms-framework-scan"),
            ("apache-log-geo-access.log", "cms-framework-scan"),
            // One `//config/aws.yml`.
            ("pff-tests.log", "probing-attack-tools"),
            // `/carbon/admin/login.jsp`, `/login.action`: one 404 each, no Java page served.
            ("pff-tests.log", "unserved-technology-probe"),
        ],
    );
    // The cut line is decoded, not dead-lettered.
    assert!(!report.contains("not windowed:"), "{report}");
}

/// The fifth held-out set (`eval/heldout5`: logswan's own site log, the start of ddoser's flood
/// sample): its 7 benign clients (curl and wget downloads, Lynx, Dillo, NetSurf readers) stay
/// quiet. Its one attacker, a `GET /` flood from one address, is `request-flood`'s, which ships
/// off (it reads every GET): the default pack misses it, a copy with the rule on names it and
/// still leaves the benign clients alone.
#[test]
fn fifth_held_out_set_keeps_its_benign_clients_quiet_and_the_flood_rule_names_its_flood() {
    assert_corpus_recall("heldout5", "labels.jsonl", 1, 0, &[]);

    let tmp = tempfile::tempdir().unwrap();
    let pack = pack_with_enabled(tmp.path(), "request-flood");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/heldout5");
    let out = gatewatch(
        &[
            "eval",
            "--corpus",
            corpus.to_str().unwrap(),
            "--rules",
            pack.to_str().unwrap(),
        ],
        None,
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("ddoser-data-access.log") && l.contains("request-flood")),
        "{report}"
    );
    let total = report.lines().find(|l| l.starts_with("all of")).unwrap();
    assert!(
        total.contains("(0 of 7 benign clients alerted)"),
        "{report}"
    );
}

/// A Kong line with a user agent.
fn kong_ua(t_s: i64, ip: &str, ua: &str) -> String {
    let t = crate::support::EPOCH + t_s * 1000;
    format!(
        r#"{{"started_at":{t},"client_ip":"{ip}","request":{{"method":"GET","uri":"/api/v1/products/{t_s}","headers":{{"user-agent":"{ua}"}}}},"response":{{"status":200,"size":900}}}}"#
    )
}

/// `user-agent-rotation` ships off (it reads every row): the built-in pack stays silent on a
/// client with a new agent per request, and an exported copy with `enabled = true` names it.
#[test]
fn user_agent_rotation_is_off_by_default_and_runs_once_enabled() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("rotation.log");
    let lines: Vec<String> = (0..12)
        .map(|i| {
            kong_ua(
                i,
                "198.51.100.7",
                &format!("Mozilla/5.0 (X11; rv:{i}.0) Firefox/{i}.0"),
            )
        })
        .collect();
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let rotation = |more: &[&str]| {
        let mut args = vec!["run", "-i", log.to_str().unwrap()];
        args.extend_from_slice(more);
        let out = gatewatch(&args, None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        crate::support::alerts_of(&out)
            .iter()
            .filter(|a| a["rule_id"] == "user-agent-rotation")
            .count()
    };
    assert_eq!(rotation(&[]), 0);
    let pack = pack_with_enabled(tmp.path(), "user-agent-rotation");
    assert_eq!(rotation(&["--rules", pack.to_str().unwrap()]), 1);
}

/// The built-in pack exported to `dir/pack` with `rule`, which ships off, turned on.
fn pack_with_enabled(dir: &Path, rule: &str) -> std::path::PathBuf {
    let pack = dir.join("pack");
    assert!(
        gatewatch(&["rules", "export", pack.to_str().unwrap()], None)
            .status
            .success()
    );
    let file = pack.join(format!("{rule}.toml"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\nenabled = false\n"), "{rule} ships on");
    std::fs::write(
        &file,
        text.replace("\nenabled = false\n", "\nenabled = true\n"),
    )
    .unwrap();
    pack
}

#[test]
fn a_crawler_claimed_from_outside_its_published_ranges_is_impersonation() {
    let tmp = tempfile::tempdir().unwrap();
    let ranges = tmp.path().join("ranges");
    std::fs::create_dir(&ranges).unwrap();
    // Google's googlebot.json shape, with documentation prefixes.
    std::fs::write(
        ranges.join("google-crawler.json"),
        r#"{"creationTime":"2026-12-01T00:00:00.000000","prefixes":[{"ipv4Prefix":"192.0.2.0/24"},{"ipv6Prefix":"2001:db8:4801::/48"}]}"#,
    )
    .unwrap();
    let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    let mut log = String::new();
    for i in 0..10 {
        log.push_str(&kong_ua(i * 5, "192.0.2.10", googlebot));
        log.push('\n');
        log.push_str(&kong_ua(i * 5 + 1, "203.0.113.66", googlebot));
        log.push('\n');
        log.push_str(&kong_ua(i * 5 + 2, "2001:db8:4801::7", googlebot));
        log.push('\n');
    }
    // One request is already a lie.
    log.push_str(&kong_ua(53, "198.51.100.9", googlebot));
    log.push('\n');
    let input = tmp.path().join("kong.log");
    std::fs::write(&input, &log).unwrap();
    let args = [
        "run",
        "-i",
        input.to_str().unwrap(),
        "--crawler-ranges",
        ranges.to_str().unwrap(),
        "--no-summary",
    ];
    let out = gatewatch_ok(&args, None);
    let alerts: Vec<_> = alerts_of(&out)
        .into_iter()
        .filter(|a| a["rule_id"] == "crawler-impersonation")
        .collect();
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    let count = |ip: &str| {
        (alerts.iter())
            .find(|a| a["entity"] == ip)
            .map(|a| a["event_count"].clone())
    };
    assert_eq!(count("203.0.113.66"), Some(10.into()), "{alerts:#?}");
    assert_eq!(count("198.51.100.9"), Some(1.into()), "{alerts:#?}");

    // Without ranges nothing can be checked, so nothing is claimed spoofed.
    let out = gatewatch(&args[..3], None);
    assert!(!alerts_of(&out)
        .iter()
        .any(|a| a["rule_id"] == "crawler-impersonation"));

    // A file named after no known crawler is an error that says what to name it.
    std::fs::write(ranges.join("googlebot.txt"), "192.0.2.0/24\n").unwrap();
    let out = gatewatch(&args, None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("googlebot") && err.contains("google-crawler"),
        "{err}"
    );
}

/// `eval --corpus` loads crawler ranges as `run` does: with Google's ranges (here one of its
/// published prefixes) fail2ban's fake Googlebot, one request from a documentation address, is
/// named; without ranges it cannot be.
#[test]
fn eval_checks_crawler_claims_against_the_ranges_it_is_given() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("google-crawler.json"),
        r#"{"creationTime":"2026-12-01T00:00:00.000000","prefixes":[{"ipv4Prefix":"66.249.64.0/19"}]}"#,
    )
    .unwrap();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/heldout2");
    let mut args = vec!["eval", "--corpus", corpus.to_str().unwrap()];
    let named = |out: &std::process::Output| {
        String::from_utf8_lossy(&out.stdout).lines().any(|l| {
            l.starts_with("fail2ban-apache-fakegooglebot.log")
                && l.contains("crawler-impersonation")
        })
    };
    let without = gatewatch(&args, None);
    assert!(
        without.status.success(),
        "{}",
        String::from_utf8_lossy(&without.stderr)
    );
    assert!(
        !named(&without),
        "{}",
        String::from_utf8_lossy(&without.stdout)
    );
    args.extend(["--crawler-ranges", tmp.path().to_str().unwrap()]);
    let out = gatewatch(&args, None);
    assert!(named(&out), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn rules_crawlers_lists_ids_and_sources() {
    let out = gatewatch(&["rules", "crawlers"], None);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("google-crawler\thttps://")),
        "{text}"
    );
    assert!(text.lines().all(|l| l.split('\t').count() == 2), "{text}");
}

/// The sixth held-out set (`eval/heldout6`, assembled on 2026-12-05: real lines administrators
/// pasted into Stack Exchange questions, CC BY-SA): all 10 attacking clients named on the first
/// run (binary payloads on the HTTP port, open-proxy ad fraud with absolute URIs, a `CONNECT`,
/// Shellshock in a user agent, a WordPress login brute force without a user agent), and its
/// search-engine crawlers (one testing for soft 404s with a made-up page name) stay quiet.
#[test]
fn sixth_held_out_set_names_every_attacker_and_leaves_crawlers_alone() {
    assert_corpus_recall(
        "heldout6",
        "labels.jsonl",
        10,
        10,
        &[
            ("webmasters-7537.log", "non-http-request"),
            ("securityse-191731.log", "non-http-request"),
            ("serverfault-605343.log", "open-proxy-probe"),
            ("stackoverflow-28115717.log", "exploit-payload"),
            ("superuser-831957.log", "login-brute-force"),
        ],
    );
}

/// The seventh held-out set (`eval/heldout7`, assembled on 2026-12-05: more Stack Exchange
/// pastes, CC BY-SA): the 3 clients sending binary junk to the HTTP port are named on the first
/// run; the referrer-spam bot (four browser strings on `GET /` in two seconds) is not, and is
/// reported as missed.
#[test]
fn seventh_held_out_set_names_the_binary_junk_and_reports_the_referrer_spam_missed() {
    let report = assert_corpus_recall(
        "heldout7",
        "labels.jsonl",
        4,
        3,
        &[
            ("serverfault-438909.log", "non-http-request"),
            ("serverfault-480126.log", "non-http-request"),
        ],
    );
    assert!(report.contains("missed: 94.181.76.169 "), "{report}");
}

/// The eighth held-out set (`eval/heldout8`, assembled on 2026-12-05 from CrowdSec hub scenario
/// tests not in the first set, MIT): 4 of 7 attacking clients named on the first run (Grafana's
/// plugin traversal twice, CrowdSec's own technology-probing fixtures: an ACTi camera CGI and
/// Adobe AEM's package manager), none of its 5 benign clients. Missed and reported: a login
/// burst of 7 within 3 seconds, touching 4 (below `login-brute-force`'s 2 per second touched),
/// and two Matrix homeservers asking for federation discovery.
#[test]
fn eighth_held_out_set_names_exploits_and_product_probes() {
    let report = assert_corpus_recall(
        "heldout8",
        "crowdsec-hub/labels.jsonl",
        7,
        4,
        &[
            ("grafana_cve-2021-43798.log", "exploit-payload"),
            ("http-technology-probing.log", "unserved-technology-probe"),
        ],
    );
    assert!(report.contains("missed: 1.2.3.4 "), "{report}");
}

/// The ninth held-out set (`eval/heldout9`, assembled on 2026-12-05: CrowdSec's first-generation
/// HTTP scenario tests replayed as NGINX lines, MIT): every attacking client named, among them
/// the aggressive crawl (`machine-regular-client`) and DFind's `w00tw00t` probe.
#[test]
fn ninth_held_out_set_names_every_attacker_the_crawl_and_dfind_among_them() {
    assert_corpus_recall(
        "heldout9",
        "crowdsec-scenario-tests/labels.jsonl",
        18,
        18,
        &[
            ("http-crawl-non_statics.log", "machine-regular-client"),
            ("http-w00tw00t.log", "probing-attack-tools"),
            ("http-xss-probing.log", "probing-attack-tools"),
        ],
    );
}
