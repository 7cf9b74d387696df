//! The reader and decoder threads and the messages between them and the engine thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use std::thread;

use gatewatch_ingest::kafka::{KafkaItem, KafkaSource, SourceEvent};
use gatewatch_ingest::{Chunk, ChunkDecoder, ChunkReader, ColumnSet, DecodedChunk};

/// What the reader produces.
pub enum Reader {
    /// Lines from a file or stdin.
    Lines(ChunkReader<Box<dyn std::io::Read + Send>>),
    /// Records from Kafka.
    Kafka(Box<KafkaSource>),
}

/// Reader -> decoder.
pub enum ToWorker {
    Chunk(Chunk),
    Event(SourceEvent),
    Error(String),
}

/// Decoder -> engine thread.
pub enum FromWorker {
    Decoded(DecodedChunk),
    Event(SourceEvent),
    Error(String),
}

impl Reader {
    fn next(&mut self) -> Option<ToWorker> {
        match self {
            Reader::Lines(r) => match r.next_chunk() {
                Ok(Some(c)) => Some(ToWorker::Chunk(c)),
                Ok(None) => None,
                Err(e) => Some(ToWorker::Error(format!("reading input: {e}"))),
            },
            Reader::Kafka(k) => match k.next_item() {
                Ok(Some(KafkaItem::Chunk(c))) => Some(ToWorker::Chunk(c)),
                Ok(Some(KafkaItem::Event(e))) => Some(ToWorker::Event(e)),
                Ok(None) => None,
                Err(e) => Some(ToWorker::Error(format!("reading from Kafka: {e}"))),
            },
        }
    }
}

/// Deals the reader's output to the decoders round-robin until the input ends or fails.
pub fn spawn_reader(
    mut reader: Reader,
    workers: Vec<SyncSender<ToWorker>>,
) -> thread::JoinHandle<()> {
    thread::Builder::new()
        .name("gw-read".into())
        .spawn(move || {
            let mut i = 0;
            while let Some(msg) = reader.next() {
                let failed = matches!(msg, ToWorker::Error(_));
                if workers[i % workers.len()].send(msg).is_err() || failed {
                    break;
                }
                i += 1;
            }
        })
        .expect("spawning the reader thread")
}

/// Decodes chunks with the projection in force; passes events and errors through in order.
pub fn spawn_decoder(
    mut decoder: ChunkDecoder,
    projection: Arc<AtomicU64>,
    input: Receiver<ToWorker>,
    output: SyncSender<FromWorker>,
    recycle: SyncSender<Vec<u8>>,
) -> thread::JoinHandle<()> {
    thread::Builder::new()
        .name("gw-decode".into())
        .spawn(move || {
            for msg in input {
                let out = match msg {
                    ToWorker::Chunk(chunk) => {
                        decoder.set_projection(ColumnSet::from_bits(
                            projection.load(Ordering::Relaxed),
                        ));
                        let out = match decoder.decode(&chunk, now_ms()) {
                            Ok(d) => FromWorker::Decoded(d),
                            Err(e) => FromWorker::Error(format!("decoding: {e}")),
                        };
                        // Hand the buffer back to the reader; if its pool is full, drop it.
                        let _ = recycle.try_send(chunk.data);
                        out
                    }
                    ToWorker::Event(e) => FromWorker::Event(e),
                    ToWorker::Error(e) => FromWorker::Error(e),
                };
                if output.send(out).is_err() {
                    break;
                }
            }
        })
        .expect("spawning a decoder thread")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
