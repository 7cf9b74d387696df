//! Sigma correlation rules (specification v2.1) as gatewatch window rules.
//!
//! A correlation becomes one rule whose row filter keeps the events of every detection rule it
//! references (directly or through referenced correlations), whose window is its `timespan`,
//! whose entity is its `group-by`, and whose window query measures the correlation and
//! compares the measure with its `condition`:
//!
//! | type | measure (alert field) | how |
//! |---|---|---|
//! | `event_count` | `event_count` | `count(*)` |
//! | `value_count` | `value_count` | `count(DISTINCT field)` (several fields: distinct combinations) |
//! | `value_sum`, `value_avg` | `value_sum`, `value_avg` | `sum`, `avg` of a numeric field |
//! | `value_percentile` | `value_percentile` | exact nearest-rank percentile (`percentile:`, default 50) |
//! | `temporal` | `rules_matched` | referenced rules seen in the window (default condition: all) |
//! | `temporal_ordered` | `rules_matched` | referenced rules seen *in order* (default: all) |
//!
//! **Windows.** `timespan` T is a sliding window: windows of length T start every slide S
//! (default: T/10, or the largest T/k with k ≤ 10 that is a whole number of seconds;
//! `--param ID.slide=30s`; `window: tumbling` in the rule: S = T). A window covers event
//! times `[start, start + T)`. So events less than T − S apart are always counted together,
//! events T or more apart never, and in between it depends on where the windows fall. Event
//! time is the log record's time, as for every rule; late events are counted and dropped as
//! for every rule.
//!
//! **Re-alerting.** Overlapping windows see the same events: an alert is repeated for the same
//! group only after `suppress_for` (default: the timespan; `--param ID.suppress_for=1h`).
//! Alert ids are derived from the rule, the group and the window, so reruns, restarts and
//! several instances give the same ids.
//!
//! **Groups.** `group-by` values are compared exactly (case-sensitive, as logged); events
//! missing a group-by field are not counted. `--param ID.group_case=lower` compares them
//! lowercased: the correlation then runs in one task (its rows cannot be split by value).
//! Grouping on several fields, on `aliases` (a different field per referenced rule), or on no
//! field runs likewise in one task unless one plain column is common to all rows.
//!
//! **Chains.** A referenced correlation *occurs* at each event at which its condition holds
//! over its own trailing timespan, evaluated on the events of the outer correlation's window
//! and group (the outer `group-by` applies, as the specification's note on chains says): a
//! chain's events all fall within the outer timespan. `generate: true` also runs the
//! referenced rules on their own; by default they only feed the correlation.

use std::collections::{HashMap, HashSet};

use rsigma_parser::CorrelationRule;

mod spec;

use super::Skipped;
use crate::compile::ParamOverride;
use crate::spec::{RuleSpec, RuleTest};

/// A correlation read from a file, resolved once every file of the rule set is read.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The file it came from.
    pub origin: String,
    /// The parsed rule.
    pub rule: CorrelationRule,
    /// Its tests (from the sibling `NAME.tests.toml`).
    pub tests: Vec<RuleTest>,
    /// Whether the file gives a `condition` (the parser fills in a default of its own for
    /// temporal types; gatewatch's default is "every referenced rule").
    pub has_condition: bool,
}

/// Per correlation document of a Sigma file, in order: whether it has a `condition`.
pub fn conditions_given(text: &str) -> Vec<bool> {
    use serde::Deserialize;
    yaml_serde::Deserializer::from_str(text)
        .filter_map(|d| yaml_serde::Value::deserialize(d).ok())
        .filter_map(|v| Some(v.get("correlation")?.get("condition").is_some()))
        .collect()
}

impl Pending {
    /// Its id (the file name when it has none).
    pub fn id(&self) -> String {
        self.rule.id.clone().unwrap_or_else(|| {
            let stem = std::path::Path::new(&self.origin)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!("sigma-{stem}-{}", self.rule.title.replace(' ', "-"))
        })
    }
}

/// What a reference resolves to.
enum Target<'a> {
    /// A detection rule that runs: its row filter.
    Rule(&'a str),
    /// Another correlation.
    Correlation(usize),
}

