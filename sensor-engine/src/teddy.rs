//! A small Teddy (Hyperscan's SIMD literal matcher, as in the
//! `aho-corasick` crate's `packed` module, which only reports
//! non-overlapping matches): finds every (case-insensitive) occurrence of
//! up to a few dozen literals of at least 3 bytes in one pass of 16
//! positions per step, whatever their number.
//!
//! Each literal is keyed by a window of 3 consecutive bytes (its rarest),
//! and put in one of 8 buckets. For each window byte `j` two 16-entry
//! tables give, for the low and the high nibble of a haystack byte, the
//! buckets having a literal whose window byte `j` has that nibble (in
//! either case); `pshufb` looks up 16 haystack bytes at once, and the AND
//! over the 3 window bytes and both nibbles leaves, per position, the
//! buckets whose windows may start there. Those are verified out of line.
//!
//! Against one pass per literal ([`crate::scan::PairLit`], about 9
//! instructions per 16 positions and literal), a Teddy step is about 25
//! instructions per 16 positions for all the literals: it wins from 3
//! literals on.

use std::arch::x86_64::{
    __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    _mm_setzero_si128, _mm_shuffle_epi8, _mm_srli_epi16, _mm_srli_si128, _mm_storeu_si128,
};

use crate::fold::eq_lowercase;
use crate::scan::rank;

/// Window bytes.
const W: usize = 3;
const BUCKETS: usize = 8;

/// Shortest literal Teddy keys by a whole window.
pub(crate) const MIN_LEN: usize = W;

/// Shortest literal Teddy takes: a 2-byte literal is keyed by a window
/// whose last byte is any byte (its bucket is set for every nibble), and
/// an occurrence at the very end of a haystack, where no window starts,
/// is checked apart ([`Teddy::scan`]).
pub(crate) const MIN_LEN_SHORT: usize = 2;

#[derive(Debug)]
pub(crate) struct Teddy {
    /// Per window byte: buckets by low nibble, then by high nibble.
    lo: [[u8; 16]; W],
    hi: [[u8; 16]; W],
    /// Literals of bucket `b`: `lits[starts[b]..starts[b + 1]]`.
    starts: [u16; BUCKETS + 1],
    lits: Box<[TLit]>,
    /// The 2-byte literals (indices into `lits`).
    short: Box<[u16]>,
    /// The CPU has AVX2 ([`Self::scan32`]; a field rather than a lookup
    /// per scan, which cost a call).
    avx2: bool,
}

#[derive(Debug)]
struct TLit {
    /// Where the window sits in the literal.
    at: usize,
    pattern: usize,
    lit: Box<[u8]>,
}

impl Teddy {
    /// Whether the CPU can run a Teddy (SSSE3's `pshufb`).
    pub(crate) fn available() -> bool {
        std::is_x86_feature_detected!("ssse3")
    }

    /// A Teddy over lowercase literals of at least [`MIN_LEN_SHORT`]
    /// bytes, as (literal, pattern index).
    pub(crate) fn new(lits: &[(&[u8], usize)]) -> Teddy {
        assert!(lits.iter().all(|(l, _)| l.len() >= MIN_LEN_SHORT));
        let mut keyed: Vec<(Vec<u8>, TLit)> = lits
            .iter()
            .map(|&(lit, pattern)| {
                // The window least often in the lines every HTTP head
                // has, then the rarest by byte rank (`get` of `get //`,
                // `a/5` of `user-agent: mozilla/5.0` matched every
                // browser request).
                if lit.len() < W {
                    let window = lit.to_ascii_lowercase();
                    return (
                        window,
                        TLit {
                            at: 0,
                            pattern,
                            lit: lit.into(),
                        },
                    );
                }
                let at = (0..=lit.len() - W)
                    .min_by_key(|&o| {
                        (
                            crate::common_grams::count3(&lit[o..o + W]),
                            lit[o..o + W]
                                .iter()
                                .map(|&b| u32::from(rank(b)))
                                .sum::<u32>(),
                        )
                    })
                    .expect("a window");
                let window: Vec<u8> = lit[at..at + W].iter().map(u8::to_ascii_lowercase).collect();
                (
                    window,
                    TLit {
                        at,
                        pattern,
                        lit: lit.into(),
                    },
                )
            })
            .collect();
        // Similar windows share buckets (fewer nibbles per bucket).
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        let n = keyed.len();
        let mut lo = [[0u8; 16]; W];
        let mut hi = [[0u8; 16]; W];
        let mut starts = [0u16; BUCKETS + 1];
        for (k, (window, _)) in keyed.iter().enumerate() {
            let b = k * BUCKETS / n.max(1);
            starts[b + 1] = k as u16 + 1;
            for (j, &c) in window.iter().enumerate() {
                for v in [c, c.to_ascii_uppercase()] {
                    lo[j][usize::from(v & 15)] |= 1 << b;
                    hi[j][usize::from(v >> 4)] |= 1 << b;
                }
            }
            // A short window: any byte after it.
            for j in window.len()..W {
                lo[j]
                    .iter_mut()
                    .chain(hi[j].iter_mut())
                    .for_each(|e| *e |= 1 << b);
            }
        }
        // Empty buckets end where the previous one did.
        for b in 1..=BUCKETS {
            starts[b] = starts[b].max(starts[b - 1]);
        }
        let lits: Box<[TLit]> = keyed.into_iter().map(|(_, l)| l).collect();
        Teddy {
            lo,
            hi,
            starts,
            avx2: std::is_x86_feature_detected!("avx2"),
            short: (0..lits.len())
                .filter(|&k| lits[k].lit.len() < W)
                .map(|k| k as u16)
                .collect(),
            lits,
        }
    }

