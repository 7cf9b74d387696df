//! Traffic statistics rows: what the engine's per-minute statistics hand to sinks (ClickHouse's
//! entity and endpoint tables, the observed API inventory).

use serde::{Deserialize, Serialize};

/// One client's traffic to one endpoint in one minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityMinute {
    /// Minute start, epoch ms.
    pub minute: i64,
    /// Source (file name or Kafka topic) and partition the rows came from.
    pub source: String,
    /// Source partition.
    pub partition: i32,
    /// Client address.
    pub entity: String,
    /// Gateway service.
    pub service: String,
    /// Route template (`/orders/{id}`).
    pub route_template: String,
    /// HTTP method.
    pub method: String,
    /// Requests.
    pub requests: u64,
    /// Responses with status >= 400.
    pub failures: u64,
    /// Responses 401 or 403.
    pub auth_failures: u64,
    /// Responses >= 500.
    pub server_errors: u64,
    /// Response bytes.
    pub bytes_sent: u64,
    /// Distinct raw paths (distinct object ids under one template).
    pub distinct_paths: u64,
}

/// One endpoint's traffic in one minute: the observed API inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointMinute {
    /// Minute start, epoch ms.
    pub minute: i64,
    /// Source the rows came from.
    pub source: String,
    /// Source partition.
    pub partition: i32,
    /// Gateway service.
    pub service: String,
    /// HTTP method.
    pub method: String,
    /// Route template.
    pub route_template: String,
    /// First event time in the minute, epoch ms.
    pub first_seen: i64,
    /// Last event time in the minute, epoch ms.
    pub last_seen: i64,
    /// Requests.
    pub requests: u64,
    /// Responses 2xx.
    pub status_2xx: u64,
    /// Responses 3xx.
    pub status_3xx: u64,
    /// Responses 4xx.
    pub status_4xx: u64,
    /// Responses 5xx.
    pub status_5xx: u64,
    /// Distinct client addresses.
    pub distinct_clients: u64,
}

/// Rows of closed minutes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TrafficRows {
    /// Per client and endpoint.
    pub entities: Vec<EntityMinute>,
    /// Per endpoint.
    pub endpoints: Vec<EndpointMinute>,
}

impl TrafficRows {
    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty() && self.endpoints.is_empty()
    }
}
