//! Multi-literal scanners: report every (case-insensitive) occurrence of
//! any of a set of literals in a haystack, overlapping ones included.
//!
//! Why not Aho-Corasick: overlapping search measured at about 2 ns per
//! byte plus 30-40 ns per call even as a DFA, and worse for large automata
//! (a cache miss per byte: the DFA of 153 `http.header` literals of ET Open
//! was 1.6 MB); an HTTP transaction is a dozen short buffers. Each set is
//! split instead (see [`Scanner::new`]):
//!
//! - A few literals are found in one SIMD pass: with SSSE3, by a
//!   [`Teddy`] (3 or more literals of at least 3 bytes: one pass of about
//!   25 instructions per 16 positions whatever their number; sets of up to
//!   32 literals use nothing else); else, and for 1-2 byte literals, each
//!   by two of its rarest bytes ([`PairLit`]; for a scanner, a pair
//!   that the lines every HTTP head has do not hold), case-folded, compared 16
//!   positions at a time with SSE2 (a buffer of at most 64 bytes is loaded
//!   once into registers, without a copy through memory, and each
//!   literal's starts are the positions of its two bytes, as bitmasks,
//!   shifted and intersected), then verified.
//! - The rest go to a hashed gram filter (in the spirit of Hyperscan's
//!   FDR): each literal is keyed by gram(s) of 4 bytes, case-folded, and
//!   each probed haystack position hashes its 4 bytes into a bitmap that
//!   fits in L2; only when the bit is set are the literals of that bucket
//!   compared (out of line, so the probe loop keeps its state in
//!   registers; with AVX2, haystacks of 32 bytes or more are probed 8
//!   positions per step, see [`crate::gram_probe`]). Literals all of whose
//!   keys would be grams every HTTP head has ([`crate::common_grams`]) are
//!   left to the pair literals or the Teddy. The filter probes every
//!   `s`-th position only, each literal being keyed by `s` consecutive
//!   grams (its least shared window of them): an occurrence covers `s`
//!   consecutive gram positions, one of which is probed. Literals too
//!   short for the stride become pair literals or Teddy literals; the
//!   stride (1 to 4) is the one whose scanner costs least on typical
//!   contents of the buffer ([`crate::sample`]). Only when a set has too
//!   many literals shorter than 4 bytes does the filter probe every
//!   position with 1- to 3-byte keys as well.
//!
//! An Aho-Corasick DFA remains available on request
//! ([`crate::EngineBuilder::dfa_max_patterns`]).

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::common_grams;
use crate::error::{BuildError, BuildErrorKind};
use crate::fold::eq_lowercase;
#[cfg(target_arch = "x86_64")]
use crate::teddy::{self, Teddy};

const GRAM: usize = 4;
const FOLD: u32 = 0x2020_2020;
const MUL: u32 = 0x9E37_79B1;
/// Keeps the first `n` bytes of a little-endian gram.
const MASKS: [u32; 5] = [0, 0xFF, 0xFFFF, 0xFF_FFFF, 0xFFFF_FFFF];

/// Costs of a scan's parts, in about cycles of the AVX2 machines measured
/// (an AMD EPYC), for [`Scanner::estimate`] to choose between gram filter
/// strides. Relative figures matter, not absolute ones.
pub(crate) mod cost {
    /// A position probed 8 at a time ([`crate::gram_probe`]): a step
    /// waits for its gather (a browser request's ~100 steps took ~4 ns
    /// each with all ET Open rules).
    pub(crate) const PROBE_VECTOR: f64 = 2.0;
    /// A position probed alone (a haystack under 32 bytes).
    pub(crate) const PROBE_SCALAR: f64 = 3.0;
    /// A scan's fixed cost (the call, the setup of the loop).
    pub(crate) const SCAN_FIXED: f64 = 10.0;
    /// A position found: the out-of-line verification's call and, most
    /// often, a mispredicted branch.
    pub(crate) const HIT: f64 = 25.0;
    /// Each entry of a gram filter bucket looked at.
    pub(crate) const ENTRY: f64 = 2.0;
    /// A literal compared with the haystack.
    pub(crate) const COMPARE: f64 = 8.0;
    /// A Teddy per haystack byte (a 32-position AVX2 step of ~12
    /// instructions), and per scan.
    pub(crate) const TEDDY_BYTE: f64 = 0.15;
    pub(crate) const TEDDY_FIXED: f64 = 15.0;
    /// A pair literal per haystack byte and per scan.
    pub(crate) const PAIR_BYTE: f64 = 0.2;
    pub(crate) const PAIR_FIXED: f64 = 10.0;
}

/// Literals found by [`PairLit`] rather than by the gram filter: a
/// pair literal costs about a twentieth of a gram probe per byte, so a few
/// are cheaper than a filter, and cheaper than slowing the filter down
/// (keys shorter than 4 bytes, or a stride of 1 for a handful of short
/// literals).
const MAX_PAIR_LITERALS: usize = 8;
/// Most literals too short for a gram filter's stride that become pair
/// literals next to it.
const MAX_PAIRS_BESIDE_GRAMS: usize = 16;
/// Relative per-byte cost of a pair literal (a gram probe is 1): one
/// vector step of about ten instructions per 16 bytes, plus a fixed cost
/// per haystack that dominates on short ones (two pair literals beside a
/// stride-4 filter cost a 26-byte server name ~170 instructions more than
/// stride 3 without; 0.06 chose them).
const PAIR_COST: f64 = 0.1;
/// Most literals keyed only by common grams that leave a gram filter for
/// pair literals or a Teddy (a few, so that the Teddy stays selective).
const MAX_COMMON_AS_PAIRS: usize = 8;

/// Whether every window of `stride` consecutive grams of `p` holds a gram
/// of [`common_grams`].
fn only_common_windows(p: &[u8], stride: usize) -> bool {
    let common: Vec<bool> = p
        .windows(GRAM)
        .map(|w| common_grams::is_common(fold_gram(w), fold_gram))
        .collect();
    common.len() >= stride && common.windows(stride).all(|w| w.contains(&true))
}

/// Shortest haystack probed with AVX2: a vector step waits for its
/// gather (some 25 cycles on the machines measured) where a few scalar
/// probes overlap, so host names, DNS names and short URIs are probed
/// faster one position at a time (DNS queries with 100 rules cost 14 ns
/// more when their names went through the vector probe; thresholds from
/// 24 to 64 bytes measured alike).
const MIN_VECTOR_PROBE_LEN: usize = 32;

/// Longest gram filter stride.
const MAX_STRIDE: usize = 4;

