//! Line sources: files (plain or gzip, detected by magic bytes) and stdin, cut into
//! [`Chunk`]s of whole lines. Chunks are the unit of parallel decoding: a chunk knows the
//! line number of its first line, so every row keeps its file/line provenance.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use flate2::read::MultiGzDecoder;

/// A run of whole lines from one input.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The input's name (path or `stdin`).
    pub source: Arc<str>,
    /// Kafka partition; 0 for files.
    pub partition: i32,
    /// Line number (1-based) of the first line in `data`.
    pub first_line: u64,
    /// Whole lines, each ended by `\n` except possibly the input's last.
    pub data: Vec<u8>,
    /// Lines longer than the limit: they appear in `data` as empty lines, so numbering holds.
    pub oversized: Vec<OversizedLine>,
    /// Explicit offset of each line (Kafka: the message offset); `None` numbers lines from
    /// `first_line` (files).
    pub offsets: Option<Vec<i64>>,
    /// Kafka: per line, [`key_hash`](crate::partition::key_hash) of its message's key (`None`
    /// for a message without a key), to check the input is keyed as configured.
    pub keys: Option<Vec<Option<u64>>>,
}

/// A line that exceeded `max_line_bytes`: it was skipped while streaming, never buffered whole.
#[derive(Debug, Clone)]
pub struct OversizedLine {
    /// Its 1-based line number.
    pub line: u64,
    /// Its full length in bytes (without the newline).
    pub len: usize,
    /// Its first bytes, for the dead-letter record.
    pub head: Vec<u8>,
}

/// How the reader cuts its input.
#[derive(Debug, Clone)]
pub struct ChunkOptions {
    /// Target size of a chunk; a chunk is cut at the last newline once this much is buffered.
    /// The default, 4 MiB (about 3,000 Kong records, 20,000 NGINX lines), amortises each rule's
    /// per-batch cost: against 1 MiB, `gatewatch bench --sigma` measured the pack 1.4x faster
    /// and the pack with 135 Sigma rules 2.5x faster, for 40 MB more peak memory.
    pub chunk_bytes: usize,
    /// Longest line kept; longer ones become [`OversizedLine`]s. Bounds memory on hostile input.
    pub max_line_bytes: usize,
    /// How much of an oversized line to keep for the dead-letter record.
    pub oversized_head_bytes: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        ChunkOptions {
            chunk_bytes: 4 << 20,
            max_line_bytes: 1 << 20,
            oversized_head_bytes: 4096,
        }
    }
}

/// Set when the process was asked to stop (`gatewatch run` registers SIGTERM and SIGINT on
/// it): sources then end as at the end of their input. For Kafka that is a clean stop: what was
/// read goes through, offsets are committed past what is durably written, open windows stay
/// open for the next owner of their partitions.
pub fn stop_flag() -> &'static Arc<AtomicBool> {
    static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    STOP.get_or_init(Arc::default)
}

/// Whether [`stop_flag`] is set.
pub fn stop_requested() -> bool {
    stop_flag().load(Ordering::Relaxed)
}

/// Cuts a byte stream into [`Chunk`]s of whole lines.
///
/// Flushing: a chunk is emitted when `chunk_bytes` are buffered, at end of input, or — for
/// interactive inputs such as a pipe on stdin — as soon as a read comes back short, i.e. the
/// writer has paused. A slow stream therefore never waits for a full chunk.
pub struct ChunkReader<R> {
    inner: R,
    source: Arc<str>,
    opts: ChunkOptions,
    interactive: bool,
    buf: Vec<u8>,
    next_line: u64,
    oversized: Vec<OversizedLine>,
    flush_now: bool,
    eof: bool,
    /// Newlines in `buf`, counted piece by piece as they are read, while the bytes are still
    /// in the cache (counting a 4 MiB chunk after the kernel's copy of it read it back from
    /// memory: 4.5% of a file replay's CPU time).
    newlines: usize,
    /// Chunk buffers handed back by the decoders: reusing them avoids faulting in fresh pages
    /// for every chunk (measured: about a third of the system time of a file replay).
    recycled: Option<std::sync::mpsc::Receiver<Vec<u8>>>,
}

impl<R: Read> ChunkReader<R> {
    /// A reader over `inner`, naming its chunks `source`.
    pub fn new(
        inner: R,
        source: impl Into<Arc<str>>,
        opts: ChunkOptions,
        interactive: bool,
    ) -> Self {
        ChunkReader {
            inner,
            source: source.into(),
            buf: Vec::with_capacity(opts.chunk_bytes + 4096),
            opts,
            interactive,
            next_line: 1,
            oversized: Vec::new(),
            flush_now: false,
            eof: false,
            newlines: 0,
            recycled: None,
        }
    }

