//! From decoded records to Arrow: [`RawEvent`] is one record borrowed from its input line,
//! [`EventBatchBuilder`] appends records column by column, filling only projected columns.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, Float64Builder, Int32Builder, Int64Builder, ListBuilder,
    PrimitiveArray, PrimitiveBuilder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use crate::route;
use crate::schema::{Column, ColumnSet, UTC};

/// A string borrowed from the input line when it has no escapes, owned otherwise.
pub type Str<'a> = Cow<'a, str>;

/// The gateway format a record was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceFormat {
    /// Kong's JSON log (file-log, http-log, kafka-log, ...).
    #[default]
    Kong,
    /// Envoy's JSON access log.
    Envoy,
    /// NGINX or Apache combined/common log format.
    Nginx,
}

impl SourceFormat {
    /// Every format, in declaration order (`format as usize` indexes this).
    pub const ALL: [SourceFormat; 3] =
        [SourceFormat::Kong, SourceFormat::Envoy, SourceFormat::Nginx];

    /// The name stored in the `source_format` column.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Kong => "kong",
            SourceFormat::Envoy => "envoy",
            SourceFormat::Nginx => "nginx",
        }
    }
}

/// One decoded record, borrowing from its input line. Field meanings are those of
/// [`Column`]; `target` is the request target with its query string, split by the builder.
#[derive(Debug, Default, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct RawEvent<'a> {
    pub format: SourceFormat,
    pub event_time_ms: Option<i64>,
    /// The event time was out of range as logged and rescaled (s, µs or ns read as ms).
    pub time_rescaled: bool,
    pub client_ip: Option<Str<'a>>,
    pub method: Option<Str<'a>>,
    pub host: Option<Str<'a>>,
    pub target: Option<Str<'a>>,
    /// The request line's protocol as logged (`HTTP/1.1`).
    pub http_version: Option<Str<'a>>,
    /// What was received instead of a complete request line (see
    /// [`crate::decode::request::RequestLine::unparsed`]).
    pub unparsed_request: Option<Str<'a>>,
    pub status: Option<i64>,
    pub upstream_status: Option<i64>,
    pub request_bytes: Option<i64>,
    pub response_bytes: Option<i64>,
    pub latency_ms: Option<i64>,
    pub user_agent: Option<Str<'a>>,
    pub referer: Option<Str<'a>>,
    pub content_type: Option<Str<'a>>,
    pub consumer_username: Option<Str<'a>>,
    pub consumer_id: Option<Str<'a>>,
    pub authenticated_entity: Option<Str<'a>>,
    pub username: Option<Str<'a>>,
    pub authorization: Option<Str<'a>>,
    pub service: Option<Str<'a>>,
    pub route_name: Option<Str<'a>>,
    pub request_id: Option<Str<'a>>,
    pub ai_provider: Option<Str<'a>>,
    pub ai_model: Option<Str<'a>>,
    pub ai_prompt_tokens: Option<i64>,
    pub ai_completion_tokens: Option<i64>,
    pub ai_total_tokens: Option<i64>,
    pub ai_cost: Option<f64>,
}

impl RawEvent<'_> {
    /// The same record owning its strings, for lines decoded out of a temporary buffer
    /// (an unescaped or joined container log line).
    pub fn into_owned(self) -> RawEvent<'static> {
        fn own(s: Option<Str<'_>>) -> Option<Str<'static>> {
            s.map(|s| Cow::Owned(s.into_owned()))
        }
        RawEvent {
            format: self.format,
            event_time_ms: self.event_time_ms,
            time_rescaled: self.time_rescaled,
            client_ip: own(self.client_ip),
            method: own(self.method),
            host: own(self.host),
            target: own(self.target),
            http_version: own(self.http_version),
            unparsed_request: own(self.unparsed_request),
            status: self.status,
            upstream_status: self.upstream_status,
            request_bytes: self.request_bytes,
            response_bytes: self.response_bytes,
            latency_ms: self.latency_ms,
            user_agent: own(self.user_agent),
            referer: own(self.referer),
            content_type: own(self.content_type),
            consumer_username: own(self.consumer_username),
            consumer_id: own(self.consumer_id),
            authenticated_entity: own(self.authenticated_entity),
            username: own(self.username),
            authorization: own(self.authorization),
            service: own(self.service),
            route_name: own(self.route_name),
            request_id: own(self.request_id),
            ai_provider: own(self.ai_provider),
            ai_model: own(self.ai_model),
            ai_prompt_tokens: self.ai_prompt_tokens,
            ai_completion_tokens: self.ai_completion_tokens,
            ai_total_tokens: self.ai_total_tokens,
            ai_cost: self.ai_cost,
        }
    }
}

