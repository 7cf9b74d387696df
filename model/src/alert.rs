//! Alerts: what a rule says about one entity in one window.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// One alert. Serialises to the JSON Lines record sinks receive (and reads back from it, for
/// the sinks' on-disk spool).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Deterministic id: see [`alert_id`]. Sinks deduplicate on it.
    pub id: String,
    /// The rule that fired.
    pub rule_id: String,
    /// The rule's title.
    pub title: String,
    /// The rule's severity (`info` .. `critical`).
    pub severity: String,
    /// Kind of entity (`ip`, `consumer`, ...).
    pub entity_type: String,
    /// The entity value (an address, a consumer name, ...).
    pub entity: String,
    /// Window start, epoch ms (RFC 3339 in JSON).
    #[serde(serialize_with = "rfc3339", deserialize_with = "parse_rfc3339")]
    pub window_start: i64,
    /// Window end (exclusive), epoch ms.
    #[serde(serialize_with = "rfc3339", deserialize_with = "parse_rfc3339")]
    pub window_end: i64,
    /// Event time of the entity's first matching event in the window.
    #[serde(serialize_with = "rfc3339", deserialize_with = "parse_rfc3339")]
    pub first_seen: i64,
    /// Event time of the entity's last matching event in the window.
    #[serde(serialize_with = "rfc3339", deserialize_with = "parse_rfc3339")]
    pub last_seen: i64,
    /// Matching events of the entity in the window.
    pub event_count: i64,
    /// A few matching requests, earliest first.
    pub evidence: Vec<serde_json::Map<String, serde_json::Value>>,
    /// The rule's tags.
    pub tags: Vec<String>,
    /// Further columns the rule's SQL returned.
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// Formats epoch ms as RFC 3339 UTC with milliseconds, e.g. `2024-09-19T22:10:39.538Z`.
pub fn format_rfc3339(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => ms.to_string(),
    }
}

fn rfc3339<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_rfc3339(*ms))
}

fn parse_rfc3339<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let text = String::deserialize(d)?;
    chrono::DateTime::parse_from_rfc3339(&text)
        .map(|t| t.timestamp_millis())
        .or_else(|_| text.parse::<i64>())
        .map_err(|_| serde::de::Error::custom(format!("not an RFC 3339 time: {text}")))
}

/// The alert id: hex of the first 16 bytes of SHA-256 over rule id, entity and window start.
/// It depends on nothing else (not arrival time, not the run), so a replay yields the same ids.
///
/// ```
/// let a = gatewatch_model::alert::alert_id("r", "10.0.0.1", 60_000);
/// assert_eq!(a, gatewatch_model::alert::alert_id("r", "10.0.0.1", 60_000));
/// assert_ne!(a, gatewatch_model::alert::alert_id("r", "10.0.0.1", 120_000));
/// assert_eq!(a.len(), 32);
/// ```
pub fn alert_id(rule_id: &str, entity: &str, window_start_ms: i64) -> String {
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0x1f]);
    h.update(entity.as_bytes());
    h.update([0x1f]);
    h.update(window_start_ms.to_be_bytes());
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_separates_fields() {
        assert_ne!(alert_id("ab", "c", 0), alert_id("a", "bc", 0));
    }

    #[test]
    fn times_serialise_as_rfc3339() {
        assert_eq!(format_rfc3339(1726783839538), "2024-09-19T22:10:39.538Z");
    }

    #[test]
    fn json_round_trips() {
        let a = Alert {
            id: alert_id("r", "e", 60_000),
            rule_id: "r".into(),
            title: "t".into(),
            severity: "high".into(),
            entity_type: "ip".into(),
            entity: "e".into(),
            window_start: 60_000,
            window_end: 120_000,
            first_seen: 60_001,
            last_seen: 119_999,
            event_count: 3,
            evidence: vec![],
            tags: vec!["x".into()],
            fields: serde_json::Map::new(),
        };
        let text = serde_json::to_string(&a).expect("serialise");
        assert_eq!(serde_json::from_str::<Alert>(&text).expect("parse"), a);
    }
}
