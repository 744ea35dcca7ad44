//! IPv4 and IPv6 fragment reassembly with bounded memory.
//!
//! Overlapping fragments: the bytes that arrived first win (later copies of
//! the same offsets are ignored), the policy of BSD-derived and Windows
//! stacks for most overlaps; it also defeats the classic "rewrite the
//! transport header with a later fragment" evasion because the IDS and a
//! first-wins target agree. Memory is capped by [`DefragConfig::max_bytes`]:
//! when a new datagram would exceed it, the oldest pending datagrams are
//! dropped and counted.

use std::collections::HashMap;
use std::net::IpAddr;

/// Limits of the reassembler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragConfig {
    /// Bytes of fragment data kept across all pending datagrams.
    pub max_bytes: usize,
    /// Pending datagrams kept at once.
    pub max_datagrams: usize,
    /// A datagram not completed within this much packet time is dropped.
    pub timeout_ns: u64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_bytes: 8 << 20,
            max_datagrams: 4096,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// Counters of the reassembler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Fragments received.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Datagrams dropped to stay within the memory limits.
    pub evicted: u64,
    /// Datagrams dropped because they did not complete in time.
    pub timed_out: u64,
    /// Fragments rejected (beyond 64 KiB, conflicting ends, ...).
    pub invalid: u64,
    /// Fragments whose bytes overlapped data already received.
    pub overlaps: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    /// IPv4 protocol; 0 for IPv6, whose transport is only known from the first fragment.
    pub protocol: u8,
}

struct Pending {
    first_ts: u64,
    seq: u64,
    data: Vec<u8>,
    /// Received byte ranges, sorted and disjoint.
    ranges: Vec<(u32, u32)>,
    /// Total payload length, known once the last fragment arrived.
    total: Option<u32>,
    /// Transport protocol from the fragment at offset 0 (IPv6 next header).
    protocol: Option<u8>,
}

/// A completed datagram.
pub(crate) struct Reassembled {
    pub payload: Vec<u8>,
    pub protocol: Option<u8>,
}

pub(crate) struct Defragmenter {
    config: DefragConfig,
    pending: HashMap<FragKey, Pending>,
    bytes: usize,
    seq: u64,
    pub(crate) stats: DefragStats,
}

/// Largest reassembled IP payload accepted.
const MAX_DATAGRAM: u32 = 65535;

impl Defragmenter {
    pub(crate) fn new(config: DefragConfig) -> Self {
        Defragmenter {
            config,
            pending: HashMap::new(),
            bytes: 0,
            seq: 0,
            stats: DefragStats::default(),
        }
    }

    /// Adds a fragment; returns the datagram's payload when it is complete.
    /// `protocol` is the transport of the first fragment (IPv6) when known.
    pub(crate) fn insert(
        &mut self,
        key: FragKey,
        ts_ns: u64,
        offset: u32,
        more: bool,
        protocol: Option<u8>,
        data: &[u8],
    ) -> Option<Reassembled> {
        self.stats.fragments += 1;
        self.expire(ts_ns);
        let end = offset
            .checked_add(data.len() as u32)
            .filter(|&e| e <= MAX_DATAGRAM);
        let Some(end) = end else {
            self.stats.invalid += 1;
            return None;
        };
        if more && !data.len().is_multiple_of(8) {
            self.stats.invalid += 1;
            return None;
        }
        if !self.pending.contains_key(&key) {
            while self.pending.len() >= self.config.max_datagrams
                || (self.bytes + data.len() > self.config.max_bytes && !self.pending.is_empty())
            {
                self.evict_oldest();
            }
            if data.len() > self.config.max_bytes {
                self.stats.evicted += 1;
                return None;
            }
            self.seq += 1;
            self.pending.insert(
                key,
                Pending {
                    first_ts: ts_ns,
                    seq: self.seq,
                    data: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                    protocol: None,
                },
            );
        }
        let entry = self.pending.get_mut(&key)?;
        if offset == 0 && protocol.is_some() {
            entry.protocol = protocol;
        }
        if !more {
            match entry.total {
                Some(t) if t != end => {
                    self.stats.invalid += 1;
                    self.drop_key(&key);
                    return None;
                }
                _ => entry.total = Some(end),
            }
        }
        if entry.total.is_some_and(|t| end > t) {
            self.stats.invalid += 1;
            self.drop_key(&key);
            return None;
        }
        let grown = (end as usize).saturating_sub(entry.data.len());
        if self.bytes + grown > self.config.max_bytes {
            self.stats.evicted += 1;
            self.drop_key(&key);
            return None;
        }
        if entry.data.len() < end as usize {
            entry.data.resize(end as usize, 0);
            self.bytes += grown;
        }
        if copy_uncovered(&mut entry.data, &mut entry.ranges, offset, end, data) {
            self.stats.overlaps += 1;
        }
        let complete = entry
            .total
            .is_some_and(|t| entry.ranges.len() == 1 && entry.ranges[0] == (0, t));
        if !complete {
            return None;
        }
        let done = self.pending.remove(&key)?;
        self.bytes -= done.data.len();
        self.stats.reassembled += 1;
        Some(Reassembled {
            payload: done.data,
            protocol: done.protocol,
        })
    }

