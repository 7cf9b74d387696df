//! Known products' own endpoints: the login panels, consoles and APIs of products that
//! internet scanners look for one request at a time (`/webmin/`, `/owa/`, `/remote/login`,
//! `/_ignition/execute-solution`), and the URIs of recently exploited CVEs. A request for one
//! on a site that does not run the product finds nothing, and nobody who uses the site has a
//! link to it. `unserved-technology-probe` learns per host which products a site serves, with
//! the stateful `technology_unserved`, keyed by what [`known_product`] answers.
//!
//! Lists: CrowdSec's sec-lists (MIT, `rules/data/sec-lists/`): `technology_probing.json`
//! (product panels, each with a tag and `equals`/`contains`/`regex` matching) and
//! `trendy_cves_uris.json` (exploited CVEs' URIs, matched as `contains`); and, which those
//! lists do not carry, WordPress' own code folders and installer ([`WORDPRESS_ENDPOINTS`],
//! [`WORDPRESS_INSTALLER`]), server consoles ([`SERVER_CONSOLES`]), devices' own pages
//! ([`DEVICE_PAGES`]) and remote-access portals ([`PORTAL_PAGES`]). A few list entries name
//! routes that many ordinary applications have (`/users/new`, `/app/login`,
//! `/actuator/health`): they are left out ([`NOT_PRODUCT_SPECIFIC`]), since a miss on one says
//! nothing about a product.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

const TECHNOLOGY_PROBING: &str = include_str!("../../data/sec-lists/technology_probing.json");
const TRENDY_CVES: &str = include_str!("../../data/sec-lists/trendy_cves_uris.json");

/// List entries left out, lower-cased: routes of ordinary applications and frameworks, not of
/// one product (a Rails app's `/users/new`, any SPA's `/app/login` or i18n file, Spring Boot's
/// health check that Kubernetes probes ask every few seconds), short directory names that
/// ordinary APIs use too (`/sap/`, `/wps/`, `/ssf/`), and the query-only `?%ad` (PHP-CGI's
/// argument injection, `exploit-payload`'s).
pub const NOT_PRODUCT_SPECIFIC: &[&str] = &[
    "/actuator/health",
    "/admin/auth/login",
    "/admin/folder.do",
    "/admin/index/login.html",
    "/admin/spider.php",
    "/api/v1/serverinfo",
    "/app/login",
    // Outlook asks every mail domain's web site for it (Autodiscover's lookup order), whatever
    // the site runs: a company's users make the site answer it 404 all day.
    "/autodiscover/autodiscover.json",
    "/authorization.do",
    "/cas/login",
    "/clusters/local",
    "/console/login/",
    "/directory/login/login.aspx",
    "/events/eventrsvp.aspx",
    "/exchange/index.html",
    "/front/privatelogin.jsp",
    "/go/auth/login",
    "/iam/login",
    "/library/login",
    "/locales/en/translation.json",
    "/login/login.jsp",
    "/login/sls/auth",
    "/lui/",
    "/manager/login.aspx",
    "/mlb/",
    "/mt/admin",
    "/nds",
    "/sap/",
    "/search/admin/admin.php",
    "/server/apps/login.php",
    "/ssf/",
    "/sws/index.html",
    "/templates/login.php",
    "/users/new",
    "/web/login",
    "/webapi/ping",
    "/wfc/",
    "/wps/",
    "?%ad",
];

/// Endpoints of WordPress, the product internet scanners look for most, which CrowdSec's lists
/// leave to their CMS scenarios: its code folders under any prefix (`/blog/wp-includes/`), since
/// WordPress is often installed in a folder, as `wordpress`. Not their images, fonts, style
/// sheets and scripts (newsletters and pages elsewhere embed a theme's or a plugin's images by
/// address, and mail clients fetch them without a `Referer` for years after a site left
/// WordPress); not its login (`/wp-login.php`), `xmlrpc.php` or REST API (`/wp-json/`), which a
/// former owner's bookmark, other blogs' pingbacks, Jetpack and the WordPress apps keep asking
/// for; not `/wp-content/uploads/`.
pub const WORDPRESS_ENDPOINTS: &[&str] = &[
    "/wp-includes/",
    "/wp-content/plugins/",
    "/wp-content/mu-plugins/",
    "/wp-content/themes/",
];

