//! Vigil's TC classifier.
//!
//! Attached on ingress and egress of an interface, it parses each packet's
//! headers (Ethernet, VLAN, IPv4/IPv6, TCP/UDP/ICMP), copies the first bytes of
//! the L4 payload up to the load-time snap length, and submits one
//! [`RecordHeader`]-prefixed record per packet into its CPU's ring buffer
//! (`EVENTS`, `EVENTS_1`, ...).
//!
//! In IDS mode (the default, `ENFORCE` = 0) it never drops or changes a
//! packet: it returns `TC_ACT_UNSPEC` (TCX_NEXT), letting the packet continue
//! to whatever else is attached. In IPS mode it consults the enforcement maps
//! (see [`enforce`]) and returns `TC_ACT_SHOT` for a blocked packet, whose
//! record is still emitted, flagged dropped with the reason and rule.
#![no_std]
#![no_main]
#![feature(asm_experimental_arch)]

mod body;
mod dfa;
mod enforce;
mod grams;
mod parse;

use aya_ebpf::{
    bindings::{
        BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, TC_ACT_SHOT, TC_ACT_UNSPEC,
    },
    helpers::{bpf_get_smp_processor_id, bpf_ktime_get_ns},
    macros::{classifier, map},
    maps::{PerCpuArray, RingBuf},
    programs::TcContext,
};
use sensor_common::{
    Counter, Direction, PacketRecord,
    record::{MAX_SNAPLEN, RECORD_HEADER_LEN},
};

/// Ring buffers carrying records to user space, one per CPU up to
/// [`sensor_common::record::MAX_RINGS`]: CPU `c` writes to ring
/// `c % RING_COUNT`. One ring shared by all CPUs made every record bounce
/// its lock and producer position between the CPUs' caches: on the lab's
/// two CPUs that cost 60-80 ns per packet (15% of the program). User space
/// resizes the rings it uses at load time (`map_max_entries`) and shrinks
/// the others to a page; it merges the rings back into timestamp order.
#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(8 << 20, 0);
#[map]
static EVENTS_1: RingBuf = RingBuf::with_byte_size(4096, 0);
#[map]
static EVENTS_2: RingBuf = RingBuf::with_byte_size(4096, 0);
#[map]
static EVENTS_3: RingBuf = RingBuf::with_byte_size(4096, 0);
#[map]
static EVENTS_4: RingBuf = RingBuf::with_byte_size(4096, 0);
#[map]
static EVENTS_5: RingBuf = RingBuf::with_byte_size(4096, 0);
#[map]
static EVENTS_6: RingBuf = RingBuf::with_byte_size(4096, 0);
#[map]
static EVENTS_7: RingBuf = RingBuf::with_byte_size(4096, 0);

const _: () = assert!(sensor_common::record::MAX_RINGS == 8);

/// Rings in use, 1 to `MAX_RINGS`; set at load time.
#[unsafe(no_mangle)]
static RING_COUNT: u32 = 1;

/// Per-CPU counters indexed by [`Counter`].
#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Counter::COUNT, 0);

/// Per-CPU scratch where a record is assembled before it is copied into the
/// ring buffer: a 4 KiB record does not fit on the 512-byte BPF stack, and
/// `bpf_ringbuf_reserve` needs a constant size while records vary in length.
#[map]
pub(crate) static SCRATCH: PerCpuArray<PacketRecord> = PerCpuArray::with_max_entries(1, 0);

/// Bytes of L4 payload to copy per packet; set by user space at load time.
#[unsafe(no_mangle)]
static SNAPLEN: u32 = sensor_common::record::DEFAULT_SNAPLEN;

/// Unread bytes in the ring buffer whose crossing wakes the reader (0: every
/// record wakes it); set at load time (`CaptureConfig::wakeup_bytes`).
/// Other submits skip the wakeup and the reader polls on a short timer:
/// waking on every record costs ~450 ns more per packet (measured on veth).
#[unsafe(no_mangle)]
static WAKEUP_THRESHOLD: u64 = 64 * 1024;

