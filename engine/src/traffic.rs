//! Per-minute traffic statistics for dashboards and the observed API inventory.
//!
//! Unlike rules, which keep the rows their filter passes, these are running aggregates: every
//! event updates one entity row (client address × service × route template × method) and one
//! endpoint row (service × method × route template) of its event-time minute. A minute closes
//! on the same watermark as rule windows, and its rows are then handed out once.
//!
//! Rows are also keyed by source partition. Each partition is owned by one pipeline instance at
//! a time and is replayed from a commit point that never passes an open minute, so a row
//! computed again after a crash or a rebalance is identical to the first one, and a store that
//! keeps one row per key (ClickHouse's ReplacingMergeTree) counts every event exactly once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{Int32Type, Int64Type};
use gatewatch_ingest::schema::Column;
use gatewatch_ingest::{ColumnSet, TopicPartition};
pub use gatewatch_model::traffic::{EndpointMinute, EntityMinute, TrafficRows};

use crate::error::EngineError;
use crate::operator::{KeyGroup, OpCtx, Operator, RowsIn, StateSize};
use crate::time::{end_of, pane_start};

/// Minute length in ms.
pub const MINUTE_MS: i64 = 60_000;

/// The columns the statistics read.
pub fn columns() -> ColumnSet {
    [
        Column::EventTime,
        Column::ClientIp,
        Column::Service,
        Column::RouteTemplate,
        Column::Method,
        Column::Path,
        Column::Status,
        Column::ResponseBytes,
        Column::SourceName,
        Column::SourcePartition,
        Column::SourceOffset,
    ]
    .into_iter()
    .collect()
}

#[derive(Default)]
struct EntityAcc {
    requests: u64,
    failures: u64,
    auth_failures: u64,
    server_errors: u64,
    bytes_sent: u64,
    paths: HashSet<u64>,
}

struct EndpointAcc {
    first_seen: i64,
    last_seen: i64,
    by_class: [u64; 6],
    clients: HashSet<u64>,
}

/// One partition's open minute.
#[derive(Default)]
struct MinuteAcc {
    /// Keyed by "entity\x1fservice\x1froute\x1fmethod" so lookups borrow a reused buffer.
    entities: HashMap<String, EntityAcc>,
    /// Keyed by "service\x1fmethod\x1froute".
    endpoints: HashMap<String, EndpointAcc>,
    min_offset: i64,
}

/// The running per-minute aggregates, as an operator of a partition's home task.
pub struct TrafficStats {
    open: BTreeMap<(i64, TopicPartition), MinuteAcc>,
    closed_through: i64,
    key_buf: String,
}

