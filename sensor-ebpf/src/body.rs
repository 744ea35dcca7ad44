//! Header-only capture: user space marks the body of a message in a flow
//! direction, and the classifier copies no payload of packets inside it.

use aya_ebpf::{
    macros::map,
    maps::{LruHashMap, PerCpuArray},
};
use sensor_common::{Counter, RecordHeader, enforce::BodySkip, record::status};

use crate::{bump, enforce::flow_key, global};

/// 1 when header-only capture is on; set at load time. At 0 the classifier
/// does no lookup here.
#[unsafe(no_mangle)]
static HEADER_ONLY: u8 = 0;

/// Body regions per flow direction. Sized at load time.
#[map]
static BODY_SKIP: LruHashMap<sensor_common::enforce::FlowKey, BodySkip> =
    LruHashMap::with_max_entries(1, 0);

const IPPROTO_TCP: u8 = 6;

/// Least time between two wakeups forced by header blocks, per CPU, in ns;
/// set at load time. A forced wakeup queues an irq_work (a self-interrupt)
/// and wakes the reader's thread: about 5 µs per packet on a VM when every
/// TCP payload record forced one, halving request throughput. One per
/// interval still bounds how late a busy reader sees a header block.
#[unsafe(no_mangle)]
static HEADER_WAKE_INTERVAL_NS: u64 = 1_000_000;

/// Slot 0: when this CPU last forced a wakeup for a header block (ns).
#[map]
static LAST_HEADER_WAKE: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

/// Whether a record with payload, of a packet seen at `now` (ns), should
/// wake the reader at once: TCP payload while header-only capture is on (a
/// header block user space must answer with a body region before the body
/// has passed), at most once per [`HEADER_WAKE_INTERVAL_NS`] on this CPU.
#[inline(always)]
pub fn wakes_reader(hdr: &RecordHeader, now: u64) -> bool {
    if global(&HEADER_ONLY) == 0 || hdr.protocol != IPPROTO_TCP {
        return false;
    }
    let Some(last) = LAST_HEADER_WAKE.get_ptr_mut(0) else {
        return true;
    };
    // SAFETY: per-CPU slot, and TC programs do not preempt each other on a CPU.
    let last = unsafe { &mut *last };
    if now.wrapping_sub(*last) < global(&HEADER_WAKE_INTERVAL_NS) {
        return false;
    }
    *last = now;
    true
}

/// Whether the packet's payload lies inside a body to skip; flags the header
/// if so. Forgets the region once a packet starts past its end.
#[inline(always)]
pub fn skip_payload(hdr: &mut RecordHeader) -> bool {
    if global(&HEADER_ONLY) == 0 || hdr.protocol != IPPROTO_TCP || hdr.payload_len == 0 {
        return false;
    }
    let key = flow_key(hdr);
    let Some(region) = BODY_SKIP.get_ptr(key) else {
        return false;
    };
    // SAFETY: a map value pointer, valid for this program run.
    let region = unsafe { *region };
    let offset = hdr.seq.wrapping_sub(region.body_seq);
    // Serial-number arithmetic: an offset with the top bit set is before the
    // body (an old retransmission): capture it.
    if offset >= 1 << 31 {
        return false;
    }
    if offset >= region.body_len {
        let _ = BODY_SKIP.remove(key);
        return false;
    }
    if offset + hdr.payload_len as u32 > region.body_len {
        // The next message starts in this packet: capture it whole.
        return false;
    }
    hdr.status |= status::BODY_SKIPPED;
    bump(Counter::BodySkipped);
    true
}
