//! The record the TC program writes into the ring buffer for each packet.
//!
//! A record is a fixed [`RecordHeader`] followed by `captured_len` bytes of the
//! L4 payload (at most the snap length set at load time). Records are variable
//! length so that a 60-byte ACK costs 112 bytes of ring space (104-byte header, 8-byte
//! ring header), not a full snap.

/// Largest snap length the kernel program supports; the load-time snap length
/// is clamped to it. Bounds the per-CPU scratch buffer and the verifier's view
/// of the copy.
pub const MAX_SNAPLEN: usize = 4096;

/// Snap length when none is given: enough for the request line and headers of
/// typical HTTP requests, and for a TLS ClientHello.
pub const DEFAULT_SNAPLEN: u32 = 2048;

/// Ring buffers the classifier can write to: one per CPU up to this many
/// (CPU `c` writes to ring `c % rings`). Their maps are `EVENTS`, then
/// `EVENTS_1` to `EVENTS_7`.
pub const MAX_RINGS: usize = 8;

/// The ring maps' names, ring 0 first.
pub const RING_MAPS: [&str; MAX_RINGS] = [
    "EVENTS", "EVENTS_1", "EVENTS_2", "EVENTS_3", "EVENTS_4", "EVENTS_5", "EVENTS_6", "EVENTS_7",
];

/// Where the packet was seen.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Arriving at the interface (TC ingress).
    Ingress = 0,
    /// Leaving the interface (TC egress).
    Egress = 1,
}

impl Direction {
    /// Decodes the wire value; anything but 0 is egress.
    pub const fn from_u8(v: u8) -> Self {
        if v == 0 {
            Direction::Ingress
        } else {
            Direction::Egress
        }
    }
}

/// Bits of [`RecordHeader::status`].
pub mod status {
    /// An IPv4 or IPv6 header was parsed; the L3 fields are valid.
    pub const L3_PARSED: u8 = 1 << 0;
    /// A TCP, UDP or ICMP header was parsed; the L4 fields are valid.
    pub const L4_PARSED: u8 = 1 << 1;
    /// Parsing stopped at a truncated or malformed header.
    pub const MALFORMED: u8 = 1 << 2;
    /// A non-first IP fragment: no L4 header in this packet.
    pub const FRAGMENT: u8 = 1 << 3;
    /// IPv6 extension headers exceeded the kernel's bound; L4 not reached.
    pub const EXT_HDR_LIMIT: u8 = 1 << 4;
    /// The packet carried at least one VLAN tag.
    pub const VLAN: u8 = 1 << 5;
    /// The TC program dropped the packet (IPS mode); the record says why in
    /// `drop_reason` and which rule in `sid`.
    pub const DROPPED: u8 = 1 << 6;
    /// The payload was inside a body user space asked to skip: `captured_len`
    /// is 0 although `payload_len` is not (header-only capture).
    pub const BODY_SKIPPED: u8 = 1 << 7;
}

/// Bits of [`RecordHeader::ip_flags`] (IPv4 flags; IPv6 fragment header maps MF).
pub mod ip_flags {
    /// Reserved ("evil") bit.
    pub const RESERVED: u8 = 0b100;
    /// Don't fragment.
    pub const DF: u8 = 0b010;
    /// More fragments.
    pub const MF: u8 = 0b001;
}

