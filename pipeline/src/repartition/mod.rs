//! Repartitioning through Kafka: rules keyed by something else than the input key.
//!
//! Input partitions are keyed by one column (`--input-key`, the client address by default). A
//! rule whose entity is another column sees each entity's rows spread over every partition,
//! so over every instance: an attack spread across partitions would be split, duplicated or
//! missed. The model (Kafka Streams' repartition topics, Flink's watermarks):
//!
//! * **Upstream** ([`Shipper`]): the task of an input partition evaluates the rules keyed like
//!   the input itself. For each other key, the rows some of its rules' stateless filters keep
//!   are projected to the columns those rules read and sent to `<group>-repartition-<column>`,
//!   to the partition the entity's hash picks. One record per (input batch, destination
//!   partition): an Arrow IPC stream whose schema metadata names the source partition and its
//!   watermark after the batch, with each row's watermark before it and its position in the
//!   source's processing order. A destination that gets no rows still gets the watermark (an
//!   empty record) when it moved: **watermarks travel with the data**.
//! * **Downstream** ([`Downstream`]): every member also consumes the repartition topics; a
//!   repartition partition is a task whose upstreams are *all* input partitions (from the
//!   topic metadata). It closes a window only once every input partition's watermark has
//!   passed it, so a lagging partition holds back exactly the windows it feeds, and lateness
//!   is decided once, upstream, by each row's own partition clock.
//! * **At least once, then deduplicated.** An upstream task restored after a crash replays
//!   from its resume point and sends rows again. Its clock restarts from the snapshot there,
//!   so every row gets the same position; a downstream task keeps, per source partition, the
//!   highest position it counted, and drops rows at or below it. Those marks are checkpointed
//!   with the downstream task (snapshotted at each record, like the clocks of input
//!   partitions), so its own replay rebuilds them exactly.
//! * **Commit point across the hop**: input offsets are committed only after every
//!   repartition record sent so far is acknowledged (see `make_durable`); a repartition
//!   partition commits like an input partition, its windows holding the offsets of the records
//!   their rows came in.
//!
//! Rules whose filter keeps state of its own (first-seen filters) stay with the input
//! partition's task: their state is per partition. A rule reload keeps the topics of the start;
//! a reloaded rule keyed by a column that has none runs in the input partition's task (logged).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Cursor;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use arrow::array::{ArrayRef, AsArray, Int64Array, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use gatewatch_engine::operator::KeyGroup;
use gatewatch_engine::{RuleSet, TaskInput};
use gatewatch_ingest::kafka::repartition::{repartition_topic, RepartitionWriter};
use gatewatch_ingest::{Column, ColumnSet, Shuffled, TopicPartition};

/// Schema metadata: the source partition's topic.
const META_TOPIC: &str = "gatewatch.source_topic";
/// Schema metadata: the source partition.
const META_PARTITION: &str = "gatewatch.source_partition";
/// Schema metadata: the source partition's watermark after the rows.
const META_WM_AFTER: &str = "gatewatch.watermark_after";
/// Schema metadata: wall-clock time the record was sent (epoch ms), for the hop's latency.
const META_SENT_MS: &str = "gatewatch.sent_ms";
/// Schema metadata, on an empty record: the source partition never had a record and is idle.
const META_IDLE: &str = "gatewatch.idle";

/// Snapshots of marks kept per repartition partition between commits; past this the oldest
/// go (a commit then waits for a later resume point: safe, only a longer replay).
const MAX_SNAPSHOTS: usize = 1 << 16;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
/// Per row: the source partition's watermark before it.
const COL_WM_BEFORE: &str = "gatewatch_wm_before";
/// Per row: its position in the source partition's processing order.
const COL_POSITION: &str = "gatewatch_position";

/// One repartitioned key: its topic and the rules that read it.
#[derive(Debug, Clone)]
pub struct Shuffle {
    /// The key group.
    pub key: KeyGroup,
    /// Its column (`None` for [`KeyGroup::Global`]: every row to one partition).
    pub column: Option<Column>,
    /// `<group>-repartition-<column>` (`<group>-repartition-global`).
    pub topic: String,
    /// The topic's partition count.
    pub partitions: i32,
    /// Positions of its rules in the current rule set.
    pub rules: Vec<usize>,
    /// What its records carry: the columns its rules read and the source columns.
    pub schema: SchemaRef,
}

