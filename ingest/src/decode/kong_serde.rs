//! Kong's JSON log format decoded with serde: the reference the scanning decoder
//! ([`super::kong`]) is checked against, field for field, by differential tests and fuzzing.
//!
//! Only the fields the canonical schema needs are declared; serde skips the rest (headers,
//! `tries`, route and service internals) without building values for them.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::de::{LooseFloat, LooseInt, LooseStr};
use crate::batch::{RawEvent, SourceFormat};

#[derive(Deserialize, Default)]
#[serde(default)]
struct KongRecord<'a> {
    started_at: LooseInt,
    #[serde(borrow)]
    client_ip: LooseStr<'a>,
    #[serde(borrow)]
    request: Option<Request<'a>>,
    response: Option<Response>,
    upstream_status: LooseInt,
    latencies: Option<Latencies>,
    #[serde(borrow)]
    service: Option<Named<'a>>,
    #[serde(borrow)]
    route: Option<Named<'a>>,
    #[serde(borrow)]
    consumer: Option<Consumer<'a>>,
    #[serde(borrow)]
    authenticated_entity: Option<Entity<'a>>,
    #[serde(borrow)]
    ai: Option<Ai<'a>>,
    /// The conventional custom field for the login name (`custom_fields_by_lua`), read in
    /// this pass so the default `--username-field username` costs nothing extra.
    #[serde(borrow)]
    username: LooseStr<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Request<'a> {
    #[serde(borrow)]
    method: LooseStr<'a>,
    #[serde(borrow)]
    uri: LooseStr<'a>,
    #[serde(borrow)]
    url: LooseStr<'a>,
    size: LooseInt,
    #[serde(borrow)]
    id: LooseStr<'a>,
    #[serde(borrow)]
    headers: Option<Headers<'a>>,
}

/// Kong lower-cases header names; a header sent twice is logged as an array and read as absent.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Headers<'a> {
    #[serde(borrow, rename = "user-agent")]
    user_agent: LooseStr<'a>,
    #[serde(borrow)]
    host: LooseStr<'a>,
    #[serde(borrow)]
    authorization: LooseStr<'a>,
    #[serde(borrow)]
    referer: LooseStr<'a>,
    #[serde(borrow, rename = "content-type")]
    content_type: LooseStr<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Response {
    status: LooseInt,
    size: LooseInt,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Latencies {
    request: LooseInt,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Named<'a> {
    #[serde(borrow)]
    name: LooseStr<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Consumer<'a> {
    #[serde(borrow)]
    username: LooseStr<'a>,
    #[serde(borrow)]
    id: LooseStr<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Entity<'a> {
    #[serde(borrow)]
    id: LooseStr<'a>,
}

/// Kong AI Gateway logs usage under `ai.<plugin>` (`ai-proxy` in 3.6-3.9, `proxy` later);
/// the first plugin entry that carries usage or meta is taken.
#[derive(Default)]
struct Ai<'a>(AiPlugin<'a>);