/// Asks the CPU to load the first cache lines of a haystack: an input's
/// buffers lie in several allocations (the head, the normalized URI, host
/// and header block, the header names), and when they are not in cache
/// (a transaction parsed a while ago, or the benchmark cycling through
/// thousands) fetching them one after the other as each scan starts costs
/// more than the scans; fetched together, the misses overlap.
#[inline]
pub(crate) fn prefetch(hay: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for off in (0..hay.len()).step_by(64).take(4) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch never faults; the address is inside `hay`.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(hay.as_ptr().add(off).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = hay;
}

/// A compiled literal set: a few literals found by SIMD pair search, the
/// others by a gram filter.
#[derive(Debug)]
pub(crate) enum Scanner {
    Ac(AhoCorasick),
    Filters {
        pairs: Box<[PairLit]>,
        /// The pair literals' job for 3 or more literals of at least 3
        /// bytes, when the CPU has SSSE3.
        #[cfg(target_arch = "x86_64")]
        teddy: Option<Box<Teddy>>,
        grams: Option<Box<Grams>>,
    },
}

/// Fewest literals given to a [`Teddy`] rather than pair literals.
#[cfg(target_arch = "x86_64")]
const TEDDY_MIN: usize = 3;
/// Shortest literal a [`Teddy`] finds (its window).
const TEDDY_MIN_LEN: usize = 3;
#[cfg(target_arch = "x86_64")]
const _: () = assert!(teddy::MIN_LEN == TEDDY_MIN_LEN);

/// Most literals of a set found by a [`Teddy`] alone (larger sets get a
/// gram filter). 16: beyond two literals per bucket, a Teddy's false
/// bucket hits cost more verification than a gram filter's probes on
/// browser-sized heads (all ET Open rules: `http.uri.raw`'s 32 literals
/// on 84-byte URIs; with 100 rules, `http.host`'s 20), while on the short
/// synthetic heads the two are within 2%.
const MAX_TEDDY_ALONE: usize = 16;

/// Whether gram filters probe with AVX2 ([`crate::gram_probe`]).
fn vector_probe_enabled() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *ON.get_or_init(crate::gram_probe::available)
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Whether scanners use a [`Teddy`] (the CPU has SSSE3).
#[cfg(target_arch = "x86_64")]
fn teddy_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(Teddy::available)
}

