//! The decoders' fuzz entry point, shared by the `cargo fuzz` target (`fuzz/`) and the test
//! that replays its saved corpus on stable Rust.

use crate::decode::{DecodeConfig, Format};
use crate::schema::ColumnSet;
use crate::source::Chunk;
use crate::ChunkDecoder;

/// Checks the scanning Kong decoder against the serde reference on one line: whatever serde
/// accepts, the scanner accepts with the same events; whatever the scanner rejects, serde
/// rejects too (the scanner may accept a record serde refuses for a detail in a part it skips).
pub fn kong_matches_reference(line: &str) {
    use crate::decode::kong::{decode_into, KongParts};
    let mut fast = Vec::new();
    let fast_result = decode_into(line, &KongParts::default(), &mut fast);
    // Reading no optional part gives the same events less those parts, and rejects nothing
    // that reading them accepts.
    let none = KongParts {
        service: false,
        route: false,
        consumer: false,
        authenticated_entity: false,
        latencies: false,
        ai: false,
    };
    let mut narrow = Vec::new();
    let narrow_result = decode_into(line, &none, &mut narrow);
    if fast_result.is_ok() {
        assert!(narrow_result.is_ok(), "skipping parts rejects {line:?}");
        let mut want = fast.clone();
        for e in &mut want {
            e.service = None;
            e.route_name = None;
            e.consumer_username = None;
            e.consumer_id = None;
            e.authenticated_entity = None;
            e.latency_ms = None;
            e.ai_provider = None;
            e.ai_model = None;
            e.ai_prompt_tokens = None;
            e.ai_completion_tokens = None;
            e.ai_total_tokens = None;
            e.ai_cost = None;
        }
        assert_eq!(
            narrow, want,
            "skipped parts changed other fields of {line:?}"
        );
    }
    let mut reference = Vec::new();
    let ref_result = crate::decode::kong_serde::decode_line(line, &mut |e| reference.push(e));
    match (ref_result, fast_result) {
        (Ok(()), Ok(())) => assert_eq!(fast, reference, "events differ for {line:?}"),
        (Ok(()), Err(e)) => panic!("the scanner rejects what serde accepts ({e}): {line:?}"),
        (Err(_), _) => {}
    }
}

/// Decodes `data` as a chunk of lines with every format and checks what must always hold:
/// no panic, each non-blank line becomes rows or exactly one dead letter, and the scanning
/// Kong decoder agrees with the serde reference.
pub fn decode_bytes(data: &[u8]) {
    for line in data.split(|b| *b == b'\n') {
        if let Ok(text) = std::str::from_utf8(line) {
            kong_matches_reference(text);
        }
    }
    // The input as a format string: compiling it never panics, whatever it holds.
    if let Some(first) = data.split(|b| *b == b'\n').next() {
        let text = String::from_utf8_lossy(first);
        let _ = crate::decode::LineTemplate::envoy("fuzz", &text);
        let _ = crate::decode::LineTemplate::nginx("fuzz", &text);
        let _ = crate::decode::LineTemplate::apache("fuzz", &text);
    }
    let custom = [
        DecodeConfig::default().with_nginx_format(
            r#"$host $remote_addr [$time_local] "$request" $status $body_bytes_sent "$http_user_agent" $request_time"#,
        ),
        DecodeConfig::default().with_nginx_format(r#"%v %h %l %u %t \"%r\" %>s %b %D"#),
        DecodeConfig {
            format: Format::Envoy,
            ..Default::default()
        }
        .with_envoy_format("%START_TIME% %DOWNSTREAM_REMOTE_ADDRESS% \"%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%\" %RESPONSE_CODE% %DURATION%"),
    ];
    let configs = [Format::Auto, Format::Kong, Format::Envoy, Format::Nginx]
        .into_iter()
        .map(|format| DecodeConfig {
            format,
            ..Default::default()
        })
        .chain(
            custom
                .into_iter()
                .map(|c| c.expect("the fuzz formats compile")),
        );
    for cfg in configs {
        let cfg = cfg.with_username_field("request.headers.x-username");
        let mut decoder = ChunkDecoder::new(cfg, ColumnSet::all(), 1 << 16);
        let chunk = Chunk {
            source: "fuzz".into(),
            partition: 0,
            first_line: 1,
            data: data.to_vec(),
            oversized: Vec::new(),
            offsets: None,
            keys: None,
        };
        let Ok(out) = decoder.decode(&chunk, 0) else {
            panic!("an Arrow error decoding fuzz input (a bug, not an input error)");
        };
        let newlines = data.iter().filter(|b| **b == b'\n').count() as u64;
        let lines = newlines + u64::from(!data.is_empty() && !data.ends_with(b"\n"));
        assert_eq!(out.lines, lines, "every line counted");
        assert!(out.malformed.len() as u64 <= lines);
        for m in &out.malformed {
            assert!(m.offset >= 1 && m.offset as u64 <= lines);
        }
        // What a client sent instead of a request is kept, but bounded whatever it sent.
        if let Some(col) = out.batch.column_by_name("unparsed_request") {
            use arrow::array::AsArray;
            let max = crate::decode::request::UNPARSED_MAX_BYTES;
            assert!(col
                .as_string::<i32>()
                .iter()
                .flatten()
                .all(|s| s.len() <= max));
        }
    }
}
