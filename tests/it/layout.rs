//! The crate graph shows the architecture: data flows model -> ingest -> rules -> engine ->
//! pipeline, and the edges stay light. Sinks know records, not the engine, so they build
//! without DataFusion or Rhai; decoders build without librdkafka. `cargo tree` reads the
//! lock file and manifests only (no build), so these checks are cheap.

use std::process::Command;

/// The normal (non-dev, non-build) dependencies of `package` with `features`.
fn tree(package: &str, features: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .args(features)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn crates(tree: &str) -> Vec<&str> {
    tree.lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

#[test]
fn sinks_depend_on_the_model_not_on_the_engine() {
    let t = tree("gatewatch-sinks", &[]);
    let deps = crates(&t);
    assert!(deps.contains(&"gatewatch-model"), "{t}");
    for heavy in [
        "gatewatch-engine",
        "gatewatch-rules",
        "datafusion",
        "rhai",
        "rdkafka",
    ] {
        assert!(
            !deps.contains(&heavy),
            "gatewatch-sinks pulls {heavy}:\n{t}"
        );
    }
}

#[test]
fn decoders_build_without_librdkafka() {
    let without = tree("gatewatch-ingest", &["--no-default-features"]);
    for heavy in ["rdkafka", "rdkafka-sys", "datafusion"] {
        assert!(!crates(&without).contains(&heavy), "{heavy}:\n{without}");
    }
    assert!(crates(&tree("gatewatch-ingest", &[])).contains(&"rdkafka"));
}

#[test]
fn the_model_is_a_leaf_of_the_workspace() {
    let t = tree("gatewatch-model", &[]);
    let ours: Vec<&str> = crates(&t)
        .into_iter()
        .filter(|c| c.starts_with("gatewatch"))
        .collect();
    assert_eq!(ours, ["gatewatch-model"], "{t}");
    assert!(
        !crates(&t).contains(&"arrow-array"),
        "only the schema types:\n{t}"
    );
}
