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
        Bank, DFA_BYTES_PER_STEP, DFA_MATCHES_OFFSET, DFA_ROW_UNIT_SHIFT, DFA_ROWS_OFFSET,
        DfaMatch, DfaResume, DfaTable, FlowKey, GRAM_LEN,
    },
    record::MAX_SNAPLEN,
};

use crate::{SCRATCH, global, grams, min_u32};

/// States per bank; set at load time (the `DFA_MATCHES` map holds two banks).
#[unsafe(no_mangle)]
static DFA_BANK_STATES: u32 = 0;

/// Each bank's automaton, one 4 MiB value: class map, rows of transitions and
/// the units of match states.
#[map]
static DFA_TABLE: Array<DfaTable> = Array::with_max_entries(2, 0);

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
    /// Each lane's current row (its unit in the bank's table).
    rows: [u32; LANES],
    /// Where each lane starts in the payload.
    starts: [u32; LANES],
    /// Bytes each lane has walked.
    walked: u32,
    /// Bytes each lane walks.
    lane_len: u32,
    /// 1 or [`LANES`].
    lanes: u32,
    /// Bank index, for the table.
    bank: u32,
    /// The bank's `Bank::class_shift`.
    class_shift: u32,
    /// Unit of the matching state's row + 1 once a pattern completed; 0
    /// before.
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
///
/// With a gram filter (`Bank::gram_stride`), a segment that starts from the
/// start state is sampled instead ([`sampled`]), and walked only around the
/// windows the filter lets through.
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
    let sampled = if shape.gram_stride != 0 && row == start_row && len >= SAMPLED_MIN_LEN {
        sampled(shape, bank, len)
    } else {
        None
    };
    let end_row = match sampled.or_else(|| whole(shape, bank, row, len)) {
        Some(Walked::Hit(unit)) => {
            let state = unit.checked_div(shape.row_units)?;
            return DFA_MATCHES
                .get(bank * global(&DFA_BANK_STATES) + state)
                .copied();
        }
        Some(Walked::End(end_row)) => end_row,
        None => return None,
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

/// Payloads shorter than this are walked whole even with a gram filter:
/// the walk of a few dozen bytes costs no more than sampling them and
/// walking the tail.
const SAMPLED_MIN_LEN: u32 = 64;

/// Windows the filter lets through that [`sampled`] checks with a short
/// walk each, before it gives up and walks the whole payload (a payload
/// full of the patterns' grams).
const MAX_CHECKED_WINDOWS: usize = 8;

/// How a walk ended.
enum Walked {
    /// A lane reached a match state: its row's unit.
    Hit(u32),
    /// The walk reached the payload's end in this row, matching nothing.
    End(u32),
}

/// The whole payload's walk, from `row`, in four lanes when it is long
/// enough. `None` when a map is missing.
#[inline(always)]
fn whole(shape: &Bank, bank: u32, row: u32, len: u32) -> Option<Walked> {
    let start_row = shape.start_row;
    let (lanes, lane_len, starts) = match split(len, shape.max_len) {
        Some((lane_len, starts)) => (LANES as u32, lane_len, starts),
        None => (1, len, [0; LANES]),
    };
    run(Walk {
        rows: [row, start_row, start_row, start_row],
        starts,
        walked: 0,
        lane_len,
        lanes,
        bank,
        class_shift: shape.class_shift,
        hit: 0,
    })
}

/// One lane's walk of payload bytes `from .. to` from the start state (a
/// single lane starts at `walked` and ends at `lane_len`).
#[inline(always)]
fn part(shape: &Bank, bank: u32, from: u32, to: u32) -> Option<Walked> {
    run(Walk {
        rows: [shape.start_row; LANES],
        starts: [0; LANES],
        walked: from,
        lane_len: to,
        lanes: 1,
        bank,
        class_shift: shape.class_shift,
        hit: 0,
    })
}

/// Runs `walk` to its end through `DFA_WALK` and `bpf_loop`. `None` when
/// the map is missing.
#[inline(always)]
fn run(walk: Walk) -> Option<Walked> {
    let lanes = walk.lanes;
    // Each iteration walks at least one byte of each lane.
    let iterations = walk.lane_len.saturating_sub(walk.walked);
    let slot = DFA_WALK.get_ptr_mut(0)?;
    // SAFETY: per-CPU map value, valid for this program run; the program
    // is not preempted by another use of it on this CPU.
    let slot = unsafe { &mut *slot };
    *slot = walk;
    // SAFETY: `step` has the callback signature bpf_loop expects and takes
    // no context (it finds the walk in `DFA_WALK`).
    unsafe { bpf_loop(iterations, step as *mut c_void, core::ptr::null_mut(), 0) };
    if slot.hit != 0 {
        return Some(Walked::Hit(slot.hit - 1));
    }
    // The state at the end of the payload: the last lane's.
    Some(Walked::End(if lanes == 1 {
        slot.rows[0]
    } else {
        slot.rows[LANES - 1]
    }))
}

/// The walk a gram filter allows: sample the windows on the stride's grid,
/// in order; from each window whose bit is set, walk from `stride - 1`
/// bytes before it to `max_len` bytes after it. That covers every
/// occurrence whose first sampled window it is (an occurrence's first
/// sampled window starts at most `stride - 1` bytes into it, and its bit is
/// set), and the windows are taken in order, so each occurrence is walked
/// whole from its first sampled window. With no match, and when the
/// segment may end inside an occurrence (`grams::may_end_in_occurrence`),
/// walk the last `max_len - 1` bytes from the start
/// state, which ends in the state a walk of the whole payload would (no
/// state is deeper than the longest pattern), for the resume point. `None`:
/// walk the whole payload instead (too many windows let through, or a
/// missing map).
#[inline(always)]
fn sampled(shape: &Bank, bank: u32, len: u32) -> Option<Walked> {
    let stride = shape.gram_stride;
    let max_len = shape.max_len;
    let last = len - GRAM_LEN;
    let mut from = 0;
    for _ in 0..MAX_CHECKED_WINDOWS {
        let Some(at) = grams::next_hit(bank, from, last, stride).ok()? else {
            if !grams::may_end_in_occurrence(bank, len) {
                return Some(Walked::End(shape.start_row));
            }
            return part(shape, bank, len.saturating_sub(max_len - 1), len);
        };
        let walked = part(
            shape,
            bank,
            at.saturating_sub(stride - 1),
            min_u32(at + max_len, len),
        )?;
        if let Walked::Hit(_) = walked {
            return Some(walked);
        }
        from = at + stride;
    }
    None
}

const STEP: u64 = DFA_BYTES_PER_STEP as u64;
/// Rows are 16-bit units: a row kept in the walk between runs is masked
/// to that once per run, which shows the verifier it is one.
const UNIT_MASK: u64 = 0xffff;

/// One `bpf_loop` iteration: up to [`DFA_BYTES_PER_STEP`] bytes of each
/// lane. Returns 1 to stop the loop (a match, the lanes at their end, or a
/// bad table).
///
/// The per-byte path is what the automaton costs, so it is kept short: no
/// call, 64-bit arithmetic (no zero-extension pairs), bytes read at constant
/// offsets from one pointer per lane, the class map and the transitions at
/// offsets from the one table pointer, a fully unrolled body with no
/// length check, and no match test: a state that completes a pattern keeps
/// every lane that reaches it there (see `sensor_common::enforce::Bank`),
/// so one test at the end of each run of bytes finds it. A four-lane step
/// is then 28 BPF instructions (seven per lane and byte: load the byte,
/// find its doubled class, add the table, shift the row's unit, add, load
/// the next unit; no mask, as a 16-bit load is bounded), and BPF's ten
/// registers hold the four rows, the four byte pointers, the table and one
/// temporary, with no reloads from the stack.
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
    let Some(table) = DFA_TABLE.get_ptr(walk.bank) else {
        return 1;
    };
    let table = table as u64;
    // SAFETY: per-CPU scratch, valid for the program run.
    let payload = unsafe { &(*record).payload };
    // The shift is a constant of each copy of the walk: with up to 128
    // classes, the common case, a byte costs no shift at all.
    match (walk.lanes == 1, walk.class_shift == 0) {
        (true, true) => one_lane::<0>(walk, payload, table),
        (true, false) => one_lane::<1>(walk, payload, table),
        (false, true) => four_lanes::<0>(walk, payload, table),
        (false, false) => four_lanes::<1>(walk, payload, table),
    }
}