    /// Estimated cost of [`Self::scan`] on `hay` (the units of
    /// [`crate::scan::Scanner::new`]'s costs): its steps, and the
    /// verification of each position where some bucket's window may start.
    pub(crate) fn estimate(&self, hay: &[u8]) -> f64 {
        use crate::scan::cost::{COMPARE, HIT, TEDDY_BYTE, TEDDY_FIXED};
        let mut c = TEDDY_FIXED + TEDDY_BYTE * hay.len() as f64;
        for w in hay.windows(W) {
            let buckets = (0..W).fold(u8::MAX, |m, j| {
                let b = usize::from(w[j]);
                m & self.lo[j][b & 15] & self.hi[j][b >> 4]
            });
            if buckets != 0 {
                // Each literal of each bucket is compared.
                let lits: u16 = (0..BUCKETS)
                    .filter(|&k| buckets & (1 << k) != 0)
                    .map(|k| self.starts[k + 1] - self.starts[k])
                    .sum();
                c += HIT + COMPARE * f64::from(lits);
            }
        }
        c
    }

    /// Number of literals.
    pub(crate) fn len(&self) -> usize {
        self.lits.len()
    }

    pub(crate) fn memory_usage(&self) -> usize {
        std::mem::size_of::<Teddy>()
            + self
                .lits
                .iter()
                .map(|l| std::mem::size_of::<TLit>() + l.lit.len())
                .sum::<usize>()
    }

    /// Calls `f` for each start of each literal in `hay`; `reg` holds
    /// `hay` when it is shorter than 16 bytes (zero-padded, not folded).
    ///
    /// # Safety
    ///
    /// The CPU must have SSSE3 ([`Self::available`]).
    #[inline]
    pub(crate) unsafe fn scan(&self, hay: &[u8], reg: Option<__m128i>, f: &mut impl FnMut(usize)) {
        // SAFETY: the caller's.
        unsafe { self.scan_windows(hay, reg, f) };
        // The 2-byte literals in the last two bytes, where no window
        // starts (after the windows: starts stay in ascending order).
        if !self.short.is_empty()
            && let Some(start) = hay.len().checked_sub(MIN_LEN_SHORT)
        {
            for &k in self.short.iter() {
                let l = &self.lits[usize::from(k)];
                if eq_lowercase(&hay[start..], &l.lit) {
                    f(l.pattern);
                }
            }
        }
    }

