//! The on-disk spool: an append-only log of records per destination.
//!
//! Layout of a destination's directory:
//! * `NNNNNNNNNNNNNNNNNNNN.spool`: segments, one framed [`Spooled`] record per line, in write
//!   order. A frame is `CRC32 LENGTH JSON\n` (CRC-32 of the JSON as 8 hex digits, its length
//!   in bytes): a torn or corrupt record is detected, reported and skipped, and the records
//!   after it are still read (JSON never contains a raw newline, so lines resynchronise).
//! * `NNNNNNNNNNNNNNNNNNNN.jsonl`: segments written by earlier versions (one bare JSON record
//!   per line), still read the old way until delivered: the upgrade path.
//! * `cursor`: `SEGMENT OFFSET` of the first record not yet delivered, replaced atomically and
//!   fsynced.
//! * `dead-letter.jsonl`: records given up on, with the reason.
//!
//! The writer (the pipeline thread) appends and fsyncs; the reader (the sender thread) reads
//! complete lines only, and deletes a segment once it is delivered and no longer written. A
//! process that starts writes a new segment, so a line torn by a crash can only be at the end
//! of an old segment, where it is skipped with a warning (its alert is re-created by the
//! replay from the committed offset, which the torn write never passed).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use gatewatch_model::Record;
use serde::{Deserialize, Serialize};

/// A record with the wall-clock time it was spooled (for the give-up time and batch linger).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spooled {
    /// Spool time, epoch ms.
    pub at: i64,
    /// The record.
    pub record: Record,
}

/// Where the reader is: segment number and byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// Segment number.
    pub segment: u64,
    /// Byte offset in the segment.
    pub offset: u64,
}

/// A segment grows to about this size before the writer starts the next one.
const SEGMENT_BYTES: u64 = 8 << 20;

/// The framing of a segment's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Framing {
    /// Bare JSON lines (segments of earlier versions).
    Lines,
    /// `CRC32 LENGTH JSON` lines.
    Framed,
}

impl Framing {
    fn extension(self) -> &'static str {
        match self {
            Framing::Lines => "jsonl",
            Framing::Framed => "spool",
        }
    }
}

fn segment_path(dir: &Path, n: u64, framing: Framing) -> PathBuf {
    dir.join(format!("{n:020}.{}", framing.extension()))
}

/// The segments of a spool directory, oldest first.
fn segments(dir: &Path) -> io::Result<Vec<(u64, Framing)>> {
    let mut out: Vec<(u64, Framing)> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if let Some(n) = name.strip_suffix(".spool") {
                return Some((n.parse().ok()?, Framing::Framed));
            }
            Some((name.strip_suffix(".jsonl")?.parse().ok()?, Framing::Lines))
        })
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// Appends one framed record (`CRC32 LENGTH JSON\n`) to `out`.
fn frame(json: &[u8], out: &mut Vec<u8>) {
    let crc = crc32fast::hash(json);
    out.extend_from_slice(format!("{crc:08x} {} ", json.len()).as_bytes());
    out.extend_from_slice(json);
    out.push(b'\n');
}

/// The JSON of one framed line (without its newline), or why it is corrupt.
fn unframe(line: &[u8]) -> Result<&[u8], String> {
    let mut spaces = line
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b' ')
        .map(|(i, _)| i);
    let (Some(a), Some(b)) = (spaces.next(), spaces.next()) else {
        return Err("no frame header".into());
    };
    let field = |bytes: &[u8]| std::str::from_utf8(bytes).ok().map(str::to_owned);
    let crc = field(&line[..a])
        .and_then(|c| u32::from_str_radix(&c, 16).ok())
        .ok_or("no CRC")?;
    let len: usize = field(&line[a + 1..b])
        .and_then(|l| l.parse().ok())
        .ok_or("no length")?;
    let json = &line[b + 1..];
    if json.len() != len {
        return Err(format!("length {} where the frame says {len}", json.len()));
    }
    if crc32fast::hash(json) != crc {
        return Err("CRC mismatch".into());
    }
    Ok(json)
}

/// Epoch ms now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Appends records; owned by the pipeline thread.
pub struct SpoolWriter {
    dir: PathBuf,
    /// Held (locked) for the writer's lifetime: one process per spool directory.
    _lock: File,
    file: File,
    len: u64,
    /// The segment being written, shared with the reader.
    current: Arc<AtomicU64>,
    buf: Vec<u8>,
}

