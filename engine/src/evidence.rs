//! What a window saw of each entity, kept as rows arrive so no raw rows are needed at close:
//! how many events, the first and last event time, and the few earliest events as evidence.
//!
//! Keyed by a 64-bit hash of the rule's entity column value. Evidence samples are the K
//! events with the smallest (event time, arrival order), so they do not depend on how batches
//! were cut or how panes split a window. Sampled rows are kept with the evidence columns only.
//! An alert finds its entity's record by its `entity` value, or, when the rule builds the
//! entity from several columns (`concat(method, ' ', route_template)`), by any of its
//! space-separated parts.

use std::collections::HashMap;

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::DataType;
use gatewatch_ingest::partition::key_hash;
use gatewatch_ingest::schema::Column;
use serde_json::{Map, Value};

use crate::alert::format_rfc3339;
use crate::error::EngineError;

/// Sample slots reserved at an entity's first event (more grow as its events come).
const MAX_FIRST_SAMPLES: usize = 8;

/// One sampled event: (event time, arrival sequence, batch, row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Sample {
    time: i64,
    seq: u64,
    batch: u32,
    row: u32,
}

/// What a pane saw of one entity.
#[derive(Debug, Clone, Default)]
struct Record {
    count: u64,
    first: i64,
    last: i64,
    /// The `k` earliest events seen (by time, then arrival), in that order.
    samples: Vec<Sample>,
}

/// What a window saw of an alerted entity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    /// Events.
    pub count: i64,
    /// First event time.
    pub first: i64,
    /// Last event time.
    pub last: i64,
    /// The earliest events, as JSON objects of the evidence columns.
    pub evidence: Vec<Map<String, Value>>,
}

/// Per entity of one pane: counts, times and evidence samples.
#[derive(Debug, Default)]
pub struct Evidence {
    /// Keyed by [`entity_hash`], which is fixed (partitioning needs it to agree everywhere);
    /// the table hashes it again with a seed drawn per table, so entity values chosen
    /// offline to collide in one table's buckets do not collide in another's.
    by_entity: HashMap<u64, Record, foldhash::fast::RandomState>,
    rows: Vec<RecordBatch>,
    bytes: usize,
}

/// The hash an entity value is recorded under.
pub fn entity_hash(value: &str) -> u64 {
    key_hash(value.as_bytes())
}

impl Evidence {
    /// Entities recorded.
    pub fn entities(&self) -> usize {
        self.by_entity.len()
    }

    /// Whether the entity with this hash is recorded.
    pub fn contains(&self, hash: u64) -> bool {
        self.by_entity.contains_key(&hash)
    }

    /// Bytes held (approximate): sampled rows, each entity's sample list, and the map.
    pub fn bytes(&self) -> usize {
        self.bytes + self.by_entity.capacity() * (8 + std::mem::size_of::<Record>() + 8)
    }

    /// Records rows `rows` of `batch` (the rule's columns; in arrival order) with their entity
    /// hashes and times; `seq` numbers them in arrival order; keeps `k` samples per entity.
    pub fn add(
        &mut self,
        batch: &RecordBatch,
        rows: &[u32],
        hashes: &[u64],
        times: &[i64],
        seq: &mut u64,
        k: usize,
    ) -> Result<(), EngineError> {
        let batch_no = self.rows.len() as u32;
        let mut sampled: Vec<u32> = Vec::new();
        for (j, &row) in rows.iter().enumerate() {
            let (h, t) = (hashes[j], times[j]);
            *seq += 1;
            let rec = self.by_entity.entry(h).or_insert_with(|| Record {
                first: t,
                last: t,
                ..Default::default()
            });
            rec.count += 1;
            rec.first = rec.first.min(t);
            rec.last = rec.last.max(t);
            if k == 0 {
                continue;
            }
            let sample = Sample {
                time: t,
                seq: *seq,
                batch: batch_no,
                row: sampled.len() as u32,
            };
            if rec.samples.len() < k {
                // Every allocation is counted. The first is exactly `k` (the usual 5; growth by
                // doubling would hold up to twice that per entity), capped so that a large `k`
                // is not reserved for entities that show one event.
                let before = rec.samples.capacity();
                if before == 0 {
                    rec.samples.reserve_exact(k.min(MAX_FIRST_SAMPLES));
                }
                let at = rec.samples.partition_point(|s| *s < sample);
                rec.samples.insert(at, sample);
                self.bytes += (rec.samples.capacity() - before) * std::mem::size_of::<Sample>();
            } else if rec.samples.last().is_some_and(|max| sample < *max) {
                // Earlier than the latest kept sample: it takes that one's place, in order.
                rec.samples.pop();
                let at = rec.samples.partition_point(|s| *s < sample);
                rec.samples.insert(at, sample);
            } else {
                // Rows come mostly in time order: most are later than every kept sample, and
                // the comparison with the last (the latest) answers (was: a scan for the max).
                continue;
            }
            sampled.push(row);
        }
        if !sampled.is_empty() {
            let keep: Vec<usize> = gatewatch_rules::compile::EVIDENCE_COLUMNS
                .iter()
                .filter_map(|c| batch.schema().index_of(c.name()).ok())
                .collect();
            let taken = take_record_batch(&batch.project(&keep)?, &UInt32Array::from(sampled))?;
            self.bytes += taken.get_array_memory_size();
            self.rows.push(taken);
        }
        Ok(())
    }

