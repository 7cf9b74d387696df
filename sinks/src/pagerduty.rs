//! PagerDuty Events API v2: a `trigger` per alert with `dedup_key` = alert id, and optionally
//! a `resolve` once the entity has not triggered the rule for a while.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use gatewatch_engine::alert::format_rfc3339;
use gatewatch_engine::Alert;
use serde_json::{json, Value};

use crate::http::HttpPoster;
use crate::spool::{Record, Spooled};
use crate::spooled::{Destination, SendError};

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

/// Entities whose incidents auto-resolve are remembered up to this many; beyond, the quietest
/// is forgotten (its incidents stay open for PagerDuty's auto-resolve or a human).
const OPEN_INCIDENTS: usize = 10_000;

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

/// The PagerDuty destination.
pub struct PagerDutyDestination {
    url: String,
    routing_key: String,
    resolve_after: Option<Duration>,
    /// Per (rule, entity): when it last triggered and the dedup keys to resolve.
    open: HashMap<(String, String), (Instant, Vec<String>)>,
    http: HttpPoster,
}

impl PagerDutyDestination {
    /// Sends to `url` (normally [`EVENTS_URL`]) with `routing_key`; with `resolve_after`,
    /// incidents of an entity that has not triggered that rule for so long are resolved.
    pub fn new(
        url: String,
        routing_key: String,
        resolve_after: Option<Duration>,
        http: HttpPoster,
    ) -> Self {
        PagerDutyDestination {
            url,
            routing_key,
            resolve_after,
            open: HashMap::new(),
            http,
        }
    }
}

impl Destination for PagerDutyDestination {
    fn batch_max(&self) -> usize {
        1
    }

    async fn send(&mut self, records: &[Spooled]) -> Result<(), SendError> {
        for r in records {
            if let Record::Alert(alert) = &r.record {
                let body = serde_json::to_vec(&trigger(&self.routing_key, alert))
                    .map_err(|e| SendError::permanent(e.to_string()))?;
                self.http.post(&self.url, &[], body).await?;
                if self.resolve_after.is_some() {
                    if self.open.len() >= OPEN_INCIDENTS {
                        // Bounded: the quietest entity is forgotten; its incidents are left to
                        // PagerDuty's own auto-resolve (logged).
                        if let Some(k) = self
                            .open
                            .iter()
                            .min_by_key(|(_, (last, _))| *last)
                            .map(|(k, _)| k.clone())
                        {
                            self.open.remove(&k);
                            tracing::warn!(
                                sink = "pagerduty",
                                rule = %k.0,
                                "more than {OPEN_INCIDENTS} entities awaiting auto-resolve: the quietest one's incidents will not be resolved by gatewatch"
                            );
                        }
                    }
                    let entry = self
                        .open
                        .entry((alert.rule_id.clone(), alert.entity.clone()))
                        .or_insert_with(|| (Instant::now(), Vec::new()));
                    entry.0 = Instant::now();
                    if !entry.1.contains(&alert.id) {
                        entry.1.push(alert.id.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// Resolves incidents whose entity went quiet. Not spooled: after a restart, incidents
    /// opened before it are left for PagerDuty's own auto-resolve or a human.
    async fn tick(&mut self) {
        let Some(after) = self.resolve_after else {
            return;
        };
        let quiet: Vec<(String, String)> = self
            .open
            .iter()
            .filter(|(_, (last, _))| last.elapsed() >= after)
            .map(|(k, _)| k.clone())
            .collect();
        for key in quiet {
            let Some((_, ids)) = self.open.remove(&key) else {
                continue;
            };
            let mut left = Vec::new();
            for id in ids {
                let body = json!({"routing_key": self.routing_key, "event_action": "resolve", "dedup_key": id});
                let sent = match serde_json::to_vec(&body) {
                    Ok(b) => self.http.post(&self.url, &[], b).await,
                    Err(e) => Err(SendError::permanent(e.to_string())),
                };
                if let Err(e) = sent {
                    if e.retryable {
                        left.push(id);
                    }
                    tracing::warn!(sink = "pagerduty", "resolve failed: {}", e.reason);
                }
            }
            if !left.is_empty() {
                self.open.insert(key, (Instant::now(), left));
            }
        }
    }
}
