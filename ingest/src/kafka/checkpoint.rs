//! The group's checkpoint topic, and offset commits that respect ownership.
//!
//! State that outlives a window (suppression, learned endpoints, the partition's clock and how
//! far it got) must move with a partition when it changes owner. Kafka Streams keeps it in a
//! compacted changelog topic; so does gatewatch: `<group>-gatewatch-checkpoint`, one record
//! per input partition (key `topic/partition`), the latest one winning. The broker here checks
//! no group generation on commits and keeps no commit metadata, so the checkpoint, not the
//! committed offset, says where a partition resumes: a new owner reads the latest checkpoint
//! and starts at its resume offset. A stale checkpoint only means a longer replay: every
//! window still open in it is rebuilt from rows after its resume offset, and alerts repeated
//! by the replay carry the same ids (sinks deduplicate on them).
//!
//! [`Committer::commit`] stores checkpoints, then commits offsets, both only for partitions
//! this member still owns, under the lock the rebalance callback takes before letting a
//! partition go: a revoked partition is never committed by its old owner.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::source::GroupContext;
use super::{base_config, KafkaUrl};
use crate::TopicPartition;

/// The checkpoint topic of a consumer group.
pub fn checkpoint_topic(group: &str) -> String {
    format!("{group}-gatewatch-checkpoint")
}

/// The key of a partition's checkpoint record.
pub fn checkpoint_key(tp: &TopicPartition) -> String {
    format!("{}/{}", tp.topic, tp.partition)
}

/// Counts failed deliveries.
#[derive(Default)]
pub(crate) struct DeliveryCount {
    pub(crate) failed: AtomicU64,
    pub(crate) last_error: Mutex<Option<String>>,
}

impl ClientContext for DeliveryCount {}

impl ProducerContext for DeliveryCount {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            *self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
        }
    }
}

/// Waits until `producer` has delivered everything queued; an error if any delivery failed.
pub(crate) fn flush_checked(
    producer: &BaseProducer<DeliveryCount>,
    failed_before: u64,
    timeout: Duration,
    what: &str,
) -> Result<(), String> {
    producer
        .flush(timeout)
        .map_err(|e| format!("{what}: not acknowledged within {timeout:?}: {e}"))?;
    let ctx = producer.context();
    if ctx.failed.load(Ordering::Relaxed) > failed_before {
        let last = ctx
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_default();
        return Err(format!("{what}: delivery failed: {last}"));
    }
    Ok(())
}

/// A client context that keeps a reader's expected end-of-partition notices out of the logs.
struct QuietReader;

impl ClientContext for QuietReader {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        if error.rdkafka_error_code() != Some(rdkafka::types::RDKafkaErrorCode::PartitionEOF) {
            tracing::warn!("reading checkpoints: {error}: {reason}");
        }
    }
}

impl rdkafka::consumer::ConsumerContext for QuietReader {}

/// Reads and writes a group's checkpoint topic.
pub struct CheckpointStore {
    url: KafkaUrl,
    topic: String,
    partitions: i32,
    producer: BaseProducer<DeliveryCount>,
}

/// How long reading or writing checkpoints may take before the pipeline gives up.
const CHECKPOINT_TIMEOUT: Duration = Duration::from_secs(30);

impl CheckpointStore {
    /// Connects, creating the topic (compacted) if it does not exist yet, with as many
    /// partitions as the first input topic has.
    pub fn connect(url: &KafkaUrl) -> Result<Self, String> {
        let topic = checkpoint_topic(&url.group);
        let producer: BaseProducer<DeliveryCount> = base_config(url, "gatewatch-checkpoint")
            .set("acks", "all")
            .set("linger.ms", "0")
            .set("compression.type", "lz4")
            .set("message.max.bytes", "10000000")
            .create_with_context(DeliveryCount::default())
            .map_err(|e| format!("cannot create a Kafka producer for {}: {e}", url.brokers))?;
        let partitions = ensure_topic(
            url,
            &topic,
            producer.client(),
            None,
            &[("cleanup.policy", "compact")],
        )?;
        Ok(CheckpointStore {
            url: url.clone(),
            topic,
            partitions,
            producer,
        })
    }

