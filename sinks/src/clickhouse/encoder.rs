//! Records as ClickHouse rows: every column a `String`, an integer or a `DateTime` (epoch
//! seconds), which every server version reads the same way over RowBinary.

use clickhouse::Row;
use gatewatch_model::Record;
use serde::Serialize;

use crate::route::severity_rank;

#[derive(Row, Serialize)]
pub(super) struct AlertRow {
    id: String,
    rule_id: String,
    title: String,
    severity: String,
    severity_rank: u8,
    entity_type: String,
    entity: String,
    window_start: u32,
    window_end: u32,
    first_seen: u32,
    last_seen: u32,
    event_count: i64,
    tags: Vec<String>,
    evidence: String,
    fields: String,
    inserted_at: u32,
}

#[derive(Row, Serialize)]
pub(super) struct EntityRow {
    minute: u32,
    source: String,
    partition: i32,
    entity: String,
    service: String,
    route_template: String,
    method: String,
    requests: u64,
    failures: u64,
    auth_failures: u64,
    server_errors: u64,
    bytes_sent: u64,
    distinct_paths: u64,
    inserted_at: u32,
}

#[derive(Row, Serialize)]
pub(super) struct EndpointRow {
    minute: u32,
    source: String,
    partition: i32,
    service: String,
    method: String,
    route_template: String,
    first_seen: u32,
    last_seen: u32,
    requests: u64,
    status_2xx: u64,
    status_3xx: u64,
    status_4xx: u64,
    status_5xx: u64,
    distinct_clients: u64,
    inserted_at: u32,
}

pub(super) fn secs(ms: i64) -> u32 {
    (ms.div_euclid(1000)).clamp(0, u32::MAX as i64) as u32
}

/// One batch of records as the rows of the three tables.
#[derive(Default)]
pub(super) struct Rows {
    pub alerts: Vec<AlertRow>,
    pub entities: Vec<EntityRow>,
    pub endpoints: Vec<EndpointRow>,
}

impl Rows {
    /// The rows of `records`, stamped `inserted_at = now` (epoch seconds).
    pub fn encode<'a>(records: impl IntoIterator<Item = &'a Record>, now: u32) -> Rows {
        let mut out = Rows::default();
        let Rows {
            alerts,
            entities,
            endpoints,
        } = &mut out;
        for r in records {
            match r {
                Record::Alert(a) => alerts.push(AlertRow {
                    id: a.id.clone(),
                    rule_id: a.rule_id.clone(),
                    title: a.title.clone(),
                    severity: a.severity.clone(),
                    severity_rank: severity_rank(&a.severity),
                    entity_type: a.entity_type.clone(),
                    entity: a.entity.clone(),
                    window_start: secs(a.window_start),
                    window_end: secs(a.window_end),
                    first_seen: secs(a.first_seen),
                    last_seen: secs(a.last_seen),
                    event_count: a.event_count,
                    tags: a.tags.clone(),
                    evidence: serde_json::to_string(&a.evidence).unwrap_or_default(),
                    fields: serde_json::to_string(&a.fields).unwrap_or_default(),
                    inserted_at: now,
                }),
                Record::EntityMinute(e) => entities.push(EntityRow {
                    minute: secs(e.minute),
                    source: e.source.clone(),
                    partition: e.partition,
                    entity: e.entity.clone(),
                    service: e.service.clone(),
                    route_template: e.route_template.clone(),
                    method: e.method.clone(),
                    requests: e.requests,
                    failures: e.failures,
                    auth_failures: e.auth_failures,
                    server_errors: e.server_errors,
                    bytes_sent: e.bytes_sent,
                    distinct_paths: e.distinct_paths,
                    inserted_at: now,
                }),
                Record::EndpointMinute(e) => endpoints.push(EndpointRow {
                    minute: secs(e.minute),
                    source: e.source.clone(),
                    partition: e.partition,
                    service: e.service.clone(),
                    method: e.method.clone(),
                    route_template: e.route_template.clone(),
                    first_seen: secs(e.first_seen),
                    last_seen: secs(e.last_seen),
                    requests: e.requests,
                    status_2xx: e.status_2xx,
                    status_3xx: e.status_3xx,
                    status_4xx: e.status_4xx,
                    status_5xx: e.status_5xx,
                    distinct_clients: e.distinct_clients,
                    inserted_at: now,
                }),
            }
        }
        out
    }
}