/// The filters for literals `paired` (found by pair literals or a Teddy)
/// and a gram filter.
fn filters(
    patterns: &[&[u8]],
    paired: &[usize],
    grams: Option<Box<Grams>>,
    allow_teddy: bool,
) -> Scanner {
    #[cfg(target_arch = "x86_64")]
    {
        let long = paired
            .iter()
            .filter(|&&i| patterns[i].len() >= teddy::MIN_LEN)
            .count();
        let use_teddy = long >= TEDDY_MIN && allow_teddy && Teddy::available();
        // A Teddy there also takes the 2-byte literals: one pass of pair
        // search each cost more (six in ET Open's `http.uri`).
        let (tlits, rest): (Vec<usize>, Vec<usize>) = if use_teddy {
            paired
                .iter()
                .partition(|&&i| patterns[i].len() >= teddy::MIN_LEN_SHORT)
        } else {
            (Vec::new(), paired.to_vec())
        };
        let lits: Vec<(&[u8], usize)> = tlits.iter().map(|&i| (patterns[i], i)).collect();
        Scanner::Filters {
            pairs: rest
                .iter()
                .map(|&i| PairLit::uncommon(patterns[i], i))
                .collect(),
            teddy: (!lits.is_empty()).then(|| Box::new(Teddy::new(&lits))),
            grams,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = allow_teddy;
    #[cfg(not(target_arch = "x86_64"))]
    Scanner::Filters {
        pairs: paired
            .iter()
            .map(|&i| PairLit::uncommon(patterns[i], i))
            .collect(),
        grams,
    }
}

/// A literal found by two of its bytes (the rarest, case-folded), compared
/// 16 positions at a time with SSE2, then verified.
#[derive(Debug)]
pub(crate) struct PairLit {
    i1: usize,
    i2: usize,
    a1: u8,
    a2: u8,
    pattern: usize,
    lit: Box<[u8]>,
}

/// How common a (folded) byte is in HTTP heads, host names and the like
/// (higher: more common). A guess, like memchr's rank table.
pub(crate) fn rank(b: u8) -> u8 {
    const LETTERS: &[u8] = b"zqjxkvbywgpfmucdlhrsniaote";
    match b | 0x20 {
        c @ b'a'..=b'z' => 100 + LETTERS.iter().position(|&l| l == c).unwrap_or(0) as u8 * 3,
        b'0'..=b'9' => 150,
        b' ' | b'/' | b'.' | b':' | b'-' | b'\r' | b'\n' | b'=' | b',' | b';' => 200,
        b'_' | b'&' | b'?' | b'%' | b'(' | b')' | b'+' | b'*' => 90,
        _ => 10,
    }
}

impl PairLit {
    fn new(p: &[u8], pattern: usize) -> PairLit {
        // The rarest byte, then the rarest other one.
        let by_rank = |i: &usize| (rank(p[*i]), std::cmp::Reverse(*i));
        let i1 = (0..p.len()).min_by_key(by_rank).expect("non-empty literal");
        let i2 = (0..p.len())
            .filter(|&i| i != i1)
            .min_by_key(by_rank)
            .unwrap_or(i1);
        PairLit::anchored(p, i1.min(i2), i1.max(i2), pattern)
    }

    /// The literal `p`, found by its bytes at `i1 <= i2`.
    fn anchored(p: &[u8], i1: usize, i2: usize, pattern: usize) -> PairLit {
        PairLit {
            i1,
            i2,
            a1: p[i1] | 0x20,
            a2: p[i2] | 0x20,
            pattern,
            lit: p.into(),
        }
    }

    /// [`Self::new`] for a scanner's pair literal: the two bytes (of the
    /// rarest 16) that occur together, at their distance, least often in
    /// the lines every HTTP head has ([`common_grams::pair_count`]), then
    /// the rarest. ET's `User-Agent|3a 20 20|` by its rarest bytes was
    /// `g` and `u`, verified on every request; by its two spaces, only
    /// where a header has two.
    fn uncommon(p: &[u8], pattern: usize) -> PairLit {
        let mut by_rank: Vec<usize> = (0..p.len()).collect();
        by_rank.sort_by_key(|&i| (rank(p[i]), std::cmp::Reverse(i)));
        by_rank.truncate(16);
        let mut best: Option<((usize, u32), usize, usize)> = None;
        for (k, &a) in by_rank.iter().enumerate() {
            for &b in &by_rank[k + 1..] {
                let (i1, i2) = (a.min(b), a.max(b));
                let (a1, a2) = (p[i1] | 0x20, p[i2] | 0x20);
                let key = (
                    common_grams::pair_count(a1, i1, a2, i2),
                    u32::from(rank(a1)) + u32::from(rank(a2)),
                );
                if best.is_none_or(|(k, _, _)| key < k) {
                    best = Some((key, i1, i2));
                }
            }
        }
        match best {
            Some((_, i1, i2)) => PairLit::anchored(p, i1, i2, pattern),
            None => PairLit::new(p, pattern),
        }
    }

    /// The starts `s..s + 16` where both anchor bytes match, as bits.
    ///
    /// # Safety
    ///
    /// `p + i2 + 16` must not be past the end of `p`'s allocation.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn chunk(&self, p: *const u8) -> u32 {
        use std::arch::x86_64::{
            _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86_64 baseline; the loads are in
        // bounds by the caller's promise (`i1 <= i2`).
        unsafe {
            let fold = _mm_set1_epi8(0x20);
            let c1 = _mm_or_si128(_mm_loadu_si128(p.add(self.i1).cast()), fold);
            let c2 = _mm_or_si128(_mm_loadu_si128(p.add(self.i2).cast()), fold);
            let eq = _mm_and_si128(
                _mm_cmpeq_epi8(c1, _mm_set1_epi8(self.a1 as i8)),
                _mm_cmpeq_epi8(c2, _mm_set1_epi8(self.a2 as i8)),
            );
            _mm_movemask_epi8(eq) as u32
        }
    }

    /// [`Self::scan`] with AVX2, 32 starts per step, the last step ending
    /// at the last start. Half the steps of SSE2 on the long buffers
    /// (`http.header.raw`: 480 bytes in a browser request, where all ET
    /// Open has is one pair literal); ending with an AVX2 step too
    /// (rather than an SSE2 step, a last SSE2 step and scalar starts)
    /// spares a URI of 84 bytes two steps per pair literal.
    ///
    /// # Safety
    ///
    /// The CPU must have AVX2; `starts == hay.len() - lit.len() + 1 >= 32`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn scan32(&self, hay: &[u8], starts: usize, f: &mut impl FnMut(usize)) {
        debug_assert!(starts >= 32);
        let mut s = 0;
        loop {
            // SAFETY: the CPU has AVX2; `starts` is as required.
            let (at, m) = unsafe { self.next_hit32(hay, starts, s) };
            if m == 0 {
                s = at;
                break;
            }
            self.confirm(hay, at, m.into(), f);
            s = at + 32;
        }
        // The last starts: one more step ending at the last start, without
        // the starts already done.
        if s < starts {
            let from = starts - 32;
            // SAFETY: as above; one step, `from + 32 == starts`.
            let (_, m) = unsafe { self.next_hit32(hay, starts, from) };
            let m = m >> (s - from) << (s - from);
            self.confirm(hay, from, m.into(), f);
        }
    }

    /// [`Self::scan32`]'s steps from start `s` on up to the first where
    /// both anchor bytes match: its first start and the starts (as bits),
    /// or where the steps end and no starts.
    ///
    /// Out of line and calling nothing, so that its constants stay in
    /// registers: with the confirmation (and its callback) in the same
    /// loop, the compiler kept them on the stack and reloaded them on
    /// every step.
    ///
    /// # Safety
    ///
    /// As [`Self::scan32`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline(never)]
    unsafe fn next_hit32(&self, hay: &[u8], starts: usize, mut s: usize) -> (usize, u32) {
        use std::arch::x86_64::{
            _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
            _mm256_or_si256, _mm256_set1_epi8,
        };
        let fold = _mm256_set1_epi8(0x20);
        let (b1, b2) = (
            _mm256_set1_epi8(self.a1 as i8),
            _mm256_set1_epi8(self.a2 as i8),
        );
        let (p1, p2) = (
            hay.as_ptr().wrapping_add(self.i1),
            hay.as_ptr().wrapping_add(self.i2),
        );
        while s + 32 <= starts {
            // SAFETY: reads end at `s + i2 + 32 <= starts + len - 1 =
            // hay.len()` (`i2 < len`).
            let m = unsafe {
                let c1 = _mm256_or_si256(_mm256_loadu_si256(p1.add(s).cast()), fold);
                let c2 = _mm256_or_si256(_mm256_loadu_si256(p2.add(s).cast()), fold);
                _mm256_movemask_epi8(_mm256_and_si256(
                    _mm256_cmpeq_epi8(c1, b1),
                    _mm256_cmpeq_epi8(c2, b2),
                )) as u32
            };
            if m != 0 {
                return (s, m);
            }
            s += 32;
        }
        (s, 0)
    }

    /// Calls `f` for each start of the literal in `hay`.
    #[inline]
    fn scan(&self, hay: &[u8], f: &mut impl FnMut(usize)) {
        let len = self.lit.len();
        if hay.len() < len {
            return;
        }
        // Starts `0..starts` are possible.
        let starts = hay.len() - len + 1;
        #[cfg(target_arch = "x86_64")]
        if starts >= 32 && vector_probe_enabled() {
            // SAFETY: the CPU has AVX2.
            unsafe { self.scan32(hay, starts, f) };
            return;
        }
        #[allow(unused_mut)]
        let mut s = 0;
        #[cfg(target_arch = "x86_64")]
        while s + 16 <= starts {
            // SAFETY: the chunk reads up to `s + i2 + 16 <= s + 16 + len - 1`,
            // which is at most `starts + len - 1 = hay.len()`.
            let m = unsafe { self.chunk(hay.as_ptr().add(s)) };
            self.confirm(hay, s, m.into(), f);
            s += 16;
        }
        // The last starts: one more vector step ending at the last start,
        // without the starts already done.
        #[cfg(target_arch = "x86_64")]
        if s < starts && starts >= 16 {
            let from = starts - 16;
            // SAFETY: as above, with `from + 16 == starts`.
            let m = unsafe { self.chunk(hay.as_ptr().add(from)) } >> (s - from) << (s - from);
            self.confirm(hay, from, m.into(), f);
            s = starts;
        }
        for at in s..starts {
            if hay[at + self.i1] | 0x20 == self.a1
                && hay[at + self.i2] | 0x20 == self.a2
                && eq_lowercase(&hay[at..at + len], &self.lit)
            {
                f(self.pattern);
            }
        }
    }

    /// [`Self::scan`] for a haystack of at most 64 bytes held in vector
    /// registers ([`Short`]): the starts are the positions of the first
    /// anchor byte, shifted, and those of the second.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn scan_short(&self, short: &Short, hay: &[u8], f: &mut impl FnMut(usize)) {
        let len = self.lit.len();
        let n = hay.len();
        if n < len {
            return;
        }
        // `1 <= n - len + 1 <= 64` starts.
        let valid = u64::MAX >> (64 - (n - len + 1));
        let m =
            (short.positions(self.a1) >> self.i1) & (short.positions(self.a2) >> self.i2) & valid;
        self.confirm(hay, 0, m, f);
    }

    /// Calls `f` for each start `base + i`, `i` a set bit of `m` (where
    /// both anchor bytes matched), that holds the whole literal.
    #[inline(always)]
    fn confirm(&self, hay: &[u8], base: usize, mut m: u64, f: &mut impl FnMut(usize)) {
        let len = self.lit.len();
        while m != 0 {
            let at = base + m.trailing_zeros() as usize;
            if eq_lowercase(&hay[at..at + len], &self.lit) {
                f(self.pattern);
            }
            m &= m - 1;
        }
    }
}