/// The rule set's names and ids, for resolving references.
struct Index<'a> {
    rules: HashMap<&'a str, &'a str>,
    skipped: HashMap<&'a str, &'a str>,
    correlations: HashMap<String, usize>,
    names: &'a HashMap<String, String>,
}

impl<'a> Index<'a> {
    fn target(&self, reference: &str) -> Result<Target<'a>, String> {
        let id = self.names.get(reference).map_or(reference, String::as_str);
        if let Some(f) = self.rules.get(id) {
            return Ok(Target::Rule(f));
        }
        if let Some(&i) = self.correlations.get(id) {
            return Ok(Target::Correlation(i));
        }
        match self.skipped.get(id) {
            Some(why) => Err(format!(
                "references rule {reference:?}, which is skipped: {why}"
            )),
            None => Err(format!(
                "references rule {reference:?}, which no loaded Sigma rule has as id or name \
                 (put the referenced rule in the same rule directory)"
            )),
        }
    }
}

/// A correlation tree turned into filters and an evaluator program.
#[derive(Default)]
struct Built {
    /// Row filters of the detection rules, one bit each.
    leaves: Vec<String>,
    /// Whether any referenced rule is itself a correlation.
    chained: bool,
    /// Detection rules and correlations it references (directly or not), by id.
    referenced: Vec<String>,
}

/// Resolves every correlation against the rule set's specs: the correlation specs to compile,
/// correlations skipped with their reason, and the ids of rules that only feed correlations
/// (`generate: false`), which are disabled.
pub fn resolve(
    specs: &mut [RuleSpec],
    skipped: &mut Vec<Skipped>,
    names: &HashMap<String, String>,
    pending: &[Pending],
    overrides: &[ParamOverride],
) -> Vec<(String, RuleSpec)> {
    let skipped_reasons: Vec<(String, String)> = skipped
        .iter()
        .map(|s| (s.rule_id.clone(), s.reason.clone()))
        .collect();
    let index = Index {
        rules: specs
            .iter()
            .filter_map(|s| Some((s.id.as_str(), s.filter.as_deref()?)))
            .collect(),
        skipped: skipped_reasons
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect(),
        correlations: pending
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id(), i))
            .collect(),
        names,
    };
    let mut out = Vec::new();
    let mut feed_only: HashSet<String> = HashSet::new();
    let mut generated: HashSet<String> = HashSet::new();
    for (i, p) in pending.iter().enumerate() {
        match spec::spec_of(pending, &index, i, overrides) {
            Ok(spec) => {
                for r in &p.rule.rules {
                    let id = names.get(r).cloned().unwrap_or_else(|| r.clone());
                    if p.rule.generate {
                        generated.insert(id);
                    } else {
                        feed_only.insert(id);
                    }
                }
                out.push((p.origin.clone(), spec));
            }
            Err(reason) => skipped.push(Skipped {
                origin: p.origin.clone(),
                rule_id: p.id(),
                title: p.rule.title.clone(),
                reason,
            }),
        }
    }
    for s in specs.iter_mut() {
        if feed_only.contains(&s.id) && !generated.contains(&s.id) {
            s.enabled = false;
        }
    }
    for (_, s) in out.iter_mut() {
        if feed_only.contains(&s.id) && !generated.contains(&s.id) {
            s.enabled = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::spec::default_slide;
    use super::*;

    #[test]
    fn the_default_slide_is_a_tenth_or_the_nearest_whole_second_hop() {
        assert_eq!(default_slide(300_000), 30_000);
        assert_eq!(default_slide(3_600_000), 360_000);
        assert_eq!(default_slide(7_000), 1_000);
        assert_eq!(default_slide(1_000), 1_000);
        assert_eq!(default_slide(1_500), 1_500, "no whole-second hop: tumbling");
    }

    #[test]
    fn a_missing_condition_of_a_temporal_type_means_every_rule() {
        let text = "title: a\ncorrelation:\n    type: temporal\n---\ntitle: b\ncorrelation:\n    type: event_count\n    condition:\n        gte: 3\n";
        assert_eq!(conditions_given(text), vec![false, true]);
    }
}
