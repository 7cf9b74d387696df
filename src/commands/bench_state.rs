//! `gatewatch bench`: window state per tracked entity, measured on the engine alone.

use anyhow::Result;
use gatewatch_ingest::ColumnSet;

/// Window state per tracked entity for the counting rules (and `login-success-after-failures`,
/// grouped by address and user name), at 1k, 100k and 1M entities: each
/// entity (a client address) fails three logins with three usernames, asks for three
/// consecutive order ids (404) and three unknown routes, all within one minute so every window
/// is open when the state is measured. Aggregate state and evidence are reported apart, and for
/// `bola-id-walking` the ids `longest_id_run` keeps (every value: not a running summary).
pub fn entity_state_figures() -> Result<()> {
    use gatewatch_ingest::{EventBatchBuilder, Provenance, RawEvent};
    const RULES: [&str; 5] = [
        "credential-stuffing-single-source",
        "password-spray",
        "endpoint-discovery",
        "bola-id-walking",
        "login-success-after-failures",
    ];
    println!(
        "window state per tracked entity (counting rules; aggregates / with evidence samples):"
    );
    for entities in [1_000u64, 100_000, 1_000_000] {
        for samples in [5usize, 0] {
            let rules: Vec<_> = gatewatch_rules::load_builtin(&[])?
                .into_iter()
                .filter(|r| RULES.contains(&r.id()))
                .collect();
            let cfg = gatewatch_engine::EngineConfig {
                evidence_samples: samples,
                limits: gatewatch_engine::guard::StateLimits {
                    max_groups: usize::MAX,
                    max_bytes: usize::MAX / 4,
                    ..Default::default()
                },
                ..Default::default()
            };
            let mut engine = gatewatch_engine::Engine::new(rules, cfg);
            let prov = Provenance {
                source: "bench".into(),
                partition: 0,
            };
            let mut builder = EventBatchBuilder::new(ColumnSet::all());
            let t0 = 1_767_225_600_000i64;
            let mut offset = 0i64;
            for e in 0..entities {
                let ip = format!("10.{}.{}.{}", e >> 16, (e >> 8) & 255, e & 255);
                for k in 0..3u64 {
                    let t = t0 + ((e * 9 + k) % 50_000) as i64;
                    let user = format!("user{}", (e * 3 + k) % 1_000_000);
                    let order = format!("/api/v1/orders/{}", 1000 + k);
                    let route = format!("/api/v1/x{k}/y");
                    for (method, path, status, username) in [
                        ("POST", "/api/v1/login", 401, Some(user.as_str())),
                        ("GET", order.as_str(), 404, None),
                        ("GET", route.as_str(), 404, None),
                    ] {
                        let ev = RawEvent {
                            client_ip: Some(ip.as_str().into()),
                            method: Some(method.into()),
                            target: Some(path.into()),
                            status: Some(status),
                            username: username.map(Into::into),
                            user_agent: Some("bench-agent/1.0".into()),
                            ..Default::default()
                        };
                        offset += 1;
                        builder.append(&ev, t, &prov, offset);
                    }
                }
                if builder.len() >= 8192 {
                    engine.process(&builder.finish()?)?;
                }
            }
            engine.process(&builder.finish()?)?;
            let state = engine.state_by_operator();
            let mut parts = Vec::new();
            for id in RULES {
                let s = state.get(id).copied().unwrap_or_default();
                let g = s.groups.max(1) as f64;
                let kept = if s.kept_values_bytes > 0 {
                    format!(
                        " (counts {:.0} B + ids kept {:.0} B)",
                        (s.bytes - s.evidence_bytes - s.kept_values_bytes) as f64 / g,
                        s.kept_values_bytes as f64 / g
                    )
                } else {
                    String::new()
                };
                parts.push(format!(
                    "{}: {:.0}/{:.0} B{kept}",
                    id.split('-').next().unwrap_or(id),
                    (s.bytes - s.evidence_bytes) as f64 / g,
                    s.bytes as f64 / g
                ));
            }
            println!(
                "  {entities:>9} entities, {samples} evidence samples: {}",
                parts.join("  ")
            );
        }
    }
    Ok(())
}
