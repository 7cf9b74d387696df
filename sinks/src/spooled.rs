//! A remote destination behind a durable spool and a sender thread.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::route::Route;
use crate::spool::{now_ms, Record, SpoolReader, SpoolWriter, Spooled};
use crate::{Sink, SinkError, SinkReport};

/// Why a delivery attempt failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// Worth retrying (network, timeout, 5xx, 429) or not (a 4xx refusing the payload).
    pub retryable: bool,
    /// What happened, without secrets.
    pub reason: String,
    /// The destination asked to wait this long (HTTP `Retry-After`).
    pub retry_after: Option<Duration>,
}

impl SendError {
    /// A failure worth retrying.
    pub fn retry(reason: impl Into<String>) -> Self {
        SendError {
            retryable: true,
            reason: reason.into(),
            retry_after: None,
        }
    }

    /// A failure retrying cannot fix: the records go to the dead-letter file.
    pub fn permanent(reason: impl Into<String>) -> Self {
        SendError {
            retryable: false,
            reason: reason.into(),
            retry_after: None,
        }
    }
}

/// A remote destination. Its futures run on the sender thread's own single-threaded runtime.
// Not `dyn`-used and never sent across threads mid-await, so `async fn` in the trait is fine.
#[allow(async_fn_in_trait)]
pub trait Destination: Send + 'static {
    /// Records per delivery attempt (1 for per-alert APIs).
    fn batch_max(&self) -> usize;
    /// How long a partial batch may wait for more records.
    fn batch_linger(&self) -> Duration {
        Duration::ZERO
    }
    /// Whether traffic statistics rows are sent here.
    fn wants_traffic(&self) -> bool {
        false
    }
    /// One-time set-up before the first delivery (schema migrations); retried on failure.
    async fn prepare(&mut self) -> Result<(), SendError> {
        Ok(())
    }
    /// Delivers records, all or nothing.
    async fn send(&mut self, records: &[Spooled]) -> Result<(), SendError>;
    /// Called about every 200 ms (PagerDuty auto-resolve).
    fn tick(&mut self) -> impl Future<Output = ()> {
        async {}
    }
}

/// How a destination is delivered to.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Records per second at most (`None`: unlimited).
    pub rate_per_sec: Option<f64>,
    /// First retry delay; doubles per failure up to `max_backoff`, with jitter.
    pub min_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// A record still undelivered this long after it was spooled goes to the dead-letter file.
    pub give_up_after: Duration,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            rate_per_sec: None,
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

/// Shared between the sink (pipeline thread) and its sender thread.
struct Control {
    stop: AtomicBool,
    /// Set by `finish`: the sender gives up draining at this instant.
    deadline: Mutex<Option<Instant>>,
}

impl Control {
    fn deadline_passed(&self) -> bool {
        self.deadline
            .lock()
            .map_or(true, |d| d.is_some_and(|d| Instant::now() >= d))
    }
}

/// A [`Sink`] that spools records durably and delivers them from a sender thread.
pub struct SpooledSink {
    name: String,
    /// Records appended by this process (the sender compares it with what it has taken).
    appended: Arc<AtomicU64>,
    route: Route,
    traffic: bool,
    writer: SpoolWriter,
    wake: SyncSender<()>,
    control: Arc<Control>,
    sender: Option<JoinHandle<SinkReport>>,
}

impl SpooledSink {
    /// Opens `spool_dir` (records left by an earlier run are delivered first) and starts the
    /// sender thread for `dest`.
    pub fn start<D: Destination>(
        name: &str,
        dest: D,
        spool_dir: &Path,
        route: Route,
        delivery: Delivery,
    ) -> Result<SpooledSink, SinkError> {
        let io_err = |source| SinkError::Io {
            sink: name.to_owned(),
            source,
        };
        let writer = SpoolWriter::open(spool_dir).map_err(io_err)?;
        let reader = writer.reader().map_err(io_err)?;
        let pending = reader.pending().map_err(io_err)?;
        if pending > 0 {
            tracing::info!(
                sink = name,
                pending,
                "delivering records spooled by an earlier run"
            );
        }
        let (wake, woken) = sync_channel(1);
        let control = Arc::new(Control {
            stop: AtomicBool::new(false),
            deadline: Mutex::new(None),
        });
        let traffic = dest.wants_traffic();
        let appended = Arc::new(AtomicU64::new(0));
        let sender = Sender {
            name: name.to_owned(),
            appended: appended.clone(),
            backlog_and_taken: (pending, 0),
            dest,
            reader,
            delivery,
            control: control.clone(),
            woken,
            report: SinkReport::default(),
            rng: (now_ms() as u64) | 1,
        };
        let handle = std::thread::Builder::new()
            .name(format!("sink-{name}"))
            .spawn(move || sender.run())
            .map_err(io_err)?;
        Ok(SpooledSink {
            name: name.to_owned(),
            appended,
            route,
            traffic,
            writer,
            wake,
            control,
            sender: Some(handle),
        })
    }

