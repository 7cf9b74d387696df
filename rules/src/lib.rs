//! # gatewatch-rules
//!
//! The rule format ([`spec`]), its compiler ([`compile`]) and the built-in pack ([`pack`]).
//!
//! A rule is a TOML file with a row-level SQL `filter` and a windowed SQL aggregate `sql`.
//! The split is what keeps state small: the filter runs on every incoming batch, so a window
//! buffers only the rows (and columns) the rule needs, e.g. failed logins only.
#![deny(missing_docs)]

pub mod aggregate;
pub mod compile;
pub mod error;
pub mod filter;
pub mod functions;
pub mod fuzz;
pub mod pack;
pub mod plan;
pub mod script;
pub mod spec;
pub mod table;

use std::collections::HashSet;
use std::path::Path;

pub use compile::{CompiledRule, ParamOverride};
pub use error::RuleError;
pub use spec::{RuleSpec, Severity};

/// (origin, text) of the rule files of a source.
pub type RuleFiles = Vec<(String, String)>;

/// The built-in pack's files, named `builtin:FILE`.
pub fn builtin_files() -> RuleFiles {
    pack::BUILTIN
        .iter()
        .map(|(name, text)| (format!("builtin:{name}"), (*text).to_owned()))
        .collect()
}

/// Every `*.toml` file of a directory, in file-name order.
pub fn dir_files(dir: &Path) -> Result<RuleFiles, RuleError> {
    let io_err = |e: std::io::Error| RuleError::Parse {
        origin: dir.display().to_string(),
        line: 0,
        col: 0,
        message: format!("cannot read rule directory: {e}"),
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(io_err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut files = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).map_err(io_err)?;
        files.push((p.display().to_string(), text));
    }
    Ok(files)
}

/// Compiles a set of rule files, failing on the first error. Disabled rules are checked for
/// parse errors and id clashes but not compiled.
pub fn compile_all(
    files: RuleFiles,
    overrides: &[ParamOverride],
) -> Result<Vec<CompiledRule>, RuleError> {
    let (rules, mut errors) = compile_each(files, overrides, false);
    match errors.is_empty() {
        true => Ok(rules),
        false => Err(errors.remove(0)),
    }
}

/// Checks every file and returns every error found (what `gatewatch rules lint` prints).
/// Disabled rules are compiled too: a rule should not break the day it is enabled.
pub fn lint(files: RuleFiles, overrides: &[ParamOverride]) -> Vec<RuleError> {
    compile_each(files, overrides, true).1
}

fn compile_each(
    files: RuleFiles,
    overrides: &[ParamOverride],
    compile_disabled: bool,
) -> (Vec<CompiledRule>, Vec<RuleError>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (origin, text) in files {
        let spec = match RuleSpec::from_toml(&origin, &text) {
            Ok(s) => s,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if !seen.insert(spec.id.clone()) {
            let (line, col) = spec::key_position(&text, "id");
            errors.push(RuleError::Invalid {
                origin,
                line,
                col,
                rule_id: spec.id,
                message: "duplicate rule id: another loaded rule already uses it".into(),
            });
            continue;
        }
        if spec.enabled || compile_disabled {
            let enabled = spec.enabled;
            match CompiledRule::compile(spec, &origin, &text, overrides) {
                Ok(r) if enabled => rules.push(r),
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
    }
    for o in overrides {
        if let Some(rule) = &o.rule {
            if !seen.contains(rule) {
                errors.push(RuleError::Param {
                    spec: format!("{rule}.{}={}", o.name, o.value),
                    message: format!("no rule with id {rule:?} is loaded"),
                });
            }
        }
    }
    (rules, errors)
}

/// Compiles the built-in pack.
pub fn load_builtin(overrides: &[ParamOverride]) -> Result<Vec<CompiledRule>, RuleError> {
    compile_all(builtin_files(), overrides)
}

/// Compiles every `*.toml` file of a directory, in file-name order.
pub fn load_dir(dir: &Path, overrides: &[ParamOverride]) -> Result<Vec<CompiledRule>, RuleError> {
    compile_all(dir_files(dir)?, overrides)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pack_compiles_and_reads_few_columns() {
        let rules = load_builtin(&[]).unwrap();
        let cs = rules
            .iter()
            .find(|r| r.id() == "credential-stuffing-single-source")
            .unwrap();
        assert_eq!(cs.window_ms, 60_000);
        let cols: Vec<_> = cs.columns.iter().map(|c| c.name()).collect();
        assert!(cols.contains(&"status") && cols.contains(&"path") && cols.contains(&"username"));
        assert!(
            !cols.contains(&"ai_cost") && !cols.contains(&"request_id"),
            "{cols:?}"
        );
    }

    #[test]
    fn override_of_an_unknown_rule_or_param_is_an_error() {
        let o: ParamOverride = "no-such-rule.min_failures=3".parse().unwrap();
        assert!(load_builtin(&[o])
            .unwrap_err()
            .to_string()
            .contains("no rule with id"));
        let o: ParamOverride = "credential-stuffing-single-source.nope=3".parse().unwrap();
        assert!(load_builtin(&[o])
            .unwrap_err()
            .to_string()
            .contains("has no parameter"));
    }

    #[test]
    fn sql_errors_point_at_the_unknown_column() {
        let (_, stuffing) = pack::BUILTIN
            .iter()
            .find(|(name, _)| name.starts_with("credential-stuffing-single-source"))
            .expect("the stuffing rule is built in");
        let text = stuffing.replace(
            "count(*) AS event_count",
            "count(*) AS event_count, no_such_col",
        );
        let line = text
            .lines()
            .position(|l| l.contains("no_such_col"))
            .unwrap()
            + 1;
        let col = text
            .lines()
            .nth(line - 1)
            .unwrap()
            .find("no_such_col")
            .unwrap()
            + 1;
        let err = compile_all(vec![("x.toml".into(), text)], &[])
            .unwrap_err()
            .to_string();
        let want = format!("x.toml:{line}:{col}: rule credential-stuffing-single-source: sql:");
        assert!(err.starts_with(&want), "{err} (want {want})");
        assert!(err.contains("no_such_col"), "{err}");
    }
}
