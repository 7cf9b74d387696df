//! The Kafka source: a consumer-group member that cuts each partition's messages into
//! [`Chunk`]s (one line per record, the message offset as the line's offset), reports
//! partition revocations in stream order, and commits the offsets the pipeline says are safe.
//!
//! Offsets are never auto-committed: the pipeline commits, per partition, the lowest offset an
//! open window still holds (or the next unread one). On a revocation the safe offsets of the
//! revoked partitions are committed synchronously before the partitions go, so the next owner
//! starts exactly where this instance's closed windows end.

use std::collections::HashMap;
use std::io;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaResult;
use rdkafka::message::Message;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use crate::source::Chunk;

/// A `kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=NAME&...` URL.
///
/// Query parameters: `group` (consumer group, default `gatewatch`), `offset_reset`
/// (`earliest`, the default, or `latest`: where a group with no committed offset starts),
/// `stop_after_idle` (e.g. `5s`: end the input after that long without messages; for replays
/// and tests), and any librdkafka property with a dot in its name (`security.protocol`,
/// `sasl.mechanisms`, `ssl.ca.location`, ...), passed through as is.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaUrl {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Topics to read.
    pub topics: Vec<String>,
    /// Consumer group.
    pub group: String,
    /// Where a group without committed offsets starts.
    pub offset_reset: String,
    /// End of input after this long without messages.
    pub stop_after_idle: Option<Duration>,
    /// librdkafka properties passed through.
    pub properties: Vec<(String, String)>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("bad duration {text:?}"))?;
    Ok(match unit {
        "ms" => Duration::from_millis(n),
        "s" | "" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => return Err(format!("bad duration {text:?}: use ms, s or m")),
    })
}

impl FromStr for KafkaUrl {
    type Err = String;
    fn from_str(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("kafka://")
            .ok_or_else(|| format!("{url:?} is not a kafka:// URL"))?;
        let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (brokers, topics) = base
            .split_once('/')
            .ok_or_else(|| format!("{url:?}: expected kafka://HOST:PORT/TOPIC"))?;
        let topics: Vec<String> = topics
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if brokers.is_empty() || topics.is_empty() {
            return Err(format!("{url:?}: expected kafka://HOST:PORT/TOPIC"));
        }
        let mut k = KafkaUrl {
            brokers: brokers.to_owned(),
            topics,
            group: "gatewatch".into(),
            offset_reset: "earliest".into(),
            stop_after_idle: None,
            properties: Vec::new(),
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("{url:?}: parameter {pair:?} has no value"))?;
            match key {
                "group" => k.group = value.to_owned(),
                "offset_reset" => k.offset_reset = value.to_owned(),
                "stop_after_idle" => k.stop_after_idle = Some(parse_duration(value)?),
                p if p.contains('.') => k.properties.push((p.to_owned(), value.to_owned())),
                other => {
                    return Err(format!(
                        "{url:?}: unknown parameter {other:?} (group, offset_reset, stop_after_idle, or a librdkafka property such as security.protocol)"
                    ))
                }
            }
        }
        Ok(k)
    }
}

/// Something the pipeline must act on in stream order, besides data.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    /// These (topic, partition)s were given to this instance.
    Assigned(Vec<(String, i32)>),
    /// These (topic, partition)s were taken away: drop their rows from open windows.
    Revoked(Vec<(String, i32)>),
}

/// Offsets the pipeline has declared safe to commit, per (topic, partition): shared with the
/// rebalance callback, which commits them for partitions being revoked.
pub type SafeOffsets = Arc<Mutex<HashMap<(String, i32), i64>>>;

