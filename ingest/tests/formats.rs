//! The log shapes gateways really emit, read from real lines collected from public projects
//! (`tests/fixtures/formats/*/SOURCE.md` names each source and licence), hand-written edge
//! cases, and a property: every line a decoder accepts gives back its essentials.

use std::path::PathBuf;
use std::sync::Arc;

use gatewatch_ingest::decode::{container, decode_line, DecodeConfig, DecodeError, Format};
use gatewatch_ingest::route::split_target;
use gatewatch_ingest::source::Chunk;
use gatewatch_ingest::{ChunkDecoder, Column, ColumnSet, RawEvent};
use proptest::prelude::*;
use serde_json::Value;

/// The fixture folder of the checkout running the test. Cargo sets `CARGO_MANIFEST_DIR` at run
/// time too; the compile-time value may name another clone sharing the target directory (cargo
/// reuses a test binary built there when nothing it depends on changed).
fn fixtures() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("../tests/fixtures/formats")
}

fn decode(cfg: &DecodeConfig, line: &str) -> Result<Vec<RawEvent<'static>>, DecodeError> {
    let mut out = Vec::new();
    decode_line(cfg, line.as_bytes(), &mut out)?;
    Ok(out.into_iter().map(RawEvent::into_owned).collect())
}

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(&rfc3339.replace('z', "Z"))
        .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
        .timestamp_millis()
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// Every fixture line decodes under `--format auto` to the expected essentials, or, when the
/// expected record has neither a method nor a status (a container line that is not an access
/// log), is rejected with a reason; envelopes unwrap to the expected stream and message.
#[test]
fn real_lines_from_public_projects_decode_as_expected() {
    let cfg = DecodeConfig::default();
    let mut checked = 0;
    for dir in std::fs::read_dir(fixtures()).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let input = ["lines.log", "records.ndjson"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.exists())
            .unwrap();
        let input = std::fs::read(input).unwrap();
        let expected = std::fs::read_to_string(dir.join("expected.jsonl")).unwrap();
        let lines: Vec<&[u8]> = input
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let expected: Vec<Value> = expected
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), expected.len(), "{}", dir.display());
        for (line, exp) in lines.iter().zip(&expected) {
            let shown = String::from_utf8_lossy(line);
            let at = format!("{}: {shown}", dir.display());
            if let (Some(msg), Ok(l)) = (exp.get("message"), std::str::from_utf8(line)) {
                let env = container::unwrap(l).expect(&at).expect(&at);
                assert_eq!(Some(env.message.as_ref()), msg.as_str(), "{at}");
                assert_eq!(Some(env.stream.as_ref()), exp["stream"].as_str(), "{at}");
                if let Some(p) = exp.get("partial") {
                    assert_eq!(Some(env.partial), p.as_bool(), "{at}");
                }
            }
            let mut out = Vec::new();
            let result = decode_line(&cfg, line, &mut out);
            if exp["method"].is_null() && exp["status"].is_null() {
                let err = result.expect_err(&at);
                assert!(!err.to_string().is_empty());
                continue;
            }
            result.unwrap_or_else(|e| panic!("{at}\n  {e}"));
            assert_eq!(out.len(), 1, "{at}");
            let ev = &out[0];
            assert_eq!(
                ev.event_time_ms,
                Some(ms(exp["time"].as_str().unwrap())),
                "{at}"
            );
            assert_eq!(
                ev.client_ip.as_deref().map(str::to_owned),
                text(&exp["client_ip"]),
                "{at}"
            );
            assert_eq!(
                ev.method.as_deref().map(str::to_owned),
                text(&exp["method"]),
                "{at}"
            );
            let (path, query) = match ev.target.as_deref() {
                Some(t) => split_target(ev.method.as_deref(), t),
                None => (None, None),
            };
            assert_eq!(path.map(str::to_owned), text(&exp["path"]), "{at}");
            assert_eq!(query.map(str::to_owned), text(&exp["query"]), "{at}");
            assert_eq!(ev.status, exp["status"].as_i64(), "{at}");
            assert_eq!(
                ev.user_agent.as_deref().map(str::to_owned),
                text(&exp["user_agent"]),
                "{at}"
            );
            assert_eq!(
                ev.host.as_deref().map(str::to_owned),
                text(&exp["host"]),
                "{at}"
            );
            if let Some(c) = exp.get("upstream_cluster") {
                assert_eq!(ev.service.as_deref().map(str::to_owned), text(c), "{at}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} access-log lines checked");
}

#[test]
fn envoy_gateway_origin_path_and_contour_timestamp_are_envoy() {
    let cfg = DecodeConfig::default();
    let eg = decode(
        &cfg,
        r#"{"start_time":"2025-03-08T02:25:32.588Z","method":"GET","x-envoy-origin-path":"/get?a=1","response_code":500,"downstream_remote_address":"192.168.65.4:45050"}"#,
    )
    .unwrap();
    assert_eq!(eg[0].target.as_deref(), Some("/get?a=1"));
    let contour = decode(
        &cfg,
        r#"{"@timestamp":"2024-02-06T15:18:17.437Z","authority":"example.projectcontour.io","method":"GET","path":"/","response_code":503,"downstream_remote_address":"103.67.2.26:5000"}"#,
    )
    .unwrap();
    assert_eq!(contour[0].format.as_str(), "envoy");
    assert_eq!(contour[0].client_ip.as_deref(), Some("103.67.2.26"));
    assert_eq!(
        contour[0].host.as_deref(),
        Some("example.projectcontour.io")
    );
}

#[test]
fn kong_upstream_status_lists_keep_the_record() {
    let cfg = DecodeConfig::default();
    let ev = decode(
        &cfg,
        r#"{"started_at":1767225601000,"client_ip":"10.0.0.1","upstream_status":"502 : 200","response":{"status":200}}"#,
    )
    .unwrap();
    assert_eq!(ev[0].upstream_status, Some(200));
    assert_eq!(ev[0].client_ip.as_deref(), Some("10.0.0.1"));
}

#[test]
fn auto_explains_what_it_tried() {
    let cfg = DecodeConfig::default();
    let err = decode(&cfg, r#"[2022-01-01T00:00:00.000Z] "GET / HTTP/1.1" x"#).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("auto: text starting with [time]: envoy text;"),
        "{msg}"
    );
    assert!(msg.contains("envoy default: expected"), "{msg}");
    let err = decode(&cfg, "hello world").unwrap_err().to_string();
    assert!(
        err.starts_with("auto: text: nginx; nginx combined: "),
        "{err}"
    );
    assert!(err.contains("at byte"), "{err}");
    let err = decode(&cfg, r#"{"client_ip":"1.2.3.4"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("JSON without started_at"), "{err}");
}

#[test]
fn absolute_uris_and_connect_targets_are_normalised_for_every_decoder() {
    let cfg = DecodeConfig::default();
    for line in [
        r#"1.2.3.4 - - [01/Jan/2026:00:00:01 +0000] "GET http://victim:80/admin?x=1 HTTP/1.1" 404 0 "-" "-""#,
        r#"[2026-01-01T00:00:01.000Z] "GET http://victim:80/admin?x=1 HTTP/1.1" 404 - 0 0 1 - "1.2.3.4" "-" "-" "victim" "-""#,
        r#"{"start_time":"2026-01-01T00:00:01Z","method":"GET","path":"http://victim:80/admin?x=1","response_code":404}"#,
    ] {
        let ev = &decode(&cfg, line).unwrap()[0];
        let t = ev.target.as_deref().unwrap();
        assert_eq!(t, "http://victim:80/admin?x=1", "raw target kept: {line}");
        assert_eq!(
            split_target(ev.method.as_deref(), t),
            (Some("/admin"), Some("x=1"))
        );
    }
    let ev = &decode(
        &cfg,
        r#"1.2.3.4 - - [01/Jan/2026:00:00:01 +0000] "CONNECT victim:443 HTTP/1.1" 405 0 "-" "-""#,
    )
    .unwrap()[0];
    assert_eq!(
        split_target(ev.method.as_deref(), ev.target.as_deref().unwrap()),
        (None, None)
    );
}

#[test]
fn custom_formats_from_the_command_line() {
    let cfg = DecodeConfig {
        format: Format::Nginx,
        ..Default::default()
    }
    .with_nginx_format(r#"$host $remote_addr [$time_local] "$request" $status "$http_user_agent""#)
    .unwrap();
    let ev = &decode(
        &cfg,
        r#"api.example 203.0.113.7 [01/Jan/2026:00:00:01 +0000] "GET /v1/users/7 HTTP/1.1" 200 "curl/8""#,
    )
    .unwrap()[0];
    assert_eq!(
        (ev.host.as_deref(), ev.client_ip.as_deref()),
        (Some("api.example"), Some("203.0.113.7"))
    );
    let err = decode(&cfg, "nope").unwrap_err().to_string();
    assert!(err.starts_with("nginx custom: expected"), "{err}");

    let apache = DecodeConfig::default()
        .with_nginx_format(r#"%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\""#)
        .unwrap();
    let ev = &decode(
        &apache,
        r#"198.51.100.4 - - [01/Jan/2026:00:00:01 +0000] "POST /login HTTP/1.1" 401 10 "-" "hydra""#,
    )
    .unwrap()[0];
    assert_eq!(ev.user_agent.as_deref(), Some("hydra"));

    let envoy = DecodeConfig::default()
        .with_envoy_format(r#"%START_TIME% %DOWNSTREAM_REMOTE_ADDRESS% %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE%"#)
        .unwrap();
    let ev = &decode(&envoy, "2026-01-01T00:00:01.000Z 10.1.1.1:555 GET /x 200");
    // No `[`: the line is not sniffed as Envoy text, so `--format envoy` is needed.
    assert!(ev.is_err());
    let envoy = DecodeConfig {
        format: Format::Envoy,
        ..envoy
    };
    let ev = &decode(&envoy, "2026-01-01T00:00:01.000Z 10.1.1.1:555 GET /x 200").unwrap()[0];
    assert_eq!(ev.client_ip.as_deref(), Some("10.1.1.1"));
    assert!(DecodeConfig::default()
        .with_nginx_format("$remote_addr$status")
        .is_err());
}

fn chunk(data: &str) -> Chunk {
    Chunk {
        source: Arc::from("test"),
        partition: 0,
        first_line: 1,
        data: data.as_bytes().to_vec(),
        offsets: None,
        keys: None,
        oversized: Vec::new(),
    }
}

#[test]
fn cri_partial_lines_are_joined_and_bounded() {
    let access = r#"10.0.0.9 - - [01/Jan/2026:00:00:01 +0000] "GET /api/orders?page=2 HTTP/1.1" 200 5 "-" "curl/8""#;
    let (a, b) = access.split_at(40);
    let data = format!(
        "2026-01-01T00:00:01.1Z stdout P {a}\n2026-01-01T00:00:01.2Z stdout F {b}\n\
         {{\"log\":\"{}\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-01T00:00:02Z\"}}\n",
        access.replace('"', "\\\"")
    );
    let mut dec = ChunkDecoder::new(DecodeConfig::default(), ColumnSet::all(), 1 << 20);
    let out = dec.decode(&chunk(&data), 0).unwrap();
    assert!(out.malformed.is_empty(), "{:?}", out.malformed);
    assert_eq!(out.batch.num_rows(), 2);
    let paths = out
        .batch
        .column(out.batch.schema().index_of(Column::Path.name()).unwrap());
    let paths = paths
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .unwrap();
    assert_eq!(paths.value(0), "/api/orders");
    assert_eq!(paths.value(1), "/api/orders");

    // Pieces beyond --max-line-bytes are dead-lettered as one long line, not buffered.
    let mut small = ChunkDecoder::new(DecodeConfig::default(), ColumnSet::all(), 64);
    let out = small.decode(&chunk(&data), 0).unwrap();
    assert!(
        matches!(out.malformed[0].error, DecodeError::TooLong { .. }),
        "{:?}",
        out.malformed
    );
    // A partial line with no end in the input is reported, not silently dropped.
    let out = dec
        .decode(&chunk(&format!("2026-01-01T00:00:01.1Z stdout P {a}\n")), 0)
        .unwrap();
    assert_eq!(out.malformed.len(), 1);
    assert!(out.malformed[0].error.to_string().contains("partial lines"));
}

#[derive(Debug, Clone)]
struct Essentials {
    secs: i64,
    client: String,
    method: &'static str,
    path: String,
    query: Option<String>,
    status: i64,
    agent: String,
}

fn essentials() -> impl Strategy<Value = Essentials> {
    (
        946_684_800i64..4_102_444_799,
        prop_oneof![
            (any::<[u8; 4]>()).prop_map(|o| std::net::Ipv4Addr::from(o).to_string()),
            (any::<[u16; 8]>()).prop_map(|o| std::net::Ipv6Addr::from(o).to_string()),
        ],
        prop::sample::select(vec![
            "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS",
        ]),
        "(/[A-Za-z0-9._~%-]{0,12}){1,5}",
        prop::option::of("[A-Za-z0-9=&%._-]{1,20}"),
        100i64..600,
        "[A-Za-z][ -!#-\\[\\]-~]{0,40}",
    )
        .prop_map(
            |(secs, client, method, path, query, status, agent)| Essentials {
                secs,
                client,
                method,
                path,
                query,
                status,
                agent: agent.trim_end().to_owned(),
            },
        )
}

fn render(e: &Essentials, shape: usize) -> (String, DecodeConfig) {
    let t = chrono::DateTime::from_timestamp(e.secs, 0).unwrap();
    let local = t.format("%d/%b/%Y:%H:%M:%S +0000");
    let iso = t.format("%Y-%m-%dT%H:%M:%S.000Z");
    let target = match &e.query {
        Some(q) => format!("{}?{q}", e.path),
        None => e.path.clone(),
    };
    let (m, ua, ip, st) = (e.method, &e.agent, &e.client, e.status);
    let auto = DecodeConfig::default();
    match shape {
        0 => (format!(r#"{ip} - - [{local}] "{m} {target} HTTP/1.1" {st} 12 "-" "{ua}""#), auto),
        1 => (format!(r#"api.example:443 {ip} - - [{local}] "{m} {target} HTTP/1.1" {st} 12 "-" "{ua}""#), auto),
        2 => (format!(r#"[{iso}] "{m} {target} HTTP/1.1" {st} - 0 12 3 - "{ip}" "{ua}" "id" "host" "-""#), auto),
        3 => (format!(
            r#"[{iso}] "{m} {target} HTTP/1.1" {st} - via_upstream - "-" 0 12 3 2 "-" "{ua}" "id" "host" "10.0.0.1:80" outbound|80||svc 10.0.0.2:1 10.0.0.3:80 [{ip}]:5000 - default"#
        ), auto),
        4 => (format!(r#"{iso} stdout F {ip} - - [{local}] "{m} {target} HTTP/1.1" {st} 12 "-" "{ua}""#), auto),
        5 => {
            let inner = format!(r#"[{iso}] "{m} {target} HTTP/1.1" {st} - 0 12 3 - "{ip}" "{ua}" "id" "host" "-""#);
            let log = serde_json::to_string(&format!("{inner}\n")).unwrap();
            (format!(r#"{{"log":{log},"stream":"stdout","time":"{iso}"}}"#), auto)
        }
        _ => (
            format!(r#"{ip}|{local}|{m}|{target}|{st}|{ua}"#),
            DecodeConfig::default()
                .with_nginx_format("$remote_addr|$time_local|$request_method|$request_uri|$status|$http_user_agent")
                .unwrap(),
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Any line a decoder accepts round-trips its essentials, in every shape.
    #[test]
    fn accepted_lines_round_trip_their_essentials(e in essentials(), shape in 0usize..7) {
        let (line, cfg) = render(&e, shape);
        let evs = decode(&cfg, &line).map_err(|err| TestCaseError::fail(format!("{line}\n{err}")))?;
        prop_assert_eq!(evs.len(), 1);
        let ev = &evs[0];
        prop_assert_eq!(ev.event_time_ms, Some(e.secs * 1000), "{}", line);
        prop_assert_eq!(ev.client_ip.as_deref(), Some(e.client.as_str()), "{}", line);
        prop_assert_eq!(ev.method.as_deref(), Some(e.method), "{}", line);
        let (path, query) = split_target(ev.method.as_deref(), ev.target.as_deref().unwrap_or(""));
        prop_assert_eq!(path, Some(e.path.as_str()), "{}", line);
        prop_assert_eq!(query, e.query.as_deref(), "{}", line);
        prop_assert_eq!(ev.status, Some(e.status), "{}", line);
        prop_assert_eq!(ev.user_agent.as_deref(), Some(e.agent.as_str()).filter(|a| *a != "-"), "{}", line);
    }
}