    /// Takes chunk buffers back from `rx` (the decoders send each chunk's `data` when done).
    pub fn recycle_from(mut self, rx: std::sync::mpsc::Receiver<Vec<u8>>) -> Self {
        self.recycled = Some(rx);
        self
    }

    fn fresh_buffer(&mut self) -> Vec<u8> {
        match self.recycled.as_ref().and_then(|rx| rx.try_recv().ok()) {
            Some(mut b) => {
                b.clear();
                b
            }
            None => Vec::with_capacity(self.opts.chunk_bytes + (64 << 10)),
        }
    }

    /// The next chunk, or `None` at end of input.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        loop {
            let target = self.opts.chunk_bytes.max(1);
            let cut = if self.eof {
                self.buf.len()
            } else if self.buf.len() >= target {
                // Cut at the last newline within the target size, else at the first one after it.
                match memchr::memrchr(b'\n', &self.buf[..target]) {
                    Some(i) => i + 1,
                    None => {
                        memchr::memchr(b'\n', &self.buf[target..]).map_or(0, |i| target + i + 1)
                    }
                }
            } else if self.flush_now {
                memchr::memrchr(b'\n', &self.buf).map_or(0, |i| i + 1)
            } else {
                0
            };
            self.flush_now = false;
            // A container line cut in pieces (CRI `P`) is joined by the decoder: keep the
            // pieces and their final line in one chunk (within --max-line-bytes).
            let cut = if cut > 0 && !self.eof {
                self.past_partial_lines(cut)
            } else {
                cut
            };
            if cut > 0 {
                return Ok(Some(self.cut(cut)));
            }
            if self.eof {
                return Ok(None);
            }
            let tail_start = memchr::memrchr(b'\n', &self.buf).map_or(0, |i| i + 1);
            if self.buf.len() - tail_start > self.opts.max_line_bytes {
                self.skip_long_line(tail_start)?;
                continue;
            }
            self.fill()?;
        }
    }

    /// Moves a cut that falls right after a partial container line to after the line that
    /// ends it; 0 when that line is not read yet. Gives up (keeps the cut) once the pieces
    /// exceed `max_line_bytes`: the decoder dead-letters them as too long either way.
    fn past_partial_lines(&self, mut cut: usize) -> usize {
        let start = cut;
        loop {
            let line_start = memchr::memrchr(b'\n', &self.buf[..cut - 1]).map_or(0, |i| i + 1);
            let line = &self.buf[line_start..cut - 1];
            let partial = std::str::from_utf8(line)
                .ok()
                .and_then(crate::decode::container::unwrap)
                .and_then(Result::ok)
                .is_some_and(|e| e.partial);
            if !partial || cut - start > self.opts.max_line_bytes {
                return cut;
            }
            match memchr::memchr(b'\n', &self.buf[cut..]) {
                Some(i) => cut += i + 1,
                None => return 0,
            }
        }
    }

    fn cut(&mut self, cut: usize) -> Chunk {
        let mut next = self.fresh_buffer();
        next.extend_from_slice(&self.buf[cut..]);
        self.buf.truncate(cut);
        let data = std::mem::replace(&mut self.buf, next);
        // The tail moved to the next buffer is short (a partial line): its newlines are
        // counted again, the chunk's are what is left of the count.
        let tail = count_newlines(&self.buf);
        let newlines = self.newlines.checked_sub(tail);
        self.newlines = tail;
        let (data, lines) = self.drop_long_lines(data, newlines);
        let mut oversized = std::mem::take(&mut self.oversized);
        oversized.sort_by_key(|o| o.line);
        let chunk = Chunk {
            source: self.source.clone(),
            partition: 0,
            first_line: self.next_line,
            data,
            oversized,
            offsets: None,
            keys: None,
        };
        self.next_line += lines;
        chunk
    }

    /// Replaces lines over the limit that arrived whole in one read by empty lines, recording
    /// them as oversized. Returns the data and its line count.
    fn drop_long_lines(&mut self, data: Vec<u8>, newlines: Option<usize>) -> (Vec<u8>, u64) {
        let max = self.opts.max_line_bytes;
        if let Some(lines) = lines_if_none_longer(&data, max, newlines) {
            return (data, lines);
        }
        let mut lines = 0u64;
        let mut start = 0;
        let mut long = Vec::new();
        while start < data.len() {
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            if end - start > max {
                long.push((lines, start, end));
            }
            lines += 1;
            start = end + 1;
        }
        if long.is_empty() {
            return (data, lines);
        }
        let mut kept = Vec::with_capacity(data.len());
        let mut from = 0;
        for (nth, start, end) in long {
            kept.extend_from_slice(&data[from..start]);
            let head_end = start + self.opts.oversized_head_bytes.min(end - start);
            self.oversized.push(OversizedLine {
                line: self.next_line + nth,
                len: end - start,
                head: data[start..head_end].to_vec(),
            });
            from = end;
        }
        kept.extend_from_slice(&data[from..]);
        (kept, lines)
    }

    fn fill(&mut self) -> io::Result<()> {
        let want = self.opts.chunk_bytes.clamp(4096, 4 << 20);
        if !self.interactive {
            // Files: read straight into spare capacity (no zero-filling), in pieces whose
            // newlines are counted while still in the cache; a short read is EOF.
            const PIECE: usize = 256 << 10;
            let mut n = 0;
            while n < want {
                let (from, ask) = (self.buf.len(), (want - n).min(PIECE));
                let got = (&mut self.inner)
                    .take(ask as u64)
                    .read_to_end(&mut self.buf);
                // Counted before an error returns: what was read stays in `buf`.
                self.newlines += count_newlines(&self.buf[from..]);
                let got = got?;
                n += got;
                if got < ask {
                    break;
                }
            }
            self.eof = n == 0;
            return Ok(());
        }
        let start = self.buf.len();
        self.buf.resize(start + want, 0);
        let n = loop {
            match self.inner.read(&mut self.buf[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(e);
                }
            }
        };
        self.buf.truncate(start + n);
        self.newlines += count_newlines(&self.buf[start..]);
        if n == 0 {
            self.eof = true;
        } else if self.interactive && n < want {
            self.flush_now = true;
        }
        Ok(())
    }

    /// The partial line from `tail_start` is too long: keep its head, drop the rest up to its
    /// newline while reading, and leave an empty line in its place.
    fn skip_long_line(&mut self, tail_start: usize) -> io::Result<()> {
        // Every newline of `buf` lies before `tail_start`, the start of its last line.
        let line = self.next_line + self.newlines as u64;
        let head_end = tail_start
            + self
                .opts
                .oversized_head_bytes
                .min(self.buf.len() - tail_start);
        let head = self.buf[tail_start..head_end].to_vec();
        let mut len = self.buf.len() - tail_start;
        self.buf.truncate(tail_start);
        let mut scratch = vec![0u8; 64 * 1024];
        loop {
            let n = match self.inner.read(&mut scratch) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.eof = true;
                break;
            }
            if let Some(i) = memchr::memchr(b'\n', &scratch[..n]) {
                len += i;
                self.buf.push(b'\n');
                self.buf.extend_from_slice(&scratch[i + 1..n]);
                break;
            }
            len += n;
        }
        if self.eof {
            self.buf.push(b'\n');
        }
        self.newlines = count_newlines(&self.buf);
        self.oversized.push(OversizedLine { line, len, head });
        Ok(())
    }
}

