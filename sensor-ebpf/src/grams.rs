//! The gram filter in front of the pattern automaton (see
//! `sensor_common::enforce::GramFilter`): when every pattern of the bank is
//! at least `stride + 3` bytes long, every occurrence holds a 4-byte window
//! that starts at a multiple of the stride, so sampling those windows
//! (about 16 instructions each) finds every place where the automaton has
//! to look, for a fraction of the cost of walking every byte.

use core::ffi::c_void;

use aya_ebpf::{
    helpers::bpf_loop,
    macros::map,
    maps::{Array, PerCpuArray},
};
use sensor_common::{
    enforce::{GRAM_FOLD, GRAM_HASH, GRAM_LEN, GRAM_PAD, GramFilter, gram_bit_of_folded},
    record::MAX_SNAPLEN,
};

use crate::SCRATCH;

/// Each bank's filter. Written by user space with the bank's automaton.
#[map]
static GRAM_FILTER: Array<GramFilter> = Array::with_max_entries(2, 0);

/// State of one sampling run, shared with the `bpf_loop` callback (through
/// a map rather than the stack, for the reason `dfa::Walk` gives).
#[repr(C)]
struct Sampling {
    /// Next window to sample.
    next: u32,
    /// Last window that may be sampled (`len - GRAM_LEN`).
    last: u32,
    /// Distance between sampled windows.
    stride: u32,
    /// Bank index, for the filter.
    bank: u32,
    /// The first sampled window whose bit is set, or [`NO_HIT`].
    hit_at: u32,
}

#[map]
static GRAM_SAMPLING: PerCpuArray<Sampling> = PerCpuArray::with_max_entries(1, 0);

const NO_HIT: u32 = u32::MAX;
/// Windows sampled per `bpf_loop` iteration: amortizes the callback.
const SAMPLES_PER_STEP: u32 = 16;
/// Enough iterations for a whole snap at the smallest stride (3).
const MAX_STEPS: u32 = (MAX_SNAPLEN as u32 / 3).div_ceil(SAMPLES_PER_STEP) + 1;

/// The first window at or after `from` on the stride's grid, up to `last`,
/// whose bit is set in `bank`'s filter, in the payload of the scratch
/// record. `Ok(None)`: no pattern occurrence contains a window from `from`
/// on. `Err`: the sampling did not run to its end (a missing map), and the
/// caller must walk the whole payload.
#[inline(always)]
pub fn next_hit(bank: u32, from: u32, last: u32, stride: u32) -> Result<Option<u32>, ()> {
    let sampling = GRAM_SAMPLING.get_ptr_mut(0).ok_or(())?;
    // SAFETY: per-CPU map value, valid for this program run.
    let sampling = unsafe { &mut *sampling };
    *sampling = Sampling {
        next: from,
        last,
        stride,
        bank,
        hit_at: NO_HIT,
    };
    // SAFETY: `sample` has the callback signature bpf_loop expects and
    // takes no context (it finds its state in `GRAM_SAMPLING`).
    let done = unsafe { bpf_loop(MAX_STEPS, sample as *mut c_void, core::ptr::null_mut(), 0) };
    if done < 0 {
        return Err(());
    }
    match sampling.hit_at {
        NO_HIT if sampling.next > last => Ok(None),
        // The callback stopped early (a missing map) or ran out of
        // iterations: the caller must walk.
        NO_HIT => Err(()),
        at => Ok(Some(at)),
    }
}

/// Whether the first `len` payload bytes of the scratch record may end
/// inside a pattern occurrence: their last 4 bytes are a window of a
/// pattern, or their last 3, 2 or 1 bytes begin one (entered padded with
/// `GRAM_PAD`). When not, the automaton is back at its start state at the
/// end of the segment, and its tail need not be walked for the next
/// segment to resume from.
#[inline(always)]
pub fn may_end_in_occurrence(bank: u32, len: u32) -> bool {
    const PAD: u64 = u32::from_le_bytes([GRAM_PAD; 4]) as u64;
    let (Some(record), Some(filter)) = (SCRATCH.get_ptr(0), GRAM_FILTER.get_ptr(bank)) else {
        return true;
    };
    // The check on the very value loaded from, for the verifier (opaque:
    // LLVM would turn it into a check of `len` the verifier cannot relate).
    let at = opaque((len as u64).wrapping_sub(GRAM_LEN as u64));
    if at > (MAX_SNAPLEN as u32 - GRAM_LEN) as u64 {
        return true;
    }
    let filter = filter as u64;
    // SAFETY: per-CPU scratch, valid for the program run.
    let payload = unsafe { (*record).payload.as_ptr() } as u64;
    let last = load_folded(payload, at);
    let hash = opaque(GRAM_HASH);
    let mut any = 0;
    for drop in 0..GRAM_LEN as u64 {
        // The last `4 - drop` bytes, then the padding (folding leaves it).
        let window = (last >> (8 * drop)) | (PAD << (32 - 8 * drop) & 0xffff_ffff);
        let bit = gram_bit_of_folded(window, hash);
        // SAFETY: as in `sample`.
        let byte = unsafe { *((filter + (bit >> 3)) as *const u8) } as u64;
        any |= byte >> (bit & 7);
    }
    any & 1 != 0
}

