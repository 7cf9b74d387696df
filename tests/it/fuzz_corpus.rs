//! The fuzzers' saved corpus (`fuzz/corpus/`), replayed on stable Rust as ordinary tests: every
//! input that ever found a crash becomes a regression test here, with the same entry points
//! the `cargo fuzz` targets call.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect()
}

#[test]
fn the_decode_corpus_decodes_without_panicking() {
    let inputs = corpus("decode");
    assert!(inputs.len() >= 5);
    for (path, data) in inputs {
        let r = std::panic::catch_unwind(|| gatewatch_ingest::fuzz::decode_bytes(&data));
        assert!(r.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn the_rule_corpus_parses_without_panicking() {
    let inputs = corpus("rule_spec");
    assert!(inputs.len() >= 3);
    for (path, data) in inputs {
        let r = std::panic::catch_unwind(|| gatewatch_rules::fuzz::parse_rule(&data));
        assert!(r.is_ok(), "{} panicked", path.display());
    }
}
