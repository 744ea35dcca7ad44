//! TCP reassembly of one direction, for the header region only.
//!
//! Policy, chosen to match what the protected hosts (Linux, BSD) do and to be
//! predictable for rule writers:
//!
//! * **Overlaps: first wins.** Bytes already delivered are never replaced:
//!   a retransmission or an overlapping segment contributes only bytes past
//!   what was already received. Out-of-order segments are kept as they came;
//!   when two of them overlap, the one starting at the lower sequence number
//!   is delivered first and so wins.
//! * **Out-of-order segments** are buffered up to a per-direction byte and
//!   segment bound. When the bound is hit, the hole before the first buffered
//!   segment is declared a gap and delivery resumes after it.
//! * **Gaps** are also declared when the peer acknowledges bytes the sensor
//!   never saw (capture loss), and at the end of the flow. A gap is reported
//!   to the parser, which resynchronizes, and counted.
//! * **Bodies are not buffered.** Before buffering an out-of-order segment
//!   the parser is asked how many bytes it can skip unseen (a body of known
//!   length, a TLS stream after the ClientHello): segments entirely inside
//!   that region are recorded as ranges without their bytes.

/// Limits of one direction's reassembly.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamConfig {
    pub max_ooo_bytes: usize,
    pub max_ooo_segments: usize,
}

/// Reassembly counters, shared by all streams of a driver.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StreamCounters {
    /// Segments entirely made of bytes already received.
    pub retransmissions: u64,
    /// Segments partly overlapping bytes already received.
    pub overlaps: u64,
    /// Segments buffered out of order.
    pub out_of_order: u64,
    /// Gaps declared.
    pub gaps: u64,
    /// Bytes lost in gaps.
    pub gap_bytes: u64,
    /// Times the out-of-order bound forced a gap.
    pub overflows: u64,
}

/// The parser side of a stream.
pub(crate) trait Consumer {
    /// Bytes that may be dropped without being seen.
    fn skippable(&self) -> u64;
    /// In-order bytes.
    fn data(&mut self, data: &[u8]);
    /// `n` in-order bytes that will never be seen: skipped if the parser
    /// allows, otherwise a gap.
    fn missing(&mut self, n: u64, counters: &mut StreamCounters);
}

#[derive(Debug)]
struct Held {
    seq: u32,
    len: u32,
    /// `None`: a range inside a skippable body, kept without its bytes.
    data: Option<Box<[u8]>>,
}

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    init: bool,
    /// Sequence number of the first byte of the stream.
    first_seq: u32,
    next_seq: u32,
    held: Vec<Held>,
    held_bytes: usize,
    fin_seq: Option<u32>,
}

fn diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

impl Stream {
    /// Starts the stream: the next byte expected has sequence number `seq`.
    pub(crate) fn start(&mut self, seq: u32) {
        self.init = true;
        self.first_seq = seq;
        self.next_seq = seq;
    }

    /// Stream offset of sequence number `seq` (wrapping past 4 GiB).
    pub(crate) fn offset_of(&self, seq: u32) -> Option<u64> {
        self.init
            .then(|| u64::from(seq.wrapping_sub(self.first_seq)))
    }

    /// The next expected sequence number, once started.
    pub(crate) fn next_seq(&self) -> Option<u32> {
        self.init.then_some(self.next_seq)
    }

    pub(crate) fn started(&self) -> bool {
        self.init
    }

    /// Heap bytes held.
    pub(crate) fn buffered(&self) -> usize {
        self.held_bytes + self.held.capacity() * std::mem::size_of::<Held>()
    }

