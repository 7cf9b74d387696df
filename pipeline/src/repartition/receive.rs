//! The downstream side: repartition records to task inputs, without duplicates.

use super::*;

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
