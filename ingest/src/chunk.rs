//! Decoding a [`Chunk`] of lines into one Arrow [`RecordBatch`], collecting the lines that
//! failed with their provenance. This is the unit of work of a decode thread.

use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use crate::batch::{EventBatchBuilder, Provenance, RawEvent};
use crate::decode::{container, decode_message, decode_owned, DecodeConfig, DecodeError};
use crate::partition::key_hash;
use crate::schema::ColumnSet;
use crate::source::Chunk;

/// A line that could not be decoded, with everything needed to find or replay it.
#[derive(Debug, Clone)]
pub struct Malformed {
    /// Input name.
    pub source: std::sync::Arc<str>,
    /// Kafka partition (0 for files).
    pub partition: i32,
    /// Line number (files) or Kafka offset.
    pub offset: i64,
    /// What was wrong.
    pub error: DecodeError,
    /// The line's bytes: whole, except for oversized lines (their head only).
    pub raw: Vec<u8>,
}

/// The result of decoding one chunk.
#[derive(Debug)]
pub struct DecodedChunk {
    /// The decoded rows, with the projected columns.
    pub batch: RecordBatch,
    /// Lines that failed, in input order.
    pub malformed: Vec<Malformed>,
    /// Lines in the chunk, blank ones included.
    pub lines: u64,
    /// Input bytes the chunk covers, oversized lines included.
    pub bytes: u64,
    /// Kafka topic and the highest offset in the chunk: everything up to it has been decoded
    /// (into rows or dead letters).
    pub last_offset: Option<(String, i32, i64)>,
    /// Records whose Kafka message key is not their value of the configured input key.
    pub key_mismatches: u64,
    /// Records whose event time was out of range and rescaled (s, µs or ns read as ms).
    pub time_rescaled: u64,
    /// Rows decoded per source format, in [`crate::SourceFormat::ALL`] order.
    pub events_by_format: [u64; 3],
}

/// The value of `column` a record is keyed by, as bytes.
fn key_of<'e>(ev: &'e RawEvent<'_>, column: crate::Column) -> Option<&'e [u8]> {
    let v = match column {
        crate::Column::ClientIp => ev.client_ip.as_deref(),
        crate::Column::UserAgent => ev.user_agent.as_deref(),
        crate::Column::ConsumerUsername => ev.consumer_username.as_deref(),
        crate::Column::Username => ev.username.as_deref(),
        _ => None,
    };
    v.map(str::as_bytes)
}

/// A line as text. Validated with SIMD (`simdutf8`: a few times faster than the standard
/// library on long ASCII lines); only an invalid line is checked again by the standard
/// library, whose error says where the valid prefix ends.
fn utf8(line: &[u8]) -> Result<&str, std::str::Utf8Error> {
    match simdutf8::basic::from_utf8(line) {
        Ok(text) => Ok(text),
        Err(_) => std::str::from_utf8(line),
    }
}

/// Partial container lines (CRI `P`, Docker `log` without a newline) being joined.
#[derive(Default)]
struct Pending {
    buf: String,
    /// Bytes of all pieces, kept or not.
    len: usize,
    /// The pieces exceeded `--max-line-bytes`: the joined line is dead-lettered as too long.
    overflow: bool,
}

/// Decodes chunks with one reusable builder; one per decode thread.
pub struct ChunkDecoder {
    cfg: DecodeConfig,
    builder: EventBatchBuilder,
    max_line_bytes: usize,
}

impl ChunkDecoder {
    /// A decoder filling `projection` (plus the always-present columns).
    pub fn new(cfg: DecodeConfig, projection: ColumnSet, max_line_bytes: usize) -> Self {
        let mut d = ChunkDecoder {
            cfg,
            builder: EventBatchBuilder::new(projection),
            max_line_bytes,
        };
        d.set_kong_parts();
        d
    }

    /// Changes the decoded columns (a rule reload widened or narrowed them); the always-present
    /// columns stay. Takes effect from the next chunk.
    pub fn set_projection(&mut self, projection: ColumnSet) {
        if projection.union(ColumnSet::required()) != self.builder.projection() {
            self.builder = EventBatchBuilder::new(projection);
            self.set_kong_parts();
        }
    }

    /// Reads the parts of Kong records the columns (and the input key check) need.
    fn set_kong_parts(&mut self) {
        let mut cols = self.builder.projection();
        if let Some(k) = self.cfg.input_key {
            cols.insert(k);
        }
        self.cfg.kong_parts = crate::decode::kong::KongParts::for_columns(cols);
    }

    /// The columns of the batches this decoder produces.
    pub fn projection(&self) -> ColumnSet {
        self.builder.projection()
    }