    /// The topic's name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    fn partition_of(&self, tp: &TopicPartition) -> i32 {
        tp.partition.rem_euclid(self.partitions.max(1))
    }

    /// The latest checkpoint of each of `tps` (absent: none stored yet).
    pub fn read(&self, tps: &[TopicPartition]) -> Result<HashMap<TopicPartition, Vec<u8>>, String> {
        let mut out = HashMap::new();
        if tps.is_empty() {
            return Ok(out);
        }
        let wanted: HashMap<String, TopicPartition> = tps
            .iter()
            .map(|tp| (checkpoint_key(tp), tp.clone()))
            .collect();
        let parts: HashSet<i32> = tps.iter().map(|tp| self.partition_of(tp)).collect();
        let consumer: BaseConsumer<QuietReader> =
            base_config(&self.url, "gatewatch-checkpoint-reader")
                .set("group.id", format!("{}-reader", self.topic))
                .set("enable.auto.commit", "false")
                .set("enable.partition.eof", "true")
                .set("auto.offset.reset", "earliest")
                .create_with_context(QuietReader)
                .map_err(|e| {
                    format!(
                        "cannot create a Kafka consumer for {}: {e}",
                        self.url.brokers
                    )
                })?;
        let mut tpl = TopicPartitionList::new();
        for p in &parts {
            tpl.add_partition_offset(&self.topic, *p, Offset::Beginning)
                .map_err(|e| e.to_string())?;
        }
        consumer
            .assign(&tpl)
            .map_err(|e| format!("reading {}: {e}", self.topic))?;
        let mut pending: HashSet<i32> = parts;
        let deadline = Instant::now() + CHECKPOINT_TIMEOUT;
        while !pending.is_empty() {
            if Instant::now() > deadline {
                return Err(format!(
                    "reading checkpoints from {}: partitions {pending:?} did not reach their end within {CHECKPOINT_TIMEOUT:?}",
                    self.topic
                ));
            }
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(msg)) => {
                    let key = msg.key().and_then(|k| std::str::from_utf8(k).ok());
                    if let (Some(key), Some(payload)) = (key, msg.payload()) {
                        if let Some(tp) = wanted.get(key) {
                            out.insert(tp.clone(), payload.to_vec());
                        }
                    }
                }
                Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                    pending.remove(&p);
                }
                Some(Err(e)) => tracing::warn!("reading checkpoints: {e}"),
                None => {}
            }
        }
        Ok(out)
    }

    /// Stores checkpoints and waits until the broker acknowledged every one.
    pub fn write(&self, records: &[(TopicPartition, Vec<u8>)]) -> Result<(), String> {
        let failed_before = self.producer.context().failed.load(Ordering::Relaxed);
        for (tp, value) in records {
            let key = checkpoint_key(tp);
            let mut record = BaseRecord::to(&self.topic)
                .key(&key)
                .payload(value)
                .partition(self.partition_of(tp));
            loop {
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((
                        rdkafka::error::KafkaError::MessageProduction(
                            rdkafka::types::RDKafkaErrorCode::QueueFull,
                        ),
                        r,
                    )) => {
                        record = r;
                        self.producer.poll(Duration::from_millis(20));
                    }
                    Err((e, _)) => {
                        return Err(format!("writing a checkpoint to {}: {e}", self.topic))
                    }
                }
            }
        }
        flush_checked(
            &self.producer,
            failed_before,
            CHECKPOINT_TIMEOUT,
            &format!("checkpoints to {}", self.topic),
        )
    }
}