    /// What the panes saw of `entity` (or of its space-separated parts), merged.
    pub fn seen(panes: &[&Evidence], entity: &str, k: usize) -> Option<Seen> {
        let mut keys = vec![entity_hash(entity)];
        if entity.contains(' ') {
            keys.extend(entity.split(' ').filter(|p| !p.is_empty()).map(entity_hash));
        }
        for key in keys {
            let mut found: Vec<(&Evidence, &Record)> = Vec::new();
            for e in panes {
                if let Some(r) = e.by_entity.get(&key) {
                    found.push((e, r));
                }
            }
            if found.is_empty() {
                continue;
            }
            let mut seen = Seen {
                count: 0,
                first: i64::MAX,
                last: i64::MIN,
                evidence: Vec::new(),
            };
            let mut samples: Vec<(Sample, &Evidence)> = Vec::new();
            for (e, r) in found {
                seen.count = seen.count.saturating_add(r.count as i64);
                seen.first = seen.first.min(r.first);
                seen.last = seen.last.max(r.last);
                samples.extend(r.samples.iter().map(|s| (*s, e)));
            }
            samples.sort_by_key(|(s, _)| (s.time, s.seq));
            for (s, e) in samples.into_iter().take(k) {
                if let Some(b) = e.rows.get(s.batch as usize) {
                    seen.evidence.push(row_json(b, s.row as usize));
                }
            }
            return Some(seen);
        }
        None
    }
}

