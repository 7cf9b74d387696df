//! Tests of [`super`]: products, CVEs and consoles found by their endpoints.

use super::*;

#[test]
fn products_and_cves_are_found_by_their_endpoints() {
    for (path, want) in [
        ("/remote/login", Some("fortinet-interface-probing")),
        ("/manager/html", Some("apache-tomcat-manager-login-probing")),
        (
            "/developmentserver/metadatauploader",
            Some("CVE-2025-31324"),
        ),
        ("/_layouts/15/ToolPane.aspx", Some("CVE-2025-53770")),
        ("/unauth/%252e%252e/php/ztp_gate.php", Some("CVE-2025-0108")),
        ("/goanywhere/lic/accept", Some("goanywhere-probing")),
        ("/GoAnywhere/x", Some("goanywhere-probing")),
        ("/+CSCOE+/logon.html", Some("generic-cisco")),
        ("/zimbra/public/login.jsp", Some("zimbra-probing")),
        ("/blog/zimbra-migration", None),
        ("/owa/", Some("microsoft-exchange-probing")),
        ("/owa/auth/x.js", Some("microsoft-exchange-probing")),
        (
            "/dana-na/auth/url_default/welcome.cgi",
            Some("ivanti-connect-secure-probing"),
        ),
        ("/team/dana/", None),
        ("/tag/phoenix/", None),
        ("/docs/integrations/solr/", None),
        ("/autodiscover/autodiscover.json", None),
        ("/api/v1/orders/7", None),
        ("/app/login", None),
        ("/actuator/health/liveness", None),
        ("/", None),
        ("/static/app.js", None),
        ("/wp-includes/css/buttons.css", None),
        ("/wp-content/themes/astra/assets/images/logo.png", None),
        ("/wp-content/plugins/mailpoet/img/Twitter.png", None),
        ("/wp-content/themes/astra/style.css;ver=6.4", None),
        (
            "/wp-content/plugins/revslider/readme.txt",
            Some("wordpress"),
        ),
        ("//blog/WP-Includes/IXR/admin.php", Some("wordpress")),
        (
            "/wp-content/plugins/hellopress/wp_filemanager.php",
            Some("wordpress"),
        ),
        (
            "/wordpress/wp-admin/setup-config.php",
            Some("wordpress-installer"),
        ),
        ("/wp-admin/install.php", Some("wordpress-installer")),
        ("/wp-json/gravitysmtp/v1/tests/mock-data", None),
        ("/phpMyAdmin/index.php", None),
        ("//jmx-console/HtmlAdaptor", Some("jboss-console")),
        ("/manager/status", Some("tomcat-manager-console")),
        ("/manager/text/list", Some("tomcat-manager-console")),
        ("/_profiler/phpinfo", Some("symfony-profiler-console")),
        ("/geoserver", None),
        ("/geoserver/wms", None),
        ("/axis2/services/Version", None),
        ("/hudson/", None),
        ("/geoserver/web/", Some("geoserver-console")),
        ("/webui/", Some("webui")),
        ("/adminer.php", Some("adminer-console")),
        ("/invoker/EJBInvokerServlet", Some("jboss-console")),
        ("/pmaster/report", None),
        ("/webuilder", None),
        ("/blog/phpmyadmin-tips", None),
        ("/docs/geoserver/", None),
        // A listed CVE's URI under WordPress' folders answers with the CVE.
        ("/wp-json/batch/v1", Some("CVE-2026-63030")),
        ("/wp-login.php", None),
        ("/xmlrpc.php", None),
        ("/wp-content/uploads/2019/05/logo.png", None),
        ("/blog/how-wp-includes-works", None),
        // Devices' own pages, at the root only, any case.
        ("/currentsetting.htm", Some("netgear-device")),
        ("//SDK/webLanguage", Some("hikvision-device")),
        ("/webfig/icons.info", Some("mikrotik-device")),
        ("/level/15/exec/-/sh/run/CR", Some("cisco-ios-device")),
        ("/goform/webLogin", Some("goahead-device")),
        ("/boaform/admin/formLogin", Some("boa-device")),
        ("/admin/config.php", Some("freepbx-console")),
        ("/shop/admin/config.php", None),
        ("/HNAP1/", Some("CVE-2019-8318")),
        ("/HNAP1", Some("d-link-hnap-device")),
        ("/cgi-bin/mainfunction.cgi", Some("draytek-device")),
        ("/boafrm/formLogin", Some("boa-device")),
        ("/GponForm/diag_Form", Some("gpon-device")),
        ("/ctrlt/DeviceUpgrade_1", Some("huawei-hg532-device")),
        ("/rom-0", Some("zynos-device")),
        ("/config/getuser", Some("d-link-camera-device")),
        ("/web_shell_cmd.gch", Some("zte-device")),
        ("/shop/config/getuser", None),
        ("/rom-0ld/", None),
        ("/cgi/Resources/List", Some("citrix-gateway-portal")),
        ("/citrix/cgi/Resources/List", Some("citrix-gateway-portal")),
        (
            "/epa/scripts/win/nsepa_setup.exe",
            Some("citrix-gateway-portal"),
        ),
        ("/showLogin.cc", Some("manageengine-portal")),
        ("/SamlResponseServlet", None),
        ("/help/showLogin.cc.html", None),
        ("/dns-query", Some("dns-over-https-resolver")),
        ("/docs/dns-query-guide", None),
        ("/docs/goform", None),
        ("/shop/cgi/resources/list", None),
        ("/webfigures/1.png", None),
        ("/blog/currentsetting.htm", None),
        ("/portal/redlion", Some("red-lion-device")),
        ("/portal/redlion-dealers", None),
        (
            "//a2billing/customer/templates/default/footer.tpl",
            Some("a2billing-console"),
        ),
        (
            "/a2billing/admin/Public/index.php",
            Some("a2billing-console"),
        ),
        ("/a2billing/customer/", None),
        (
            "/Temporary_Listen_Addresses/",
            Some("windows-httpsys-listener"),
        ),
        (
            "/TEMPORARY_LISTEN_ADDRESSES/WSMAN",
            Some("windows-httpsys-listener"),
        ),
        ("/WSMAN/", Some("windows-winrm-endpoint")),
        ("/wsman", Some("windows-winrm-endpoint")),
        ("/docs/wsman", None),
        ("/wsmanual", None),
    ] {
        assert_eq!(known_product(path), want, "{path}");
    }
}

