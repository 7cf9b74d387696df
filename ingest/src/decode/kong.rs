//! Kong's JSON log format (file-log, http-log, tcp-log, kafka-log ...): one object per line,
//! or a JSON array of objects when http-log/kafka-log batch with `max_batch_size > 1`.
//!
//! Decoded with the field-picking scanner ([`super::scan`]): the fields the canonical schema
//! needs are read, everything else (headers, `tries`, service and route internals, payloads)
//! is skipped without being tokenised. [`super::kong_serde`] is the serde reference it is
//! checked against.

mod recent;

use recent::Part;

use super::kong_serde::strip_origin;
use super::scan::{Kind, Scan, ScanError};
use crate::batch::{RawEvent, SourceFormat};
use crate::{Column, ColumnSet};

/// Which optional parts of a Kong record are read. A part no decoded column needs is still
/// checked to be an object (or null) and to be well-formed JSON, but is skipped whole, bracket
/// to bracket, instead of key by key: `service` and `route` alone are two dozen keys of a
/// typical record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KongParts {
    /// `service.name`.
    pub service: bool,
    /// `route.name`.
    pub route: bool,
    /// `consumer.username`, `consumer.id`.
    pub consumer: bool,
    /// `authenticated_entity.id`.
    pub authenticated_entity: bool,
    /// `latencies.request`.
    pub latencies: bool,
    /// `ai.<plugin>.usage|meta`.
    pub ai: bool,
}

impl Default for KongParts {
    /// Every part.
    fn default() -> Self {
        KongParts {
            service: true,
            route: true,
            consumer: true,
            authenticated_entity: true,
            latencies: true,
            ai: true,
        }
    }
}

impl KongParts {
    /// The parts `columns` need.
    pub fn for_columns(columns: ColumnSet) -> Self {
        let any = |cs: &[Column]| cs.iter().any(|c| columns.contains(*c));
        KongParts {
            service: any(&[Column::Service]),
            route: any(&[Column::RouteName]),
            consumer: any(&[Column::ConsumerUsername, Column::ConsumerId]),
            authenticated_entity: any(&[Column::AuthenticatedEntity]),
            latencies: any(&[Column::LatencyMs]),
            ai: any(&[
                Column::AiProvider,
                Column::AiModel,
                Column::AiPromptTokens,
                Column::AiCompletionTokens,
                Column::AiTotalTokens,
                Column::AiCost,
            ]),
        }
    }
}

/// Decodes one line of Kong JSON, appending its records to `out`. Nothing is appended unless
/// the whole line decodes, so a bad batch is dead-lettered whole rather than half-ingested. Records are filled where they will stay (a record is several hundred bytes:
/// building it elsewhere and moving it costs a copy per record).
pub fn decode_into<'a>(
    line: &'a str,
    parts: &KongParts,
    out: &mut Vec<RawEvent<'a>>,
) -> Result<(), ScanError> {
    let first = out.len();
    let result = records(line, parts, out);
    if result.is_err() {
        out.truncate(first);
    }
    result
}

fn records<'a>(
    line: &'a str,
    parts: &KongParts,
    out: &mut Vec<RawEvent<'a>>,
) -> Result<(), ScanError> {
    let mut s = Scan::new(line);
    match s.kind()? {
        Kind::Object => {
            record(&mut s, parts, fresh(out))?;
            s.end()
        }
        Kind::Array => {
            s.open_array()?;
            let mut first = true;
            while s.next_element(first)? {
                first = false;
                record(&mut s, parts, fresh(out))?;
            }
            s.end()
        }
        Kind::Scalar => {
            Err(s.err("invalid type: expected a Kong record (a JSON object or array of objects)"))
        }
    }
}

/// A new, empty Kong record at the end of `out`.
fn fresh<'a, 'o>(out: &'o mut Vec<RawEvent<'a>>) -> &'o mut RawEvent<'a> {
    let at = out.len();
    out.push(RawEvent {
        format: SourceFormat::Kong,
        ..Default::default()
    });
    &mut out[at]
}