impl SpoolWriter {
    /// Opens (creating) the spool directory and starts a new segment after any existing one.
    pub fn open(dir: &Path) -> io::Result<SpoolWriter> {
        fs::create_dir_all(dir)?;
        let lock = File::create(dir.join("lock"))?;
        if lock.try_lock().is_err() {
            return Err(io::Error::other(format!(
                "spool {} is in use by another gatewatch process; give each instance its own --spool-dir",
                dir.display()
            )));
        }
        let next = segments(dir)?.last().map_or(1, |(n, _)| n + 1);
        let file = Self::create_segment(dir, next)?;
        Ok(SpoolWriter {
            dir: dir.to_owned(),
            _lock: lock,
            file,
            len: 0,
            current: Arc::new(AtomicU64::new(next)),
            buf: Vec::new(),
        })
    }

    fn create_segment(dir: &Path, n: u64) -> io::Result<File> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(segment_path(dir, n, Framing::Framed))?;
        // The new directory entry must survive a crash too.
        File::open(dir)?.sync_all()?;
        Ok(file)
    }

    /// A reader of the same spool.
    pub fn reader(&self) -> io::Result<SpoolReader> {
        SpoolReader::open(&self.dir, self.current.clone())
    }

    /// Appends records and fsyncs: when this returns they survive a crash.
    pub fn append(&mut self, records: impl IntoIterator<Item = Record>) -> io::Result<()> {
        let at = now_ms();
        self.buf.clear();
        let mut n = 0;
        let mut json = Vec::new();
        for record in records {
            json.clear();
            serde_json::to_writer(&mut json, &Spooled { at, record })?;
            frame(&json, &mut self.buf);
            n += 1;
        }
        if n == 0 {
            return Ok(());
        }
        if self.len > 0 && self.len + self.buf.len() as u64 > SEGMENT_BYTES {
            let next = self.current.load(Ordering::Acquire) + 1;
            self.file = Self::create_segment(&self.dir, next)?;
            self.len = 0;
            self.current.store(next, Ordering::Release);
        }
        self.file.write_all(&self.buf)?;
        self.file.sync_data()?;
        self.len += self.buf.len() as u64;
        Ok(())
    }
}

/// Reads records in order and remembers, durably, how far they were delivered.
pub struct SpoolReader {
    dir: PathBuf,
    /// Segment the writer is appending to; older segments are complete.
    writing: Arc<AtomicU64>,
    cursor: Position,
}

/// A batch read from the spool: records and the position after the last one.
#[derive(Debug)]
pub struct Batch {
    /// Records in spool order.
    pub records: Vec<Spooled>,
    /// Lines that did not parse (skipped; reported by the caller).
    pub unreadable: Vec<String>,
    /// Acknowledge this once the records are delivered.
    pub end: Position,
}

impl SpoolReader {
    fn open(dir: &Path, writing: Arc<AtomicU64>) -> io::Result<SpoolReader> {
        let cursor = match fs::read_to_string(dir.join("cursor")) {
            Ok(text) => {
                let mut it = text.split_whitespace().map(str::parse::<u64>);
                match (it.next(), it.next()) {
                    (Some(Ok(segment)), Some(Ok(offset))) => Position { segment, offset },
                    _ => Position {
                        segment: 0,
                        offset: 0,
                    },
                }
            }
            Err(_) => Position {
                segment: 0,
                offset: 0,
            },
        };
        Ok(SpoolReader {
            dir: dir.to_owned(),
            writing,
            cursor,
        })
    }

    /// The next segment at or after the cursor's, if any.
    fn current_segment(&mut self) -> io::Result<Option<(u64, Framing)>> {
        let first = segments(&self.dir)?
            .into_iter()
            .find(|(n, _)| *n >= self.cursor.segment);
        if let Some((n, _)) = first {
            if n != self.cursor.segment {
                self.cursor = Position {
                    segment: n,
                    offset: 0,
                };
            }
        }
        Ok(first)
    }

    /// Up to `max` records after the cursor. Finished segments that hold nothing more are
    /// removed on the way.
    pub fn read(&mut self, max: usize) -> io::Result<Batch> {
        loop {
            let Some((seg, framing)) = self.current_segment()? else {
                return Ok(Batch {
                    records: Vec::new(),
                    unreadable: Vec::new(),
                    end: self.cursor,
                });
            };
            let complete = seg < self.writing.load(Ordering::Acquire);
            let batch = self.read_segment(seg, framing, max, complete)?;
            if !batch.records.is_empty() || !batch.unreadable.is_empty() || !complete {
                return Ok(batch);
            }
            // A finished segment read to its end: delete it and go on with the next one.
            fs::remove_file(segment_path(&self.dir, seg, framing))?;
            self.cursor = Position {
                segment: seg + 1,
                offset: 0,
            };
            self.save_cursor()?;
        }
    }

