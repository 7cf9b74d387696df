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
use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, UInt32Array};
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
        };
        plan.refresh(set);
        plan
    }

    /// Re-reads the rules of each key from `set` (a reload); returns the keys of `set` that
    /// would repartition but have no topic (their rules run in the input partition's task).
    pub fn refresh(&mut self, set: &RuleSet) -> Vec<&'static str> {
        let groups = set.route_groups();
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
    pub fn local_selection(&self, set: &RuleSet, rows: usize) -> HashMap<KeyGroup, Arc<[u32]>> {
        let all: Arc<[u32]> = (0..rows as u32).collect();
        set.route_groups()
            .into_iter()
            .filter(|g| !self.shuffles.iter().any(|s| s.key == g.key))
            .map(|g| (g.key, all.clone()))
            .collect()
    }
}

/// The upstream side: sends rows and watermarks of input partitions to repartition topics.
pub struct Shipper {
    writer: RepartitionWriter,
    /// Per (shuffle, destination partition, source partition): the last watermark sent.
    sent_wm: HashMap<(usize, i32, TopicPartition), i64>,
    /// Records sent (for the summary and metrics).
    pub records: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Rows sent.
    pub rows: u64,
    /// Time spent encoding and queueing records, and waiting for acknowledgements at the end.
    pub busy: (std::time::Duration, std::time::Duration),
}

impl Shipper {
    /// A shipper sending through `writer`.
    pub fn new(writer: RepartitionWriter) -> Self {
        Shipper {
            writer,
            sent_wm: HashMap::new(),
            records: 0,
            bytes: 0,
            rows: 0,
            busy: Default::default(),
        }
    }

    /// Sends the rows of `input` (an input partition's, in processing order) that each
    /// shuffle's rules may keep, and the partition's watermark to every destination.
    pub fn ship(&mut self, plan: &Plan, input: &TaskInput) -> Result<()> {
        let started = std::time::Instant::now();
        let r = self.ship_rows(plan, input);
        self.busy.0 += started.elapsed();
        r
    }

    fn ship_rows(&mut self, plan: &Plan, input: &TaskInput) -> Result<()> {
        let rows = input.batch.num_rows();
        let positions = input
            .positions
            .as_ref()
            .filter(|p| p.len() == rows)
            .ok_or_else(|| anyhow!("rows of {} without positions", input.upstream))?;
        for (si, s) in plan.shuffles.iter().enumerate() {
            let mut per_dest: BTreeMap<i32, Vec<u32>> = BTreeMap::new();
            let col = s.column.and_then(|c| input.batch.column_by_name(c.name()));
            let text = col
                .map(|c| arrow::compute::cast(c, &DataType::Utf8))
                .transpose()?;
            let text = text.as_ref().map(|t| t.as_string::<i32>());
            for i in 0..rows {
                let keep = match &input.masks {
                    Some(m) => s.rules.iter().any(|&r| match m.masks.get(r) {
                        Some(Some(mask)) => mask.is_valid(i) && mask.value(i),
                        Some(None) | None => true,
                    }),
                    None => true,
                };
                if !keep {
                    continue;
                }
                let h = match text {
                    Some(t) if !t.is_null(i) => {
                        gatewatch_ingest::partition::key_hash(t.value(i).as_bytes())
                    }
                    _ => 0,
                };
                let dest = (h % s.partitions as u64) as i32;
                per_dest.entry(dest).or_default().push(i as u32);
            }
            for dest in 0..s.partitions {
                let key = (si, dest, input.upstream.clone());
                let last = self.sent_wm.get(&key).copied();
                let picked = per_dest.remove(&dest);
                if picked.is_none() && last.is_some_and(|w| w >= input.wm_after) {
                    continue;
                }
                let idx = UInt32Array::from(picked.unwrap_or_default());
                let payload = encode(s, input, positions, &idx, false)?;
                self.writer
                    .send(&s.topic, dest, &payload)
                    .map_err(anyhow::Error::msg)?;
                self.records += 1;
                self.rows += idx.len() as u64;
                self.bytes += payload.len() as u64;
                self.sent_wm.insert(key, input.wm_after);
            }
        }
        self.writer.poll();
        Ok(())
    }

