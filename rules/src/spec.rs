//! The rule file format (TOML, one rule per file). Field docs here are the user documentation
//! of the format; unknown fields are errors so that a typo never silently disables a check.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use gatewatch_model::duration::parse_positive_ms;

use crate::error::RuleError;

/// How urgent an alert of this rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, not worth a page.
    Info,
    /// Review in the normal queue.
    Low,
    /// Review today.
    Medium,
    /// Review now.
    High,
    /// Page someone.
    Critical,
}

impl Severity {
    /// The severity named `name` (`info`, `low`, `medium`, `high`, `critical`; any case).
    pub fn parse(name: &str) -> Option<Severity> {
        [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|s| s.to_string().eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// A detection rule as written in its file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable identifier; part of every alert id, so renaming a rule changes its alert ids.
    pub id: String,
    /// One-line alert title.
    pub title: String,
    /// What the rule detects and what an analyst should do about it.
    #[serde(default)]
    pub description: String,
    /// Alert severity.
    pub severity: Severity,
    /// ATT&CK / OWASP tags, e.g. `attack.t1110.004`, `owasp.api2.2023`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether the rule runs.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// SQL boolean expression over the `events` columns, run on every incoming batch: only rows
    /// it keeps are buffered for the window. Put every row-level condition here.
    #[serde(default)]
    pub filter: Option<String>,
    /// SQL query over `events` (the window's filtered rows). It must return a column `entity`;
    /// `event_count`, `first_seen` and `last_seen` are used when present, other columns go to
    /// the alert's `fields`. Every returned row is one alert. A rule has `sql`, or a `script`
    /// defining `on_event`, or both with a script defining `on_window`.
    #[serde(default)]
    pub sql: Option<String>,
    /// Rhai script: `fn on_event(e)` (per event) or `fn on_window(row)` (per SQL result row).
    /// See the `script` module for what each may return.
    #[serde(default)]
    pub script: Option<String>,
    /// No repeat alert for the same rule and entity within this much event time (e.g. `30m`).
    #[serde(default)]
    pub suppress_for: Option<String>,
    /// Test cases run by `gatewatch rules test`.
    #[serde(default)]
    pub tests: Vec<RuleTest>,
    /// Tunable values, referenced in `filter` and `sql` as `${name}` and replaced by SQL
    /// literals (strings quoted). Override them with `--param [RULE.]NAME=VALUE`.
    #[serde(default)]
    pub params: BTreeMap<String, ParamValue>,
    /// The event-time window the SQL runs over.
    pub window: WindowSpec,
    /// What the alert is about.
    pub entity: EntitySpec,
    /// Constant fields every alert of the rule carries (not settable in TOML rule files): a
    /// Sigma rule's `author`, `references` and `falsepositives`, which its licence asks alerts
    /// to keep.
    #[serde(skip)]
    pub alert_fields: serde_json::Map<String, serde_json::Value>,
    /// `filter` and `sql` are used as written, without `${param}` substitution: set for rules
    /// compiled from Sigma, whose values may contain `${` (log4shell patterns).
    #[serde(skip)]
    pub verbatim: bool,
    /// Every row in one task (not settable in TOML rule files): set for Sigma correlations
    /// whose groups no single column decides (aliases, no group-by, lowercased keys).
    #[serde(skip)]
    pub one_group: bool,
}

fn yes() -> bool {
    true
}

/// One test case of a rule: input events and what must come out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTest {
    /// What the case shows, e.g. "25 failed logins from one address alert".
    pub name: String,
    /// Compact events: `events` column names as keys (`client_ip`, `path`, `status`, ...), plus
    /// `at` (offset from the test's start, e.g. `90s`), `repeat` and `every` (e.g. `1s`).
    #[serde(default)]
    pub events: Vec<toml::Table>,
    /// Raw log lines (Kong JSON, Envoy JSON or NGINX), appended after `events`.
    #[serde(default)]
    pub lines: Option<String>,
    /// An OpenAPI document (YAML or JSON text) loaded as the API inventory for this test, as
    /// `--openapi` would; without it the test runs with no spec loaded.
    #[serde(default)]
    pub openapi: Option<String>,
    /// Parameter values for this case only, applied after any `--param` as `--param
    /// RULE.NAME=VALUE` would set them (`params = { own_hosts_regex = '^https?://shop' }`): the
    /// test of a knob operators turn. Strings are taken as written, numbers and booleans as
    /// their text.
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, toml::Value>,
    /// What the rule must produce.
    pub expect: Expectation,
}

impl RuleTest {
    /// This case's `params` as overrides of `rule_id`'s parameters.
    pub fn param_overrides(&self, rule_id: &str) -> Vec<crate::ParamOverride> {
        self.params
            .iter()
            .map(|(name, value)| crate::ParamOverride {
                rule: Some(rule_id.to_owned()),
                name: name.clone(),
                value: match value {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    // Arrays, tables, dates: no parameter type reads them; the parse says so.
                    other => format!("{other:?}"),
                },
            })
            .collect()
    }
}

/// Expected output of a rule test.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// Number of alerts (0 for "no alert").
    pub alerts: usize,
    /// Every alert is about this entity.
    #[serde(default)]
    pub entity: Option<String>,
    /// Every alert has this severity.
    #[serde(default)]
    pub severity: Option<String>,
    /// Every alert has at least this event count.
    #[serde(default)]
    pub min_event_count: Option<i64>,
    /// Alert fields that must have these values.
    #[serde(default)]
    pub fields: toml::Table,
}