/// The entity hashes of `rows` of `batch`, from the rule's entity column (null: hash of "").
pub fn hashes_of(
    batch: &RecordBatch,
    column: Column,
    rows: &[u32],
) -> Result<Vec<u64>, EngineError> {
    let Some(col) = batch.column_by_name(column.name()) else {
        return Ok(vec![entity_hash(""); rows.len()]);
    };
    let text = arrow::compute::cast(col, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    Ok(rows
        .iter()
        .map(|&r| {
            let r = r as usize;
            entity_hash(if text.is_null(r) { "" } else { text.value(r) })
        })
        .collect())
}

/// One evidence row as JSON: numbers as numbers, times as RFC 3339, text as text; nulls left
/// out.
fn row_json(batch: &RecordBatch, row: usize) -> Map<String, Value> {
    let mut out = Map::new();
    for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
        if col.is_null(row) {
            continue;
        }
        let v = match col.data_type() {
            DataType::Timestamp(..) => {
                let ms = arrow::compute::cast(&col.slice(row, 1), &DataType::Int64)
                    .ok()
                    .map(|a| a.as_primitive::<arrow::datatypes::Int64Type>().value(0));
                match ms {
                    Some(ms) => Value::String(format_rfc3339(ms)),
                    None => continue,
                }
            }
            DataType::Int32 => {
                Value::from(col.as_primitive::<arrow::datatypes::Int32Type>().value(row))
            }
            DataType::Int64 => {
                Value::from(col.as_primitive::<arrow::datatypes::Int64Type>().value(row))
            }
            DataType::Utf8 => Value::String(col.as_string::<i32>().value(row).to_owned()),
            _ => match arrow::util::display::ArrayFormatter::try_new(
                col.as_ref(),
                &arrow::util::display::FormatOptions::default(),
            ) {
                Ok(f) => Value::String(f.value(row).to_string()),
                Err(_) => continue,
            },
        };
        out.insert(field.name().clone(), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::StringArray;
    use arrow::datatypes::{Field, Schema};

    use super::*;

    /// A batch of one column, `client_ip`, holding `ips`.
    fn client_ips(ips: &[impl AsRef<str>]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new(
            Column::ClientIp.name(),
            DataType::Utf8,
            true,
        )]));
        let ips = StringArray::from_iter_values(ips.iter().map(AsRef::as_ref));
        RecordBatch::try_new(schema, vec![Arc::new(ips)]).unwrap()
    }

    /// Every byte an entity's record holds is counted, its sample list included: the state
    /// limits shed on this figure, and an attacker controls how many entities there are.
    #[test]
    fn bytes_count_every_entitys_sample_list() {
        let n = 1000usize;
        let ips: Vec<String> = (0..n)
            .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
            .collect();
        let batch = client_ips(&ips);
        let rows: Vec<u32> = (0..n as u32).collect();
        let hashes: Vec<u64> = ips.iter().map(|ip| entity_hash(ip)).collect();
        let times: Vec<i64> = (0..n as i64).collect();
        let (mut seq, k) = (0u64, 5usize);
        let mut e = Evidence::default();
        e.add(&batch, &rows, &hashes, &times, &mut seq, k).unwrap();
        let lists: usize = e
            .by_entity
            .values()
            .map(|r| r.samples.capacity() * std::mem::size_of::<Sample>())
            .sum();
        assert_eq!(lists, n * k * std::mem::size_of::<Sample>());
        let rows_bytes: usize = e.rows.iter().map(|b| b.get_array_memory_size()).sum();
        let map = e.by_entity.capacity() * (8 + std::mem::size_of::<Record>() + 8);
        assert_eq!(e.bytes(), rows_bytes + lists + map);
        // More events of known entities allocate nothing more.
        let before = e.bytes();
        e.add(&batch, &rows, &hashes, &times, &mut seq, k).unwrap();
        let new_rows: usize = e.rows.iter().map(|b| b.get_array_memory_size()).sum();
        assert_eq!(e.bytes() - before, new_rows - rows_bytes);
    }

    /// The evidence is the `k` earliest events by event time (ties: arrival), whatever order
    /// they arrive in, within a call and across calls.
    #[test]
    fn the_k_earliest_events_are_kept_whatever_their_arrival_order() {
        let ip = "10.0.0.9";
        let times: Vec<i64> = vec![50, 10, 40, 5, 60, 20, 30, 5, 70];
        let ips: Vec<String> = times.iter().map(|t| format!("{ip} {t}")).collect();
        let batch = client_ips(&ips);
        let hashes = vec![entity_hash(ip); times.len()];
        let (mut seq, k) = (0u64, 3usize);
        let mut e = Evidence::default();
        let rows: Vec<u32> = (0..times.len() as u32).collect();
        e.add(&batch, &rows[..4], &hashes[..4], &times[..4], &mut seq, k)
            .unwrap();
        e.add(&batch, &rows[4..], &hashes[4..], &times[4..], &mut seq, k)
            .unwrap();
        let seen = Evidence::seen(&[&e], ip, k).unwrap();
        let kept: Vec<&str> = (seen.evidence.iter())
            .map(|m| m[Column::ClientIp.name()].as_str().unwrap())
            .collect();
        // The two events at 5 in arrival order, then 10.
        assert_eq!(kept, ["10.0.0.9 5", "10.0.0.9 5", "10.0.0.9 10"]);
        assert_eq!((seen.count, seen.first, seen.last), (9, 5, 70));
        let samples = &e.by_entity[&entity_hash(ip)].samples;
        assert!(samples.windows(2).all(|w| w[0] < w[1]), "kept in order");
    }

    /// The entity table is seeded per instance: the same entity hash lands in unrelated buckets
    /// of two panes' tables, so keys chosen offline to collide cannot pile up in every table.
    #[test]
    fn entity_tables_are_seeded_per_instance() {
        use std::hash::BuildHasher;
        let (a, b) = (Evidence::default(), Evidence::default());
        let key = entity_hash("203.0.113.7");
        assert_ne!(
            a.by_entity.hasher().hash_one(key),
            b.by_entity.hasher().hash_one(key)
        );
    }

    /// A large `k` is not reserved up front, and the list's growth beyond the first slots is
    /// counted too.
    #[test]
    fn a_large_k_grows_as_events_come_and_every_growth_is_counted() {
        let batch = client_ips(&["10.0.0.1"; 20]);
        let rows: Vec<u32> = (0..20).collect();
        let hashes = [entity_hash("10.0.0.1"); 20];
        let times: Vec<i64> = (0..20).collect();
        let mut seq = 0u64;
        let mut e = Evidence::default();
        e.add(
            &batch,
            &rows[..1],
            &hashes[..1],
            &times[..1],
            &mut seq,
            1000,
        )
        .unwrap();
        let list = |e: &Evidence| {
            e.by_entity
                .values()
                .map(|r| r.samples.capacity())
                .sum::<usize>()
        };
        assert_eq!(
            list(&e),
            MAX_FIRST_SAMPLES,
            "one event does not reserve 1000 slots"
        );
        e.add(
            &batch,
            &rows[1..],
            &hashes[1..],
            &times[1..],
            &mut seq,
            1000,
        )
        .unwrap();
        assert!(list(&e) >= 20);
        let rows_bytes: usize = e.rows.iter().map(|b| b.get_array_memory_size()).sum();
        let map = e.by_entity.capacity() * (8 + std::mem::size_of::<Record>() + 8);
        assert_eq!(
            e.bytes(),
            rows_bytes + list(&e) * std::mem::size_of::<Sample>() + map
        );
    }
}
