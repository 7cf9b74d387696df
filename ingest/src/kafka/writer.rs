//! Producers: keyed records (`gatewatch generate --to`) and the dead-letter topic.

use std::sync::atomic::Ordering;
use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use super::checkpoint::{flush_checked, DeliveryCount};
use super::{base_config, KafkaUrl};

/// Queues a record, waiting for queue space when the producer is full.
fn send_blocking<'a>(
    producer: &BaseProducer<DeliveryCount>,
    mut record: BaseRecord<'a, str, [u8]>,
    topic: &str,
) -> Result<(), String> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((
                rdkafka::error::KafkaError::MessageProduction(
                    rdkafka::types::RDKafkaErrorCode::QueueFull,
                ),
                r,
            )) => {
                record = r;
                producer.poll(Duration::from_millis(50));
            }
            Err((e, _)) => return Err(format!("producing to {topic}: {e}")),
        }
    }
}

/// Writes records to a topic, keyed (producers must key by the entity the rules group by, so
/// that one consumer sees all of an entity's events; see the README).
pub struct KafkaWriter {
    producer: BaseProducer<DeliveryCount>,
    topic: String,
}

impl KafkaWriter {
    /// Connects to the brokers of `url` (its first topic is written).
    pub fn connect(url: &KafkaUrl) -> Result<KafkaWriter, String> {
        let producer = base_config(url, "gatewatch-generate")
            .set("linger.ms", "20")
            .create_with_context(DeliveryCount::default())
            .map_err(|e| format!("cannot create a Kafka producer for {}: {e}", url.brokers))?;
        Ok(KafkaWriter {
            producer,
            topic: url.topics[0].clone(),
        })
    }

    /// Queues one record, waiting for queue space when the producer is full.
    pub fn send(&self, key: &str, payload: &[u8]) -> Result<(), String> {
        let record = BaseRecord::to(&self.topic).key(key).payload(payload);
        send_blocking(&self.producer, record, &self.topic)
    }

    /// Queues one record to an explicit partition.
    pub fn send_to(&self, partition: i32, key: &str, payload: &[u8]) -> Result<(), String> {
        let record = BaseRecord::to(&self.topic)
            .key(key)
            .payload(payload)
            .partition(partition);
        send_blocking(&self.producer, record, &self.topic)
    }

    /// Waits until every queued record is acknowledged by the broker.
    pub fn flush(&self, timeout: Duration) -> Result<(), String> {
        let before = self.producer.context().failed.load(Ordering::Relaxed);
        flush_checked(
            &self.producer,
            before,
            timeout,
            &format!("records to {}", self.topic),
        )
    }
}

/// Where a rejected record came from, for the headers of its dead letter.
#[derive(Debug, Clone)]
pub struct DeadLetterSource<'a> {
    /// Source topic (or input name).
    pub topic: &'a str,
    /// Source partition.
    pub partition: i32,
    /// Source offset (or line number).
    pub offset: i64,
    /// Why it was rejected.
    pub error: &'a str,
}

/// The dead-letter topic: each rejected record's original bytes, keyed by its source
/// position, with headers `gatewatch.source.topic`, `.partition`, `.offset` and
/// `gatewatch.error`.
pub struct DeadLetterTopic {
    producer: BaseProducer<DeliveryCount>,
    topic: String,
    failed_before: u64,
}

impl DeadLetterTopic {
    /// Connects to the brokers of `url`; its first topic receives the dead letters.
    pub fn connect(url: &KafkaUrl) -> Result<Self, String> {
        let producer = base_config(url, "gatewatch-dead-letter")
            .set("acks", "all")
            .set("linger.ms", "10")
            .create_with_context(DeliveryCount::default())
            .map_err(|e| format!("cannot create a Kafka producer for {}: {e}", url.brokers))?;
        Ok(DeadLetterTopic {
            producer,
            topic: url.topics[0].clone(),
            failed_before: 0,
        })
    }

    /// The topic written.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Queues one dead letter, keyed by its source partition (`TOPIC/PARTITION`): the dead
    /// letters of one input partition land in one partition of the dead-letter topic, in
    /// input order (the offset is in the headers).
    pub fn send(&mut self, src: &DeadLetterSource<'_>, raw: &[u8]) -> Result<(), String> {
        let key = format!("{}/{}", src.topic, src.partition);
        let partition = src.partition.to_string();
        let offset = src.offset.to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "gatewatch.source.topic",
                value: Some(src.topic),
            })
            .insert(Header {
                key: "gatewatch.source.partition",
                value: Some(partition.as_str()),
            })
            .insert(Header {
                key: "gatewatch.source.offset",
                value: Some(offset.as_str()),
            })
            .insert(Header {
                key: "gatewatch.error",
                value: Some(src.error),
            });
        let record = BaseRecord::to(&self.topic)
            .key(key.as_str())
            .payload(raw)
            .headers(headers);
        send_blocking(&self.producer, record, &self.topic)
    }

    /// Waits until every queued dead letter is acknowledged (before offsets pass them).
    pub fn flush(&mut self) -> Result<(), String> {
        let before = self.failed_before;
        let result = flush_checked(
            &self.producer,
            before,
            Duration::from_secs(30),
            &format!("dead letters to {}", self.topic),
        );
        self.failed_before = self.producer.context().failed.load(Ordering::Relaxed);
        result
    }
}
