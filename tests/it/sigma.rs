//! Sigma detection rules: SigmaHQ's web rules load (or are skipped with a reason), and the
//! specification's matching semantics hold where implementations commonly go wrong.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::Array;
use arrow::record_batch::RecordBatch;
use gatewatch_ingest::{ColumnSet, EventBatchBuilder, Provenance, RawEvent};
use gatewatch_rules::{compile_set, RuleFiles, SigmaOptions};

/// SigmaHQ's 150 web-server and proxy rules, as copied into the repository (the rule
/// directory is read recursively, as `--rules` reads it).
pub fn sigmahq_files() -> RuleFiles {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/sigma/sigmahq");
    gatewatch_rules::dir_files(&root).unwrap()
}

#[test]
fn every_sigmahq_web_rule_loads_or_is_skipped_with_a_precise_reason() {
    let files = sigmahq_files();
    assert_eq!(files.len(), 150);
    for (label, loaded, opts) in [
        ("default", 86, SigmaOptions::default()),
        (
            "proxy+deprecated",
            146,
            SigmaOptions {
                proxy: true,
                include_deprecated: true,
                ..Default::default()
            },
        ),
    ] {
        let set = compile_set(files.clone(), &[], &opts)
            .unwrap_or_else(|e| panic!("{label}: a SigmaHQ rule fails to compile: {e}"));
        assert_eq!(
            set.rules.len() + set.skipped.len(),
            150,
            "{label}: every rule is either loaded or skipped"
        );
        // Pinned: a change of the field mapping or of the skip rules shows here.
        assert_eq!(set.rules.len(), loaded, "{label}: rules loaded");
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for s in &set.skipped {
            assert!(!s.reason.is_empty() && !s.rule_id.is_empty(), "{s}");
            let head = s.reason.split(':').next().unwrap_or_default().to_owned();
            *reasons.entry(head).or_default() += 1;
        }
        eprintln!(
            "{label}: {} loaded, {} skipped: {reasons:#?}",
            set.rules.len(),
            set.skipped.len()
        );
        for r in &set.rules {
            assert!(r.spec.alert_fields.contains_key("author"), "{}", r.id());
        }
    }
}

/// The rows of `events` that a Sigma rule's detection selects.
fn selects(detection: &str, events: &[RawEvent<'static>]) -> Vec<bool> {
    let yaml = format!(
        "title: t\nid: t\nlogsource:\n    category: webserver\ndetection:\n{detection}\nlevel: low\n"
    );
    let set = compile_set(vec![("t.yml".into(), yaml)], &[], &SigmaOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    rule_mask(&set.rules[0], &batch_of(events))
}

/// The events as one batch with every column.
pub fn batch_of(events: &[RawEvent<'static>]) -> RecordBatch {
    let mut b = EventBatchBuilder::new(ColumnSet::all());
    let prov = Provenance {
        source: "t".into(),
        partition: 0,
    };
    for (i, e) in events.iter().enumerate() {
        b.append(e, 0, &prov, i as i64);
    }
    b.finish().unwrap()
}

/// The rows of `full` (every column) that the rule's row filter keeps.
pub fn rule_mask(rule: &gatewatch_rules::CompiledRule, full: &RecordBatch) -> Vec<bool> {
    let idx: Vec<usize> = rule
        .schema
        .fields()
        .iter()
        .map(|f| full.schema().index_of(f.name()).unwrap())
        .collect();
    match rule.filter_mask(&full.project(&idx).unwrap()).unwrap() {
        Some(mask) => (0..mask.len())
            .map(|i| mask.is_valid(i) && mask.value(i))
            .collect(),
        None => vec![true; full.num_rows()],
    }
}

fn req(target: &str) -> RawEvent<'static> {
    RawEvent {
        event_time_ms: Some(0),
        client_ip: Some("192.0.2.1".to_owned().into()),
        method: Some("GET".into()),
        target: Some(target.to_owned().into()),
        status: Some(200),
        user_agent: Some("Mozilla/5.0".into()),
        ..Default::default()
    }
}

fn with(mut e: RawEvent<'static>, f: impl FnOnce(&mut RawEvent<'static>)) -> RawEvent<'static> {
    f(&mut e);
    e
}