    /// An input partition's watermark moved without rows (idle live tail): tell every
    /// destination.
    pub fn watermark(&mut self, plan: &Plan, upstream: &TopicPartition, wm: i64) -> Result<()> {
        let empty = TaskInput {
            upstream: upstream.clone(),
            batch: RecordBatch::new_empty(Arc::new(Schema::empty())),
            times: Arc::from(Vec::new()),
            wm_before: Arc::from(Vec::new()),
            wm_after: wm,
            selection: None,
            masks: None,
            last_offset: None,
            positions: Some(Arc::from(Vec::new())),
            ledger: None,
        };
        self.ship(plan, &empty)
    }

    /// An input partition that never had a record is idle (live input, `--idle-timeout`):
    /// every destination stops waiting for it until it sends rows.
    pub fn idle(&mut self, plan: &Plan, upstream: &TopicPartition) -> Result<()> {
        let empty = TaskInput {
            upstream: upstream.clone(),
            batch: RecordBatch::new_empty(Arc::new(Schema::empty())),
            times: Arc::from(Vec::new()),
            wm_before: Arc::from(Vec::new()),
            wm_after: i64::MIN,
            selection: None,
            masks: None,
            last_offset: None,
            positions: None,
            ledger: None,
        };
        let idx = UInt32Array::from(Vec::<u32>::new());
        for s in &plan.shuffles {
            let payload = encode(s, &empty, &[], &idx, true)?;
            for dest in 0..s.partitions {
                self.writer
                    .send(&s.topic, dest, &payload)
                    .map_err(anyhow::Error::msg)?;
                self.records += 1;
                self.bytes += payload.len() as u64;
            }
        }
        Ok(())
    }

    /// Forgets what was sent for a revoked input partition.
    pub fn forget(&mut self, upstream: &TopicPartition) {
        self.sent_wm.retain(|(_, _, tp), _| tp != upstream);
    }

    /// Records sent so far: a commit taken now waits until [`Shipper::acknowledged`] reaches
    /// this.
    pub fn sent(&self) -> u64 {
        self.writer.sent()
    }

    /// How many of the records sent, in sending order, the broker has acknowledged (every one
    /// below the returned count); an error once a delivery failed.
    pub fn acknowledged(&self) -> Result<u64> {
        self.writer.acknowledged().map_err(anyhow::Error::msg)
    }

    /// Waits until every record sent is acknowledged (the end of a run).
    pub fn flush(&mut self) -> Result<()> {
        let started = std::time::Instant::now();
        let r = self.writer.flush().map_err(anyhow::Error::msg);
        self.busy.1 += started.elapsed();
        r
    }
}

/// One record: the picked rows (`idx`, into `input`'s batch) projected to the shuffle's columns, with their watermarks and
/// positions, the source partition and its watermark after in the schema metadata.
pub fn encode(
    s: &Shuffle,
    input: &TaskInput,
    positions: &[i64],
    idx: &UInt32Array,
    idle: bool,
) -> Result<Vec<u8>> {
    let n = idx.len();
    let mut fields: Vec<Arc<Field>> = s.schema.fields().iter().cloned().collect();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.len() + 2);
    for f in s.schema.fields() {
        let col = match input.batch.column_by_name(f.name()) {
            Some(c) => arrow::compute::take(c, idx, None)?,
            None => arrow::array::new_null_array(f.data_type(), n),
        };
        columns.push(col);
    }
    let pick = |v: &[i64]| -> Int64Array {
        idx.values()
            .iter()
            .map(|&i| v.get(i as usize).copied().unwrap_or(i64::MIN))
            .collect()
    };
    fields.push(Arc::new(Field::new(COL_WM_BEFORE, DataType::Int64, false)));
    columns.push(Arc::new(pick(&input.wm_before)));
    fields.push(Arc::new(Field::new(COL_POSITION, DataType::Int64, false)));
    columns.push(Arc::new(pick(positions)));
    let meta: HashMap<String, String> = [
        (META_TOPIC, input.upstream.topic.to_string()),
        (META_PARTITION, input.upstream.partition.to_string()),
        (META_WM_AFTER, input.wm_after.to_string()),
        (META_SENT_MS, now_ms().to_string()),
    ]
    .into_iter()
    .chain(idle.then(|| (META_IDLE, "1".to_owned())))
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, meta));
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let mut w = StreamWriter::try_new(Vec::with_capacity(1024), &schema)?;
    w.write(&batch)?;
    w.finish()?;
    Ok(w.into_inner()?)
}

