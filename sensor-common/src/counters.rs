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
}

impl Counter {
    /// Number of counters, the size of the `COUNTERS` map.
    pub const COUNT: u32 = 4;
    /// All counters, in index order.
    pub const ALL: [Counter; Self::COUNT as usize] = [
        Counter::PacketsSeen,
        Counter::RecordsEmitted,
        Counter::RecordsLost,
        Counter::PacketsUnparsed,
    ];

    /// The counter's stable name, used in logs and JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::PacketsSeen => "packets_seen",
            Counter::RecordsEmitted => "records_emitted",
            Counter::RecordsLost => "records_lost",
            Counter::PacketsUnparsed => "packets_unparsed",
        }
    }
}
