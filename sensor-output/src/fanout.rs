//! Fan-out of records to every sink through bounded queues, one thread per
//! sink, with per-sink counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};

use crate::sink::{Record, Sink};

/// Queue length per sink unless set otherwise.
pub const DEFAULT_QUEUE_CAPACITY: usize = 65_536;

/// Counters of one sink at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SinkStats {
    /// The sink's name.
    pub name: String,
    /// Records delivered.
    pub sent: u64,
    /// Records the sink failed to deliver.
    pub failed: u64,
    /// Records dropped because the sink's queue was full.
    pub dropped: u64,
    /// Records waiting in the queue.
    pub queued: u64,
    /// Whether the last delivery attempt succeeded.
    pub healthy: bool,
}

/// A sink went down or came back; given to the listener set with
/// [`FanOutBuilder::on_health_change`] (e.g. to record a sensor event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthChange {
    /// The sink's name.
    pub sink: String,
    /// `false` when the sink started failing, `true` when it recovered.
    pub healthy: bool,
    /// The error that made it unhealthy.
    pub error: Option<String>,
}

type Listener = Arc<dyn Fn(&HealthChange) + Send + Sync>;

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    unhealthy: AtomicBool,
}

struct Lane {
    name: String,
    tx: Option<Sender<Arc<Record>>>,
    counters: Arc<Counters>,
    reopen: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

/// Builds a [`FanOut`].
pub struct FanOutBuilder {
    sinks: Vec<(Box<dyn Sink>, usize)>,
    tick: Duration,
    listener: Option<Listener>,
}

impl FanOutBuilder {
    /// Adds a sink with the default queue capacity.
    pub fn sink(self, sink: impl Sink + 'static) -> Self {
        self.sink_with_capacity(sink, DEFAULT_QUEUE_CAPACITY)
    }

    /// Adds a boxed sink with the default queue capacity.
    pub fn boxed_sink(mut self, sink: Box<dyn Sink>) -> Self {
        self.sinks.push((sink, DEFAULT_QUEUE_CAPACITY));
        self
    }

    /// Adds a sink whose queue holds at most `capacity` records.
    pub fn sink_with_capacity(mut self, sink: impl Sink + 'static, capacity: usize) -> Self {
        self.sinks.push((Box::new(sink), capacity.max(1)));
        self
    }

    /// How often an idle sink thread checks for a pending reopen (default
    /// 200 ms).
    pub fn tick(mut self, tick: Duration) -> Self {
        self.tick = tick;
        self
    }

    /// Called from the sink's thread whenever a sink starts failing or
    /// recovers. Keep it quick; it must not call back into the fan-out.
    pub fn on_health_change(mut self, f: impl Fn(&HealthChange) + Send + Sync + 'static) -> Self {
        self.listener = Some(Arc::new(f));
        self
    }

    /// Starts one thread per sink.
    pub fn build(self) -> std::io::Result<FanOut> {
        let mut lanes = Vec::with_capacity(self.sinks.len());
        for (sink, capacity) in self.sinks {
            let (tx, rx) = bounded::<Arc<Record>>(capacity);
            let name = sink.name().to_string();
            let counters = Arc::new(Counters::default());
            let reopen = Arc::new(AtomicU64::new(0));
            // The sink lives on its own thread, so `accepts` is asked there:
            // the caller's thread never touches a sink.
            let worker = Worker {
                sink,
                rx,
                counters: counters.clone(),
                reopen: reopen.clone(),
                tick: self.tick,
                listener: self.listener.clone(),
            };
            let thread = std::thread::Builder::new()
                .name(format!("sink-{}", short(&name)))
                .spawn(move || worker.run())?;
            lanes.push(Lane {
                name,
                tx: Some(tx),
                counters,
                reopen,
                thread: Some(thread),
            });
        }
        Ok(FanOut { lanes })
    }
}

/// Thread names are limited to 15 bytes on Linux.
fn short(name: &str) -> String {
    name.chars().take(10).collect()
}

/// Sends every record to every sink without ever blocking the caller.
///
/// Each sink has a bounded queue and its own thread. When a queue is full the
/// record is dropped for that sink only (and counted); a slow, failing or
/// unreachable sink therefore never delays the others.
///
/// ```
/// use sensor_output::{FanOut, Record, Sink, SinkError};
/// struct Count(u32);
/// impl Sink for Count {
///     fn name(&self) -> &str { "count" }
///     fn send(&mut self, _: &Record) -> Result<(), SinkError> { self.0 += 1; Ok(()) }
/// }
/// let fanout = FanOut::builder().sink(Count(0)).build().unwrap();
/// let stats = fanout.shutdown();
/// assert_eq!(stats[0].sent, 0);
/// ```
pub struct FanOut {
    lanes: Vec<Lane>,
}

impl FanOut {
    /// A builder with no sinks.
    pub fn builder() -> FanOutBuilder {
        FanOutBuilder {
            sinks: Vec::new(),
            tick: Duration::from_millis(200),
            listener: None,
        }
    }

