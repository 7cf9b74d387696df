//! Decoders on real Kong records and hand-written Envoy / NGINX lines, through the same
//! chunk decoder the pipeline uses, checked column by column.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int32Type, Int64Type, TimestampMillisecondType};
use gatewatch_ingest::{Chunk, ChunkDecoder, ColumnSet, DecodeConfig, Format};

use crate::support::fixture;

fn decode(format: Format, text: &str) -> (RecordBatch, usize) {
    let cfg = DecodeConfig {
        format,
        ..Default::default()
    }
    .with_username_field("username");
    let mut d = ChunkDecoder::new(cfg, ColumnSet::all(), 1 << 20);
    let chunk = Chunk {
        source: "t".into(),
        partition: 0,
        first_line: 1,
        data: text.as_bytes().to_vec(),
        oversized: vec![],
        offsets: None,
        keys: None,
    };
    let out = d.decode(&chunk, 42).unwrap();
    (out.batch, out.malformed.len())
}

fn s<'a>(b: &'a RecordBatch, col: &str, row: usize) -> Option<&'a str> {
    let a = b.column_by_name(col).unwrap().as_string::<i32>();
    a.is_valid(row).then(|| a.value(row))
}

fn i(b: &RecordBatch, col: &str, row: usize) -> Option<i64> {
    let a = b.column_by_name(col).unwrap();
    if a.is_null(row) {
        return None;
    }
    match a.data_type() {
        arrow::datatypes::DataType::Int32 => Some(a.as_primitive::<Int32Type>().value(row) as i64),
        _ => Some(a.as_primitive::<Int64Type>().value(row)),
    }
}

fn t(b: &RecordBatch, row: usize) -> i64 {
    b.column_by_name("event_time")
        .unwrap()
        .as_primitive::<TimestampMillisecondType>()
        .value(row)
}

#[test]
fn kong_3_8_sample_record() {
    let text = std::fs::read_to_string(fixture("kong/kong-3.8.ndjson")).unwrap();
    let (b, bad) = decode(Format::Kong, &text);
    assert_eq!((b.num_rows(), bad), (1, 0));
    assert_eq!(t(&b, 0), 1726783839538);
    assert_eq!(s(&b, "client_ip", 0), Some("192.168.65.1"));
    assert_eq!(s(&b, "method", 0), Some("GET"));
    assert_eq!(s(&b, "host", 0), Some("localhost:8000"));
    assert_eq!(s(&b, "path", 0), Some("/example-route"));
    assert_eq!(s(&b, "route_template", 0), Some("/example-route"));
    assert_eq!(i(&b, "status", 0), Some(200));
    assert_eq!(
        i(&b, "upstream_status", 0),
        Some(200),
        "Kong logs upstream_status as a string"
    );
    assert_eq!(i(&b, "request_bytes", 0), Some(139));
    assert_eq!(i(&b, "response_bytes", 0), Some(9982));
    assert_eq!(i(&b, "latency_ms", 0), Some(173));
    assert_eq!(s(&b, "user_agent", 0), Some("HTTPie/3.2.3"));
    assert_eq!(s(&b, "service", 0), Some("example_service"));
    assert_eq!(s(&b, "route_name", 0), Some("example_route"));
    assert_eq!(
        s(&b, "request_id", 0),
        Some("2f6946328ffc4946b8c9120704a4a155")
    );
    assert_eq!(s(&b, "source_format", 0), Some("kong"));
    assert_eq!(s(&b, "consumer_username", 0), None);
    assert_eq!(i(&b, "source_offset", 0), Some(1));
}

