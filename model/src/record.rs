//! The one record type sinks receive: alerts and traffic statistics rows travel together, in
//! the order the engine emitted them.

use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::traffic::{EndpointMinute, EntityMinute, TrafficRows};

/// What a sink delivers (and what a spool stores, tagged by `kind`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "row", rename_all = "snake_case")]
pub enum Record {
    /// An alert.
    Alert(Alert),
    /// A per-minute entity statistics row.
    EntityMinute(EntityMinute),
    /// A per-minute endpoint (API inventory) row.
    EndpointMinute(EndpointMinute),
}

impl Record {
    /// The alert, if this is one.
    pub fn as_alert(&self) -> Option<&Alert> {
        match self {
            Record::Alert(a) => Some(a),
            _ => None,
        }
    }

    /// Whether this is a traffic statistics row.
    pub fn is_traffic(&self) -> bool {
        !matches!(self, Record::Alert(_))
    }

    /// Alerts followed by the traffic rows, as one batch of records.
    ///
    /// ```
    /// use gatewatch_model::{Record, TrafficRows};
    /// assert!(Record::batch(Vec::new(), TrafficRows::default()).is_empty());
    /// ```
    pub fn batch(alerts: Vec<Alert>, traffic: TrafficRows) -> Vec<Record> {
        let mut out =
            Vec::with_capacity(alerts.len() + traffic.entities.len() + traffic.endpoints.len());
        out.extend(alerts.into_iter().map(Record::Alert));
        out.extend(traffic.entities.into_iter().map(Record::EntityMinute));
        out.extend(traffic.endpoints.into_iter().map(Record::EndpointMinute));
        out
    }
}