/// What a downstream task keeps per source partition: the highest position counted.
pub type Marks = BTreeMap<TopicPartition, i64>;

struct Part {
    key: KeyGroup,
    marks: Marks,
    /// (offset of a record, marks before it), oldest first.
    snapshots: VecDeque<(i64, Marks)>,
}

/// The downstream side: turns repartition records into task inputs, without duplicates.
#[derive(Default)]
pub struct Downstream {
    parts: HashMap<TopicPartition, Part>,
    /// Rows dropped as already counted (re-sent after an upstream restart).
    pub duplicates: u64,
    /// Wall-clock time from send to receipt of records carrying rows, milliseconds, in
    /// power-of-two buckets (bucket i: below 2^i ms).
    hop_ms: [u64; 32],
}

impl Downstream {
    /// Starts a repartition partition for `key`, from checkpointed marks or from none.
    pub fn start(&mut self, tp: &TopicPartition, key: KeyGroup, marks: Marks) {
        self.parts.insert(
            tp.clone(),
            Part {
                key,
                marks,
                snapshots: VecDeque::new(),
            },
        );
    }

    /// Forgets a revoked partition.
    pub fn remove(&mut self, tp: &TopicPartition) {
        self.parts.remove(tp);
    }

    /// The `q` quantile (0..=1) of the hop's latency, as the upper bound of its power-of-two
    /// bucket in milliseconds; `None` before any record with rows.
    pub fn hop_quantile_ms(&self, q: f64) -> Option<u64> {
        let total: u64 = self.hop_ms.iter().sum();
        if total == 0 {
            return None;
        }
        let want = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.hop_ms.iter().enumerate() {
            seen += n;
            if seen >= want {
                return Some(1u64 << i);
            }
        }
        None
    }

    /// The marks now.
    pub fn marks(&self, tp: &TopicPartition) -> Option<Marks> {
        self.parts.get(tp).map(|p| p.marks.clone())
    }

    /// The latest record boundary at or before `offset` and the marks there: where a
    /// restored task may resume. Older snapshots are dropped.
    pub fn resume_point(&mut self, tp: &TopicPartition, offset: i64) -> Option<(i64, Marks)> {
        gatewatch_engine::commit::resume_at(&mut self.parts.get_mut(tp)?.snapshots, offset)
    }

