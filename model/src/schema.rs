//! The canonical event schema: every gateway format is decoded into these columns.
//!
//! The schema is defined once here, as [`Column`], and everything else (decoders, the
//! batch builder, rule planning, documentation) derives from it. Column order is the
//! Arrow field order of [`event_schema`].

use std::sync::{Arc, OnceLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Time zone of every timestamp column: event times are always UTC.
pub const UTC: &str = "UTC";

macro_rules! columns {
    ($( $variant:ident = $name:literal : $ty:expr, nullable = $nullable:literal, $doc:literal; )*) => {
        /// One column of the canonical event schema.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[repr(u8)]
        pub enum Column {
            $( #[doc = $doc] $variant, )*
        }

        impl Column {
            /// Every column, in schema order.
            pub const ALL: &'static [Column] = &[ $( Column::$variant, )* ];

            /// The column's name in SQL rules and in the Arrow schema.
            pub fn name(self) -> &'static str {
                match self { $( Column::$variant => $name, )* }
            }

            /// What the column holds, for documentation and `--help`.
            pub fn doc(self) -> &'static str {
                match self { $( Column::$variant => $doc, )* }
            }

            /// Whether the column may be null.
            pub fn nullable(self) -> bool {
                match self { $( Column::$variant => $nullable, )* }
            }

            /// The Arrow data type of the column.
            pub fn data_type(self) -> DataType {
                match self { $( Column::$variant => $ty, )* }
            }
        }
    };
}

fn timestamp_ms() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some(UTC.into()))
}

fn string_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

columns! {
    EventTime = "event_time": timestamp_ms(), nullable = false,
        "When the gateway received the request (Kong `started_at`, Envoy `start_time`, NGINX `$time_local`), ms since the epoch, UTC. Windows use this time.";
    ReceiveTime = "receive_time": timestamp_ms(), nullable = false,
        "When gatewatch decoded the record (wall clock, UTC). Not used for windowing.";
    SourceFormat = "source_format": DataType::Utf8, nullable = false,
        "Format the record was decoded from: `kong`, `envoy` or `nginx`.";
    ClientIp = "client_ip": DataType::Utf8, nullable = true,
        "Client address as resolved by the gateway (Kong `client_ip`; Envoy downstream address without port, else first X-Forwarded-For hop; NGINX `$remote_addr`).";
    Method = "method": DataType::Utf8, nullable = true,
        "HTTP method, as logged (`GET`, `POST`, ...).";
    Host = "host": DataType::Utf8, nullable = true,
        "Requested host (Host header / `:authority`). Null for NGINX combined logs.";
    Path = "path": DataType::Utf8, nullable = true,
        "Request path without the query string, as logged (not percent-decoded).";
    RouteTemplate = "route_template": DataType::Utf8, nullable = true,
        "The path with object ids replaced by placeholders: `/users/1042` -> `/users/{id}` (`{id}`, `{uuid}`, `{hex}`, `{token}`).";
    ObjectIds = "object_ids": string_list(), nullable = true,
        "The raw path segments that `route_template` replaced, in path order.";
    ObjectId = "object_id": DataType::Utf8, nullable = true,
        "The last raw object id in the path (the one an ID-walking client increments), or null.";
    QueryKeys = "query_keys": string_list(), nullable = true,
        "Names of the query-string parameters.";
    Query = "query": DataType::Utf8, nullable = true,
        "The raw query string after `?`, as logged (not percent-decoded), or null if none. Probing rules look here for injection payloads.";
    RequestTarget = "request_target": DataType::Utf8, nullable = true,
        "The request target exactly as logged (path and query, an absolute URI, a `CONNECT` authority), before `path` and `query` were cut from it. Sigma's `cs-uri-query` maps here.";
    HttpVersion = "http_version": DataType::Utf8, nullable = true,
        "The protocol of the request line as logged (`HTTP/1.1`, `HTTP/2.0`, a made-up `HTTP/1.2`), or null when the format does not log it (Kong) or the line was not a request. Sigma's `cs-version` maps here.";
    UnparsedRequest = "unparsed_request": DataType::Utf8, nullable = true,
        "What the client sent instead of a request line, as logged, when it sent something (TLS or other binary bytes as NGINX/Apache escape them, `\\x16\\x03\\x01...`; a protocol banner, `SSH-2.0-Go`; a line without its protocol, `GET /`, whose method and path are read as well), at most 128 bytes; null for a complete request, an empty line or `-`. Non-HTTP protocol probes show here.";
    Status = "status": DataType::Int32, nullable = true,
        "HTTP status returned to the client.";
    UpstreamStatus = "upstream_status": DataType::Int32, nullable = true,
        "HTTP status returned by the upstream service, when the gateway logs it.";
    RequestBytes = "request_bytes": DataType::Int64, nullable = true,
        "Request size in bytes.";
    ResponseBytes = "response_bytes": DataType::Int64, nullable = true,
        "Response size in bytes.";
    LatencyMs = "latency_ms": DataType::Int64, nullable = true,
        "Total request latency in milliseconds (Kong `latencies.request`, Envoy `duration`).";
    UserAgent = "user_agent": DataType::Utf8, nullable = true,
        "User-Agent header.";
    Referer = "referer": DataType::Utf8, nullable = true,
        "Referer header, as logged (null when absent; NGINX's `\"\"` for a header sent empty stays an empty string). Sigma's `cs-referer` maps here.";
    ContentType = "content_type": DataType::Utf8, nullable = true,
        "Request Content-Type header, as logged. Sigma's `cs-content-type` maps here.";
    ConsumerUsername = "consumer_username": DataType::Utf8, nullable = true,
        "Kong consumer username, when the request was authenticated to a consumer.";
    ConsumerId = "consumer_id": DataType::Utf8, nullable = true,
        "Kong consumer id.";
    AuthenticatedEntity = "authenticated_entity": DataType::Utf8, nullable = true,
        "Id of the credential Kong authenticated (`authenticated_entity.id`).";
    Username = "username": DataType::Utf8, nullable = true,
        "Login name the client tried, from the field named by `--username-field` (NGINX: `$remote_user`).";
    Authorization = "authorization": DataType::Utf8, nullable = true,
        "Authorization header exactly as logged: Kong logs it as `REDACTED`; gatewatch never un-redacts it.";
    Service = "service": DataType::Utf8, nullable = true,
        "Gateway service name (Kong `service.name`, Envoy upstream cluster).";
    RouteName = "route_name": DataType::Utf8, nullable = true,
        "Gateway route name (Kong `route.name`, Envoy `route_name`).";
    RequestId = "request_id": DataType::Utf8, nullable = true,
        "Request id assigned by the gateway.";
    AiProvider = "ai_provider": DataType::Utf8, nullable = true,
        "Kong AI Gateway: LLM provider (`ai.*.meta.provider_name`).";
    AiModel = "ai_model": DataType::Utf8, nullable = true,
        "Kong AI Gateway: model requested (`ai.*.meta.request_model`).";
    AiPromptTokens = "ai_prompt_tokens": DataType::Int64, nullable = true,
        "Kong AI Gateway: prompt tokens (`ai.*.usage.prompt_tokens`).";
    AiCompletionTokens = "ai_completion_tokens": DataType::Int64, nullable = true,
        "Kong AI Gateway: completion tokens.";
    AiTotalTokens = "ai_total_tokens": DataType::Int64, nullable = true,
        "Kong AI Gateway: total tokens.";
    AiCost = "ai_cost": DataType::Float64, nullable = true,
        "Kong AI Gateway: cost of the call, in the provider's unit.";
    SourceName = "source_name": DataType::Utf8, nullable = false,
        "Provenance: the input the record came from (file path, `stdin`, later a Kafka topic).";
    SourcePartition = "source_partition": DataType::Int32, nullable = false,
        "Provenance: Kafka partition (0 for files and stdin).";
    SourceOffset = "source_offset": DataType::Int64, nullable = false,
        "Provenance: Kafka offset, or 1-based line number for files and stdin.";
}

