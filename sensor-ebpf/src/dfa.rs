//! The pattern automaton: a dense DFA with byte classes, built by user space
//! from the literal patterns of drop rules and walked here over the captured
//! payload with `bpf_loop`, [`DFA_BYTES_PER_STEP`] bytes per iteration, in
//! four interleaved lanes when the payload is long enough.

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

/// Lanes of the multi-lane walk.
const LANES: usize = 4;

/// Multi-lane lane lengths are multiples of this, so that the unrolled runs
/// of 64 and 16 bytes end exactly at a lane's end (no per-byte tail).
const LANE_ROUND: u32 = 16;

/// State of one walk, shared with the `bpf_loop` callback through the
/// per-CPU [`DFA_WALK`] map rather than the stack: the verifier tracks
/// stack contents exactly, so it would follow the positions as constants
/// iteration after iteration and never see the loop's states converge;
/// values read from a map are unknown to it, so the callback is verified
/// once.
///
/// A long payload is walked as four lanes of equal length, in lockstep:
/// four independent chains of dependent table loads, which the CPU
/// overlaps (under live load the rows are often not in L1, and one chain
/// would wait on each miss in turn). Lane `i + 1` starts at least
/// `max_len - 1` bytes before lane `i` ends, from the start state: every
/// pattern occurrence lies whole within some lane, and the last lane ends
/// at the payload's end in the state a walk of the whole payload would
/// reach (no state is deeper than the longest pattern). Lanes other than
/// the first start from the start state; the first resumes the previous
/// segment's state. A short payload is one lane.
#[repr(C)]
struct Walk {
    /// Each lane's current row (absolute transition index).
    rows: [u32; LANES],
    /// `DFA_TRANS` chunk holding each lane's current row.
    chunks: [u32; LANES],
    /// Where each lane starts in the payload.
    starts: [u32; LANES],
    /// Bytes each lane has walked.
    walked: u32,
    /// Bytes each lane walks.
    lane_len: u32,
    /// 1 or [`LANES`].
    lanes: u32,
    /// Bank index, for the class map.
    bank: u32,
    /// Matching state + 1 once a pattern completed; 0 before.
    hit: u32,
}

#[map]
static DFA_WALK: PerCpuArray<Walk> = PerCpuArray::with_max_entries(1, 0);

const IPPROTO_TCP: u8 = 6;

/// The multi-lane split of a `len`-byte payload for patterns of at most
/// `max_len` bytes: (lane length, lane starts), or `None` when one lane is
/// better (a payload too short for the lanes to save at least half the
/// walk).
///
/// Lanes are `lane_len` bytes, a multiple of [`LANE_ROUND`], at least
/// `(len + 3 * overlap) / 4 + 4` (the 4 absorbs the rounding of the
/// starts); the first starts at 0, the last ends at `len`, the middle ones
/// are spaced evenly. Consecutive lanes then overlap by `overlap` bytes or
/// more.
#[inline(always)]
fn split(len: u32, max_len: u32) -> Option<(u32, [u32; LANES])> {
    let overlap = max_len.saturating_sub(1);
    if overlap > MAX_SNAPLEN as u32 {
        return None;
    }
    let need = (len + (LANES as u32 - 1) * overlap) / LANES as u32 + LANES as u32;
    let lane_len = need.div_ceil(LANE_ROUND) * LANE_ROUND;
    if lane_len * 2 > len {
        return None;
    }
    let spacing = (len - lane_len) / (LANES as u32 - 1);
    Some((lane_len, [0, spacing, 2 * spacing, len - lane_len]))
}

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
    let (lanes, lane_len, starts) = match split(len, shape.max_len) {
        Some((lane_len, starts)) => (LANES as u32, lane_len, starts),
        None => (1, len, [0; LANES]),
    };
    let walk = DFA_WALK.get_ptr_mut(0)?;
    // SAFETY: per-CPU map value, valid for this program run; the program
    // is not preempted by another use of it on this CPU.
    let walk = unsafe { &mut *walk };
    let start_chunk = start_row >> DFA_CHUNK_BITS;
    *walk = Walk {
        rows: [row, start_row, start_row, start_row],
        chunks: [row >> DFA_CHUNK_BITS, start_chunk, start_chunk, start_chunk],
        starts,
        walked: 0,
        lane_len,
        lanes,
        bank,
        hit: 0,
    };
    // Each iteration walks at least one byte of each lane.
    // SAFETY: `step` has the callback signature bpf_loop expects and takes
    // no context (it finds the walk in `DFA_WALK`).
    unsafe { bpf_loop(lane_len, step as *mut c_void, core::ptr::null_mut(), 0) };
    if walk.hit != 0 {
        return DFA_MATCHES
            .get(bank * global(&DFA_BANK_STATES) + walk.hit - 1)
            .copied();
    }
    // The state at the end of the payload: the last lane's.
    let end_row = if lanes == 1 {
        walk.rows[0]
    } else {
        walk.rows[LANES - 1]
    };
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