/// A parameter's value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// An integer.
    Int(i64),
    /// A number.
    Float(f64),
    /// A string (quoted as a SQL literal).
    Str(String),
}

impl ParamValue {
    /// The value as SQL literal text.
    pub fn to_sql(&self) -> String {
        match self {
            ParamValue::Int(i) => i.to_string(),
            ParamValue::Float(f) => format!("{f:?}"),
            ParamValue::Str(s) => format!("'{}'", s.replace('\'', "''")),
        }
    }

    /// Parses an override given on the command line, keeping the declared type.
    pub fn parse_like(&self, text: &str) -> Result<ParamValue, String> {
        match self {
            ParamValue::Int(_) => text
                .parse()
                .map(ParamValue::Int)
                .map_err(|_| format!("expected an integer, got {text:?}")),
            ParamValue::Float(_) => text
                .parse()
                .map(ParamValue::Float)
                .map_err(|_| format!("expected a number, got {text:?}")),
            ParamValue::Str(_) => Ok(ParamValue::Str(text.to_owned())),
        }
    }
}

/// An event-time window: tumbling (`size` only) or sliding (`size` and `slide`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// Window length, e.g. `1m`, `10m`, `1h`.
    pub size: String,
    /// Distance between window starts; defaults to `size` (tumbling). Must divide `size`.
    #[serde(default)]
    pub slide: Option<String>,
}

/// The entity an alert is about.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitySpec {
    /// Kind of entity, shown in the alert: `ip`, `consumer`, `username`, `route` ...
    #[serde(rename = "type")]
    pub entity_type: String,
    /// The `events` column the SQL's `entity` comes from; evidence rows are matched on it.
    pub column: String,
}

/// Parses TOML text; errors name `origin` and the line and column where toml stopped.
fn parse_toml<T: serde::de::DeserializeOwned>(origin: &str, text: &str) -> Result<T, RuleError> {
    toml::from_str(text).map_err(|e| {
        let (line, col) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        RuleError::Parse {
            origin: origin.to_owned(),
            line,
            col,
            message: e.message().to_owned(),
        }
    })
}

impl RuleSpec {
    /// Parses a rule file's text; `origin` names it in errors.
    pub fn from_toml(origin: &str, text: &str) -> Result<RuleSpec, RuleError> {
        parse_toml(origin, text)
    }

    /// Adds the tests of the rule's sibling test file (`NAME.tests.toml`: `[[tests]]` tables
    /// and nothing else) after the rule file's own, so a rule with many tests stays a readable
    /// runbook. Errors name the test file and its line.
    pub fn append_tests(&mut self, origin: &str, text: &str) -> Result<(), RuleError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct TestFile {
            #[serde(default)]
            tests: Vec<RuleTest>,
        }
        let file: TestFile = parse_toml(origin, text)?;
        self.tests.extend(file.tests);
        Ok(())
    }

    /// Window size and slide in ms, validated.
    pub fn window_ms(&self) -> Result<(i64, i64), String> {
        let size = parse_positive_ms(&self.window.size)?;
        let slide = match &self.window.slide {
            Some(s) => parse_positive_ms(s)?,
            None => size,
        };
        if slide > size || size % slide != 0 {
            return Err(format!(
                "window slide {slide} ms must divide the size {size} ms"
            ));
        }
        Ok((size, slide))
    }
}

