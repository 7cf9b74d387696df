//! Attacker-controlled text in alerts (paths, user agents, entities) is bounded before it
//! reaches a chat, a pager or a webhook: long strings are cut with an ellipsis. ClickHouse
//! keeps the full alert.

use gatewatch_model::Alert;
use serde_json::Value;

/// Longest string value sent to webhooks and PagerDuty, in characters.
pub const MAX_VALUE_CHARS: usize = 1024;

/// `s` cut to at most `max` characters, ending with `…` when cut.
///
/// ```
/// use gatewatch_sinks::bound::truncate;
/// assert_eq!(truncate("abcdef", 4), "abc…");
/// assert_eq!(truncate("abc", 4), "abc");
/// ```
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn bound_value(v: &mut Value, max: usize) {
    match v {
        Value::String(s) if s.chars().count() > max => *s = truncate(s, max),
        Value::Array(a) => a.iter_mut().for_each(|v| bound_value(v, max)),
        Value::Object(o) => o.values_mut().for_each(|v| bound_value(v, max)),
        _ => {}
    }
}

/// A copy of `alert` whose text (entity, title, fields, evidence) is at most `max` characters
/// per value.
pub fn bounded(alert: &Alert, max: usize) -> Alert {
    let mut a = alert.clone();
    a.entity = truncate(&a.entity, max);
    a.title = truncate(&a.title, max);
    for row in a.evidence.iter_mut() {
        row.values_mut().for_each(|v| bound_value(v, max));
    }
    a.fields.values_mut().for_each(|v| bound_value(v, max));
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_everywhere() {
        let mut a = crate::test_alert("i", "r", "high", &[]);
        a.entity = "e".repeat(5000);
        let mut row = serde_json::Map::new();
        row.insert("user_agent".into(), "x".repeat(70_000).into());
        a.evidence.push(row);
        a.fields
            .insert("list".into(), serde_json::json!(["y".repeat(3000)]));
        let b = bounded(&a, 100);
        assert_eq!(b.entity.chars().count(), 100);
        assert_eq!(
            b.evidence[0]["user_agent"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            100
        );
        assert!(b.fields["list"][0].as_str().unwrap().ends_with('…'));
    }
}
