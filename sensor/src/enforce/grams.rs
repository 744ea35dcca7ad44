//! The gram filter the kernel samples in front of the pattern automaton
//! (`sensor_common::enforce::GramFilter`), built from a bank's patterns.

use sensor_common::enforce::{
    GRAM_FILTER_BYTES, GRAM_LEN, GRAM_MIN_PATTERN_LEN, GRAM_PAD, GramFilter, gram_bit,
};

use super::Pattern;

/// A filter and its sampling stride.
///
/// Every occurrence of a pattern of at least `stride + 3` bytes, spelled as
/// it is matched, holds a window starting at a multiple of `stride`, and
/// that window's bit is set: so a payload none of whose sampled windows
/// has its bit set holds no occurrence.
///
/// ```
/// use vigil::enforce::{GramSampling, Pattern};
///
/// let patterns = [Pattern::new(b"/etc/passwd".to_vec(), 1)];
/// let grams = GramSampling::build(&patterns).unwrap();
/// assert_eq!(grams.stride(), 8);
/// assert!(grams.sampled_hits(b"GET /cgi-bin/../../etc/passwd HTTP/1.1").next().is_some());
/// assert!(grams.sampled_hits(b"GET /index.html HTTP/1.1\r\nHost: a\r\n").next().is_none());
/// ```
#[derive(Clone)]
pub struct GramSampling {
    stride: u32,
    filter: Box<GramFilter>,
}

impl GramSampling {
    /// The filter of `patterns`, or `None` when one of them is too short
    /// (under [`GRAM_MIN_PATTERN_LEN`] bytes) or percent-decoded (its
    /// occurrences are spelled in ways its windows do not show).
    pub fn build(patterns: &[Pattern]) -> Option<GramSampling> {
        if patterns.is_empty() || patterns.iter().any(|p| p.percent_decoded) {
            return None;
        }
        let shortest = patterns.iter().map(|p| p.bytes.len()).min()? as u32;
        if shortest < GRAM_MIN_PATTERN_LEN {
            return None;
        }
        let mut filter = boxed_zeroed_filter();
        let mut set = |window: [u8; 4]| {
            let bit = gram_bit(u32::from_le_bytes(window));
            filter.bits[(bit >> 3) as usize] |= 1 << (bit & 7);
        };
        for pattern in patterns {
            for window in pattern.bytes.windows(GRAM_LEN as usize) {
                set(window.try_into().expect("4 bytes"));
            }
            // Its first 1, 2 and 3 bytes, padded (see `GRAM_PAD`).
            for k in 1..GRAM_LEN as usize {
                let mut window = [GRAM_PAD; 4];
                window[..k].copy_from_slice(&pattern.bytes[..k]);
                set(window);
            }
        }
        Some(GramSampling {
            stride: shortest - GRAM_LEN + 1,
            filter,
        })
    }

    /// Distance between sampled windows.
    pub fn stride(&self) -> u32 {
        self.stride
    }

    /// The filter, as the kernel's `GRAM_FILTER` holds it.
    pub fn filter(&self) -> &GramFilter {
        &self.filter
    }

    /// Number of the filter's bits that are set.
    pub fn bits_set(&self) -> u32 {
        self.filter.bits.iter().map(|b| b.count_ones()).sum()
    }

    /// Share of the filter's bits that are set.
    pub fn fill(&self) -> f64 {
        self.bits_set() as f64 / (GRAM_FILTER_BYTES * 8) as f64
    }

    /// Whether `payload` may end inside an occurrence of a pattern (its
    /// last 4 bytes are a window of one, or its last 1, 2 or 3 bytes begin
    /// one), as the kernel decides whether to walk a segment's tail for the
    /// state the next segment resumes from.
    pub fn may_end_in_occurrence(&self, payload: &[u8]) -> bool {
        let Some(at) = payload.len().checked_sub(GRAM_LEN as usize) else {
            return true;
        };
        let last: [u8; 4] = payload[at..].try_into().expect("4 bytes");
        (0..GRAM_LEN as usize).any(|drop| {
            let mut window = [GRAM_PAD; 4];
            window[..4 - drop].copy_from_slice(&last[drop..]);
            self.has(window)
        })
    }

    fn has(&self, window: [u8; 4]) -> bool {
        let bit = gram_bit(u32::from_le_bytes(window));
        self.filter.bits[(bit >> 3) as usize] >> (bit & 7) & 1 != 0
    }

    /// The sampled windows of `payload` whose bit is set, as the kernel
    /// finds them: where it walks the automaton.
    pub fn sampled_hits<'a>(&'a self, payload: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
        // Window starts: 0 up to the last that fits (none when none does).
        let starts = (payload.len() + 1).saturating_sub(GRAM_LEN as usize);
        (0..starts)
            .step_by(self.stride as usize)
            .filter(move |&at| {
                let window = u32::from_le_bytes(payload[at..at + 4].try_into().expect("4 bytes"));
                let bit = gram_bit(window);
                self.filter.bits[(bit >> 3) as usize] >> (bit & 7) & 1 != 0
            })
    }
}

impl std::fmt::Debug for GramSampling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GramSampling")
            .field("stride", &self.stride)
            .field("fill", &self.fill())
            .finish()
    }
}