/// Where `key` and its value are in a rule file: the byte spans toml's parser recorded, for
/// the first `key` found in the document's top level, then in its tables (`size` is
/// `window.size`, `column` is `entity.column`), in document order. `None` if absent or if the
/// text is not TOML.
pub fn key_spans(text: &str, key: &str) -> Option<(Range<usize>, Range<usize>)> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(text).ok()?;
    let top = doc.get_ref();
    let direct = top
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(k, v)| (k.span(), v.span()));
    direct.or_else(|| {
        let mut tables: Vec<_> = top
            .iter()
            .filter_map(|(_, v)| match v.get_ref() {
                DeValue::Table(t) => Some((v.span().start, t)),
                _ => None,
            })
            .collect();
        tables.sort_by_key(|(start, _)| *start);
        tables.into_iter().find_map(|(_, t)| {
            t.iter()
                .find(|(k, _)| k.get_ref() == key)
                .map(|(k, v)| (k.span(), v.span()))
        })
    })
}

/// 1-based line and column of `key` in a rule file (see [`key_spans`]), or (0, 0) if absent.
/// Used to point errors found after parsing at the field they concern.
pub fn key_position(text: &str, key: &str) -> (usize, usize) {
    key_spans(text, key).map_or((0, 0), |(k, _)| line_col(text, k.start))
}

/// Position of `needle` inside the value of `key` (e.g. an unknown column inside `sql`),
/// falling back to the key's own position.
pub fn position_in_value(text: &str, key: &str, needle: &str) -> (usize, usize) {
    let Some((k, v)) = key_spans(text, key) else {
        return (0, 0);
    };
    match text.get(v.clone()).and_then(|value| value.find(needle)) {
        Some(i) if !needle.is_empty() => line_col(text, v.start + i),
        _ => line_col(text, k.start),
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_rejected_with_position() {
        let text = "id = \"x\"\ntitle = \"t\"\nseverity = \"high\"\nsql = \"select 1\"\nthreshhold = 3\n[window]\nsize = \"1m\"\n[entity]\ntype = \"ip\"\ncolumn = \"client_ip\"\n";
        assert_eq!(key_position(text, "severity"), (3, 1));
        assert_eq!(position_in_value(text, "sql", "1"), (4, 15));
        assert_eq!(key_position(text, "column"), (10, 1), "entity.column");
        assert_eq!(key_position(text, "size"), (7, 1), "window.size");
        let err = RuleSpec::from_toml("x.toml", text).unwrap_err().to_string();
        assert!(err.starts_with("x.toml:5:1:"), "{err}");
        assert!(err.contains("threshhold"), "{err}");
    }

    #[test]
    fn positions_come_from_the_parser_not_from_text_search() {
        // `sql =` inside a multi-line string and a key under [[tests]] must not be taken for
        // the rule's own keys; a key written with quotes or spaces is still found.
        let text = "id = \"x\"\nfilter = \"\"\"\nsql = status\"\"\"\n\"sql\"   =  \"select nope\"\n[[tests]]\nsize = 1\n[window]\nsize = \"1m\"\n";
        assert_eq!(key_position(text, "sql"), (4, 1));
        assert_eq!(position_in_value(text, "sql", "nope"), (4, 20));
        assert_eq!(
            key_position(text, "size"),
            (8, 1),
            "window.size, not tests[0].size"
        );
        assert_eq!(key_position(text, "missing"), (0, 0));
        assert_eq!(key_position("not = [toml", "not"), (0, 0));
    }

    #[test]
    fn param_literals_are_quoted() {
        assert_eq!(ParamValue::Str("it's".into()).to_sql(), "'it''s'");
        assert_eq!(
            ParamValue::Int(20).parse_like("30"),
            Ok(ParamValue::Int(30))
        );
        assert!(ParamValue::Int(20).parse_like("lots").is_err());
    }
}
