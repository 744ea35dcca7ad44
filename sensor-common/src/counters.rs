//! Per-CPU counters kept by the TC program in the `COUNTERS` map.

/// Index of each counter in the `COUNTERS` per-CPU array.
///
/// User space sums the per-CPU values. The invariant the tests check:
/// `PacketsSeen == RecordsEmitted + RecordsLost` (every packet yields exactly one
/// record attempt), and `RecordsLost` counts attempts the full ring buffer refused.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Packets the classifier ran on, both directions.
    PacketsSeen = 0,
    /// Records written into the ring buffer.
    RecordsEmitted = 1,
    /// Records dropped because the ring buffer had no room.
    RecordsLost = 2,
    /// Packets whose headers could not be parsed (truncated or malformed);
    /// they still yield a record carrying what was parsed.
    PacketsUnparsed = 3,
    /// Packets dropped because an address is in a blocked CIDR.
    DroppedCidr = 4,
    /// Packets dropped because their protocol and port are blocked.
    DroppedPort = 5,
    /// Packets dropped by a flow's drop verdict.
    DroppedFlow = 6,
    /// Packets dropped because their payload matched a pattern.
    DroppedPattern = 7,
    /// Packets whose flow has an allow verdict, so the pattern automaton was
    /// skipped: releases of kernel pattern hits user space did not confirm.
    PatternReleased = 8,
    /// Packets whose payload was not copied because the flow direction was
    /// inside a body user space asked to skip (header-only capture).
    BodySkipped = 9,
}

impl Counter {
    /// Number of counters, the size of the `COUNTERS` map.
    pub const COUNT: u32 = 10;
    /// All counters, in index order.
    pub const ALL: [Counter; Self::COUNT as usize] = [
        Counter::PacketsSeen,
        Counter::RecordsEmitted,
        Counter::RecordsLost,
        Counter::PacketsUnparsed,
        Counter::DroppedCidr,
        Counter::DroppedPort,
        Counter::DroppedFlow,
        Counter::DroppedPattern,
        Counter::PatternReleased,
        Counter::BodySkipped,
    ];

    /// The counter's stable name, used in logs and JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::PacketsSeen => "packets_seen",
            Counter::RecordsEmitted => "records_emitted",
            Counter::RecordsLost => "records_lost",
            Counter::PacketsUnparsed => "packets_unparsed",
            Counter::DroppedCidr => "dropped_cidr",
            Counter::DroppedPort => "dropped_port",
            Counter::DroppedFlow => "dropped_flow",
            Counter::DroppedPattern => "dropped_pattern",
            Counter::PatternReleased => "pattern_released",
            Counter::BodySkipped => "body_skipped",
        }
    }
}