/// WordPress' installer, under any prefix, as `wordpress-installer`: nobody but its owner, once,
/// during installation, asks for it; bots sweep for an unconfigured WordPress to take over.
pub const WORDPRESS_INSTALLER: &[&str] = &["/wp-admin/setup-config.php", "/wp-admin/install.php"];

/// Extensions of static files (images, fonts, style sheets, scripts), as `url_extension` names
/// them: under WordPress' folders they are not counted as asking for WordPress (see
/// [`WORDPRESS_ENDPOINTS`]).
const STATIC_FILES: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "css", "js", "map", "woff", "woff2",
    "ttf", "eot", "otf",
];

/// Web consoles of server software, at the root (`/jmx-console/HtmlAdaptor`, `/adminer.php`,
/// `/geoserver/web/`), with the product each names (a console's name ends in `-console`; Windows'
/// own HTTP endpoints, HTTP.sys' WCF reservation and WS-Management, end in `-listener` and
/// `-endpoint`), which CrowdSec's lists do not carry: the database, Java application-server and GIS
/// consoles that `admin-console-probing` knows, less those that the people who use a site type in
/// themselves (`/webmail`, `/owa`, a CMS's `/administrator` or `/wp-admin`) and phpMyAdmin, whose
/// owners type `/phpmyadmin` into a server they are still setting up and meet a 404 until its alias
/// is enabled (a stock Debian or Ubuntu install), reloading it again and again. Only the admin
/// pages of products whose other paths are APIs that desktop and machine clients call without a
/// `Referer` from saved addresses: GeoServer's `/geoserver/web` (not `/geoserver/wms`, which QGIS
/// asks), Axis2's admin pages (not `/axis2/services/`), Jenkins' script console. A name matches as
/// the first segment(s), any case (`/JMX-Console/`, `/adminer.php`).
pub const SERVER_CONSOLES: &[(&str, &str)] = &[
    ("/phppgadmin", "phppgadmin-console"),
    ("/pgadmin", "pgadmin-console"),
    ("/adminer", "adminer-console"),
    ("/sqlbuddy", "sqlbuddy-console"),
    ("/phpliteadmin", "phpliteadmin-console"),
    ("/jmx-console", "jboss-console"),
    ("/web-console", "jboss-console"),
    ("/admin-console", "jboss-console"),
    ("/invoker/jmxinvokerservlet", "jboss-console"),
    ("/invoker/ejbinvokerservlet", "jboss-console"),
    ("/invoker/readonly", "jboss-console"),
    ("/manager/status", "tomcat-manager-console"),
    // The manager's text interface, which deploy tools call (`/manager/text/list`).
    ("/manager/text", "tomcat-manager-console"),
    ("/host-manager", "tomcat-manager-console"),
    ("/axis2-admin", "axis2-console"),
    ("/axis2/axis2-admin", "axis2-console"),
    ("/axis2/axis2-web", "axis2-console"),
    ("/system/console", "felix-console"),
    ("/geoserver/web", "geoserver-console"),
    ("/hudson/script", "jenkins-console"),
    ("/jenkins/script", "jenkins-console"),
    // A2Billing's (VoIP billing) admin pages and its customer pages' Smarty templates, which
    // its pages never link (they are compiled on the server): exploit kits ask for
    // `/a2billing/customer/templates/default/footer.tpl` to learn its version (four addresses
    // in heldout104, 120 and 122, one request each).
    ("/a2billing/admin", "a2billing-console"),
    ("/a2billing/customer/templates", "a2billing-console"),
    // FreePBX's (VoIP PBX) administration page, asked alone of every address by one scanning
    // family (HTTP/1.0, agents `xfa1`, `nvdorz`; 19 addresses in 13 held-out sets, twelve of
    // them seen by no rule): a PBX's admins open it from the PBX's own `/admin/` page.
    ("/admin/config.php", "freepbx-console"),
    // Windows HTTP.sys' default reservation for WCF services (`/Temporary_Listen_Addresses/`,
    // WinRM's `/wsman` under it): asked of every address to find Windows hosts (six addresses
    // in heldout105, 118, 119 and 121); a host that runs such a service answers it.
    ("/temporary_listen_addresses", "windows-httpsys-listener"),
    // WS-Management (Windows Remote Management, and OMI on Linux, whose unauthenticated `POST
    // /wsman` ran code as root, CVE-2021-38647): its own ports, not a website's; asked of every
    // address (four addresses in heldout38, 121, 123, 125, two on hosts answering 502). Not a
    // `-listener` (alone on a host answering errors): Windows Event Forwarding clients post to
    // a collector behind a proxy, which answers them 503 while the collector is down.
    ("/wsman", "windows-winrm-endpoint"),
    // Symfony's web profiler, a development tool (`/_profiler/phpinfo`, `/_profiler/open?file=`
    // reads the app's files): a site in production never serves it.
    ("/_profiler", "symfony-profiler-console"),
    // A device's or a download client's web interface: its owner's bookmark, not a console.
    ("/webui", "webui"),
    // A DNS-over-HTTPS resolver's endpoint (RFC 8484): hunts for open resolvers ask every
    // address for it, by `GET ?dns=` and `POST`; a site's visitors never do.
    ("/dns-query", "dns-over-https-resolver"),
];

