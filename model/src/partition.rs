//! Where a row comes from: a source partition, named by topic (or input name) and number.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A source partition: a Kafka topic's partition, or a file/stdin (partition 0 of the input's
/// name). Offsets are per partition: Kafka offsets, or line numbers for files.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopicPartition {
    /// Topic, or the input's name (file path, `stdin`).
    pub topic: Arc<str>,
    /// Partition number (0 for files and stdin).
    pub partition: i32,
}

impl TopicPartition {
    /// `topic`'s partition `partition`.
    pub fn new(topic: impl Into<Arc<str>>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.topic, self.partition)
    }
}

/// A fixed, fast 64-bit hash of bytes (foldhash with a fixed seed: the same in every process
/// and run), for routing rows by key and comparing Kafka message keys with decoded values.
///
/// ```
/// use gatewatch_model::partition::key_hash;
/// assert_eq!(key_hash(b"203.0.113.7"), key_hash(b"203.0.113.7"));
/// assert_ne!(key_hash(b"a"), key_hash(b"b"));
/// ```
pub fn key_hash(bytes: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x6761_7465_7761_7463).hash_one(bytes)
}