#[classifier]
pub fn vigil_ingress(ctx: TcContext) -> i32 {
    observe(&ctx, Direction::Ingress)
}

#[classifier]
pub fn vigil_egress(ctx: TcContext) -> i32 {
    observe(&ctx, Direction::Egress)
}

/// Reads a load-time global; volatile so LLVM does not fold the default.
#[inline(always)]
pub(crate) fn global<T: Copy>(value: &T) -> T {
    // SAFETY: a read-only global patched by the loader.
    unsafe { core::ptr::read_volatile(value) }
}

#[inline(always)]
pub(crate) fn bump(counter: Counter) {
    if let Some(slot) = COUNTERS.get_ptr_mut(counter as u32) {
        // SAFETY: per-CPU slot, and TC programs do not preempt each other on a CPU.
        unsafe { *slot += 1 };
    }
}

/// Parses, enforces and records one packet; returns the TC verdict.
#[inline(always)]
fn observe(ctx: &TcContext, direction: Direction) -> i32 {
    bump(Counter::PacketsSeen);
    let Some(record) = SCRATCH.get_ptr_mut(0) else {
        // Cannot happen for a 1-entry array; count it as a loss so the
        // seen == emitted + lost invariant still holds.
        bump(Counter::RecordsLost);
        return TC_ACT_UNSPEC;
    };
    // SAFETY: per-CPU scratch owned by this program invocation.
    let record = unsafe { &mut *record };
    let hdr = &mut record.header;
    zero_header(hdr);
    // SAFETY: bpf helper with no arguments.
    hdr.ts_ns = unsafe { bpf_ktime_get_ns() };
    hdr.direction = direction as u8;
    // SAFETY: the context pointer is valid for the program's run.
    let skb = unsafe { &*ctx.skb.skb };
    hdr.ifindex = skb.ifindex;
    hdr.pkt_len = skb.len;

    let payload_off = parse::parse_headers(ctx, skb, hdr);
    if hdr.status & sensor_common::record::status::MALFORMED != 0 {
        bump(Counter::PacketsUnparsed);
    }

    let mut captured: u32 = 0;
    if let Some(off) = payload_off
        && !body::skip_payload(hdr)
    {
        let want = min_u32(hdr.payload_len as u32, global(&SNAPLEN));
        captured = copy_payload(ctx, off, want, &mut record.payload);
    }
    record.header.captured_len = captured as u16;

    // The verdict is decided before the record is submitted so that the
    // record of a dropped packet says why it was dropped.
    let action = if enforce::check(&mut record.header, direction, captured) {
        TC_ACT_SHOT
    } else {
        TC_ACT_UNSPEC
    };

    // The record's length must be provably within the scratch value for the
    // verifier: `captured` is at most MAX_SNAPLEN by construction and masked.
    let len = RECORD_HEADER_LEN + (captured as usize & (2 * MAX_SNAPLEN - 1));
    if len > core::mem::size_of::<PacketRecord>() {
        bump(Counter::RecordsLost);
        return action;
    }
    // SAFETY: `len` is within the scratch record, checked above.
    let bytes =
        unsafe { core::slice::from_raw_parts((record as *const PacketRecord).cast::<u8>(), len) };

    // Header-only capture needs user space to see the end of a header block
    // quickly: the body region it then sets only helps the packets that
    // follow. So a TCP record that carries payload outside a known body wakes
    // the reader at once (at most once per interval per CPU); body packets
    // (captured 0) and everything else wait for the threshold or the poll.
    let wake_now = captured > 0 && body::wakes_reader(&record.header, record.header.ts_ns);
    match submit(bytes, wake_now) {
        Ok(()) => bump(Counter::RecordsEmitted),
        Err(_) => bump(Counter::RecordsLost),
    }
    action
}

