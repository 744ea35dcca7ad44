//! Scan results remembered per worker for the header values that repeat
//! from request to request.
//!
//! A client sends the same `User-Agent`, `Host` and `Cookie` on every
//! request of a session, and a sensor sees a handful of browsers and tools
//! over and over; with all ET Open rules these buffers have the largest
//! literal sets (687 user agent literals, 2,107 host literals), whose gram
//! filter cost a browser request about 100 ns for its 99-byte user agent
//! alone. Comparing the value with the last few seen costs a few ns; when
//! it is one of them, the literals it held are replayed instead of
//! scanning again. The result of a scan depends only on the scanner and
//! the bytes, so a remembered one is exact; [`crate::Scratch`] drops the
//! memos when it meets another engine.

use crate::input::BufferId;
use crate::literals::ScanSlot;
use crate::scan::Scanner;

/// Values remembered per scan (compared by length first, then bytes).
const WAYS: usize = 8;
/// Longest value remembered: longer ones are rare, and copying them in on
/// every miss would cost more than it saves.
pub(crate) const MAX_LEN: usize = 256;

/// Least estimated cost of a scan per typical value
/// ([`Scanner::estimate`]'s units, about cycles) for it to be remembered:
/// finding a value among those remembered costs some 20 (lengths compared,
/// then bytes), more than a Teddy or a short gram filter scan of a host
/// name with 100 ET Open rules (~25), which measured 8% slower per browser
/// request remembered; the user agent's gram filter with 5,000 rules
/// costs ~200.
const MIN_COST: f64 = 40.0;

/// Whether the scans of `slot` by `scanner` are worth remembering: the
/// values repeat from request to request (header values a client sends
/// alike) and the scanner costs more than a lookup.
pub(crate) fn worth_it(slot: ScanSlot, scanner: &Scanner) -> bool {
    let sample = crate::sample::haystacks(slot);
    repeats(slot)
        && !sample.is_empty()
        && scanner.estimate(sample) / sample.len() as f64 >= MIN_COST
}

/// Whether the values of `slot` repeat from request to request.
fn repeats(slot: ScanSlot) -> bool {
    matches!(
        slot,
        ScanSlot::Single(
            BufferId::HttpUserAgent
                | BufferId::HttpHost
                | BufferId::HttpHostRaw
                | BufferId::HttpCookie
                | BufferId::HttpReferer
                | BufferId::HttpAccept
                | BufferId::HttpAcceptLang
                | BufferId::HttpAcceptEnc
                | BufferId::HttpConnection
                | BufferId::HttpContentType
        )
    )
}

/// One scan's remembered values, replaced oldest first.
#[derive(Debug, Default)]
pub(crate) struct ScanMemo {
    entries: Vec<Entry>,
    /// The entry replaced next.
    next: usize,
    /// The entry whose patterns [`Self::take`] lent out.
    lent: usize,
}

#[derive(Debug, Default)]
struct Entry {
    bytes: Vec<u8>,
    /// Pattern indices the scan reported (sorted, without repeats).
    pats: Vec<u32>,
}

impl ScanMemo {
    /// The patterns of `hay`: remembered, or reported by `scan` (which
    /// pushes them) and remembered. Give them back with [`Self::put_back`]
    /// (taken rather than borrowed, so that the caller can use the rest of
    /// its scratch while it goes through them).
    pub(crate) fn take(&mut self, hay: &[u8], scan: impl FnOnce(&mut Vec<u32>)) -> Vec<u32> {
        debug_assert!(hay.len() <= MAX_LEN);
        if let Some(i) = self.entries.iter().position(|e| e.bytes == hay) {
            self.lent = i;
            return std::mem::take(&mut self.entries[i].pats);
        }
        if self.entries.len() < WAYS {
            // Room for any value remembered: a warm worker allocates
            // nothing, whatever values come round.
            self.entries.reserve_exact(WAYS);
            self.entries.push(Entry {
                bytes: Vec::with_capacity(MAX_LEN),
                pats: Vec::with_capacity(8),
            });
            self.next = self.entries.len() - 1;
        }
        let i = self.next;
        self.next = (i + 1) % WAYS;
        self.lent = i;
        let e = &mut self.entries[i];
        e.bytes.clear();
        e.bytes.extend_from_slice(hay);
        let mut pats = std::mem::take(&mut e.pats);
        pats.clear();
        scan(&mut pats);
        pats.sort_unstable();
        pats.dedup();
        pats
    }

    /// Returns what [`Self::take`] lent.
    pub(crate) fn put_back(&mut self, pats: Vec<u32>) {
        self.entries[self.lent].pats = pats;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_seen_is_replayed_and_the_oldest_makes_room() {
        let mut memo = ScanMemo::default();
        let mut scans = 0;
        let mut get = |memo: &mut ScanMemo, hay: &[u8]| {
            let pats = memo.take(hay, |out| {
                scans += 1;
                out.extend([hay.len() as u32, 7, 7]);
            });
            memo.put_back(pats.clone());
            pats
        };
        assert_eq!(get(&mut memo, b"curl/8.5.0"), [7, 10]);
        assert_eq!(get(&mut memo, b"curl/8.5.0"), [7, 10]);
        for i in 0..WAYS {
            get(&mut memo, format!("agent {i}").as_bytes());
        }
        // `curl/8.5.0` was the oldest: scanned again.
        assert_eq!(get(&mut memo, b"curl/8.5.0"), [7, 10]);
        assert_eq!(scans, 1 + WAYS + 1);
    }
}
