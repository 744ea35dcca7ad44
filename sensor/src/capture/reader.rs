//! The ring-buffer reader: drains kernel records into a [`PacketSink`].
//!
//! The kernel submits records without waking the reader until 64 KiB are
//! unread in a ring (see `CaptureConfig::wakeup_bytes`), so the reader both
//! waits for readiness of any ring and drains them all on a short timer. With one
//! ring per CPU, records are merged back into timestamp order. Kernel
//! counters are read on another timer and any new losses are reported:
//! losses are never silent.

use std::{
    future::Future,
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
    time::{Duration, Instant},
};

use aya::maps::{MapData, RingBuf};
use sensor_common::record::MAX_RINGS;
use serde::Serialize;
use tokio::io::{Interest, unix::AsyncFd};

use super::{
    CaptureError, CaptureErrorKind as Kind, CounterTotals, KernelCapture, PacketEvent,
    ProgramStats, WallClock,
    clock::{monotonic_ns, thread_cpu_ns},
    merge::{HOLD, Merge},
};

/// A gap between drains this many poll intervals long, when records were
/// lost, means the reader was starved of CPU rather than too slow (a slow
/// sink makes drains long, not the gaps between them).
const STARVED: u32 = 4;

/// How long after a drain that held records back the reader drains again.
const RELEASE_DELAY: Duration = Duration::from_millis(1);

/// Where the reader delivers what it reads. Closures taking a
/// [`PacketEvent`] are sinks that ignore counter reports.
pub trait PacketSink {
    /// One decoded packet record.
    fn packet(&mut self, event: PacketEvent);

    /// Called on every counter read with the totals and what changed since
    /// the previous read. The default logs new losses as a warning.
    fn counters(&mut self, totals: &CounterTotals, delta: &CounterTotals) {
        report_losses(totals, delta);
    }
}

impl<F: FnMut(PacketEvent)> PacketSink for F {
    fn packet(&mut self, event: PacketEvent) {
        self(event)
    }
}

/// Where [`KernelCapture::run_records`] delivers records as the kernel wrote
/// them, without decoding: a [`sensor_common::RecordHeader`] then
/// `captured_len` payload bytes, borrowed for the call (from the ring, or
/// with one ring per CPU from the merge's reused buffers). This is the
/// allocation-free path for a pipeline that decodes records itself (e.g.
/// with `sensor_packet::Packet::from_kernel_record`).
pub trait RecordSink {
    /// One record; returns false if it could not be decoded, which the
    /// summary counts as undecodable.
    fn record(&mut self, bytes: &[u8]) -> bool;

    /// As [`PacketSink::counters`].
    fn counters(&mut self, totals: &CounterTotals, delta: &CounterTotals) {
        report_losses(totals, delta);
    }

    /// Called before each [`RecordSink::counters`] with the longest time the
    /// reader went from the end of one drain to the start of the next since
    /// the previous call: how close it came to being starved of CPU.
    fn drain_gap(&mut self, _longest: Duration) {}
}

impl<F: FnMut(&[u8]) -> bool> RecordSink for F {
    fn record(&mut self, bytes: &[u8]) -> bool {
        self(bytes)
    }
}

fn report_losses(totals: &CounterTotals, delta: &CounterTotals) {
    if delta.records_lost > 0 {
        log::warn!(
            "kernel ring buffer full: {} records lost since last report (total {} lost of {} packets seen)",
            delta.records_lost,
            totals.records_lost,
            totals.packets_seen
        );
    }
}

/// Decodes records into [`PacketEvent`]s for a [`PacketSink`].
struct Decoding<S> {
    sink: S,
    clock: WallClock,
    failures: u64,
}

impl<S: PacketSink> RecordSink for Decoding<S> {
    fn record(&mut self, bytes: &[u8]) -> bool {
        match PacketEvent::decode(bytes, &self.clock) {
            Ok(event) => {
                self.sink.packet(event);
                true
            }
            Err(e) => {
                self.failures += 1;
                if self.failures <= 10 {
                    log::warn!("undecodable kernel record: {e}");
                }
                false
            }
        }
    }

    fn counters(&mut self, totals: &CounterTotals, delta: &CounterTotals) {
        self.sink.counters(totals, delta);
    }
}

