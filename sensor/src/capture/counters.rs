//! Totals of the kernel program's per-CPU counters.

use sensor_common::Counter;
use serde::Serialize;

/// The kernel counters summed over CPUs.
///
/// Invariant: `packets_seen == records_emitted + records_lost`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CounterTotals {
    /// Packets the classifier ran on.
    pub packets_seen: u64,
    /// Records placed in the ring buffer.
    pub records_emitted: u64,
    /// Records dropped because the ring buffer was full.
    pub records_lost: u64,
    /// Packets with a truncated or malformed IP or transport header.
    pub packets_unparsed: u64,
}

impl CounterTotals {
    /// Builds totals from one value per [`Counter`], in index order.
    pub fn from_values(values: [u64; Counter::COUNT as usize]) -> Self {
        CounterTotals {
            packets_seen: values[Counter::PacketsSeen as usize],
            records_emitted: values[Counter::RecordsEmitted as usize],
            records_lost: values[Counter::RecordsLost as usize],
            packets_unparsed: values[Counter::PacketsUnparsed as usize],
        }
    }

    /// Counts accumulated since `earlier`.
    pub fn since(&self, earlier: &CounterTotals) -> CounterTotals {
        CounterTotals {
            packets_seen: self.packets_seen.saturating_sub(earlier.packets_seen),
            records_emitted: self.records_emitted.saturating_sub(earlier.records_emitted),
            records_lost: self.records_lost.saturating_sub(earlier.records_lost),
            packets_unparsed: self
                .packets_unparsed
                .saturating_sub(earlier.packets_unparsed),
        }
    }
}
