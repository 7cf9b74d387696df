//! Tests of [`super`]'s user-agent side: attack tools, scanners' marks in the URL, internet
//! scanners and surveys that say what they do.

use super::*;

/// A scanner's mark in the URL is its name in the user agent: DFind's and Muieblackcat's probe
/// paths, out-of-band callback domains in a query; a page that merely shares a word is not.
#[test]
fn scanner_marks_in_the_url_are_a_scanner_agent() {
    for (path, query) in [
        ("/w00tw00t.at.ISC.SANS.DFind:)", None),
        ("/W00TW00T.AT.blackhats.romanian.anti-sec:)", None),
        ("//muieblackcat", None),
        ("/acunetix-wvs-test-for-some-inexistent-file", None),
        ("/nmaplowercheck1737282639", None),
        ("/NmapUpperCheck1737282639", None),
        ("/Nmap/folder/check1737282639", None),
        ("/nice%20ports%2C/Tri%6Eity.txt%2ebak", None),
        ("/aaa9", None),
        ("/aab9", None),
        ("/ab2g", None),
        ("/ab2h", None),
        (
            "/api/v1/fetch",
            Some("url=http%3A%2F%2Fd1x2y3.oast.fun%2Fa"),
        ),
        (
            "/api/v1/hook",
            Some("callback=https://abc.burpcollaborator.net/"),
        ),
    ] {
        assert_eq!(
            probe_class(path, query, Some("Mozilla/5.0")),
            Some("scanner-agent"),
            "{path} {query:?}"
        );
    }
    for path in [
        "/blog/w00t-we-shipped",
        "/cats/black-cat",
        "/docs/oast",
        "/docs/nmap-lower-check",
        "/items/aab9",
        "/aab9f3c2",
        "/AAB9",
        "/s/ab2g",
        "/ab2gx",
    ] {
        assert_eq!(probe_class(path, None, None), None, "{path}");
    }
    // Near misses: a library's site, a domain ending like a mark's without its dot.
    for (path, query) in [
        ("/", Some("u=https://toastify.com/docs")),
        ("/api/v1/links", Some("href=mydnslog.cn")),
        ("/w00tw00t", None),
    ] {
        assert_eq!(probe_class(path, query, None), None, "{path} {query:?}");
    }
}

/// Internet-wide scanners and measurement projects that say what they do are scanners whatever
/// their name, and so are counterfeit browsers (`Mozila/5.0`: Sigma's suspicious-agent rule
/// lists the typo too); browsers, AI research crawlers, Google's inspection tool, a web-server
/// survey reading the front door and a declared crawler with the typo are not.
#[test]
fn self_described_internet_scanners_are_a_scanner_agent() {
    for ua in [
        "Mozilla/5.0 (compatible; ModatScanner/1.2; +https://modat.io/)",
        "TBI-WebScanner/0.0.1 (+https://leakix.net/)",
        "Mozilla/5.0 (compatible; pathscan/1.0)",
        "Hello from Palo Alto Networks, find out more about our scans in https://docs-cortex.paloaltonetworks.com/r/1/Cortex-Xpanse/Scanning-activity",
        "censys.io internet census",
        "HTTP Banner Detection (https://security.ipip.net)",
        "Mozila/5.0",
        "Mozlila/5.0 (Linux; Android 7.0; SM-G892A Bulid/NRD90M; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/60.0.3112.107 Moblie Safari/537.36",
        "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
        "Mozilla/5.0 (compatible; InternetMeasurement/1.0; +https://internet-measurement.com/)",
        "NetSystemsResearch studies the availability of various services across the internet. Our website is netsystemsresearch.com",
        "Cloud mapping experiment. Contact research@pdrlabs.net",
        "l9explore/1.3.0",
        "l9tcpid/v1.1.0",
        "lkxscan/v0.1.0 (+https://leakix.net) l9explore/v1.0.0 (+https://github.com/LeakIX/l9explore)",
    ] {
        assert_eq!(
            probe_class("/", None, Some(ua)),
            Some("scanner-agent"),
            "{ua}"
        );
    }
    for ua in [
        "Mozilla/5.0 (compatible; TalarionSearchBot/1.0; research; contact: contact@talarion.tech)",
        "Mozilla/5.0 (compatible) AI2Bot-DeepResearchEval (+https://www.allenai.org/crawler)",
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 (compatible; Google-InspectionTool/1.0;)",
        "SurveyMonkey/1.0",
        "Mozilla/4.0 (compatible; Netcraft Web Server Survey)",
        "Mozilla/5.0 (compatible; NetcraftSurveyAgent/1.0; +info@netcraft.com)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 ScanApp/2.1",
        "ScanSnapHome/2.0",
        "Mozilla/5.0 (compatible; BannerBear/1.0; +https://www.bannerbear.com)",
        "JOSM/1.5 (19253 en) Linux Ubuntu 24.04 LTS (OpenStreetMap mapping editor)",
        "Mozzila/5.0 (compatible; Sonic/1.0; http://www.yama.info.waseda.ac.jp/~crawler/info.html)",
    ] {
        assert_eq!(probe_class("/", None, Some(ua)), None, "{ua}");
    }
}

/// A web-server survey (Netcraft's) reads the front door as a census; the same agent asking
/// for anything else is a scanner's (copied into a botnet's agent list, it would otherwise pass
/// as a declared crawler).
#[test]
fn a_web_server_survey_is_a_scanner_beyond_the_front_door() {
    for ua in [
        "Mozilla/5.0 (compatible; NetcraftSurveyAgent/1.0; +info@netcraft.com)",
        "Mozilla/4.0 (compatible; Netcraft Web Server Survey)",
        "Netcraft SSL Server Survey - contact info@netcraft.com",
    ] {
        for path in ["/", "/robots.txt", "/favicon.ico"] {
            assert_eq!(probe_class(path, None, Some(ua)), None, "{path} {ua}");
        }
        for path in [
            "/wp-login.php",
            "/phpmyadmin/",
            "/server-status",
            "/index.html",
        ] {
            assert_eq!(
                probe_class(path, None, Some(ua)),
                Some("scanner-agent"),
                "{path} {ua}"
            );
        }
    }
    // Not a survey: the word in another sense.
    for ua in ["SurveyMonkey/1.0", "SurveyBuilder/3.2 (iPhone; iOS 17.4)"] {
        assert_eq!(probe_class("/blog/post-1", None, Some(ua)), None, "{ua}");
    }
}