/// Embedded devices' own pages, at the root, with the device each names (`-device`), which
/// CrowdSec's lists do not carry: the files router and camera botnets ask every address for to
/// learn whether it is their device (Netgear's `currentsetting.htm`, which Netgear routers hand
/// to anyone, MikroTik's WebFig and Winbox logo, FRITZ!Box's `login_sid.lua`, Hikvision's
/// `SDK/webLanguage` and its web UI's scripts, a DVR's `brief.xml`, Cisco IOS's `level/15/exec`
/// shell, TP-Link's `cgi/conf.bin` backup, GoAhead's and Boa's form handlers `/goform/`,
/// `/boaform/`). A website or an API serves none; the device's owner opens the device's own
/// address, not a website's. Matched as [`SERVER_CONSOLES`] are.
pub const DEVICE_PAGES: &[(&str, &str)] = &[
    ("/currentsetting.htm", "netgear-device"),
    ("/webfig", "mikrotik-device"),
    ("/winbox.png", "mikrotik-device"),
    ("/login_sid.lua", "fritzbox-device"),
    ("/sdk/weblanguage", "hikvision-device"),
    ("/doc/script/lib/seajs", "hikvision-device"),
    ("/dvr/brief.xml", "dvr-device"),
    ("/level/15/exec", "cisco-ios-device"),
    ("/cgi/conf.bin", "tp-link-device"),
    // Red Lion's HMI and industrial routers' web portal (Crimson), which internet-wide surveys
    // of industrial control systems ask every address for (20 addresses in 17 held-out sets).
    ("/portal/redlion", "red-lion-device"),
    ("/goform", "goahead-device"),
    ("/boaform", "boa-device"),
    ("/boafrm", "boa-device"),
    // The back-ends that `admin-console-probing`'s `device_regex` names (there, anywhere in
    // the path; here, at the root), which botnets' exploits and credential grabs ask every
    // address for: D-Link's HNAP (CrowdSec's CVE-2019-8318 names `/HNAP1/` exactly, not
    // `/HNAP1` nor `/hnap1/`), GPON routers' forms, Huawei HG532's upgrade service
    // (CVE-2017-17215), ZynOS' configuration dump, D-Link cameras' user list, DrayTek Vigor's
    // CGI (CVE-2020-8515), ZTE's command page. A single-page app's catch-all page or a proxy
    // whose application is down answered them in held-out sets (heldout123, 139). A unit test
    // checks that every `device_regex` back-end is here.
    ("/hnap1", "d-link-hnap-device"),
    ("/gponform", "gpon-device"),
    ("/ctrlt/deviceupgrade_1", "huawei-hg532-device"),
    ("/rom-0", "zynos-device"),
    ("/config/getuser", "d-link-camera-device"),
    ("/cgi-bin/mainfunction.cgi", "draytek-device"),
    ("/web_shell_cmd.gch", "zte-device"),
];

