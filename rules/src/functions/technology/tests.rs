use super::*;

/// `technology_unserved` over one learner, as a rule's task runs it.
fn site() -> impl FnMut(Option<&str>, &str, i64) -> bool {
    let mut learner = EndpointLearner::default();
    let mut scratch = String::new();
    move |host, tech, status| {
        let reply = Reply {
            status,
            path: "/",
            ..Reply::default()
        };
        technology_unserved(&mut learner, &mut scratch, host, tech, reply)
    }
}

#[test]
fn a_technology_is_unserved_until_the_host_answers_it_with_success() {
    let mut unserved = site();
    let api = Some("api.shop.example");
    assert!(unserved(api, "php", 404));
    assert!(unserved(api, "php", 403));
    assert!(!unserved(api, "php", 500), "a 5xx says nothing");
    assert!(!unserved(api, "php", 301), "a redirect teaches nothing");
    assert!(unserved(api, "php", 410));
    assert!(!unserved(api, "php", 200));
    assert!(!unserved(api, "php", 404), "served once: runs it");
    assert!(!unserved(Some("API.shop.example:443"), "php", 404));
    assert!(unserved(api, "java", 404), "per technology");
    assert!(unserved(Some("203.0.113.9"), "php", 404), "per host");
    assert!(unserved(None, "php", 404));
    assert!(!unserved(None, "php", 304));
    assert!(!unserved(None, "php", 404));
}

#[test]
fn hosts_are_compared_without_port_or_case_and_bounded() {
    let k = |host: &str| {
        let mut out = String::from("left over");
        key(&mut out, Some(host), "php");
        out
    };
    assert_eq!(k("Shop.Example:8443"), "shop.example\0php");
    assert_eq!(k("[2001:db8::1]:80"), "[2001:db8::1]\0php");
    assert_eq!(k("2001:db8::1"), "2001:db8::1\0php");
    assert!(k(&"é".repeat(400)).len() <= MAX_HOST + 4);
}

#[test]
fn a_host_that_redirects_or_fails_everything_has_those_answers_read_as_refusals() {
    let mut unserved = site();
    let port80 = Some("shop.example:80");
    for (host, tech, status, silent, why) in [
        (port80, "php", 301, false, "the first redirect"),
        (port80, "java", 429, false, "a rate limit says something"),
        (port80, "java", 405, false, "so does a method refused"),
        (port80, "wordpress", 301, false, "products: own tally"),
        (
            port80,
            "asp",
            401,
            false,
            "the second: a login for every path says nothing",
        ),
        (port80, "java", 302, true, "the third (SILENT_HOST)"),
        (Some("SHOP.Example"), "php", 301, true, "host, not port"),
        (port80, "php", 503, true, "5xx counts like 3xx"),
        (port80, "php", 400, true, "and so does 400"),
        (port80, "php", 304, false, "a 304 is a success"),
        (port80, "cgi", 301, false, "served: 3xx says nothing"),
        (port80, "cgi", 404, true, "refusals still count"),
    ] {
        assert_eq!(unserved(host, tech, status), silent, "{why}");
    }

    let blog = Some("blog.example");
    assert!(!unserved(blog, "php", 200));
    for tech in ["php", "java", "cgi", "asp", "php"] {
        assert!(
            !unserved(blog, tech, 301),
            "{tech}: a host that serves code"
        );
        assert!(
            !unserved(blog, tech, 500),
            "{tech}: a host that serves code"
        );
    }
    for _ in 1..SILENT_HOST {
        assert!(!unserved(blog, "fortinet-interface-probing", 301));
    }
    assert!(
        unserved(blog, "fortinet-interface-probing", 301),
        "a host that serves code but no product redirects every product's page"
    );
    assert!(!unserved(blog, "exchange", 200));
    assert!(
        !unserved(blog, "fortinet-interface-probing", 301),
        "now it serves one"
    );

    let down = Some("app.example");
    for status in [500, 502, 504]
        .into_iter()
        .cycle()
        .take(SILENT_HOST as usize - 1)
    {
        assert!(!unserved(down, "java", status));
    }
    assert!(unserved(down, "java", 500), "an application down");
}