    /// [`Self::scan`] at the starts of whole windows.
    ///
    /// # Safety
    ///
    /// The CPU must have SSSE3 ([`Self::available`]).
    #[target_feature(enable = "ssse3")]
    unsafe fn scan_windows(&self, hay: &[u8], reg: Option<__m128i>, f: &mut impl FnMut(usize)) {
        let n = hay.len();
        if n < W {
            return;
        }
        if n >= 32 + W - 1 && self.avx2 {
            // SAFETY: the CPU has AVX2.
            unsafe { self.scan32(hay, f) };
            return;
        }
        // SAFETY (all blocks): the tables are 16 bytes; loads are checked
        // against `n` below.
        let t = unsafe {
            let ld = |a: &[u8; 16]| _mm_loadu_si128(a.as_ptr().cast());
            Tables {
                lo: [ld(&self.lo[0]), ld(&self.lo[1]), ld(&self.lo[2])],
                hi: [ld(&self.hi[0]), ld(&self.hi[1]), ld(&self.hi[2])],
                nib: _mm_set1_epi8(0x0f),
            }
        };
        // Windows start at `0..last`.
        let last = n - W + 1;
        if n < 16 + W - 1 {
            // One step: over a register (shifting brings in zeros), or a
            // padded copy; positions from `last` on are masked.
            let (c0, c1, c2) = match reg {
                Some(r) => (r, _mm_srli_si128::<1>(r), _mm_srli_si128::<2>(r)),
                None => {
                    let mut buf = [0u8; 32];
                    buf[..n].copy_from_slice(hay);
                    // SAFETY: 16-byte loads at most 2 bytes into 32.
                    unsafe {
                        (
                            _mm_loadu_si128(buf.as_ptr().cast()),
                            _mm_loadu_si128(buf.as_ptr().add(1).cast()),
                            _mm_loadu_si128(buf.as_ptr().add(2).cast()),
                        )
                    }
                }
            };
            let res = t.step(c0, c1, c2);
            let m = t.hits(res) & ((1u32 << last) - 1);
            if m != 0 {
                self.verify(hay, 0, res, m, f);
            }
            return;
        }
        let p0 = hay.as_ptr();
        let mut p = 0;
        // SAFETY: `p + 16 + W - 1 <= n`.
        let load = |p: usize| unsafe {
            (
                _mm_loadu_si128(p0.add(p).cast()),
                _mm_loadu_si128(p0.add(p + 1).cast()),
                _mm_loadu_si128(p0.add(p + 2).cast()),
            )
        };
        while p + 16 + W - 1 <= n {
            let (c0, c1, c2) = load(p);
            let res = t.step(c0, c1, c2);
            let m = t.hits(res);
            if m != 0 {
                self.verify(hay, p, res, m, f);
            }
            p += 16;
        }
        if p < last {
            // The last windows, in a step ending at the last one, without
            // those done already.
            let q = n - (16 + W - 1);
            let (c0, c1, c2) = load(q);
            let res = t.step(c0, c1, c2);
            let m = t.hits(res) >> (p - q) << (p - q);
            if m != 0 {
                self.verify(hay, q, res, m, f);
            }
        }
    }

    /// [`Self::scan`] with AVX2, 32 windows per step (the tables in both
    /// lanes), the last step ending at the last window, for haystacks of
    /// at least `32 + W - 1` bytes. A step costs about what a 16-position
    /// SSSE3 step does: on a browser's 385-byte `http.header`, all ET
    /// Open's Teddy cost more than its gram filter. Ending with an AVX2
    /// step too (rather than SSSE3 ones) spares a haystack the SSSE3
    /// tables and steps: some 60 instructions per scan, and a browser
    /// request has a dozen such scans with all ET Open rules.
    ///
    /// # Safety
    ///
    /// The CPU must have AVX2; `hay.len() >= 32 + W - 1`.
    #[target_feature(enable = "avx2")]
    unsafe fn scan32(&self, hay: &[u8], f: &mut impl FnMut(usize)) {
        debug_assert!(hay.len() >= 32 + W - 1);
        let mut p = 0;
        loop {
            // SAFETY: the CPU has AVX2; the haystack is long enough.
            let (q, res, m) = unsafe { self.next_hit32(hay, p) };
            if m == 0 {
                return;
            }
            self.verify32(hay, q, res, m, f);
            p = q + 32;
        }
    }

    /// Verifies the positions `m` of the 32-position step at `p`.
    #[target_feature(enable = "avx2")]
    fn verify32(
        &self,
        hay: &[u8],
        p: usize,
        res: std::arch::x86_64::__m256i,
        m: u32,
        f: &mut impl FnMut(usize),
    ) {
        use std::arch::x86_64::{_mm256_castsi256_si128, _mm256_extracti128_si256};
        if m & 0xffff != 0 {
            self.verify(hay, p, _mm256_castsi256_si128(res), m & 0xffff, f);
        }
        if m >> 16 != 0 {
            let upper = _mm256_extracti128_si256::<1>(res);
            self.verify(hay, p + 16, upper, m >> 16, f);
        }
    }

