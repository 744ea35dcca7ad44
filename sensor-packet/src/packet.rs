//! The decoded packet every source produces.

use std::net::{IpAddr, Ipv4Addr};

use sensor_common::Direction;

/// IP version of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpVersion {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// Up to two VLAN ids, outermost first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct VlanTags {
    /// VLAN ids (12 bits), outermost first; unused entries are 0.
    pub ids: [u16; 2],
    /// How many tags were seen (tags past the second are counted, not kept).
    pub depth: u8,
}

impl VlanTags {
    /// The outermost VLAN id, or 0 when untagged.
    pub fn outer(&self) -> u16 {
        self.ids[0]
    }

    pub(crate) fn push(&mut self, id: u16) {
        if usize::from(self.depth) < self.ids.len() {
            self.ids[usize::from(self.depth)] = id & 0x0fff;
        }
        self.depth = self.depth.saturating_add(1);
    }
}

/// TCP flag bits as on the wire (FIN 0x01 ... CWR 0x80).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: u8 = sensor_common::tcp::FIN;
    /// SYN.
    pub const SYN: u8 = sensor_common::tcp::SYN;
    /// RST.
    pub const RST: u8 = sensor_common::tcp::RST;
    /// PSH.
    pub const PSH: u8 = sensor_common::tcp::PSH;
    /// ACK.
    pub const ACK: u8 = sensor_common::tcp::ACK;
    /// URG.
    pub const URG: u8 = sensor_common::tcp::URG;
    /// ECE.
    pub const ECE: u8 = sensor_common::tcp::ECE;
    /// CWR.
    pub const CWR: u8 = sensor_common::tcp::CWR;

    /// True if every bit of `bits` is set.
    pub fn has(self, bits: u8) -> bool {
        self.0 & bits == bits
    }
    /// SYN set.
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    /// ACK set.
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    /// FIN set.
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    /// RST set.
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }

    /// The set flags' names, SYN first, as tcpdump orders them.
    ///
    /// ```
    /// use sensor_packet::TcpFlags;
    /// assert_eq!(TcpFlags(TcpFlags::SYN | TcpFlags::ACK).names().collect::<Vec<_>>(), ["SYN", "ACK"]);
    /// ```
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        const NAMES: [(u8, &str); 8] = [
            (TcpFlags::SYN, "SYN"),
            (TcpFlags::FIN, "FIN"),
            (TcpFlags::RST, "RST"),
            (TcpFlags::PSH, "PSH"),
            (TcpFlags::ACK, "ACK"),
            (TcpFlags::URG, "URG"),
            (TcpFlags::ECE, "ECE"),
            (TcpFlags::CWR, "CWR"),
        ];
        NAMES
            .into_iter()
            .filter(move |(bit, _)| self.0 & bit != 0)
            .map(|(_, n)| n)
    }
}

/// The TCP fields the pipeline needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpHeader {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Window (unscaled).
    pub window: u16,
    /// Header length in bytes, options included.
    pub header_len: u8,
}

/// The transport layer of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP.
    Tcp(TcpHeader),
    /// UDP.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
    },
    /// ICMP (IPv4).
    Icmp {
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
    },
    /// ICMPv6.
    Icmpv6 {
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
    },
    /// Another protocol (ESP, GRE, SCTP, ...); the payload is the IP payload.
    Other,
    /// A non-first fragment that was not reassembled: no transport header.
    Fragment,
}

/// Fragment information of the packet as captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// IPv4 identification or IPv6 fragment identification.
    pub id: u32,
    /// Offset of this fragment's data in bytes.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
    /// The packet was rebuilt from several fragments.
    pub reassembled: bool,
}

/// Whether checksums were verified and what was found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChecksumStatus {
    /// Not verified (disabled, truncated by the snap length, or the kernel path).
    #[default]
    NotChecked,
    /// IP header and transport checksums are correct.
    Valid,
    /// The IPv4 header checksum is wrong.
    BadIp,
    /// The TCP, UDP or ICMP checksum is wrong.
    BadTransport,
}

/// A decoded packet: L3/L4 fields and the L4 payload.
///
/// The payload is borrowed: from the capture reader's buffer, the kernel
/// record, or the decoder's reassembly buffer.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// Timestamp in nanoseconds: Unix epoch for files, CLOCK_MONOTONIC for
    /// kernel records.
    pub ts_ns: u64,
    /// Interface (pcapng interface id, or kernel ifindex).
    pub interface: u32,
    /// Direction when the source knows it (kernel hook, SLL packet type).
    pub direction: Option<Direction>,
    /// VLAN tags.
    pub vlan: VlanTags,
    /// IP version.
    pub ip_version: IpVersion,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol number of the transport (after IPv6 extension headers).
    pub protocol: u8,
    /// TTL or hop limit.
    pub ttl: u8,
    /// IPv4 flags (see `sensor_common::record::ip_flags`); MF for IPv6 fragments.
    pub ip_flags: u8,
    /// IPv4 identification (0 for IPv6 unless fragmented).
    pub ip_id: u32,
    /// Set when the packet was a fragment.
    pub fragment: Option<Fragment>,
    /// Transport header.
    pub transport: Transport,
    /// L4 payload as captured (may be shorter than `payload_len`).
    pub payload: &'a [u8],
    /// L4 payload length on the wire.
    pub payload_len: u32,
    /// Frame length on the wire.
    pub wire_len: u32,
    /// Checksum verification result.
    pub checksum: ChecksumStatus,
}

impl Packet<'_> {
    /// Source port (0 for protocols without ports).
    pub fn src_port(&self) -> u16 {
        match self.transport {
            Transport::Tcp(t) => t.src_port,
            Transport::Udp { src_port, .. } => src_port,
            _ => 0,
        }
    }

    /// Destination port (0 for protocols without ports).
    pub fn dst_port(&self) -> u16 {
        match self.transport {
            Transport::Tcp(t) => t.dst_port,
            Transport::Udp { dst_port, .. } => dst_port,
            _ => 0,
        }
    }

    /// The TCP header, if this is TCP.
    pub fn tcp(&self) -> Option<&TcpHeader> {
        match &self.transport {
            Transport::Tcp(t) => Some(t),
            _ => None,
        }
    }

    /// ICMP or ICMPv6 type and code.
    pub fn icmp(&self) -> Option<(u8, u8)> {
        match self.transport {
            Transport::Icmp { icmp_type, code } | Transport::Icmpv6 { icmp_type, code } => {
                Some((icmp_type, code))
            }
            _ => None,
        }
    }

    /// True when the payload was cut by a snap length.
    pub fn payload_truncated(&self) -> bool {
        (self.payload.len() as u32) < self.payload_len
    }

    /// A packet with no addresses, used as a template by tests and builders.
    pub fn empty() -> Packet<'static> {
        Packet {
            ts_ns: 0,
            interface: 0,
            direction: None,
            vlan: VlanTags::default(),
            ip_version: IpVersion::V4,
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            protocol: 0,
            ttl: 0,
            ip_flags: 0,
            ip_id: 0,
            fragment: None,
            transport: Transport::Other,
            payload: &[],
            payload_len: 0,
            wire_len: 0,
            checksum: ChecksumStatus::NotChecked,
        }
    }
}