#[test]
fn strings_match_case_insensitively_and_whole_unless_a_modifier_says_otherwise() {
    let ev = [
        req("/Admin/Login.PHP"),
        req("/admin/login.php.bak"),
        req("/x/admin/login.php"),
    ];
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-stem: '/admin/login.php'\n    condition: sel",
            &ev
        ),
        [true, false, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-stem|startswith: '/ADMIN/'\n    condition: sel",
            &ev
        ),
        [true, true, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-stem|endswith: 'login.php'\n    condition: sel",
            &ev
        ),
        [true, false, true]
    );
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-stem|contains: 'LOGIN'\n    condition: sel",
            &ev
        ),
        [true, true, true]
    );
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-stem|contains|cased: 'Login'\n    condition: sel",
            &ev
        ),
        [true, false, false]
    );
}

/// `cs-version` is the request line's protocol (`http_version`); a format that does not log it
/// (Kong) leaves it absent, so a `not` selection holds there.
#[test]
fn cs_version_matches_the_logged_protocol() {
    let v = |p: Option<&'static str>| with(req("/"), |e| e.http_version = p.map(Into::into));
    let ev = [v(Some("HTTP/1.0")), v(Some("HTTP/1.1")), v(None)];
    assert_eq!(
        selects(
            "    sel:\n        cs-version: 'HTTP/1.0'\n    condition: sel",
            &ev
        ),
        [true, false, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        cs-version|startswith: 'HTTP/1.'\n    condition: not sel",
            &ev
        ),
        [false, false, true]
    );
}

#[test]
fn wildcards_and_their_escapes_and_like_metacharacters_are_literal_where_they_should_be() {
    let ev = [
        req("/a*b"),
        req("/aXXb"),
        req("/a?b"),
        req("/aXb"),
        req("/100%_done"),
        req("/100Xydone"),
        req(r"/c\d"),
    ];
    let on = |value: &str| {
        selects(
            &format!("    sel:\n        cs-uri-query: '{value}'\n    condition: sel"),
            &ev,
        )
    };
    let (t, f) = (true, false);
    // `*` and `?` are wildcards.
    assert_eq!(on("/a*b"), [t, t, t, t, f, f, f]);
    assert_eq!(on("/a?b"), [t, f, t, t, f, f, f]);
    // `\*` and `\?` are the characters themselves.
    assert_eq!(on(r"/a\*b"), [t, f, f, f, f, f, f]);
    assert_eq!(on(r"/a\?b"), [f, f, t, f, f, f, f]);
    // LIKE's `%` and `_` are plain characters in Sigma.
    assert_eq!(on("/100%_done"), [f, f, f, f, t, f, f]);
    // A backslash before an ordinary character is a backslash; `\\` is one backslash.
    assert_eq!(on(r"/c\d"), [f, f, f, f, f, f, t]);
    assert_eq!(on(r"/c\\d"), [f, f, f, f, f, f, t]);
}

#[test]
fn re_is_case_sensitive_and_unanchored_with_flags() {
    let ev = [req("/x/UNION/select"), req("/x/union/select")];
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-query|re: 'union/s'\n    condition: sel",
            &ev
        ),
        [false, true]
    );
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-query|re|i: 'union/s'\n    condition: sel",
            &ev
        ),
        [true, true]
    );
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-query|re: '^/x'\n    condition: sel",
            &ev
        ),
        [true, true]
    );
}