/// A haystack of at most [`SHORT`] bytes, case-folded, in up to four
/// vector registers, loaded without copying it through memory (a padded
/// copy costs a store-forwarding stall when read back as a vector): the
/// positions where a byte occurs are then a 64-bit mask.
#[cfg(target_arch = "x86_64")]
pub(crate) struct Short {
    v: [std::arch::x86_64::__m128i; 4],
    /// Where each vector starts in the haystack (vectors overlap at the
    /// end, since loads never go past the haystack).
    at: [u32; 4],
    k: usize,
}

#[cfg(target_arch = "x86_64")]
impl Short {
    #[inline(always)]
    pub(crate) fn new(hay: &[u8]) -> Short {
        use std::arch::x86_64::{_mm_loadu_si128, _mm_or_si128, _mm_set1_epi8, _mm_setzero_si128};
        let n = hay.len();
        debug_assert!(n <= SHORT);
        // SAFETY: SSE2 is part of the x86_64 baseline; loads are of 16
        // bytes inside `hay`.
        unsafe {
            let fold = _mm_set1_epi8(0x20);
            let mut v = [_mm_setzero_si128(); 4];
            let mut at = [0u32; 4];
            if n < 16 {
                v[0] = _mm_or_si128(raw16(hay), fold);
                return Short { v, at, k: 1 };
            }
            let k = n.div_ceil(16);
            for j in 0..k {
                let off = (16 * j).min(n - 16);
                v[j] = _mm_or_si128(_mm_loadu_si128(hay.as_ptr().add(off).cast()), fold);
                at[j] = off as u32;
            }
            Short { v, at, k }
        }
    }

    /// Positions where the (folded) byte `c` occurs (bits past the end
    /// may be set for `c == 0x20`, a zero byte of the padding folded).
    #[inline(always)]
    fn positions(&self, c: u8) -> u64 {
        use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set1_epi8};
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe {
            let c = _mm_set1_epi8(c as i8);
            let mut m = _mm_movemask_epi8(_mm_cmpeq_epi8(self.v[0], c)) as u32 as u64;
            for j in 1..self.k {
                m |= (_mm_movemask_epi8(_mm_cmpeq_epi8(self.v[j], c)) as u32 as u64) << self.at[j];
            }
            m
        }
    }
}

/// A haystack of fewer than 16 bytes in a register, zero-padded, loaded
/// with overlapping scalar loads (no copy through memory).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn raw16(hay: &[u8]) -> std::arch::x86_64::__m128i {
    let n = hay.len();
    debug_assert!(n < 16);
    let u64_at = |i: usize| u64::from_le_bytes(hay[i..i + 8].try_into().expect("8 bytes"));
    let u32_at = |i: usize| {
        u64::from(u32::from_le_bytes(
            hay[i..i + 4].try_into().expect("4 bytes"),
        ))
    };
    let (lo, hi) = match n {
        9.. => (u64_at(0), u64_at(n - 8) >> (8 * (16 - n))),
        8 => (u64_at(0), 0),
        4.. => (u32_at(0) | (u32_at(n - 4) << (8 * (n - 4))), 0),
        _ => (
            hay.iter()
                .enumerate()
                .fold(0, |g, (k, &c)| g | (u64::from(c) << (8 * k))),
            0,
        ),
    };
    // SAFETY: SSE2 is part of the x86_64 baseline.
    unsafe { std::arch::x86_64::_mm_set_epi64x(hi as i64, lo as i64) }
}

/// Haystacks at most this long are held in registers for the pair
/// literals ([`Short`]): most HTTP buffers (method, URI, host) and DNS
/// names are much shorter than a vector step plus a literal, which would
/// leave them to the scalar loop.
const SHORT: usize = 64;

/// One literal, searched for on its own (a required literal that the
/// scanners of the inspected group do not look for).
#[derive(Debug)]
pub(crate) struct Finder(PairLit);

impl Finder {
    /// A finder of a lowercase, non-empty literal.
    pub(crate) fn new(lit: &[u8]) -> Finder {
        Finder(PairLit::new(lit, 0))
    }

    /// Whether the literal occurs in `hay`, ignoring ASCII case.
    pub(crate) fn is_in(&self, hay: &[u8]) -> bool {
        let mut found = false;
        #[cfg(target_arch = "x86_64")]
        if hay.len() <= SHORT {
            self.0
                .scan_short(&Short::new(hay), hay, &mut |_| found = true);
            return found;
        }
        self.0.scan(hay, &mut |_| found = true);
        found
    }
}

/// A hashed gram filter probing every `stride`-th position.
///
/// With stride `s`, each literal is keyed by `s` consecutive 4-grams (its
/// least shared window of them): an occurrence covers `s` consecutive gram
/// positions, exactly one of which is a multiple of `s`, so probing those
/// alone finds it. Literals shorter than `s + 3` bytes cannot be keyed so;
/// the stride is chosen so that few are (they become pair literals).
#[derive(Debug)]
pub(crate) struct Grams {
    stride: usize,
    /// Bitmap over the top `32 - bit_shift` bits of the key hash.
    bits: Box<[u64]>,
    bit_shift: u32,
    /// Entries of bucket `b` are `entries[offsets[b]..offsets[b + 1]]`.
    offsets: Box<[u32]>,
    bucket_shift: u32,
    entries: Box<[Entry]>,
    /// Literal bytes (lowercase), referenced by entries.
    arena: Box<[u8]>,
    /// Some literal is keyed by a full 4-byte gram.
    long: bool,
    /// Masks (from [`MASKS`]) of the shorter key lengths in use (stride 1
    /// only).
    short: Box<[u32]>,
    /// Probe 8 positions per step with AVX2 ([`crate::gram_probe`]).
    vector: bool,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The folded key (1 to 4 bytes).
    gram: u32,
    /// Where the key sits in the literal.
    gram_at: u32,
    pattern: u32,
    offset: u32,
    len: u32,
}

/// The first (up to 4) bytes of `b`, case-folded, little-endian.
#[inline(always)]
fn fold_gram(b: &[u8]) -> u32 {
    let four: [u8; 4] = b[..GRAM].try_into().expect("a gram");
    u32::from_le_bytes(four) | FOLD
}

