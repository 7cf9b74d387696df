//! `gatewatch rules test`: runs each rule's `[[tests]]` through a fresh engine holding only
//! that rule, and compares the alerts with the expectation.

use std::borrow::Cow;

use anyhow::{anyhow, bail, Result};
use gatewatch_engine::{Alert, Engine, EngineConfig};
use gatewatch_ingest::{
    Chunk, ChunkDecoder, ColumnSet, DecodeConfig, EventBatchBuilder, Provenance, RawEvent,
};
use gatewatch_model::duration::parse_positive_ms;
use gatewatch_rules::spec::{Expectation, RuleTest};
use gatewatch_rules::{CompiledRule, ParamOverride, RuleFiles, SigmaOptions};

/// Event time of `at = "0s"` in a test: 2026-01-01T00:00:00Z.
pub const TEST_EPOCH_MS: i64 = 1_767_225_600_000;

/// One test's outcome.
#[derive(Debug)]
pub struct TestOutcome {
    /// Rule file.
    pub origin: String,
    /// Rule id.
    pub rule_id: String,
    /// Test name.
    pub name: String,
    /// `None` on success, else what went wrong.
    pub failure: Option<String>,
}

fn text<'a>(v: &'a toml::Value, n: usize) -> Result<Cow<'a, str>> {
    match v {
        toml::Value::String(s) if s.contains("{n}") => {
            Ok(Cow::Owned(s.replace("{n}", &n.to_string())))
        }
        toml::Value::String(s) => Ok(Cow::Borrowed(s)),
        toml::Value::Integer(i) => Ok(Cow::Owned(i.to_string())),
        other => bail!("expected a string, got {other:?}"),
    }
}

fn int(v: &toml::Value) -> Result<i64> {
    match v {
        toml::Value::Integer(i) => Ok(*i),
        toml::Value::String(s) => s
            .parse()
            .map_err(|_| anyhow!("expected an integer, got {s:?}")),
        other => bail!("expected an integer, got {other:?}"),
    }
}

/// Expands one compact event (with `repeat`/`every`) into raw events with their event times.
fn expand(table: &toml::Table) -> Result<Vec<RawEvent<'_>>> {
    let at = match table.get("at") {
        Some(v) => match v.as_str() {
            Some("0s") | Some("0") => 0,
            Some(s) => parse_positive_ms(s).map_err(|e| anyhow!("at: {e}"))?,
            None => bail!("at: expected a duration such as \"90s\""),
        },
        None => 0,
    };
    let repeat = table
        .get("repeat")
        .map(int)
        .transpose()?
        .unwrap_or(1)
        .max(1) as usize;
    let every = match table.get("every").and_then(|v| v.as_str()) {
        Some(s) => parse_positive_ms(s).map_err(|e| anyhow!("every: {e}"))?,
        None => 0,
    };
    let mut out = Vec::with_capacity(repeat);
    for n in 0..repeat {
        let mut ev = RawEvent {
            event_time_ms: Some(TEST_EPOCH_MS + at + n as i64 * every),
            ..Default::default()
        };
        for (key, v) in table {
            let s = || text(v, n).map(Some);
            match key.as_str() {
                "at" | "repeat" | "every" => {}
                "client_ip" => ev.client_ip = s()?,
                "method" => ev.method = s()?,
                "host" => ev.host = s()?,
                "path" => ev.target = s()?,
                "user_agent" => ev.user_agent = s()?,
                "referer" => ev.referer = s()?,
                "content_type" => ev.content_type = s()?,
                "username" => ev.username = s()?,
                "consumer_username" => ev.consumer_username = s()?,
                "consumer_id" => ev.consumer_id = s()?,
                "authenticated_entity" => ev.authenticated_entity = s()?,
                "authorization" => ev.authorization = s()?,
                "service" => ev.service = s()?,
                "route_name" => ev.route_name = s()?,
                "request_id" => ev.request_id = s()?,
                "ai_provider" => ev.ai_provider = s()?,
                "ai_model" => ev.ai_model = s()?,
                "status" => ev.status = Some(int(v)?),
                "upstream_status" => ev.upstream_status = Some(int(v)?),
                "request_bytes" => ev.request_bytes = Some(int(v)?),
                "response_bytes" => ev.response_bytes = Some(int(v)?),
                "latency_ms" => ev.latency_ms = Some(int(v)?),
                "ai_prompt_tokens" => ev.ai_prompt_tokens = Some(int(v)?),
                "ai_completion_tokens" => ev.ai_completion_tokens = Some(int(v)?),
                "ai_total_tokens" => ev.ai_total_tokens = Some(int(v)?),
                "ai_cost" => ev.ai_cost = v.as_float().or_else(|| v.as_integer().map(|i| i as f64)),
                other => bail!("unknown event field {other:?} (columns: see `gatewatch schema`)"),
            }
        }
        out.push(ev);
    }
    Ok(out)
}

