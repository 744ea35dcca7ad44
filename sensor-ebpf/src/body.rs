//! Header-only capture: user space marks the body of a message in a flow
//! direction, and the classifier copies no payload of packets inside it.

use aya_ebpf::{macros::map, maps::LruHashMap};
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

/// Whether a record with payload should wake the reader at once: TCP
/// payload while header-only capture is on (a header block user space must
/// answer with a body region before the body has passed).
#[inline(always)]
pub fn wakes_reader(hdr: &RecordHeader) -> bool {
    global(&HEADER_ONLY) != 0 && hdr.protocol == IPPROTO_TCP
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
