//! The rule parser's fuzz entry point, shared by the `cargo fuzz` target (`fuzz/`) and the
//! test that replays its saved corpus on stable Rust.

use crate::spec::{key_position, RuleSpec};
use crate::ParamOverride;
use gatewatch_model::duration::parse_positive_ms;

/// Parses `data` as a rule file, a Sigma rule file (parsed and compiled to SQL, every category
/// and status accepted), a `--param` override and a duration: no panic, and error positions lie
/// inside the text.
pub fn parse_rule(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count().max(1);
    match RuleSpec::from_toml("fuzz.toml", &text) {
        Ok(spec) => {
            let _ = spec.window_ms();
            for key in ["id", "filter", "sql", "size", "script"] {
                let (line, _) = key_position(&text, key);
                assert!(line <= lines + 1);
            }
        }
        Err(e) => {
            let shown = e.to_string();
            assert!(!shown.is_empty());
        }
    }
    let every = crate::sigma::SigmaOptions {
        proxy: true,
        include_deprecated: true,
        ..Default::default()
    };
    match crate::sigma::load("fuzz.yml", &text, &every, &[]) {
        Ok(file) => {
            for s in &file.skipped {
                assert!(!s.reason.is_empty());
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    let _ = text.parse::<ParamOverride>();
    let _ = parse_positive_ms(&text);
}
