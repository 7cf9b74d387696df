//! Parameter overrides from their three places, in the order they apply (later wins): the
//! config file's `[rules.params]` table, a parameters file (`--params-file`), then `--param`
//! flags. The file and the table share one form:
//!
//! ```toml
//! min_failures = 50                 # every rule that declares min_failures
//! [credential-stuffing-single-source]
//! window_failures = 30              # one rule only
//! ```

use std::path::Path;

use crate::compile::ParamOverride;
use crate::error::RuleError;
use crate::spec::line_col;

/// Overrides as `[RULE.]NAME=VALUE` texts from a table of the parameters-file form; `origin`
/// names the table in errors.
pub fn table_specs(table: &toml::Table, origin: &str) -> Result<Vec<String>, RuleError> {
    let value_text = |key: &str, v: &toml::Value| -> Result<String, RuleError> {
        Ok(match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(RuleError::Param {
                    spec: format!("{origin}: {key}"),
                    message: format!(
                        "unsupported value {other:?}: use a string, number or boolean"
                    ),
                })
            }
        })
    };
    let mut specs = Vec::new();
    for (key, v) in table {
        match v {
            toml::Value::Table(rule) => {
                for (name, v) in rule {
                    specs.push(format!("{key}.{name}={}", value_text(name, v)?));
                }
            }
            v => specs.push(format!("{key}={}", value_text(key, v)?)),
        }
    }
    Ok(specs)
}

/// Reads a parameters file; errors name `file:line:col`, as rule errors do.
pub fn read_file(path: &Path) -> Result<toml::Table, RuleError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| RuleError::Parse {
        origin: origin.clone(),
        line: 0,
        col: 0,
        message: format!("cannot read the parameters file: {e}"),
    })?;
    toml::from_str(&text).map_err(|e| {
        let (line, col) = e.span().map_or((0, 0), |s| line_col(&text, s.start));
        RuleError::Parse {
            origin,
            line,
            col,
            message: e.message().to_owned(),
        }
    })
}

/// The overrides of a config file's `[rules.params]` (first), a parameters file, then
/// `--param` texts (last, so they win).
pub fn all_overrides(
    params: &[String],
    file: Option<&Path>,
    config: &toml::Table,
) -> Result<Vec<ParamOverride>, RuleError> {
    let mut specs = table_specs(config, "[rules.params]")?;
    if let Some(path) = file {
        let table = read_file(path)?;
        specs.extend(table_specs(&table, &path.display().to_string())?);
    }
    specs.extend(params.iter().cloned());
    specs.iter().map(|p| p.parse::<ParamOverride>()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_places_win_and_tables_name_one_rule() {
        let config: toml::Table =
            toml::from_str("min_failures = 10\n[rule-a]\nwindow = \"5m\"\n").expect("toml");
        let all = all_overrides(&["min_failures=30".into()], None, &config).expect("overrides");
        let shown: Vec<String> = all
            .iter()
            .map(|o| format!("{:?}.{}={}", o.rule, o.name, o.value))
            .collect();
        assert_eq!(
            shown,
            [
                "None.min_failures=10",
                "Some(\"rule-a\").window=5m",
                "None.min_failures=30"
            ]
        );
        let bad: toml::Table = toml::from_str("x = [1, 2]\n").expect("toml");
        assert!(all_overrides(&[], None, &bad).is_err());
    }
}