#[test]
fn the_gate_changes_no_answer() {
    let p = products();
    let mut paths = Vec::new();
    for literal in &p.literals {
        paths.push(literal.clone());
        paths.push(format!("{}/x", literal.to_ascii_uppercase()));
        paths.push(format!("/a{literal}"));
        paths.push(literal.trim_end_matches('/').to_owned());
    }
    for path in ["/OWA/auth/x", "/api/OWA/", "/%6fwa/", "//owa/", "/a/b", "/"] {
        paths.push(path.to_owned());
    }
    for path in &paths {
        assert_eq!(find(p, path, true), find(p, path, false), "{path}");
    }
}

/// Lines the loader would skip in silence: every object line of both lists parses, and
/// every `regex` entry compiles.
#[test]
fn every_list_line_is_read() {
    for (text, cve) in [(TECHNOLOGY_PROBING, false), (TRENDY_CVES, true)] {
        for line in text.lines().map(str::trim).filter(|l| l.starts_with('{')) {
            if cve {
                assert!(serde_json::from_str::<CveEntry>(line).is_ok(), "{line}");
                continue;
            }
            let e: TechEntry = serde_json::from_str(line).expect(line);
            assert!(
                ["equals", "contains", "regex"].contains(&e.kind.as_str()),
                "{line}"
            );
            if e.kind == "regex" {
                assert!(regex::Regex::new(&e.pattern).is_ok(), "{line}");
            }
        }
    }
}

#[test]
fn every_left_out_entry_is_in_a_list() {
    // A left-out entry no longer in the lists would be a stale exception.
    let all: Vec<String> = entries::<TechEntry>(TECHNOLOGY_PROBING)
        .map(|e| e.pattern.to_ascii_lowercase())
        .chain(entries::<CveEntry>(TRENDY_CVES).map(|e| e.uri.to_ascii_lowercase()))
        .collect();
    for p in NOT_PRODUCT_SPECIFIC {
        assert!(all.iter().any(|a| a == p), "{p}");
    }
    assert!(products().tags.len() > 350, "{}", products().tags.len());
    assert!(
        products().regexes.is_empty(),
        "every regex entry is a prefix: the gate holds"
    );
    assert!(known_product("/tmui/login.jsp").is_some_and(|t| t.starts_with("f5-")));
}

#[test]
fn every_device_back_end_of_admin_console_probing_is_a_known_product_at_the_root() {
    // `admin-console-probing`'s `device_regex` and `DEVICE_PAGES` name the same back-ends (one
    // anywhere in the path, the other at the root): a back-end added to one only would leave
    // `unserved-technology-probe` blind to it.
    let (_, rule) = crate::pack::BUILTIN
        .iter()
        .find(|(name, _)| *name == "admin-console-probing.toml")
        .expect("admin-console-probing is built in");
    let line = rule
        .lines()
        .find(|l| l.starts_with("device_regex = "))
        .expect("device_regex is a parameter");
    let names = line
        .split_once("/(")
        .and_then(|(_, rest)| rest.split_once(")(/"))
        .map(|(names, _)| names)
        .expect("device_regex is /(a|b|...)(/|...");
    let names: Vec<&str> = names.split('|').collect();
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        let path = format!("/{}", name.replace("\\.", "."));
        let product = known_product(&path);
        assert!(
            product.is_some_and(|p| p.ends_with("-device") || p.starts_with("CVE-")),
            "{path}: {product:?}"
        );
    }
}