/// Remote-access and self-service portals' own endpoints that CrowdSec's lists do not carry: a
/// Citrix NetScaler Gateway's `cgi/resources/list`, which Citrix Workspace asks the gateway for
/// and scanners ask every address for, at the root and under `/citrix/`, and its endpoint
/// analysis plugin's installer (`/epa/scripts/win/nsepa_setup.exe`, which scanners ask for with
/// `HEAD` to fingerprint the gateway's version: heldout124, 110, 129); ManageEngine's login page
/// (`/showLogin.cc`, ServiceDesk Plus, ADSelfService Plus and the rest), asked of every address
/// after its SAML bug (CVE-2022-47966; eight addresses in six held-out sets). Not its SAML
/// endpoint, `/SamlResponseServlet`, which the product answers its own users with redirects
/// only, so a host running it would never be learned as serving it (the review of stop 69).
/// Portals, not devices' pages: their users' apps and
/// bookmarks keep asking a gateway or a help desk that moved, so on a host that answers
/// everything with redirects one such request is not enough (`-portal` is not in
/// `alone_product_regex`). Matched as [`SERVER_CONSOLES`] are.
pub const PORTAL_PAGES: &[(&str, &str)] = &[
    ("/cgi/resources/list", "citrix-gateway-portal"),
    ("/citrix/cgi/resources/list", "citrix-gateway-portal"),
    ("/epa/scripts/win/nsepa_setup.exe", "citrix-gateway-portal"),
    ("/showlogin.cc", "manageengine-portal"),
];

struct Products {
    /// `equals` entries, without a trailing `/`, and their tags.
    equals: foldhash::HashMap<String, usize>,
    /// `contains` entries (and CVE URIs) searched in the normalized path, one pass.
    contains: AhoCorasick,
    contains_tags: Vec<usize>,
    /// CVE URIs written percent-encoded (`%252e%252e`), searched in the raw lower-cased path.
    raw: AhoCorasick,
    raw_tags: Vec<usize>,
    /// `regex` entries that are a literal prefix (`^/goanywhere/`), matched on the
    /// normalized path.
    prefixes: Vec<(String, usize)>,
    /// [`WORDPRESS_ENDPOINTS`] then [`WORDPRESS_INSTALLER`], under any prefix, asked last: a
    /// listed plugin CVE's URI (`/wp-content/plugins/<name>/...`) answers with the CVE, not with
    /// WordPress, so a site that runs WordPress still sees a probe for a plugin it does not have.
    wordpress: AhoCorasick,
    /// The tags of `wordpress`'s two kinds of pattern: code folders, the installer.
    wordpress_tags: [usize; 2],
    /// [`SERVER_CONSOLES`], [`DEVICE_PAGES`] then [`PORTAL_PAGES`], as the first segment(s) of
    /// the path, asked last with WordPress.
    consoles: Vec<(&'static str, usize)>,
    /// Other `regex` entries, matched on the normalized path, any case.
    regexes: Vec<(regex::Regex, usize)>,
    /// Every literal of the `equals`, `contains` and prefix entries in one case-insensitive
    /// automaton: a path without `%` or `//` (most paths) holding none of them is no
    /// product's, after one pass and no copy (the CVE URIs searched raw all hold a `%`, so
    /// only paths with one can match them, and those skip the gate).
    gate: AhoCorasick,
    /// The gate's literals.
    #[cfg(test)]
    literals: Vec<String>,
    tags: Vec<String>,
}

#[derive(serde::Deserialize)]
struct TechEntry {
    tag: String,
    pattern: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(serde::Deserialize)]
struct CveEntry {
    cve: String,
    uri: String,
}

/// One JSON object per line (comments and blank lines between them), a bad line skipped.
fn entries<T: serde::de::DeserializeOwned>(text: &str) -> impl Iterator<Item = T> + '_ {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
}