/// A partition given to this instance, with the checkpoint its task resumes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The partition.
    pub tp: crate::TopicPartition,
    /// The latest checkpoint stored for it (raw bytes; the pipeline parses them), if any.
    pub checkpoint: Option<Vec<u8>>,
}

/// What a source yields, in stream order.
#[derive(Debug)]
pub enum SourceItem {
    /// Lines (records) of one partition.
    Chunk(Chunk),
    /// Partitions given to this instance (Kafka rebalance): later chunks may come from them.
    Assigned(Vec<Assignment>),
    /// Partitions taken away (Kafka rebalance): no later chunk comes from them.
    Revoked(Vec<crate::TopicPartition>),
    /// A record of a repartition topic (see [`crate::kafka::repartition`]), passed on whole.
    Shuffled(Shuffled),
}

/// A repartition record as read.
#[derive(Debug)]
pub struct Shuffled {
    /// Its repartition partition.
    pub tp: crate::TopicPartition,
    /// Its offset there.
    pub offset: i64,
    /// The record.
    pub payload: Vec<u8>,
}

/// A source of records: a file, stdin, or a Kafka consumer-group member.
pub trait Source: Send {
    /// The next item; `None` at the end of the input.
    fn next_item(&mut self) -> io::Result<Option<SourceItem>>;
}