    /// The task input of a repartition record (`None` for a partition not started here), and
    /// whether the record says its source partition is idle.
    pub fn accept(&mut self, rec: &Shuffled) -> Result<Option<(TaskInput, bool)>> {
        let Some(part) = self.parts.get_mut(&rec.tp) else {
            return Ok(None);
        };
        let what = || format!("repartition record {} offset {}", rec.tp, rec.offset);
        let mut reader =
            StreamReader::try_new(Cursor::new(&rec.payload[..]), None).with_context(what)?;
        let meta = reader.schema().metadata().clone();
        let batch = match reader.next() {
            Some(b) => b.with_context(what)?,
            None => bail!("{}: no rows", what()),
        };
        let get = |k: &str| meta.get(k).ok_or_else(|| anyhow!("{}: no {k}", what()));
        let upstream = TopicPartition::new(
            get(META_TOPIC)?.as_str(),
            get(META_PARTITION)?.parse::<i32>().with_context(what)?,
        );
        let wm_after: i64 = get(META_WM_AFTER)?.parse().with_context(what)?;
        let int_col = |name: &str| -> Result<Int64Array> {
            Ok(batch
                .column_by_name(name)
                .and_then(|a| a.as_primitive_opt::<Int64Type>())
                .ok_or_else(|| anyhow!("{}: no {name}", what()))?
                .clone())
        };
        let wm = int_col(COL_WM_BEFORE)?;
        let pos = int_col(COL_POSITION)?;
        if part.snapshots.len() >= MAX_SNAPSHOTS {
            part.snapshots.pop_front();
        }
        part.snapshots.push_back((rec.offset, part.marks.clone()));
        if batch.num_rows() > 0 {
            if let Some(sent) = meta.get(META_SENT_MS).and_then(|v| v.parse::<i64>().ok()) {
                let ms = now_ms().saturating_sub(sent).max(0) as u64;
                let bucket = (u64::BITS - ms.leading_zeros()) as usize;
                self.hop_ms[bucket.min(self.hop_ms.len() - 1)] += 1;
            }
        }
        let mark = part.marks.get(&upstream).copied().unwrap_or(i64::MIN);
        let keep: Vec<u32> = (0..batch.num_rows())
            .filter(|&i| pos.value(i) > mark)
            .map(|i| i as u32)
            .collect();
        self.duplicates += (batch.num_rows() - keep.len()) as u64;
        if let Some(&last) = keep.last() {
            part.marks
                .insert(upstream.clone(), pos.value(last as usize));
        }
        let data: Vec<usize> = (0..batch.num_columns())
            .filter(|&i| {
                let n = batch.schema_ref().field(i).name();
                n != COL_WM_BEFORE && n != COL_POSITION
            })
            .collect();
        let data = batch.project(&data)?;
        let data = if keep.len() == data.num_rows() {
            data
        } else {
            take_record_batch(&data, &UInt32Array::from(keep.clone()))?
        };
        let times: Arc<[i64]> = match data.column_by_name(Column::EventTime.name()) {
            Some(t) => t
                .as_primitive_opt::<arrow::datatypes::TimestampMillisecondType>()
                .ok_or_else(|| anyhow!("{}: event_time is not in milliseconds", what()))?
                .values()
                .iter()
                .copied()
                .collect(),
            None if data.num_rows() == 0 => Arc::from(Vec::new()),
            None => bail!("{}: no event_time", what()),
        };
        let wm_before: Arc<[i64]> = keep.iter().map(|&i| wm.value(i as usize)).collect();
        let all: Arc<[u32]> = (0..data.num_rows() as u32).collect();
        let idle = meta.contains_key(META_IDLE);
        Ok(Some((
            TaskInput {
                upstream,
                batch: data,
                times,
                wm_before,
                wm_after,
                selection: Some([(part.key, all)].into_iter().collect()),
                masks: None,
                last_offset: None,
                positions: None,
                ledger: Some((rec.tp.clone(), rec.offset)),
            },
            idle,
        )))
    }
}

/// Marks as a checkpoint stores them (`topic/partition` → position).
pub fn marks_to_json(m: &Marks) -> BTreeMap<String, i64> {
    m.iter()
        .map(|(tp, p)| (format!("{}/{}", tp.topic, tp.partition), *p))
        .collect()
}