    /// Decodes every line of `chunk`. Only an Arrow error (a bug) fails the whole chunk.
    pub fn decode(
        &mut self,
        chunk: &Chunk,
        receive_time_ms: i64,
    ) -> Result<DecodedChunk, ArrowError> {
        let prov = Provenance {
            source: chunk.source.clone(),
            partition: chunk.partition,
        };
        self.builder.set_receive_time(receive_time_ms);
        let mut malformed = Vec::new();
        let mut key_mismatches = 0u64;
        let mut time_rescaled = 0u64;
        let mut events_by_format = [0u64; 3];
        let mut events: Vec<RawEvent<'_>> = Vec::new();
        let mut pending: Option<Pending> = None;
        let mut line_no = chunk.first_line;
        let mut index = 0usize;
        let mut oversized = chunk.oversized.iter().peekable();
        let mut start = 0;
        let data = &chunk.data[..];
        while start < data.len() {
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            let mut line = &data[start..end];
            start = end + 1;
            let offset = match &chunk.offsets {
                Some(offsets) => offsets.get(index).copied().unwrap_or(line_no as i64),
                None => line_no as i64,
            };
            line_no += 1;
            index += 1;
            if let Some(o) = oversized.next_if(|o| o.line as i64 == offset) {
                malformed.push(Malformed {
                    source: prov.source.clone(),
                    partition: prov.partition,
                    offset,
                    error: DecodeError::TooLong {
                        len: o.len,
                        max: self.max_line_bytes,
                    },
                    raw: o.head.clone(),
                });
                continue;
            }
            if let Some(stripped) = line.strip_suffix(b"\r") {
                line = stripped;
            }
            // A UTF-8 byte order mark (editors, some Windows shippers) is not part of the record.
            if let Some(stripped) = line.strip_prefix(b"\xEF\xBB\xBF") {
                line = stripped;
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let mut reject = |error: DecodeError, raw: &[u8]| {
                malformed.push(Malformed {
                    source: prov.source.clone(),
                    partition: prov.partition,
                    offset,
                    error,
                    raw: raw.to_vec(),
                })
            };
            let text = match utf8(line) {
                Ok(t) => t,
                Err(e) => {
                    reject(
                        DecodeError::InvalidUtf8 {
                            valid_up_to: e.valid_up_to(),
                        },
                        line,
                    );
                    continue;
                }
            };
            events.clear();
            let result = match container::unwrap(text) {
                None => decode_message(&self.cfg, text, &mut events),
                Some(Err(e)) => Err(DecodeError::Container(e)),
                // A partial line, or the end of one: join, then decode the whole line.
                Some(Ok(env)) if env.partial || pending.is_some() => {
                    let p = pending.get_or_insert_with(Pending::default);
                    if p.buf.len() + env.message.len() > self.max_line_bytes {
                        p.overflow = true;
                    }
                    if !p.overflow {
                        p.buf.push_str(&env.message);
                    }
                    p.len += env.message.len();
                    if env.partial {
                        continue;
                    }
                    let p = pending.take().unwrap_or_default();
                    if p.overflow {
                        Err(DecodeError::TooLong {
                            len: p.len,
                            max: self.max_line_bytes,
                        })
                    } else {
                        decode_owned(&self.cfg, &p.buf, &mut events)
                    }
                }
                Some(Ok(env)) => match env.message {
                    std::borrow::Cow::Borrowed(m) => decode_message(&self.cfg, m, &mut events),
                    std::borrow::Cow::Owned(m) => decode_owned(&self.cfg, &m, &mut events),
                },
            };
            match result {
                Ok(()) => {
                    if let (Some(keys), Some(column)) = (&chunk.keys, self.cfg.input_key) {
                        let key = keys.get(index - 1).copied().flatten();
                        key_mismatches += events
                            .iter()
                            .filter(|ev| key_of(ev, column).map(key_hash) != key)
                            .count() as u64;
                    }
                    for ev in &events {
                        time_rescaled += u64::from(ev.time_rescaled);
                        events_by_format[ev.format as usize] += 1;
                        // decoders guarantee an event time on every event they return.
                        let t = ev.event_time_ms.unwrap_or_default();
                        self.builder.append(ev, t, &prov, offset);
                    }
                }
                Err(error) => reject(error, line),
            }
        }
        if let Some(p) = pending.take() {
            // Partial container lines whose final piece is not in this chunk (or input).
            malformed.push(Malformed {
                source: prov.source.clone(),
                partition: prov.partition,
                offset: line_no as i64 - 1,
                error: DecodeError::Container(format!(
                    "{} bytes of partial lines (P) without their final line (F) before the \
                     end of the input or batch",
                    p.len
                )),
                raw: p.buf.as_bytes()[..p.buf.len().min(4096)].to_vec(),
            });
        }
        let lines = index as u64;
        // Oversized lines were dropped by the reader but were read all the same.
        let bytes = data.len() as u64 + chunk.oversized.iter().map(|o| o.len as u64).sum::<u64>();
        // Kafka chunks carry explicit offsets and are named by their topic.
        let last_offset = chunk
            .offsets
            .as_ref()
            .and_then(|o| o.iter().max())
            .map(|m| (chunk.source.to_string(), chunk.partition, *m));
        Ok(DecodedChunk {
            batch: self.builder.finish()?,
            malformed,
            lines,
            bytes,
            last_offset,
            key_mismatches,
            time_rescaled,
            events_by_format,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::utf8;

    /// The SIMD check accepts and refuses what the standard library does, and a refused line
    /// reports where its valid prefix ends: invalid bytes early and late in long lines,
    /// overlong forms, surrogates, code points past U+10FFFF, truncated sequences.
    #[test]
    fn lines_are_checked_as_the_standard_library_checks_them() {
        let long = "a".repeat(200);
        let mut lines: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            "{\"ua\":\"Mozilla/5.0 \u{e9}\u{4e2d}\u{1f600}\"}"
                .as_bytes()
                .to_vec(),
        ];
        for bad in [
            &b"\xff"[..],
            b"\xc0\xaf",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xe2\x82",
            b"\x80",
        ] {
            for at in [0, 3, 63, 64, 65, 199] {
                let mut line = long.as_bytes().to_vec();
                line.splice(at..at, bad.iter().copied());
                lines.push(line);
            }
        }
        for line in &lines {
            let std = std::str::from_utf8(line).map_err(|e| e.valid_up_to());
            assert_eq!(utf8(line).map_err(|e| e.valid_up_to()), std, "{line:?}");
        }
        assert!(utf8(&lines[1]).is_ok());
        assert_eq!(utf8(&lines[2 + 5]).map_err(|e| e.valid_up_to()), Err(199));
    }
}