    fn append(&mut self, records: Vec<Record>) -> Result<(), SinkError> {
        if records.is_empty() {
            return Ok(());
        }
        let n = records.len() as u64;
        self.writer
            .append(records)
            .map_err(|source| SinkError::Io {
                sink: self.name.clone(),
                source,
            })?;
        self.appended.fetch_add(n, Ordering::Release);
        // A full channel means a wake-up is already pending.
        let _ = self.wake.try_send(());
        Ok(())
    }
}

impl Sink for SpooledSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn deliver(&mut self, records: &[Record]) -> Result<(), SinkError> {
        let records = records
            .iter()
            .filter(|r| match r {
                Record::Alert(a) => self.route.matches(a),
                _ => self.traffic,
            })
            .cloned()
            .collect();
        self.append(records)
    }

    fn wants_traffic(&self) -> bool {
        self.traffic
    }

    fn finish(&mut self, drain: Duration) -> Option<SinkReport> {
        if let Ok(mut d) = self.control.deadline.lock() {
            *d = Some(Instant::now() + drain);
        }
        self.control.stop.store(true, Ordering::Release);
        let _ = self.wake.try_send(());
        let report = self
            .sender
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if report.pending > 0 {
            tracing::warn!(
                sink = %self.name,
                pending = report.pending,
                "records not delivered before the drain timeout stay in the spool; the next start delivers them"
            );
        }
        Some(report)
    }
}

impl Drop for SpooledSink {
    fn drop(&mut self) {
        if self.sender.is_some() {
            self.finish(Duration::ZERO);
        }
    }
}

/// Failures are logged on the first attempt and then every this many.
const LOG_EVERY_FAILURES: u64 = 10;

/// How long the sender sleeps with nothing to do before checking again.
const IDLE_TICK: Duration = Duration::from_millis(200);

struct Sender<D> {
    name: String,
    appended: Arc<AtomicU64>,
    /// Records in the spool when the sender started, and records it has taken since.
    backlog_and_taken: (u64, u64),
    dest: D,
    reader: SpoolReader,
    delivery: Delivery,
    control: Arc<Control>,
    woken: Receiver<()>,
    report: SinkReport,
    rng: u64,
}

