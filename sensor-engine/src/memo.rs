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
//!
//! The header block of a request (`http.header`, without the cookies) and
//! its header names repeat too: a browser sends the same block to a host
//! from page to page (26 distinct blocks in the 62 requests of the shared
//! capture `cs_http_espn.pcapng`). Where values do not repeat (the header
//! blocks of responses, with their dates and lengths; a worker seeing many
//! clients), a miss costs a comparison and a copy for nothing, so each
//! memo keeps count: when fewer than one lookup in [`MIN_HIT_SHARE`] of a
//! window of [`WINDOW`] found its value, it stands aside for [`BACKOFF`]
//! values, which are scanned directly, and then tries again.

use crate::input::BufferId;
use crate::literals::ScanSlot;
use crate::scan::Scanner;

/// Values remembered per scan (compared by length first, then bytes).
const WAYS: usize = 8;
/// Longest header value remembered: longer ones are rare, and copying them
/// in on every miss would cost more than it saves.
const MAX_VALUE_LEN: usize = 256;
/// Longest header block remembered (`http.header`, `http.header_names`):
/// a browser's are some 300 to 600 bytes.
const MAX_BLOCK_LEN: usize = 1024;

/// Lookups per verdict on whether remembering pays.
const WINDOW: u32 = 64;
/// Remembering pays when at least one lookup in this many finds its value.
const MIN_HIT_SHARE: u32 = 4;
/// Values scanned directly after a window that did not pay.
const BACKOFF: u32 = 1024;

/// The longest value of `slot` remembered.
pub(crate) fn max_len(slot: ScanSlot) -> usize {
    match slot {
        ScanSlot::Single(BufferId::HttpHeader | BufferId::HttpHeaderNames) => MAX_BLOCK_LEN,
        _ => MAX_VALUE_LEN,
    }
}

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
                | BufferId::HttpHeader
                | BufferId::HttpHeaderNames
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
    /// Lookups and hits of the current window.
    lookups: u32,
    hits: u32,
    /// Values still to scan directly before trying again.
    skip: u32,
}

#[derive(Debug, Default)]
struct Entry {
    bytes: Vec<u8>,
    /// Pattern indices the scan reported (sorted, without repeats).
    pats: Vec<u32>,
}

impl ScanMemo {
    /// Whether to look the next value up ([`Self::take`]) rather than scan
    /// it directly: false while the memo stands aside (see the module
    /// docs).
    #[inline]
    pub(crate) fn wanted(&mut self) -> bool {
        if self.skip == 0 {
            return true;
        }
        self.skip -= 1;
        false
    }

    /// Counts a lookup; at the end of a window, stands aside if too few
    /// found their value.
    fn count(&mut self, hit: bool) {
        self.lookups += 1;
        self.hits += u32::from(hit);
        if self.lookups == WINDOW {
            if self.hits * MIN_HIT_SHARE < WINDOW {
                self.skip = BACKOFF;
            }
            self.lookups = 0;
            self.hits = 0;
        }
    }

    /// The patterns of `hay`: remembered, or reported by `scan` (which
    /// pushes them) and remembered. Give them back with [`Self::put_back`]
    /// (taken rather than borrowed, so that the caller can use the rest of
    /// its scratch while it goes through them). `max_len` is the longest
    /// value of this memo's scan ([`max_len`]), at least `hay.len()`: an
    /// entry reserves that much when created, so that a warm worker never
    /// allocates.
    pub(crate) fn take(
        &mut self,
        hay: &[u8],
        max_len: usize,
        scan: impl FnOnce(&mut Vec<u32>),
    ) -> Vec<u32> {
        debug_assert!(hay.len() <= max_len);
        if let Some(i) = self.entries.iter().position(|e| e.bytes == hay) {
            self.count(true);
            self.lent = i;
            return std::mem::take(&mut self.entries[i].pats);
        }
        self.count(false);
        if self.entries.len() < WAYS {
            // Room for any value remembered: a warm worker allocates
            // nothing, whatever values come round.
            self.entries.reserve_exact(WAYS);
            self.entries.push(Entry {
                bytes: Vec::with_capacity(max_len),
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
            let pats = memo.take(hay, 256, |out| {
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

    /// Values that never come round make the memo stand aside (they are
    /// scanned directly) for `BACKOFF` values, after which it tries again;
    /// values that do keep it in use.
    #[test]
    fn a_memo_that_never_hits_stands_aside_and_tries_again() {
        let mut memo = ScanMemo::default();
        let lookup = |memo: &mut ScanMemo, hay: &[u8]| {
            if !memo.wanted() {
                return false;
            }
            let pats = memo.take(hay, 256, |out| out.push(1));
            memo.put_back(pats);
            true
        };
        // A window of distinct values: no hits.
        for i in 0..WINDOW {
            assert!(lookup(&mut memo, format!("date {i}").as_bytes()));
        }
        let direct = (0..BACKOFF + 1)
            .take_while(|i| !lookup(&mut memo, format!("later {i}").as_bytes()))
            .count();
        assert_eq!(direct as u32, BACKOFF);
        // Values that repeat (one in two hits) keep it in use.
        let mut memo = ScanMemo::default();
        for i in 0..WINDOW * 4 {
            let hay = format!("agent {}", i / 2);
            assert!(lookup(&mut memo, hay.as_bytes()), "lookup {i}");
        }
    }
}
