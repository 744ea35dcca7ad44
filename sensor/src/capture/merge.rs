//! The per-CPU rings merged back into one stream in timestamp order.
//!
//! Each CPU writes its records into its own ring (see `sensor-ebpf`), so the
//! rings are each in order but not with each other: a request seen on one
//! CPU and its response on the other sit in different rings. The reader
//! copies what it drains into a [`Merge`], which hands records on sorted by
//! their kernel timestamp, holding back those stamped within the last
//! [`HOLD`] of the drain: a record is stamped when the classifier starts
//! and written when it ends, so another CPU may still be writing one
//! stamped slightly earlier. Records are never lost by the merge: at worst
//! one written later than [`HOLD`] after its stamp (a CPU stalled by its
//! hypervisor) comes out slightly out of order, as it could with one ring
//! shared by all CPUs.
//!
//! ```
//! # use vigil::capture::Merge;
//! let mut merge = Merge::default();
//! // Records start with their 8-byte kernel timestamp.
//! merge.push(&30u64.to_ne_bytes());
//! merge.push(&10u64.to_ne_bytes());
//! merge.push(&20u64.to_ne_bytes());
//! let mut out = Vec::new();
//! merge.release(25, |r| out.push(u64::from_ne_bytes(r[..8].try_into().unwrap())));
//! assert_eq!(out, [10, 20]);
//! assert_eq!(merge.held(), 1);
//! ```

use std::time::Duration;

/// How long after a drain started a record stamped before it may still be
/// written: the classifier's longest run, with room to spare (it runs for
/// microseconds; a full-snap pattern walk for tens of them).
pub const HOLD: Duration = Duration::from_micros(200);

/// Records copied out of the rings, waiting to be handed on in order.
/// Buffers are reused, so a warm merge does not allocate.
#[derive(Default)]
pub struct Merge {
    held: Vec<Held>,
    spare: Vec<Vec<u8>>,
    /// Arrival order, to keep records with equal stamps in ring order.
    arrivals: u64,
}

struct Held {
    ts: u64,
    arrival: u64,
    bytes: Vec<u8>,
}

impl Merge {
    /// Copies in one record as read from a ring. Its timestamp is its first
    /// 8 bytes (`RecordHeader::ts_ns`); a shorter record counts as stamped
    /// 0 and goes out first, for the decoder to reject.
    pub fn push(&mut self, record: &[u8]) {
        let ts = record
            .get(..8)
            .map(|b| u64::from_ne_bytes(b.try_into().expect("8 bytes")))
            .unwrap_or(0);
        let mut bytes = self.spare.pop().unwrap_or_default();
        bytes.clear();
        bytes.extend_from_slice(record);
        self.arrivals += 1;
        self.held.push(Held {
            ts,
            arrival: self.arrivals,
            bytes,
        });
    }

    /// Hands on, in timestamp order, every held record stamped at or before
    /// `watermark` (ns of CLOCK_MONOTONIC); keeps the rest.
    pub fn release(&mut self, watermark: u64, mut deliver: impl FnMut(&[u8])) {
        self.held.sort_unstable_by_key(|h| (h.ts, h.arrival));
        let ready = self.held.partition_point(|h| h.ts <= watermark);
        for h in self.held.drain(..ready) {
            deliver(&h.bytes);
            self.spare.push(h.bytes);
        }
    }

    /// Hands on everything held, in timestamp order (at the end of a
    /// capture, once the programs are detached).
    pub fn release_all(&mut self, deliver: impl FnMut(&[u8])) {
        self.release(u64::MAX, deliver);
    }

    /// Records held back.
    pub fn held(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ts: u64, tag: u8) -> Vec<u8> {
        let mut r = ts.to_ne_bytes().to_vec();
        r.push(tag);
        r
    }

    fn released(merge: &mut Merge, watermark: u64) -> Vec<(u64, u8)> {
        let mut out = Vec::new();
        merge.release(watermark, |r| {
            out.push((u64::from_ne_bytes(r[..8].try_into().unwrap()), r[8]))
        });
        out
    }

    /// Two rings drained one after the other come out interleaved by stamp,
    /// and a record written after the first drain but stamped before the
    /// watermark of the second still comes out before later ones.
    #[test]
    fn rings_drained_in_turn_come_out_in_stamp_order() {
        let mut merge = Merge::default();
        // Ring 0, then ring 1, each in order.
        for (ts, tag) in [(10, b'a'), (40, b'c'), (70, b'e')] {
            merge.push(&record(ts, tag));
        }
        for (ts, tag) in [(20, b'b'), (50, b'd'), (90, b'f')] {
            merge.push(&record(ts, tag));
        }
        assert_eq!(
            released(&mut merge, 60),
            [(10, b'a'), (20, b'b'), (40, b'c'), (50, b'd')]
        );
        assert_eq!(merge.held(), 2);
        // Ring 0 wrote one stamped 65 after it was drained.
        merge.push(&record(65, b'x'));
        assert_eq!(
            released(&mut merge, 100),
            [(65, b'x'), (70, b'e'), (90, b'f')]
        );
        assert_eq!(merge.held(), 0);
    }

    #[test]
    fn equal_stamps_keep_ring_order_and_short_records_go_first() {
        let mut merge = Merge::default();
        merge.push(&record(5, b'1'));
        merge.push(&record(5, b'2'));
        merge.push(&[1, 2, 3]);
        let mut out = Vec::new();
        merge.release_all(|r| out.push(r.to_vec()));
        assert_eq!(out[0], [1, 2, 3]);
        assert_eq!(out[1][8], b'1');
        assert_eq!(out[2][8], b'2');
    }

    /// Buffers are recycled: a warm merge allocates nothing new.
    #[test]
    fn buffers_are_reused() {
        let mut merge = Merge::default();
        for round in 0..3u64 {
            for i in 0..4 {
                merge.push(&record(round * 10 + i, 0));
            }
            let _ = released(&mut merge, u64::MAX);
            assert_eq!(merge.spare.len(), 4, "round {round}");
        }
    }
}
