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
pub mod eval_errors;
pub mod filter;
pub mod functions;
pub mod fuzz;
pub mod hazards;
mod mask;
pub mod pack;
pub mod params;
pub mod plan;
mod remembered;
pub mod script;
pub mod sigma;
pub mod spec;
pub mod table;
mod thread_regex;

use std::collections::HashSet;
use std::path::Path;

pub use compile::{CompiledRule, ParamOverride};
pub use error::RuleError;
pub use mask::regex_answer;
pub use sigma::{SigmaOptions, Skipped};
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

/// A loaded rule set: the rules that run and the Sigma rules skipped, with their reasons.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// Compiled, enabled rules.
    pub rules: Vec<CompiledRule>,
    /// Sigma rules read but not run (log source, unavailable field, unsupported modifier...).
    pub skipped: Vec<Skipped>,
    /// Sigma rules that run with a remark (converted legacy aggregations).
    pub notes: Vec<Skipped>,
}

/// Whether a directory entry is a rule file: `*.toml` (gatewatch rules, except the
/// `*.tests.toml` test files of Sigma rules) or `*.yml`/`*.yaml` (Sigma rules).
pub fn is_rule_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    (name.ends_with(".toml") && !name.ends_with(".tests.toml")) || sigma::is_sigma_file(&name)
}

/// The rules of one file: a TOML rule, or the rules of a Sigma file (some maybe skipped).
pub fn parse_file(
    origin: &str,
    text: &str,
    sigma_opts: &SigmaOptions,
    overrides: &[ParamOverride],
) -> Result<sigma::SigmaFile, RuleError> {
    if sigma::is_sigma_file(origin) {
        sigma::load(origin, text, sigma_opts, overrides)
    } else {
        let mut spec = RuleSpec::from_toml(origin, text)?;
        if let Some((tests_origin, tests)) = sibling_tests(origin)? {
            spec.append_tests(&tests_origin, &tests)?;
        }
        Ok(sigma::SigmaFile {
            specs: vec![spec],
            ..sigma::SigmaFile::default()
        })
    }
}

/// The test file that goes with a rule file: `NAME.tests.toml` beside `NAME.toml` or
/// `NAME.yml`. It keeps a Sigma rule file identical to upstream, and a TOML rule with many tests
/// short enough to read.
pub fn tests_path(origin: &str) -> std::path::PathBuf {
    Path::new(origin).with_extension("tests.toml")
}

/// The sibling test file of a TOML rule file, if it has one: (origin, text), from the built-in
/// pack for a `builtin:` origin, else from disk beside the rule file. A test file that exists but
/// cannot be read is an error, not a rule without tests.
fn sibling_tests(origin: &str) -> Result<Option<(String, String)>, RuleError> {
    if let Some(name) = origin.strip_prefix("builtin:") {
        let want = tests_path(name);
        return Ok(pack::BUILTIN_TESTS
            .iter()
            .find(|(n, _)| Path::new(n) == want)
            .map(|(n, text)| (format!("builtin:{n}"), (*text).to_owned())));
    }
    let path = tests_path(origin);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some((path.display().to_string(), text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RuleError::Parse {
            origin: path.display().to_string(),
            line: 0,
            col: 0,
            message: format!("cannot read the rule's test file: {e}"),
        }),
    }
}

/// Every rule file under a directory (see [`is_rule_file`]), subdirectories included (a
/// SigmaHQ checkout keeps its rules in a tree), in path order. Entries whose name starts with
/// `.` are left out, and symbolic links to directories are not followed: a Kubernetes
/// ConfigMap volume's `..data` link and timestamped directory would otherwise load every rule
/// twice.
pub fn rule_paths(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                if depth < 16 {
                    walk(&path, depth + 1, out)?;
                }
            } else if is_rule_file(&path) && path.is_file() {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, 0, &mut out)?;
    out.sort();
    Ok(out)
}

/// Every rule file under a directory (see [`rule_paths`]) with its text.
pub fn dir_files(dir: &Path) -> Result<RuleFiles, RuleError> {
    let io_err = |e: std::io::Error| RuleError::Parse {
        origin: dir.display().to_string(),
        line: 0,
        col: 0,
        message: format!("cannot read rule directory: {e}"),
    };
    let paths = rule_paths(dir).map_err(io_err)?;
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
    Ok(compile_set(files, overrides, &SigmaOptions::default())?.rules)
}

/// [`compile_all`] with Sigma options, also returning the skipped Sigma rules.
pub fn compile_set(
    files: RuleFiles,
    overrides: &[ParamOverride],
    sigma_opts: &SigmaOptions,
) -> Result<RuleSet, RuleError> {
    let (rules, mut errors, skipped, notes) = compile_each(files, overrides, sigma_opts, false);
    match errors.is_empty() {
        true => Ok(RuleSet {
            rules,
            skipped,
            notes,
        }),
        false => Err(errors.remove(0)),
    }
}

/// Checks every file and returns every error found (what `gatewatch rules lint` prints).
/// Disabled rules are compiled too: a rule should not break the day it is enabled.
pub fn lint(files: RuleFiles, overrides: &[ParamOverride]) -> Vec<RuleError> {
    lint_with(files, overrides, &SigmaOptions::default()).0
}