/// The home page answered with a server error (a proxy whose application is down: 502) three
/// times in a row tells the same as code answered so: the first probe for a console or a
/// script answered the same way is a refusal. A success of the home page starts the count
/// again; 400 (plain HTTP sent to the HTTPS port) and redirects say nothing; a host that served
/// code keeps it served.
#[test]
fn a_host_whose_home_page_fails_is_known_to_answer_everything_so() {
    let mut unserved = site();
    let down = Some("down.example");
    for _ in 0..SILENT_HOST {
        assert!(!unserved(down, HOME_PAGE_TECHNOLOGIES, 502));
        assert!(!unserved(down, HOME_PAGE_PRODUCTS, 502));
    }
    assert!(unserved(down, "php", 502), "the first probe for code");
    assert!(
        unserved(down, "apache-tomcat-manager", 502),
        "the first probe for a console"
    );
    let locked = Some("locked.example");
    for _ in 0..SILENT_HOST {
        assert!(!unserved(locked, HOME_PAGE_TECHNOLOGIES, 401));
    }
    assert!(unserved(locked, "php", 401), "a password for every path");

    let flaky = Some("flaky.example");
    for status in [502, 502, 200, 502, 502] {
        assert!(!unserved(flaky, HOME_PAGE_PRODUCTS, status));
    }
    assert!(
        !unserved(flaky, "apache-tomcat-manager", 502),
        "the home page answered in between: two errors in a row"
    );
    let https_port = Some("https-port.example");
    let moved = Some("moved.example");
    for _ in 0..SILENT_HOST {
        assert!(!unserved(https_port, HOME_PAGE_PRODUCTS, 400));
        assert!(!unserved(moved, HOME_PAGE_TECHNOLOGIES, 301));
        assert!(!unserved(moved, HOME_PAGE_PRODUCTS, 302));
    }
    assert!(
        !unserved(https_port, "apache-tomcat-manager", 502),
        "400 for the home page says nothing"
    );
    assert!(
        !unserved(moved, "php", 301),
        "a redirected home page says nothing"
    );
    let shop = Some("shop.example");
    assert!(!unserved(shop, "php", 200));
    for _ in 0..SILENT_HOST {
        assert!(!unserved(shop, HOME_PAGE_TECHNOLOGIES, 503));
    }
    assert!(
        !unserved(shop, "php", 503),
        "a host that served code, down for a while"
    );
}

/// Hosts whose home page failed are counted for the first [`MAX_HOMES`] a task sees: a flood
/// of ever new `Host` names adds no keys past them.
#[test]
fn home_page_errors_are_kept_for_a_bounded_number_of_hosts() {
    let mut unserved = site();
    for i in 0..MAX_HOMES + 50 {
        let host = format!("h{i}.example");
        assert!(!unserved(Some(&host), HOME_PAGE_PRODUCTS, 502));
    }
    let late = Some("late.example");
    for _ in 0..SILENT_HOST {
        assert!(!unserved(late, HOME_PAGE_PRODUCTS, 502));
    }
    assert!(
        !unserved(late, "apache-tomcat-manager", 502),
        "past the bound, known only from probes (the third)"
    );
}

#[test]
fn a_host_refusing_every_request_by_address_with_400_has_those_answers_read_as_refusals() {
    let mut unserved = site();
    // A Django test server asked by address: `DisallowedHost`, 400, whatever the path.
    let django = Some("54.68.96.53:8080");
    let tomcat = "apache-tomcat-manager-login-probing";
    for tech in [tomcat, "php", "php"] {
        assert!(
            !unserved(django, tech, 400),
            "{tech}: not known to answer all so yet"
        );
    }
    for _ in 2..SILENT_HOST {
        assert!(!unserved(django, tomcat, 400));
    }
    assert!(
        unserved(django, tomcat, 400),
        "the third product request so (SILENT_HOST)"
    );
    assert!(
        unserved(django, "java", 400),
        "code keeps a tally of its own"
    );

    // A console's own password prompt (401) says the console is there: scanners meeting it
    // overnight do not make the host one that answers everything so.
    let tomcat_host = Some("app.example:8080");
    for _ in 0..=SILENT_HOST {
        assert!(
            !unserved(tomcat_host, tomcat, 401),
            "a console's own prompt"
        );
    }
    // Server code behind a password for every path does.
    for _ in 1..SILENT_HOST {
        assert!(!unserved(tomcat_host, "php", 401));
    }
    assert!(
        unserved(tomcat_host, "php", 401),
        "a site behind a password"
    );

    // A site that serves its code: a 400 (a browser's cookies outgrowing the header
    // buffers) says nothing there.
    let shop = Some("shop.example");
    assert!(!unserved(shop, "php", 200));
    for _ in 0..6 {
        assert!(!unserved(shop, "php", 400));
    }
}

