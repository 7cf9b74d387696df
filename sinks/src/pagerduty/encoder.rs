//! PagerDuty Events API v2 bodies: `trigger` per alert (`dedup_key` = alert id).

use gatewatch_model::alert::format_rfc3339;
use gatewatch_model::Alert;
use serde_json::{json, Value};

/// PagerDuty's public Events API v2 endpoint.
pub const EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// Maps gatewatch severities to PagerDuty's four.
pub fn pd_severity(severity: &str) -> &'static str {
    match severity {
        "critical" => "critical",
        "high" => "error",
        "medium" => "warning",
        _ => "info",
    }
}

/// The trigger event for an alert (values bounded, see [`crate::bound`]).
pub fn trigger(routing_key: &str, alert: &Alert) -> Value {
    let alert = &crate::bound::bounded(alert, crate::bound::MAX_VALUE_CHARS);
    let summary: String = format!(
        "{}: {} {} ({} events)",
        alert.title, alert.entity_type, alert.entity, alert.event_count
    )
    .chars()
    .take(1024)
    .collect();
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": alert.id,
        "client": "gatewatch",
        "payload": {
            "summary": summary,
            "source": alert.entity,
            "severity": pd_severity(&alert.severity),
            "timestamp": format_rfc3339(alert.window_end),
            "component": alert.rule_id,
            "group": alert.entity_type,
            "class": alert.tags.first().cloned().unwrap_or_default(),
            "custom_details": {
                "alert_id": alert.id,
                "rule_id": alert.rule_id,
                "severity": alert.severity,
                "entity_type": alert.entity_type,
                "entity": alert.entity,
                "window_start": format_rfc3339(alert.window_start),
                "window_end": format_rfc3339(alert.window_end),
                "event_count": alert.event_count,
                "tags": alert.tags,
                "fields": alert.fields,
                "evidence": alert.evidence,
            },
        },
    })
}