    /// The tables in both lanes of AVX2 registers.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn tables32(&self) -> Tables32 {
        use std::arch::x86_64::{_mm256_broadcastsi128_si256, _mm256_set1_epi8};
        // SAFETY: the tables are 16 bytes.
        let ld = |a: &[u8; 16]| {
            _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(a.as_ptr().cast()) })
        };
        Tables32 {
            lo: [ld(&self.lo[0]), ld(&self.lo[1]), ld(&self.lo[2])],
            hi: [ld(&self.hi[0]), ld(&self.hi[1]), ld(&self.hi[2])],
            nib: _mm256_set1_epi8(0x0f),
        }
    }

    /// The step of windows `p..p + 32`: per position the buckets whose
    /// window may start there, and the positions with some bucket.
    ///
    /// # Safety
    ///
    /// The CPU must have AVX2; `p + 32 + W - 1 <= hay.len()`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn step32(
        &self,
        t: &Tables32,
        hay: &[u8],
        p: usize,
    ) -> (std::arch::x86_64::__m256i, u32) {
        use std::arch::x86_64::{
            __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
            _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_srli_epi16,
        };
        let one = |c: __m256i, j: usize| {
            _mm256_and_si256(
                _mm256_shuffle_epi8(t.lo[j], _mm256_and_si256(c, t.nib)),
                _mm256_shuffle_epi8(t.hi[j], _mm256_and_si256(_mm256_srli_epi16::<4>(c), t.nib)),
            )
        };
        let p0 = hay.as_ptr();
        // SAFETY: the loads end at `p + 32 + 2 <= n`.
        let (c0, c1, c2) = unsafe {
            (
                _mm256_loadu_si256(p0.add(p).cast()),
                _mm256_loadu_si256(p0.add(p + 1).cast()),
                _mm256_loadu_si256(p0.add(p + 2).cast()),
            )
        };
        let res = _mm256_and_si256(_mm256_and_si256(one(c0, 0), one(c1, 1)), one(c2, 2));
        let m = !(_mm256_movemask_epi8(_mm256_cmpeq_epi8(res, _mm256_setzero_si256())) as u32);
        (res, m)
    }

    /// [`Self::scan32`]'s steps from `p` on up to the first with a hit: its
    /// start, buckets and positions (as bits), or no positions. Windows
    /// start at `0..n - W + 1`: the last ones are done by a step ending at
    /// the last, without those done already (in here too, so that it
    /// shares the tables in registers).
    ///
    /// Out of line and calling nothing, so that the tables stay in
    /// registers: with `verify` called in the same loop, the compiler kept
    /// them on the stack across the call and reloaded them on every step
    /// (7 of its 41 instructions).
    ///
    /// # Safety
    ///
    /// The CPU must have AVX2; `hay.len() >= 32 + W - 1`.
    #[target_feature(enable = "avx2")]
    #[inline(never)]
    unsafe fn next_hit32(
        &self,
        hay: &[u8],
        mut p: usize,
    ) -> (usize, std::arch::x86_64::__m256i, u32) {
        let t = self.tables32();
        // Where the last step starts.
        let last = hay.len() - (32 + W - 1);
        while p <= last {
            // SAFETY: the CPU has AVX2; the step fits.
            let (res, m) = unsafe { self.step32(&t, hay, p) };
            if m != 0 {
                return (p, res, m);
            }
            p += 32;
        }
        if p < last + 32 {
            // SAFETY: as above.
            let (res, m) = unsafe { self.step32(&t, hay, last) };
            return (last, res, m >> (p - last) << (p - last));
        }
        (p, std::arch::x86_64::_mm256_setzero_si256(), 0)
    }

    /// Checks the literals of the buckets in `res` at the positions of `m`
    /// (relative to `p`).
    #[inline(never)]
    fn verify(&self, hay: &[u8], p: usize, res: __m128i, mut m: u32, f: &mut impl FnMut(usize)) {
        let mut bytes = [0u8; 16];
        // SAFETY: a 16-byte store into 16 bytes.
        unsafe { _mm_storeu_si128(bytes.as_mut_ptr().cast(), res) };
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            m &= m - 1;
            let mut b = bytes[i];
            while b != 0 {
                let k = b.trailing_zeros() as usize;
                b &= b - 1;
                let (lo, hi) = (self.starts[k] as usize, self.starts[k + 1] as usize);
                for l in &self.lits[lo..hi] {
                    let Some(start) = (p + i).checked_sub(l.at) else {
                        continue;
                    };
                    if let Some(cand) = hay.get(start..start + l.lit.len())
                        && eq_lowercase(cand, &l.lit)
                    {
                        f(l.pattern);
                    }
                }
            }
        }
    }
}