/// [`lint`] with Sigma options: the errors, the Sigma rules that would be skipped, and the
/// warnings (`origin: warning: rule ID: ...`: operations that fail on some input values, see
/// [`hazards`]).
pub fn lint_with(
    files: RuleFiles,
    overrides: &[ParamOverride],
    sigma_opts: &SigmaOptions,
) -> (Vec<RuleError>, Vec<Skipped>, Vec<String>) {
    let (rules, errors, skipped, _) = compile_each(files, overrides, sigma_opts, true);
    let warnings = (rules.iter())
        .flat_map(|r| {
            (r.warnings.iter()).map(|w| format!("{}: warning: rule {}: {w}", r.origin, r.id()))
        })
        .collect();
    (errors, skipped, warnings)
}

/// Every rule of a set of files, Sigma correlations resolved across files.
#[derive(Debug, Default)]
pub struct ParsedFiles {
    /// (origin, file text, spec) of every rule, disabled ones included.
    pub specs: Vec<(String, String, RuleSpec)>,
    /// Files that did not parse.
    pub errors: Vec<RuleError>,
    /// Sigma rules read but not run.
    pub skipped: Vec<Skipped>,
    /// Sigma rules that run with a remark (converted legacy aggregations).
    pub notes: Vec<Skipped>,
}

/// Parses every file, then resolves the Sigma correlations against all of their rules (a
/// correlation may reference rules of other files of the set).
pub fn parse_files(
    files: &RuleFiles,
    sigma_opts: &SigmaOptions,
    overrides: &[ParamOverride],
) -> ParsedFiles {
    let mut out = ParsedFiles::default();
    let mut pending = Vec::new();
    let mut names = std::collections::HashMap::new();
    let mut texts = std::collections::HashMap::new();
    for (origin, text) in files {
        match parse_file(origin, text, sigma_opts, overrides) {
            Ok(f) => {
                out.skipped.extend(f.skipped);
                out.notes.extend(f.notes);
                pending.extend(f.correlations);
                names.extend(f.names);
                texts.insert(origin.clone(), text.clone());
                out.specs.extend(
                    f.specs
                        .into_iter()
                        .map(|s| (origin.clone(), text.clone(), s)),
                );
            }
            Err(e) => out.errors.push(e),
        }
    }
    if !pending.is_empty() {
        let mut specs: Vec<RuleSpec> = out.specs.iter().map(|s| s.2.clone()).collect();
        let correlations =
            sigma::correlation::resolve(&mut specs, &mut out.skipped, &names, &pending, overrides);
        for (entry, spec) in out.specs.iter_mut().zip(specs) {
            entry.2 = spec;
        }
        for (origin, spec) in correlations {
            let text = texts.get(&origin).cloned().unwrap_or_default();
            out.specs.push((origin, text, spec));
        }
    }
    out
}

fn compile_each(
    files: RuleFiles,
    overrides: &[ParamOverride],
    sigma_opts: &SigmaOptions,
    compile_disabled: bool,
) -> (
    Vec<CompiledRule>,
    Vec<RuleError>,
    Vec<Skipped>,
    Vec<Skipped>,
) {
    let mut rules = Vec::new();
    let mut seen = HashSet::new();
    let ParsedFiles {
        specs,
        mut errors,
        skipped,
        notes,
    } = parse_files(&files, sigma_opts, overrides);
    let mut to_compile = Vec::new();
    for (origin, text, spec) in specs {
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
            to_compile.push((origin, text, spec));
        }
    }
    for (enabled, result) in compile_parallel(to_compile, overrides) {
        match result {
            Ok(r) if enabled => rules.push(r),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    for o in overrides {
        if let Some(rule) = &o.rule {
            if !seen.contains(rule) && !skipped.iter().any(|s| &s.rule_id == rule) {
                errors.push(RuleError::Param {
                    spec: format!("{rule}.{}={}", o.name, o.value),
                    message: format!("no rule with id {rule:?} is loaded"),
                });
            }
        }
    }
    (rules, errors, skipped, notes)
}

/// Compiles rules on every core (planning a rule's SQL takes about a millisecond; a SigmaHQ
/// checkout has hundreds), results in input order: whether each was enabled, and its result.
fn compile_parallel(
    specs: Vec<(String, String, RuleSpec)>,
    overrides: &[ParamOverride],
) -> Vec<(bool, Result<CompiledRule, RuleError>)> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = specs.len().div_ceil(threads).max(8);
    let compile = |chunk: Vec<(String, String, RuleSpec)>| -> Vec<_> {
        chunk
            .into_iter()
            .map(|(origin, text, spec)| {
                let enabled = spec.enabled;
                (
                    enabled,
                    CompiledRule::compile(spec, &origin, &text, overrides),
                )
            })
            .collect()
    };
    let mut chunks: Vec<Vec<_>> = Vec::new();
    let mut rest = specs.into_iter().peekable();
    while rest.peek().is_some() {
        chunks.push(rest.by_ref().take(per).collect());
    }
    if chunks.len() <= 1 {
        return chunks.into_iter().flat_map(compile).collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(move || compile(chunk)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Compiles the built-in pack.
pub fn load_builtin(overrides: &[ParamOverride]) -> Result<Vec<CompiledRule>, RuleError> {
    compile_all(builtin_files(), overrides)
}

/// Compiles every rule file of a directory, in file-name order.
pub fn load_dir(dir: &Path, overrides: &[ParamOverride]) -> Result<Vec<CompiledRule>, RuleError> {
    compile_all(dir_files(dir)?, overrides)
}

/// [`load_dir`] with Sigma options, also returning the skipped Sigma rules.
pub fn load_dir_with(
    dir: &Path,
    overrides: &[ParamOverride],
    sigma_opts: &SigmaOptions,
) -> Result<RuleSet, RuleError> {
    compile_set(dir_files(dir)?, overrides, sigma_opts)
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
