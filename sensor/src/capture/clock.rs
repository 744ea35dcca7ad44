//! Converts kernel timestamps (`bpf_ktime_get_ns`, CLOCK_MONOTONIC) to wall time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The offset between CLOCK_MONOTONIC and CLOCK_REALTIME, sampled once.
///
/// Sampling once keeps record times monotonic within a capture even if the
/// wall clock is stepped; the price is drift over very long captures.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    realtime_minus_monotonic_ns: i128,
}

impl WallClock {
    /// Samples both clocks now.
    pub fn sample() -> Self {
        let mono = monotonic_ns() as i128;
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        WallClock {
            realtime_minus_monotonic_ns: real - mono,
        }
    }

    /// A clock that maps kernel time to itself, for tests.
    pub fn identity() -> Self {
        WallClock {
            realtime_minus_monotonic_ns: 0,
        }
    }

    /// Wall-clock time of a kernel timestamp.
    pub fn to_system_time(&self, ktime_ns: u64) -> SystemTime {
        let ns = (ktime_ns as i128 + self.realtime_minus_monotonic_ns).max(0) as u128;
        UNIX_EPOCH + Duration::new((ns / 1_000_000_000) as u64, (ns % 1_000_000_000) as u32)
    }
}

/// CLOCK_MONOTONIC now, in ns: the kernel's `bpf_ktime_get_ns` clock.
pub(crate) fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// CPU time the calling thread has used, in ns.
pub(crate) fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec; both clocks always exist.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
