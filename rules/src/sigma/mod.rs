//! Sigma detection rules (`*.yml`, `*.yaml` in a rule directory), run as gatewatch rules.
//!
//! [`rsigma_parser`] parses the files and conditions; [`detection`] compiles the detection
//! into the rule's SQL row filter; [`fields`] maps Sigma's web-server field names onto the
//! `events` columns. A matching event raises one alert per client address and window
//! (tumbling, [`SigmaOptions::window`], default 1 minute) with `suppress_for`
//! [`SigmaOptions::suppress_for`] (default 10 minutes); `--param RULE_ID.window=5m` and
//! `--param RULE_ID.suppress_for=1h` set them per rule. Alerts carry the rule's `author`,
//! `references` and `falsepositives`, as the Detection Rule License asks.
//!
//! A rule that cannot run on gateway access logs (another log source, a field no column
//! holds, an unsupported modifier, an aggregation) is *skipped* with its reason, never loaded
//! half-understood; `gatewatch rules lint` lists the skipped rules.

pub mod correlation;
pub mod detection;
pub mod fields;
pub mod legacy;
pub mod matcher;

use std::collections::BTreeMap;
use std::path::Path;

use rsigma_parser::{Level, SigmaRule, Status};
use serde::Deserialize;
use serde_json::Value;

use crate::compile::ParamOverride;
use crate::error::RuleError;
use crate::spec::{EntitySpec, ParamValue, RuleSpec, RuleTest, Severity, WindowSpec};
use gatewatch_model::duration::parse_positive_ms;

/// How Sigma rules are selected and windowed.
#[derive(Debug, Clone, PartialEq)]
pub struct SigmaOptions {
    /// Also run `category: proxy` rules (`--sigma-proxy`). Gateway logs are reverse-proxy
    /// logs, where most proxy rules make sense, but some assume a full URL in `c-uri`.
    pub proxy: bool,
    /// Also run rules whose status is `deprecated` or `unsupported`.
    pub include_deprecated: bool,
    /// The tumbling window an alert covers (default `1m`).
    pub window: String,
    /// No repeat alert for the same rule and client within this much event time (default `10m`).
    pub suppress_for: String,
}

impl Default for SigmaOptions {
    fn default() -> Self {
        SigmaOptions {
            proxy: false,
            include_deprecated: false,
            window: "1m".into(),
            suppress_for: "10m".into(),
        }
    }
}

/// A Sigma rule that was read but does not run, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The file it came from.
    pub origin: String,
    /// Its `id` (or the file name without one).
    pub rule_id: String,
    /// Its title.
    pub title: String,
    /// Why it does not run, and how to make it run where that is possible.
    pub reason: String,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: skipped Sigma rule {} ({}): {}",
            self.origin, self.rule_id, self.title, self.reason
        )
    }
}

/// What a Sigma file gives: rules ready to compile, and rules skipped with a reason.
#[derive(Debug, Default)]
pub struct SigmaFile {
    /// Rules that run, as gatewatch rule specs (the filter is the compiled detection).
    pub specs: Vec<RuleSpec>,
    /// Rules that do not run.
    pub skipped: Vec<Skipped>,
    /// Correlation rules, resolved once every file is read ([`correlation::resolve`]).
    pub correlations: Vec<correlation::Pending>,
    /// `name` -> `id` of the rules and correlations that have a name.
    pub names: Vec<(String, String)>,
    /// Rules that run with a remark (a converted legacy aggregation), for `rules lint`.
    pub notes: Vec<Skipped>,
}

/// Whether a file name is a Sigma rule file.
pub fn is_sigma_file(name: &str) -> bool {
    name.ends_with(".yml") || name.ends_with(".yaml")
}

/// The test file that goes with a Sigma rule file: `NAME.tests.toml` beside `NAME.yml`, so that
/// rule files stay identical to upstream (see [`crate::tests_path`]).
pub use crate::tests_path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    tests: Vec<RuleTest>,
    /// Tests of one rule of a multi-rule file, by rule id.
    #[serde(default)]
    rule: BTreeMap<String, TestFile>,
}

