//! The pattern automaton: a dense DFA with byte classes, built by user space
//! from the literal patterns of drop rules and walked here over the captured
//! payload with `bpf_loop`, [`DFA_BYTES_PER_STEP`] bytes per iteration.

use core::ffi::c_void;

use aya_ebpf::{
    helpers::bpf_loop,
    macros::map,
    maps::{Array, LruHashMap},
};
use sensor_common::{
    RecordHeader,
    enforce::{
        Bank, DFA_BYTES_PER_STEP, DFA_CHUNK, DFA_CHUNK_BITS, DFA_FAR_BIT, DFA_MATCH_BIT, DfaMatch,
        DfaResume, FlowKey,
    },
    record::MAX_SNAPLEN,
};

use crate::{SCRATCH, global};

/// States per bank; set at load time (the `DFA_MATCHES` map holds two banks).
#[unsafe(no_mangle)]
static DFA_BANK_STATES: u32 = 0;

/// Byte -> class, per bank.
#[map]
static DFA_CLASSES: Array<[u8; 256]> = Array::with_max_entries(2, 0);

/// Dense transition table of both banks, in chunks. Sized at load time.
#[map]
static DFA_TRANS: Array<[u32; DFA_CHUNK]> = Array::with_max_entries(2, 0);

/// Where the automaton stopped at the end of each TCP flow direction's last
/// segment; least recently used entries go first. Sized at load time.
#[map]
static DFA_RESUME: LruHashMap<FlowKey, DfaResume> = LruHashMap::with_max_entries(1, 0);

/// The pattern each match state completes, both banks. Sized at load time.
#[map]
static DFA_MATCHES: Array<DfaMatch> = Array::with_max_entries(1, 0);

// The unrolled fast path of `step` is written out for 16 bytes.
const _: () = assert!(DFA_BYTES_PER_STEP == 16);

/// Slot 0 is set once a resume point was ever stored: until then a packet
/// skips the `DFA_RESUME` lookup (a hash of its 40-byte flow key).
#[map]
static DFA_RESUME_USED: Array<u32> = Array::with_max_entries(1, 0);

#[inline(always)]
fn resume_used() -> bool {
    match DFA_RESUME_USED.get_ptr(0) {
        // SAFETY: a map value pointer, valid for this program run.
        Some(flag) => unsafe { core::ptr::read_volatile(flag) != 0 },
        None => true,
    }
}

/// State of one walk, shared with the `bpf_loop` callback through the stack.
#[repr(C)]
struct Walk {
    /// Row of the current state (absolute transition index).
    row: u32,
    /// Next payload byte to read.
    pos: u32,
    /// Payload bytes to walk.
    len: u32,
    /// `DFA_TRANS` chunk holding the current row.
    chunk: u32,
    /// Bank index, for the class map.
    bank: u32,
    /// Matching state + 1 once a pattern completed; 0 before.
    hit: u32,
}

const IPPROTO_TCP: u8 = 6;