/// Fixed part of every ring-buffer record. All multi-byte integers are in host
/// byte order (the kernel converts); addresses are in network order, IPv4 in
/// the first four bytes of the 16-byte arrays.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    /// `bpf_ktime_get_ns()` when the classifier ran (CLOCK_MONOTONIC).
    pub ts_ns: u64,
    /// Interface index the program is attached to.
    pub ifindex: u32,
    /// Length of the whole packet (`skb->len`), L2 included.
    pub pkt_len: u32,
    /// TCP sequence number.
    pub seq: u32,
    /// TCP acknowledgement number.
    pub ack: u32,
    /// Source address (IPv4 in the first 4 bytes).
    pub src_addr: [u8; 16],
    /// Destination address (IPv4 in the first 4 bytes).
    pub dst_addr: [u8; 16],
    /// Outermost EtherType after VLAN tags (0x0800, 0x86dd, 0x0806, ...).
    pub ether_type: u16,
    /// VLAN id of the outermost tag (0 when untagged).
    pub vlan_id: u16,
    /// TCP/UDP source port; 0 for ICMP, whose type and code have their own fields.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// IPv4 total length or IPv6 payload length + 40.
    pub ip_len: u16,
    /// Fragment offset in 8-byte units.
    pub frag_offset: u16,
    /// TCP window (unscaled).
    pub window: u16,
    /// Bytes of L4 payload on the wire in this packet.
    pub payload_len: u16,
    /// Bytes of L4 payload copied after this header (<= snap length).
    pub captured_len: u16,
    /// IPv4 identification (0 for IPv6 without a fragment header).
    pub ip_id: u16,
    /// [`Direction`] as u8.
    pub direction: u8,
    /// 4 or 6; 0 when no IP header was parsed.
    pub ip_version: u8,
    /// IP protocol / IPv6 next header of the transport (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
    pub protocol: u8,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// See [`ip_flags`].
    pub ip_flags: u8,
    /// TCP flags byte (FIN 0x01 ... CWR 0x80).
    pub tcp_flags: u8,
    /// ICMP/ICMPv6 type.
    pub icmp_type: u8,
    /// ICMP/ICMPv6 code.
    pub icmp_code: u8,
    /// Number of VLAN tags seen (0, 1 or 2).
    pub vlan_depth: u8,
    /// See [`status`].
    pub status: u8,
    /// IPv4 header length in bytes (20..60) or IPv6 header chain length.
    pub l3_hdr_len: u8,
    /// TCP header length in bytes, 8 for UDP and ICMP.
    pub l4_hdr_len: u8,
    /// Rule behind a drop ([`status::DROPPED`]); 0 otherwise.
    pub sid: u32,
    /// Pattern index in the automaton when `drop_reason` is
    /// [`crate::enforce::reason::PATTERN`]; 0 otherwise.
    pub pattern_id: u32,
    /// See [`crate::enforce::reason`].
    pub drop_reason: u8,
    /// Always zero; keeps the header a multiple of 8 bytes without padding.
    pub _reserved: [u8; 7],
}

/// Size in bytes of [`RecordHeader`].
pub const RECORD_HEADER_LEN: usize = core::mem::size_of::<RecordHeader>();

/// A record as the kernel assembles it in per-CPU scratch before submitting
/// `RECORD_HEADER_LEN + captured_len` bytes of it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PacketRecord {
    /// The fixed fields.
    pub header: RecordHeader,
    /// The first `header.captured_len` bytes of the L4 payload.
    pub payload: [u8; MAX_SNAPLEN],
}

impl RecordHeader {
    /// An all-zero header, the starting point the kernel fills in.
    pub const ZERO: RecordHeader = RecordHeader {
        ts_ns: 0,
        ifindex: 0,
        pkt_len: 0,
        seq: 0,
        ack: 0,
        src_addr: [0; 16],
        dst_addr: [0; 16],
        ether_type: 0,
        vlan_id: 0,
        src_port: 0,
        dst_port: 0,
        ip_len: 0,
        frag_offset: 0,
        window: 0,
        payload_len: 0,
        captured_len: 0,
        ip_id: 0,
        direction: 0,
        ip_version: 0,
        protocol: 0,
        ttl: 0,
        ip_flags: 0,
        tcp_flags: 0,
        icmp_type: 0,
        icmp_code: 0,
        vlan_depth: 0,
        status: 0,
        l3_hdr_len: 0,
        l4_hdr_len: 0,
        sid: 0,
        pattern_id: 0,
        drop_reason: 0,
        _reserved: [0; 7],
    };

    /// Reads a header from the start of a ring-buffer record, or `None` when
    /// the record is shorter than a header.
    pub fn read_from(bytes: &[u8]) -> Option<RecordHeader> {
        if bytes.len() < RECORD_HEADER_LEN {
            return None;
        }
        // SAFETY: RecordHeader is repr(C) plain data valid for any bit pattern,
        // and the length was checked; read_unaligned tolerates any alignment.
        Some(unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<RecordHeader>()) })
    }

    /// The header as bytes, for tests that build records the way the kernel does.
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: repr(C) with no padding (checked by a const assertion below),
        // so every byte is initialized.
        unsafe {
            core::slice::from_raw_parts(
                (self as *const RecordHeader).cast::<u8>(),
                RECORD_HEADER_LEN,
            )
        }
    }
}

// The layout has no padding, so `as_bytes` exposes no uninitialized memory and
// both sides compute the same offsets. 8+4*4+16*2+2*10+1*12 = 88, then the
// enforcement fields 4+4+1+7 = 16.
const _: () = assert!(RECORD_HEADER_LEN == 104);

#[cfg(feature = "user")]
// SAFETY: plain repr(C) data, valid for any bit pattern.
unsafe impl aya::Pod for RecordHeader {}