/// What a capture saw, reported when it stops.
#[derive(Clone, Debug, Serialize)]
pub struct CaptureSummary {
    /// Kernel counters after the programs were detached and the ring drained.
    pub counters: CounterTotals,
    /// Records user space read and decoded.
    pub records_received: u64,
    /// Records user space read but could not decode (never expected).
    pub records_undecodable: u64,
    /// How long the capture ran.
    pub duration_secs: f64,
    /// CPU time of the thread that read the rings, over the run, in ns:
    /// reading, merging and whatever the sink did with the records.
    pub reader_cpu_ns: u64,
    /// The longest time from the end of one drain of the rings to the start
    /// of the next, in ns. Losses with a long gap (far beyond the poll
    /// interval) mean the reader was not scheduled; with short gaps, that it
    /// could not keep up.
    pub longest_drain_gap_ns: u64,
    /// Per-program run-time statistics (when enabled).
    pub program_stats: Vec<ProgramStats>,
}

impl CaptureSummary {
    /// Records the kernel emitted but user space never received; zero unless
    /// something is badly wrong, since the ring is drained after detaching.
    pub fn unaccounted(&self) -> i64 {
        self.counters.records_emitted as i64
            - (self.records_received + self.records_undecodable) as i64
    }
}

/// The rings and what has been read from them.
struct Drain {
    rings: Vec<RingBuf<MapData>>,
    /// With more than one ring: records read but not yet handed on.
    merge: Option<Merge>,
    received: u64,
    undecodable: u64,
    /// When the last drain ended (CLOCK_MONOTONIC ns), and the longest
    /// time from the end of a drain to the start of the next: over the run,
    /// and since the last report. Time spent draining (and in the sink) is
    /// not a gap.
    last_drain_end_ns: u64,
    longest_gap_ns: u64,
    longest_gap_since_report_ns: u64,
}

impl Drain {
    fn new(rings: Vec<RingBuf<MapData>>) -> Drain {
        let merge = (rings.len() > 1).then(Merge::default);
        Drain {
            rings,
            merge,
            received: 0,
            undecodable: 0,
            last_drain_end_ns: monotonic_ns(),
            longest_gap_ns: 0,
            longest_gap_since_report_ns: 0,
        }
    }

    /// Reads every ring into `sink`, and measures the gap since the last
    /// drain ended.
    fn drain(&mut self, sink: &mut impl RecordSink) {
        let now = monotonic_ns();
        let gap = now.saturating_sub(self.last_drain_end_ns);
        self.longest_gap_ns = self.longest_gap_ns.max(gap);
        self.longest_gap_since_report_ns = self.longest_gap_since_report_ns.max(gap);
        self.read_rings(now, sink);
        self.last_drain_end_ns = monotonic_ns();
    }

    /// Reads every ring; `now` is when the drain started. One ring's records
    /// go straight to `sink`; several rings' go through the merge, which
    /// hands on those old enough to be in order (see [`merge`](super::merge)).
    fn read_rings(&mut self, now: u64, sink: &mut impl RecordSink) {
        let Drain {
            rings,
            merge,
            received,
            undecodable,
            ..
        } = self;
        let mut deliver = |bytes: &[u8]| {
            if sink.record(bytes) {
                *received += 1;
            } else {
                *undecodable += 1;
            }
        };
        match merge {
            None => {
                for ring in rings.iter_mut() {
                    while let Some(item) = ring.next() {
                        deliver(&item);
                    }
                }
            }
            Some(merge) => {
                // Sampled before reading: a record stamped before this,
                // less the hold, is written by now.
                let watermark = now.saturating_sub(HOLD.as_nanos() as u64);
                for ring in rings.iter_mut() {
                    while let Some(item) = ring.next() {
                        merge.push(&item);
                    }
                }
                merge.release(watermark, deliver);
            }
        }
    }

    /// Reads every ring and hands on everything (the programs are detached).
    fn flush(&mut self, sink: &mut impl RecordSink) {
        self.drain(sink);
        let Drain {
            merge,
            received,
            undecodable,
            ..
        } = self;
        if let Some(merge) = merge {
            merge.release_all(|bytes| {
                if sink.record(bytes) {
                    *received += 1;
                } else {
                    *undecodable += 1;
                }
            });
        }
    }

    /// Whether records are held back for ordering.
    fn holding(&self) -> bool {
        self.merge.as_ref().is_some_and(|m| m.held() > 0)
    }
}

/// An epoll instance watching every ring: readable when one is.
fn watch(rings: &[RingBuf<MapData>]) -> std::io::Result<OwnedFd> {
    // SAFETY: plain syscall; the fd is owned on success.
    let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epoll < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh fd we own.
    let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
    for (i, ring) in rings.iter().enumerate() {
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: i as u64,
        };
        // SAFETY: both fds are open; `event` is valid for the call.
        let ret = unsafe {
            libc::epoll_ctl(
                epoll.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                ring.as_raw_fd(),
                &mut event,
            )
        };
        if ret < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(epoll)
}

