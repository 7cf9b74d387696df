//! The detection pack measured end to end: `gatewatch eval` on labelled traffic, and the
//! deployment knobs (`--params-file`, `--openapi`) on the binary.

use crate::support::{alerts_of, gatewatch, gatewatch_ok};

fn generate(dir: &std::path::Path, args: &[&str]) -> std::path::PathBuf {
    crate::support::generate(dir, "traffic.log", args)
}

fn rule_alerts<'a>(alerts: &'a [serde_json::Value], rule: &str) -> Vec<&'a serde_json::Value> {
    alerts.iter().filter(|a| a["rule_id"] == rule).collect()
}

#[test]
fn eval_meets_the_targets_with_and_without_an_openapi_document() {
    for extra in [&[][..], &["--no-openapi"][..]] {
        let mut args = vec!["eval", "--check", "--seeds", "1", "--duration", "30m"];
        args.extend_from_slice(extra);
        let out = gatewatch(&args, None);
        let table = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "eval {extra:?} missed its targets:\n{table}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for scenario in [
            "credential-stuffing",
            "distributed-stuffing",
            "password-spray",
            "account-takeover",
            "id-walking",
            "endpoint-discovery",
            "machine-regular",
            "ua-spoofing",
            "ai-crawler-api",
            "shadow-api",
            "zombie-api",
            "ai-token-abuse",
            "probing",
            "crawl",
        ] {
            assert!(
                table
                    .lines()
                    .any(|l| l.starts_with(scenario) && l.contains("1.00")),
                "{scenario} not fully detected:\n{table}"
            );
        }
        for negative in [
            "benign-carrier-nat",
            "benign-bulk-api-client",
            "benign-search-crawler",
        ] {
            assert!(table.lines().any(|l| l.starts_with(negative)), "{table}");
        }
    }
}

#[test]
fn a_params_file_retunes_rules_per_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let log = generate(
        dir.path(),
        &["--duration", "10m", "--scenarios", "credential-stuffing"],
    );
    let base = gatewatch(&["run", "--input", log.to_str().unwrap()], None);
    assert!(!rule_alerts(&alerts_of(&base), "credential-stuffing-single-source").is_empty());

    let params = dir.path().join("params.toml");
    std::fs::write(
        &params,
        "# this deployment's thresholds\n[credential-stuffing-single-source]\nmin_failures = 100000\n",
    )
    .unwrap();
    let tuned = gatewatch_ok(
        &[
            "run",
            "--input",
            log.to_str().unwrap(),
            "--params-file",
            params.to_str().unwrap(),
        ],
        None,
    );
    assert!(rule_alerts(&alerts_of(&tuned), "credential-stuffing-single-source").is_empty());

    // A flag wins over the file.
    let flag = gatewatch(
        &[
            "run",
            "--input",
            log.to_str().unwrap(),
            "--params-file",
            params.to_str().unwrap(),
            "--param",
            "credential-stuffing-single-source.min_failures=20",
        ],
        None,
    );
    assert!(!rule_alerts(&alerts_of(&flag), "credential-stuffing-single-source").is_empty());

    std::fs::write(
        &params,
        "[credential-stuffing-single-source]\nmin_failurez = 3\n",
    )
    .unwrap();
    let bad = gatewatch(
        &[
            "run",
            "--input",
            log.to_str().unwrap(),
            "--params-file",
            params.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("min_failurez"));
}

#[test]
fn openapi_documents_turn_on_shadow_and_zombie_findings() {
    let dir = tempfile::tempdir().unwrap();
    let log = generate(
        dir.path(),
        &["--duration", "10m", "--scenarios", "shadow-api"],
    );
    let spec = dir.path().join("shop.yaml");
    std::fs::write(&spec, gatewatch_generate::SHOP_OPENAPI).unwrap();
    let with = gatewatch_ok(
        &[
            "run",
            "--input",
            log.to_str().unwrap(),
            "--openapi",
            spec.to_str().unwrap(),
        ],
        None,
    );
    let alerts = alerts_of(&with);
    let shadow: Vec<&str> = rule_alerts(&alerts, "shadow-api-endpoint")
        .iter()
        .map(|a| a["entity"].as_str().unwrap())
        .collect();
    let mut expected = gatewatch_generate::SHADOW_ENDPOINTS.to_vec();
    let mut got = shadow.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "each shadow endpoint once");
    let zombie = rule_alerts(&alerts, "zombie-api-endpoint");
    assert_eq!(zombie.len(), 1);
    assert_eq!(zombie[0]["entity"], gatewatch_generate::ZOMBIE_ENDPOINT);
    assert!(rule_alerts(&alerts, "new-api-endpoint").is_empty());

    let without = gatewatch(&["run", "--input", log.to_str().unwrap()], None);
    let alerts = alerts_of(&without);
    assert!(rule_alerts(&alerts, "shadow-api-endpoint").is_empty());

    std::fs::write(&spec, "not: [an, openapi").unwrap();
    let bad = gatewatch(
        &[
            "run",
            "--input",
            log.to_str().unwrap(),
            "--openapi",
            spec.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--openapi"));
}