const FLAGS: u64 = (DFA_MATCH_BIT | DFA_FAR_BIT) as u64;
const MATCH: u64 = DFA_MATCH_BIT as u64;
const FAR: u64 = DFA_FAR_BIT as u64;
const STEP: u64 = DFA_BYTES_PER_STEP as u64;

/// One `bpf_loop` iteration: up to [`DFA_BYTES_PER_STEP`] bytes of each
/// lane. Returns 1 to stop the loop (a match, the lanes at their end, or a
/// bad table).
///
/// The per-byte path is what the automaton costs, so it is kept short: no
/// call, 64-bit arithmetic (no zero-extension pairs), bytes read at constant
/// offsets from one pointer per lane, and a fully unrolled body with no
/// length check. Each step of the lanes has a single test of all their
/// transitions' flag bits (match, or next row in another chunk); a flagged
/// step ends the iteration and is resolved once after the unrolled body.
/// One exit per step keeps the verifier's paths linear in the step length.
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
    // SAFETY: per-CPU scratch, valid for the program run.
    let payload = unsafe { &(*record).payload };
    if walk.lanes == 1 {
        one_lane(walk, payload, classes)
    } else {
        four_lanes(walk, payload, classes)
    }
}

/// The transition of a lane at `$row` on `$byte`.
macro_rules! transition {
    ($classes:ident, $chunk:ident, $row:ident, $byte:expr) => {{
        let t = $row + $classes[$byte as usize] as u64;
        $chunk[t as usize & (DFA_CHUNK - 1)] as u64
    }};
}

/// A pointer to payload byte `$pos`, where `$len` bytes are read at constant
/// offsets; returns 1 from the callback unless they lie within the payload
/// (which holds, and which the verifier is shown).
macro_rules! window {
    ($payload:ident, $pos:expr, $len:expr) => {{
        let pos = $pos;
        if pos > MAX_SNAPLEN as u64 - $len {
            return 1;
        }
        // SAFETY: `pos + $len <= MAX_SNAPLEN`, checked above.
        unsafe { $payload.as_ptr().add(pos as usize) }
    }};
}

/// Byte `$k` of a window.
macro_rules! at {
    ($window:ident, $k:expr) => {
        // SAFETY: `$k` is below the window's length.
        unsafe { *$window.add($k) }
    };
}

/// Takes a flagged transition of lane `$lane`: a match ends the walk, a far
/// row moves the lane to another chunk (looked up by the next iteration).
macro_rules! take_flagged {
    ($walk:ident, $next:ident, $row:ident, $lane:expr) => {{
        if $next & MATCH != 0 {
            $walk.hit = ($next as u32 & !DFA_MATCH_BIT) + 1;
            return 1;
        }
        $row = $next & !FAR;
        $walk.chunks[$lane] = ($row >> DFA_CHUNK_BITS) as u32;
    }};
}

/// `$body` for `$k` = `$base` to `$base + 15` (a constant in each copy).
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

/// `$body` for `$k` = 0 to 63.
macro_rules! sixty_four {
    ($k:ident, $body:block) => {
        sixteen!($k, 0, $body);
        sixteen!($k, 16, $body);
        sixteen!($k, 32, $body);
        sixteen!($k, 48, $body);
    };
}

/// One lane: a payload too short to split.
#[inline(always)]
fn one_lane(walk: &mut Walk, payload: &[u8; MAX_SNAPLEN], classes: &[u8; 256]) -> i64 {
    let Some(chunk) = DFA_TRANS.get_ptr(walk.chunks[0]) else {
        return 1;
    };
    // SAFETY: a map value, valid for the program run.
    let chunk = unsafe { &*chunk };
    let end = walk.lane_len as u64;
    let mut pos = walk.walked as u64;
    let mut row = walk.rows[0] as u64;
    if pos + STEP <= end {
        let window = window!(payload, pos, STEP);
        let mut walked = STEP;
        'run: {
            sixty_four!(K, {
                let next = transition!(classes, chunk, row, at!(window, K));
                if next & FLAGS != 0 {
                    walked = K as u64 + 1;
                    take_flagged!(walk, next, row, 0);
                    break 'run;
                }
                row = next;
            });
        }
        pos += walked;
    } else {
        // The last bytes, with a length check per byte.
        for _ in 0..DFA_BYTES_PER_STEP {
            if pos >= end {
                break;
            }
            let byte = payload[pos as usize & (MAX_SNAPLEN - 1)];
            pos += 1;
            let next = transition!(classes, chunk, row, byte);
            if next & FLAGS != 0 {
                take_flagged!(walk, next, row, 0);
                break;
            }
            row = next;
        }
    }
    walk.walked = pos as u32;
    walk.rows[0] = row as u32;
    if pos >= end { 1 } else { 0 }
}