/// Which keys repartition, and which input partitions feed each repartition task.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The repartitioned keys.
    pub shuffles: Vec<Shuffle>,
    /// Every input partition (the upstreams of a repartition task).
    pub origins: Vec<TopicPartition>,
    /// The key groups an input partition's task evaluates itself (as of the last refresh).
    local: Vec<KeyGroup>,
}

/// The key groups of `set` that repartition when the input is keyed by `input_key`: every
/// group keyed by another column (all of them with no input key), and the rules that need
/// every row in one place ([`KeyGroup::Global`], column `None`).
pub fn shuffled_keys(set: &RuleSet, input_key: Option<Column>) -> Vec<(KeyGroup, Option<Column>)> {
    set.route_groups()
        .into_iter()
        .filter_map(|g| match g.key {
            KeyGroup::Column(c) if Some(c) != input_key => Some((g.key, Some(c))),
            KeyGroup::Global => Some((g.key, None)),
            _ => None,
        })
        .collect()
}

/// The repartition topic name part of a key.
pub fn key_name(column: Option<Column>) -> &'static str {
    column.map_or("global", |c| c.name())
}

impl Plan {
    /// A plan for `set`'s `keys` with topics of `group`; `partitions` per topic as created.
    pub fn new(
        set: &RuleSet,
        keys: &[(KeyGroup, Option<Column>)],
        group: &str,
        partitions: &[i32],
        origins: Vec<TopicPartition>,
    ) -> Plan {
        let mut plan = Plan {
            shuffles: keys
                .iter()
                .zip(partitions)
                .map(|(&(key, column), &n)| Shuffle {
                    key,
                    column,
                    topic: repartition_topic(group, key_name(column)),
                    partitions: n.max(1),
                    rules: Vec::new(),
                    schema: Arc::new(Schema::empty()),
                })
                .collect(),
            origins,
            local: Vec::new(),
        };
        plan.refresh(set);
        plan
    }

    /// Re-reads the rules of each key from `set` (a reload); returns the keys of `set` that
    /// would repartition but have no topic (their rules run in the input partition's task).
    pub fn refresh(&mut self, set: &RuleSet) -> Vec<&'static str> {
        let groups = set.route_groups();
        self.local = groups
            .iter()
            .map(|g| g.key)
            .filter(|k| !self.shuffles.iter().any(|s| s.key == *k))
            .collect();
        for s in &mut self.shuffles {
            s.rules = groups
                .iter()
                .find(|g| g.key == s.key)
                .and_then(|g| g.rules.clone())
                .unwrap_or_default();
            let mut cols = ColumnSet::required();
            if let Some(c) = s.column {
                cols.insert(c);
            }
            let read = gatewatch_rules::compile::columns_read(
                s.rules
                    .iter()
                    .filter_map(|&i| set.rules.get(i))
                    .map(|r| r.as_ref()),
            );
            s.schema = cols.union(read).schema();
        }
        groups
            .iter()
            .filter(|g| !self.shuffles.iter().any(|s| s.key == g.key))
            .filter_map(|g| match g.key {
                KeyGroup::Column(c) => Some(c.name()),
                KeyGroup::Global => Some(key_name(None)),
                KeyGroup::Partition => None,
            })
            .collect()
    }

    /// Whether `tp` is one of the plan's repartition partitions.
    pub fn is_repartition(&self, tp: &TopicPartition) -> bool {
        self.shuffle_of(tp).is_some()
    }

    /// The shuffle whose topic `tp` belongs to.
    pub fn shuffle_of(&self, tp: &TopicPartition) -> Option<&Shuffle> {
        self.shuffles.iter().find(|s| *s.topic == *tp.topic)
    }

    /// The topics.
    pub fn topics(&self) -> Vec<String> {
        self.shuffles.iter().map(|s| s.topic.clone()).collect()
    }

    /// For an input partition's task: every key group but the repartitioned ones, all rows.
    pub fn local_selection(&self, rows: usize) -> HashMap<KeyGroup, Arc<[u32]>> {
        let all: Arc<[u32]> = (0..rows as u32).collect();
        self.local.iter().map(|k| (*k, all.clone())).collect()
    }
}

mod receive;
mod ship;
#[cfg(test)]
mod tests;

pub use receive::{marks_from_json, marks_to_json, Downstream, Marks};
pub use ship::{encode, Shipper};
