//! HTTP alert sinks against real local receivers (`crate::receiver`): signed webhooks that fail
//! and recover or time out, Slack and PagerDuty payloads, PagerDuty incidents resolved, secrets
//! kept out of output and logs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::receiver::Receiver;
use crate::sinks::{free_port, ids, sample_file};
use crate::support::{alerts_of, gatewatch_ok};

fn run_with(args: &[&str], input: &Path) -> std::process::Output {
    let mut all = vec!["run", "--input", input.to_str().unwrap()];
    all.extend_from_slice(args);
    gatewatch_ok(&all, None)
}

fn write_config(dir: &Path, body: &str) -> std::path::PathBuf {
    let path = dir.join("gatewatch.toml");
    std::fs::write(
        &path,
        format!("[spool]\ndir = {:?}\n{body}", dir.join("spool")),
    )
    .unwrap();
    path
}

#[test]
fn webhook_failing_with_500s_then_recovering_gets_every_alert_once_signed() {
    let tmp = tempfile::tempdir().unwrap();
    let input = sample_file(tmp.path());
    let rx = Receiver::start();
    rx.fail_first(3);
    let config = write_config(
        tmp.path(),
        &format!(
            "[[webhook]]\nurl = \"{}\"\nsecret = \"s3cr3t-hmac\"\nheaders = {{ \"X-Team\" = \"soc\" }}\ndelivery = {{ max_backoff = \"300ms\" }}\n",
            rx.url("/hook")
        ),
    );
    let out = run_with(&["--config", config.to_str().unwrap()], &input);
    let expected = ids(&alerts_of(&out));
    assert!(!expected.is_empty());
    assert_eq!(
        rx.received().iter().filter(|r| r.status == 500).count(),
        3,
        "the first three attempts failed"
    );
    let accepted = rx.accepted();
    let mut got: BTreeMap<String, usize> = BTreeMap::new();
    let now = chrono::Utc::now().timestamp();
    for r in &accepted {
        let body = r.json();
        let id = body["idempotency_key"].as_str().unwrap().to_owned();
        assert_eq!(body["id"].as_str(), Some(id.as_str()));
        assert_eq!(r.header("idempotency-key").as_deref(), Some(id.as_str()));
        assert_eq!(r.header("x-team").as_deref(), Some("soc"));
        let ts = r.header("x-gatewatch-timestamp").unwrap();
        let sig = r.header("x-gatewatch-signature").unwrap();
        gatewatch_sinks::webhook::verify(b"s3cr3t-hmac", &ts, &r.body, &sig, now, 300)
            .unwrap_or_else(|e| panic!("signature of {id}: {e}"));
        // Independently of gatewatch's own code: HMAC-SHA256(secret, ts + "." + body).
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cr3t-hmac").unwrap();
        mac.update(format!("{ts}.").as_bytes());
        mac.update(&r.body);
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sig, format!("sha256={hex}"));
        *got.entry(id).or_default() += 1;
    }
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(
        got.values().all(|n| *n == 1),
        "each alert accepted once: {got:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3 failed attempts"), "{stderr}");
}

#[test]
fn webhook_timeout_is_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let input = sample_file(tmp.path());
    let rx = Receiver::start();
    rx.stall_first(1, Duration::from_secs(5));
    let config = write_config(
        tmp.path(),
        &format!(
            "[[webhook]]\nurl = \"{}\"\ndelivery = {{ timeout = \"500ms\", max_backoff = \"200ms\" }}\n",
            rx.url("/hook")
        ),
    );
    let out = run_with(&["--config", config.to_str().unwrap()], &input);
    let expected = ids(&alerts_of(&out));
    let all = rx.received();
    let first = all[0].json()["id"].as_str().unwrap().to_owned();
    assert_eq!(all[0].status, 0, "the first request stalled");
    let accepted: BTreeSet<String> = rx
        .accepted()
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        accepted.contains(&first),
        "the timed-out alert was sent again"
    );
    assert_eq!(accepted, expected);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 failed attempts"), "{stderr}");
}

