//! The fan-out never blocks its caller, isolates sinks from each other and
//! counts sent, failed and dropped records.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sensor_output::{FanOut, HealthChange, Record, Sink, SinkError, SinkErrorKind};

/// Counts what it receives.
struct Counting(Arc<AtomicU64>);

impl Sink for Counting {
    fn name(&self) -> &str {
        "counting"
    }
    fn send(&mut self, _: &Record) -> Result<(), SinkError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Blocks every send until released; says when a send has begun.
struct Stuck(Arc<AtomicBool>, Arc<AtomicBool>);

impl Sink for Stuck {
    fn name(&self) -> &str {
        "stuck"
    }
    fn send(&mut self, _: &Record) -> Result<(), SinkError> {
        self.1.store(true, Ordering::SeqCst);
        while !self.0.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }
}

/// Fails while `down` is set.
struct Flaky(Arc<AtomicBool>);

impl Sink for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    fn send(&mut self, _: &Record) -> Result<(), SinkError> {
        if self.0.load(Ordering::SeqCst) {
            Err(SinkError::new(SinkErrorKind::Unavailable, "down"))
        } else {
            Ok(())
        }
    }
}

/// Sets the flag when dropped.
struct ReleaseOnDrop(Arc<AtomicBool>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn alert() -> Record {
    Record::Alert(support::sample::bare(1))
}

#[test]
fn stuck_sink_neither_blocks_caller_nor_other_sinks() {
    let count = Arc::new(AtomicU64::new(0));
    let release = Arc::new(AtomicBool::new(false));
    let entered = Arc::new(AtomicBool::new(false));
    let fanout = FanOut::builder()
        .sink_with_capacity(Stuck(release.clone(), entered.clone()), 10)
        .sink(Counting(count.clone()))
        .build()
        .unwrap();
    // Dropped before the fan-out (which joins its threads): a failing
    // assertion releases the stuck sink instead of hanging the test.
    let _release_on_unwind = ReleaseOnDrop(release.clone());
    let start = Instant::now();
    for _ in 0..1000 {
        fanout.send(alert());
    }
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "send blocked: {:?}",
        start.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while count.load(Ordering::SeqCst) < 1000 {
        assert!(Instant::now() < deadline, "other sink starved");
        std::thread::sleep(Duration::from_millis(5));
    }
    // The counts below hold once the stuck sink holds one record in flight.
    while !entered.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "stuck sink never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = fanout.stats();
    // One in flight, ten queued: the rest dropped and counted.
    assert_eq!(stats[0].name, "stuck");
    assert!(stats[0].dropped >= 1000 - 11, "{stats:?}");
    assert_eq!(
        stats[0].sent + stats[0].queued + stats[0].dropped + 1,
        1000,
        "{stats:?}"
    );
    assert_eq!(stats[1].sent, 1000);
    assert_eq!(stats[1].dropped, 0);
    release.store(true, Ordering::SeqCst);
    let stats = fanout.shutdown();
    assert_eq!(stats[0].sent + stats[0].dropped, 1000, "{stats:?}");
}

#[test]
fn failures_are_counted_and_health_changes_reported() {
    let down = Arc::new(AtomicBool::new(true));
    let changes: Arc<Mutex<Vec<HealthChange>>> = Arc::default();
    let seen = changes.clone();
    let fanout = FanOut::builder()
        .sink(Flaky(down.clone()))
        .on_health_change(move |c| seen.lock().unwrap().push(c.clone()))
        .build()
        .unwrap();
    for _ in 0..5 {
        fanout.send(alert());
    }
    assert!(fanout.wait_idle(Duration::from_secs(5)));
    std::thread::sleep(Duration::from_millis(50));
    let s = &fanout.stats()[0];
    assert_eq!((s.sent, s.failed, s.healthy), (0, 5, false), "{s:?}");
    down.store(false, Ordering::SeqCst);
    for _ in 0..3 {
        fanout.send(alert());
    }
    let stats = fanout.shutdown();
    assert_eq!(
        (stats[0].sent, stats[0].failed, stats[0].healthy),
        (3, 5, true)
    );
    let changes = changes.lock().unwrap();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(!changes[0].healthy && changes[0].error.as_deref() == Some("down"));
    assert!(changes[1].healthy);
}
