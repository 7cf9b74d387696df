//! The Kafka source: a consumer-group member that cuts each partition's messages into
//! [`Chunk`]s (one line per record, the message offset as the line's offset) and reports
//! assignments and revocations in stream order.
//!
//! Offsets are never auto-committed. When partitions are assigned, the rebalance callback
//! reads their latest checkpoints (see [`super::checkpoint`]) and starts each partition at its
//! checkpoint's resume offset (or at the committed offset when there is none); the
//! [`Assignment`]s carry the checkpoints to the pipeline, which rebuilds the tasks from them.
//! When partitions are revoked, the callback takes the ownership lock first, so a commit in
//! progress finishes and no later one includes them; records of theirs not yet handed out are
//! dropped (the next owner reads them).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::KafkaResult;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use serde::Deserialize;

use super::checkpoint::{CheckpointStore, Committer, Owned};
use super::{base_config, KafkaUrl};
use crate::source::{Assignment, Chunk, OversizedLine, Source, SourceItem};
use crate::TopicPartition;

/// The one field of a checkpoint the source needs.
#[derive(Deserialize)]
struct ResumeAt {
    resume_offset: i64,
}

/// Consumer callbacks: start assigned partitions at their checkpoints, release revoked ones.
pub struct GroupContext {
    events: Mutex<Vec<SourceItem>>,
    owned: Arc<Mutex<Owned>>,
    store: Arc<CheckpointStore>,
    /// Set while this member holds an assignment (possibly empty), cleared when a revocation
    /// leaves it owning nothing: `stop_after_idle` counts only while assigned, from the latest
    /// assignment.
    assigned: AtomicBool,
    /// A failure inside a callback that must stop the pipeline.
    fatal: Mutex<Option<String>>,
}

impl ClientContext for GroupContext {
    /// librdkafka's statistics (every `statistics.interval.ms`): each owned partition's lag,
    /// the messages between its end and this member's committed offset.
    fn stats(&self, statistics: rdkafka::Statistics) {
        let owned = self.owned.lock().unwrap_or_else(PoisonError::into_inner);
        for (topic, t) in &statistics.topics {
            for (partition, p) in &t.partitions {
                // -1: unknown (not assigned, nothing committed yet); the internal UA partition.
                if p.consumer_lag < 0
                    || !owned
                        .partitions
                        .contains(&TopicPartition::new(topic.as_str(), *partition))
                {
                    continue;
                }
                metrics::gauge!(
                    "gatewatch_consumer_lag_messages",
                    "source" => topic.clone(),
                    "partition" => partition.to_string()
                )
                .set(p.consumer_lag as f64);
            }
        }
    }
}

fn partitions_of(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| TopicPartition::new(e.topic(), e.partition()))
        .collect()
}