#[derive(Deserialize, Default)]
#[serde(default)]
struct AiPlugin<'a> {
    usage: Option<AiUsage>,
    #[serde(borrow)]
    meta: Option<AiMeta<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AiUsage {
    prompt_tokens: LooseInt,
    completion_tokens: LooseInt,
    total_tokens: LooseInt,
    cost: LooseFloat,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AiMeta<'a> {
    #[serde(borrow)]
    request_model: LooseStr<'a>,
    #[serde(borrow)]
    provider_name: LooseStr<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Ai<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ai<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("Kong's `ai` object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut found: Option<AiPlugin<'de>> = None;
                while map.next_key::<IgnoredAny>()?.is_some() {
                    if found.is_some() {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    // Entries without usage or meta (e.g. `payload`) are passed over.
                    if let AiEntry(Some(p)) = map.next_value()? {
                        if p.usage.is_some() || p.meta.is_some() {
                            found = Some(p);
                        }
                    }
                }
                Ok(Ai(found.unwrap_or_default()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Ai::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// One entry of `ai`: a plugin object, or anything else (skipped without buffering it).
struct AiEntry<'a>(Option<AiPlugin<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for AiEntry<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AiEntry<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                AiPlugin::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|p| AiEntry(Some(p)))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(AiEntry(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(AiEntry(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(AiEntry(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(AiEntry(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(AiEntry(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(AiEntry(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(AiEntry(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'a> KongRecord<'a> {
    fn into_raw(self) -> RawEvent<'a> {
        let req = self.request.unwrap_or_default();
        let headers = req.headers.unwrap_or_default();
        let resp = self.response.unwrap_or_default();
        let consumer = self.consumer.unwrap_or_default();
        let ai = self.ai.unwrap_or_default().0;
        let usage = ai.usage.unwrap_or_default();
        let meta = ai.meta.unwrap_or_default();
        let target = req.uri.0.or_else(|| req.url.0.map(|u| strip_origin(u)));
        RawEvent {
            format: SourceFormat::Kong,
            event_time_ms: self.started_at.0,
            time_rescaled: false,
            client_ip: self.client_ip.0,
            method: req.method.0,
            host: headers.host.0,
            target,
            // Kong's log serializer does not record the HTTP version.
            http_version: None,
            // Kong logs requests only (its method and path are always there).
            unparsed_request: None,
            status: resp.status.0,
            upstream_status: self.upstream_status.0,
            request_bytes: req.size.0,
            response_bytes: resp.size.0,
            latency_ms: self.latencies.and_then(|l| l.request.0),
            user_agent: headers.user_agent.0,
            referer: headers.referer.0,
            content_type: headers.content_type.0,
            consumer_username: consumer.username.0,
            consumer_id: consumer.id.0,
            authenticated_entity: self.authenticated_entity.and_then(|e| e.id.0),
            username: self.username.0,
            authorization: headers.authorization.0,
            service: self.service.and_then(|s| s.name.0),
            route_name: self.route.and_then(|r| r.name.0),
            request_id: req.id.0,
            ai_provider: meta.provider_name.0,
            ai_model: meta.request_model.0,
            ai_prompt_tokens: usage.prompt_tokens.0,
            ai_completion_tokens: usage.completion_tokens.0,
            ai_total_tokens: usage.total_tokens.0,
            ai_cost: usage.cost.0,
        }
    }
}

/// `http://host:8000/a?b` -> `/a?b`, for records that only carry `request.url`.
pub(crate) fn strip_origin(url: std::borrow::Cow<'_, str>) -> std::borrow::Cow<'_, str> {
    let Some(after_scheme) = url.find("://").map(|i| i + 3) else {
        return url;
    };
    let path_start = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    match url {
        std::borrow::Cow::Borrowed(s) => std::borrow::Cow::Borrowed(&s[path_start..]),
        std::borrow::Cow::Owned(s) => std::borrow::Cow::Owned(s[path_start..].to_owned()),
    }
}

/// Decodes one line of Kong JSON, handing each record to `emit`. Nothing is emitted unless
/// the whole line decodes, so a bad batch is dead-lettered whole rather than half-ingested.
pub fn decode_line<'a>(
    line: &'a str,
    emit: &mut dyn FnMut(RawEvent<'a>),
) -> Result<(), serde_json::Error> {
    // Dispatch on the first byte rather than an untagged enum: untagged buffers the whole
    // value and hides the real error behind "data did not match any variant".
    if line.trim_start().starts_with('[') {
        let batch: Vec<KongRecord<'a>> = serde_json::from_str(line)?;
        for rec in batch {
            emit(rec.into_raw());
        }
    } else {
        let rec: KongRecord<'a> = serde_json::from_str(line)?;
        emit(rec.into_raw());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(line: &str) -> Vec<RawEvent<'_>> {
        let mut out = Vec::new();
        decode_line(line, &mut |e| out.push(e)).expect("decodes");
        out
    }

    #[test]
    fn reads_nested_fields_and_string_upstream_status() {
        let line = r#"{"started_at":1726783839538,"client_ip":"10.0.0.1","upstream_status":"200",
            "request":{"method":"POST","uri":"/login?next=%2F","size":139,"id":"abc",
              "headers":{"user-agent":"curl/8","host":"api.example.com","authorization":"REDACTED","x":[1,2]}},
            "response":{"status":401,"size":12},"latencies":{"request":7,"kong":1},
            "service":{"name":"accounts"},"route":{"name":"login"},
            "consumer":{"username":"alice","id":"c1"},"authenticated_entity":{"id":"cred1"},
            "tries":[{"ip":"1.2.3.4"}]}"#;
        let ev = &decode_all(line)[0];
        assert_eq!(ev.event_time_ms, Some(1726783839538));
        assert_eq!(ev.target.as_deref(), Some("/login?next=%2F"));
        assert_eq!(ev.status, Some(401));
        assert_eq!(ev.upstream_status, Some(200));
        assert_eq!(ev.authorization.as_deref(), Some("REDACTED"));
        assert_eq!(ev.consumer_username.as_deref(), Some("alice"));
        assert_eq!(ev.authenticated_entity.as_deref(), Some("cred1"));
        assert_eq!(ev.service.as_deref(), Some("accounts"));
        assert_eq!(ev.latency_ms, Some(7));
    }

    #[test]
    fn reads_ai_gateway_usage_under_any_plugin_key() {
        let line = r#"{"started_at":1,"ai":{"payload":{"request":"hi"},"ai-proxy":{"usage":{"prompt_tokens":28,
            "completion_tokens":20,"total_tokens":48,"cost":0.0038},"meta":{"request_model":"command",
            "provider_name":"cohere"}}}}"#;
        let ev = &decode_all(line)[0];
        assert_eq!(ev.ai_total_tokens, Some(48));
        assert_eq!(ev.ai_cost, Some(0.0038));
        assert_eq!(ev.ai_model.as_deref(), Some("command"));
        assert_eq!(ev.ai_provider.as_deref(), Some("cohere"));
    }

    #[test]
    fn batch_arrays_and_url_fallback() {
        let line = r#"[{"started_at":1,"request":{"url":"http://h:8000/a/1?x=1"}},{"started_at":2,"consumer":null}]"#;
        let evs = decode_all(line);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].target.as_deref(), Some("/a/1?x=1"));
    }

    #[test]
    fn wrong_types_are_errors_and_emit_nothing() {
        let mut n = 0;
        let line = r#"[{"started_at":1},{"started_at":"yesterday"}]"#;
        assert!(decode_line(line, &mut |_| n += 1).is_err());
        assert_eq!(n, 0);
        assert!(decode_line(r#"{"started_at":1,"response":{"status":{}}}"#, &mut |_| {}).is_err());
        assert!(decode_line(r#"{"started_at":1,"request":{"#, &mut |_| {}).is_err());
    }
}