/// [`Teddy`]'s tables in both lanes, for [`Teddy::scan32`].
struct Tables32 {
    lo: [std::arch::x86_64::__m256i; W],
    hi: [std::arch::x86_64::__m256i; W],
    nib: std::arch::x86_64::__m256i,
}

struct Tables {
    lo: [__m128i; W],
    hi: [__m128i; W],
    nib: __m128i,
}

impl Tables {
    /// The buckets whose window byte may be each byte of `c`.
    #[target_feature(enable = "ssse3")]
    #[inline]
    fn one(&self, c: __m128i, lo: __m128i, hi: __m128i) -> __m128i {
        _mm_and_si128(
            _mm_shuffle_epi8(lo, _mm_and_si128(c, self.nib)),
            _mm_shuffle_epi8(hi, _mm_and_si128(_mm_srli_epi16::<4>(c), self.nib)),
        )
    }

    /// Per position, the buckets whose window may start there (`c1`, `c2`:
    /// the haystack one and two bytes on).
    #[target_feature(enable = "ssse3")]
    #[inline]
    fn step(&self, c0: __m128i, c1: __m128i, c2: __m128i) -> __m128i {
        _mm_and_si128(
            _mm_and_si128(
                self.one(c0, self.lo[0], self.hi[0]),
                self.one(c1, self.lo[1], self.hi[1]),
            ),
            self.one(c2, self.lo[2], self.hi[2]),
        )
    }

    /// Positions with some bucket.
    #[target_feature(enable = "ssse3")]
    #[inline]
    fn hits(&self, res: __m128i) -> u32 {
        !(_mm_movemask_epi8(_mm_cmpeq_epi8(res, _mm_setzero_si128())) as u32) & 0xffff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Teddy reports exactly the literals a naive search finds (2-byte
    /// ones included), at every
    /// haystack length (one register, SSSE3 steps, AVX2 steps and the
    /// last AVX2 step that overlaps those done), with one literal planted
    /// anywhere, the last position included, in filler that matches none.
    #[test]
    fn teddy_equals_naive_search_at_every_length() {
        if !Teddy::available() {
            return;
        }
        // Two-byte ones too (their last window byte is any byte; at the
        // very end no window starts).
        let lits: [&[u8]; 7] = [b"abc", b"b/a", b"cab.", b"/ab", b"..c", b"a/", b"c."];
        let keyed: Vec<(&[u8], usize)> = lits.iter().enumerate().map(|(i, l)| (*l, i)).collect();
        let teddy = Teddy::new(&keyed);
        for len in 0..140 {
            for round in 0..40 {
                let mut hay = vec![b'x'; len];
                let lit = lits[round % lits.len()];
                if lit.len() <= len {
                    // Round 0 of each literal: at the very end.
                    let at = if round < lits.len() {
                        len - lit.len()
                    } else {
                        (round * 7919 + len * 31) % (len - lit.len() + 1)
                    };
                    hay[at..at + lit.len()].copy_from_slice(&lit.to_ascii_uppercase());
                }
                let mut got = Vec::new();
                let reg = (hay.len() < 16).then(|| crate::scan::raw16(&hay));
                // SAFETY: SSSE3 checked above.
                unsafe { teddy.scan(&hay, reg, &mut |p| got.push(p)) };
                got.sort_unstable();
                got.dedup();
                let want: Vec<usize> = (0..lits.len())
                    .filter(|&i| {
                        hay.windows(lits[i].len())
                            .any(|w| w.eq_ignore_ascii_case(lits[i]))
                    })
                    .collect();
                assert_eq!(got, want, "len {len} round {round}");
            }
        }
    }
}