/// Four lanes in lockstep: 64 bytes of each while that many are left, else
/// 16 (lane lengths are multiples of 16), else (a chunk change moved the
/// lanes off the 16-byte grid) one. No loops: a loop here, unrolled by the
/// verifier across four lanes, overflowed its jump history.
#[inline(always)]
fn four_lanes(walk: &mut Walk, payload: &[u8; MAX_SNAPLEN], classes: &[u8; 256]) -> i64 {
    let (Some(c0), Some(c1), Some(c2), Some(c3)) = (
        DFA_TRANS.get_ptr(walk.chunks[0]),
        DFA_TRANS.get_ptr(walk.chunks[1]),
        DFA_TRANS.get_ptr(walk.chunks[2]),
        DFA_TRANS.get_ptr(walk.chunks[3]),
    ) else {
        return 1;
    };
    // SAFETY: map values, valid for the program run.
    let (c0, c1, c2, c3) = unsafe { (&*c0, &*c1, &*c2, &*c3) };
    let walked = walk.walked as u64;
    let left = (walk.lane_len as u64).saturating_sub(walked);
    let [mut r0, mut r1, mut r2, mut r3] = walk.rows.map(u64::from);
    let [s0, s1, s2, s3] = walk.starts.map(u64::from);

    // One unrolled run of `$n` bytes of each lane (`$unroll` copies).
    macro_rules! run {
        ($n:expr, $unroll:ident) => {{
            let w0 = window!(payload, s0 + walked, $n);
            let w1 = window!(payload, s1 + walked, $n);
            let w2 = window!(payload, s2 + walked, $n);
            let w3 = window!(payload, s3 + walked, $n);
            let mut flagged = [0u64; LANES];
            let mut advanced = $n;
            'run: {
                $unroll!(K, {
                    let n0 = transition!(classes, c0, r0, at!(w0, K));
                    let n1 = transition!(classes, c1, r1, at!(w1, K));
                    let n2 = transition!(classes, c2, r2, at!(w2, K));
                    let n3 = transition!(classes, c3, r3, at!(w3, K));
                    if (n0 | n1 | n2 | n3) & FLAGS != 0 {
                        flagged = [n0, n1, n2, n3];
                        advanced = K as u64 + 1;
                        break 'run;
                    }
                    r0 = n0;
                    r1 = n1;
                    r2 = n2;
                    r3 = n3;
                });
            }
            let [f0, f1, f2, f3] = flagged;
            if (f0 | f1 | f2 | f3) & FLAGS != 0 {
                if f0 & FLAGS != 0 {
                    take_flagged!(walk, f0, r0, 0);
                } else {
                    r0 = f0;
                }
                if f1 & FLAGS != 0 {
                    take_flagged!(walk, f1, r1, 1);
                } else {
                    r1 = f1;
                }
                if f2 & FLAGS != 0 {
                    take_flagged!(walk, f2, r2, 2);
                } else {
                    r2 = f2;
                }
                if f3 & FLAGS != 0 {
                    take_flagged!(walk, f3, r3, 3);
                } else {
                    r3 = f3;
                }
            }
            walk.walked = (walked + advanced) as u32;
        }};
    }
    // `$body` for `$k` = 0.
    macro_rules! just_one {
        ($k:ident, $body:block) => {{
            const $k: usize = 0;
            $body
        }};
    }
    // `$body` for `$k` = 0 to 15.
    macro_rules! just_sixteen {
        ($k:ident, $body:block) => {
            sixteen!($k, 0, $body);
        };
    }

    if left >= STEP {
        run!(STEP, sixty_four);
    } else if left >= LANE_ROUND as u64 {
        run!(LANE_ROUND as u64, just_sixteen);
    } else {
        // Fewer than 16 bytes left (a chunk change moved the lanes off the
        // 16-byte grid; rare): one byte of each lane per iteration.
        run!(1, just_one);
    }
    walk.rows = [r0 as u32, r1 as u32, r2 as u32, r3 as u32];
    if walk.walked >= walk.lane_len { 1 } else { 0 }
}
