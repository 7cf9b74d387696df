//! The PagerDuty destination: a trigger per alert, and resolves once an entity went quiet.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use gatewatch_model::Record;
use serde_json::json;

use super::encoder::trigger;
use crate::http::HttpPoster;
use crate::spool::Spooled;
use crate::spooled::{Destination, SendError};

/// Entities whose incidents auto-resolve are remembered up to this many; beyond, the quietest
/// is forgotten (its incidents stay open for PagerDuty's auto-resolve or a human).
const OPEN_INCIDENTS: usize = 10_000;

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