    fn drop_key(&mut self, key: &FragKey) {
        if let Some(p) = self.pending.remove(key) {
            self.bytes -= p.data.len();
        }
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .pending
            .iter()
            .min_by_key(|(_, p)| p.seq)
            .map(|(k, _)| *k);
        if let Some(k) = oldest {
            self.drop_key(&k);
            self.stats.evicted += 1;
        }
    }

    fn expire(&mut self, now: u64) {
        if self.pending.is_empty() {
            return;
        }
        let timeout = self.config.timeout_ns;
        let before = self.pending.len();
        let mut freed = 0;
        self.pending.retain(|_, p| {
            let keep = now.saturating_sub(p.first_ts) <= timeout;
            if !keep {
                freed += p.data.len();
            }
            keep
        });
        self.bytes -= freed;
        self.stats.timed_out += (before - self.pending.len()) as u64;
    }

    /// Bytes currently held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Copies the parts of `[start, end)` not yet in `ranges` from `src` into
/// `buf` (first wins) and merges the range in. Returns true on any overlap.
fn copy_uncovered(
    buf: &mut [u8],
    ranges: &mut Vec<(u32, u32)>,
    start: u32,
    end: u32,
    src: &[u8],
) -> bool {
    let mut overlap = false;
    let mut cursor = start;
    for &(s, e) in ranges.iter() {
        if e <= cursor {
            continue;
        }
        if s >= end {
            break;
        }
        if s > cursor {
            let (a, b) = (cursor as usize, s as usize);
            buf[a..b].copy_from_slice(&src[a - start as usize..b - start as usize]);
        }
        overlap = true;
        cursor = cursor.max(e);
        if cursor >= end {
            break;
        }
    }
    if cursor < end {
        let (a, b) = (cursor as usize, end as usize);
        buf[a..b].copy_from_slice(&src[a - start as usize..b - start as usize]);
    }
    if start == end {
        return overlap;
    }
    ranges.push((start, end));
    ranges.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for &(s, e) in ranges.iter() {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    *ranges = merged;
    overlap
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key(id: u32) -> FragKey {
        FragKey {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            id,
            protocol: 17,
        }
    }

    #[test]
    fn reassembles_out_of_order_fragments() {
        let mut d = Defragmenter::new(DefragConfig::default());
        assert!(d.insert(key(1), 0, 8, false, None, b"world").is_none());
        let r = d.insert(key(1), 0, 0, true, None, b"hello, w").unwrap();
        assert_eq!(r.payload, b"hello, wworld");
        assert_eq!(d.bytes(), 0);
        assert_eq!(d.stats.reassembled, 1);
    }

    #[test]
    fn first_fragment_wins_on_overlap() {
        let mut d = Defragmenter::new(DefragConfig::default());
        assert!(d.insert(key(2), 0, 0, true, None, b"AAAAAAAA").is_none());
        // Rewrites offset 0..8 with Bs and adds 8..16: the As stay.
        assert!(
            d.insert(key(2), 0, 0, true, None, b"BBBBBBBBCCCCCCCC")
                .is_none()
        );
        let r = d.insert(key(2), 0, 16, false, None, b"D").unwrap();
        assert_eq!(r.payload, b"AAAAAAAACCCCCCCCD");
        assert_eq!(d.stats.overlaps, 1);
    }

    #[test]
    fn memory_cap_evicts_oldest_and_counts() {
        let cfg = DefragConfig {
            max_bytes: 64,
            max_datagrams: 100,
            timeout_ns: u64::MAX,
        };
        let mut d = Defragmenter::new(cfg);
        for id in 0..10 {
            assert!(d.insert(key(id), 0, 0, true, None, &[0; 16]).is_none());
            assert!(d.bytes() <= 64);
        }
        assert_eq!(d.stats.evicted, 6);
    }

    #[test]
    fn timeout_by_packet_time() {
        let cfg = DefragConfig {
            timeout_ns: 10,
            ..DefragConfig::default()
        };
        let mut d = Defragmenter::new(cfg);
        assert!(d.insert(key(1), 0, 0, true, None, &[0; 8]).is_none());
        assert!(d.insert(key(1), 100, 8, false, None, &[0; 8]).is_none());
        assert_eq!(d.stats.timed_out, 1);
    }

    #[test]
    fn rejects_oversized_datagram() {
        let mut d = Defragmenter::new(DefragConfig::default());
        assert!(d.insert(key(1), 0, 65532, false, None, &[0; 8]).is_none());
        assert_eq!(d.stats.invalid, 1);
    }
}
