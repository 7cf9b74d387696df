//! The reader thread and the decoder threads.
//!
//! The reader deals source items to the decoders round-robin; each decoder decodes its chunks
//! into Arrow batches (only the columns the loaded rules read) and evaluates every rule's
//! stateless filter on them, so the most expensive per-row work runs on every core. The main
//! thread collects the decoders' output in the same round-robin order, so it sees the input
//! order whatever the thread count, and assignments and revocations arrive in order too.

use std::sync::{Arc, PoisonError, RwLock};
use std::thread;

use crossbeam_channel::{Receiver, Sender};
use gatewatch_engine::operator::FilterMasks;
use gatewatch_engine::RuleSet;
use gatewatch_ingest::{ChunkDecoder, DecodedChunk, Source, SourceItem};

/// The rule set in force, shared with the decoders (a reload swaps it).
pub type SharedRules = Arc<RwLock<Arc<RuleSet>>>;

/// Reads the rule set in force.
pub fn current(rules: &SharedRules) -> Arc<RuleSet> {
    rules.read().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Reader -> decoder.
pub enum ToDecoder {
    /// Decode this.
    Item(SourceItem),
    /// The source failed.
    Error(String),
}

/// Decoder -> main thread.
pub enum FromDecoder {
    /// A decoded chunk, with the rules' stateless filter results.
    Decoded(Box<DecodedChunk>, Option<Arc<FilterMasks>>),
    /// An assignment or revocation, passed through in order.
    Event(SourceItem),
    /// The source or a decoder failed.
    Error(String),
}

/// Deals the source's items to the decoders round-robin until the input ends or fails.
pub fn spawn_reader(
    mut source: Box<dyn Source>,
    workers: Vec<Sender<ToDecoder>>,
) -> std::io::Result<thread::JoinHandle<()>> {
    thread::Builder::new()
        .name("gw-read".into())
        .spawn(move || {
            let mut i = 0;
            loop {
                let msg = match source.next_item() {
                    Ok(Some(item)) => ToDecoder::Item(item),
                    Ok(None) => break,
                    Err(e) => ToDecoder::Error(format!("reading input: {e}")),
                };
                let failed = matches!(msg, ToDecoder::Error(_));
                if workers[i % workers.len()].send(msg).is_err() || failed {
                    break;
                }
                i += 1;
            }
        })
}

/// Decodes chunks with the projection of the rule set in force and evaluates the rules'
/// stateless filters; passes events and errors through in order.
pub fn spawn_decoder(
    mut decoder: ChunkDecoder,
    rules: SharedRules,
    input: Receiver<ToDecoder>,
    output: Sender<FromDecoder>,
    recycle: std::sync::mpsc::SyncSender<Vec<u8>>,
) -> std::io::Result<thread::JoinHandle<()>> {
    thread::Builder::new()
        .name("gw-decode".into())
        .spawn(move || {
            for msg in input {
                let out = match msg {
                    ToDecoder::Item(SourceItem::Chunk(chunk)) => {
                        let set = current(&rules);
                        decoder.set_projection(set.projection());
                        let out = match decoder.decode(&chunk, now_ms()) {
                            Ok(d) => {
                                let masks = if d.batch.num_rows() > 0 {
                                    match set.masks(&d.batch) {
                                        Ok(m) => Some(Arc::new(m)),
                                        // The task evaluates the filter itself and reports.
                                        Err(_) => None,
                                    }
                                } else {
                                    None
                                };
                                FromDecoder::Decoded(Box::new(d), masks)
                            }
                            Err(e) => FromDecoder::Error(format!("decoding: {e}")),
                        };
                        // Hand the buffer back to the reader; if its pool is full, drop it.
                        let _ = recycle.try_send(chunk.data);
                        out
                    }
                    ToDecoder::Item(item) => FromDecoder::Event(item),
                    ToDecoder::Error(e) => FromDecoder::Error(e),
                };
                if output.send(out).is_err() {
                    break;
                }
            }
        })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
