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
    /// Packets dropped by a CIDR block (IPS mode).
    pub dropped_cidr: u64,
    /// Packets dropped by a port block.
    pub dropped_port: u64,
    /// Packets dropped by a flow's drop verdict.
    pub dropped_flow: u64,
    /// Packets dropped because their payload matched a pattern.
    pub dropped_pattern: u64,
    /// Payload packets of released flows (allow verdict) that skipped the
    /// pattern automaton.
    pub pattern_released: u64,
    /// Packets whose payload was not copied (header-only capture).
    pub body_skipped: u64,
}

impl CounterTotals {
    /// Builds totals from one value per [`Counter`], in index order.
    pub fn from_values(values: [u64; Counter::COUNT as usize]) -> Self {
        CounterTotals {
            packets_seen: values[Counter::PacketsSeen as usize],
            records_emitted: values[Counter::RecordsEmitted as usize],
            records_lost: values[Counter::RecordsLost as usize],
            packets_unparsed: values[Counter::PacketsUnparsed as usize],
            dropped_cidr: values[Counter::DroppedCidr as usize],
            dropped_port: values[Counter::DroppedPort as usize],
            dropped_flow: values[Counter::DroppedFlow as usize],
            dropped_pattern: values[Counter::DroppedPattern as usize],
            pattern_released: values[Counter::PatternReleased as usize],
            body_skipped: values[Counter::BodySkipped as usize],
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
            dropped_cidr: self.dropped_cidr.saturating_sub(earlier.dropped_cidr),
            dropped_port: self.dropped_port.saturating_sub(earlier.dropped_port),
            dropped_flow: self.dropped_flow.saturating_sub(earlier.dropped_flow),
            dropped_pattern: self.dropped_pattern.saturating_sub(earlier.dropped_pattern),
            pattern_released: self
                .pattern_released
                .saturating_sub(earlier.pattern_released),
            body_skipped: self.body_skipped.saturating_sub(earlier.body_skipped),
        }
    }

    /// Packets the program dropped, all reasons together.
    pub fn dropped(&self) -> u64 {
        self.dropped_cidr + self.dropped_port + self.dropped_flow + self.dropped_pattern
    }
}