/// The transition of a lane at `$row` (a unit, at most 0xffff) on `$byte`:
/// the byte's class (shifted left by `CLASS_SHIFT`, the caller's constant,
/// to double it unless the class map holds it doubled) and the transition
/// are both read at offsets from the table's pointer.
macro_rules! transition {
    ($table:ident, $row:ident, $byte:expr) => {{
        // Addresses are computed as integers, `index + table`: a pointer
        // offset compiles to `tmp = table; tmp += index`, a copy more per
        // load (LLVM does not commute it), and the verifier accepts a
        // scalar plus a map value pointer either way round. The class part
        // depends only on the byte, not on the previous transition, so it
        // is computed off the chain of dependent loads.
        let byte = $byte as u64;
        // SAFETY: a byte is below 256 and the class map is the table's
        // first 256 bytes.
        let mut class_at = (unsafe { *((byte + $table) as *const u8) } as u64) << CLASS_SHIFT;
        // SAFETY: one addition, `class_at += table`, written as asm so that
        // LLVM cannot reassociate it into the chain of dependent loads.
        unsafe {
            core::arch::asm!(
                "{0} += {1}",
                inout(reg) class_at,
                in(reg) $table,
                options(pure, nomem, nostack),
            )
        };
        let at = ($row << DFA_ROW_UNIT_SHIFT) + class_at;
        // SAFETY: a unit is below 2^16 and a doubled class below 256, so
        // the row plus class, plus the rows' offset, is within the table
        // (see `DfaTable`); map values are page-aligned.
        let next = unsafe { *((at + DFA_ROWS_OFFSET as u64) as *const u16) };
        next as u64
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

/// Whether the state at unit `$row` (at most 0xffff) completed a pattern.
macro_rules! matched {
    ($table:ident, $row:expr) => {
        // SAFETY: `DfaTable::matches` holds a byte per unit.
        unsafe { *(($row + $table + DFA_MATCHES_OFFSET as u64) as *const u8) != 0 }
    };
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

/// `$body` for `$k` = 0 to 15.
macro_rules! just_sixteen {
    ($k:ident, $body:block) => {
        sixteen!($k, 0, $body);
    };
}

/// One lane: a payload too short to split.
#[inline(always)]
fn one_lane<const CLASS_SHIFT: u64>(
    walk: &mut Walk,
    payload: &[u8; MAX_SNAPLEN],
    table: u64,
) -> i64 {
    let end = walk.lane_len as u64;
    let mut pos = walk.walked as u64;
    let mut row = walk.rows[0] as u64 & UNIT_MASK;
    if pos + STEP <= end {
        let window = window!(payload, pos, STEP);
        sixty_four!(K, {
            row = transition!(table, row, at!(window, K));
            barrier();
        });
        pos += STEP;
    } else {
        // The last bytes, with a length check per byte.
        for _ in 0..DFA_BYTES_PER_STEP {
            if pos >= end {
                break;
            }
            let byte = payload[pos as usize & (MAX_SNAPLEN - 1)];
            pos += 1;
            row = transition!(table, row, byte);
        }
    }
    if matched!(table, row) {
        walk.hit = row as u32 + 1;
        return 1;
    }
    walk.walked = pos as u32;
    walk.rows[0] = row as u32;
    if pos >= end { 1 } else { 0 }
}

/// Four lanes in lockstep: 64 bytes of each while that many are left, else
/// 16 (lane lengths are multiples of 16, and every run advances all lanes
/// alike, so they stay on that grid). No loops: a loop here, unrolled by
/// the verifier across four lanes, overflowed its jump history.
#[inline(always)]
fn four_lanes<const CLASS_SHIFT: u64>(
    walk: &mut Walk,
    payload: &[u8; MAX_SNAPLEN],
    table: u64,
) -> i64 {
    let walked = walk.walked as u64;
    let left = (walk.lane_len as u64).saturating_sub(walked);
    let [mut r0, mut r1, mut r2, mut r3] = walk.rows.map(|r| u64::from(r) & UNIT_MASK);
    let [s0, s1, s2, s3] = walk.starts.map(u64::from);
    // During the run every register holds a row, a byte pointer or the
    // table: the walk's pointer waits on the stack (volatile, so that LLVM
    // does not keep it in a register instead). A lookup of the map after
    // the run would be a call, across which the rows and the table do not
    // fit the four callee-saved registers, and LLVM spilled inside the run.
    let mut stash = core::mem::MaybeUninit::<*mut Walk>::uninit();
    // SAFETY: a write to a local.
    unsafe { core::ptr::write_volatile(stash.as_mut_ptr(), walk as *mut Walk) };

    // One unrolled run of `$n` bytes of each lane (`$unroll` copies).
    macro_rules! run {
        ($n:expr, $unroll:ident) => {{
            let w0 = window!(payload, s0 + walked, $n);
            let w1 = window!(payload, s1 + walked, $n);
            let w2 = window!(payload, s2 + walked, $n);
            let w3 = window!(payload, s3 + walked, $n);
            walk.walked = (walked + $n) as u32;
            $unroll!(K, {
                r0 = transition!(table, r0, at!(w0, K));
                barrier();
                r1 = transition!(table, r1, at!(w1, K));
                barrier();
                r2 = transition!(table, r2, at!(w2, K));
                barrier();
                r3 = transition!(table, r3, at!(w3, K));
                barrier();
            });
        }};
    }

    if left >= STEP {
        run!(STEP, sixty_four);
    } else if left >= LANE_ROUND as u64 {
        run!(LANE_ROUND as u64, just_sixteen);
    } else {
        // Cannot happen (lane lengths are multiples of 16): stop.
        return 1;
    }
    // SAFETY: written above; the per-CPU map value it points to is valid
    // for the program run.
    let walk = unsafe { &mut *core::ptr::read_volatile(stash.as_ptr()) };
    let hit = if matched!(table, r0) {
        r0
    } else if matched!(table, r1) {
        r1
    } else if matched!(table, r2) {
        r2
    } else if matched!(table, r3) {
        r3
    } else {
        walk.rows = [r0 as u32, r1 as u32, r2 as u32, r3 as u32];
        return if walk.walked >= walk.lane_len { 1 } else { 0 };
    };
    walk.hit = hit as u32 + 1;
    1
}

/// Keeps the compiler from moving a later lane's byte and class loads
/// before this point. They do not depend on the rows, so without a barrier
/// LLVM hoists a whole run's worth of them ahead of the chain and spills
/// them past BPF's 512-byte stack (the per-step match test used to hold
/// them back); between lanes it lets one temporary register serve all four.
/// The CPU still overlaps the lanes. No instruction: an empty asm that may
/// touch memory.
#[inline(always)]
fn barrier() {
    // SAFETY: empty.
    unsafe { core::arch::asm!("", options(nostack, preserves_flags)) };
}
