//! One config file for a run: errors at `FILE:LINE:COL`, flags over the file, `gatewatch
//! config check`, the data directory, JSON logs, and a ClickHouse that refuses the credentials
//! failing the start at once (real server).

use std::path::Path;

use crate::support::{alerts_of, failed_logins, gatewatch};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A login-stuffing burst from `ip` (40 failed logins in 20 s) as Kong lines.
fn burst(dir: &Path, name: &str, ip: &str) -> String {
    let mut text = failed_logins(ip, 0, 40, 500).join("\n");
    text.push('\n');
    write(dir, name, &text)
}

#[test]
fn an_unknown_key_or_a_bad_duration_fails_the_start_at_its_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let unknown = write(
        tmp.path(),
        "unknown.toml",
        "[engine]\nallowed_lateness = \"5s\"\nmax_grups = 10\n",
    );
    let out = gatewatch(&["run", "--config", &unknown], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{unknown}:3:1:")) && err.contains("max_grups"),
        "{err}"
    );
    let bad = write(
        tmp.path(),
        "bad.toml",
        "[input]\nformat = \"kong\"\n\n[engine]\nidle_timeout = \"30 parsecs\"\n",
    );
    for args in [vec!["run", "--config", &bad], vec!["config", "check", &bad]] {
        let out = gatewatch(&args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(&format!("{bad}:5:16:")), "{args:?}: {err}");
    }
    // A sink table's duration too, before anything starts.
    let sink = write(
        tmp.path(),
        "sink.toml",
        "[[webhook]]\nurl = \"http://127.0.0.1:1/x\"\ndelivery = { max_backoff = \"forever\" }\n",
    );
    let err = stderr(&gatewatch(&["config", "check", &sink], None));
    assert!(err.contains(&format!("{sink}:3:")), "{err}");
}

#[test]
fn flags_and_their_environment_variables_win_over_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let a = burst(tmp.path(), "a.jsonl", "203.0.113.1");
    let b = burst(tmp.path(), "b.jsonl", "203.0.113.2");
    let cfg = write(
        tmp.path(),
        "gw.toml",
        "[input]\nsource = \"a.jsonl\"\nformat = \"kong\"\n[output]\nsummary = false\n[log]\nlevel = \"info\"\nformat = \"json\"\n",
    );
    // The file alone: its (relative) input, JSON log lines, no summary.
    let out = gatewatch(&["run", "--config", &cfg, "--log", "info"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let alerts = alerts_of(&out);
    assert!(!alerts.is_empty());
    assert!(
        alerts.iter().all(|x| x["entity"] == "203.0.113.1"),
        "{alerts:?}"
    );
    let err = stderr(&out);
    assert!(!err.contains("events in"), "summary = false: {err}");
    for line in err.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(v["level"].is_string() && v["message"].is_string(), "{line}");
    }
    // Flags win: another input, text logs.
    let out = gatewatch(
        &[
            "run",
            "--config",
            &cfg,
            "--input",
            &b,
            "--log-format",
            "text",
            "--log",
            "info",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let alerts = alerts_of(&out);
    assert!(!alerts.is_empty());
    assert!(
        alerts.iter().all(|x| x["entity"] == "203.0.113.2"),
        "{alerts:?}"
    );
    assert!(
        stderr(&out).lines().all(|l| !l.starts_with('{')),
        "{}",
        stderr(&out)
    );
    // A parameter: the file's [rules.params] against --param.
    let strict = write(
        tmp.path(),
        "strict.toml",
        &format!("[input]\nsource = {a:?}\n[rules.params.credential-stuffing-single-source]\nmin_failures = 1000\n"),
    );
    let out = gatewatch(&["run", "--config", &strict], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !alerts_of(&out)
            .iter()
            .any(|x| x["rule_id"] == "credential-stuffing-single-source"),
        "the file's threshold applies"
    );
    let out = gatewatch(
        &[
            "run",
            "--config",
            &strict,
            "--param",
            "credential-stuffing-single-source.min_failures=10",
        ],
        None,
    );
    assert!(alerts_of(&out)
        .iter()
        .any(|x| x["rule_id"] == "credential-stuffing-single-source"));
}

#[test]
fn config_check_validates_everything_a_start_would_without_running() {
    let tmp = tempfile::tempdir().unwrap();
    let input = burst(tmp.path(), "in.jsonl", "203.0.113.1");
    let good = write(
        tmp.path(),
        "good.toml",
        &format!(
            "data_dir = \"state\"\n[input]\nsource = {input:?}\n[metrics]\naddr = \"127.0.0.1:9464\"\n[[webhook]]\nname = \"soar\"\nurl_env = \"GW_TEST_HOOK_URL\"\n"
        ),
    );
    let check = |env: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gatewatch"));
        cmd.args(["config", "check", &good])
            .env_remove("GW_TEST_HOOK_URL");
        if let Some(v) = env {
            cmd.env("GW_TEST_HOOK_URL", v);
        }
        cmd.output().unwrap()
    };
    let out = check(Some("http://127.0.0.1:1/hook"));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("OK") && text.contains("soar") && text.contains("in.jsonl"),
        "{text}"
    );
    assert!(
        text.contains(&tmp.path().join("state").display().to_string()),
        "{text}"
    );
    assert!(
        !tmp.path().join("state").exists(),
        "checking creates nothing"
    );
    // A secret missing from the environment, and a URL that is not one.
    let err = stderr(&check(None));
    assert!(err.contains("GW_TEST_HOOK_URL"), "{err}");
    let err = stderr(&check(Some("hooks.example/abc")));
    assert!(err.contains("soar") && err.contains("not a URL"), "{err}");
    assert!(
        !err.contains("hooks.example/abc"),
        "the URL may hold a token: {err}"
    );
    // Rules are compiled: a broken rule directory fails the check.
    std::fs::create_dir(tmp.path().join("rules")).unwrap();
    write(&tmp.path().join("rules"), "bad.toml", "id = \"x\"\n");
    let bad_rules = write(tmp.path(), "rules.toml", "[rules]\ndir = \"rules\"\n");
    let out = gatewatch(&["config", "check", &bad_rules], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn the_spool_lives_in_the_data_directory_not_the_working_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let input = burst(tmp.path(), "in.jsonl", "203.0.113.1");
    let data = tmp.path().join("data");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatewatch"))
        .args([
            "run",
            "-i",
            &input,
            "--quiet-alerts",
            "--webhook",
            "http://127.0.0.1:1/unreachable",
            "--drain-timeout",
            "1s",
        ])
        .current_dir(tmp.path())
        .env("GATEWATCH_DATA_DIR", &data)
        .env("GATEWATCH_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(data.join("spool/webhook").is_dir(), "{}", stderr(&out));
    assert!(!tmp.path().join("gatewatch-spool").exists());
}

#[test]
fn a_clickhouse_that_refuses_the_credentials_fails_the_start_at_once() {
    let base = std::env::var("GATEWATCH_CLICKHOUSE").expect(
        "GATEWATCH_CLICKHOUSE is not set: start ClickHouse with `scripts/services.sh start`",
    );
    let tmp = tempfile::tempdir().unwrap();
    let input = burst(tmp.path(), "in.jsonl", "203.0.113.1");
    let url = base.replacen("http://", "http://default:not-the-password@", 1) + "/gw_refused";
    let started = std::time::Instant::now();
    let out = gatewatch(
        &[
            "run",
            "-i",
            &input,
            "--clickhouse",
            &url,
            "--spool-dir",
            tmp.path().join("spool").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("clickhouse") && err.contains("password") && err.contains("not retried"),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(alerts_of(&out).is_empty(), "nothing ran");
}