enum ColumnBuilder {
    Timestamp(TimestampMillisecondBuilder),
    Utf8(StringBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    List(ListBuilder<StringBuilder>),
}

impl ColumnBuilder {
    fn for_column(column: Column, capacity: usize) -> Self {
        use arrow::datatypes::DataType;
        match column.data_type() {
            DataType::Timestamp(..) => {
                ColumnBuilder::Timestamp(TimestampMillisecondBuilder::with_capacity(capacity))
            }
            DataType::Int32 => ColumnBuilder::Int32(Int32Builder::with_capacity(capacity)),
            DataType::Int64 => ColumnBuilder::Int64(Int64Builder::with_capacity(capacity)),
            DataType::Float64 => ColumnBuilder::Float64(Float64Builder::with_capacity(capacity)),
            DataType::List(_) => ColumnBuilder::List(ListBuilder::new(StringBuilder::new())),
            _ => ColumnBuilder::Utf8(StringBuilder::with_capacity(capacity, capacity * 16)),
        }
    }

    /// The array built so far. The builder restarts with room for as many rows (and text
    /// bytes) as this array has, and an eighth more: Arrow's builders restart empty, and
    /// growing them again by doubling copied every column several times per batch (without
    /// the margin, each batch a little larger than the last copied its text once more).
    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Timestamp(b) => Arc::new(restart(b).with_timezone(UTC)),
            ColumnBuilder::Utf8(b) => {
                let a = b.finish();
                let bytes = a.value_data().len();
                *b = StringBuilder::with_capacity(with_margin(a.len()), with_margin(bytes));
                Arc::new(a)
            }
            ColumnBuilder::Int32(b) => Arc::new(restart(b)),
            ColumnBuilder::Int64(b) => Arc::new(restart(b)),
            ColumnBuilder::Float64(b) => Arc::new(restart(b)),
            ColumnBuilder::List(b) => Arc::new(b.finish()),
        }
    }
}

/// The array `b` built, `b` restarted with room for as many values and a margin.
fn restart<T: ArrowPrimitiveType>(b: &mut PrimitiveBuilder<T>) -> PrimitiveArray<T> {
    let a = b.finish();
    *b = PrimitiveBuilder::with_capacity(with_margin(a.len()));
    a
}

/// `n` and an eighth more: the next batch's room.
fn with_margin(n: usize) -> usize {
    n.saturating_add(n / 8)
}

/// Where the rows being appended come from; copied into the provenance columns.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// Input name (file path, `stdin`, topic).
    pub source: Arc<str>,
    /// Kafka partition, 0 for files.
    pub partition: i32,
}

/// Appends [`RawEvent`]s to Arrow builders for the projected columns only, and turns them
/// into a [`RecordBatch`] whose schema is `projection.schema()`.
pub struct EventBatchBuilder {
    projection: ColumnSet,
    columns: Vec<(Column, ColumnBuilder)>,
    needs_template: bool,
    template: String,
    id_ranges: Vec<Range<usize>>,
    receive_time_ms: i64,
    rows: usize,
}

impl EventBatchBuilder {
    /// A builder for the given columns plus the ones every batch carries ([`ColumnSet::required`]).
    pub fn new(projection: ColumnSet) -> Self {
        let projection = projection.union(ColumnSet::required());
        let columns = projection
            .iter()
            .map(|c| (c, ColumnBuilder::for_column(c, 1024)))
            .collect();
        let needs_template = [Column::RouteTemplate, Column::ObjectIds, Column::ObjectId]
            .into_iter()
            .any(|c| projection.contains(c));
        EventBatchBuilder {
            projection,
            columns,
            needs_template,
            template: String::new(),
            id_ranges: Vec::new(),
            receive_time_ms: 0,
            rows: 0,
        }
    }

    /// The columns this builder fills.
    pub fn projection(&self) -> ColumnSet {
        self.projection
    }

    /// Rows appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was appended since the last finish.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Sets the `receive_time` of the rows appended from now on (read once per chunk, not per row).
    pub fn set_receive_time(&mut self, ms: i64) {
        self.receive_time_ms = ms;
    }

