//! The ring-buffer reader: drains kernel records into a [`PacketSink`].
//!
//! The kernel submits records without waking the reader until 64 KiB are
//! unread (see `sensor-ebpf`), so the reader both waits for readiness and
//! drains on a short timer. Kernel counters are read on another timer and any
//! new losses are reported: losses are never silent.

use std::{future::Future, time::Instant};

use aya::maps::{MapData, RingBuf};
use serde::Serialize;
use tokio::io::{Interest, unix::AsyncFd};

use super::{
    CaptureError, CaptureErrorKind as Kind, CounterTotals, KernelCapture, PacketEvent,
    ProgramStats, WallClock,
};

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
/// them, without decoding or copying: a [`sensor_common::RecordHeader`]
/// then `captured_len` payload bytes, borrowed from the ring for the call.
/// This is the allocation-free path for a pipeline that decodes records
/// itself (e.g. with `sensor_packet::Packet::from_kernel_record`).
pub trait RecordSink {
    /// One record; returns false if it could not be decoded, which the
    /// summary counts as undecodable.
    fn record(&mut self, bytes: &[u8]) -> bool;

    /// As [`PacketSink::counters`].
    fn counters(&mut self, totals: &CounterTotals, delta: &CounterTotals) {
        report_losses(totals, delta);
    }
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

struct Drain {
    received: u64,
    undecodable: u64,
}

impl Drain {
    fn drain(&mut self, ring: &mut RingBuf<MapData>, sink: &mut impl RecordSink) {
        while let Some(item) = ring.next() {
            if sink.record(&item) {
                self.received += 1;
            } else {
                self.undecodable += 1;
            }
        }
    }
}

impl KernelCapture {
    /// Reads records until `shutdown` completes, then detaches the programs,
    /// drains what is left in the ring and returns the final accounting.
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
    pub async fn run_records<S, F>(
        &mut self,
        mut sink: S,
        shutdown: F,
    ) -> Result<CaptureSummary, CaptureError>
    where
        S: RecordSink,
        F: Future,
    {
        let ring = self
            .ring
            .take()
            .ok_or_else(|| CaptureError::new(Kind::Read, "capture already ran"))?;
        // SAFETY: the ring buffer owns its map fd, which stays open and the
        // same for as long as the AsyncFd owns the ring.
        let mut fd =
            unsafe { AsyncFd::register_with_interest(ring, Interest::READABLE) }.map_err(|e| {
                CaptureError::new(
                    Kind::Read,
                    format!("polling the ring buffer: {}", e.into_parts().1),
                )
            })?;
        let started = Instant::now();
        let mut drain = Drain {
            received: 0,
            undecodable: 0,
        };
        let mut poll = tokio::time::interval(self.config.poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut report = tokio::time::interval(self.config.counter_interval);
        report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last = CounterTotals::default();
        tokio::pin!(shutdown);

        loop {
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                guard = fd.readable_mut() => {
                    let mut guard = guard
                        .map_err(|e| CaptureError::new(Kind::Read, format!("ring buffer readiness: {e}")))?;
                    drain.drain(guard.get_inner_mut(), &mut sink);
                    guard.clear_ready();
                }
                _ = poll.tick() => drain.drain(fd.get_mut(), &mut sink),
                _ = report.tick() => {
                    let now = self.counters()?;
                    sink.counters(&now, &now.since(&last));
                    last = now;
                }
            }
        }

        // Detach first so no new records arrive, then empty the ring: after
        // this, seen == received + lost exactly.
        let program_stats = self.program_stats();
        self.detach();
        drain.drain(fd.get_mut(), &mut sink);
        let counters = self.counters()?;
        sink.counters(&counters, &counters.since(&last));
        Ok(CaptureSummary {
            counters,
            records_received: drain.received,
            records_undecodable: drain.undecodable,
            duration_secs: started.elapsed().as_secs_f64(),
            program_stats,
        })
    }
}