impl<D: Destination> Sender<D> {
    fn run(mut self) -> SinkReport {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(sink = %self.name, "cannot start the sender runtime: {e}");
                return self.finish();
            }
        };
        let mut prepared = false;
        let mut failures: u32 = 0;
        let mut next_send = Instant::now();
        // A partial batch waits for more records until then, unless the sink is finishing.
        let mut linger_until: Option<Instant> = None;
        loop {
            let stopping = self.control.stop.load(Ordering::Acquire);
            if stopping && self.control.deadline_passed() {
                break;
            }
            rt.block_on(self.dest.tick());
            metrics::gauge!("gatewatch_sink_spool_records", "sink" => self.name.clone())
                .set(self.spooled() as f64);
            let wait_until = match linger_until {
                Some(l) if !stopping && !self.full_batch_waiting() => next_send.max(l),
                _ => next_send,
            };
            if Instant::now() < wait_until {
                // Wake-ups from new deliveries land here without re-reading the spool.
                self.wait(wait_until.min(Instant::now() + IDLE_TICK));
                continue;
            }
            linger_until = None;
            if !prepared {
                match rt.block_on(self.dest.prepare()) {
                    Ok(()) => prepared = true,
                    Err(e) => {
                        failures += 1;
                        self.report.failed_attempts += 1;
                        self.count_failure("setup");
                        self.log_failure(&e, "set-up");
                        next_send = Instant::now() + self.backoff(failures, &e);
                        continue;
                    }
                }
            }
            let batch = match self.reader.read(self.dest.batch_max()) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(sink = %self.name, "cannot read the spool: {e}");
                    next_send = Instant::now() + Duration::from_secs(1);
                    continue;
                }
            };
            for u in &batch.unreadable {
                tracing::warn!(sink = %self.name, "spool: {u}");
            }
            if batch.records.is_empty() {
                if !batch.unreadable.is_empty() {
                    self.ack(batch.end);
                    continue;
                }
                if stopping {
                    break;
                }
                self.wait(Instant::now() + IDLE_TICK);
                continue;
            }
            let oldest = batch.records[0].at;
            let linger = self.dest.batch_linger().as_millis() as i64;
            let lingering = now_ms() - oldest < linger;
            if batch.records.len() < self.dest.batch_max() && lingering && !stopping {
                // Sleep out the linger instead of re-reading and re-parsing the partial batch
                // from the spool on every delivery's wake-up.
                let left = (linger - (now_ms() - oldest)).max(1) as u64;
                linger_until = Some(Instant::now() + Duration::from_millis(left));
                continue;
            }
            match rt.block_on(self.dest.send(&batch.records)) {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!(sink = %self.name, "delivering again after {failures} failed attempts");
                    }
                    failures = 0;
                    self.report.delivered += batch.records.len() as u64;
                    self.backlog_and_taken.1 += batch.records.len() as u64;
                    metrics::counter!("gatewatch_sink_delivered_total", "sink" => self.name.clone())
                        .increment(batch.records.len() as u64);
                    self.ack(batch.end);
                    if let Some(rate) = self.delivery.rate_per_sec.filter(|r| *r > 0.0) {
                        next_send = Instant::now()
                            + Duration::from_secs_f64(batch.records.len() as f64 / rate);
                    }
                }
                Err(e) => {
                    self.report.failed_attempts += 1;
                    self.count_failure(if e.retryable {
                        "retryable"
                    } else {
                        "permanent"
                    });
                    failures += 1;
                    let age = Duration::from_millis((now_ms() - oldest).max(0) as u64);
                    if !e.retryable || age >= self.delivery.give_up_after {
                        let reason = if e.retryable {
                            format!("gave up after {age:?} of retries: {}", e.reason)
                        } else {
                            e.reason.clone()
                        };
                        tracing::error!(sink = %self.name, records = batch.records.len(), "delivery failed, records written to the spool's dead-letter file: {reason}");
                        if let Err(io) = self.reader.dead_letter(&batch.records, &reason) {
                            tracing::error!(sink = %self.name, "cannot write the dead-letter file, will retry: {io}");
                            next_send = Instant::now() + Duration::from_secs(1);
                            continue;
                        }
                        self.report.dead_lettered += batch.records.len() as u64;
                        self.backlog_and_taken.1 += batch.records.len() as u64;
                        self.ack(batch.end);
                        failures = 0;
                    } else {
                        self.log_failure(&e, "delivery");
                        next_send = Instant::now() + self.backoff(failures, &e);
                    }
                }
            }
        }
        self.finish()
    }

    /// Records in the spool not yet delivered or given up on, by counting rather than reading.
    fn spooled(&self) -> u64 {
        let (backlog, taken) = self.backlog_and_taken;
        (backlog + self.appended.load(Ordering::Acquire)).saturating_sub(taken)
    }

    /// Whether a full batch is in the spool.
    fn full_batch_waiting(&self) -> bool {
        self.spooled() >= self.dest.batch_max() as u64
    }

    /// A failed attempt, for `gatewatch_sink_delivery_failures_total{sink,reason}`.
    fn count_failure(&self, reason: &'static str) {
        metrics::counter!(
            "gatewatch_sink_delivery_failures_total",
            "sink" => self.name.clone(),
            "reason" => reason
        )
        .increment(1);
    }

    fn finish(mut self) -> SinkReport {
        self.report.pending = self.reader.pending().unwrap_or(0);
        self.report
    }

    fn ack(&mut self, end: crate::spool::Position) {
        if let Err(e) = self.reader.ack(end) {
            // Not fatal: records after the last saved cursor are delivered again after a
            // restart, and destinations deduplicate them.
            tracing::warn!(sink = %self.name, "cannot save the spool cursor: {e}");
        }
    }

    fn log_failure(&self, e: &SendError, what: &str) {
        let n = self.report.failed_attempts;
        if n == 1 || n.is_multiple_of(LOG_EVERY_FAILURES) {
            tracing::warn!(sink = %self.name, failed_attempts = n, "{what} failed, will retry: {}", e.reason);
        }
    }

    /// Exponential backoff with "equal jitter": half fixed, half random, so many gatewatch
    /// instances retrying one destination spread out.
    fn backoff(&mut self, failures: u32, e: &SendError) -> Duration {
        let exp = self
            .delivery
            .min_backoff
            .saturating_mul(1 << failures.saturating_sub(1).min(20))
            .min(self.delivery.max_backoff);
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let half = exp / 2;
        let jitter = half.mul_f64((self.rng % 10_000) as f64 / 10_000.0);
        let wait = half + jitter;
        match e.retry_after {
            Some(asked) => wait.max(asked.min(self.delivery.max_backoff)),
            None => wait,
        }
    }

    /// Sleeps until `until`, or earlier when records arrive or `finish` is called.
    fn wait(&self, until: Instant) {
        let now = Instant::now();
        if until <= now {
            return;
        }
        match self.woken.recv_timeout(until - now) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(until - now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Fails its first `fail` attempts, retryably or not, and counts what it accepted.
    struct Flaky {
        fail: usize,
        retryable: bool,
        attempts: Arc<AtomicUsize>,
        accepted: Arc<Mutex<Vec<String>>>,
    }

    impl Destination for Flaky {
        fn batch_max(&self) -> usize {
            2
        }
        async fn send(&mut self, records: &[Spooled]) -> Result<(), SendError> {
            let n = self.attempts.fetch_add(1, Ordering::SeqCst);
            if n < self.fail {
                return Err(if self.retryable {
                    SendError::retry("down")
                } else {
                    SendError::permanent("HTTP 400: bad payload")
                });
            }
            let mut acc = self.accepted.lock().expect("lock");
            for r in records {
                if let Record::Alert(a) = &r.record {
                    acc.push(a.id.clone());
                }
            }
            Ok(())
        }
    }

    fn alert(id: &str) -> Record {
        Record::Alert(crate::test_alert(id, "r", "high", &[]))
    }

    fn run(fail: usize, retryable: bool, give_up: Duration) -> (SinkReport, Vec<String>, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let dest = Flaky {
            fail,
            retryable,
            attempts: Arc::new(AtomicUsize::new(0)),
            accepted: accepted.clone(),
        };
        let delivery = Delivery {
            min_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            give_up_after: give_up,
            ..Delivery::default()
        };
        let mut sink =
            SpooledSink::start("t", dest, dir.path(), Route::default(), delivery).expect("start");
        sink.deliver(&[alert("a"), alert("b"), alert("c")])
            .expect("deliver");
        let report = sink.finish(Duration::from_secs(10)).unwrap_or_default();
        let dead =
            std::fs::read_to_string(dir.path().join("dead-letter.jsonl")).unwrap_or_default();
        let got = accepted.lock().expect("lock").clone();
        (report, got, dead)
    }

    #[test]
    fn retries_until_the_destination_recovers() {
        let (report, got, dead) = run(3, true, Duration::from_secs(60));
        assert_eq!(got, vec!["a", "b", "c"]);
        assert_eq!(report.delivered, 3);
        assert_eq!(report.failed_attempts, 3);
        assert_eq!(report.pending, 0);
        assert!(dead.is_empty());
    }

    #[test]
    fn a_permanent_refusal_dead_letters_that_batch_only() {
        let (report, got, dead) = run(1, false, Duration::from_secs(60));
        assert_eq!(got, vec!["c"], "the first batch (a, b) was refused");
        assert_eq!(report.dead_lettered, 2);
        assert_eq!(dead.lines().count(), 2);
        assert!(dead.contains("bad payload"), "{dead}");
    }

    #[test]
    fn records_past_the_give_up_time_are_dead_lettered() {
        let (report, got, dead) = run(usize::MAX, true, Duration::ZERO);
        assert!(got.is_empty());
        assert_eq!(report.dead_lettered, 3);
        assert_eq!(report.pending, 0);
        assert!(dead.contains("gave up after"), "{dead}");
    }
}