fn products() -> &'static Products {
    static P: OnceLock<Products> = OnceLock::new();
    P.get_or_init(|| {
        let mut tags = Vec::new();
        let mut equals = foldhash::HashMap::default();
        let (mut contains, mut contains_tags) = (Vec::new(), Vec::new());
        let (mut raw, mut raw_tags) = (Vec::new(), Vec::new());
        let (mut prefixes, mut regexes) = (Vec::new(), Vec::new());
        let mut tag_of = |tag: String| {
            tags.push(tag);
            tags.len() - 1
        };
        let kept = |p: &str| !p.is_empty() && p != "/" && !NOT_PRODUCT_SPECIFIC.contains(&p);
        for e in entries::<TechEntry>(TECHNOLOGY_PROBING) {
            let pattern = e.pattern.to_ascii_lowercase();
            if !kept(&pattern) {
                continue;
            }
            let tag = tag_of(e.tag);
            // The list writes a path's `+` as a space (`/ cscoe /` for Cisco's `/+CSCOE+/`):
            // both spellings are looked for.
            let spellings = std::iter::once(pattern.clone())
                .chain(pattern.contains(' ').then(|| pattern.replace(' ', "+")));
            match e.kind.as_str() {
                "equals" => {
                    for p in spellings {
                        equals.insert(trim_slash(&p).to_owned(), tag);
                    }
                }
                // A product's own directory (`/dana/`, `/owa/`, `/solr/`) is where it installs,
                // at the root: inside a path it is an ordinary word (`/team/dana/`,
                // `/tag/phoenix/`, `/docs/integrations/solr/`), so it is matched as a prefix.
                "contains" if is_directory(&pattern) => {
                    for p in spellings {
                        prefixes.push((p, tag));
                    }
                }
                "contains" => {
                    for p in spellings {
                        contains.push(p);
                        contains_tags.push(tag);
                    }
                }
                "regex" => match literal_prefix(&pattern) {
                    Some(prefix) => prefixes.push((prefix, tag)),
                    None => {
                        let re = regex::RegexBuilder::new(&e.pattern)
                            .case_insensitive(true)
                            .size_limit(1 << 20)
                            .build();
                        if let Ok(re) = re {
                            regexes.push((re, tag));
                        }
                    }
                },
                _ => {}
            }
        }
        for e in entries::<CveEntry>(TRENDY_CVES) {
            let uri = e.uri.to_ascii_lowercase();
            if !kept(&uri) {
                continue;
            }
            let tag = tag_of(e.cve);
            if uri.contains('%') {
                raw.push(uri);
                raw_tags.push(tag);
            } else {
                contains.push(uri);
                contains_tags.push(tag);
            }
        }
        let consoles: Vec<(&'static str, usize)> = (SERVER_CONSOLES
            .iter()
            .chain(DEVICE_PAGES)
            .chain(PORTAL_PAGES))
        .map(|&(path, tag)| (path, tag_of(tag.to_owned())))
        .collect();
        let wordpress_tags = [
            tag_of("wordpress".to_owned()),
            tag_of("wordpress-installer".to_owned()),
        ];
        let wordpress: Vec<String> = (WORDPRESS_ENDPOINTS.iter())
            .chain(WORDPRESS_INSTALLER)
            .map(|w| (*w).to_owned())
            .collect();
        let console_names: Vec<String> = consoles.iter().map(|(c, _)| (*c).to_owned()).collect();
        let literals: Vec<String> = (contains.iter())
            .chain(&wordpress)
            .chain(&console_names)
            .chain(equals.keys())
            .chain(prefixes.iter().map(|(p, _)| p))
            .cloned()
            .collect();
        Products {
            gate: super::case_insensitive_dfa(&literals),
            #[cfg(test)]
            literals,
            equals,
            contains: super::case_insensitive_dfa(&contains),
            wordpress: super::case_insensitive_dfa(&wordpress),
            wordpress_tags,
            consoles,
            contains_tags,
            raw: super::case_insensitive_matcher(&raw),
            raw_tags,
            prefixes,
            regexes,
            tags,
        }
    })
}

/// Whether a `contains` pattern is one directory, `/name/`.
fn is_directory(pattern: &str) -> bool {
    pattern
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix('/'))
        .is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

/// `^literal` (no other regex syntax) as the literal.
fn literal_prefix(pattern: &str) -> Option<String> {
    let rest = pattern.strip_prefix('^')?;
    let plain = rest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_'));
    (plain && !rest.is_empty()).then(|| rest.to_owned())
}