/// Enters an object; `false` for `null` (an absent part of the record).
fn object_or_null(s: &mut Scan<'_>, what: &str) -> Result<bool, ScanError> {
    if s.null() {
        return Ok(false);
    }
    match s.kind()? {
        Kind::Object => {
            s.open_object()?;
            Ok(true)
        }
        _ => Err(s.err(format!("invalid type: expected `{what}` to be an object"))),
    }
}

/// Calls `f` for each key of the object just entered; `f` consumes the value.
fn entries<'a>(
    s: &mut Scan<'a>,
    mut f: impl FnMut(&mut Scan<'a>, &str) -> Result<(), ScanError>,
) -> Result<(), ScanError> {
    let mut first = true;
    loop {
        // Compact keys (nearly all) without the general path's `Result` and `Cow`.
        if let Some(k) = s.compact_key(first) {
            f(s, k)?;
        } else {
            match s.key_general(first)? {
                Some(k) => f(s, &k)?,
                None => return Ok(()),
            }
        }
        first = false;
    }
}

/// Skips a part no column needs, after checking it is an object or null as when read.
fn skip_part(s: &mut Scan<'_>, what: &str, part: Part) -> Result<(), ScanError> {
    if s.null() {
        return Ok(());
    }
    match s.kind()? {
        Kind::Object => recent::skip(s, part),
        _ => Err(s.err(format!("invalid type: expected `{what}` to be an object"))),
    }
}

fn record<'a>(s: &mut Scan<'a>, parts: &KongParts, ev: &mut RawEvent<'a>) -> Result<(), ScanError> {
    if !object_or_null(s, "record")? {
        return Err(s.err("invalid type: null, expected a Kong record"));
    }
    let mut url = None;
    entries(s, |s, key| {
        match key {
            "started_at" => ev.event_time_ms = s.loose_int()?,
            "client_ip" => ev.client_ip = s.loose_str("a client address")?,
            "upstream_status" => ev.upstream_status = s.loose_int()?,
            "username" => ev.username = s.loose_str("a login name")?,
            "request" => {
                if object_or_null(s, "request")? {
                    entries(s, |s, key| {
                        match key {
                            "method" => ev.method = s.loose_str("a method")?,
                            "uri" => ev.target = s.loose_str("a request target")?,
                            "url" => url = s.loose_str("a URL")?,
                            "size" => ev.request_bytes = s.loose_int()?,
                            "id" => ev.request_id = s.loose_str("a request id")?,
                            "headers" => {
                                if object_or_null(s, "request.headers")? {
                                    entries(s, |s, key| {
                                        let slot = match key {
                                            "user-agent" => &mut ev.user_agent,
                                            "referer" => &mut ev.referer,
                                            "content-type" => &mut ev.content_type,
                                            "host" => &mut ev.host,
                                            "authorization" => &mut ev.authorization,
                                            _ => return s.skip(),
                                        };
                                        // A header sent twice is logged as an array: absent.
                                        if s.kind()? == Kind::Scalar {
                                            *slot = s.loose_str("a header value")?;
                                        } else {
                                            s.skip()?;
                                            *slot = None;
                                        }
                                        Ok(())
                                    })?;
                                }
                            }
                            _ => s.skip()?,
                        }
                        Ok(())
                    })?;
                }
            }
            "response" => {
                if object_or_null(s, "response")? {
                    entries(s, |s, key| {
                        match key {
                            "status" => ev.status = s.loose_int()?,
                            "size" => ev.response_bytes = s.loose_int()?,
                            _ => s.skip()?,
                        }
                        Ok(())
                    })?;
                }
            }
            "service" if !parts.service => skip_part(s, key, Part::Service)?,
            "route" if !parts.route => skip_part(s, key, Part::Route)?,
            "consumer" if !parts.consumer => skip_part(s, key, Part::Consumer)?,
            "authenticated_entity" if !parts.authenticated_entity => {
                skip_part(s, key, Part::AuthenticatedEntity)?
            }
            "latencies" if !parts.latencies => skip_part(s, key, Part::Latencies)?,
            "ai" if !parts.ai => skip_part(s, key, Part::Ai)?,
            "latencies" => {
                if object_or_null(s, "latencies")? {
                    entries(s, |s, key| {
                        match key {
                            "request" => ev.latency_ms = s.loose_int()?,
                            _ => s.skip()?,
                        }
                        Ok(())
                    })?;
                }
            }
            "service" | "route" => {
                let slot = if key == "service" {
                    &mut ev.service
                } else {
                    &mut ev.route_name
                };
                if object_or_null(s, key)? {
                    entries(s, |s, key| {
                        match key {
                            "name" => *slot = s.loose_str("a name")?,
                            _ => s.skip()?,
                        }
                        Ok(())
                    })?;
                }
            }
            "consumer" => {
                if object_or_null(s, "consumer")? {
                    entries(s, |s, key| {
                        match key {
                            "username" => ev.consumer_username = s.loose_str("a consumer name")?,
                            "id" => ev.consumer_id = s.loose_str("a consumer id")?,
                            _ => s.skip()?,
                        }
                        Ok(())
                    })?;
                }
            }
            "authenticated_entity" => {
                if object_or_null(s, "authenticated_entity")? {
                    entries(s, |s, key| {
                        match key {
                            "id" => ev.authenticated_entity = s.loose_str("an id")?,
                            _ => s.skip()?,
                        }
                        Ok(())
                    })?;
                }
            }
            "ai" => ai(s, ev)?,
            _ => s.skip()?,
        }
        Ok(())
    })?;
    if ev.target.is_none() {
        ev.target = url.map(strip_origin);
    }
    Ok(())
}

