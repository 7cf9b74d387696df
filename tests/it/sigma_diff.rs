//! Differential test: every SigmaHQ web rule gatewatch loads, compiled to SQL filters, selects
//! exactly the events that `rsigma-eval` (an independent Sigma evaluator over the same parsed
//! rules) matches, on random requests built from the rules' own values.

use std::collections::{BTreeMap, BTreeSet};

use gatewatch_generate::Rng;
use gatewatch_ingest::RawEvent;
use gatewatch_rules::{compile_set, SigmaOptions};
use rsigma_parser::{Detection, SigmaValue};
use serde_json::json;

use crate::sigma::{batch_of, rule_mask, sigmahq_files};

/// The string values a detection names, wildcards dropped: the fragments random requests are
/// made of, so that rules match often enough to be tested.
fn fragments(d: &Detection, out: &mut BTreeSet<String>) {
    match d {
        Detection::AllOf(items) => {
            for it in items {
                for v in &it.values {
                    if let SigmaValue::String(s) = v {
                        let t = s.original.replace(['*', '?'], "");
                        if !t.is_empty() && t.len() < 200 {
                            out.insert(t);
                        }
                    }
                }
            }
        }
        Detection::AnyOf(ds) | Detection::And(ds) => ds.iter().for_each(|d| fragments(d, out)),
        Detection::Keywords(vs) => {
            for v in vs {
                if let SigmaValue::String(s) = v {
                    out.insert(s.original.replace(['*', '?'], ""));
                }
            }
        }
        _ => {}
    }
}

fn pick<'a>(rng: &mut Rng, xs: &'a [String]) -> &'a str {
    &xs[rng.below(xs.len() as u64) as usize]
}

/// Flips the case of some ASCII letters: matching is case-insensitive except for `re`/`cased`.
fn jumble(rng: &mut Rng, s: &str) -> String {
    s.chars()
        .map(|c| {
            if rng.below(4) == 0 {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            } else {
                c
            }
        })
        .collect()
}

#[test]
fn compiled_sigma_filters_agree_with_rsigma_eval_on_random_requests() {
    let opts = SigmaOptions {
        proxy: true,
        include_deprecated: true,
        ..Default::default()
    };
    let files = sigmahq_files();
    let set = compile_set(files.clone(), &[], &opts).unwrap();
    let loaded: BTreeMap<String, usize> = set
        .rules
        .iter()
        .enumerate()
        // Detection rules only: a converted legacy aggregation is a correlation (its own tests).
        .filter(|(_, r)| r.spec.sql.is_none())
        .map(|(i, r)| (r.id().to_owned(), i))
        .collect();

    // The reference: rsigma-eval over the same files' rules, one engine per rule so that its
    // answer is per rule.
    let mut reference = BTreeMap::new();
    let mut pool = BTreeSet::new();
    for (_, text) in &files {
        let Ok(collection) = rsigma_parser::parse_sigma_yaml(text) else {
            continue;
        };
        for rule in &collection.rules {
            let Some(id) = rule.id.clone().filter(|id| loaded.contains_key(id)) else {
                continue;
            };
            for d in rule.detection.named.values() {
                fragments(d, &mut pool);
            }
            let mut engine = rsigma_eval::Engine::new();
            engine.add_rule(rule).unwrap();
            reference.insert(id, engine);
        }
    }
    assert_eq!(
        reference.len(),
        loaded.len(),
        "every loaded rule has a reference"
    );
    let pool: Vec<String> = pool.into_iter().collect();
    let browsers = vec![
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
            .to_owned(),
        "curl/8.5.0".to_owned(),
        String::new(),
    ];

    let mut rng = Rng::new(20261202);
    let methods = ["GET", "POST", "OPTIONS", "PUT"];
    let statuses = [200i64, 301, 401, 404, 500, 503];
    let mut events = Vec::new();
    let mut json_events = Vec::new();
    for i in 0..4000u32 {
        let mut target = String::from("/");
        for _ in 0..=rng.below(3) {
            let f = pick(&mut rng, &pool).to_owned();
            target.push_str(&jumble(&mut rng, &f));
        }
        let ua = if rng.below(3) == 0 {
            let f = pick(&mut rng, &pool).to_owned();
            jumble(&mut rng, &f)
        } else {
            pick(&mut rng, &browsers).to_owned()
        };
        // Referer: absent, a URL, or a rule value; Content-Type: absent or one of a few.
        let referer = match rng.below(3) {
            0 => None,
            1 => Some("https://shop.example/_layouts/SignOut.aspx".to_owned()),
            _ => {
                let f = pick(&mut rng, &pool).to_owned();
                Some(jumble(&mut rng, &f))
            }
        };
        let content_type = match rng.below(3) {
            0 => None,
            1 => Some("application/octet-stream"),
            _ => Some("application/json"),
        };
        let method = methods[rng.below(4) as usize];
        let status = statuses[rng.below(6) as usize];
        let ip = format!("10.0.{}.{}", i / 250, i % 250);
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (target.clone(), None),
        };
        let mut j = json!({
            "c-ip": ip, "cs-method": method, "cs-uri-query": target, "cs-uri": target,
            "c-uri": target, "cs-uri-stem": path, "sc-status": status,
            "cs-user-agent": ua, "c-useragent": ua,
        });
        if let Some(q) = query {
            j["c-uri-query"] = json!(q);
        }
        if let Some(r) = &referer {
            j["cs-referer"] = json!(r);
        }
        if let Some(c) = content_type {
            j["cs-content-type"] = json!(c);
        }
        if let Some(ext) = gatewatch_rules::functions::url_extension(&path) {
            j["c-uri-extension"] = json!(ext);
        }
        json_events.push(j);
        events.push(RawEvent {
            event_time_ms: Some(0),
            client_ip: Some(ip.into()),
            method: Some(method.into()),
            target: Some(target.into()),
            status: Some(status),
            user_agent: Some(ua.into()),
            referer: referer.map(Into::into),
            content_type: content_type.map(Into::into),
            ..Default::default()
        });
    }

    let full = batch_of(&events);
    let (mut disagreements, mut matches) = (Vec::new(), 0usize);
    for (id, &i) in &loaded {
        let rule = &set.rules[i];
        let mask = rule_mask(rule, &full);
        let engine = &reference[id];
        for (row, j) in json_events.iter().enumerate() {
            let ours = mask[row];
            let theirs = !engine
                .evaluate(&rsigma_eval::event::JsonEvent::borrow(j))
                .is_empty();
            matches += usize::from(theirs);
            if ours != theirs && disagreements.len() < 20 {
                disagreements.push(format!(
                    "{id} ({}): ours {ours}, rsigma-eval {theirs} on {j}",
                    rule.spec.title
                ));
            }
        }
    }
    eprintln!(
        "{} rules x {} events: {matches} reference matches",
        loaded.len(),
        events.len()
    );
    assert!(matches > 200, "the random requests exercise the rules");
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s):\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