impl Column {
    /// Position of the column in [`event_schema`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Looks a column up by its SQL name.
    pub fn from_name(name: &str) -> Option<Column> {
        Column::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// The Arrow field for this column.
    pub fn field(self) -> Field {
        Field::new(self.name(), self.data_type(), self.nullable())
    }
}

/// The full canonical schema, in [`Column::ALL`] order.
pub fn event_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(
                Column::ALL.iter().map(|c| c.field()).collect::<Vec<_>>(),
            ))
        })
        .clone()
}

/// A set of columns: which ones a decoder must fill. Columns outside the set are
/// never materialised, which is how gatewatch decodes only what the rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ColumnSet(u64);

impl ColumnSet {
    /// No column at all.
    pub const fn empty() -> Self {
        ColumnSet(0)
    }

    /// Every column of the schema.
    pub fn all() -> Self {
        Column::ALL.iter().copied().collect()
    }

    /// The columns every batch carries whatever the rules read: event time and provenance,
    /// which windowing and offset tracking need.
    pub fn required() -> Self {
        [
            Column::EventTime,
            Column::SourceName,
            Column::SourcePartition,
            Column::SourceOffset,
        ]
        .into_iter()
        .collect()
    }

    /// The set as bits (bit i = column i), for sharing through an atomic.
    pub fn bits(self) -> u64 {
        self.0
    }

    /// A set from [`bits`](Self::bits); bits beyond the schema are ignored.
    pub fn from_bits(bits: u64) -> Self {
        ColumnSet(bits & ColumnSet::all().0)
    }

    /// Adds a column.
    pub fn insert(&mut self, column: Column) {
        self.0 |= 1 << column.index();
    }

    /// Whether the set holds a column.
    pub fn contains(self, column: Column) -> bool {
        self.0 & (1 << column.index()) != 0
    }

    /// Both sets together.
    pub fn union(self, other: ColumnSet) -> ColumnSet {
        ColumnSet(self.0 | other.0)
    }

    /// The columns of the set, in schema order.
    pub fn iter(self) -> impl Iterator<Item = Column> {
        Column::ALL
            .iter()
            .copied()
            .filter(move |c| self.contains(*c))
    }

    /// The Arrow schema of a batch holding exactly these columns, in schema order.
    pub fn schema(self) -> SchemaRef {
        Arc::new(Schema::new(
            self.iter().map(|c| c.field()).collect::<Vec<_>>(),
        ))
    }
}

impl FromIterator<Column> for ColumnSet {
    fn from_iter<T: IntoIterator<Item = Column>>(iter: T) -> Self {
        let mut set = ColumnSet::empty();
        for c in iter {
            set.insert(c);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_indexes_match_schema_order() {
        let schema = event_schema();
        assert!(Column::ALL.len() <= 64, "ColumnSet is a u64 bitset");
        for (i, c) in Column::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
            assert_eq!(schema.field(i).name(), c.name());
            assert_eq!(Column::from_name(c.name()), Some(*c));
        }
    }

    #[test]
    fn column_set_keeps_schema_order() {
        let set: ColumnSet = [Column::Status, Column::EventTime].into_iter().collect();
        let names: Vec<_> = set.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["event_time", "status"]);
        assert!(set
            .union(ColumnSet::required())
            .contains(Column::SourceOffset));
    }
}
