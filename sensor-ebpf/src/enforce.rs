//! IPS mode: the block maps the classifier consults for every packet, and
//! the verdict it reaches. See `sensor_common::enforce` for the layouts and
//! for how generations make rule reloads atomic.

use aya_ebpf::{
    macros::map,
    maps::{Array, HashMap, LpmTrie, LruHashMap, lpm_trie::Key},
};
use sensor_common::{
    Counter, Direction, RecordHeader,
    enforce::{
        ActiveState, Bank, CIDR_KEY_PREFIX_BITS, CidrKey, FlowKey, FlowVerdict, PortKey, Side,
        action, blocks, directions, reason,
    },
    record::status,
};

use crate::{bump, dfa, global};

/// 1 in IPS mode; set at load time. At 0 (IDS) the classifier does no map
/// lookup here and drops nothing: the verifier prunes the whole path.
#[unsafe(no_mangle)]
static ENFORCE: u8 = 0;

/// Directions whose payload the pattern automaton inspects
/// (`sensor_common::enforce::directions`); set at load time.
#[unsafe(no_mangle)]
static PATTERN_DIRECTIONS: u8 = directions::INGRESS;

/// Payload bytes of a packet the automaton inspects at most (0: all that
/// was captured); set at load time. Bounds the automaton's cost per packet.
#[unsafe(no_mangle)]
static PATTERN_DEPTH: u32 = 0;

/// Slot 0: the generation in force.
#[map]
static ACTIVE: Array<ActiveState> = Array::with_max_entries(1, 0);

/// Per bank (`generation & 1`): which maps hold entries, and the automaton.
#[map]
static BANKS: Array<Bank> = Array::with_max_entries(2, 0);

/// Blocked source CIDRs -> sid. Sized at load time.
#[map]
static CIDR_SRC: LpmTrie<CidrKey, u32> = LpmTrie::with_max_entries(2, 0);

/// Blocked destination CIDRs -> sid. Sized at load time.
#[map]
static CIDR_DST: LpmTrie<CidrKey, u32> = LpmTrie::with_max_entries(2, 0);

/// Blocked (protocol, port, side) -> sid. Sized at load time.
#[map]
static PORTS: HashMap<PortKey, u32> = HashMap::with_max_entries(2, 0);

/// Flow verdicts, one entry per direction; least recently used entries go
/// first when full, so verdicts of finished flows expire by themselves.
#[map]
static FLOWS: LruHashMap<FlowKey, FlowVerdict> = LruHashMap::with_max_entries(2, 0);

const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// The packet's flow key in its own direction.
#[inline(always)]
pub fn flow_key(hdr: &RecordHeader) -> FlowKey {
    let mut key = FlowKey {
        src_addr: hdr.src_addr,
        dst_addr: hdr.dst_addr,
        src_port: hdr.src_port,
        dst_port: hdr.dst_port,
        protocol: hdr.protocol,
        _pad: [0; 3],
    };
    // The padding again, one volatile store per byte: a `[0; 3]` alone
    // compiles to a call to the linker's byte-looping `memset`.
    for byte in &mut key._pad {
        // SAFETY: a byte of a local.
        unsafe { core::ptr::write_volatile(byte, 0) };
    }
    key
}

/// Decides whether to drop the packet `hdr` describes, whose first `captured`
/// payload bytes are in the scratch record. On a drop, flags the header with
/// the reason and rule, counts it, and returns true.
#[inline(always)]
pub fn check(hdr: &mut RecordHeader, direction: Direction, captured: u32) -> bool {
    if global(&ENFORCE) == 0 || hdr.status & status::L3_PARSED == 0 {
        return false;
    }
    let Some(active) = ACTIVE.get(0) else {
        return false;
    };
    let generation = active.generation;
    let Some(bank) = BANKS.get(generation & 1) else {
        return false;
    };
    let present = bank.blocks;

    let key = flow_key(hdr);
    let mut allowed = false;
    if present & blocks::FLOWS != 0
        && let Some(verdict) = FLOWS.get_ptr(key)
    {
        // SAFETY: a map value pointer, valid for this program run.
        let verdict = unsafe { *verdict };
        if verdict.action == action::DROP {
            return drop(hdr, reason::FLOW, verdict.sid, 0, Counter::DroppedFlow);
        }
        allowed = verdict.action == action::ALLOW;
    }

    if present & blocks::CIDR_SRC != 0
        && let Some(sid) = lookup_cidr(&CIDR_SRC, generation, hdr.ip_version, &hdr.src_addr)
    {
        return drop(hdr, reason::CIDR_SRC, sid, 0, Counter::DroppedCidr);
    }
    if present & blocks::CIDR_DST != 0
        && let Some(sid) = lookup_cidr(&CIDR_DST, generation, hdr.ip_version, &hdr.dst_addr)
    {
        return drop(hdr, reason::CIDR_DST, sid, 0, Counter::DroppedCidr);
    }

    let proto = hdr.protocol;
    let has_ports =
        hdr.status & status::L4_PARSED != 0 && (proto == IPPROTO_TCP || proto == IPPROTO_UDP);
    if !has_ports {
        return false;
    }
    let port_sides = if present & blocks::PORTS != 0 { 2 } else { 0 };
    for (port, side) in [(hdr.src_port, Side::Src), (hdr.dst_port, Side::Dst)]
        .into_iter()
        .take(port_sides)
    {
        let key = PortKey {
            generation,
            port,
            protocol: proto,
            side: side as u8,
        };
        // SAFETY: a u32 value, copied out at once.
        if let Some(&sid) = unsafe { PORTS.get(key) } {
            return drop(hdr, reason::PORT, sid, 0, Counter::DroppedPort);
        }
    }

    let dir_bit = match direction {
        Direction::Ingress => directions::INGRESS,
        Direction::Egress => directions::EGRESS,
    };
    if captured == 0 || global(&PATTERN_DIRECTIONS) & dir_bit == 0 {
        return false;
    }
    if allowed {
        // User space released this flow after a kernel hit its full rule
        // check did not confirm: skip the automaton.
        bump(Counter::PatternReleased);
        return false;
    }
    let depth = global(&PATTERN_DEPTH);
    let len = if depth != 0 && depth < captured {
        depth
    } else {
        captured
    };
    if let Some(hit) = dfa::scan(hdr, &key, generation, bank, len) {
        return drop(
            hdr,
            reason::PATTERN,
            hit.sid,
            hit.pattern,
            Counter::DroppedPattern,
        );
    }
    false
}

#[inline(always)]
fn drop(hdr: &mut RecordHeader, why: u8, sid: u32, pattern: u32, counter: Counter) -> bool {
    hdr.status |= status::DROPPED;
    hdr.drop_reason = why;
    hdr.sid = sid;
    hdr.pattern_id = pattern;
    bump(counter);
    true
}

#[inline(always)]
fn lookup_cidr(
    trie: &LpmTrie<CidrKey, u32>,
    generation: u32,
    ip_version: u8,
    addr: &[u8; 16],
) -> Option<u32> {
    // An IPv4 address fills the first 4 bytes of the header's field and the
    // rest is zero (the header is zeroed before parsing), so the field is the
    // key as it is: no zeroing here (which would be a call to the linker's
    // byte-looping `memset`).
    let data = CidrKey {
        generation: generation.to_be_bytes(),
        family: ip_version,
        addr: *addr,
    };
    let bits = if ip_version == 4 { 32 } else { 128 };
    let key = Key::new(CIDR_KEY_PREFIX_BITS + bits, data);
    trie.get(&key).copied()
}