/// A key shorter than a gram: the folded bytes, zero above.
fn fold_short(b: &[u8]) -> u32 {
    b.iter()
        .take(GRAM)
        .enumerate()
        .fold(0, |g, (k, &c)| g | (u32::from(c | 0x20) << (8 * k)))
}

/// How common the bytes of a gram (4 bytes of a literal) are in traffic
/// ([`rank`]): among grams no other literal of the set shares, the rarest
/// keys a literal (ET's `\r\nConnection: ` would otherwise be keyed by
/// `\r\nCo`, which every request with a `Connection` header has).
fn commonness(bytes: &[u8]) -> u32 {
    bytes[..GRAM]
        .iter()
        // `rank` folds `\n` into `*`, a rare byte: right for the Teddy
        // windows (measured), not for the header line breaks of a key.
        .map(|&b| u32::from(if b == b'\n' { 200 } else { rank(b) }))
        .sum()
}

#[inline(always)]
fn hash(g: u32) -> u32 {
    g.wrapping_mul(MUL)
}

fn ac(patterns: &[&[u8]]) -> Result<AhoCorasick, BuildError> {
    AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::DFA))
        .build(patterns)
        .map_err(|e| BuildError::new(BuildErrorKind::Automaton, format!("automaton: {e}")))
}

impl Scanner {
    /// Compiles lowercase, non-empty literals; pattern indices are their
    /// positions in `patterns`. `dfa`: use an Aho-Corasick DFA instead of
    /// the filters.
    ///
    /// `sample`: typical haystacks ([`crate::sample`]), on which the
    /// candidate gram filter strides are costed ([`Self::estimate`]); with
    /// none, a formula picks the stride.
    pub(crate) fn new(
        patterns: &[&[u8]],
        dfa: bool,
        sample: &[&[u8]],
    ) -> Result<Scanner, BuildError> {
        Self::build(patterns, dfa, true, sample)
    }

