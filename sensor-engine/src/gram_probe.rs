//! The gram filter's probe loop ([`crate::scan::Grams`]) eight positions
//! per step with AVX2.
//!
//! A scalar probe is a dependent chain per position (load the gram, fold,
//! hash, load the bitmap word, test the bit, branch) of a dozen or more
//! instructions; the big sets of ET Open (3,008 `http.uri` literals) probe
//! every position, which made the probes the largest cost of an HTTP
//! request with all rules. Here one step takes the 8 grams at `p`,
//! `p + s`, ..., `p + 7s` (stride `s` from 1 to 4) out of two 16-byte
//! loads with one in-lane `vpshufb` (lane 0 holds the bytes from `p`, lane
//! 1 those from `p + 4s`: each lane's 4 grams span at most `3s + 4 <= 16`
//! bytes), folds and hashes them with one multiply, and fetches their 8
//! bitmap words with one gather: about 15 instructions for 8 positions.
//! Only positions whose bit is set leave the vector code.
//!
//! The bitmap and hash are the scalar probe's (little-endian `u64` words
//! read as `u32` words), so both report the same positions.

use std::arch::x86_64::{
    __m128i, __m256i, _mm_cvtsi32_si128, _mm_loadu_si128, _mm_set1_epi8, _mm256_add_epi8,
    _mm256_andnot_si256, _mm256_castsi256_ps, _mm256_i32gather_epi32, _mm256_loadu_si256,
    _mm256_movemask_ps, _mm256_mullo_epi32, _mm256_or_si256, _mm256_set_m128i, _mm256_set1_epi32,
    _mm256_setr_m128i, _mm256_shuffle_epi8, _mm256_sllv_epi32, _mm256_srl_epi32, _mm256_srli_epi32,
};

use crate::scan::raw16;

/// Whether the CPU can run the vector probe.
pub(crate) fn available() -> bool {
    std::is_x86_feature_detected!("avx2")
}

/// Longest stride the vector probe handles.
pub(crate) const MAX_STRIDE: usize = 4;

/// Per stride, the shuffle indices of a step: in each lane, byte `t` of
/// gram `k` is byte `s * k + t` of the lane's load.
static GRAM_BYTES: [[u8; 32]; MAX_STRIDE] = {
    let mut t = [[0u8; 32]; MAX_STRIDE];
    let mut s = 0;
    while s < MAX_STRIDE {
        let mut j = 0;
        while j < 32 {
            t[s][j] = ((s + 1) * (j % 16 / 4) + j % 4) as u8;
            j += 1;
        }
        s += 1;
    }
    t
};

/// What a step needs besides the haystack, in registers.
struct Consts {
    /// Per lane, the byte `s * k + t` of the lane's load for byte `t` of
    /// gram `k`.
    idx: __m256i,
    fold: __m256i,
    mul: __m256i,
    shift: __m128i,
    low5: __m256i,
    words: *const i32,
}

/// Calls `hit(q)` for each position `q` that is a multiple of `stride`,
/// with `q + 4 <= hay.len()`, whose gram (4 bytes, folded with `fold`,
/// times `mul`, shifted right by `bit_shift`) has its bit set in `bits`;
/// in increasing order.
///
/// # Safety
///
/// The CPU must have AVX2 ([`available`]); `bits` must hold at least
/// `2^(32 - bit_shift)` bits; `1 <= stride <= MAX_STRIDE`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn probe(
    hay: &[u8],
    stride: usize,
    bits: &[u64],
    bit_shift: u32,
    fold: u32,
    mul: u32,
    hit: impl FnMut(usize),
) {
    debug_assert!((1..=MAX_STRIDE).contains(&stride));
    debug_assert!(bits.len() * 64 >= 1 << (32 - bit_shift));
    // SAFETY (all arms): the caller's; the stride is the arm's.
    unsafe {
        match stride {
            1 => probe_stride::<1>(hay, bits, bit_shift, fold, mul, hit),
            2 => probe_stride::<2>(hay, bits, bit_shift, fold, mul, hit),
            3 => probe_stride::<3>(hay, bits, bit_shift, fold, mul, hit),
            _ => probe_stride::<4>(hay, bits, bit_shift, fold, mul, hit),
        }
    }
}