    /// Queues `record` for every sink; never blocks.
    pub fn send(&self, record: Record) {
        self.send_shared(Arc::new(record));
    }

    /// Queues an already shared record for every sink; never blocks.
    pub fn send_shared(&self, record: Arc<Record>) {
        for lane in &self.lanes {
            let Some(tx) = &lane.tx else { continue };
            match tx.try_send(record.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                    lane.counters.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Asks every sink to reopen its files (log rotation); done by each
    /// sink's thread before its next record, or within one tick when idle.
    pub fn reopen(&self) {
        for lane in &self.lanes {
            lane.reopen.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counters of every sink, in the order the sinks were added.
    pub fn stats(&self) -> Vec<SinkStats> {
        self.lanes
            .iter()
            .map(|lane| SinkStats {
                name: lane.name.clone(),
                sent: lane.counters.sent.load(Ordering::Relaxed),
                failed: lane.counters.failed.load(Ordering::Relaxed),
                dropped: lane.counters.dropped.load(Ordering::Relaxed),
                queued: lane.tx.as_ref().map_or(0, |tx| tx.len() as u64),
                healthy: !lane.counters.unhealthy.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Waits up to `timeout` for every queue to drain; true if they did. The
    /// record each sink took last may still be in flight.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self
                .lanes
                .iter()
                .all(|l| l.tx.as_ref().is_none_or(|tx| tx.is_empty()))
            {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops accepting records, lets every sink drain its queue and flush,
    /// joins the threads and returns the final counters.
    pub fn shutdown(mut self) -> Vec<SinkStats> {
        self.close();
        self.stats()
    }

    fn close(&mut self) {
        for lane in &mut self.lanes {
            lane.tx = None;
        }
        for lane in &mut self.lanes {
            if let Some(t) = lane.thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl Drop for FanOut {
    fn drop(&mut self) {
        self.close();
    }
}

struct Worker {
    sink: Box<dyn Sink>,
    rx: Receiver<Arc<Record>>,
    counters: Arc<Counters>,
    reopen: Arc<AtomicU64>,
    tick: Duration,
    listener: Option<Listener>,
}

impl Worker {
    fn run(mut self) {
        let mut reopened = 0u64;
        loop {
            let wanted = self.reopen.load(Ordering::Relaxed);
            if wanted != reopened {
                reopened = wanted;
                let result = self.sink.reopen();
                self.note(result.map(|_| false));
            }
            match self.rx.recv_timeout(self.tick) {
                Ok(record) => {
                    if !self.sink.accepts(&record) {
                        continue;
                    }
                    let result = self.sink.send(&record);
                    match &result {
                        Ok(()) => self.counters.sent.fetch_add(1, Ordering::Relaxed),
                        Err(_) => self.counters.failed.fetch_add(1, Ordering::Relaxed),
                    };
                    self.note(result.map(|_| true));
                    if self.rx.is_empty() {
                        let flushed = self.sink.flush();
                        self.note(flushed.map(|_| false));
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let _ = self.sink.flush();
    }

    /// Tracks health transitions. `Ok(true)` is a delivery; `Ok(false)` a
    /// flush or reopen that succeeded, which does not prove the destination
    /// is back, so it leaves an unhealthy sink unhealthy.
    fn note(&self, result: Result<bool, crate::SinkError>) {
        let was_unhealthy = self.counters.unhealthy.load(Ordering::Relaxed);
        let change = match result {
            Ok(true) if was_unhealthy => {
                self.counters.unhealthy.store(false, Ordering::Relaxed);
                HealthChange {
                    sink: self.sink.name().to_string(),
                    healthy: true,
                    error: None,
                }
            }
            Err(e) if !was_unhealthy => {
                self.counters.unhealthy.store(true, Ordering::Relaxed);
                HealthChange {
                    sink: self.sink.name().to_string(),
                    healthy: false,
                    error: Some(e.to_string()),
                }
            }
            _ => return,
        };
        if let Some(listener) = &self.listener {
            listener(&change);
        }
    }
}