    /// Accepts a segment: `payload` is what was captured, `wire_len` its
    /// length on the wire (larger when the snap length or header-only capture
    /// cut it).
    #[allow(clippy::too_many_arguments)] // the per-packet path: no struct to build
    pub(crate) fn segment(
        &mut self,
        seq: u32,
        payload: &[u8],
        wire_len: u32,
        fin: bool,
        config: &StreamConfig,
        consumer: &mut impl Consumer,
        counters: &mut StreamCounters,
    ) {
        if !self.init {
            return;
        }
        if fin {
            self.fin_seq = Some(seq.wrapping_add(wire_len));
        }
        if wire_len == 0 {
            return;
        }
        let d = diff(seq, self.next_seq);
        let end = d + i64::from(wire_len);
        if end <= 0 {
            counters.retransmissions += 1;
            return;
        }
        if d <= 0 {
            if d < 0 {
                counters.overlaps += 1;
            }
            let trim = (-d) as usize;
            self.in_order(
                &payload[trim.min(payload.len())..],
                wire_len - trim as u32,
                consumer,
                counters,
            );
            self.drain(consumer, counters);
            return;
        }
        // Out of order.
        counters.out_of_order += 1;
        if end as u64 <= consumer.skippable() {
            self.held.push(Held {
                seq,
                len: wire_len,
                data: None,
            });
            return;
        }
        if self.held_bytes + payload.len() > config.max_ooo_bytes
            || self.held.len() >= config.max_ooo_segments
        {
            counters.overflows += 1;
            self.force_gap(consumer, counters);
            // The hole is gone; the segment may now be in order.
            self.segment(seq, payload, wire_len, false, config, consumer, counters);
            return;
        }
        self.held_bytes += payload.len();
        self.held.push(Held {
            seq,
            len: wire_len,
            data: Some(payload.into()),
        });
    }

    fn in_order(
        &mut self,
        captured: &[u8],
        wire_len: u32,
        consumer: &mut impl Consumer,
        counters: &mut StreamCounters,
    ) {
        let captured = &captured[..captured.len().min(wire_len as usize)];
        if !captured.is_empty() {
            consumer.data(captured);
        }
        let missing = u64::from(wire_len) - captured.len() as u64;
        if missing > 0 {
            consumer.missing(missing, counters);
        }
        self.next_seq = self.next_seq.wrapping_add(wire_len);
    }

    /// Delivers held segments that have become in order.
    fn drain(&mut self, consumer: &mut impl Consumer, counters: &mut StreamCounters) {
        while let Some(i) = self.first_held() {
            let d = diff(self.held[i].seq, self.next_seq);
            if d > 0 {
                return;
            }
            let h = self.held.swap_remove(i);
            if let Some(data) = &h.data {
                self.held_bytes -= data.len();
            }
            let end = d + i64::from(h.len);
            if end <= 0 {
                continue;
            }
            let trim = (-d) as usize;
            match &h.data {
                Some(data) => {
                    let slice = &data[trim.min(data.len())..];
                    self.in_order(slice, h.len - trim as u32, consumer, counters);
                }
                None => {
                    let n = h.len - trim as u32;
                    consumer.missing(u64::from(n), counters);
                    self.next_seq = self.next_seq.wrapping_add(n);
                }
            }
        }
    }

    /// Index of the held segment closest to `next_seq`.
    fn first_held(&self) -> Option<usize> {
        (0..self.held.len()).min_by_key(|&i| diff(self.held[i].seq, self.next_seq))
    }

    /// Declares the hole before the first held segment lost.
    fn force_gap(&mut self, consumer: &mut impl Consumer, counters: &mut StreamCounters) {
        let Some(i) = self.first_held() else {
            return;
        };
        let d = diff(self.held[i].seq, self.next_seq);
        if d > 0 {
            consumer.missing(d as u64, counters);
            self.next_seq = self.held[i].seq;
        }
        self.drain(consumer, counters);
    }

    /// The peer acknowledged up to `ack`: bytes before it that were never
    /// seen are lost.
    pub(crate) fn acked(
        &mut self,
        ack: u32,
        consumer: &mut impl Consumer,
        counters: &mut StreamCounters,
    ) {
        if !self.init {
            return;
        }
        loop {
            let d = diff(ack, self.next_seq);
            // Far jumps are not acknowledgements of lost data but garbage.
            if d <= 0 || d > 1 << 24 {
                return;
            }
            // The FIN takes one sequence number.
            if d == 1 && self.fin_seq == Some(self.next_seq) {
                return;
            }
            match self.first_held() {
                Some(i) if diff(self.held[i].seq, ack) < 0 => self.force_gap(consumer, counters),
                _ => {
                    let mut n = d as u64;
                    if self.fin_seq == Some(ack.wrapping_sub(1)) {
                        n -= 1;
                    }
                    if n > 0 {
                        consumer.missing(n, counters);
                    }
                    self.next_seq = self.next_seq.wrapping_add(n as u32);
                    self.drain(consumer, counters);
                    return;
                }
            }
        }
    }