#[test]
fn a_host_answering_everything_with_one_page_has_that_page_read_as_a_refusal() {
    let mut learner = EndpointLearner::default();
    let mut scratch = String::new();
    let mut unserved = |host, tech, status, bytes, path| {
        let reply = Reply {
            status,
            bytes,
            path,
            client: None,
        };
        technology_unserved(&mut learner, &mut scratch, host, tech, reply)
    };
    let spa = Some("app.example");
    for (tech, status, bytes, path, want, why) in [
        (
            "php",
            200,
            Some(1337),
            "/wp-login.php",
            false,
            "the first success: learned",
        ),
        (
            "php",
            200,
            Some(1337),
            "/wp-login.php",
            false,
            "the same path again",
        ),
        (
            "php",
            200,
            Some(1337),
            "/xmlrpc.php",
            false,
            "a second path of that size",
        ),
        (
            "php",
            200,
            Some(1337),
            "/admin.php",
            true,
            "a third: one page for everything",
        ),
        (
            "php",
            200,
            Some(1337),
            "/wp-login.php",
            true,
            "then every path of that size",
        ),
        (
            "cgi",
            200,
            Some(1337),
            "/cgi-bin/x.cgi",
            true,
            "whatever the technology",
        ),
        (
            "cgi",
            404,
            None,
            "/y.cgi",
            true,
            "not learned from the page: a refusal counts",
        ),
        (
            "php",
            404,
            None,
            "/z.php",
            false,
            "learned before the page was known",
        ),
        (
            "php",
            200,
            Some(689),
            "/a.php",
            false,
            "the page compressed: a size of its own",
        ),
        ("php", 200, Some(689), "/b.php", false, "..."),
        (
            "php",
            200,
            Some(689),
            "/c.php",
            true,
            "learned the same way",
        ),
        (
            "java",
            304,
            Some(0),
            "/d.jsp",
            false,
            "a 304 says the page is there",
        ),
        (
            "php",
            200,
            Some(7311),
            "/e.php",
            false,
            "another size: a page",
        ),
    ] {
        assert_eq!(unserved(spa, tech, status, bytes, path), want, "{why}");
    }

    let api = Some("api.example");
    for (tech, bytes, path) in [
        ("php", Some(2), "/health.php"),
        ("cgi", Some(2), "/health.cgi"),
        ("java", Some(2), "/health.jsp"),
        ("php", Some(2), "/ping.php"),
        ("php", Some(0), "/a.php"),
        ("php", Some(0), "/b.php"),
        ("php", Some(0), "/c.php"),
        ("php", None, "/d.php"),
    ] {
        assert!(
            !unserved(api, tech, 200, bytes, path),
            "{path}: small or unknown sizes"
        );
    }
    assert!(
        !unserved(Some("other.example"), "cgi", 200, Some(1337), "/x.cgi"),
        "per host"
    );
    let crm = Some("crm.example");
    assert!(
        !unserved(crm, "java", 200, Some(5120), "/crm/home.do"),
        "a page"
    );
    for path in ["/crm/a.do", "/crm/b.do", "/crm/c.do", "/crm/d.do"] {
        assert!(
            !unserved(crm, "java", 200, Some(2214), path),
            "{path}: a login page answered in place of protected pages, on a site whose Java \
             pages have sizes of their own"
        );
    }
    assert!(
        unserved(crm, "php", 200, Some(2214), "/x.php"),
        "but PHP it never served otherwise"
    );
    let fresh = Some("fresh.example");
    for path in [
        "/wp-admin/setup-config.php",
        "/wp-admin/setup-config.php/",
        "/wp-admin/setup-config.php/xmlrpc.php",
        "/wp-admin/SETUP-CONFIG.PHP/wp-json/wp/v2/users/",
        "/WP-ADMIN/setup-config.php",
    ] {
        assert!(
            !unserved(fresh, "php", 200, Some(3314), path),
            "{path}: one script, whatever its path info"
        );
    }
    assert!(
        !unserved(spa, "wordpress", 200, Some(1337), "/wp-includes/x"),
        "products keep their own tally"
    );
}