/// Runs the automaton of `generation`'s bank over the first `len` payload
/// bytes of the packet `hdr` describes (in the scratch record); returns the
/// first pattern completed. `key` is the packet's flow key, `shape` the
/// bank's entry in `BANKS`.
///
/// A TCP segment that follows the previous one in sequence resumes where
/// the automaton stopped on it, so a pattern split across segments is found
/// in the segment that completes it. The stop point is saved only when the
/// whole segment was walked and the automaton is not back at its start
/// (benign traffic rarely leaves it at the end of a segment, so this seldom
/// writes).
#[inline(always)]
pub fn scan(
    hdr: &RecordHeader,
    key: &FlowKey,
    generation: u32,
    shape: &Bank,
    len: u32,
) -> Option<DfaMatch> {
    let bank = generation & 1;
    if shape.states == 0 {
        return None;
    }
    let tcp = hdr.protocol == IPPROTO_TCP;
    let mut row = shape.start_row;
    if tcp
        && resume_used()
        && let Some(resume) = DFA_RESUME.get_ptr(key)
    {
        // SAFETY: a map value pointer, valid for this program run.
        let resume = unsafe { *resume };
        if resume.next_seq == hdr.seq && resume.generation == generation {
            row = resume.row;
        }
    }
    let mut walk = Walk {
        row,
        pos: 0,
        len,
        chunk: row >> DFA_CHUNK_BITS,
        bank,
        hit: 0,
    };
    // Each iteration walks up to DFA_BYTES_PER_STEP bytes, fewer when the
    // walk moves to another chunk; `len` iterations always suffice.
    // SAFETY: `step` has the callback signature bpf_loop expects, and `walk`
    // lives on this stack frame for the whole call.
    unsafe { bpf_loop(len, step as *mut c_void, (&mut walk as *mut Walk).cast(), 0) };
    if walk.hit != 0 {
        return DFA_MATCHES
            .get(bank * global(&DFA_BANK_STATES) + walk.hit - 1)
            .copied();
    }
    if tcp && walk.row != shape.start_row && len == hdr.payload_len as u32 {
        let resume = DfaResume {
            next_seq: hdr.seq.wrapping_add(len),
            row: walk.row,
            generation,
            _pad: 0,
        };
        if let Some(flag) = DFA_RESUME_USED.get_ptr_mut(0) {
            // SAFETY: a map value pointer, valid for this program run.
            unsafe { core::ptr::write_volatile(flag, 1) };
        }
        let _ = DFA_RESUME.insert(key, resume, 0);
    }
    None
}

/// One `bpf_loop` iteration: walks up to [`DFA_BYTES_PER_STEP`] bytes from
/// `walk.pos`. Returns 1 to stop the loop (match, end of payload, or a bad
/// table).
///
/// The per-byte path is what the automaton costs, so it is kept short: no
/// call (a transition to another chunk ends the iteration; the next one looks
/// the chunk up), one test of both flag bits, 64-bit arithmetic (no
/// zero-extension pairs), and when a whole step's bytes are available, a
/// fully unrolled body with no length check.
#[inline(never)]
extern "C" fn step(_index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: bpf_loop hands back the pointer `scan` passed.
    let walk = unsafe { &mut *ctx.cast::<Walk>() };
    let Some(record) = SCRATCH.get_ptr(0) else {
        return 1;
    };
    let Some(classes) = DFA_CLASSES.get(walk.bank) else {
        return 1;
    };
    let Some(chunk) = DFA_TRANS.get_ptr(walk.chunk) else {
        return 1;
    };
    // SAFETY: per-CPU scratch, valid for the program run.
    let payload = unsafe { &(*record).payload };
    // SAFETY: a map value, valid for the program run.
    let chunk = unsafe { &*chunk };
    let len = walk.len as u64;
    let mut pos = walk.pos as u64;
    let mut row = walk.row as u64;
    const FLAGS: u64 = (DFA_MATCH_BIT | DFA_FAR_BIT) as u64;

    // One byte; evaluates to false when the iteration must end here.
    macro_rules! byte {
        () => {{
            let byte = payload[pos as usize & (MAX_SNAPLEN - 1)];
            let t = row + classes[byte as usize] as u64;
            let next = chunk[t as usize & (DFA_CHUNK - 1)] as u64;
            pos += 1;
            if next & FLAGS == 0 {
                row = next;
                true
            } else if next & DFA_MATCH_BIT as u64 != 0 {
                walk.hit = (next as u32 & !DFA_MATCH_BIT) + 1;
                return 1;
            } else {
                row = next & !(DFA_FAR_BIT as u64);
                walk.chunk = (row >> DFA_CHUNK_BITS) as u32;
                false
            }
        }};
    }

    if pos + DFA_BYTES_PER_STEP as u64 <= len {
        'fast: {
            // DFA_BYTES_PER_STEP (16) copies.
            macro_rules! four {
                () => {
                    if !byte!() {
                        break 'fast;
                    }
                    if !byte!() {
                        break 'fast;
                    }
                    if !byte!() {
                        break 'fast;
                    }
                    if !byte!() {
                        break 'fast;
                    }
                };
            }
            four!();
            four!();
            four!();
            four!();
        }
    } else {
        for _ in 0..DFA_BYTES_PER_STEP {
            if pos >= len || !byte!() {
                break;
            }
        }
    }
    walk.pos = pos as u32;
    walk.row = row as u32;
    if pos >= len { 1 } else { 0 }
}
