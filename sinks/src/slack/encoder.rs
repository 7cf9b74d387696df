//! The Slack message of an alert: Block Kit with every attacker-controlled text escaped and
//! cut to Slack's limits.

use gatewatch_model::alert::format_rfc3339;
use gatewatch_model::Alert;
use serde_json::{json, Value};

/// Evidence requests shown in a message.
const EVIDENCE_SHOWN: usize = 3;

/// Block Kit limits (characters): a header's text, a section's text, one section field,
/// a context element, and the notification text.
const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;
const FIELD_MAX: usize = 2000;
const CONTEXT_MAX: usize = 2000;
const FALLBACK_MAX: usize = 3000;
/// One value inside a section (a path, a user agent) is cut well before the section is full.
const VALUE_MAX: usize = 300;

/// Escapes text for Slack's mrkdwn: `&`, `<` and `>`, so attacker-written text cannot mention
/// `<!channel>`, forge links or user mentions.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped `text`, at most `max` characters, cut with `…` and never inside an escape.
pub fn escaped(text: &str, max: usize) -> String {
    let e = escape(text);
    if e.chars().count() <= max {
        return e;
    }
    let mut cut: String = e.chars().take(max.saturating_sub(1)).collect();
    if let Some(amp) = cut.rfind('&') {
        if !cut[amp..].contains(';') {
            cut.truncate(amp);
        }
    }
    cut.push('…');
    cut
}

/// A value shown inside mrkdwn text: escaped and cut to [`VALUE_MAX`].
fn value(text: &str) -> String {
    escaped(text, VALUE_MAX)
}

fn severity_emoji(severity: &str) -> &'static str {
    match severity {
        "critical" => ":red_circle:",
        "high" => ":large_orange_circle:",
        "medium" => ":large_yellow_circle:",
        _ => ":large_blue_circle:",
    }
}

fn evidence_line(row: &serde_json::Map<String, Value>) -> String {
    let get = |k: &str| {
        row.get(k).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let mut parts = Vec::new();
    if let Some(t) = get("event_time") {
        parts.push(value(&t));
    }
    match (get("method"), get("path")) {
        (Some(m), Some(p)) => parts.push(format!("`{} {}`", value(&m), value(&p))),
        (None, Some(p)) => parts.push(format!("`{}`", value(&p))),
        _ => {}
    }
    if let Some(s) = get("status") {
        parts.push(format!("→ {}", value(&s)));
    }
    if parts.is_empty() {
        // A rule whose evidence has none of the usual columns: show the first few.
        parts = row
            .iter()
            .take(4)
            .map(|(k, v)| format!("{}={}", value(k), value(&v.to_string())))
            .collect();
    }
    parts.join(" ")
}

/// The Block Kit message for an alert. Attacker-written text (entity, fields, evidence) is
/// escaped and every text is cut to Block Kit's limits, so no alert is refused for its size.
pub fn message(alert: &Alert, rule_link: Option<&str>) -> Value {
    let header: String = crate::bound::truncate(
        &format!("{} {}", severity_emoji(&alert.severity), alert.title),
        HEADER_MAX,
    );
    let field = |label: &str, text: String| json!({"type": "mrkdwn", "text": escaped_keep(&format!("*{label}*\n{text}"), FIELD_MAX)});
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": header, "emoji": true}}),
        json!({"type": "section", "fields": [
            field("Severity", value(&alert.severity)),
            field("Rule", format!("`{}`", value(&alert.rule_id))),
            field(&value(&alert.entity_type), format!("`{}`", value(&alert.entity))),
            field("Events in window", alert.event_count.to_string()),
            field("Window (UTC)", format!("{} – {}", format_rfc3339(alert.window_start), format_rfc3339(alert.window_end))),
            field("Alert id", format!("`{}`", value(&alert.id))),
        ]}),
    ];
    if !alert.fields.is_empty() {
        let counts: Vec<String> = alert
            .fields
            .iter()
            .take(8)
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                format!("*{}*: {}", value(k), value(&v))
            })
            .collect();
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": escaped_keep(&counts.join("   "), SECTION_MAX)}}));
    }
    if !alert.evidence.is_empty() {
        let lines: Vec<String> = alert
            .evidence
            .iter()
            .take(EVIDENCE_SHOWN)
            .map(evidence_line)
            .collect();
        let text = format!("*Evidence*\n{}", lines.join("\n"));
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": escaped_keep(&text, SECTION_MAX)}}));
    }
    let mut context = Vec::new();
    if !alert.tags.is_empty() {
        let tags: Vec<String> = alert.tags.iter().map(|t| value(t)).collect();
        context.push(escaped_keep(
            &format!("Tags: {}", tags.join(", ")),
            CONTEXT_MAX,
        ));
    }
    if let Some(link) = rule_link {
        // The link template is the operator's; the rule id is escaped inside it.
        context.push(format!(
            "<{}|Rule {}>",
            link.replace("{rule_id}", &value(&alert.rule_id)),
            value(&alert.rule_id)
        ));
    }
    if !context.is_empty() {
        blocks.push(json!({"type": "context", "elements": context.iter().map(|c| json!({"type": "mrkdwn", "text": c})).collect::<Vec<_>>()}));
    }
    let fallback = format!(
        "[{}] {}: {} {} ({} events)",
        value(&alert.severity),
        value(&alert.title),
        value(&alert.entity_type),
        value(&alert.entity),
        alert.event_count
    );
    json!({
        "text": escaped_keep(&fallback, FALLBACK_MAX),
        "blocks": blocks,
    })
}

