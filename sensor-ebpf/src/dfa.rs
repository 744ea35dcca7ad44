//! The pattern automaton: a dense DFA with byte classes, built by user space
//! from the literal patterns of drop rules and walked here over the captured
//! payload with `bpf_loop`, [`DFA_BYTES_PER_STEP`] bytes per iteration, in
//! two interleaved lanes when the payload is long enough.

use core::ffi::c_void;

use aya_ebpf::{
    helpers::bpf_loop,
    macros::map,
    maps::{Array, LruHashMap, PerCpuArray},
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

// The unrolled fast paths of `step` are written out for 64 bytes.
const _: () = assert!(DFA_BYTES_PER_STEP == 64);

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

/// State of one walk, shared with the `bpf_loop` callback through the
/// per-CPU [`DFA_WALK`] map rather than the stack: the verifier tracks
/// stack contents exactly, so it would follow the lanes' positions as
/// constants iteration after iteration and never see the loop's states
/// converge; values read from a map are unknown to it, so the callback is
/// verified once.
///
/// A long payload is walked as two lanes: lane A from the start, lane B from
/// the middle, so the two chains of dependent loads overlap in the CPU and
/// the walk takes about half as long. Lane B starts `max_len - 1` bytes
/// before the end of lane A, from the start state: any pattern ending in
/// lane B's own bytes starts within them, and by the end of the payload lane
/// B is in the state a walk of the whole payload would be in (no state is
/// deeper than the longest pattern). A short payload is lane A alone.
#[repr(C)]
struct Walk {
    /// Row of each lane's current state (absolute transition index).
    row_a: u32,
    row_b: u32,
    /// Next payload byte each lane reads.
    pos_a: u32,
    pos_b: u32,
    /// End (exclusive) of each lane.
    end_a: u32,
    end_b: u32,
    /// `DFA_TRANS` chunk holding each lane's current row.
    chunk_a: u32,
    chunk_b: u32,
    /// Bank index, for the class map.
    bank: u32,
    /// Matching state + 1 once a pattern completed; 0 before.
    hit: u32,
}

#[map]
static DFA_WALK: PerCpuArray<Walk> = PerCpuArray::with_max_entries(1, 0);

/// Payloads shorter than twice the overlap plus this are walked as one lane:
/// below it the second lane saves too little to pay for itself.
const SPLIT_MIN: u32 = 64;

const IPPROTO_TCP: u8 = 6;

/// Runs the automaton of `generation`'s bank over the first `len` payload
/// bytes of the packet `hdr` describes (in the scratch record); returns a
/// pattern completed in them. `key` is the packet's flow key, `shape` the
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
    let start_row = shape.start_row;
    let mut row = start_row;
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
    let overlap = shape.max_len.saturating_sub(1);
    let split = overlap <= MAX_SNAPLEN as u32 && len >= 2 * overlap + SPLIT_MIN;
    // Lane A: [0, mid); lane B: [mid - overlap, len), the same length.
    let mid = if split { (len + overlap) / 2 } else { len };
    let walk = DFA_WALK.get_ptr_mut(0)?;
    // SAFETY: per-CPU map value, valid for this program run; the program
    // is not preempted by another use of it on this CPU.
    let walk = unsafe { &mut *walk };
    *walk = Walk {
        row_a: row,
        row_b: start_row,
        pos_a: 0,
        pos_b: if split { mid - overlap } else { len },
        end_a: mid,
        end_b: len,
        chunk_a: row >> DFA_CHUNK_BITS,
        chunk_b: start_row >> DFA_CHUNK_BITS,
        bank,
        hit: 0,
    };
    // Each iteration walks up to DFA_BYTES_PER_STEP bytes of each lane,
    // fewer when a lane moves to another chunk; the lanes hold
    // `len + overlap` bytes at most, so as many iterations always suffice.
    let iterations = if split { len + overlap } else { len };
    // SAFETY: `step` has the callback signature bpf_loop expects and takes
    // no context (it finds the walk in `DFA_WALK`).
    unsafe { bpf_loop(iterations, step as *mut c_void, core::ptr::null_mut(), 0) };
    if walk.hit != 0 {
        return DFA_MATCHES
            .get(bank * global(&DFA_BANK_STATES) + walk.hit - 1)
            .copied();
    }
    // The state at the end of the payload: the last lane's.
    let end_row = if split { walk.row_b } else { walk.row_a };
    if tcp && end_row != start_row && len == hdr.payload_len as u32 {
        let resume = DfaResume {
            next_seq: hdr.seq.wrapping_add(len),
            row: end_row,
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

/// One `bpf_loop` iteration: walks up to [`DFA_BYTES_PER_STEP`] bytes of
/// each lane. Returns 1 to stop the loop (a match, both lanes at their end,
/// or a bad table).
///
/// The per-byte path is what the automaton costs, so it is kept short: no
/// call, 64-bit arithmetic (no zero-extension pairs), and when a whole
/// step's bytes are available, a fully unrolled body with no length check.
/// With both lanes running, each byte pair has a single test of both
/// transitions' flag bits (match, or next row in another chunk); a flagged
/// pair ends the iteration and is resolved once after the unrolled body.
/// One exit per pair keeps the verifier's paths linear in the step length
/// (a test per lane multiplied them past its limit).
#[inline(never)]
extern "C" fn step(_index: u64, _ctx: *mut c_void) -> i64 {
    let Some(walk) = DFA_WALK.get_ptr_mut(0) else {
        return 1;
    };
    // SAFETY: per-CPU map value, valid for the program run.
    let walk = unsafe { &mut *walk };
    let Some(record) = SCRATCH.get_ptr(0) else {
        return 1;
    };
    let Some(classes) = DFA_CLASSES.get(walk.bank) else {
        return 1;
    };
    let Some(chunk_a) = DFA_TRANS.get_ptr(walk.chunk_a) else {
        return 1;
    };
    let Some(chunk_b) = DFA_TRANS.get_ptr(walk.chunk_b) else {
        return 1;
    };
    // SAFETY: per-CPU scratch, valid for the program run.
    let payload = unsafe { &(*record).payload };
    // SAFETY: map values, valid for the program run.
    let (chunk_a, chunk_b) = unsafe { (&*chunk_a, &*chunk_b) };
    let end_a = walk.end_a as u64;
    let end_b = walk.end_b as u64;
    let mut pos_a = walk.pos_a as u64;
    let mut pos_b = walk.pos_b as u64;
    let mut row_a = walk.row_a as u64;
    let mut row_b = walk.row_b as u64;
    const FLAGS: u64 = (DFA_MATCH_BIT | DFA_FAR_BIT) as u64;
    const MATCH: u64 = DFA_MATCH_BIT as u64;
    const FAR: u64 = DFA_FAR_BIT as u64;
    const STEP: u64 = DFA_BYTES_PER_STEP as u64;

    // The transition of one lane on its next byte, read with a masked
    // index (the lanes' last bytes).
    macro_rules! next {
        ($chunk:ident, $row:ident, $pos:ident) => {{
            let byte = payload[$pos as usize & (MAX_SNAPLEN - 1)];
            $pos += 1;
            transition!($chunk, $row, byte)
        }};
    }
    macro_rules! transition {
        ($chunk:ident, $row:ident, $byte:expr) => {{
            let t = $row + classes[$byte as usize] as u64;
            $chunk[t as usize & (DFA_CHUNK - 1)] as u64
        }};
    }
    // The unrolled paths read their STEP bytes at constant offsets from one
    // pointer: one load per byte instead of four instructions of index
    // arithmetic. `window!` gives that pointer for a lane starting at `$pos`
    // (at most `MAX_SNAPLEN - STEP`, which the verifier is shown).
    macro_rules! window {
        ($pos:ident) => {{
            if $pos > (MAX_SNAPLEN as u64 - STEP) {
                return 1;
            }
            // SAFETY: `$pos + STEP <= MAX_SNAPLEN`, checked above.
            unsafe { payload.as_ptr().add($pos as usize) }
        }};
    }
    // Byte `$k` of a window.
    macro_rules! at {
        ($window:ident, $k:expr) => {
            // SAFETY: `$k < STEP`, within the window.
            unsafe { *$window.add($k) }
        };
    }

    // Takes a flagged transition: a match ends the walk, a far row ends the
    // lane's part of this iteration (the next one looks its chunk up).
    macro_rules! flagged {
        ($next:ident, $row:ident, $chunk_field:ident) => {{
            if $next & MATCH != 0 {
                walk.hit = ($next as u32 & !DFA_MATCH_BIT) + 1;
                return 1;
            }
            $row = $next & !FAR;
            walk.$chunk_field = ($row >> DFA_CHUNK_BITS) as u32;
        }};
    }
    // `$body` for `$k` = `$base` to `$base + 15` (a constant in each copy).
    macro_rules! sixteen {
        ($k:ident, $base:expr, $body:block) => {{
            const $k: usize = $base + 0;
            $body
        }
        {
            const $k: usize = $base + 1;
            $body
        }
        {
            const $k: usize = $base + 2;
            $body
        }
        {
            const $k: usize = $base + 3;
            $body
        }
        {
            const $k: usize = $base + 4;
            $body
        }
        {
            const $k: usize = $base + 5;
            $body
        }
        {
            const $k: usize = $base + 6;
            $body
        }
        {
            const $k: usize = $base + 7;
            $body
        }
        {
            const $k: usize = $base + 8;
            $body
        }
        {
            const $k: usize = $base + 9;
            $body
        }
        {
            const $k: usize = $base + 10;
            $body
        }
        {
            const $k: usize = $base + 11;
            $body
        }
        {
            const $k: usize = $base + 12;
            $body
        }
        {
            const $k: usize = $base + 13;
            $body
        }
        {
            const $k: usize = $base + 14;
            $body
        }
        {
            const $k: usize = $base + 15;
            $body
        }};
    }
    // `$body` for `$k` = 0 to STEP - 1.
    macro_rules! unrolled {
        ($k:ident, $body:block) => {
            sixteen!($k, 0, $body);
            sixteen!($k, 16, $body);
            sixteen!($k, 32, $body);
            sixteen!($k, 48, $body);
        };
    }

    if pos_a + STEP <= end_a && pos_b + STEP <= end_b {
        // Both lanes, unrolled. A flagged pair stops both lanes after it.
        let window_a = window!(pos_a);
        let window_b = window!(pos_b);
        let mut flagged_a = 0u64;
        let mut flagged_b = 0u64;
        let mut walked = STEP;
        'run: {
            unrolled!(K, {
                let next_a = transition!(chunk_a, row_a, at!(window_a, K));
                let next_b = transition!(chunk_b, row_b, at!(window_b, K));
                if (next_a | next_b) & FLAGS != 0 {
                    flagged_a = next_a;
                    flagged_b = next_b;
                    walked = K as u64 + 1;
                    break 'run;
                }
                row_a = next_a;
                row_b = next_b;
            });
        }
        pos_a += walked;
        pos_b += walked;
        if (flagged_a | flagged_b) & FLAGS != 0 {
            if flagged_a & FLAGS != 0 {
                flagged!(flagged_a, row_a, chunk_a);
            } else {
                row_a = flagged_a;
            }
            if flagged_b & FLAGS != 0 {
                flagged!(flagged_b, row_b, chunk_b);
            } else {
                row_b = flagged_b;
            }
        }
    } else if pos_a + STEP <= end_a && pos_b >= end_b {
        // Lane A alone, unrolled.
        let window_a = window!(pos_a);
        let mut walked = STEP;
        'run: {
            unrolled!(K, {
                let next_a = transition!(chunk_a, row_a, at!(window_a, K));
                if next_a & FLAGS != 0 {
                    walked = K as u64 + 1;
                    flagged!(next_a, row_a, chunk_a);
                    break 'run;
                }
                row_a = next_a;
            });
        }
        pos_a += walked;
    } else {
        // The last bytes of each lane, with a length check per byte.
        for _ in 0..DFA_BYTES_PER_STEP {
            if pos_a >= end_a {
                break;
            }
            let next_a = next!(chunk_a, row_a, pos_a);
            if next_a & FLAGS != 0 {
                flagged!(next_a, row_a, chunk_a);
                break;
            }
            row_a = next_a;
        }
        for _ in 0..DFA_BYTES_PER_STEP {
            if pos_b >= end_b {
                break;
            }
            let next_b = next!(chunk_b, row_b, pos_b);
            if next_b & FLAGS != 0 {
                flagged!(next_b, row_b, chunk_b);
                break;
            }
            row_b = next_b;
        }
    }
    walk.pos_a = pos_a as u32;
    walk.pos_b = pos_b as u32;
    walk.row_a = row_a as u32;
    walk.row_b = row_b as u32;
    if pos_a >= end_a && pos_b >= end_b {
        1
    } else {
        0
    }
}
