//! The decoders' fuzz entry point, shared by the `cargo fuzz` target (`fuzz/`) and the test
//! that replays its saved corpus on stable Rust.

use crate::decode::{DecodeConfig, Format};
use crate::schema::ColumnSet;
use crate::source::Chunk;
use crate::ChunkDecoder;

/// Decodes `data` as a chunk of lines with every format and checks what must always hold:
/// no panic, and each non-blank line becomes rows or exactly one dead letter.
pub fn decode_bytes(data: &[u8]) {
    for format in [Format::Auto, Format::Kong, Format::Envoy, Format::Nginx] {
        let cfg = DecodeConfig {
            format,
            ..Default::default()
        }
        .with_username_field("request.headers.x-username");
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
    }
}