/// Consumer callbacks: record rebalances, commit safe offsets of revoked partitions.
pub struct GroupContext {
    events: Mutex<Vec<SourceEvent>>,
    safe: SafeOffsets,
    /// Set once partitions were assigned: `stop_after_idle` counts from then, since joining a
    /// group takes a few seconds.
    assigned: std::sync::atomic::AtomicBool,
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let revoked: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        if revoked.is_empty() {
            return;
        }
        let safe = self.safe.lock().unwrap_or_else(PoisonError::into_inner);
        let mut commit = TopicPartitionList::new();
        for (t, p) in &revoked {
            if let Some(o) = safe.get(&(t.clone(), *p)) {
                let _ = commit.add_partition_offset(t, *p, Offset::Offset(*o));
            }
        }
        drop(safe);
        if commit.count() > 0 {
            if let Err(e) = consumer.commit(&commit, CommitMode::Sync) {
                tracing::warn!("commit of revoked partitions failed ({e}); their next owner re-reads from the previous commit");
            }
        }
        tracing::info!(partitions = ?revoked, "partitions revoked");
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(SourceEvent::Revoked(revoked));
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let assigned: Vec<(String, i32)> = tpl
                .elements()
                .iter()
                .map(|e| (e.topic().to_owned(), e.partition()))
                .collect();
            tracing::info!(partitions = ?assigned, "partitions assigned");
            self.events
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(SourceEvent::Assigned(assigned));
            self.assigned
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// What [`KafkaSource::next_item`] yields.
#[derive(Debug)]
pub enum KafkaItem {
    /// Records of one partition.
    Chunk(Chunk),
    /// A rebalance the pipeline must apply before later chunks.
    Event(SourceEvent),
}

#[derive(Default)]
struct Pending {
    data: Vec<u8>,
    offsets: Vec<i64>,
    since: Option<Instant>,
}

/// A consumer-group member producing per-partition chunks.
pub struct KafkaSource {
    consumer: Arc<BaseConsumer<GroupContext>>,
    pending: HashMap<(String, i32), Pending>,
    ready: std::collections::VecDeque<KafkaItem>,
    chunk_bytes: usize,
    linger: Duration,
    stop_after_idle: Option<Duration>,
    last_message: Instant,
}

/// Commits offsets from the pipeline thread.
#[derive(Clone)]
pub struct KafkaCommitter {
    consumer: Arc<BaseConsumer<GroupContext>>,
    safe: SafeOffsets,
}

impl KafkaCommitter {
    /// Records `offsets` as safe and commits them: asynchronously while running (a lost commit
    /// only means a longer re-read after a crash, never a loss), synchronously at shutdown.
    /// Recording them matters: a revocation commits the recorded offsets, and must not roll
    /// back a newer commit with older ones.
    pub fn commit(&self, offsets: &HashMap<(String, i32), i64>, sync: bool) -> KafkaResult<()> {
        let mut tpl = TopicPartitionList::new();
        let mut safe = self.safe.lock().unwrap_or_else(PoisonError::into_inner);
        for ((t, p), o) in offsets {
            safe.insert((t.clone(), *p), *o);
            tpl.add_partition_offset(t, *p, Offset::Offset(*o))?;
        }
        drop(safe);
        if tpl.count() == 0 {
            return Ok(());
        }
        self.consumer.commit(
            &tpl,
            if sync {
                CommitMode::Sync
            } else {
                CommitMode::Async
            },
        )
    }

    /// Forgets revoked partitions: their offsets are the next owner's to commit.
    pub fn forget(&self, partitions: &[(String, i32)]) {
        let mut safe = self.safe.lock().unwrap_or_else(PoisonError::into_inner);
        for p in partitions {
            safe.remove(p);
        }
    }
}

impl KafkaSource {
    /// Joins the group and subscribes. `chunk_bytes` bounds a chunk; `linger` is how long a
    /// partition's records may wait for more before they are sent on.
    pub fn connect(
        url: &KafkaUrl,
        chunk_bytes: usize,
        linger: Duration,
    ) -> Result<(KafkaSource, KafkaCommitter), String> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &url.brokers)
            .set("group.id", &url.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", &url.offset_reset)
            .set("session.timeout.ms", "6000")
            .set("client.id", "gatewatch");
        for (k, v) in &url.properties {
            cfg.set(k, v);
        }
        let safe: SafeOffsets = Arc::default();
        let ctx = GroupContext {
            events: Mutex::new(Vec::new()),
            safe: safe.clone(),
            assigned: std::sync::atomic::AtomicBool::new(false),
        };
        let consumer: BaseConsumer<GroupContext> = cfg
            .create_with_context(ctx)
            .map_err(|e| format!("cannot create a Kafka consumer for {}: {e}", url.brokers))?;
        let topics: Vec<&str> = url.topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .map_err(|e| format!("cannot subscribe to {topics:?}: {e}"))?;
        let consumer = Arc::new(consumer);
        let source = KafkaSource {
            consumer: consumer.clone(),
            pending: HashMap::new(),
            ready: Default::default(),
            chunk_bytes,
            linger,
            stop_after_idle: url.stop_after_idle,
            last_message: Instant::now(),
        };
        Ok((source, KafkaCommitter { consumer, safe }))
    }