/// [`probe`] with stride `S`, a constant: the tail's count of valid
/// positions divides by it (a `div` per tail step otherwise), and the
/// step offsets fold into the addressing.
///
/// # Safety
///
/// As [`probe`].
#[target_feature(enable = "avx2")]
unsafe fn probe_stride<const S: usize>(
    hay: &[u8],
    bits: &[u64],
    bit_shift: u32,
    fold: u32,
    mul: u32,
    mut hit: impl FnMut(usize),
) {
    let n = hay.len();
    if n < 4 {
        return;
    }
    let s = S;
    // SAFETY: AVX2 is enabled; a row of `GRAM_BYTES` is 32 bytes.
    let c = Consts {
        idx: unsafe { _mm256_loadu_si256(GRAM_BYTES[s - 1].as_ptr().cast()) },
        fold: _mm256_set1_epi32(fold as i32),
        mul: _mm256_set1_epi32(mul as i32),
        shift: _mm_cvtsi32_si128(bit_shift as i32),
        low5: _mm256_set1_epi32(31),
        words: bits.as_ptr().cast(),
    };
    let at = hay.as_ptr();
    let mut p = 0;
    // Whole steps: all 8 positions hold a gram (`p + 7s + 4 <= p + 4s +
    // 16` for `s <= 4`), both loads are inside `hay`.
    while p + 4 * s + 16 <= n {
        // SAFETY: as `next_hit` requires.
        let (q, m) = unsafe { next_hit::<S>(&c, hay, p) };
        if m == 0 {
            p = q;
            break;
        }
        report(m, q, s, &mut hit);
        p = q + 8 * s;
    }
    // The rest: each lane loaded from where its grams are, or from the
    // last 16 bytes (or the whole haystack, zero-padded, when shorter),
    // the shuffle indices moved by how far the load is from the lane's
    // first position. Bytes past the end only reach positions masked out.
    while p + 4 <= n {
        let valid = ((n - 4 - p) / s + 1).min(8);
        let m = if n >= 16 {
            let (a0, a1) = (p.min(n - 16), (p + 4 * s).min(n - 16));
            // SAFETY: both loads end at most at `n`.
            unsafe {
                let v = _mm256_set_m128i(
                    _mm_loadu_si128(at.add(a1).cast()),
                    _mm_loadu_si128(at.add(a0).cast()),
                );
                let idx = _mm256_add_epi8(
                    c.idx,
                    _mm256_setr_m128i(
                        _mm_set1_epi8((p - a0) as i8),
                        _mm_set1_epi8((p + 4 * s - a1) as i8),
                    ),
                );
                step(&c, v, idx)
            }
        } else {
            let r = raw16(hay);
            // SAFETY: the bitmap is large enough. Offsets stay below 128
            // (`p < 16`), so `vpshufb` never zeroes a byte of a valid
            // gram, and those are all inside the register.
            unsafe {
                let idx = _mm256_add_epi8(
                    c.idx,
                    _mm256_setr_m128i(_mm_set1_epi8(p as i8), _mm_set1_epi8((p + 4 * s) as i8)),
                );
                step(&c, _mm256_set_m128i(r, r), idx)
            }
        };
        report(m & ((1 << valid) - 1), p, s, &mut hit);
        p += 8 * s;
    }
}