    fn read_segment(
        &mut self,
        seg: u64,
        framing: Framing,
        max: usize,
        complete: bool,
    ) -> io::Result<Batch> {
        let mut file = File::open(segment_path(&self.dir, seg, framing))?;
        let mut unreadable = Vec::new();
        let len = file.metadata()?.len();
        if self.cursor.offset > len {
            // A cursor past the end cannot be right: read the segment again from its start
            // (delivery is at least once; destinations deduplicate on the alert id).
            unreadable.push(format!(
                "cursor at byte {} is past the end of segment {seg} ({len} bytes): reading the segment again",
                self.cursor.offset
            ));
            self.cursor.offset = 0;
        }
        file.seek(SeekFrom::Start(self.cursor.offset))?;
        let mut reader = BufReader::new(file);
        let mut records = Vec::new();
        let mut offset = self.cursor.offset;
        let mut line = Vec::new();
        while records.len() < max {
            line.clear();
            let n = reader.by_ref().read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            if line.last() != Some(&b'\n') {
                if complete {
                    // Torn by a crash mid-write: the record never reached the spool.
                    unreadable.push(format!(
                        "incomplete last line of segment {seg} ({n} bytes), skipped"
                    ));
                    offset += n as u64;
                }
                break;
            }
            offset += n as u64;
            let body = &line[..line.len() - 1];
            let json = match framing {
                Framing::Lines => Ok(body),
                Framing::Framed => unframe(body),
            };
            match json.map(serde_json::from_slice::<Spooled>) {
                Ok(Ok(s)) => records.push(s),
                Ok(Err(e)) => unreadable.push(format!(
                    "unreadable record in segment {seg} at byte {}: {e}",
                    offset - n as u64
                )),
                Err(e) => unreadable.push(format!(
                    "corrupt record in segment {seg} at byte {} ({e}), skipped",
                    offset - n as u64
                )),
            }
        }
        Ok(Batch {
            records,
            unreadable,
            end: Position {
                segment: seg,
                offset,
            },
        })
    }

    /// Records up to `end` are delivered: remember it (a crash before this redelivers them).
    pub fn ack(&mut self, end: Position) -> io::Result<()> {
        self.cursor = end;
        self.save_cursor()
    }

    /// Replaces the cursor file atomically and durably (file and directory fsynced).
    fn save_cursor(&self) -> io::Result<()> {
        let tmp = self.dir.join("cursor.tmp");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(format!("{} {}\n", self.cursor.segment, self.cursor.offset).as_bytes())?;
            f.sync_all()?;
        }
        fs::rename(tmp, self.dir.join("cursor"))?;
        File::open(&self.dir)?.sync_all()
    }

    /// Records not yet delivered (reads the remaining spool; for reports, not the hot path).
    pub fn pending(&self) -> io::Result<u64> {
        let mut n = 0;
        for (seg, framing) in segments(&self.dir)? {
            if seg < self.cursor.segment {
                continue;
            }
            let mut file = File::open(segment_path(&self.dir, seg, framing))?;
            if seg == self.cursor.segment {
                file.seek(SeekFrom::Start(self.cursor.offset))?;
            }
            let mut text = Vec::new();
            file.read_to_end(&mut text)?;
            n += memchr_count(&text);
        }
        Ok(n)
    }

    /// Appends records to the dead-letter file with the reason they were given up.
    pub fn dead_letter(&self, records: &[Spooled], reason: &str) -> io::Result<()> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("dead-letter.jsonl"))?;
        let gave_up_at = now_ms();
        for r in records {
            let line = serde_json::json!({
                "gave_up_at": gave_up_at,
                "reason": reason,
                "spooled_at": r.at,
                "record": r.record,
            });
            serde_json::to_writer(&mut file, &line)?;
            file.write_all(b"\n")?;
        }
        file.sync_data()
    }
}

