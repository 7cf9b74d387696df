//! Slack incoming webhooks: one Block Kit message per alert.

use gatewatch_engine::alert::format_rfc3339;
use gatewatch_engine::Alert;
use serde_json::{json, Value};

use crate::http::HttpPoster;
use crate::spool::{Record, Spooled};
use crate::spooled::{Destination, SendError};

/// Evidence requests shown in a message.
const EVIDENCE_SHOWN: usize = 3;

/// The Slack destination. The webhook URL is a secret (it carries the token).
pub struct SlackDestination {
    url: String,
    rule_link: Option<String>,
    http: HttpPoster,
}

impl SlackDestination {
    /// Posts to the incoming-webhook `url`. `rule_link`, if given, is a URL template where
    /// `{rule_id}` is replaced (a runbook or the rule's source).
    pub fn new(url: String, rule_link: Option<String>, http: HttpPoster) -> Self {
        SlackDestination {
            url,
            rule_link,
            http,
        }
    }
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
        parts.push(t);
    }
    match (get("method"), get("path")) {
        (Some(m), Some(p)) => parts.push(format!("`{m} {p}`")),
        (None, Some(p)) => parts.push(format!("`{p}`")),
        _ => {}
    }
    if let Some(s) = get("status") {
        parts.push(format!("→ {s}"));
    }
    if parts.is_empty() {
        // A rule whose evidence has none of the usual columns: show the first few.
        parts = row
            .iter()
            .take(4)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
    }
    parts.join(" ")
}

/// The Block Kit message for an alert.
pub fn message(alert: &Alert, rule_link: Option<&str>) -> Value {
    let title: String = alert.title.chars().take(140).collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": format!("{} {}", severity_emoji(&alert.severity), title), "emoji": true}}),
        json!({"type": "section", "fields": [
            {"type": "mrkdwn", "text": format!("*Severity*\n{}", alert.severity)},
            {"type": "mrkdwn", "text": format!("*Rule*\n`{}`", alert.rule_id)},
            {"type": "mrkdwn", "text": format!("*{}*\n`{}`", alert.entity_type, alert.entity)},
            {"type": "mrkdwn", "text": format!("*Events in window*\n{}", alert.event_count)},
            {"type": "mrkdwn", "text": format!("*Window (UTC)*\n{} – {}", format_rfc3339(alert.window_start), format_rfc3339(alert.window_end))},
            {"type": "mrkdwn", "text": format!("*Alert id*\n`{}`", alert.id)},
        ]}),
    ];
    if !alert.fields.is_empty() {
        let counts: Vec<String> = alert
            .fields
            .iter()
            .take(8)
            .map(|(k, v)| format!("*{k}*: {v}"))
            .collect();
        blocks.push(
            json!({"type": "section", "text": {"type": "mrkdwn", "text": counts.join("   ")}}),
        );
    }
    if !alert.evidence.is_empty() {
        let lines: Vec<String> = alert
            .evidence
            .iter()
            .take(EVIDENCE_SHOWN)
            .map(evidence_line)
            .collect();
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Evidence*\n{}", lines.join("\n"))}}));
    }
    let mut context = Vec::new();
    if !alert.tags.is_empty() {
        context.push(format!("Tags: {}", alert.tags.join(", ")));
    }
    if let Some(link) = rule_link {
        context.push(format!(
            "<{}|Rule {}>",
            link.replace("{rule_id}", &alert.rule_id),
            alert.rule_id
        ));
    }
    if !context.is_empty() {
        blocks.push(json!({"type": "context", "elements": context.iter().map(|c| json!({"type": "mrkdwn", "text": c})).collect::<Vec<_>>()}));
    }
    json!({
        "text": format!("[{}] {}: {} {} ({} events)", alert.severity, alert.title, alert.entity_type, alert.entity, alert.event_count),
        "blocks": blocks,
    })
}

impl Destination for SlackDestination {
    fn batch_max(&self) -> usize {
        1
    }

    async fn send(&mut self, records: &[Spooled]) -> Result<(), SendError> {
        for r in records {
            if let Record::Alert(alert) = &r.record {
                let body = serde_json::to_vec(&message(alert, self.rule_link.as_deref()))
                    .map_err(|e| SendError::permanent(e.to_string()))?;
                self.http.post(&self.url, &[], body).await?;
            }
        }
        Ok(())
    }
}