/// Already-escaped mrkdwn cut to `max` characters (never inside an escape).
fn escaped_keep(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    if let Some(amp) = cut.rfind('&') {
        if !cut[amp..].contains(';') {
            cut.truncate(amp);
        }
    }
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| texts(v, out)),
            Value::Object(o) => o.values().for_each(|v| texts(v, out)),
            _ => {}
        }
    }

    #[test]
    fn attacker_text_is_escaped_and_cut_to_block_kit_limits() {
        let mut a = crate::test_alert("id", "r", "high", &["t"]);
        a.entity = "<!channel> <https://evil.example|click> & co".into();
        let mut row = serde_json::Map::new();
        row.insert("path".into(), "/<!here>".into());
        row.insert("user_agent".into(), "Mozilla ".repeat(400).into());
        a.evidence.push(row);
        a.fields
            .insert("claimed_user_agent".into(), "x".repeat(3000).into());
        let m = message(&a, None);
        let mut all = Vec::new();
        texts(&m, &mut all);
        for t in &all {
            assert!(
                !t.contains("<!channel>") && !t.contains("<!here>") && !t.contains("<https"),
                "{t}"
            );
        }
        let joined = all.join("\n");
        assert!(joined.contains("&lt;!channel&gt;"), "{joined}");
        assert!(m["text"].as_str().unwrap().chars().count() <= FALLBACK_MAX);
        assert!(
            m["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count()
                <= HEADER_MAX
        );
        for f in m["blocks"][1]["fields"].as_array().unwrap() {
            assert!(f["text"].as_str().unwrap().chars().count() <= FIELD_MAX);
        }
        for b in m["blocks"].as_array().unwrap() {
            if let Some(t) = b["text"]["text"].as_str() {
                assert!(t.chars().count() <= SECTION_MAX);
            }
        }
    }

    #[test]
    fn cutting_never_splits_an_escape() {
        let s = escaped(&"<".repeat(100), 12);
        assert!(s.ends_with('…'));
        assert!(!s.trim_end_matches('…').ends_with('&'));
        assert!(s
            .trim_end_matches('…')
            .split('&')
            .skip(1)
            .all(|e| e == "lt;"));
    }
}