/// Empties the epoll instance's ready list after the rings were drained, so
/// that it reports readiness again only for new records.
fn rearm(epoll: &OwnedFd) {
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; MAX_RINGS];
    // SAFETY: `events` holds MAX_RINGS entries; timeout 0 never blocks.
    unsafe { libc::epoll_wait(epoll.as_raw_fd(), events.as_mut_ptr(), MAX_RINGS as i32, 0) };
}

impl KernelCapture {
    /// Reads records until `shutdown` completes, then detaches the programs,
    /// drains what is left in the rings and returns the final accounting.
    pub async fn run<S, F>(&mut self, sink: S, shutdown: F) -> Result<CaptureSummary, CaptureError>
    where
        S: PacketSink,
        F: Future,
    {
        let decoding = Decoding {
            sink,
            clock: WallClock::sample(),
            failures: 0,
        };
        self.run_records(decoding, shutdown).await
    }

    /// As [`KernelCapture::run`], delivering raw records to a [`RecordSink`].
    /// With several rings (one per CPU) records come out in timestamp order,
    /// those of the last [`HOLD`] a little later.
    pub async fn run_records<S, F>(
        &mut self,
        mut sink: S,
        shutdown: F,
    ) -> Result<CaptureSummary, CaptureError>
    where
        S: RecordSink,
        F: Future,
    {
        let rings = self
            .rings
            .take()
            .ok_or_else(|| CaptureError::new(Kind::Read, "capture already ran"))?;
        let error =
            |e: String| CaptureError::new(Kind::Read, format!("polling the ring buffers: {e}"));
        let epoll = watch(&rings).map_err(|e| error(e.to_string()))?;
        // SAFETY: the epoll fd is owned by the AsyncFd, and stays open and
        // the same for as long as the AsyncFd lives.
        let ready = unsafe { AsyncFd::register_with_interest(epoll, Interest::READABLE) }
            .map_err(|e| error(e.into_parts().1.to_string()))?;
        let started = Instant::now();
        let cpu_started = thread_cpu_ns();
        let mut drain = Drain::new(rings);
        let mut poll = tokio::time::interval(self.config.poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut report = tokio::time::interval(self.config.counter_interval);
        report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last = CounterTotals::default();
        tokio::pin!(shutdown);

        loop {
            // Held records go out once the hold has passed; the wait is at
            // least a millisecond so that steady load, which always leaves
            // some held, adds at most a thousand wakeups a second.
            let holding = drain.holding();
            let release = tokio::time::sleep(RELEASE_DELAY);
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                guard = ready.readable() => {
                    let mut guard = guard
                        .map_err(|e| CaptureError::new(Kind::Read, format!("ring buffer readiness: {e}")))?;
                    drain.drain(&mut sink);
                    rearm(ready.get_ref());
                    guard.clear_ready();
                }
                _ = poll.tick() => drain.drain(&mut sink),
                _ = release, if holding => drain.drain(&mut sink),
                _ = report.tick() => {
                    let now = self.counters()?;
                    let delta = now.since(&last);
                    let gap = Duration::from_nanos(std::mem::take(&mut drain.longest_gap_since_report_ns));
                    sink.drain_gap(gap);
                    sink.counters(&now, &delta);
                    if delta.records_lost > 0 && gap > STARVED * self.config.poll_interval {
                        log::warn!(
                            "the ring reader went {} ms without draining (it polls every {} ms): it is not getting the CPU; give the sensor priority (e.g. systemd Nice=-5) or larger rings",
                            gap.as_millis(),
                            self.config.poll_interval.as_millis()
                        );
                    }
                    last = now;
                }
            }
        }

        // Detach first so no new records arrive, then empty the ring: after
        // this, seen == received + lost exactly.
        let program_stats = self.program_stats();
        self.detach();
        drain.flush(&mut sink);
        let counters = self.counters()?;
        sink.counters(&counters, &counters.since(&last));
        Ok(CaptureSummary {
            counters,
            records_received: drain.received,
            records_undecodable: drain.undecodable,
            duration_secs: started.elapsed().as_secs_f64(),
            reader_cpu_ns: thread_cpu_ns().saturating_sub(cpu_started),
            longest_drain_gap_ns: drain.longest_gap_ns,
            program_stats,
        })
    }
}