fn severity(level: Option<&Level>) -> Severity {
    match level {
        Some(Level::Informational) => Severity::Info,
        Some(Level::Low) => Severity::Low,
        None | Some(Level::Medium) => Severity::Medium,
        Some(Level::High) => Severity::High,
        Some(Level::Critical) => Severity::Critical,
    }
}

/// Why a rule does not apply to gateway access logs, if it does not.
fn not_applicable(rule: &SigmaRule, opts: &SigmaOptions) -> Option<String> {
    match rule.status {
        Some(Status::Deprecated) if !opts.include_deprecated => {
            return Some("status deprecated (--sigma-include-deprecated runs it)".into())
        }
        Some(Status::Unsupported) if !opts.include_deprecated => {
            return Some("status unsupported (--sigma-include-deprecated runs it)".into())
        }
        _ => {}
    }
    let ls = &rule.logsource;
    let lower = |s: &Option<String>| s.as_deref().map(str::to_ascii_lowercase);
    let (category, product) = (lower(&ls.category), lower(&ls.product));
    let web = category.as_deref() == Some("webserver")
        || matches!(product.as_deref(), Some("nginx" | "apache"));
    if web {
        return None;
    }
    if category.as_deref() == Some("proxy") {
        return (!opts.proxy).then(|| {
            "category proxy: run proxy rules on gateway logs with --sigma-proxy (some assume a \
             full URL in c-uri)"
                .to_owned()
        });
    }
    Some(format!(
        "log source (category {}, product {}) is not a web server or proxy log",
        category.as_deref().unwrap_or("-"),
        product.as_deref().unwrap_or("-")
    ))
}

/// The per-rule `window` or `suppress_for` override of `--param RULE_ID.NAME=VALUE`, if any.
fn rule_override<'a>(overrides: &'a [ParamOverride], id: &str, name: &str) -> Option<&'a str> {
    overrides
        .iter()
        .rev()
        .find(|o| o.rule.as_deref() == Some(id) && o.name == name)
        .map(|o| o.value.as_str())
}

fn spec_of(
    rule: &SigmaRule,
    origin: &str,
    opts: &SigmaOptions,
    overrides: &[ParamOverride],
    tests: Vec<RuleTest>,
) -> Result<RuleSpec, RuleError> {
    let id = rule_id(rule, origin);
    let invalid = |message: String| RuleError::Invalid {
        origin: origin.to_owned(),
        line: 0,
        col: 0,
        rule_id: id.clone(),
        message,
    };
    let window = rule_override(overrides, &id, "window").unwrap_or(&opts.window);
    let suppress = rule_override(overrides, &id, "suppress_for").unwrap_or(&opts.suppress_for);
    for (name, d) in [("window", window), ("suppress_for", suppress)] {
        parse_positive_ms(d).map_err(|m| invalid(format!("{name}: {m}")))?;
    }
    let filter = detection::filter_sql(&rule.detection.named, &rule.detection.conditions)
        .map_err(invalid)?;
    let alert_fields = provenance_fields(
        rule.author.as_deref(),
        &rule.references,
        &rule.falsepositives,
    );
    let mut params = BTreeMap::new();
    params.insert("window".to_owned(), ParamValue::Str(window.to_owned()));
    params.insert(
        "suppress_for".to_owned(),
        ParamValue::Str(suppress.to_owned()),
    );
    Ok(RuleSpec {
        title: rule.title.clone(),
        description: rule.description.clone().unwrap_or_default(),
        severity: severity(rule.level.as_ref()),
        tags: rule.tags.clone(),
        enabled: true,
        filter: Some(filter),
        // No query: the compiler's per-entity default (count, first and last seen per
        // `entity.column`), the same one `on_event` script rules get.
        sql: None,
        script: None,
        suppress_for: Some(suppress.to_owned()),
        tests,
        params,
        window: WindowSpec {
            size: window.to_owned(),
            slide: None,
        },
        entity: EntitySpec {
            entity_type: "ip".into(),
            column: "client_ip".into(),
        },
        alert_fields,
        verbatim: true,
        one_group: false,
        id,
    })
}

fn rule_id(rule: &SigmaRule, origin: &str) -> String {
    rule.id.clone().unwrap_or_else(|| {
        let stem = Path::new(origin)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| origin.to_owned());
        format!("sigma-{stem}")
    })
}