fn run_one(rule: CompiledRule, test: &RuleTest) -> Result<Vec<Alert>> {
    // The inventory is process-wide, as it is for `run`: install this test's, and none after.
    let spec = match &test.openapi {
        Some(text) => Some(
            gatewatch_rules::functions::ApiSpec::parse(&[("openapi".into(), text.clone())])
                .map_err(|e| anyhow!("test openapi: {e}"))?,
        ),
        None => None,
    };
    gatewatch_rules::functions::set_api_spec(spec);
    let result = run_events(rule, test);
    gatewatch_rules::functions::set_api_spec(None);
    result
}

fn run_events(rule: CompiledRule, test: &RuleTest) -> Result<Vec<Alert>> {
    let prov = Provenance {
        source: "rule-test".into(),
        partition: 0,
    };
    let mut builder = EventBatchBuilder::new(ColumnSet::all());
    let mut offset = 0;
    // Events happen at their `at`, whichever entry lists them: an entry written after another
    // may start earlier. Replayed in time order (ties in the order written), as a gateway logs
    // them; in the order written, the later entry's rows would fall behind the watermark.
    let mut events = Vec::new();
    for table in &test.events {
        events.extend(expand(table)?);
    }
    events.sort_by_key(|ev| ev.event_time_ms.unwrap_or(TEST_EPOCH_MS));
    for ev in &events {
        offset += 1;
        let t = ev.event_time_ms.unwrap_or(TEST_EPOCH_MS);
        builder.append(ev, t, &prov, offset);
    }
    let mut batches = vec![builder.finish()?];
    if let Some(lines) = &test.lines {
        let mut decoder = ChunkDecoder::new(
            DecodeConfig::default().with_username_field("username"),
            ColumnSet::all(),
            1 << 20,
        );
        let chunk = Chunk {
            source: "rule-test".into(),
            partition: 0,
            first_line: offset as u64 + 1,
            data: lines.as_bytes().to_vec(),
            oversized: vec![],
            offsets: None,
            keys: None,
        };
        let decoded = decoder.decode(&chunk, 0)?;
        if let Some(m) = decoded.malformed.first() {
            bail!(
                "test line {} does not decode: {}",
                m.offset - offset,
                m.error
            );
        }
        batches.push(decoded.batch);
    }
    let errors = rule.errors.clone();
    let mut engine = Engine::new(vec![rule], EngineConfig::default());
    let mut alerts = Vec::new();
    for b in &batches {
        alerts.extend(engine.process(b)?);
    }
    alerts.extend(engine.finish()?);
    let stats = engine.stats();
    if let Some(n) = stats.script_errors_by_rule.values().next() {
        bail!("{n} script error(s) while running the test");
    }
    if errors.rows() + errors.windows() > 0 {
        bail!(
            "the rule could not evaluate {} row(s) and {} window(s) of the test (see the log): guard the operation (NULLIF(x, 0), TRY_CAST)",
            errors.rows(),
            errors.windows()
        );
    }
    // A row the rule never saw would make the test say nothing about it.
    let late: u64 = stats.late_by_rule.values().sum();
    if late > 0 || stats.time_rejected > 0 {
        bail!(
            "{} row(s) of the test were never windowed ({late} behind the watermark, {} dated \
             far ahead): `lines` are replayed after `events`, in the order written; date them \
             in order",
            late + stats.time_rejected,
            stats.time_rejected
        );
    }
    Ok(alerts)
}