impl GroupContext {
    fn push(&self, item: SourceItem) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(item);
    }

    fn on_assign(
        &self,
        consumer: &BaseConsumer<Self>,
        tpl: &mut TopicPartitionList,
    ) -> KafkaResult<()> {
        let tps = partitions_of(tpl);
        let checkpoints = match self.store.read(&tps) {
            Ok(c) => c,
            Err(e) => {
                // Starting without the checkpoint could alert twice or miss state: stop.
                *self.fatal.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
                HashMap::new()
            }
        };
        let mut assignments = Vec::with_capacity(tps.len());
        for tp in tps {
            let checkpoint = checkpoints.get(&tp).cloned();
            if let Some(at) = checkpoint
                .as_deref()
                .and_then(|c| serde_json::from_slice::<ResumeAt>(c).ok())
            {
                tpl.set_partition_offset(
                    &tp.topic,
                    tp.partition,
                    Offset::Offset(at.resume_offset),
                )?;
            }
            assignments.push(Assignment { tp, checkpoint });
        }
        match consumer.rebalance_protocol() {
            RebalanceProtocol::Cooperative => consumer.incremental_assign(tpl)?,
            _ => consumer.assign(tpl)?,
        }
        {
            let mut owned = self.owned.lock().unwrap_or_else(PoisonError::into_inner);
            for a in &assignments {
                owned.partitions.insert(a.tp.clone());
            }
        }
        tracing::info!(partitions = ?assignments.iter().map(|a| a.tp.to_string()).collect::<Vec<_>>(), "partitions assigned");
        self.push(SourceItem::Assigned(assignments));
        self.assigned.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn on_revoke(
        &self,
        consumer: &BaseConsumer<Self>,
        tpl: &TopicPartitionList,
    ) -> KafkaResult<()> {
        let revoked = partitions_of(tpl);
        {
            // Waits for a commit in progress; none will include these partitions afterwards.
            let mut owned = self.owned.lock().unwrap_or_else(PoisonError::into_inner);
            for tp in &revoked {
                owned.partitions.remove(tp);
            }
            if owned.partitions.is_empty() {
                // Mid-rebalance, owning nothing: `stop_after_idle` waits for the next
                // assignment, or this member could stop with the open windows of partitions it
                // is about to get back, and no later owner would close them.
                self.assigned.store(false, Ordering::Relaxed);
            }
        }
        match consumer.rebalance_protocol() {
            RebalanceProtocol::Cooperative => consumer.incremental_unassign(tpl)?,
            _ => consumer.unassign()?,
        }
        if !revoked.is_empty() {
            tracing::info!(partitions = ?revoked.iter().map(ToString::to_string).collect::<Vec<_>>(), "partitions revoked");
            self.push(SourceItem::Revoked(revoked));
        }
        Ok(())
    }
}

impl ConsumerContext for GroupContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => self.on_assign(consumer, tpl),
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => self.on_revoke(consumer, tpl),
            other => {
                tracing::warn!("kafka rebalance error: {other:?}");
                // librdkafka requires the assignment to be dropped on rebalance errors.
                let _ = consumer.unassign();
                let revoked: Vec<TopicPartition> = {
                    let mut owned = self.owned.lock().unwrap_or_else(PoisonError::into_inner);
                    owned.partitions.drain().collect()
                };
                self.assigned.store(false, Ordering::Relaxed);
                if !revoked.is_empty() {
                    self.push(SourceItem::Revoked(revoked));
                }
                Ok(())
            }
        };
        if let Err(e) = result {
            *self.fatal.lock().unwrap_or_else(PoisonError::into_inner) =
                Some(format!("kafka rebalance failed: {e}"));
        }
    }
}

#[derive(Default)]
struct Pending {
    data: Vec<u8>,
    offsets: Vec<i64>,
    keys: Vec<Option<u64>>,
    oversized: Vec<OversizedLine>,
    since: Option<Instant>,
}

/// A consumer-group member producing per-partition chunks.
pub struct KafkaSource {
    consumer: Arc<BaseConsumer<GroupContext>>,
    pending: HashMap<TopicPartition, Pending>,
    ready: VecDeque<SourceItem>,
    chunk_bytes: usize,
    max_line_bytes: usize,
    head_bytes: usize,
    linger: Duration,
    stop_after_idle: Option<Duration>,
    last_message: Instant,
    /// Topic-name prefix of the group's repartition topics.
    repartition_prefix: String,
}