/// Writes a record into this CPU's ring. Each arm names its map: the
/// verifier needs a constant map for each helper call.
#[inline(always)]
fn submit(bytes: &[u8], wake_now: bool) -> Result<(), i32> {
    // SAFETY: bpf helper with no arguments.
    let cpu = unsafe { bpf_get_smp_processor_id() };
    let rings = global(&RING_COUNT);
    let ring = if rings > 1 { cpu % rings } else { 0 };
    match ring {
        0 => emit(&EVENTS, bytes, wake_now),
        1 => emit(&EVENTS_1, bytes, wake_now),
        2 => emit(&EVENTS_2, bytes, wake_now),
        3 => emit(&EVENTS_3, bytes, wake_now),
        4 => emit(&EVENTS_4, bytes, wake_now),
        5 => emit(&EVENTS_5, bytes, wake_now),
        6 => emit(&EVENTS_6, bytes, wake_now),
        _ => emit(&EVENTS_7, bytes, wake_now),
    }
}

#[inline(always)]
fn emit(ring: &RingBuf, bytes: &[u8], wake_now: bool) -> Result<(), i32> {
    let flags = if wake_now || crosses_threshold(ring, bytes.len() as u64) {
        BPF_RB_FORCE_WAKEUP
    } else {
        BPF_RB_NO_WAKEUP
    };
    ring.output::<[u8]>(bytes, flags as u64)
}

/// Zeroes the record header with 8-byte stores. `*hdr = RecordHeader::ZERO`
/// compiles to a call to the linker's `memset`, which stores a byte at a
/// time: 104 iterations on every packet. Volatile, so LLVM does not fold the
/// stores back into that call.
#[inline(always)]
fn zero_header(hdr: &mut sensor_common::RecordHeader) {
    const SIZE: usize = core::mem::size_of::<sensor_common::RecordHeader>();
    const _: () = assert!(SIZE.is_multiple_of(8));
    const _: () = assert!(core::mem::align_of::<sensor_common::RecordHeader>() >= 8);
    let words = (hdr as *mut sensor_common::RecordHeader).cast::<u64>();
    for i in 0..SIZE / 8 {
        // SAFETY: within the header, 8-byte aligned (asserted above).
        unsafe { core::ptr::write_volatile(words.add(i), 0) };
    }
}

/// Whether this record of `len` bytes takes the unread data in `ring`
/// across the wakeup threshold. Only the crossing wakes the reader, which
/// then drains everything: waking it on every record while the data stays
/// above the threshold (a reader not yet scheduled) queued an irq_work, a
/// self-interrupt, per packet under load. A missed crossing costs at most
/// the reader's poll interval.
#[inline(always)]
fn crosses_threshold(ring: &RingBuf, len: u64) -> bool {
    let threshold = global(&WAKEUP_THRESHOLD);
    if threshold == 0 {
        return true;
    }
    let unread = ring.query(BPF_RB_AVAIL_DATA as u64);
    unread < threshold && unread + len >= threshold
}

#[inline(always)]
pub(crate) fn min_u32(a: u32, b: u32) -> u32 {
    if a < b { a } else { b }
}

/// Copies `want` payload bytes at `off` into `dst`, returning how many were
/// copied (0 on failure). The length is clamped in a form the verifier tracks.
#[inline(always)]
fn copy_payload(ctx: &TcContext, off: u32, want: u32, dst: &mut [u8; MAX_SNAPLEN]) -> u32 {
    let avail = ctx.len().saturating_sub(off);
    let mut n = min_u32(want, avail);
    if n == 0 {
        return 0;
    }
    if n > MAX_SNAPLEN as u32 {
        n = MAX_SNAPLEN as u32;
    }
    // SAFETY: `dst` holds MAX_SNAPLEN bytes and 1 <= n <= MAX_SNAPLEN.
    let ret = unsafe {
        aya_ebpf::helpers::bpf_skb_load_bytes(ctx.skb.skb.cast(), off, dst.as_mut_ptr().cast(), n)
    };
    if ret == 0 { n } else { 0 }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