#[test]
fn kong_pretty_sample_compacted_and_batched_as_http_log_sends_it() {
    let pretty = std::fs::read_to_string(fixture("kong/kong-3.8.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&pretty).unwrap();
    let one = serde_json::to_string(&v).unwrap();
    // http-log/kafka-log with max_batch_size > 1 send a JSON array.
    let batch = format!("[{one},{one}]\n{one}\n");
    let (b, bad) = decode(Format::Auto, &batch);
    assert_eq!((b.num_rows(), bad), (3, 0));
    assert_eq!(
        i(&b, "source_offset", 1),
        Some(1),
        "both records of the array come from line 1"
    );
    assert_eq!(i(&b, "source_offset", 2), Some(2));
}

#[test]
fn kong_record_with_consumer_and_authenticated_entity() {
    let pretty = std::fs::read_to_string(fixture("kong/kong-2.2.1-with-consumer.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&pretty).unwrap();
    let (b, bad) = decode(Format::Kong, &serde_json::to_string(&v).unwrap());
    assert_eq!((b.num_rows(), bad), (1, 0));
    assert_eq!(s(&b, "consumer_username", 0), Some("foo"));
    assert_eq!(
        s(&b, "consumer_id", 0),
        Some("ae974d6c-0f8a-4dc5-b701-fa0aa38592bd")
    );
    assert_eq!(
        s(&b, "authenticated_entity", 0),
        Some("c62c1455-9b1d-4f2d-8797-509ba83b8ae8")
    );
    assert_eq!(s(&b, "path", 0), Some("/log"));
    assert_eq!(i(&b, "latency_ms", 0), Some(515));
}

#[test]
fn kong_authorization_stays_redacted_and_route_is_templated() {
    let line = r#"{"started_at":1767225601000,"client_ip":"1.2.3.4","request":{"method":"GET","uri":"/api/v1/users/1042/orders/9f86d081-884c-4d63-a5b9-6f9c2e3f1a2b?expand=items&page=2","headers":{"authorization":"REDACTED"}},"response":{"status":200}}"#;
    let (b, _) = decode(Format::Kong, line);
    assert_eq!(s(&b, "authorization", 0), Some("REDACTED"));
    assert_eq!(
        s(&b, "route_template", 0),
        Some("/api/v1/users/{id}/orders/{uuid}")
    );
    assert_eq!(
        s(&b, "object_id", 0),
        Some("9f86d081-884c-4d63-a5b9-6f9c2e3f1a2b")
    );
    let ids = b
        .column_by_name("object_ids")
        .unwrap()
        .as_list::<i32>()
        .value(0);
    let ids: Vec<_> = ids.as_string::<i32>().iter().flatten().collect();
    assert_eq!(ids, ["1042", "9f86d081-884c-4d63-a5b9-6f9c2e3f1a2b"]);
    let keys = b
        .column_by_name("query_keys")
        .unwrap()
        .as_list::<i32>()
        .value(0);
    let keys: Vec<_> = keys.as_string::<i32>().iter().flatten().collect();
    assert_eq!(keys, ["expand", "page"]);
}

#[test]
fn envoy_and_nginx_lines_in_one_auto_input() {
    let text = [
        r#"{"start_time":"2024-05-01T12:00:00.500Z","method":"POST","path":"/auth/token","response_code":401,"bytes_received":12,"bytes_sent":0,"duration":4,"user_agent":"curl/8.5","request_id":"abc","authority":"api.example.com","downstream_remote_address":"203.0.113.9:40000","upstream_cluster":"auth","route_name":"token"}"#,
        r#"198.51.100.4 - alice [01/May/2024:12:00:01 +0000] "GET /api/v1/orders/77?x=1 HTTP/1.1" 404 19 "https://shop.example/" "Mozilla/5.0""#,
        r#"198.51.100.5 - - [01/May/2024:14:00:02 +0200] "GET /health HTTP/1.1" 200 2"#,
    ]
    .join("\n");
    let (b, bad) = decode(Format::Auto, &text);
    assert_eq!((b.num_rows(), bad), (3, 0));
    assert_eq!(s(&b, "source_format", 0), Some("envoy"));
    assert_eq!(t(&b, 0), 1714564800500);
    assert_eq!(s(&b, "client_ip", 0), Some("203.0.113.9"));
    assert_eq!(s(&b, "host", 0), Some("api.example.com"));
    assert_eq!(i(&b, "status", 0), Some(401));
    assert_eq!(s(&b, "service", 0), Some("auth"));
    assert_eq!(s(&b, "source_format", 1), Some("nginx"));
    assert_eq!(s(&b, "username", 1), Some("alice"));
    assert_eq!(s(&b, "route_template", 1), Some("/api/v1/orders/{id}"));
    assert_eq!(t(&b, 1), 1714564801000);
    assert_eq!(t(&b, 2), 1714564802000, "the +0200 offset is applied");
    assert_eq!(
        s(&b, "user_agent", 2),
        None,
        "common log format has no user agent"
    );
}

#[test]
fn projection_decodes_only_requested_columns() {
    let text = std::fs::read_to_string(fixture("kong/kong-3.8.ndjson")).unwrap();
    let projection: ColumnSet = [gatewatch_ingest::Column::Status].into_iter().collect();
    let mut d = ChunkDecoder::new(DecodeConfig::default(), projection, 1 << 20);
    let chunk = Chunk {
        source: "t".into(),
        partition: 0,
        first_line: 1,
        data: text.into_bytes(),
        oversized: vec![],
        offsets: None,
        keys: None,
    };
    let b = d.decode(&chunk, 0).unwrap().batch;
    let names: Vec<_> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        [
            "event_time",
            "status",
            "source_name",
            "source_partition",
            "source_offset"
        ]
    );
}

#[test]
fn malformed_lines_are_reported_with_their_line_and_the_rest_decodes() {
    let text = [
        r#"{"started_at":1767225601000,"client_ip":"1.1.1.1"}"#,
        r#"{"started_at":1000,"client_ip":"#,
        "",
        r#"{"started_at":"noon"}"#,
        "not a log line at all",
        r#"{"started_at":1767225602000,"client_ip":"2.2.2.2"}"#,
    ]
    .join("\n");
    let cfg = DecodeConfig {
        format: Format::Auto,
        ..Default::default()
    };
    let mut d = ChunkDecoder::new(cfg, ColumnSet::all(), 1 << 20);
    let chunk = Chunk {
        source: "f.log".into(),
        partition: 0,
        first_line: 10,
        data: text.into_bytes(),
        oversized: vec![],
        offsets: None,
        keys: None,
    };
    let out = d.decode(&chunk, 0).unwrap();
    assert_eq!(out.batch.num_rows(), 2);
    let lines: Vec<_> = out.malformed.iter().map(|m| m.offset).collect();
    assert_eq!(
        lines,
        [11, 13, 14],
        "the blank line 12 is skipped, not malformed"
    );
    assert!(out.malformed[0].error.to_string().contains("EOF"));
    let reason = out.malformed[2].error.to_string();
    assert!(
        reason.starts_with("auto: text: nginx; nginx combined: ") && reason.contains("at byte"),
        "the reason names the format tried and where it stopped: {reason}"
    );
    assert_eq!(out.lines, 6);
}

/// The scanning Kong decoder against the serde reference: on real records, on generated
/// traffic with every scenario (AI gateway usage, consumers, batches), and on those records
/// mutated at random (truncated, bytes changed, types swapped), whatever serde accepts the
/// scanner accepts with the same fields.
#[test]
fn the_kong_scanner_agrees_with_the_serde_reference() {
    use gatewatch_ingest::fuzz::kong_matches_reference;
    use std::io::Read;
    let text = std::fs::read_to_string(crate::support::fixture("kong/kong-3.8.ndjson")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut data = String::new();
    gatewatch_generate::GeneratorReader::new(gatewatch_generate::GenConfig {
        duration_ms: 3 * 60_000,
        benign_rate: 5.0,
        ..Default::default()
    })
    .read_to_string(&mut data)
    .unwrap();
    lines.extend(data.lines().take(3000).map(str::to_owned));
    let batch = format!("[{},{}]", lines[0], lines[1]);
    lines.push(batch);
    let mut rng = gatewatch_generate::Rng::new(5);
    let swaps: &[(&str, &str)] = &[
        ("\"status\":401", "\"status\":\"401\""),
        ("\"status\":200", "\"status\":true"),
        ("\"started_at\":", "\"started_at\":\"x\","),
        ("\"headers\":{", "\"headers\":[{"),
        ("\"request\":{", "\"request\":null,\"x\":{"),
        ("\"user-agent\":\"", "\"user-agent\":[\""),
        ("\"client_ip\":\"", "\"client_ip\":\"\\u00e9\\ud83d\\ude00"),
        ("\"size\":", "\"size\":1e300,\"y\":"),
    ];
    let mut checked = 0;
    for line in &lines {
        kong_matches_reference(line);
        checked += 1;
        for _ in 0..3 {
            let mut m = line.clone();
            match rng.below(3) {
                0 => {
                    let cut = rng.below(m.len() as u64) as usize;
                    let cut = (0..=cut)
                        .rev()
                        .find(|&c| m.is_char_boundary(c))
                        .unwrap_or(0);
                    m.truncate(cut);
                }
                1 => {
                    let (from, to) = swaps[rng.below(swaps.len() as u64) as usize];
                    m = m.replacen(from, to, 1);
                }
                _ => {
                    let at = rng.below(m.len() as u64) as usize;
                    if m.is_char_boundary(at) && m.is_char_boundary(at + 1) {
                        let pool = b"{}[]\",:0a \\";
                        let c = pool[rng.below(pool.len() as u64) as usize] as char;
                        m.replace_range(at..at + 1, &c.to_string());
                    }
                }
            }
            kong_matches_reference(&m);
            checked += 1;
        }
    }
    assert!(checked > 10_000, "{checked}");
}