/// Creates `topic` with `configs` if the cluster does not have it, with `partitions` (default:
/// as many as the first input topic); returns its partition count.
pub(crate) fn ensure_topic<C: ClientContext>(
    url: &KafkaUrl,
    topic: &str,
    client: &rdkafka::client::Client<C>,
    partitions: Option<i32>,
    configs: &[(&str, &str)],
) -> Result<i32, String> {
    let timeout = Duration::from_secs(10);
    let count = |name: &str| -> Result<Option<i32>, String> {
        let md = client
            .fetch_metadata(Some(name), timeout)
            .map_err(|e| format!("cannot read metadata of {name} from {}: {e}", url.brokers))?;
        Ok(md
            .topics()
            .iter()
            .find(|t| t.name() == name && t.error().is_none() && !t.partitions().is_empty())
            .map(|t| t.partitions().len() as i32))
    };
    if let Some(n) = count(topic)? {
        return Ok(n);
    }
    let partitions = match partitions {
        Some(n) => n,
        None => url
            .topics
            .first()
            .map(|t| count(t))
            .transpose()?
            .flatten()
            .unwrap_or(1),
    }
    .max(1);
    let admin: AdminClient<DefaultClientContext> =
        base_config(url, "gatewatch-admin").create().map_err(|e| {
            format!(
                "cannot create a Kafka admin client for {}: {e}",
                url.brokers
            )
        })?;
    let mut new = NewTopic::new(topic, partitions, TopicReplication::Fixed(-1));
    for (k, v) in configs {
        new = new.set(k, v);
    }
    let result = futures::executor::block_on(admin.create_topics(
        [&new],
        &AdminOptions::new().operation_timeout(Some(timeout)),
    ));
    match result {
        Ok(results) => {
            for r in results {
                if let Err((name, code)) = r {
                    if code != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists {
                        tracing::warn!(
                            "creating topic {name} failed ({code}); relying on the broker to create it"
                        );
                    }
                }
            }
        }
        Err(e) => tracing::warn!(
            "creating topic {topic} failed ({e}); relying on the broker to create it"
        ),
    }
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(n) = count(topic)? {
            return Ok(n);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "topic {topic} does not exist and could not be created on {}: create it ({}) or allow auto-creation",
                url.brokers,
                configs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The partitions this member owns, shared with the rebalance callback.
#[derive(Debug, Default)]
pub struct Owned {
    /// Partitions assigned and not revoked.
    pub partitions: HashSet<TopicPartition>,
}

/// Stores checkpoints and commits offsets, for owned partitions only.
#[derive(Clone)]
pub struct Committer {
    pub(crate) consumer: Arc<BaseConsumer<GroupContext>>,
    pub(crate) owned: Arc<Mutex<Owned>>,
    pub(crate) store: Arc<CheckpointStore>,
}

impl Committer {
    /// For each `(partition, offset, checkpoint)` still owned: stores the checkpoint, then
    /// commits the offset (synchronously). Returns the partitions committed. Holding the
    /// ownership lock throughout means a revocation waits for this to finish, and nothing is
    /// committed for a partition after it was revoked.
    pub fn commit(
        &self,
        items: Vec<(TopicPartition, i64, Vec<u8>)>,
    ) -> Result<Vec<TopicPartition>, String> {
        let owned = self.owned.lock().unwrap_or_else(PoisonError::into_inner);
        let items: Vec<_> = items
            .into_iter()
            .filter(|(tp, _, _)| owned.partitions.contains(tp))
            .collect();
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let records: Vec<(TopicPartition, Vec<u8>)> = items
            .iter()
            .map(|(tp, _, cp)| (tp.clone(), cp.clone()))
            .collect();
        self.store.write(&records)?;
        let mut tpl = TopicPartitionList::new();
        for (tp, offset, _) in &items {
            tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))
                .map_err(|e| e.to_string())?;
        }
        self.consumer
            .commit(&tpl, CommitMode::Sync)
            .map_err(|e| format!("offset commit failed: {e}"))?;
        Ok(items.into_iter().map(|(tp, _, _)| tp).collect())
    }
}