    /// [`Self::new`]; `simd`: with the vector matchers the CPU has (a
    /// [`Teddy`], the AVX2 gram probe), else with the portable ones only.
    fn build(
        patterns: &[&[u8]],
        dfa: bool,
        simd: bool,
        sample: &[&[u8]],
    ) -> Result<Scanner, BuildError> {
        if dfa {
            return Ok(Scanner::Ac(ac(patterns)?));
        }
        assert!(patterns.iter().all(|p| !p.is_empty()), "empty literal");
        let all: Vec<usize> = (0..patterns.len()).collect();
        #[cfg(target_arch = "x86_64")]
        let teddy = simd && teddy_enabled();
        #[cfg(not(target_arch = "x86_64"))]
        let teddy = false;
        // A small set: no gram filter. With a Teddy, up to
        // `MAX_TEDDY_ALONE` literals (at most `MAX_PAIR_LITERALS` of them
        // too short for it).
        let tiny = patterns.iter().filter(|p| p.len() < TEDDY_MIN_LEN).count();
        if patterns.len() <= MAX_PAIR_LITERALS
            || (teddy && patterns.len() <= MAX_TEDDY_ALONE && tiny <= MAX_PAIR_LITERALS)
        {
            return Ok(filters(patterns, &all, None, teddy));
        }
        // The stride with the least estimated cost, the literals too short
        // for it being pair literals (or Teddy literals); stride 1 with
        // short keys if there are too many of those. Each stride's
        // scanner is built and costed on the sample: its probes, and the
        // verifications of what its gram filter and Teddy report there
        // (with 5,000 ET Open rules, `payload` at stride 4 beside a Teddy
        // of 6 literals cost a browser request ~100 ns less than stride 2
        // alone, while `http.header` at stride 4 beside a Teddy of 13
        // literals that every head holds cost ~60 ns more than stride 3).
        //
        // Longer strides, made possible by a Teddy taking more short
        // literals (more than `MAX_PAIRS_BESIDE_GRAMS`), measured slower
        // on ET Open: keyed by `s` consecutive grams, a literal of a few
        // bytes gets common ones (`.com`, `www.`), whose hits cost
        // verifications, and the tables grow.
        let too_short = |s: usize| all.iter().filter(|&&i| patterns[i].len() < s + 3).count();
        let feasible: Vec<(usize, usize)> = (1..=MAX_STRIDE)
            .map(|s| (s, too_short(s)))
            .filter(|&(_, n)| n <= MAX_PAIRS_BESIDE_GRAMS)
            .collect();
        let with = |best| Self::with_stride(patterns, &all, best, teddy, simd);
        if feasible.len() < 2 || sample.is_empty() {
            let best = feasible.into_iter().min_by(|a, b| {
                let cost = |(s, n): (usize, usize)| 1.0 / s as f64 + PAIR_COST * n as f64;
                cost(*a).total_cmp(&cost(*b))
            });
            return Ok(with(best));
        }
        // Each stride's scanner, costed on the sample.
        Ok(feasible
            .into_iter()
            .map(|best| {
                let scanner = with(Some(best));
                (scanner.estimate(sample), scanner)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .expect("two strides")
            .1)
    }

    /// The filters for gram filter stride `best` (with the number of
    /// literals too short for it), or stride 1 with short keys.
    fn with_stride(
        patterns: &[&[u8]],
        all: &[usize],
        best: Option<(usize, usize)>,
        teddy: bool,
        simd: bool,
    ) -> Scanner {
        let stride = best.map_or(1, |(s, _)| s);
        let (mut paired, mut keyed): (Vec<usize>, Vec<usize>) = match best {
            Some(_) => all.iter().partition(|&&i| patterns[i].len() < stride + 3),
            None => (Vec::new(), all.to_vec()),
        };
        // A literal all of whose key windows hold a gram every HTTP head
        // has (`get //` at stride 3: `get `; `user-agent: [`) would be
        // verified on nearly every request: a pair literal or a Teddy
        // finds it by its rarest bytes instead.
        if best.is_some() {
            let (common, rare): (Vec<usize>, Vec<usize>) = keyed
                .iter()
                .partition(|&&i| only_common_windows(patterns[i], stride));
            if !common.is_empty() && common.len() <= MAX_COMMON_AS_PAIRS {
                paired.extend(common);
                keyed = rare;
            }
        }
        let grams =
            (!keyed.is_empty()).then(|| Box::new(Grams::new(patterns, &keyed, stride, simd)));
        filters(patterns, &paired, grams, teddy)
    }

    /// Estimated cost of scanning `sample` ([`cost`]'s units).
    pub(crate) fn estimate(&self, sample: &[&[u8]]) -> f64 {
        let Scanner::Filters { pairs, grams, .. } = self else {
            return 0.0;
        };
        #[cfg(target_arch = "x86_64")]
        let teddy = match self {
            Scanner::Filters { teddy: Some(t), .. } => Some(t),
            _ => None,
        };
        sample
            .iter()
            .map(|hay| {
                let mut c =
                    pairs.len() as f64 * (cost::PAIR_FIXED + cost::PAIR_BYTE * hay.len() as f64);
                #[cfg(target_arch = "x86_64")]
                if let Some(t) = teddy {
                    c += t.estimate(hay);
                }
                if let Some(g) = grams {
                    c += g.estimate(hay);
                }
                c
            })
            .sum()
    }

    /// Whether this is an Aho-Corasick DFA.
    pub(crate) fn is_dfa(&self) -> bool {
        matches!(self, Scanner::Ac(_))
    }

    /// Literals found by pair search and by a [`Teddy`] (0 for a DFA).
    pub(crate) fn split(&self) -> (usize, usize) {
        match self {
            Scanner::Ac(_) => (0, 0),
            #[cfg(target_arch = "x86_64")]
            Scanner::Filters { pairs, teddy, .. } => {
                (pairs.len(), teddy.as_ref().map_or(0, |t| t.len()))
            }
            #[cfg(not(target_arch = "x86_64"))]
            Scanner::Filters { pairs, .. } => (pairs.len(), 0),
        }
    }

    /// Gram filter stride (0 without one).
    pub(crate) fn stride(&self) -> usize {
        match self {
            Scanner::Filters { grams: Some(g), .. } => g.stride,
            _ => 0,
        }
    }

    /// Heap bytes.
    pub(crate) fn memory_usage(&self) -> usize {
        match self {
            Scanner::Ac(a) => a.memory_usage(),
            Scanner::Filters { pairs, grams, .. } => {
                #[cfg(target_arch = "x86_64")]
                let teddy = match self {
                    Scanner::Filters { teddy: Some(t), .. } => t.memory_usage(),
                    _ => 0,
                };
                #[cfg(not(target_arch = "x86_64"))]
                let teddy = 0;
                teddy
                    + pairs
                        .iter()
                        .map(|p| std::mem::size_of::<PairLit>() + p.lit.len())
                        .sum::<usize>()
                    + grams.as_ref().map_or(0, |g| {
                        g.bits.len() * 8
                            + g.offsets.len() * 4
                            + g.entries.len() * std::mem::size_of::<Entry>()
                            + g.arena.len()
                            + g.short.len() * 4
                    })
            }
        }
    }

    /// Calls `f` with the pattern index of every occurrence (some
    /// occurrences of the same pattern may be reported more than once).
    #[inline]
    pub(crate) fn for_each(&self, hay: &[u8], mut f: impl FnMut(usize)) {
        match self {
            Scanner::Ac(a) => {
                for m in a.find_overlapping_iter(hay) {
                    f(m.pattern().as_usize());
                }
            }
            #[cfg(target_arch = "x86_64")]
            Scanner::Filters {
                pairs,
                teddy,
                grams,
            } => {
                if pairs.is_empty() {
                } else if hay.len() <= SHORT {
                    let short = Short::new(hay);
                    for p in pairs.iter() {
                        p.scan_short(&short, hay, &mut f);
                    }
                } else {
                    for p in pairs.iter() {
                        p.scan(hay, &mut f);
                    }
                }
                if let Some(t) = teddy {
                    let reg = (hay.len() < 16).then(|| raw16(hay));
                    // SAFETY: built only if the CPU has SSSE3.
                    unsafe { t.scan(hay, reg, &mut f) };
                }
                if let Some(g) = grams
                    && hay.len() >= g.min_len()
                {
                    g.scan(hay, &mut f);
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            Scanner::Filters { pairs, grams } => {
                for p in pairs.iter() {
                    p.scan(hay, &mut f);
                }
                if let Some(g) = grams
                    && hay.len() >= g.min_len()
                {
                    g.scan(hay, &mut f);
                }
            }
        }
    }
}

impl Grams {
    /// Keys literals `keyed` of `patterns` (each at least `stride + 3`
    /// bytes long when `stride > 1`); `simd`: probe with AVX2 if the CPU
    /// has it.
    fn new(patterns: &[&[u8]], keyed: &[usize], stride: usize, simd: bool) -> Grams {
        // About 128 bits per key, at most 64 KiB: the bitmaps of all the
        // buffers of a transaction should stay in L2. With 16 bits per
        // key, 4 in 10 verifications of a request with all of ET Open
        // were bitmap collisions, which cost more than the vector probe
        // of all positions (short keys, up to three probes per position,
        // want the low collision rate too); at 64 bits per key, a browser
        // request with 5,000 ET Open rules still paid ~300 instructions
        // for collisions (each a verification out of the probe loop).
        let keys = keyed.len() * stride;
        let bit_bits = (keys.max(1) * 128)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(12, 19);
        let bucket_bits = (keys.max(1) * 2)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(4, 16);
        let mut bits = vec![0u64; 1 << (bit_bits - 6)];
        let mut arena = Vec::new();
        let mut entries: Vec<(u32, Entry)> = Vec::with_capacity(keys);
        // Key each literal by its least shared 4-grams: many literals share
        // a prefix ("User-Agent: ", "/wp-content/"), and a gram every
        // transaction contains must not lead to hundreds of comparisons.
        let mut gram_count: std::collections::HashMap<u32, u32> = Default::default();
        for p in keyed
            .iter()
            .map(|&i| patterns[i])
            .filter(|p| p.len() >= GRAM)
        {
            let mut seen: Vec<u32> = p.windows(GRAM).map(fold_gram).collect();
            seen.sort_unstable();
            seen.dedup();
            for g in seen {
                *gram_count.entry(g).or_default() += 1;
            }
        }
        let mut long = false;
        let mut short = Vec::new();
        let mut push = |gram: u32, gram_at: usize, i: usize, offset: usize, len: usize| {
            let h = hash(gram);
            let bit = h >> (32 - bit_bits);
            bits[(bit >> 6) as usize] |= 1 << (bit & 63);
            entries.push((
                h >> (32 - bucket_bits),
                Entry {
                    gram,
                    gram_at: gram_at as u32,
                    pattern: i as u32,
                    offset: offset as u32,
                    len: len as u32,
                },
            ));
        };
        for &i in keyed {
            let p = patterns[i];
            let offset = arena.len();
            arena.extend_from_slice(p);
            if p.len() < GRAM {
                short.push(MASKS[p.len()]);
                push(fold_short(p), 0, i, offset, p.len());
                continue;
            }
            long = true;
            let grams: Vec<u32> = p.windows(GRAM).map(fold_gram).collect();
            // The window with the fewest grams every HTTP head has (their
            // hits are certain), then the least shared with other
            // literals, then of the rarest bytes.
            let k = (0..=grams.len() - stride)
                .min_by_key(|&k| {
                    let w = &grams[k..k + stride];
                    let counts = w.iter().map(|g| gram_count[g]);
                    let everywhere = w
                        .iter()
                        .filter(|&&g| common_grams::is_common(g, fold_gram))
                        .count();
                    let common: u32 = (k..k + stride).map(|j| commonness(&p[j..])).sum();
                    (
                        everywhere,
                        counts.clone().max(),
                        counts.sum::<u32>(),
                        common,
                    )
                })
                .expect("literal of at least stride + 3 bytes");
            for (j, &g) in grams[k..k + stride].iter().enumerate() {
                push(g, k + j, i, offset, p.len());
            }
        }
        short.sort_unstable();
        short.dedup();
        entries.sort_by_key(|(b, _)| *b);
        let mut offsets = vec![0u32; (1 << bucket_bits) + 1];
        for (b, _) in &entries {
            offsets[*b as usize + 1] += 1;
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        Grams {
            stride,
            bits: bits.into(),
            bit_shift: 32 - bit_bits,
            offsets: offsets.into(),
            bucket_shift: 32 - bucket_bits,
            entries: entries.into_iter().map(|(_, e)| e).collect(),
            arena: arena.into(),
            long,
            short: short.into(),
            vector: simd && vector_probe_enabled(),
        }
    }

    /// Estimated cost of [`Self::scan`] on `hay` ([`cost`]'s units): its
    /// probes, and the verifications of the positions whose bit is set.
    fn estimate(&self, hay: &[u8]) -> f64 {
        if hay.len() < self.min_len() {
            return 0.0;
        }
        let vector = self.short.is_empty() && self.vector && hay.len() >= MIN_VECTOR_PROBE_LEN;
        let probe = if vector {
            cost::PROBE_VECTOR
        } else {
            cost::PROBE_SCALAR
        };
        let mut c = cost::SCAN_FIXED;
        let mut key = |g: u32| {
            c += probe;
            let bit = hash(g) >> self.bit_shift;
            if self.bits[(bit >> 6) as usize] & (1 << (bit & 63)) != 0 {
                let bucket = self.bucket(g);
                c += cost::HIT + cost::ENTRY * bucket.len() as f64;
                c += cost::COMPARE * bucket.iter().filter(|e| e.gram == g).count() as f64;
            }
        };
        let windows = hay.windows(GRAM).map(fold_gram);
        if self.short.is_empty() {
            windows.step_by(self.stride).for_each(&mut key);
        } else {
            for g in windows {
                if self.long {
                    key(g);
                }
                self.short.iter().for_each(|&m| key(g & m));
            }
        }
        c
    }

    /// The entries whose key hashes like gram `g`.
    #[inline]
    fn bucket(&self, g: u32) -> &[Entry] {
        let b = (hash(g) >> self.bucket_shift) as usize;
        &self.entries[self.offsets[b] as usize..self.offsets[b + 1] as usize]
    }

    /// Shortest haystack that can hold a key.
    fn min_len(&self) -> usize {
        if self.short.is_empty() { GRAM } else { 1 }
    }

    fn scan(&self, hay: &[u8], f: &mut dyn FnMut(usize)) {
        // Locals, so that the loop keeps them in registers.
        let bits: &[u64] = &self.bits;
        let word_mask = bits.len() - 1;
        let bit_shift = self.bit_shift;
        let test = |g: u32| {
            let bit = hash(g) >> bit_shift;
            bits[(bit >> 6) as usize & word_mask] & (1 << (bit & 63)) != 0
        };
        #[cfg(target_arch = "x86_64")]
        if self.short.is_empty() && self.vector && hay.len() >= MIN_VECTOR_PROBE_LEN {
            // SAFETY: `vector` is set only if the CPU has AVX2; the bitmap
            // has `2^(32 - bit_shift)` bits; strides are at most 4.
            unsafe {
                crate::gram_probe::probe(hay, self.stride, bits, bit_shift, FOLD, MUL, |i| {
                    self.verify(hay, i, fold_gram(&hay[i..]), f)
                })
            };
            return;
        }
        if self.short.is_empty() {
            let mut i = 0;
            while let Some((at, g)) = self.next_hit(hay, i) {
                self.verify(hay, at, g, f);
                i = at + self.stride;
            }
            return;
        }
        for (i, w) in hay.windows(GRAM).enumerate() {
            let g = fold_gram(w);
            if self.long && test(g) {
                self.verify(hay, i, g, f);
            }
            for &m in self.short.iter() {
                if test(g & m) {
                    self.verify(hay, i, g & m, f);
                }
            }
        }
        // The last positions, where only shorter keys fit.
        for i in hay.len().saturating_sub(GRAM - 1)..hay.len() {
            let rest = &hay[i..];
            let g = fold_short(rest);
            let fits = MASKS[rest.len()];
            for &m in self.short.iter().filter(|&&m| m <= fits) {
                if test(g & m) {
                    self.verify(hay, i, g & m, f);
                }
            }
        }
    }

    /// The scalar probe from position `i` on (every `stride`-th) up to
    /// the first whose gram has its bit set: the position and the gram.
    ///
    /// A loop of its own that calls nothing, so that the bitmap, bounds
    /// and stride stay in registers: with the verification in the same
    /// loop, the compiler kept them on the stack and reloaded them on every
    /// position, and walking 4-byte windows with `step_by` added its own
    /// bookkeeping (22 instructions per position; here 12).
    #[inline(never)]
    fn next_hit(&self, hay: &[u8], mut i: usize) -> Option<(usize, u32)> {
        let (bits, shift, stride) = (&self.bits[..], self.bit_shift, self.stride);
        debug_assert_eq!(bits.len() << 6, 1 << (32 - shift));
        let last = hay.len().checked_sub(GRAM)?;
        while i <= last {
            let g = fold_gram(&hay[i..]);
            let bit = hash(g) >> shift;
            // SAFETY: the bitmap has `2^(32 - shift)` bits ([`Grams::new`]).
            let word = unsafe { bits.get_unchecked((bit >> 6) as usize) };
            if word & (1 << (bit & 63)) != 0 {
                return Some((i, g));
            }
            i += stride;
        }
        None
    }

    /// Compares the literals keyed by `g` with the haystack, `g` being at
    /// `i`.
    #[inline(never)]
    fn verify(&self, hay: &[u8], i: usize, g: u32, f: &mut dyn FnMut(usize)) {
        for e in self.bucket(g) {
            if e.gram != g {
                continue;
            }
            let (off, len) = (e.offset as usize, e.len as usize);
            let Some(start) = i.checked_sub(e.gram_at as usize) else {
                continue;
            };
            if let Some(cand) = hay.get(start..start + len)
                && eq_lowercase(cand, &self.arena[off..off + len])
            {
                f(e.pattern as usize);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stride costed on a sample of heads: where the literals too
    /// short for stride 4 are rare in heads, their Teddy costs less than
    /// the probes that stride 4 saves over 2, which the formula (a cost
    /// per pair literal) does not see.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_sample_decides_the_stride() {
        use crate::input::BufferId;
        use crate::literals::ScanSlot;
        if !(Teddy::available() && vector_probe_enabled()) {
            return;
        }
        let heads = crate::sample::haystacks(ScanSlot::Single(BufferId::Payload));
        let long: Vec<Vec<u8>> = (0..60)
            .map(|i| format!("/exploit-{i:02}/payload.cgi").into_bytes())
            .collect();
        let stride = |short: &[&[u8]], sample: &[&[u8]]| {
            let mut lits: Vec<&[u8]> = long.iter().map(|l| &l[..]).collect();
            lits.extend_from_slice(short);
            Scanner::build(&lits, false, true, sample).unwrap().stride()
        };
        let rare: &[&[u8]] = &[b"zqxj1", b"qzjx2", b"jxqz3", b"xjzq4", b"zjqx5"];
        assert_eq!(stride(rare, heads), 4);
        // Without a sample, the formula: 5 pair literals cost more than
        // stride 4 saves.
        assert_eq!(stride(rare, &[]), 2);
    }

    /// Both scanners report exactly what a naive search finds.
    #[test]
    fn scanners_equal_naive_search() {
        let pats: Vec<Vec<u8>> = [
            "abcd",
            "bcde",
            "ab",
            "x",
            "hello world",
            "abcdabcd",
            "zzzz",
            "/admin",
            "php",
            "@abc",
            "e",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let hays: &[&[u8]] = &[
            b"xxABCDabcdE",
            b"HELLO WORLD",
            b"/Admin.PHP",
            b"",
            b"abc",
            b"`ABC",
            b"zzz",
            b"x",
            b"ab",
            b"yab",
            b"qphp",
            b"zphp",
            b"@",
            b"..........................abcd..............................PHP",
            b"................................................................e",
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz/admin",
        ];
        for take in [1, 2, 3, 4, 5, 8, 9, pats.len()] {
            for skip in [0, 2] {
                let pats: Vec<&Vec<u8>> = pats.iter().skip(skip).take(take).collect();
                let refs: Vec<&[u8]> = pats.iter().map(|p| p.as_slice()).collect();
                for (dfa, teddy) in [(false, false), (false, true), (true, false)] {
                    let scanner = Scanner::build(&refs, dfa, teddy, &[]).unwrap();
                    for hay in hays {
                        let mut got = std::collections::BTreeSet::new();
                        scanner.for_each(hay, |p| {
                            got.insert(p);
                        });
                        let want: std::collections::BTreeSet<usize> = (0..pats.len())
                            .filter(|&p| {
                                hay.windows(pats[p].len())
                                    .any(|w| w.eq_ignore_ascii_case(pats[p]))
                            })
                            .collect();
                        assert_eq!(got, want, "{:?} {refs:?}", String::from_utf8_lossy(hay));
                    }
                }
            }
        }
    }

    /// A pair literal reports every start a naive search finds, at every
    /// haystack length (scalar starts, SSE2 steps, AVX2 steps and the
    /// last AVX2 step that overlaps those done), planted anywhere, the
    /// last start included, in filler holding one anchor byte.
    #[test]
    fn pair_literal_equals_naive_search_at_every_length() {
        for lit in [&b"a/"[..], b"b/a.", b"xa..../b"] {
            let pair = PairLit::new(lit, 0);
            for len in 0..160 {
                for round in 0..12 {
                    let mut hay = vec![b'.'; len];
                    let mut want = Vec::new();
                    if lit.len() <= len {
                        let at = if round == 0 {
                            len - lit.len()
                        } else {
                            (round * 7919 + len * 31) % (len - lit.len() + 1)
                        };
                        hay[at..at + lit.len()].copy_from_slice(&lit.to_ascii_uppercase());
                        want = (0..=len - lit.len())
                            .filter(|&s| hay[s..s + lit.len()].eq_ignore_ascii_case(lit))
                            .collect();
                    }
                    let mut got = Vec::new();
                    pair.scan(&hay, &mut |_| got.push(()));
                    assert_eq!(got.len(), want.len(), "{lit:?} len {len} round {round}");
                }
            }
        }
    }

    /// Random sets (pair literals, strides 1 to 4, short keys) against a
    /// naive search, on haystacks over a small alphabet so that literals
    /// occur, overlap and sit at both ends.
    #[test]
    fn random_sets_equal_naive_search() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        const ALPHABET: &[u8] = b"abAB/.c";
        let mut strides = std::collections::BTreeSet::new();
        for round in 0..300 {
            let count = 1 + next(40);
            let min_len = 1 + next(8);
            let pats: Vec<Vec<u8>> = (0..count)
                .map(|_| {
                    let len = min_len + next(6);
                    (0..len)
                        .map(|_| ALPHABET[next(ALPHABET.len())].to_ascii_lowercase())
                        .collect()
                })
                .collect();
            let refs: Vec<&[u8]> = pats.iter().map(Vec::as_slice).collect();
            // Without and with Teddy (where the CPU has it).
            let scanner = Scanner::build(
                &refs,
                false,
                round % 2 == 1 && cfg!(target_arch = "x86_64"),
                &[],
            )
            .unwrap();
            strides.insert(scanner.stride());
            for _ in 0..20 {
                let len = next(if round % 3 == 1 { 200 } else { 80 });
                let mut hay: Vec<u8> = (0..len).map(|_| ALPHABET[next(ALPHABET.len())]).collect();
                if !hay.is_empty() && round % 2 == 0 {
                    let p = &pats[next(pats.len())];
                    let at = next(hay.len());
                    let end = (at + p.len()).min(hay.len());
                    hay[at..end].copy_from_slice(&p[..end - at]);
                }
                let mut got = std::collections::BTreeSet::new();
                scanner.for_each(&hay, |p| {
                    got.insert(p);
                });
                let want: std::collections::BTreeSet<usize> = (0..pats.len())
                    .filter(|&p| {
                        hay.windows(pats[p].len())
                            .any(|w| w.eq_ignore_ascii_case(&pats[p]))
                    })
                    .collect();
                assert_eq!(
                    got,
                    want,
                    "stride {} hay {:?}",
                    scanner.stride(),
                    String::from_utf8_lossy(&hay)
                );
            }
        }
        assert_eq!(strides.into_iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    }
}