fn hash64(s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn strings(batch: &RecordBatch, c: Column) -> Option<&StringArray> {
    batch
        .column_by_name(c.name())
        .and_then(|a| a.as_string_opt::<i32>())
}

fn text(a: Option<&StringArray>, i: usize) -> &str {
    match a {
        Some(a) if a.is_valid(i) => a.value(i),
        _ => "",
    }
}

impl Default for TrafficStats {
    fn default() -> Self {
        TrafficStats {
            open: BTreeMap::new(),
            closed_through: i64::MIN,
            key_buf: String::new(),
        }
    }
}

impl TrafficStats {
    /// Empty aggregates.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the rows of `input` (see [`Operator::process`]).
    fn observe(&mut self, input: &RowsIn<'_>, ctx: &mut OpCtx<'_>) -> Result<(), EngineError> {
        let batch = input.batch;
        let key = input.upstream;
        let ip = strings(batch, Column::ClientIp);
        let service = strings(batch, Column::Service);
        let route = strings(batch, Column::RouteTemplate);
        let method = strings(batch, Column::Method);
        let path = strings(batch, Column::Path);
        let status = batch
            .column_by_name(Column::Status.name())
            .and_then(|a| a.as_primitive_opt::<Int32Type>());
        let bytes = batch
            .column_by_name(Column::ResponseBytes.name())
            .and_then(|a| a.as_primitive_opt::<Int64Type>());
        let offsets = batch
            .column_by_name(Column::SourceOffset.name())
            .and_then(|a| a.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| EngineError::Internal("batch without source_offset".into()))?;
        let mut buf = std::mem::take(&mut self.key_buf);
        for i in input.indices() {
            let t = input.times[i];
            let Some(minute) = pane_start(t, MINUTE_MS) else {
                ctx.stats.traffic_late += 1;
                continue;
            };
            let end = end_of(minute, MINUTE_MS);
            if end <= input.own_wm[i] || end <= self.closed_through {
                ctx.stats.traffic_late += 1;
                continue;
            }
            let acc = self
                .open
                .entry((minute, key.clone()))
                .or_insert_with(|| MinuteAcc {
                    min_offset: i64::MAX,
                    ..Default::default()
                });
            acc.min_offset = acc.min_offset.min(offsets.value(i));
            let st = status.filter(|s| s.is_valid(i)).map_or(0, |s| s.value(i));
            let sent = bytes
                .filter(|b| b.is_valid(i))
                .map_or(0, |b| b.value(i).max(0) as u64);
            let (ip, service, route, method) = (
                text(ip, i),
                text(service, i),
                text(route, i),
                text(method, i),
            );

            buf.clear();
            for (n, part) in [ip, service, route, method].iter().enumerate() {
                if n > 0 {
                    buf.push('\x1f');
                }
                buf.push_str(part);
            }
            let e = match acc.entities.get_mut(buf.as_str()) {
                Some(e) => e,
                None => acc.entities.entry(buf.clone()).or_default(),
            };
            e.requests += 1;
            e.failures += u64::from(st >= 400);
            e.auth_failures += u64::from(st == 401 || st == 403);
            e.server_errors += u64::from(st >= 500);
            e.bytes_sent += sent;
            e.paths.insert(hash64(text(path, i)));

            buf.clear();
            for (n, part) in [service, method, route].iter().enumerate() {
                if n > 0 {
                    buf.push('\x1f');
                }
                buf.push_str(part);
            }
            let ep = match acc.endpoints.get_mut(buf.as_str()) {
                Some(ep) => ep,
                None => acc.endpoints.entry(buf.clone()).or_insert(EndpointAcc {
                    first_seen: t,
                    last_seen: t,
                    by_class: [0; 6],
                    clients: HashSet::new(),
                }),
            };
            ep.first_seen = ep.first_seen.min(t);
            ep.last_seen = ep.last_seen.max(t);
            ep.by_class[(st / 100).clamp(0, 5) as usize] += 1;
            ep.clients.insert(hash64(ip));
        }
        self.key_buf = buf;
        Ok(())
    }

    /// Closes every minute that ends at or before `wm`.
    fn close_until(&mut self, wm: i64, ctx: &mut OpCtx<'_>) {
        self.closed_through = self.closed_through.max(wm);
        while let Some(entry) = self.open.first_entry() {
            let (minute, _) = entry.key();
            if end_of(*minute, MINUTE_MS) > wm {
                break;
            }
            let ((minute, tp), acc) = entry.remove_entry();
            if end_of(minute, MINUTE_MS) <= ctx.discard_through {
                continue;
            }
            emit(&mut ctx.out.traffic, minute, &tp.topic, tp.partition, acc);
        }
    }
}

fn emit(closed: &mut TrafficRows, minute: i64, source: &str, partition: i32, acc: MinuteAcc) {
    {
        for (key, e) in acc.entities {
            let mut parts = key.split('\x1f');
            let mut next = || parts.next().unwrap_or_default().to_owned();
            let (entity, service, route_template, method) = (next(), next(), next(), next());
            closed.entities.push(EntityMinute {
                minute,
                source: source.to_owned(),
                partition,
                entity,
                service,
                route_template,
                method,
                requests: e.requests,
                failures: e.failures,
                auth_failures: e.auth_failures,
                server_errors: e.server_errors,
                bytes_sent: e.bytes_sent,
                distinct_paths: e.paths.len() as u64,
            });
        }
        for (key, ep) in acc.endpoints {
            let mut parts = key.split('\x1f');
            let mut next = || parts.next().unwrap_or_default().to_owned();
            let (service, method, route_template) = (next(), next(), next());
            closed.endpoints.push(EndpointMinute {
                minute,
                source: source.to_owned(),
                partition,
                service,
                method,
                route_template,
                first_seen: ep.first_seen,
                last_seen: ep.last_seen,
                requests: ep.by_class.iter().sum(),
                status_2xx: ep.by_class[2],
                status_3xx: ep.by_class[3],
                status_4xx: ep.by_class[4],
                status_5xx: ep.by_class[5],
                distinct_clients: ep.clients.len() as u64,
            });
        }
    }
}

impl Operator for TrafficStats {
    fn name(&self) -> &str {
        "traffic"
    }

    fn key_group(&self) -> KeyGroup {
        KeyGroup::Partition
    }

    fn process(&mut self, input: &RowsIn<'_>, ctx: &mut OpCtx<'_>) -> Result<(), EngineError> {
        self.observe(input, ctx)
    }

    fn advance(&mut self, wm: i64, ctx: &mut OpCtx<'_>) -> Result<(), EngineError> {
        self.close_until(wm, ctx);
        Ok(())
    }

    fn held_offsets(&self, out: &mut BTreeMap<TopicPartition, i64>) {
        for ((_, k), acc) in &self.open {
            out.entry(k.clone())
                .and_modify(|m| *m = (*m).min(acc.min_offset))
                .or_insert(acc.min_offset);
        }
    }

    fn state_size(&self) -> StateSize {
        let mut s = StateSize::default();
        for acc in self.open.values() {
            s.groups += acc.entities.len() + acc.endpoints.len();
            s.bytes += acc
                .entities
                .iter()
                .map(|(k, e)| k.len() + 96 + e.paths.len() * 16)
                .sum::<usize>()
                + acc
                    .endpoints
                    .iter()
                    .map(|(k, e)| k.len() + 112 + e.clients.len() * 16)
                    .sum::<usize>();
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::Emitted;
    use crate::stats::EngineStats;
    use arrow::array::{Int32Array, Int64Array};
    use std::sync::Arc;

    fn batch(rows: &[(&str, &str, i32, i64)]) -> RecordBatch {
        let ip: StringArray = rows.iter().map(|r| Some(r.0)).collect();
        let path: StringArray = rows.iter().map(|r| Some(r.1)).collect();
        let route: StringArray = rows.iter().map(|_| Some("/orders/{id}")).collect();
        let method: StringArray = rows.iter().map(|_| Some("GET")).collect();
        let status: Int32Array = rows.iter().map(|r| Some(r.2)).collect();
        let offsets: Int64Array = (0..rows.len() as i64).map(Some).collect();
        RecordBatch::try_from_iter(vec![
            ("client_ip", Arc::new(ip) as _),
            ("path", Arc::new(path) as _),
            ("route_template", Arc::new(route) as _),
            ("method", Arc::new(method) as _),
            ("status", Arc::new(status) as _),
            ("source_offset", Arc::new(offsets) as _),
        ])
        .expect("batch")
    }

    /// Feeds rows of partition `f[0]` with the given times and watermarks; returns what closed.
    fn feed(
        s: &mut TrafficStats,
        b: &RecordBatch,
        times: &[i64],
        wm: &[i64],
        stats: &mut EngineStats,
    ) {
        let key = TopicPartition::new("f", 0);
        let input = RowsIn {
            ledger: None,
            upstream: &key,
            batch: b,
            rows: None,
            times,
            own_wm: wm,
            task_wm: wm,
            masks: None,
        };
        let cfg = crate::EngineConfig::default();
        let mut out = Emitted::default();
        let mut ctx = OpCtx {
            cfg: &cfg,
            stats,
            out: &mut out,
            discard_through: i64::MIN,
            task: &crate::task::TaskId::Shard(0),
        };
        s.process(&input, &mut ctx).expect("process");
    }

    fn advance(s: &mut TrafficStats, wm: i64) -> TrafficRows {
        let cfg = crate::EngineConfig::default();
        let mut stats = EngineStats::default();
        let mut out = Emitted::default();
        let mut ctx = OpCtx {
            cfg: &cfg,
            stats: &mut stats,
            out: &mut out,
            discard_through: i64::MIN,
            task: &crate::task::TaskId::Shard(0),
        };
        s.advance(wm, &mut ctx).expect("advance");
        out.traffic
    }

    #[test]
    fn aggregates_per_minute_and_closes_on_watermark() {
        let key = TopicPartition::new("f", 0);
        let mut s = TrafficStats::new();
        let mut stats = EngineStats::default();
        let b = batch(&[
            ("1.1.1.1", "/orders/1", 200, 0),
            ("1.1.1.1", "/orders/2", 404, 0),
            ("1.1.1.1", "/orders/2", 403, 0),
            ("2.2.2.2", "/orders/9", 200, 0),
        ]);
        feed(
            &mut s,
            &b,
            &[1_000, 2_000, 59_999, 61_000],
            &[i64::MIN; 4],
            &mut stats,
        );
        let mut held = BTreeMap::new();
        s.held_offsets(&mut held);
        assert_eq!(held.get(&key), Some(&0));
        assert!(advance(&mut s, 59_999).is_empty(), "minute 0 is still open");
        let rows = advance(&mut s, 60_000);
        assert_eq!(rows.entities.len(), 1);
        let e = &rows.entities[0];
        assert_eq!((e.requests, e.failures, e.auth_failures), (3, 2, 1));
        assert_eq!(e.distinct_paths, 2);
        assert_eq!(rows.endpoints[0].status_4xx, 2);
        assert_eq!(rows.endpoints[0].distinct_clients, 1);
        let mut held = BTreeMap::new();
        s.held_offsets(&mut held);
        assert_eq!(
            held.get(&key),
            Some(&3),
            "only the open minute holds offsets"
        );
        // A row for the closed minute is late, counted and dropped.
        let late = batch(&[("3.3.3.3", "/x", 200, 0)]);
        feed(&mut s, &late, &[5_000], &[60_000], &mut stats);
        assert_eq!(stats.traffic_late, 1);
        assert_eq!(advance(&mut s, i64::MAX).entities.len(), 1);
    }

    #[test]
    fn extreme_times_are_late_not_a_hang() {
        let mut s = TrafficStats::new();
        let mut stats = EngineStats::default();
        let b = batch(&[("1.1.1.1", "/a", 200, 0), ("1.1.1.1", "/b", 200, 0)]);
        feed(
            &mut s,
            &b,
            &[i64::MIN, i64::MAX],
            &[i64::MIN; 2],
            &mut stats,
        );
        let rows = advance(&mut s, i64::MAX);
        assert!(rows.entities.len() <= 1);
    }
}
