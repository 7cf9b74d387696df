//! The upstream side: rows and watermarks of input partitions to repartition topics.

use super::*;
use gatewatch_engine::sequencer::{candidates, split_by_key};

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
            // The same routing as a file's shards: rows some rule may keep, by key hash.
            let keep = candidates(Some(&s.rules), input.masks.as_deref(), rows);
            let per_dest = split_by_key(&input.batch, s.column, &keep, s.partitions as u32)?;
            for (dest, picked) in (0..s.partitions).zip(per_dest) {
                let key = (si, dest, input.upstream.clone());
                let last = self.sent_wm.get(&key).copied();
                if picked.is_empty() && last.is_some_and(|w| w >= input.wm_after) {
                    continue;
                }
                let has_rows = !picked.is_empty();
                let idx = UInt32Array::from(picked);
                let payload = encode(s, input, positions, &idx, false)?;
                self.writer
                    .send(&s.topic, dest, &payload, has_rows)
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
        self.ship(plan, &no_rows(upstream, wm))
    }

    /// An input partition that never had a record is idle (live input, `--idle-timeout`):
    /// every destination stops waiting for it until it sends rows.
    pub fn idle(&mut self, plan: &Plan, upstream: &TopicPartition) -> Result<()> {
        let empty = no_rows(upstream, i64::MIN);
        let idx = UInt32Array::from(Vec::<u32>::new());
        for s in &plan.shuffles {
            let payload = encode(s, &empty, &[], &idx, true)?;
            for dest in 0..s.partitions {
                self.writer
                    .send(&s.topic, dest, &payload, false)
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

/// An input of no rows from `upstream`, whose watermark is `wm`.
fn no_rows(upstream: &TopicPartition, wm: i64) -> TaskInput {
    TaskInput {
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