impl KafkaSource {
    /// Joins the group and subscribes to the input topics and to `repartition` (the group's
    /// repartition topics, whose records are passed on whole). `chunk_bytes` bounds a chunk; records longer than
    /// `max_line_bytes` are dead-lettered (their first `head_bytes`); `linger` is how long a
    /// partition's records may wait for more before they are sent on. Also returns the
    /// committer the pipeline stores checkpoints and commits offsets with.
    pub fn connect(
        url: &KafkaUrl,
        chunk_bytes: usize,
        max_line_bytes: usize,
        head_bytes: usize,
        linger: Duration,
        repartition: &[String],
    ) -> Result<(KafkaSource, Committer), String> {
        let store = Arc::new(CheckpointStore::connect(url)?);
        let owned: Arc<Mutex<Owned>> = Arc::default();
        let ctx = GroupContext {
            events: Mutex::new(Vec::new()),
            owned: owned.clone(),
            store: store.clone(),
            assigned: AtomicBool::new(false),
            fatal: Mutex::new(None),
        };
        let mut cfg = base_config(url, "gatewatch");
        cfg.set("group.id", &url.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", &url.offset_reset)
            .set("session.timeout.ms", "6000")
            // Consumer lag for the metrics (see `GroupContext::stats`).
            .set("statistics.interval.ms", "5000");
        // The pass-through properties win over our defaults.
        for (k, v) in &url.properties {
            cfg.set(k, v);
        }
        let consumer: BaseConsumer<GroupContext> = cfg
            .create_with_context(ctx)
            .map_err(|e| format!("cannot create a Kafka consumer for {}: {e}", url.brokers))?;
        let topics: Vec<&str> = url
            .topics
            .iter()
            .chain(repartition)
            .map(String::as_str)
            .collect();
        consumer
            .subscribe(&topics)
            .map_err(|e| format!("cannot subscribe to {topics:?}: {e}"))?;
        let consumer = Arc::new(consumer);
        let source = KafkaSource {
            consumer: consumer.clone(),
            pending: HashMap::new(),
            ready: VecDeque::new(),
            chunk_bytes,
            max_line_bytes,
            head_bytes,
            linger,
            stop_after_idle: url.stop_after_idle,
            last_message: Instant::now(),
            repartition_prefix: super::repartition::repartition_topic(&url.group, ""),
        };
        let committer = Committer {
            consumer,
            owned,
            store,
        };
        Ok((source, committer))
    }

    fn flush(&mut self, key: &TopicPartition) {
        if let Some(p) = self.pending.remove(key) {
            if p.offsets.is_empty() {
                return;
            }
            self.ready.push_back(SourceItem::Chunk(Chunk {
                // Rows are named by topic, so (source, partition) identifies a Kafka partition.
                source: key.topic.clone(),
                partition: key.partition,
                first_line: p.offsets[0].max(0) as u64,
                data: p.data,
                oversized: p.oversized,
                offsets: Some(p.offsets),
                keys: Some(p.keys),
            }));
        }
    }

    fn flush_due(&mut self, all: bool) {
        let due: Vec<_> = self
            .pending
            .iter()
            .filter(|(_, p)| {
                all || p.data.len() >= self.chunk_bytes
                    || p.since.is_some_and(|s| s.elapsed() >= self.linger)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            self.flush(&k);
        }
    }

    fn add_message(&mut self, tp: TopicPartition, offset: i64, key: Option<&[u8]>, payload: &[u8]) {
        let key = key.map(crate::partition::key_hash);
        let (max, head) = (self.max_line_bytes, self.head_bytes);
        let pending = self.pending.entry(tp.clone()).or_default();
        pending.since.get_or_insert_with(Instant::now);
        // One record per line; a message holding several lines (a shipper's batch) gives
        // several records with the message's offset.
        let mut any = false;
        for line in payload.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            any = true;
            if line.len() > max {
                // Same treatment as a file's long line: an empty line in its place, its head
                // kept for the dead-letter record.
                pending.oversized.push(OversizedLine {
                    line: offset.max(0) as u64,
                    len: line.len(),
                    head: line[..head.min(line.len())].to_vec(),
                });
                pending.data.push(b'\n');
            } else {
                pending.data.extend_from_slice(line);
                pending.data.push(b'\n');
            }
            pending.offsets.push(offset);
            pending.keys.push(key);
        }
        if !any {
            // An empty message still advances the partition: keep its offset.
            pending.data.push(b'\n');
            pending.offsets.push(offset);
            pending.keys.push(key);
        }
        if pending.data.len() >= self.chunk_bytes {
            self.flush(&tp);
        }
    }

    fn take_events(&mut self) -> io::Result<()> {
        let ctx = self.consumer.context();
        if let Some(e) = ctx
            .fatal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            return Err(io::Error::other(e));
        }
        let events: Vec<SourceItem> =
            std::mem::take(&mut *ctx.events.lock().unwrap_or_else(PoisonError::into_inner));
        for ev in events {
            if let SourceItem::Assigned(_) = &ev {
                // `stop_after_idle` counts from the latest assignment: a partition taken over
                // in a rebalance is read from its checkpoint before this instance may stop,
                // or two instances stopping in turn could leave it unread.
                self.last_message = Instant::now();
            }
            if let SourceItem::Revoked(parts) = &ev {
                // Records not handed out yet go: the next owner reads them.
                for p in parts {
                    self.pending.remove(p);
                }
                let revoked: std::collections::HashSet<&TopicPartition> = parts.iter().collect();
                self.ready.retain(|item| match item {
                    SourceItem::Chunk(c) => {
                        !revoked.contains(&TopicPartition::new(c.source.clone(), c.partition))
                    }
                    SourceItem::Shuffled(r) => !revoked.contains(&r.tp),
                    _ => true,
                });
            }
            self.ready.push_back(ev);
        }
        Ok(())
    }
}