/// Reads one Sigma file: every rule in it either becomes a spec or is skipped with a reason.
/// Tests come from the sibling `NAME.tests.toml` when `origin` is a path that has one.
pub fn load(
    origin: &str,
    text: &str,
    opts: &SigmaOptions,
    overrides: &[ParamOverride],
) -> Result<SigmaFile, RuleError> {
    let parse_err = |message: String| RuleError::Parse {
        origin: origin.to_owned(),
        line: 0,
        col: 0,
        message,
    };
    let collection = rsigma_parser::parse_sigma_yaml(text).map_err(|e| parse_err(e.to_string()))?;
    if let Some(e) = collection.errors.first() {
        return match legacy::convert(text) {
            Some(legacy::Legacy::Converted {
                text: converted,
                note,
            }) => {
                let mut f = load(origin, &converted, opts, overrides)?;
                // A detection part that cannot run: the rule as written is what is skipped.
                if let (Some(base), Some(c)) = (f.skipped.pop(), f.correlations.first()) {
                    return Ok(SigmaFile {
                        skipped: vec![Skipped {
                            rule_id: c.id(),
                            title: c.rule.title.clone(),
                            ..base
                        }],
                        ..SigmaFile::default()
                    });
                }
                if let Some(c) = f.correlations.first() {
                    f.notes.push(Skipped {
                        origin: origin.to_owned(),
                        rule_id: c.id(),
                        title: c.rule.title.clone(),
                        reason: note,
                    });
                }
                Ok(f)
            }
            Some(legacy::Legacy::Skipped {
                rule_id,
                title,
                reason,
            }) => Ok(SigmaFile {
                skipped: vec![Skipped {
                    origin: origin.to_owned(),
                    rule_id,
                    title,
                    reason,
                }],
                ..SigmaFile::default()
            }),
            None => Err(parse_err(e.clone())),
        };
    }
    let mut tests = match std::fs::read_to_string(tests_path(origin)) {
        Ok(t) => toml::from_str::<TestFile>(&t).map_err(|e| RuleError::Parse {
            origin: tests_path(origin).display().to_string(),
            line: e.span().map_or(0, |s| crate::spec::line_col(&t, s.start).0),
            col: 0,
            message: e.message().to_owned(),
        })?,
        Err(_) => TestFile {
            tests: Vec::new(),
            rule: BTreeMap::new(),
        },
    };
    let mut out = SigmaFile::default();
    let skip = |rule: &SigmaRule, reason: String| Skipped {
        origin: origin.to_owned(),
        rule_id: rule_id(rule, origin),
        title: rule.title.clone(),
        reason,
    };
    let given = correlation::conditions_given(text);
    for (i, c) in collection.correlations.iter().enumerate() {
        let mut pending = correlation::Pending {
            origin: origin.to_owned(),
            rule: c.clone(),
            tests: Vec::new(),
            has_condition: given.get(i).copied().unwrap_or(true),
        };
        pending.tests = tests
            .rule
            .remove(&pending.id())
            .map(|t| t.tests)
            .unwrap_or_else(|| match collection.correlations.len() {
                1 => std::mem::take(&mut tests.tests),
                _ => Vec::new(),
            });
        if let Some(name) = &c.name {
            out.names.push((name.clone(), pending.id()));
        }
        out.correlations.push(pending);
    }
    for f in &collection.filters {
        out.skipped.push(Skipped {
            origin: origin.to_owned(),
            rule_id: f.id.clone().unwrap_or_default(),
            title: f.title.clone(),
            reason: "Sigma filter documents are not supported yet".into(),
        });
    }
    let single = collection.rules.len() == 1 && collection.correlations.is_empty();
    for rule in &collection.rules {
        if let Some(name) = &rule.name {
            out.names.push((name.clone(), rule_id(rule, origin)));
        }
        if let Some(reason) = not_applicable(rule, opts) {
            out.skipped.push(skip(rule, reason));
            continue;
        }
        if rule.detection.timeframe.is_some() {
            out.skipped.push(skip(
                rule,
                "an aggregation over `timeframe` (legacy correlation) is not supported yet".into(),
            ));
            continue;
        }
        let id = rule_id(rule, origin);
        let rule_tests = match tests.rule.remove(&id) {
            Some(t) => t.tests,
            None if single => std::mem::take(&mut tests.tests),
            None => Vec::new(),
        };
        match spec_of(rule, origin, opts, overrides, rule_tests) {
            Ok(spec) => out.specs.push(spec),
            Err(RuleError::Invalid { message, .. }) => out.skipped.push(skip(rule, message)),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The alert fields saying where a Sigma rule comes from: author, references and known false
/// positives, as the rule states them.
fn provenance_fields(
    author: Option<&str>,
    references: &[String],
    falsepositives: &[String],
) -> serde_json::Map<String, Value> {
    let mut fields = serde_json::Map::new();
    fields.insert(
        "author".into(),
        Value::String(author.unwrap_or_default().into()),
    );
    fields.insert("references".into(), Value::from(references.to_vec()));
    fields.insert(
        "falsepositives".into(),
        Value::from(falsepositives.to_vec()),
    );
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = r#"
title: Probe
id: 11111111-2222-3333-4444-555555555555
status: test
author: Someone
references: [https://example.org]
falsepositives: [Scanners you run yourself]
level: high
tags: [attack.t1190]
logsource:
    category: webserver
detection:
    selection:
        cs-uri-query|contains: '/etc/passwd'
        sc-status: 200
    condition: selection
"#;

    #[test]
    fn a_web_rule_becomes_a_spec_with_its_metadata() {
        let f = load("x.yml", RULE, &SigmaOptions::default(), &[]).unwrap();
        assert!(f.skipped.is_empty(), "{:?}", f.skipped);
        let s = &f.specs[0];
        assert_eq!(s.id, "11111111-2222-3333-4444-555555555555");
        assert_eq!(s.severity, Severity::High);
        assert_eq!(s.alert_fields["author"], "Someone");
        assert_eq!(s.window.size, "1m");
        let filter = s.filter.as_deref().unwrap();
        // A plain value goes to the shared multi-pattern pass, anchored as "contains" (2).
        assert!(
            filter.contains("sigma_match(request_target, 'request_target', 2, '"),
            "{filter}"
        );
        assert!(filter.contains("status = 200"), "{filter}");
    }

    #[test]
    fn proxy_deprecated_and_unmapped_rules_are_skipped_with_reasons() {
        let o = SigmaOptions::default();
        let proxy = RULE.replace("webserver", "proxy");
        assert!(load("p.yml", &proxy, &o, &[]).unwrap().skipped[0]
            .reason
            .contains("--sigma-proxy"));
        let on = SigmaOptions {
            proxy: true,
            ..o.clone()
        };
        assert_eq!(load("p.yml", &proxy, &on, &[]).unwrap().specs.len(), 1);
        let dep = RULE.replace("status: test", "status: deprecated");
        assert!(load("d.yml", &dep, &o, &[]).unwrap().skipped[0]
            .reason
            .contains("deprecated"));
        let cookie = RULE.replace("sc-status: 200", "cs-cookie|contains: x");
        let f = load("c.yml", &cookie, &o, &[]).unwrap();
        assert!(f.specs.is_empty());
        assert!(
            f.skipped[0].reason.contains("cs-cookie"),
            "{}",
            f.skipped[0]
        );
        let b64 = RULE.replace("cs-uri-query|contains:", "cs-uri-query|base64:");
        assert!(load("b.yml", &b64, &o, &[]).unwrap().skipped[0]
            .reason
            .contains("base64"));
    }

    #[test]
    fn per_rule_window_and_suppression_override_the_defaults() {
        let o: Vec<ParamOverride> = vec![
            "11111111-2222-3333-4444-555555555555.window=5m"
                .parse()
                .unwrap(),
            "11111111-2222-3333-4444-555555555555.suppress_for=1h"
                .parse()
                .unwrap(),
        ];
        let f = load("x.yml", RULE, &SigmaOptions::default(), &o).unwrap();
        assert_eq!(f.specs[0].window.size, "5m");
        assert_eq!(f.specs[0].suppress_for.as_deref(), Some("1h"));
    }
}