fn json_eq(toml: &toml::Value, json: &serde_json::Value) -> bool {
    match (toml, json) {
        (toml::Value::Integer(a), serde_json::Value::Number(b)) => {
            b.as_i64() == Some(*a) || b.as_f64() == Some(*a as f64)
        }
        (toml::Value::Float(a), serde_json::Value::Number(b)) => {
            b.as_f64().is_some_and(|b| (b - a).abs() < 1e-9)
        }
        (toml::Value::String(a), serde_json::Value::String(b)) => a == b,
        (toml::Value::Boolean(a), serde_json::Value::Bool(b)) => a == b,
        _ => false,
    }
}

fn check(expect: &Expectation, alerts: &[Alert]) -> Option<String> {
    if alerts.len() != expect.alerts {
        let got: Vec<_> = alerts
            .iter()
            .map(|a| {
                format!(
                    "{} @ {}",
                    a.entity,
                    gatewatch_engine::alert::format_rfc3339(a.window_start)
                )
            })
            .collect();
        return Some(format!(
            "expected {} alert(s), got {}: {got:?}",
            expect.alerts,
            alerts.len()
        ));
    }
    for a in alerts {
        if let Some(e) = &expect.entity {
            if &a.entity != e {
                return Some(format!("expected entity {e:?}, got {:?}", a.entity));
            }
        }
        if let Some(s) = &expect.severity {
            if &a.severity != s {
                return Some(format!("expected severity {s:?}, got {:?}", a.severity));
            }
        }
        if let Some(min) = expect.min_event_count {
            if a.event_count < min {
                return Some(format!(
                    "expected event_count >= {min}, got {}",
                    a.event_count
                ));
            }
        }
        for (k, want) in &expect.fields {
            match a.fields.get(k) {
                Some(got) if json_eq(want, got) => {}
                got => {
                    return Some(format!(
                        "expected field {k} = {want:?}, got {}",
                        got.map_or("nothing".into(), |g| g.to_string())
                    ))
                }
            }
        }
    }
    None
}

/// Runs every test of every rule in `files`. A rule that does not compile is a failure of
/// each of its tests (and of a pseudo-test when it has none).
pub fn run_tests(
    files: &RuleFiles,
    overrides: &[ParamOverride],
    sigma: &SigmaOptions,
) -> Vec<TestOutcome> {
    let parsed = gatewatch_rules::parse_files(files, sigma, overrides);
    let mut out: Vec<TestOutcome> = parsed
        .errors
        .iter()
        .map(|e| TestOutcome {
            origin: match e {
                gatewatch_rules::RuleError::Parse { origin, .. }
                | gatewatch_rules::RuleError::Invalid { origin, .. } => origin.clone(),
                _ => String::new(),
            },
            rule_id: "?".into(),
            name: "(parse)".into(),
            failure: Some(e.to_string()),
        })
        .collect();
    for (origin, text, spec) in &parsed.specs {
        for test in &spec.tests {
            let own = test.param_overrides(&spec.id);
            let overrides: Vec<ParamOverride> = overrides.iter().cloned().chain(own).collect();
            let failure = match CompiledRule::compile(spec.clone(), origin, text, &overrides) {
                Ok(rule) => match run_one(rule, test) {
                    Ok(alerts) => check(&test.expect, &alerts),
                    Err(e) => Some(e.to_string()),
                },
                Err(e) => Some(e.to_string()),
            };
            out.push(TestOutcome {
                origin: origin.clone(),
                rule_id: spec.id.clone(),
                name: test.name.clone(),
                failure,
            });
        }
    }
    out
}