/// A honeypot or a catch-all `return 200;` answers every path with nothing: three paths teach
/// that the empty answer is the host's page for everything (the same path asked again is one
/// path), and from then on an empty success counts as a refusal. A site whose scripts also
/// answer with content, large or small, keeps the technology served however many of its
/// beacons answer empty.
#[test]
fn a_host_answering_everything_with_nothing_has_that_answer_read_as_a_refusal() {
    let mut learner = EndpointLearner::default();
    let mut scratch = String::new();
    let mut unserved = |host, tech, bytes, path| {
        let reply = Reply {
            status: 200,
            bytes: Some(bytes),
            path,
            client: None,
        };
        technology_unserved(&mut learner, &mut scratch, host, tech, reply)
    };
    let honeypot = Some("203.0.113.7");
    for (tech, path, want, why) in [
        ("php", "/a.php", false, "the first empty answer: learned"),
        ("php", "/a.php", false, "the same path again"),
        (
            "php",
            "/A.PHP",
            false,
            "and again in capitals: still one path",
        ),
        ("php", "/b.php", false, "a second path"),
        (
            "cgi",
            "/cgi-bin/tmUnblock.cgi",
            true,
            "a third: nothing for everything",
        ),
        (
            "php",
            "/phpmyadmin/scripts/setup.php",
            true,
            "then every empty answer",
        ),
    ] {
        assert_eq!(unserved(honeypot, tech, 0, path), want, "{path}: {why}");
    }
    let shop = Some("shop.example");
    assert!(!unserved(shop, "php", 5120, "/index.php"), "a page");
    let api = Some("api.example");
    assert!(!unserved(api, "php", 17, "/status.php"), "a small answer");
    for host in [shop, api] {
        for path in ["/track.php", "/ping.php", "/beacon.php", "/pixel.php"] {
            assert!(
                !unserved(host, "php", 0, path),
                "{path}: PHP answered with content on this host"
            );
        }
    }
    let (mut learner, mut scratch) = (EndpointLearner::default(), String::new());
    for path in ["/a.php", "/b.php", "/c.php", "/d.php"] {
        assert!(
            !technology_unserved(
                &mut learner,
                &mut scratch,
                Some("hooks.example"),
                "php",
                Reply {
                    status: 204,
                    bytes: Some(0),
                    path,
                    client: None,
                }
            ),
            "{path}: a 204 has nothing to send"
        );
    }
}

/// The pack rule's prefilter admits exactly the extensions named here.
#[test]
fn the_rule_prefilter_knows_every_extension() {
    let rule: toml::Value =
        toml::from_str(include_str!("../../../pack/unserved-technology-probe.toml")).unwrap();
    let pattern = rule["params"]["server_code_regex"].as_str().unwrap();
    let re = regex::Regex::new(pattern).unwrap();
    for (ext, _) in EXTENSIONS {
        let path = format!("/a/b.{ext}");
        assert!(re.is_match(&path), "{path}");
        assert!(re.is_match(&format!("{path};jsessionid=1")), "{path}");
    }
    for path in [
        "/a/b.js",
        "/a.php/b",
        "/a/b.phpx",
        "/a/b.json",
        "/a/do",
        "/a/b.pdf",
    ] {
        assert!(!re.is_match(path), "{path}");
    }
}

#[test]
fn technologies() {
    for (path, want) in [
        ("/xmlrpc.php", Some("php")),
        ("/shell.PHP7", Some("php")),
        ("/owa/auth/logon.aspx", Some("aspnet")),
        ("/default.asp", Some("asp")),
        ("/login.action", Some("java")),
        ("/struts2-showcase/index.do", Some("java")),
        ("/cgi-bin/tools/tools.pl", Some("cgi")),
        ("/setup.cgi?next_file=netgear.cfg", Some("cgi")),
        ("/CFIDE/administrator/index.cfm", Some("coldfusion")),
        ("/backup.tar.gz", None),
        ("/api/v1/orders/42", None),
        ("/x.phpinfo", None),
        ("/x.php;a.b", Some("php")),
        ("/x.;jsessionid=1", None),
    ] {
        assert_eq!(server_technology(path), want, "{path}");
    }
}