impl KafkaSource {
    /// Whether `stop_after_idle` has passed since the last input record or shuffled rows, in
    /// the group and with nothing ready to hand out.
    fn idle_expired(&self) -> bool {
        self.stop_after_idle.is_some_and(|idle| {
            self.ready.is_empty()
                && self.consumer.context().assigned.load(Ordering::Relaxed)
                && self.last_message.elapsed() >= idle
        })
    }
}

impl Source for KafkaSource {
    /// The next chunk or rebalance event; `None` once `stop_after_idle` has passed without
    /// messages. Broker errors are logged and retried by librdkafka, not returned.
    fn next_item(&mut self) -> io::Result<Option<SourceItem>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Ok(Some(item));
            }
            if crate::source::stop_requested() {
                // What was read goes through; the rest stays in Kafka for the next owner.
                self.flush_due(true);
                if let Some(item) = self.ready.pop_front() {
                    return Ok(Some(item));
                }
                tracing::info!("kafka: stop requested, leaving the group");
                return Ok(None);
            }
            if self.idle_expired() {
                // Checked before polling, not only when a poll comes back empty: watermark and
                // idle marks may keep arriving on repartition topics while the input is quiet.
                self.flush_due(true);
                if let Some(item) = self.ready.pop_front() {
                    return Ok(Some(item));
                }
                return Ok(None);
            }
            let consumer = self.consumer.clone();
            let polled = consumer.poll(Duration::from_millis(100));
            // Rebalance callbacks ran inside poll: their events go out before later records.
            self.take_events()?;
            match polled {
                Some(Ok(msg)) => {
                    let tp = TopicPartition::new(msg.topic(), msg.partition());
                    let offset = msg.offset();
                    if msg.topic().starts_with(&self.repartition_prefix) {
                        // Watermark and idle marks are re-sent while the input is quiet: only
                        // rows are activity, or a long `stop_after_idle` would never fire.
                        if msg.key() != Some(super::repartition::CONTROL_KEY) {
                            self.last_message = Instant::now();
                        }
                        self.ready
                            .push_back(SourceItem::Shuffled(crate::source::Shuffled {
                                tp,
                                offset,
                                payload: msg.payload().unwrap_or_default().to_vec(),
                            }));
                        continue;
                    }
                    self.last_message = Instant::now();
                    self.add_message(tp, offset, msg.key(), msg.payload().unwrap_or_default());
                }
                Some(Err(e)) => tracing::warn!("kafka: {e}"),
                None => {
                    self.flush_due(true);
                    if !self.consumer.context().assigned.load(Ordering::Relaxed) {
                        // Not in the group yet: idleness counts from the assignment.
                        self.last_message = Instant::now();
                    }
                    continue;
                }
            }
            self.flush_due(false);
        }
    }
}