    fn flush(&mut self, key: &(String, i32)) {
        if let Some(p) = self.pending.remove(key) {
            if p.offsets.is_empty() {
                return;
            }
            self.ready.push_back(KafkaItem::Chunk(Chunk {
                // Rows are named by topic, so (source, partition) identifies a Kafka partition.
                source: key.0.as_str().into(),
                partition: key.1,
                first_line: p.offsets[0] as u64,
                data: p.data,
                oversized: Vec::new(),
                offsets: Some(p.offsets),
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

    /// The next chunk or rebalance event; `None` once `stop_after_idle` has passed without
    /// messages. Errors from the broker are logged and retried by librdkafka, not returned.
    pub fn next_item(&mut self) -> io::Result<Option<KafkaItem>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Ok(Some(item));
            }
            let polled = self.consumer.poll(Duration::from_millis(100));
            // Rebalance callbacks ran inside poll: records of revoked partitions that were not
            // sent yet are dropped (the next owner reads them), then the event goes out in order.
            let events: Vec<SourceEvent> = std::mem::take(
                &mut *self
                    .consumer
                    .context()
                    .events
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            );
            for ev in events {
                if let SourceEvent::Revoked(parts) = &ev {
                    for p in parts {
                        self.pending.remove(p);
                    }
                }
                self.ready.push_back(KafkaItem::Event(ev));
            }
            match polled {
                Some(Ok(msg)) => {
                    self.last_message = Instant::now();
                    let key = (msg.topic().to_owned(), msg.partition());
                    let offset = msg.offset();
                    let pending = self.pending.entry(key.clone()).or_default();
                    pending.since.get_or_insert_with(Instant::now);
                    // One record per line; a message holding several lines (a shipper's batch)
                    // gives several records with the message's offset.
                    let payload = msg.payload().unwrap_or_default();
                    for line in payload.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                        pending.data.extend_from_slice(line);
                        pending.data.push(b'\n');
                        pending.offsets.push(offset);
                    }
                    if payload.iter().all(|b| *b == b'\n') {
                        // An empty message still advances the partition: keep its offset.
                        pending.data.push(b'\n');
                        pending.offsets.push(offset);
                    }
                    if pending.data.len() >= self.chunk_bytes {
                        self.flush(&key);
                    }
                }
                Some(Err(e)) => tracing::warn!("kafka: {e}"),
                None => {
                    self.flush_due(true);
                    let assigned = self
                        .consumer
                        .context()
                        .assigned
                        .load(std::sync::atomic::Ordering::Relaxed);
                    if !assigned {
                        // Not in the group yet: idleness counts from the assignment.
                        self.last_message = Instant::now();
                    } else if self.ready.is_empty() {
                        if let Some(idle) = self.stop_after_idle {
                            if self.last_message.elapsed() >= idle {
                                return Ok(None);
                            }
                        }
                    }
                    continue;
                }
            }
            self.flush_due(false);
        }
    }
}

/// Writes records to a topic, keyed (producers must key by the entity the rules group by, so
/// that one consumer sees all of an entity's events; see the README).
pub struct KafkaWriter {
    producer: rdkafka::producer::BaseProducer,
    topic: String,
}

impl KafkaWriter {
    /// Connects to the brokers of `url` (its first topic is written).
    pub fn connect(url: &KafkaUrl) -> Result<KafkaWriter, String> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &url.brokers)
            .set("linger.ms", "20")
            .set("client.id", "gatewatch-generate");
        for (k, v) in &url.properties {
            cfg.set(k, v);
        }
        let producer = cfg
            .create()
            .map_err(|e| format!("cannot create a Kafka producer for {}: {e}", url.brokers))?;
        Ok(KafkaWriter {
            producer,
            topic: url.topics[0].clone(),
        })
    }

    /// Queues one record, waiting for queue space when the producer is full.
    pub fn send(&self, key: &str, payload: &[u8]) -> Result<(), String> {
        use rdkafka::producer::BaseRecord;
        let mut record = BaseRecord::to(&self.topic).key(key).payload(payload);
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((
                    rdkafka::error::KafkaError::MessageProduction(
                        rdkafka::types::RDKafkaErrorCode::QueueFull,
                    ),
                    r,
                )) => {
                    record = r;
                    self.producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => return Err(format!("producing to {}: {e}", self.topic)),
            }
        }
    }

    /// Waits until every queued record is acknowledged by the broker.
    pub fn flush(&self, timeout: Duration) -> Result<(), String> {
        use rdkafka::producer::Producer;
        self.producer
            .flush(timeout)
            .map_err(|e| format!("flushing to {}: {e}", self.topic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let k: KafkaUrl =
            "kafka://a:9092,b:9092/logs,more?group=g&stop_after_idle=3s&security.protocol=SASL_SSL"
                .parse()
                .unwrap();
        assert_eq!(k.brokers, "a:9092,b:9092");
        assert_eq!(k.topics, ["logs", "more"]);
        assert_eq!(k.group, "g");
        assert_eq!(k.stop_after_idle, Some(Duration::from_secs(3)));
        assert_eq!(
            k.properties,
            [("security.protocol".to_string(), "SASL_SSL".to_string())]
        );
        assert!("kafka://host".parse::<KafkaUrl>().is_err());
        assert!("kafka://h:1/t?grup=x"
            .parse::<KafkaUrl>()
            .unwrap_err()
            .contains("unknown parameter"));
    }
}