/// The whole steps from `p` on (positions `p`, `p + S`, ...) up to the
/// first with a hit: its first position and hit mask, or where the whole
/// steps end and 0.
///
/// A loop of its own that calls nothing, so that the pointers and bounds
/// stay in registers: with `hit` called in the same loop, the compiler
/// kept them on the stack across the call and reloaded some on every step.
/// Its bound is the last start plus one, computed once: `p + 4S + 16 <= n`
/// took two more instructions per step.
///
/// # Safety
///
/// As [`probe`]; `c` built for `hay` and stride `S`.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn next_hit<const S: usize>(c: &Consts, hay: &[u8], mut p: usize) -> (usize, u32) {
    let at = hay.as_ptr();
    // The last position a whole step starts at, plus one.
    let Some(end) = (hay.len() + 1).checked_sub(4 * S + 16) else {
        return (p, 0);
    };
    while p < end {
        // SAFETY: `p + 4S + 16 <= n`; the bitmap is large enough.
        let m = unsafe {
            let v = _mm256_set_m128i(
                _mm_loadu_si128(at.add(p + 4 * S).cast()),
                _mm_loadu_si128(at.add(p).cast()),
            );
            step(c, v, c.idx)
        };
        if m != 0 {
            return (p, m);
        }
        p += 8 * S;
    }
    (p, 0)
}

#[inline(always)]
fn report(mut m: u32, p: usize, s: usize, hit: &mut impl FnMut(usize)) {
    while m != 0 {
        hit(p + s * m.trailing_zeros() as usize);
        m &= m - 1;
    }
}

/// The positions (bit `k`: gram `k` of `v` as `idx` picks them) whose
/// bit is set.
///
/// # Safety
///
/// As [`probe`].
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn step(c: &Consts, v: __m256i, idx: __m256i) -> u32 {
    let g = _mm256_or_si256(_mm256_shuffle_epi8(v, idx), c.fold);
    let bit = _mm256_srl_epi32(_mm256_mullo_epi32(g, c.mul), c.shift);
    // SAFETY: every word index is below `2^(27 - bit_shift)`, inside the
    // bitmap by the caller's promise.
    let w = unsafe { _mm256_i32gather_epi32::<4>(c.words, _mm256_srli_epi32::<5>(bit)) };
    // Each word shifted left by `31 - bit % 32` (`!bit & 31`, one
    // `vpandn`): its bit lands in the sign, which `vmovmskps` collects
    // (a mask of one bit, an AND, a compare with zero and a NOT before).
    let top = _mm256_sllv_epi32(w, _mm256_andnot_si256(bit, c.low5));
    _mm256_movemask_ps(_mm256_castsi256_ps(top)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector probe reports exactly the positions a scalar probe does,
    /// for every stride, haystack length (whole steps, tails, haystacks
    /// shorter than a vector) and bitmap density.
    #[test]
    fn probe_equals_scalar_probe() {
        if !available() {
            return;
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (fold, mul) = (0x2020_2020u32, 0x9E37_79B1u32);
        for round in 0..400 {
            let bit_bits = 12 + (round % 8) as u32;
            let bit_shift = 32 - bit_bits;
            // From sparse to nearly full.
            let density = [1, 4, 16, 63][round % 4];
            let bits: Vec<u64> = (0..1usize << (bit_bits - 6))
                .map(|_| (0..density).fold(0, |w, _| w | 1 << (next() % 64)))
                .collect();
            let hay: Vec<u8> = (0..round % 90).map(|_| next() as u8).collect();
            for stride in 1..=MAX_STRIDE {
                let mut want = Vec::new();
                let mut q = 0;
                while q + 4 <= hay.len() {
                    let g = u32::from_le_bytes(hay[q..q + 4].try_into().unwrap()) | fold;
                    let bit = g.wrapping_mul(mul) >> bit_shift;
                    if bits[(bit >> 6) as usize] & (1 << (bit & 63)) != 0 {
                        want.push(q);
                    }
                    q += stride;
                }
                let mut got = Vec::new();
                // SAFETY: AVX2 checked above; the bitmap has 2^bit_bits bits.
                unsafe { probe(&hay, stride, &bits, bit_shift, fold, mul, |q| got.push(q)) };
                assert_eq!(got, want, "stride {stride} len {}", hay.len());
            }
        }
    }
}