impl<R: Read + Send> Source for ChunkReader<R> {
    fn next_item(&mut self) -> io::Result<Option<SourceItem>> {
        if stop_requested() && !self.eof {
            tracing::info!("{}: stop requested, ending the input here", self.source);
            self.eof = true;
            return Ok(None);
        }
        Ok(self.next_chunk()?.map(SourceItem::Chunk))
    }
}

/// The number of lines of `data` (a last line without its newline counts), or `None` if a
/// line may be longer than `max` bytes. Cheaper than walking the lines: a SIMD count of the
/// newlines, after checking that every aligned block of `max / 2` bytes holds one (a line
/// longer than `max` would contain a whole block without any).
fn lines_if_none_longer(data: &[u8], max: usize, newlines: Option<usize>) -> Option<u64> {
    let block = (max / 2).max(1);
    let may_hold_long = data.len() > max
        && data
            .chunks(block)
            .any(|b| b.len() == block && memchr::memchr(b'\n', b).is_none());
    if may_hold_long {
        return None;
    }
    let newlines = newlines.unwrap_or_else(|| count_newlines(data));
    let unterminated = data.last().is_some_and(|&b| b != b'\n');
    Some(newlines as u64 + u64::from(unterminated))
}

/// Newlines in `bytes` (SIMD count).
fn count_newlines(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

/// An opened input: its reader, display name and whether it is interactive.
pub struct Input {
    /// Decompressed bytes.
    pub reader: Box<dyn Read + Send>,
    /// `stdin` or the path as given.
    pub name: String,
    /// stdin: flush chunks whenever the writer pauses.
    pub interactive: bool,
}

/// Opens `-` (stdin) or a file path; gzip is detected by its magic bytes, not the file name.
pub fn open_input(spec: &str) -> io::Result<Input> {
    if spec == "-" {
        let reader = maybe_gunzip(BufReader::with_capacity(256 * 1024, io::stdin()))?;
        return Ok(Input {
            reader,
            name: "stdin".into(),
            interactive: true,
        });
    }
    let mut file = File::open(Path::new(spec))
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open input {spec:?}: {e}")))?;
    let meta = file.metadata().ok();
    if meta.as_ref().is_some_and(|m| m.is_dir()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("input {spec:?} is a directory, not a log file"),
        ));
    }
    let reader: Box<dyn Read + Send> = if !meta.is_some_and(|m| m.is_file()) {
        // A FIFO or device may not have bytes yet: sniff on the first read.
        maybe_gunzip(BufReader::with_capacity(1 << 20, file))?
    } else if starts_with_gzip_magic(&mut file)? {
        Box::new(MultiGzDecoder::new(BufReader::with_capacity(1 << 20, file)))
    } else {
        // A plain regular file is read directly: the kernel copies into a chunk's spare
        // capacity, which is neither zeroed first (as a reader wrapper of ours would force)
        // nor copied again out of a buffer.
        Box::new(file)
    };
    Ok(Input {
        reader,
        name: spec.to_owned(),
        interactive: false,
    })
}

/// Whether a regular file starts with gzip's magic; the file is left at its start.
fn starts_with_gzip_magic(file: &mut File) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < magic.len() {
        match file.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    file.seek(io::SeekFrom::Start(0))?;
    Ok(got == magic.len() && magic == GZIP_MAGIC)
}

/// The first two bytes of a gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

fn maybe_gunzip<R: BufRead + Send + 'static>(r: R) -> io::Result<Box<dyn Read + Send>> {
    Ok(Box::new(Sniffed::Pending(Some(r))))
}

/// A reader that looks for the gzip magic on its first read, not when it is opened: opening
/// stdin must not wait for the first bytes (a service is up, serving health and metrics,
/// before its input says anything).
enum Sniffed<R: BufRead> {
    Pending(Option<R>),
    Plain(R),
    Gzip(MultiGzDecoder<R>),
}

impl<R: BufRead> Read for Sniffed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Sniffed::Pending(r) = self {
            let Some(mut r) = r.take() else {
                return Ok(0);
            };
            *self = if r.fill_buf()?.starts_with(&GZIP_MAGIC) {
                Sniffed::Gzip(MultiGzDecoder::new(r))
            } else {
                Sniffed::Plain(r)
            };
        }
        match self {
            Sniffed::Plain(r) => r.read(buf),
            Sniffed::Gzip(r) => r.read(buf),
            Sniffed::Pending(_) => Ok(0),
        }
    }
}

#[cfg(test)]
mod tests;