/// Kong AI Gateway logs usage under `ai.<plugin>` (`ai-proxy` in 3.6-3.9, `proxy` later);
/// the first plugin entry that carries usage or meta is taken.
fn ai<'a>(s: &mut Scan<'a>, ev: &mut RawEvent<'a>) -> Result<(), ScanError> {
    if s.null() {
        return Ok(());
    }
    if s.kind()? != Kind::Object {
        return Err(s.err("invalid type: expected `ai` to be an object"));
    }
    s.open_object()?;
    let mut found = false;
    entries(s, |s, _plugin| {
        if found || s.kind()? != Kind::Object {
            return s.skip();
        }
        s.open_object()?;
        let mut plugin = RawEvent::default();
        let mut has = false;
        entries(s, |s, key| match key {
            "usage" if object_or_null(s, "usage")? => {
                has = true;
                entries(s, |s, key| {
                    match key {
                        "prompt_tokens" => plugin.ai_prompt_tokens = s.loose_int()?,
                        "completion_tokens" => plugin.ai_completion_tokens = s.loose_int()?,
                        "total_tokens" => plugin.ai_total_tokens = s.loose_int()?,
                        "cost" => plugin.ai_cost = s.loose_float()?,
                        _ => s.skip()?,
                    }
                    Ok(())
                })
            }
            "meta" if object_or_null(s, "meta")? => {
                has = true;
                entries(s, |s, key| {
                    match key {
                        "request_model" => plugin.ai_model = s.loose_str("a model")?,
                        "provider_name" => plugin.ai_provider = s.loose_str("a provider")?,
                        _ => s.skip()?,
                    }
                    Ok(())
                })
            }
            "usage" | "meta" => Ok(()),
            _ => s.skip(),
        })?;
        if has {
            found = true;
            ev.ai_prompt_tokens = plugin.ai_prompt_tokens;
            ev.ai_completion_tokens = plugin.ai_completion_tokens;
            ev.ai_total_tokens = plugin.ai_total_tokens;
            ev.ai_cost = plugin.ai_cost;
            ev.ai_model = plugin.ai_model;
            ev.ai_provider = plugin.ai_provider;
        }
        Ok(())
    })
}
