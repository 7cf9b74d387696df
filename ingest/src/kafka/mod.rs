//! Kafka: the consumer-group source, the checkpoint topic that moves task state with its
//! partition, and producers (keyed records, dead letters).
//!
//! * [`source`]: a group member cutting each partition's messages into chunks, reporting
//!   assignments (with their checkpoints) and revocations in stream order, and starting each
//!   assigned partition at its checkpoint's resume offset.
//! * [`checkpoint`]: reading and writing `<group>-gatewatch-checkpoint`, and committing offsets
//!   only for partitions this member still owns.
//! * [`repartition`]: the internal topics rows of rules keyed by something else than the
//!   input key travel through, so all rows of one entity meet in one task.
//! * [`writer`]: keyed producers for `gatewatch generate --to` and the dead-letter topic.

pub mod checkpoint;
pub mod repartition;
pub mod source;
pub mod writer;

use std::str::FromStr;
use std::time::Duration;

pub use checkpoint::{CheckpointStore, Committer};
pub use source::KafkaSource;
pub use writer::{DeadLetterTopic, KafkaWriter};

/// A `kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=NAME&...` URL.
///
/// Query parameters: `group` (consumer group, default `gatewatch`), `offset_reset`
/// (`earliest`, the default, or `latest`: where a group with no committed offset starts),
/// `stop_after_idle` (e.g. `5s`: end the input after that long without messages; for replays
/// and tests), `repartition` (`on`, the default, or `off`: see [`repartition`]),
/// `repartition_retention` (how long the broker keeps repartition records, default `7d`),
/// `repartition_partitions` (partitions of repartition topics this run creates, default: as
/// many as the first input topic), and
/// any librdkafka property with a dot in its name (`security.protocol`,
/// `sasl.mechanisms`, `ssl.ca.location`, ...), passed through as is.
#[derive(Clone, PartialEq)]
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
    /// Whether rules keyed by something else than the input key go through repartition topics.
    pub repartition: bool,
    /// Retention of the repartition topics this run creates.
    pub repartition_retention: Duration,
    /// Partitions of the repartition topics this run creates (`None`: as the input's).
    pub repartition_partitions: Option<i32>,
    /// librdkafka properties passed through.
    pub properties: Vec<(String, String)>,
}

/// Whether a librdkafka property holds a secret (its value is never printed).
pub fn is_secret_property(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "secret", "token", "key.pem", "private", "jaas"]
        .iter()
        .any(|s| k.contains(s))
}

impl std::fmt::Debug for KafkaUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl KafkaUrl {
    /// The URL with secret property values replaced by `***`: safe for logs and errors.
    pub fn redacted(&self) -> String {
        let mut s = format!(
            "kafka://{}/{}?group={}",
            self.brokers,
            self.topics.join(","),
            self.group
        );
        for (k, v) in &self.properties {
            let v = if is_secret_property(k) {
                "***"
            } else {
                v.as_str()
            };
            s.push_str(&format!("&{k}={v}"));
        }
        s
    }
}

/// Redacts the values of secret-looking parameters in a URL-ish text (`sasl.password=...`).
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match part.split_once('=') {
            Some((k, _)) if is_secret_property(k.rsplit('?').next().unwrap_or(k)) => {
                out.push_str(k);
                out.push_str("=***");
            }
            _ => out.push_str(part),
        }
    }
    out
}

impl FromStr for KafkaUrl {
    type Err = String;
    fn from_str(url: &str) -> Result<Self, String> {
        let shown = redact_text(url);
        let rest = url
            .strip_prefix("kafka://")
            .ok_or_else(|| format!("{shown:?} is not a kafka:// URL"))?;
        let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (brokers, topics) = base
            .split_once('/')
            .ok_or_else(|| format!("{shown:?}: expected kafka://HOST:PORT/TOPIC"))?;
        let topics: Vec<String> = topics
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if brokers.is_empty() || topics.is_empty() {
            return Err(format!("{shown:?}: expected kafka://HOST:PORT/TOPIC"));
        }
        let mut k = KafkaUrl {
            brokers: brokers.to_owned(),
            topics,
            group: "gatewatch".into(),
            offset_reset: "earliest".into(),
            stop_after_idle: None,
            repartition: true,
            repartition_retention: Duration::from_secs(7 * 24 * 3600),
            repartition_partitions: None,
            properties: Vec::new(),
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                format!("{shown:?}: parameter {:?} has no value", redact_text(pair))
            })?;
            match key {
                "group" => k.group = value.to_owned(),
                "offset_reset" => k.offset_reset = value.to_owned(),
                "stop_after_idle" => k.stop_after_idle = Some(gatewatch_model::duration::parse(value)?),
                "repartition" => {
                    k.repartition = match value {
                        "on" => true,
                        "off" => false,
                        v => return Err(format!("{shown:?}: repartition={v:?}: expected on or off")),
                    }
                }
                "repartition_retention" => {
                    k.repartition_retention = gatewatch_model::duration::parse(value)?
                }
                "repartition_partitions" => {
                    k.repartition_partitions = match value.parse::<i32>() {
                        Ok(n) if (1..=10_000).contains(&n) => Some(n),
                        _ => {
                            return Err(format!(
                                "{shown:?}: repartition_partitions={value:?}: expected a number of partitions from 1 to 10000"
                            ))
                        }
                    }
                }
                p if p.contains('.') => k.properties.push((p.to_owned(), value.to_owned())),
                other => {
                    return Err(format!(
                        "{shown:?}: unknown parameter {other:?} (group, offset_reset, stop_after_idle, repartition, repartition_retention, repartition_partitions, or a librdkafka property such as security.protocol)"
                    ))
                }
            }
        }
        Ok(k)
    }
}

/// librdkafka settings every gatewatch client shares: brokers and pass-through properties.
pub(crate) fn base_config(url: &KafkaUrl, client_id: &str) -> rdkafka::config::ClientConfig {
    let mut cfg = rdkafka::config::ClientConfig::new();
    cfg.set("bootstrap.servers", &url.brokers)
        .set("client.id", client_id);
    for (k, v) in &url.properties {
        cfg.set(k, v);
    }
    cfg
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

    #[test]
    fn secrets_never_show_in_errors_or_debug_output() {
        let err = "kafka://h:1/t?sasl.password=hunter2&bogus=1"
            .parse::<KafkaUrl>()
            .unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        let err = "kafka:/h/t?sasl.password=hunter2"
            .parse::<KafkaUrl>()
            .unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        let k: KafkaUrl = "kafka://h:1/t?sasl.username=u&sasl.password=hunter2"
            .parse()
            .unwrap();
        let shown = format!("{k:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("sasl.username=u"),
            "{shown}"
        );
    }
}