/// A zeroed filter on the heap (512 KiB: not through the stack).
fn boxed_zeroed_filter() -> Box<GramFilter> {
    let bytes: Box<[u8]> = vec![0u8; std::mem::size_of::<GramFilter>()].into_boxed_slice();
    // SAFETY: GramFilter is a repr(C) byte array, valid for any bit pattern,
    // with the same size and alignment 1.
    unsafe { Box::from_raw(Box::into_raw(bytes).cast::<GramFilter>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::bench::frames::Lcg;

    fn random_patterns(rng: &mut Lcg, n: usize, min: usize, max: usize) -> Vec<Pattern> {
        const ALPHABET: &[u8] = b"abcdefghijKLMNOPqrstuvwxyz0123456789${}()/.:;=-_%";
        (0..n)
            .map(|i| {
                let len = min + rng.next() % (max - min + 1);
                let bytes: Vec<u8> = (0..len)
                    .map(|_| ALPHABET[rng.next() % ALPHABET.len()])
                    .collect();
                let mut p = Pattern::new(bytes, i as u32);
                p.case_insensitive = rng.next().is_multiple_of(2);
                p
            })
            .collect()
    }

    /// Every occurrence, at every offset, in either case where the pattern
    /// is case-insensitive, holds a sampled window the filter lets through
    /// from which the kernel's walk covers the whole occurrence.
    #[test]
    fn every_planted_occurrence_is_let_through() {
        let mut rng = Lcg(7);
        for (min, max) in [(6, 6), (6, 12), (10, 17), (12, 12)] {
            let patterns = random_patterns(&mut rng, 300, min, max);
            let grams = GramSampling::build(&patterns).unwrap();
            assert_eq!(grams.stride() as usize, min - 3);
            let max_len = patterns.iter().map(|p| p.bytes.len()).max().unwrap();
            for _ in 0..2_000 {
                let p = &patterns[rng.next() % patterns.len()];
                let mut payload: Vec<u8> = (0..64 + rng.next() % 400)
                    .map(|_| b"ABCDEFGHIJklmnopqrstuvwxyz :/\r\n"[rng.next() % 31])
                    .collect();
                let at = rng.next() % (payload.len() - p.bytes.len() + 1);
                for (i, &b) in p.bytes.iter().enumerate() {
                    payload[at + i] = if p.case_insensitive && rng.next().is_multiple_of(2) {
                        b.to_ascii_uppercase()
                    } else {
                        b
                    };
                }
                let end = at + p.bytes.len();
                // The kernel walks [hit - (max_len - 4), hit + max_len).
                let covered = grams
                    .sampled_hits(&payload)
                    .any(|hit| hit.saturating_sub(max_len - 4) <= at && end <= hit + max_len);
                assert!(
                    covered,
                    "occurrence of {:?} at {at} not let through",
                    p.bytes
                );
            }
        }
    }

    /// A payload that ends with a proper prefix of a pattern, of any
    /// length, in either case where the pattern is case-insensitive, may end
    /// in an occurrence. One that ends as a request head does, with a blank
    /// line no pattern begins with, may not. (With 1,000 patterns nearly
    /// every other last byte begins one.)
    #[test]
    fn a_payload_ending_in_a_pattern_prefix_is_walked_at_its_end() {
        let mut rng = Lcg(13);
        let patterns = random_patterns(&mut rng, 1_000, 6, 17);
        let grams = GramSampling::build(&patterns).unwrap();
        let filler = |rng: &mut Lcg, n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| b"ABCDEFGHIJklmnopqrstuvwxyz :/\r\n"[rng.next() % 31])
                .collect()
        };
        for _ in 0..5_000 {
            let p = &patterns[rng.next() % patterns.len()];
            let cut = 1 + rng.next() % (p.bytes.len() - 1);
            let mut payload = filler(&mut rng, 64);
            payload.extend(p.bytes[..cut].iter().map(|&b| {
                if p.case_insensitive && rng.next().is_multiple_of(2) {
                    b.to_ascii_uppercase()
                } else {
                    b
                }
            }));
            assert!(
                grams.may_end_in_occurrence(&payload),
                "{:?} cut at {cut}",
                p.bytes
            );
        }
        let walked = (0..5_000)
            .filter(|_| {
                let mut head = filler(&mut rng, 64);
                head.extend_from_slice(b"\r\n\r\n");
                grams.may_end_in_occurrence(&head)
            })
            .count();
        assert!(walked < 50, "{walked} of 5,000 request heads");
    }

    #[test]
    fn short_or_decoded_patterns_have_no_filter() {
        assert!(GramSampling::build(&[Pattern::new(b"abcde".to_vec(), 1)]).is_none());
        let mut decoded = Pattern::new(b"/etc/passwd".to_vec(), 1);
        decoded.percent_decoded = true;
        assert!(GramSampling::build(&[decoded]).is_none());
        assert!(GramSampling::build(&[]).is_none());
    }

    /// On text none of the patterns' windows occur in, few sampled windows
    /// are let through: 1,000 patterns of 10 to 17 bytes set under 1% of
    /// the bits.
    #[test]
    fn a_thousand_patterns_leave_the_filter_sparse() {
        let mut rng = Lcg(11);
        let patterns = random_patterns(&mut rng, 1_000, 10, 17);
        let grams = GramSampling::build(&patterns).unwrap();
        assert!(grams.fill() < 0.01, "fill {}", grams.fill());
        let request = b"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n\
            User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
            Accept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\n\r\n";
        let hits = grams.sampled_hits(request).count();
        let samples = (request.len() - 4) / grams.stride() as usize + 1;
        assert!(
            hits * 10 < samples,
            "{hits} of {samples} sampled windows let through"
        );
    }
}