#[test]
fn pagerduty_and_slack_payloads() {
    let tmp = tempfile::tempdir().unwrap();
    let input = sample_file(tmp.path());
    let pd = Receiver::start();
    let slack = Receiver::start();
    // Slack's own limit (1 message/s, the default) would outlast the end-of-run drain on a
    // file of this many alerts; a webhook of a workspace with a higher limit says so.
    let config = write_config(
        tmp.path(),
        &format!(
            "[[slack]]\nurl = \"{}\"\ndelivery = {{ rate_per_sec = 20.0 }}\n",
            slack.url("/services/T000/B000/XXXXSECRET")
        ),
    );
    let out = run_with(
        &[
            "--pagerduty-routing-key",
            "R0UTINGKEY0123456789",
            "--pagerduty-url",
            &pd.url("/v2/enqueue"),
            "--config",
            config.to_str().unwrap(),
        ],
        &input,
    );
    let alerts = alerts_of(&out);
    let high: BTreeMap<String, &serde_json::Value> = alerts
        .iter()
        .filter(|a| matches!(a["severity"].as_str(), Some("high" | "critical")))
        .map(|a| (a["id"].as_str().unwrap().to_owned(), a))
        .collect();
    assert!(!high.is_empty());
    let events = pd.accepted();
    assert_eq!(
        events.len(),
        high.len(),
        "PagerDuty gets high and critical alerts"
    );
    for e in events {
        let b = e.json();
        assert_eq!(b["routing_key"], "R0UTINGKEY0123456789");
        assert_eq!(b["event_action"], "trigger");
        let alert = high[b["dedup_key"].as_str().unwrap()];
        assert_eq!(b["payload"]["source"], alert["entity"]);
        let sev = if alert["severity"] == "critical" {
            "critical"
        } else {
            "error"
        };
        assert_eq!(b["payload"]["severity"], sev);
        assert_eq!(b["payload"]["custom_details"]["alert_id"], alert["id"]);
        assert_eq!(b["payload"]["component"], alert["rule_id"]);
    }
    let messages = slack.accepted();
    assert_eq!(
        messages.len(),
        alerts.len(),
        "Slack gets every alert by default"
    );
    for m in messages {
        let b = m.json();
        let blocks = b["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        let fields = blocks[1]["fields"].to_string();
        assert!(
            fields.contains("Severity") && fields.contains("Window (UTC)"),
            "{fields}"
        );
        assert!(b["text"].as_str().unwrap().contains("events"));
        assert!(b.to_string().contains("Evidence"));
    }
}

#[test]
fn secrets_never_appear_in_output_or_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let input = sample_file(tmp.path());
    let rx = Receiver::start();
    rx.fail_first(1_000_000);
    let dead_port = free_port();
    let config = write_config(
        tmp.path(),
        &format!(
            "[clickhouse]\nurl = \"http://soc:CHPASSWORD42@127.0.0.1:{dead_port}/gw\"\n[[webhook]]\nurl = \"{}\"\nsecret_env = \"GW_TEST_HOOK_SECRET\"\n[[slack]]\nurl = \"{}\"\n[[pagerduty]]\nrouting_key_env = \"GW_TEST_PD_KEY\"\nurl = \"{}\"\n",
            rx.url("/hook/WEBHOOKTOKEN77"),
            rx.url("/services/SLACKTOKEN99"),
            rx.url("/pd")
        ),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_gatewatch"))
        .args([
            "run",
            "--input",
            input.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--drain-timeout",
            "3s",
        ])
        .env("GATEWATCH_LOG", "debug")
        .env("GW_TEST_HOOK_SECRET", "HMACSECRET55")
        .env("GW_TEST_PD_KEY", "PDROUTINGKEY66")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("will retry"), "failures are logged: {text}");
    for secret in [
        "CHPASSWORD42",
        "WEBHOOKTOKEN77",
        "SLACKTOKEN99",
        "HMACSECRET55",
        "PDROUTINGKEY66",
    ] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
    // --help does not show secret values taken from the environment either.
    let help = Command::new(env!("CARGO_BIN_EXE_gatewatch"))
        .args(["run", "--help"])
        .env("GATEWATCH_WEBHOOK_SECRET", "HELPSECRET33")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains("HELPSECRET33"));
}

#[test]
fn pagerduty_incidents_resolve_when_the_entity_goes_quiet() {
    use gatewatch_sinks::http::HttpPoster;
    use gatewatch_sinks::pagerduty::PagerDutyDestination;
    use gatewatch_sinks::route::Route;
    use gatewatch_sinks::spooled::{Delivery, SpooledSink};
    use gatewatch_sinks::Sink;

    let rx = Receiver::start();
    let tmp = tempfile::tempdir().unwrap();
    let dest = PagerDutyDestination::new(
        rx.url("/v2/enqueue"),
        "KEY".into(),
        Some(Duration::from_millis(500)),
        HttpPoster::new(Duration::from_secs(5)).unwrap(),
    );
    let mut sink = SpooledSink::start(
        "pd",
        dest,
        tmp.path(),
        Route::default(),
        Delivery::default(),
    )
    .unwrap();
    let (alerts, _) = crate::support::run_lines(
        &crate::support::failed_logins("203.0.113.5", 60_000, 30, 500),
        0,
        1 << 16,
    );
    assert_eq!(alerts.len(), 1);
    sink.deliver(&[gatewatch_model::Record::Alert(alerts[0].clone())])
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while rx.accepted().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    sink.finish(Duration::from_secs(1));
    let got: Vec<serde_json::Value> = rx.accepted().iter().map(|r| r.json()).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0]["event_action"], "trigger");
    assert_eq!(got[1]["event_action"], "resolve");
    assert_eq!(got[1]["dedup_key"], alerts[0].id.as_str());
}
