//! The deployment artefacts under `deploy/`, each checked by the tool its users would run where
//! that tool installs here: the compose file by Debian's `docker-compose config` (no engine
//! needed), Kubernetes objects by `kubernetes-validate` against a current Kubernetes, the
//! Prometheus Operator's PodMonitor by its published CRD schema (npm
//! `@kubernetes-models/prometheus-operator`), every config gatewatch reads by `gatewatch config
//! check`; the Dockerfile and the log-shipper examples, whose tools are not installable here,
//! by what they must say.

use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_serde::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.split("\n---\n")
        .map(|d| yaml_serde::from_str(d).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

fn tool(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: `scripts/services.sh start` installs the deployment checkers")
    })
}

fn ok(out: std::process::Output, what: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what}:\n{text}");
    text
}

/// `gatewatch config check FILE` with `env` set.
fn config_check(file: &Path, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatewatch"));
    cmd.args(["config", "check"])
        .arg(file)
        .env("GATEWATCH_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    ok(
        cmd.output().unwrap(),
        &format!("gatewatch config check {}", file.display()),
    )
}

#[test]
fn the_compose_file_is_valid_and_everything_it_mounts_exists() {
    let deploy = root().join("deploy");
    let out = Command::new("docker-compose")
        .args(["-f", "docker-compose.yml", "config", "-q"])
        .current_dir(&deploy)
        .env("GATEWATCH_CLICKHOUSE_PASSWORD", "test")
        .output()
        .expect("docker-compose runs (scripts/services.sh installs Debian's package)");
    ok(out, "docker-compose config -q");
    let compose = yaml(&deploy.join("docker-compose.yml"));
    let services = compose["services"].as_mapping().unwrap();
    for want in [
        "kafka",
        "clickhouse",
        "gatewatch",
        "generator",
        "prometheus",
        "grafana",
    ] {
        assert!(services.contains_key(want), "service {want} missing");
    }
    let volumes = compose["volumes"].as_mapping().unwrap();
    for (name, svc) in services {
        for v in svc["volumes"].as_sequence().into_iter().flatten() {
            let source = v.as_str().unwrap().split(':').next().unwrap();
            if source.starts_with('.') {
                assert!(
                    deploy.join(source).exists(),
                    "{name:?}: {source} does not exist"
                );
            } else {
                assert!(
                    volumes.contains_key(source),
                    "{name:?}: volume {source} not declared"
                );
            }
        }
    }
    let build = &services["gatewatch"]["build"];
    let context = deploy.join(build["context"].as_str().unwrap());
    assert!(context
        .join(build["dockerfile"].as_str().unwrap())
        .is_file());
    // Prometheus scrapes the port gatewatch's config serves metrics on.
    let prom = std::fs::read_to_string(deploy.join("compose/prometheus.yml")).unwrap();
    assert!(prom.contains("gatewatch:9464"), "{prom}");
    let cfg = deploy.join("compose/gatewatch.toml");
    assert!(std::fs::read_to_string(&cfg)
        .unwrap()
        .contains("0.0.0.0:9464"));
    let summary = config_check(&cfg, &[("GATEWATCH_CLICKHOUSE_PASSWORD", "x")]);
    assert!(
        summary.contains("kafka://kafka:9092/kong-logs"),
        "{summary}"
    );
    // Grafana gets both dashboards.
    let grafana = format!("{:?}", services["grafana"]["volumes"]);
    for d in ["gatewatch-dashboard.json", "gatewatch-pipeline.json"] {
        assert!(grafana.contains(d), "{grafana}");
    }
}

#[test]
fn the_image_is_built_lean_and_runs_as_a_non_root_user_with_a_data_volume() {
    let text = std::fs::read_to_string(root().join("deploy/docker/Dockerfile")).unwrap();
    let instr = |word: &str| -> Vec<&str> {
        text.lines()
            .filter(|l| l.split_whitespace().next() == Some(word))
            .collect()
    };
    assert_eq!(
        instr("FROM").len(),
        2,
        "multi-stage: a build and a runtime stage"
    );
    assert!(
        text.contains("cargo build --profile dist --locked"),
        "{text}"
    );
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(cargo.contains("[profile.dist]"));
    let user = instr("USER");
    assert_eq!(user.len(), 1);
    assert!(
        !user[0].contains("root") && !user[0].contains(" 0"),
        "{user:?}"
    );
    assert!(instr("VOLUME")[0].contains("/var/lib/gatewatch"));
    assert!(instr("EXPOSE")[0].contains("9464"));
    assert!(text.contains("GATEWATCH_DATA_DIR=/var/lib/gatewatch"));
    for l in instr("COPY") {
        let src = l.split_whitespace().nth(1).unwrap();
        if !src.starts_with("--from") && src != "." {
            assert!(root().join(src).exists(), "{l}");
        }
    }
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l.trim() == "target/"), "{ignore}");
}

