//! The reader's chunking, line counts and oversized lines.

use super::*;

/// The block test never misses a long line, and the count equals walking the lines.
#[test]
fn line_counts_and_long_lines_agree_with_walking_the_lines() {
    let mut seed = 7u64;
    for case in 0..2000 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let max = 1 + (seed >> 33) as usize % 40;
        let mut data = Vec::new();
        let mut longest = 0;
        let mut lines = 0u64;
        let mut last_len = 0;
        for _ in 0..(seed >> 50) % 12 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 40) as usize % (2 * max + 3);
            data.extend(std::iter::repeat_n(b'x', len));
            longest = longest.max(len);
            last_len = len;
            lines += 1;
            data.push(b'\n');
        }
        if case % 3 == 0 && last_len > 0 {
            data.pop(); // the last line without its newline
        }
        match lines_if_none_longer(&data, max, None) {
            Some(n) => {
                assert!(
                    longest <= max,
                    "case {case}: a line of {longest} > {max} missed"
                );
                assert_eq!(n, lines, "case {case}");
            }
            None => assert!(data.len() > max, "case {case}: slow path for a short chunk"),
        }
    }
}

fn chunks(input: &[u8], opts: ChunkOptions) -> Vec<Chunk> {
    let mut r = ChunkReader::new(input, "t", opts, false);
    let mut out = Vec::new();
    while let Some(c) = r.next_chunk().unwrap() {
        out.push(c);
    }
    out
}

#[test]
fn chunks_hold_whole_lines_and_count_them() {
    let input: Vec<u8> = (1..=100)
        .flat_map(|i| format!("line {i}\n").into_bytes())
        .collect();
    let opts = ChunkOptions {
        chunk_bytes: 64,
        ..Default::default()
    };
    let cs = chunks(&input, opts);
    assert!(cs.len() > 5);
    let mut expect = 1;
    for c in &cs {
        assert_eq!(c.first_line, expect);
        assert!(c.data.ends_with(b"\n"));
        let first = String::from_utf8_lossy(&c.data)
            .lines()
            .next()
            .unwrap()
            .to_string();
        assert_eq!(first, format!("line {expect}"));
        expect += c.data.iter().filter(|b| **b == b'\n').count() as u64;
    }
    assert_eq!(expect, 101);
}

/// A reader handing out at most `step` bytes per call, as pipes and some filesystems do.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.step).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Chunks read in many pieces (counted as they arrive) and in short reads, with lines
/// across piece and chunk boundaries and oversized lines among them: every chunk starts at
/// the line it says, oversized lines are reported at their own line numbers, and the lines
/// kept are the input's, in order.
#[test]
fn lines_are_numbered_exactly_when_counted_piece_by_piece() {
    let max = 8192;
    // With an oversized line now and then (the chunks take the slow path), and without.
    for long_every in [50, u64::MAX] {
        let mut seed: u64 = 7;
        let (mut input, mut kept, mut long_lines) = (Vec::new(), Vec::new(), Vec::new());
        for line in 1..=3000u64 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = match (seed >> 33) % long_every {
                0 => max + 1 + (seed >> 45) as usize % 20_000,
                _ => (seed >> 40) as usize % 2500,
            };
            let text: Vec<u8> = (0..len)
                .map(|i| b'a' + ((line as usize + i) % 26) as u8)
                .collect();
            input.extend_from_slice(&text);
            input.push(b'\n');
            if len > max {
                long_lines.push(line);
                kept.push(b'\n');
            } else {
                kept.extend_from_slice(&text);
                kept.push(b'\n');
            }
        }
        assert!(input.len() > 3 << 20);
        assert_eq!(long_lines.is_empty(), long_every == u64::MAX);
        for (chunk_bytes, step) in [(4 << 20, usize::MAX), (300_000, 7777), (1 << 20, 100_003)] {
            let case = format!(
                "long lines {}, chunk_bytes {chunk_bytes}, step {step}",
                long_lines.len()
            );
            let opts = ChunkOptions {
                chunk_bytes,
                max_line_bytes: max,
                oversized_head_bytes: 16,
            };
            let trickle = Trickle { data: &input, step };
            let mut r = ChunkReader::new(trickle, "t", opts, false);
            let (mut next, mut all, mut over) = (1, Vec::new(), Vec::new());
            while let Some(c) = r.next_chunk().unwrap() {
                assert_eq!(c.first_line, next, "{case}");
                next += c.data.iter().filter(|b| **b == b'\n').count() as u64;
                all.extend_from_slice(&c.data);
                over.extend(c.oversized.iter().map(|o| o.line));
            }
            assert_eq!(next, 3001, "{case}");
            assert!(all == kept, "{case}: lines differ");
            assert_eq!(over, long_lines, "{case}");
        }
    }
}

#[test]
fn partial_container_lines_stay_in_the_chunk_of_their_final_line() {
    let input: Vec<u8> = (1..=60)
        .flat_map(|i| {
            let tag = if i % 3 == 0 { 'F' } else { 'P' };
            format!("2026-01-01T00:00:00.{i:03}Z stdout {tag} piece {i}\n").into_bytes()
        })
        .collect();
    let opts = ChunkOptions {
        chunk_bytes: 50,
        ..Default::default()
    };
    let cs = chunks(&input, opts);
    assert!(cs.len() >= 15, "{} chunks", cs.len());
    for c in &cs {
        let last = String::from_utf8_lossy(&c.data)
            .lines()
            .last()
            .unwrap()
            .to_owned();
        assert!(
            last.contains(" stdout F "),
            "chunk ends inside a joined line: {last}"
        );
    }
}

#[test]
fn last_line_without_newline_is_kept() {
    let cs = chunks(b"a\nb", ChunkOptions::default());
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0].data, b"a\nb");
}

#[test]
fn oversized_lines_are_skipped_streaming_and_keep_numbering() {
    let mut input = b"short\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 10_000));
    input.extend_from_slice(b"\nafter\n");
    let opts = ChunkOptions {
        chunk_bytes: 1024,
        max_line_bytes: 2048,
        oversized_head_bytes: 16,
    };
    let cs = chunks(&input, opts);
    let all: Vec<u8> = cs.iter().flat_map(|c| c.data.clone()).collect();
    assert_eq!(all, b"short\n\nafter\n");
    let over: Vec<_> = cs.iter().flat_map(|c| c.oversized.clone()).collect();
    assert_eq!(over.len(), 1);
    assert_eq!(over[0].line, 2);
    assert_eq!(over[0].len, 10_000);
    assert_eq!(over[0].head, vec![b'x'; 16]);
}

#[test]
fn gzip_is_detected_by_magic() {
    use flate2::write::GzEncoder;
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.notgz");
    let mut enc = GzEncoder::new(File::create(&path).unwrap(), flate2::Compression::fast());
    enc.write_all(b"one\ntwo\n").unwrap();
    enc.finish().unwrap();
    let mut input = open_input(path.to_str().unwrap()).unwrap();
    let mut s = String::new();
    input.reader.read_to_string(&mut s).unwrap();
    assert_eq!(s, "one\ntwo\n");
    let err = open_input("/nonexistent/x.log").err().unwrap();
    assert!(err.to_string().contains("cannot open input"));
}