    /// End of the flow: whatever is held is delivered across the gaps.
    pub(crate) fn flush(&mut self, consumer: &mut impl Consumer, counters: &mut StreamCounters) {
        while !self.held.is_empty() {
            let before = self.held.len();
            self.force_gap(consumer, counters);
            if self.held.len() == before {
                break;
            }
        }
        self.held.clear();
        self.held_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what a parser would see; skips `skip` bytes after `after`.
    #[derive(Default)]
    struct Recorder {
        seen: Vec<u8>,
        gaps: Vec<u64>,
        skippable: u64,
        skipped: u64,
    }

    impl Consumer for Recorder {
        fn skippable(&self) -> u64 {
            self.skippable
        }
        fn data(&mut self, data: &[u8]) {
            let k = (self.skippable.min(data.len() as u64)) as usize;
            self.skippable -= k as u64;
            self.skipped += k as u64;
            self.seen.extend_from_slice(&data[k..]);
        }
        fn missing(&mut self, n: u64, counters: &mut StreamCounters) {
            if n <= self.skippable {
                self.skippable -= n;
                self.skipped += n;
            } else {
                counters.gaps += 1;
                counters.gap_bytes += n;
                self.gaps.push(n);
            }
        }
    }

    const CFG: StreamConfig = StreamConfig {
        max_ooo_bytes: 1024,
        max_ooo_segments: 16,
    };

    fn run(segments: &[(u32, &[u8])]) -> (Recorder, StreamCounters) {
        let mut s = Stream::default();
        s.start(1000);
        let mut r = Recorder::default();
        let mut c = StreamCounters::default();
        for &(seq, data) in segments {
            s.segment(seq, data, data.len() as u32, false, &CFG, &mut r, &mut c);
        }
        (r, c)
    }

    #[test]
    fn in_order_and_retransmission() {
        let (r, c) = run(&[
            (1000, b"GET "),
            (1004, b"/ HT"),
            (1000, b"GET "),
            (1008, b"TP"),
        ]);
        assert_eq!(r.seen, b"GET / HTTP");
        assert_eq!(c.retransmissions, 1);
    }

    #[test]
    fn out_of_order_is_reordered() {
        let (r, c) = run(&[(1004, b"5678"), (1008, b"9"), (1000, b"1234")]);
        assert_eq!(r.seen, b"123456789");
        assert_eq!(c.out_of_order, 2);
        assert!(r.gaps.is_empty());
    }

    #[test]
    fn overlap_first_wins() {
        // "AAAA" then an overlapping "BBBBCC": only "CC" is new.
        let (r, c) = run(&[(1000, b"AAAA"), (1000, b"BBBBCC")]);
        assert_eq!(r.seen, b"AAAACC");
        assert_eq!(c.overlaps, 1);
        // Overlap between held segments: the first held wins.
        let (r, _) = run(&[(1004, b"XXXX"), (1002, b"yyyyyy"), (1000, b"ab")]);
        assert_eq!(r.seen, b"abyyyyyy");
    }

    #[test]
    fn overflow_forces_a_gap() {
        let mut s = Stream::default();
        s.start(0);
        let mut r = Recorder::default();
        let mut c = StreamCounters::default();
        let cfg = StreamConfig {
            max_ooo_bytes: 8,
            max_ooo_segments: 16,
        };
        s.segment(10, b"abcd", 4, false, &cfg, &mut r, &mut c);
        s.segment(14, b"efgh", 4, false, &cfg, &mut r, &mut c);
        s.segment(18, b"ijkl", 4, false, &cfg, &mut r, &mut c);
        assert_eq!(r.gaps, vec![10]);
        assert_eq!(r.seen, b"abcdefghijkl");
        assert_eq!(c.overflows, 1);
    }

    #[test]
    fn ack_beyond_data_is_a_gap() {
        let mut s = Stream::default();
        s.start(0);
        let mut r = Recorder::default();
        let mut c = StreamCounters::default();
        s.segment(0, b"abc", 3, false, &CFG, &mut r, &mut c);
        s.acked(3, &mut r, &mut c);
        assert!(r.gaps.is_empty());
        s.acked(10, &mut r, &mut c);
        assert_eq!(r.gaps, vec![7]);
        s.segment(10, b"z", 1, true, &CFG, &mut r, &mut c);
        // The FIN's sequence number is not a gap.
        s.acked(12, &mut r, &mut c);
        assert_eq!(r.gaps, vec![7]);
        assert_eq!(r.seen, b"abcz");
    }

    #[test]
    fn body_segments_out_of_order_are_not_buffered() {
        let mut s = Stream::default();
        s.start(0);
        let mut r = Recorder {
            skippable: 100,
            ..Recorder::default()
        };
        let mut c = StreamCounters::default();
        s.segment(50, &[b'x'; 50], 50, false, &CFG, &mut r, &mut c);
        assert_eq!(s.held_bytes, 0);
        s.segment(0, &[b'x'; 50], 50, false, &CFG, &mut r, &mut c);
        s.segment(100, b"HTTP", 4, false, &CFG, &mut r, &mut c);
        assert_eq!(r.seen, b"HTTP");
        assert_eq!(r.skipped, 100);
        assert!(r.gaps.is_empty());
    }

    #[test]
    fn truncated_capture_inside_body_is_skipped_not_a_gap() {
        let mut s = Stream::default();
        s.start(0);
        let mut r = Recorder {
            skippable: 1000,
            ..Recorder::default()
        };
        let mut c = StreamCounters::default();
        // Header-only capture: 1000 body bytes on the wire, none captured.
        s.segment(0, &[], 1000, false, &CFG, &mut r, &mut c);
        s.segment(1000, b"GET", 3, false, &CFG, &mut r, &mut c);
        assert_eq!(r.seen, b"GET");
        assert!(r.gaps.is_empty());
    }

    #[test]
    fn sequence_wraparound() {
        let mut s = Stream::default();
        s.start(u32::MAX - 1);
        let mut r = Recorder::default();
        let mut c = StreamCounters::default();
        s.segment(0, b"cd", 2, false, &CFG, &mut r, &mut c);
        s.segment(u32::MAX - 1, b"ab", 2, false, &CFG, &mut r, &mut c);
        assert_eq!(r.seen, b"abcd");
    }

    #[test]
    fn random_segmentation_reordering_and_duplication() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for _ in 0..300 {
            // Random segment boundaries.
            let mut segs: Vec<(usize, usize)> = Vec::new();
            let mut at = 0;
            while at < data.len() {
                let len = (1 + rnd(200) as usize).min(data.len() - at);
                segs.push((at, at + len));
                at += len;
            }
            // Local reordering and duplicates (retransmissions, overlaps).
            for i in 0..segs.len() {
                let j = (i + rnd(4) as usize).min(segs.len() - 1);
                segs.swap(i, j);
            }
            for _ in 0..rnd(10) {
                let (a, b) = segs[rnd(segs.len() as u64) as usize];
                let extra = rnd(50) as usize;
                segs.push((a.saturating_sub(extra), b));
            }
            let mut s = Stream::default();
            s.start(7);
            let mut r = Recorder::default();
            let mut c = StreamCounters::default();
            let cfg = StreamConfig {
                max_ooo_bytes: 1 << 20,
                max_ooo_segments: 1 << 10,
            };
            for &(a, b) in &segs {
                s.segment(
                    7 + a as u32,
                    &data[a..b],
                    (b - a) as u32,
                    false,
                    &cfg,
                    &mut r,
                    &mut c,
                );
            }
            assert_eq!(r.seen, data);
            assert!(r.gaps.is_empty());
            assert_eq!(s.held_bytes, 0);
        }
    }
}