    /// Appends one record. `event_time_ms` must already be checked present by the decoder.
    pub fn append(
        &mut self,
        ev: &RawEvent<'_>,
        event_time_ms: i64,
        prov: &Provenance,
        offset: i64,
    ) {
        let (path, query) = match ev.target.as_deref() {
            Some(t) => route::split_target(ev.method.as_deref(), t),
            None => (None, None),
        };
        if self.needs_template {
            self.id_ranges.clear();
            if let Some(p) = path {
                let base = p.as_ptr() as usize;
                let ranges = &mut self.id_ranges;
                route::template_into(p, &mut self.template, |id, _| {
                    let start = id.as_ptr() as usize - base;
                    ranges.push(start..start + id.len());
                });
            }
        }
        for (column, builder) in &mut self.columns {
            match builder {
                ColumnBuilder::Timestamp(b) => b.append_value(match column {
                    Column::EventTime => event_time_ms,
                    _ => self.receive_time_ms,
                }),
                ColumnBuilder::Utf8(b) => {
                    let value: Option<&str> = match column {
                        Column::SourceFormat => Some(ev.format.as_str()),
                        Column::ClientIp => ev.client_ip.as_deref(),
                        Column::Method => ev.method.as_deref(),
                        Column::Host => ev.host.as_deref(),
                        Column::Path => path,
                        Column::Query => query,
                        Column::RequestTarget => ev.target.as_deref(),
                        Column::HttpVersion => ev.http_version.as_deref(),
                        Column::UnparsedRequest => ev.unparsed_request.as_deref(),
                        Column::RouteTemplate => path.map(|_| self.template.as_str()),
                        Column::ObjectId => match (path, self.id_ranges.last()) {
                            (Some(p), Some(r)) => Some(&p[r.clone()]),
                            _ => None,
                        },
                        Column::UserAgent => ev.user_agent.as_deref(),
                        Column::Referer => ev.referer.as_deref(),
                        Column::ContentType => ev.content_type.as_deref(),
                        Column::ConsumerUsername => ev.consumer_username.as_deref(),
                        Column::ConsumerId => ev.consumer_id.as_deref(),
                        Column::AuthenticatedEntity => ev.authenticated_entity.as_deref(),
                        Column::Username => ev.username.as_deref(),
                        Column::Authorization => ev.authorization.as_deref(),
                        Column::Service => ev.service.as_deref(),
                        Column::RouteName => ev.route_name.as_deref(),
                        Column::RequestId => ev.request_id.as_deref(),
                        Column::AiProvider => ev.ai_provider.as_deref(),
                        Column::AiModel => ev.ai_model.as_deref(),
                        Column::SourceName => Some(&prov.source),
                        _ => None,
                    };
                    b.append_option(value);
                }
                ColumnBuilder::Int32(b) => match column {
                    Column::SourcePartition => b.append_value(prov.partition),
                    Column::Status => {
                        b.append_option(ev.status.and_then(|s| i32::try_from(s).ok()))
                    }
                    Column::UpstreamStatus => {
                        b.append_option(ev.upstream_status.and_then(|s| i32::try_from(s).ok()))
                    }
                    _ => b.append_null(),
                },
                ColumnBuilder::Int64(b) => b.append_option(match column {
                    Column::SourceOffset => Some(offset),
                    Column::RequestBytes => ev.request_bytes,
                    Column::ResponseBytes => ev.response_bytes,
                    Column::LatencyMs => ev.latency_ms,
                    Column::AiPromptTokens => ev.ai_prompt_tokens,
                    Column::AiCompletionTokens => ev.ai_completion_tokens,
                    Column::AiTotalTokens => ev.ai_total_tokens,
                    _ => None,
                }),
                ColumnBuilder::Float64(b) => b.append_option(ev.ai_cost),
                ColumnBuilder::List(b) => {
                    match column {
                        Column::ObjectIds => {
                            if let Some(p) = path {
                                for r in &self.id_ranges {
                                    b.values().append_value(&p[r.clone()]);
                                }
                            }
                            b.append(path.is_some());
                        }
                        _ => {
                            // Column::QueryKeys, the only other list column.
                            if let Some(q) = query {
                                for key in route::query_keys(q) {
                                    b.values().append_value(key);
                                }
                            }
                            b.append(path.is_some());
                        }
                    }
                }
            }
        }
        self.rows += 1;
    }

    /// Returns the rows appended so far as a batch and starts a new one.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(|(_, b)| b.finish()).collect();
        self.rows = 0;
        RecordBatch::try_new(self.projection.schema(), arrays)
    }
}