/// Marks from a checkpoint.
pub fn marks_from_json(m: &BTreeMap<String, i64>) -> Marks {
    m.iter()
        .filter_map(|(k, p)| {
            let (t, n) = k.rsplit_once('/')?;
            Some((TopicPartition::new(t, n.parse().ok()?), *p))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, StringArray, TimestampMillisecondArray};

    fn shuffle() -> Shuffle {
        let mut cols = ColumnSet::required();
        cols.insert(Column::UserAgent);
        Shuffle {
            key: KeyGroup::Column(Column::UserAgent),
            column: Some(Column::UserAgent),
            topic: "g-repartition-user_agent".into(),
            partitions: 4,
            rules: vec![0],
            schema: cols.schema(),
        }
    }

    /// Three rows of input partition `in/1`: the third released with the second.
    fn input() -> TaskInput {
        let batch = RecordBatch::try_from_iter([
            (
                "event_time",
                Arc::new(
                    TimestampMillisecondArray::from(vec![1_000, 2_000, 1_500]).with_timezone("UTC"),
                ) as ArrayRef,
            ),
            (
                "source_name",
                Arc::new(StringArray::from(vec!["in"; 3])) as _,
            ),
            (
                "source_partition",
                Arc::new(Int32Array::from(vec![1; 3])) as _,
            ),
            (
                "source_offset",
                Arc::new(Int64Array::from(vec![10, 11, 9])) as _,
            ),
            (
                "user_agent",
                Arc::new(StringArray::from(vec!["a", "b", "c"])) as _,
            ),
            ("status", Arc::new(Int32Array::from(vec![401; 3])) as _),
        ])
        .unwrap();
        TaskInput {
            upstream: TopicPartition::new("in", 1),
            batch,
            times: Arc::from(vec![1_000, 2_000, 1_500]),
            wm_before: Arc::from(vec![0, 500, 500]),
            wm_after: 700,
            selection: None,
            masks: None,
            last_offset: Some(11),
            positions: Some(Arc::from(vec![10, 11, 11])),
            ledger: None,
        }
    }

    fn record(s: &Shuffle, input: &TaskInput, rows: Vec<u32>, offset: i64) -> Shuffled {
        let positions = input.positions.clone().unwrap();
        Shuffled {
            tp: TopicPartition::new(s.topic.as_str(), 2),
            offset,
            payload: encode(s, input, &positions, &UInt32Array::from(rows), false).unwrap(),
        }
    }

    #[test]
    fn a_record_carries_rows_watermarks_and_source_and_resent_rows_are_dropped() {
        let s = shuffle();
        let input = input();
        let mut d = Downstream::default();
        let rtp = TopicPartition::new(s.topic.as_str(), 2);
        d.start(&rtp, s.key, Marks::new());

        let (got, idle) = d
            .accept(&record(&s, &input, vec![0, 2], 100))
            .unwrap()
            .unwrap();
        assert!(!idle);
        assert_eq!(got.upstream, TopicPartition::new("in", 1));
        assert_eq!(got.batch.num_rows(), 2);
        assert_eq!(&*got.times, &[1_000, 1_500]);
        assert_eq!(&*got.wm_before, &[0, 500]);
        assert_eq!(got.wm_after, 700);
        assert_eq!(got.ledger, Some((rtp.clone(), 100)));
        // Projected to the shuffle's columns: the rows' source offsets stay theirs.
        assert!(got.batch.column_by_name("status").is_none());
        let offsets = got.batch.column_by_name("source_offset").unwrap();
        assert_eq!(offsets.as_primitive::<Int64Type>().values(), &[10, 9]);
        assert_eq!(got.selection.unwrap()[&s.key].as_ref(), &[0, 1]);

        // The same rows again (an upstream replayed after a crash): dropped, but the
        // watermark still counts.
        let (again, _) = d
            .accept(&record(&s, &input, vec![0, 2], 101))
            .unwrap()
            .unwrap();
        assert_eq!(again.batch.num_rows(), 0);
        assert_eq!(again.wm_after, 700);
        assert_eq!(d.duplicates, 2);

        // A watermark alone.
        let (marker, _) = d.accept(&record(&s, &input, vec![], 102)).unwrap().unwrap();
        assert_eq!((marker.batch.num_rows(), marker.wm_after), (0, 700));

        // Resuming at a record restores the marks from just before it.
        let (at, marks) = d.resume_point(&rtp, 100).unwrap();
        assert_eq!((at, marks.len()), (100, 0));
        let (at, marks) = d.resume_point(&rtp, 101).unwrap();
        assert_eq!(at, 101);
        assert_eq!(marks_from_json(&marks_to_json(&marks)), marks);
        assert_eq!(marks[&TopicPartition::new("in", 1)], 11);
    }

    #[test]
    fn records_of_partitions_not_started_here_are_ignored_and_garbage_is_an_error() {
        let s = shuffle();
        let mut d = Downstream::default();
        assert!(d
            .accept(&record(&s, &input(), vec![0], 1))
            .unwrap()
            .is_none());
        let rtp = TopicPartition::new(s.topic.as_str(), 2);
        d.start(&rtp, s.key, Marks::new());
        let bad = Shuffled {
            tp: rtp,
            offset: 5,
            payload: b"not arrow".to_vec(),
        };
        let e = d.accept(&bad).unwrap_err().to_string();
        assert!(e.contains("offset 5"), "{e}");
    }
}
