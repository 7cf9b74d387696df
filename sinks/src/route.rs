//! Which alerts go to a destination: by severity, rule id or tag.

use gatewatch_model::Alert;
use serde::Deserialize;

/// Severities from lowest to highest; rules use these words.
pub const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

/// Rank of a severity word (unknown words rank as `info`).
pub fn severity_rank(severity: &str) -> u8 {
    SEVERITIES
        .iter()
        .position(|s| s.eq_ignore_ascii_case(severity))
        .unwrap_or(0) as u8
}

/// A destination's routing filter. Empty lists match everything; all given conditions must
/// hold (severity at least `min_severity`, rule id in `rules`, one tag in `tags`, rule id not
/// in `exclude_rules`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Lowest severity sent.
    #[serde(default)]
    pub min_severity: Option<String>,
    /// Only these rule ids (a trailing `*` matches a prefix).
    #[serde(default)]
    pub rules: Vec<String>,
    /// Only alerts with at least one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Never these rule ids (a trailing `*` matches a prefix).
    #[serde(default)]
    pub exclude_rules: Vec<String>,
}

fn id_matches(pattern: &str, id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => pattern == id,
    }
}

impl Route {
    /// Checks the severity word, so a typo is an error at start-up rather than a silent drop.
    pub fn validate(&self) -> Result<(), String> {
        match &self.min_severity {
            Some(s) if !SEVERITIES.iter().any(|k| k.eq_ignore_ascii_case(s)) => Err(format!(
                "min_severity {s:?} is not one of {}",
                SEVERITIES.join(", ")
            )),
            _ => Ok(()),
        }
    }

    /// Whether `alert` goes to this destination.
    pub fn matches(&self, alert: &Alert) -> bool {
        if let Some(min) = &self.min_severity {
            if severity_rank(&alert.severity) < severity_rank(min) {
                return false;
            }
        }
        if !self.rules.is_empty() && !self.rules.iter().any(|p| id_matches(p, &alert.rule_id)) {
            return false;
        }
        if !self.tags.is_empty() && !alert.tags.iter().any(|t| self.tags.contains(t)) {
            return false;
        }
        !self
            .exclude_rules
            .iter()
            .any(|p| id_matches(p, &alert.rule_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(rule: &str, severity: &str, tags: &[&str]) -> Alert {
        crate::test_alert("x", rule, severity, tags)
    }

    #[test]
    fn routes_by_severity_rule_and_tag() {
        let r = Route {
            min_severity: Some("high".into()),
            rules: vec!["credential-*".into()],
            tags: vec!["T1110".into()],
            exclude_rules: vec!["credential-spray".into()],
        };
        assert!(r.matches(&alert("credential-stuffing", "critical", &["T1110"])));
        assert!(!r.matches(&alert("credential-stuffing", "medium", &["T1110"])));
        assert!(!r.matches(&alert("bola-walk", "high", &["T1110"])));
        assert!(!r.matches(&alert("credential-stuffing", "high", &["API1"])));
        assert!(!r.matches(&alert("credential-spray", "high", &["T1110"])));
        assert!(Route::default().matches(&alert("any", "info", &[])));
        assert!(Route {
            min_severity: Some("hihg".into()),
            ..Route::default()
        }
        .validate()
        .is_err());
    }
}
