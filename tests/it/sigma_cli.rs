//! Sigma rules through the command line and the service: `rules test` with a rule's sibling
//! tests file, `run` over a rule tree, the config file's `[sigma]` table, hot reload, and the
//! Referer and Content-Type each log format gives a rule.

use std::path::Path;

use gatewatch_rules::SigmaOptions;

use crate::support::{alerts_of, gatewatch, gatewatch_ok};

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