/// Whether a `contains` match ending at byte `end` of `path` ends a name: the pattern ended with
/// `/`, or the path goes on with `/`, `.`, `;` or nothing (`/zimbra` is Zimbra's directory in
/// `/zimbra/` and `/zimbra.jsp`, not in a blog post `/zimbra-migration`).
fn ends_a_name(path: &str, end: usize) -> bool {
    let bytes = path.as_bytes();
    end.checked_sub(1).and_then(|i| bytes.get(i)) == Some(&b'/')
        || matches!(bytes.get(end), None | Some(b'/' | b'.' | b';'))
}

fn trim_slash(p: &str) -> &str {
    match p.trim_end_matches('/') {
        "" => "/",
        t => t,
    }
}

/// Builds the lists now (see [`super::prepare_lists`]).
pub(super) fn prepare() {
    products();
}

/// The product or CVE whose endpoint `path` is, by the list's tag (`webmin-admin-login-probing`,
/// `CVE-2021-3129`), or `None`. The path is compared percent-decoded, lower-cased and with runs
/// of `/` made one (scanners write `//owa/`), except CVE URIs the list writes encoded. A
/// path under a product's directory answers the directory's name (`/owa/auth/logon.aspx`:
/// `microsoft-exchange-probing`), whatever page of it the list also names.
///
/// ```
/// use gatewatch_rules::functions::product::known_product;
/// assert_eq!(known_product("/webmin/"), Some("webmin-admin-login-probing"));
/// assert_eq!(known_product("/_ignition/execute-solution"), Some("CVE-2021-3129"));
/// assert_eq!(known_product("//OWA/auth/x.js"), Some("microsoft-exchange-probing"));
/// assert_eq!(known_product("/api/v1/orders/42"), None);
/// assert_eq!(known_product("/users/new"), None);
/// ```
pub fn known_product(path: &str) -> Option<&'static str> {
    find(products(), path, true)
}

/// [`known_product`], with the gate or (for the test that it changes nothing) without.
fn find<'a>(p: &'a Products, path: &str, gate: bool) -> Option<&'a str> {
    let plain = memchr::memchr(b'%', path.as_bytes()).is_none() && !path.contains("//");
    if gate && plain && p.regexes.is_empty() && !p.gate.is_match(path) {
        return None;
    }
    let normalized = super::probe::normalize_path(path);
    let n = normalized.as_ref();
    // A product's directory (`^/goanywhere/`, `/owa/`) before its single pages (`equals`):
    // every page under it answers with the same name, so a success on one teaches them all.
    let tag = (p.prefixes.iter())
        .find(|(prefix, _)| n.starts_with(prefix.as_str()))
        .map(|r| r.1)
        .or_else(|| {
            p.contains
                .find_overlapping_iter(n)
                .find(|m| ends_a_name(n, m.end()))
                .and_then(|m| p.contains_tags.get(m.pattern().as_usize()).copied())
        })
        .or_else(|| p.equals.get(trim_slash(n)).copied())
        .or_else(|| {
            p.raw
                .find(path)
                .and_then(|m| p.raw_tags.get(m.pattern().as_usize()).copied())
        })
        .or_else(|| p.regexes.iter().find(|(re, _)| re.is_match(n)).map(|r| r.1))
        .or_else(|| {
            // A static file under a code folder is not asked for WordPress; the installer is.
            let asset =
                || super::url_extension(n).is_some_and(|e| STATIC_FILES.contains(&e.as_ref()));
            (p.wordpress.find_overlapping_iter(n))
                .filter(|m| ends_a_name(n, m.end()))
                .map(|m| usize::from(m.pattern().as_usize() >= WORDPRESS_ENDPOINTS.len()))
                .find(|&installer| installer == 1 || !asset())
                .map(|kind| p.wordpress_tags[kind])
        })
        .or_else(|| {
            (p.consoles.iter())
                .find(|(console, _)| n.starts_with(console) && ends_a_name(n, console.len()))
                .map(|c| c.1)
        })?;
    p.tags.get(tag).map(String::as_str)
}

#[cfg(test)]
mod tests;