fn memchr_count(text: &[u8]) -> u64 {
    text.iter().filter(|b| **b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatewatch_model::EndpointMinute;

    fn row(n: i64) -> Record {
        Record::EndpointMinute(EndpointMinute {
            minute: n,
            source: "s".into(),
            partition: 0,
            service: "svc".into(),
            method: "GET".into(),
            route_template: "/".into(),
            first_seen: n,
            last_seen: n,
            requests: 1,
            status_2xx: 1,
            status_3xx: 0,
            status_4xx: 0,
            status_5xx: 0,
            distinct_clients: 1,
        })
    }

    fn minutes(b: &Batch) -> Vec<i64> {
        b.records
            .iter()
            .map(|s| match &s.record {
                Record::EndpointMinute(e) => e.minute,
                _ => -1,
            })
            .collect()
    }

    #[test]
    fn reads_in_order_and_resumes_from_the_cursor_after_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut w = SpoolWriter::open(dir.path()).expect("open");
            let mut r = w.reader().expect("reader");
            w.append((0..5).map(row)).expect("append");
            let b = r.read(3).expect("read");
            assert_eq!(minutes(&b), vec![0, 1, 2]);
            r.ack(b.end).expect("ack");
            // Not acked: read again after the restart.
            assert_eq!(minutes(&r.read(10).expect("read")), vec![3, 4]);
        }
        let mut w = SpoolWriter::open(dir.path()).expect("reopen");
        let mut r = w.reader().expect("reader");
        assert_eq!(r.pending().expect("pending"), 2);
        w.append([row(5)]).expect("append");
        let b = r.read(10).expect("read");
        assert_eq!(minutes(&b), vec![3, 4], "old segment first");
        r.ack(b.end).expect("ack");
        let b = r.read(10).expect("read");
        assert_eq!(minutes(&b), vec![5]);
        r.ack(b.end).expect("ack");
        assert_eq!(r.pending().expect("pending"), 0);
        assert_eq!(
            segments(dir.path()).expect("list").len(),
            1,
            "old segment deleted"
        );
    }

    #[test]
    fn a_corrupt_record_is_reported_and_the_records_after_it_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut w = SpoolWriter::open(dir.path()).expect("open");
            w.append((0..3).map(row)).expect("append");
        }
        // Flip a byte inside the second record's JSON.
        let (seg, framing) = segments(dir.path()).expect("list")[0];
        let path = segment_path(dir.path(), seg, framing);
        let mut bytes = std::fs::read(&path).expect("read");
        let second = bytes.iter().position(|b| *b == b'\n').expect("newline") + 30;
        bytes[second] ^= 0x01;
        std::fs::write(&path, bytes).expect("write");
        let w = SpoolWriter::open(dir.path()).expect("reopen");
        let mut r = w.reader().expect("reader");
        let b = r.read(10).expect("read");
        assert_eq!(minutes(&b), vec![0, 2]);
        assert_eq!(b.unreadable.len(), 1);
        assert!(
            b.unreadable[0].contains("CRC mismatch"),
            "{:?}",
            b.unreadable
        );
    }

    #[test]
    fn segments_of_the_previous_format_are_still_delivered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = segment_path(dir.path(), 1, Framing::Lines);
        let mut text = String::new();
        for n in 0..2 {
            text += &serde_json::to_string(&Spooled {
                at: 1,
                record: row(n),
            })
            .expect("json");
            text.push('\n');
        }
        std::fs::write(&old, text).expect("write");
        let mut w = SpoolWriter::open(dir.path()).expect("open");
        let mut r = w.reader().expect("reader");
        w.append([row(2)]).expect("append");
        let b = r.read(10).expect("read");
        assert_eq!(minutes(&b), vec![0, 1], "the old segment first");
        r.ack(b.end).expect("ack");
        assert_eq!(minutes(&r.read(10).expect("read")), vec![2]);
    }

    #[test]
    fn a_cursor_past_the_end_rereads_the_segment_instead_of_dropping_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut w = SpoolWriter::open(dir.path()).expect("open");
            w.append((0..2).map(row)).expect("append");
        }
        std::fs::write(dir.path().join("cursor"), "1 999999\n").expect("cursor");
        let w = SpoolWriter::open(dir.path()).expect("reopen");
        let mut r = w.reader().expect("reader");
        let b = r.read(10).expect("read");
        assert_eq!(minutes(&b), vec![0, 1]);
        assert!(
            b.unreadable[0].contains("past the end"),
            "{:?}",
            b.unreadable
        );
    }

    #[test]
    fn a_torn_last_line_of_an_old_segment_is_skipped_and_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut w = SpoolWriter::open(dir.path()).expect("open");
            w.append([row(1)]).expect("append");
            w.file.write_all(b"{\"at\":1,\"rec").expect("torn write");
        }
        let w = SpoolWriter::open(dir.path()).expect("reopen");
        let mut r = w.reader().expect("reader");
        let b = r.read(10).expect("read");
        assert_eq!(minutes(&b), vec![1]);
        assert_eq!(b.unreadable.len(), 1, "{:?}", b.unreadable);
        r.ack(b.end).expect("ack");
        let b = r.read(10).expect("read");
        assert!(b.records.is_empty() && b.unreadable.is_empty());
    }
}