#[test]
fn the_kubernetes_manifests_validate_and_their_config_checks() {
    let file = root().join("deploy/kubernetes/gatewatch.yaml");
    let out = Command::new(tool("GATEWATCH_KUBE_VALIDATE"))
        .args(["--strict", "--kubernetes-version", "1.34.0"])
        .arg(&file)
        .output()
        .unwrap();
    let report = ok(out, "kubernetes-validate");
    for kind in [
        "configmap",
        "secret",
        "deployment",
        "poddisruptionbudget",
        "service",
    ] {
        assert!(
            report.contains(&format!("passed for resource {kind}/")),
            "{report}"
        );
    }
    // The custom resource against the Prometheus Operator's schema.
    let modules = tool("GATEWATCH_NODE_MODULES");
    let script = r#"
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
let n = 0;
for (const d of parseAllDocuments(readFileSync(process.argv.at(-1), "utf8"))) {
  const o = d.toJS();
  if (o && o.kind === "PodMonitor") { new PodMonitor(o).validate(); n++; }
}
if (n === 0) throw new Error("no PodMonitor");
console.log(`${n} PodMonitor valid`);
"#;
    // An ES module resolves packages from its working directory's node_modules.
    let out = Command::new("node")
        .args(["--input-type=module", "-e", script, "--"])
        .arg(&file)
        .current_dir(Path::new(&modules).parent().unwrap())
        .output()
        .expect("node runs");
    ok(out, "PodMonitor against the operator's CRD schema");

    let docs = yaml_docs(&file);
    let of = |kind: &str, name: &str| -> &Value {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind}/{name} missing"))
    };
    let deployment = of("Deployment", "gatewatch");
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(
        &of("PodDisruptionBudget", "gatewatch")["spec"]["selector"]["matchLabels"],
        labels
    );
    assert_eq!(
        &of("PodMonitor", "gatewatch")["spec"]["selector"]["matchLabels"],
        labels
    );
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["ports"][0]["name"], "metrics");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(container["resources"]["requests"]["memory"].is_string());
    assert_eq!(
        deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"],
        true
    );

    // The ConfigMap's config, with its rules and the Secret's values, passes `config check`.
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    for (name, text) in of("ConfigMap", "gatewatch-rules")["data"]
        .as_mapping()
        .unwrap()
    {
        std::fs::write(rules.join(name.as_str().unwrap()), text.as_str().unwrap()).unwrap();
    }
    let config = of("ConfigMap", "gatewatch-config")["data"]["gatewatch.toml"]
        .as_str()
        .unwrap()
        .replace("/etc/gatewatch/rules", rules.to_str().unwrap());
    let cfg = tmp.path().join("gatewatch.toml");
    std::fs::write(&cfg, &config).unwrap();
    let secret = of("Secret", "gatewatch-secrets")["stringData"]
        .as_mapping()
        .unwrap();
    let env: Vec<(&str, &str)> = secret
        .iter()
        .map(|(k, v)| (k.as_str().unwrap(), v.as_str().unwrap()))
        .collect();
    for line in config.lines().filter(|l| l.contains("_env")) {
        let var = line.rsplit('"').nth(1).unwrap();
        assert!(
            env.iter().any(|(k, _)| *k == var),
            "{var} is read from the environment but not in the Secret"
        );
    }
    let summary = config_check(&cfg, &env);
    assert!(
        summary.contains("rules:    1 ("),
        "the ConfigMap's one rule: {summary}"
    );
}

#[test]
fn the_log_shipper_examples_key_kafka_messages_by_client_address() {
    let shippers = root().join("deploy/shippers");
    let vector = yaml(&shippers.join("vector.yaml"));
    let sink = &vector["sinks"]["kafka"];
    assert_eq!(sink["type"], "kafka");
    assert_eq!(sink["key_field"], "client_ip");
    assert_eq!(sink["encoding"]["codec"], "json");
    assert_eq!(sink["inputs"][0], "kong_json");
    assert_eq!(
        vector["transforms"]["kong_json"]["inputs"][0],
        "kong_file_log"
    );
    let fluent = yaml(&shippers.join("fluent-bit.yaml"));
    let out = &fluent["pipeline"]["outputs"][0];
    assert_eq!(out["name"], "kafka");
    assert_eq!(out["message_key_field"], "client_ip");
    assert_eq!(out["format"], "json");
    assert_eq!(
        fluent["pipeline"]["inputs"][0]["parser"],
        fluent["parsers"][0]["name"]
    );
    // Both tail the file Kong's file-log example writes.
    let file_log = yaml(&root().join("deploy/kong/file-log.yaml"));
    let path = file_log["plugins"][0]["config"]["path"].as_str().unwrap();
    assert_eq!(vector["sources"]["kong_file_log"]["include"][0], path);
    assert_eq!(fluent["pipeline"]["inputs"][0]["path"], path);
    // Kong's kafka-log cannot key by address: its example says to run with input_key none.
    let text = std::fs::read_to_string(root().join("deploy/kong/kafka-log.yaml")).unwrap();
    let kafka_log = yaml(&root().join("deploy/kong/kafka-log.yaml"));
    assert_eq!(kafka_log["plugins"][0]["name"], "kafka-log");
    assert!(kafka_log["plugins"][0]["config"]["topic"].is_string());
    assert!(text.contains("input_key = \"none\""));
    // The key field is the field gatewatch's Kong decoder reads the client address from.
    let line = crate::support::kong(0, "203.0.113.5", "GET", "/", 200);
    let record: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(record["client_ip"], "203.0.113.5");
}