#[test]
fn all_cidr_exists_and_numeric_comparisons() {
    let ev = [
        with(req("/a?x=union+select"), |e| e.status = Some(500)),
        with(req("/a?x=union"), |e| {
            e.client_ip = Some("10.1.2.3".to_owned().into());
            e.status = Some(404);
        }),
        with(req("/b"), |e| e.user_agent = None),
    ];
    assert_eq!(
        selects(
            "    sel:\n        cs-uri-query|contains|all: ['union', 'select']\n    condition: sel",
            &ev
        ),
        [true, false, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        c-ip|cidr: '10.0.0.0/8'\n    condition: sel",
            &ev
        ),
        [false, true, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        c-useragent|exists: false\n    condition: sel",
            &ev
        ),
        [false, false, true]
    );
    assert_eq!(
        selects(
            "    sel:\n        sc-status|gte: 500\n    condition: sel",
            &ev
        ),
        [true, false, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        sc-status|lt: 300\n    condition: sel",
            &ev
        ),
        [false, false, true]
    );
}

#[test]
fn a_status_number_matches_string_patterns() {
    let ev = [
        with(req("/"), |e| e.status = Some(200)),
        with(req("/"), |e| e.status = Some(204)),
        with(req("/"), |e| e.status = Some(302)),
    ];
    assert_eq!(
        selects(
            "    sel:\n        sc-status|contains: '20'\n    condition: sel",
            &ev
        ),
        [true, true, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        sc-status: '204'\n    condition: sel",
            &ev
        ),
        [false, true, false]
    );
    assert_eq!(
        selects(
            "    sel:\n        sc-status: [200, 302]\n    condition: sel",
            &ev
        ),
        [true, false, true]
    );
}

#[test]
fn null_means_absent_not_empty_and_an_absent_field_satisfies_not() {
    let ev = [
        with(req("/"), |e| e.user_agent = None),
        with(req("/"), |e| e.user_agent = Some("".into())),
        req("/"),
    ];
    assert_eq!(
        selects(
            "    sel:\n        c-useragent: null\n    condition: sel",
            &ev
        ),
        [true, false, false]
    );
    assert_eq!(
        selects("    sel:\n        c-useragent: ''\n    condition: sel", &ev),
        [false, true, false]
    );
    // `not` of a pattern on an absent field holds: the selection does not match that event.
    assert_eq!(
        selects(
            "    sel:\n        c-useragent|contains: 'mozilla'\n    condition: not sel",
            &ev
        ),
        [true, true, false]
    );
}

#[test]
fn conditions_quantifiers_lists_of_maps_and_keywords() {
    let ev = [
        with(req("/wp-login.php"), |e| e.method = Some("POST".into())),
        req("/wp-login.php"),
        with(req("/shell?cmd=${jndi:ldap://x}"), |e| {
            e.user_agent = Some("curl".into())
        }),
        with(req("/"), |e| e.user_agent = Some("${JNDI:ldap://y}".into())),
    ];
    let d = "    selection_uri:\n        cs-uri-stem: '/wp-login.php'\n    selection_post:\n        cs-method: POST\n    _aside:\n        cs-method: GET\n";
    assert_eq!(
        selects(&format!("{d}    condition: all of selection_*"), &ev),
        [true, false, false, false]
    );
    assert_eq!(
        selects(&format!("{d}    condition: 1 of selection_*"), &ev),
        [true, true, false, false]
    );
    // `them` leaves out identifiers starting with `_`.
    assert_eq!(
        selects(&format!("{d}    condition: all of them"), &ev),
        [true, false, false, false]
    );
    assert_eq!(
        selects(
            &format!("{d}    condition: selection_uri and not (selection_post or _aside)"),
            &ev
        ),
        [false, false, false, false]
    );
    // A list of maps ORs them; several keys of one map AND them.
    assert_eq!(
        selects(
            "    sel:\n        - cs-method: POST\n          cs-uri-stem: '/nope'\n        - c-useragent: curl\n    condition: sel",
            &ev
        ),
        [false, false, true, false]
    );
    // Keywords search every text field, as substrings.
    assert_eq!(
        selects(
            "    keywords:\n        - '${jndi:'\n    condition: keywords",
            &ev
        ),
        [false, false, true, true]
    );
    assert_eq!(
        selects(
            "    keywords:\n        '|all':\n            - 'jndi'\n            - 'cmd='\n    condition: keywords",
            &ev
        ),
        [false, false, true, false]
    );
}