/// One `bpf_loop` iteration: up to [`SAMPLES_PER_STEP`] windows. Returns 1
/// to stop (a set bit, the last window passed, or a missing map).
///
/// A window costs 16 instructions: the position check, the load, fold,
/// multiply and shift of the hash, the byte of the filter and its bit, the
/// branch and the step.
#[inline(never)]
extern "C" fn sample(_index: u64, _ctx: *mut c_void) -> i64 {
    let Some(sampling) = GRAM_SAMPLING.get_ptr_mut(0) else {
        return 1;
    };
    // SAFETY: per-CPU map value, valid for the program run.
    let sampling = unsafe { &mut *sampling };
    let Some(record) = SCRATCH.get_ptr(0) else {
        return 1;
    };
    let Some(filter) = GRAM_FILTER.get_ptr(sampling.bank) else {
        return 1;
    };
    let filter = filter as u64;
    // SAFETY: per-CPU scratch, valid for the program run.
    let payload = unsafe { (*record).payload.as_ptr() } as u64;
    // Bounded once here: a position at most `last` is then known to the
    // verifier to leave a whole window inside the payload.
    let last = sampling.last as u64;
    if last > (MAX_SNAPLEN as u32 - GRAM_LEN) as u64 {
        return 1;
    }
    let stride = sampling.stride as u64;
    let mut pos = sampling.next as u64;
    let hash = opaque(GRAM_HASH);
    macro_rules! one {
        () => {
            if pos > last {
                sampling.next = pos as u32;
                return 1;
            }
            let bit = gram_bit_of_folded(load_folded(payload, pos), hash);
            // SAFETY: `bit < 2^GRAM_FILTER_BITS_LOG2`, so `bit >> 3` is
            // within the filter's bytes.
            let byte = unsafe { *((filter + (bit >> 3)) as *const u8) } as u64;
            if (byte >> (bit & 7)) & 1 != 0 {
                sampling.hit_at = pos as u32;
                sampling.next = (pos + stride) as u32;
                return 1;
            }
            pos += stride;
        };
    }
    macro_rules! four {
        () => {
            one!();
            one!();
            one!();
            one!();
        };
    }
    // SAMPLES_PER_STEP of them, written out: LLVM kept a counted loop.
    const _: () = assert!(SAMPLES_PER_STEP == 16);
    four!();
    four!();
    four!();
    four!();
    sampling.next = pos as u32;
    0
}

/// The four bytes at `base + pos`, little-endian, in one load, folded by
/// `GRAM_FOLD`. Assembly for three reasons: LLVM splits an unaligned read
/// into four byte loads (x86's JIT and the verifier take an unaligned load
/// from a map value); it would fold the unrolled positions into one base
/// pointer plus constants, added before the bounds check the verifier must
/// see first; and it turns the fold and the multiply into an AND with a
/// 64-bit constant and an add of another.
#[inline(always)]
fn load_folded(base: u64, pos: u64) -> u64 {
    const _: () = assert!(GRAM_FOLD == 0x2020_2020);
    let value: u64;
    // SAFETY: the caller keeps `pos .. pos + 4` within the payload at
    // `base`.
    unsafe {
        core::arch::asm!(
            "{0} = {1}",
            "{0} += {2}",
            "{0} = *(u32 *)({0} + 0)",
            "{0} |= 0x20202020",
            out(reg) value,
            in(reg) base,
            in(reg) pos,
            options(pure, readonly, nostack),
        )
    };
    value
}

/// `value`, which LLVM cannot see through: a constant it would otherwise
/// load again at every use. (A move to itself, not an empty asm: an
/// instruction-less asm with an operand gave two line-info records the
/// same offset, which the kernel rejects.)
#[inline(always)]
fn opaque(value: u64) -> u64 {
    let mut value = value;
    // SAFETY: a register move.
    unsafe { core::arch::asm!("{0} = {0}", inout(reg) value, options(pure, nomem, nostack)) };
    value
}
