//! Repartition topics: how rows of rules keyed by something else than the input key reach the
//! one task that sees every row of their entity.
//!
//! Input partitions are keyed by one column (the client address, `--input-key`). A rule whose
//! entity is another column (user agent, account, endpoint) would see each entity's rows split
//! over every partition, and so over every instance. Like Kafka Streams, gatewatch sends those
//! rules' rows, filtered and projected, through an internal topic keyed by the rule's entity:
//! `<group>-repartition-<column>`, as many partitions as the input topic, time-based retention.
//! Every member of the group consumes it beside the input, so the rows of one entity all land
//! in one partition, one task, one instance.
//!
//! This module holds the Kafka side: naming and creating the topics, and a producer whose
//! deliveries are checked before the input offsets they came from are committed. The record
//! format and the watermarks that travel with it are the pipeline's (`gatewatch-pipeline`'s
//! `repartition` module).

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientContext;

use super::checkpoint::ensure_topic;
use super::{base_config, KafkaUrl};

/// Marks the repartition topics of a group (consumers recognise their records by it).
pub const REPARTITION_INFIX: &str = "-repartition-";

/// The key of repartition records that carry no rows, only a watermark or an idle mark. A
/// consumer's `stop_after_idle` doesn't count them as activity: they are re-sent while the input
/// is quiet and would otherwise keep an idle run alive forever.
pub const CONTROL_KEY: &[u8] = b"gatewatch-control";

/// The repartition topic of a consumer group for rules keyed by `key` (a column name).
pub fn repartition_topic(group: &str, key: &str) -> String {
    format!("{group}{REPARTITION_INFIX}{key}")
}

/// How long queued repartition records may take to be acknowledged at the end of a run.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);

/// Which records the broker acknowledged: every id below `prefix`, and those in `above`.
#[derive(Default)]
struct AckState {
    prefix: u64,
    above: BTreeSet<u64>,
    failed: Option<String>,
}

/// Delivery reports, by record id.
#[derive(Default)]
struct Acks(Mutex<AckState>);

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = Box<u64>;
    fn delivery(&self, result: &DeliveryResult<'_>, id: Box<u64>) {
        let mut s = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err((e, _)) = result {
            // Never counted as acknowledged: the input offsets before it stay uncommitted.
            s.failed.get_or_insert_with(|| e.to_string());
            return;
        }
        s.above.insert(*id);
        while s.above.first() == Some(&s.prefix) {
            s.above.pop_first();
            s.prefix += 1;
        }
    }
}

/// A producer for a group's repartition topics. Each record gets an id in sending order;
/// [`RepartitionWriter::acknowledged`] says up to which id every record is acknowledged, so a
/// commit can wait for exactly the records sent before it without stopping the flow.
pub struct RepartitionWriter {
    producer: BaseProducer<Acks>,
    next_id: u64,
}

impl RepartitionWriter {
    /// Connects and makes sure each of `topics` exists (created with the given partition
    /// count, else `repartition_partitions`, by default as many partitions as the first input
    /// topic, and the URL's `repartition_retention`, if missing; an existing topic keeps its
    /// count). Returns the writer and each topic's partition count.
    pub fn connect(
        url: &KafkaUrl,
        topics: &[(String, Option<i32>)],
    ) -> Result<(Self, Vec<i32>), String> {
        let producer: BaseProducer<Acks> = base_config(url, "gatewatch-repartition")
            .set("acks", "all")
            // One request in flight per broker: retries never reorder a partition's records,
            // which downstream deduplication relies on.
            .set("max.in.flight.requests.per.connection", "1")
            .set("linger.ms", "20")
            .set("compression.type", "lz4")
            .set("message.max.bytes", "10000000")
            .set("queue.buffering.max.kbytes", "262144")
            .create_with_context(Acks::default())
            .map_err(|e| format!("cannot create a Kafka producer for {}: {e}", url.brokers))?;
        let retention = url.repartition_retention.as_millis().to_string();
        let mut counts = Vec::new();
        for (t, partitions) in topics {
            counts.push(ensure_topic(
                url,
                t,
                producer.client(),
                partitions.or(url.repartition_partitions),
                &[("cleanup.policy", "delete"), ("retention.ms", &retention)],
            )?);
        }
        Ok((
            RepartitionWriter {
                producer,
                next_id: 0,
            },
            counts,
        ))
    }

    /// Queues `payload` for `partition` of `topic`, waiting while the local queue is full.
    /// `rows` says whether it carries rows; one that doesn't is keyed [`CONTROL_KEY`].
    pub fn send(
        &mut self,
        topic: &str,
        partition: i32,
        payload: &[u8],
        rows: bool,
    ) -> Result<(), String> {
        let mut record: BaseRecord<'_, [u8], [u8], Box<u64>> =
            BaseRecord::with_opaque_to(topic, Box::new(self.next_id))
                .partition(partition)
                .payload(payload);
        if !rows {
            record = record.key(CONTROL_KEY);
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => {
                    self.next_id += 1;
                    return Ok(());
                }
                Err((e, r))
                    if e.rdkafka_error_code()
                        == Some(rdkafka::types::RDKafkaErrorCode::QueueFull) =>
                {
                    self.producer.poll(Duration::from_millis(50));
                    record = r;
                }
                Err((e, _)) => return Err(format!("repartition record to {topic}: {e}")),
            }
        }
    }

    /// Serves delivery reports without waiting (call now and then).
    pub fn poll(&self) {
        self.producer.poll(Duration::ZERO);
    }

    /// Records sent so far (ids below this one).
    pub fn sent(&self) -> u64 {
        self.next_id
    }

    /// Serves delivery reports and returns the id below which every record is acknowledged;
    /// an error once any delivery failed.
    pub fn acknowledged(&self) -> Result<u64, String> {
        self.producer.poll(Duration::ZERO);
        let s = self.acks();
        match &s.failed {
            Some(e) => Err(format!("repartition records: delivery failed: {e}")),
            None => Ok(s.prefix),
        }
    }

    fn acks(&self) -> std::sync::MutexGuard<'_, AckState> {
        self.producer
            .context()
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until every queued record is acknowledged (the end of a run); an error if any
    /// delivery failed.
    pub fn flush(&mut self) -> Result<(), String> {
        self.producer.flush(DELIVERY_TIMEOUT).map_err(|e| {
            format!("repartition records: not acknowledged within {DELIVERY_TIMEOUT:?}: {e}")
        })?;
        self.acknowledged().map(|_| ())
    }

    /// The partition counts of `topics` (the input topics), from the cluster's metadata.
    pub fn partition_counts(&self, topics: &[String]) -> Result<Vec<i32>, String> {
        let timeout = Duration::from_secs(10);
        let mut out = Vec::new();
        for t in topics {
            let md = self
                .producer
                .client()
                .fetch_metadata(Some(t), timeout)
                .map_err(|e| format!("cannot read metadata of {t}: {e}"))?;
            let n = md
                .topics()
                .iter()
                .find(|x| x.name() == t && x.error().is_none())
                .map_or(0, |x| x.partitions().len() as i32);
            if n == 0 {
                return Err(format!(
                    "input topic {t} has no partitions (does it exist?)"
                ));
            }
            out.push(n);
        }
        Ok(out)
    }
}
