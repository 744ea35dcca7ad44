//! Decoding frames: link layer, VLAN tags, IPv4/IPv6, fragments, transport.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sensor_common::Direction;

use crate::capture::Frame;
use crate::checksum;
use crate::defrag::{DefragConfig, DefragStats, Defragmenter, FragKey};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::linktype::LinkType;
use crate::packet::{
    ChecksumStatus, Fragment, IpVersion, Packet, TcpFlags, TcpHeader, Transport, VlanTags,
};

/// Decoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Verify IPv4 header and TCP/UDP/ICMP checksums. Packets with a bad
    /// checksum are still returned, marked in [`Packet::checksum`]; what to
    /// do with them is the caller's policy.
    pub verify_checksums: bool,
    /// Reassemble IP fragments. When off, fragments are returned as they are
    /// (the first with its transport header, the others as
    /// [`Transport::Fragment`]).
    pub reassemble_fragments: bool,
    /// Limits of fragment reassembly.
    pub defrag: DefragConfig,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            verify_checksums: true,
            reassemble_fragments: true,
            defrag: DefragConfig::default(),
        }
    }
}

/// Counters of a [`Decoder`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecoderStats {
    /// Frames given to the decoder.
    pub frames: u64,
    /// Packets returned.
    pub packets: u64,
    /// Frames that were not IP (ARP, LLDP, ...).
    pub not_ip: u64,
    /// Frames that failed to decode for another reason.
    pub errors: u64,
    /// Packets with a bad IP or transport checksum.
    pub bad_checksums: u64,
    /// Fragment reassembly counters.
    pub defrag: DefragStats,
}

/// Turns frames into [`Packet`]s. Holds the fragment reassembler, so one
/// decoder serves one capture (or one capture thread).
pub struct Decoder {
    options: DecodeOptions,
    defrag: Defragmenter,
    /// The last reassembled datagram; packets built from it borrow it.
    reassembled: Vec<u8>,
    stats: DecoderStats,
}

/// VLAN tags and ethertypes followed at most this deep.
const MAX_VLAN_DEPTH: u8 = 4;
/// IPv6 extension headers followed at most.
const MAX_EXT_HEADERS: usize = 8;

/// Link-layer result: where the network header starts and what it is.
struct L2 {
    offset: usize,
    ether_type: u16,
    vlan: VlanTags,
    direction: Option<Direction>,
}

/// Network-layer fields gathered before the transport is decoded.
struct L3 {
    version: IpVersion,
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    ttl: u8,
    ip_flags: u8,
    ip_id: u32,
    fragment: Option<Fragment>,
    ip_checksum_ok: bool,
}

impl Decoder {
    /// A decoder with the given options.
    pub fn new(options: DecodeOptions) -> Self {
        Decoder {
            options,
            defrag: Defragmenter::new(options.defrag),
            reassembled: Vec::new(),
            stats: DecoderStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> DecoderStats {
        DecoderStats {
            defrag: self.defrag.stats,
            ..self.stats
        }
    }

    /// Decodes one frame. `Ok(None)` means the frame was a fragment kept for
    /// reassembly; the completing fragment returns the whole datagram.
    #[inline]
    pub fn decode<'a>(&'a mut self, frame: &Frame<'a>) -> Result<Option<Packet<'a>>, DecodeError> {
        self.decode_bytes(
            frame.link_type,
            frame.ts_ns,
            frame.interface,
            frame.orig_len,
            frame.data,
        )
    }

    /// Decodes a frame given as parts.
    pub fn decode_bytes<'a>(
        &'a mut self,
        link_type: LinkType,
        ts_ns: u64,
        interface: u32,
        wire_len: u32,
        data: &'a [u8],
    ) -> Result<Option<Packet<'a>>, DecodeError> {
        self.stats.frames += 1;
        let result = decode_inner(
            &self.options,
            &mut self.defrag,
            &mut self.reassembled,
            link_type,
            ts_ns,
            interface,
            wire_len,
            data,
        );
        match &result {
            Ok(Some(p)) => {
                self.stats.packets += 1;
                if matches!(
                    p.checksum,
                    ChecksumStatus::BadIp | ChecksumStatus::BadTransport
                ) {
                    self.stats.bad_checksums += 1;
                }
            }
            Ok(None) => {}
            Err(e) if matches!(e.kind(), DecodeErrorKind::NotIp(_)) => self.stats.not_ip += 1,
            Err(_) => self.stats.errors += 1,
        }
        result
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn decode_inner<'a>(
    options: &DecodeOptions,
    defrag: &mut Defragmenter,
    reassembled: &'a mut Vec<u8>,
    link_type: LinkType,
    ts_ns: u64,
    interface: u32,
    wire_len: u32,
    data: &'a [u8],
) -> Result<Option<Packet<'a>>, DecodeError> {
    let l2 = parse_link(link_type, data)?;
    let net = &data[l2.offset..];
    let (l3, l4, l4_wire_len) = match l2.ether_type {
        0x0800 => parse_ipv4(net, options.verify_checksums)?,
        0x86dd => parse_ipv6(net)?,
        other => return Err(DecodeError::new(DecodeErrorKind::NotIp(other))),
    };
    let base = Packet {
        ts_ns,
        interface,
        direction: l2.direction,
        vlan: l2.vlan,
        ip_version: l3.version,
        src: l3.src,
        dst: l3.dst,
        protocol: l3.protocol,
        ttl: l3.ttl,
        ip_flags: l3.ip_flags,
        ip_id: l3.ip_id,
        fragment: l3.fragment,
        transport: Transport::Fragment,
        payload: &[],
        payload_len: 0,
        wire_len,
        checksum: if l3.ip_checksum_ok {
            ChecksumStatus::NotChecked
        } else {
            ChecksumStatus::BadIp
        },
    };
    let verify = options.verify_checksums && l3.ip_checksum_ok;
    if let Some(frag) = l3.fragment {
        if !options.reassemble_fragments {
            if frag.offset != 0 {
                return Ok(Some(Packet {
                    payload: l4,
                    payload_len: l4_wire_len,
                    ..base
                }));
            }
            return decode_transport(base, l4, l4_wire_len, false).map(Some);
        }
        if (l4.len() as u32) < l4_wire_len {
            // A fragment cut by the snap length cannot be reassembled.
            return Err(DecodeError::truncated("fragment"));
        }
        let key = FragKey {
            src: l3.src,
            dst: l3.dst,
            id: frag.id,
            protocol: if l3.version == IpVersion::V4 {
                l3.protocol
            } else {
                0
            },
        };
        let proto = (frag.offset == 0).then_some(l3.protocol);
        let Some(done) = defrag.insert(key, ts_ns, frag.offset, frag.more, proto, l4) else {
            return Ok(None);
        };
        *reassembled = done.payload;
        let protocol = done.protocol.unwrap_or(l3.protocol);
        let len = reassembled.len() as u32;
        let packet = Packet {
            protocol,
            fragment: Some(Fragment {
                offset: 0,
                more: false,
                reassembled: true,
                ..frag
            }),
            ..base
        };
        return decode_transport(packet, reassembled, len, verify).map(Some);
    }
    decode_transport(base, l4, l4_wire_len, verify).map(Some)
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn parse_link(link_type: LinkType, data: &[u8]) -> Result<L2, DecodeError> {
    match link_type {
        LinkType::Ethernet => {
            if data.len() < 14 {
                return Err(DecodeError::truncated("ethernet"));
            }
            follow_vlans(data, 14, be16(data, 12), None)
        }
        LinkType::LinuxSll => {
            if data.len() < 16 {
                return Err(DecodeError::truncated("linux cooked"));
            }
            follow_vlans(data, 16, be16(data, 14), Some(sll_direction(be16(data, 0))))
        }
        LinkType::LinuxSll2 => {
            if data.len() < 20 {
                return Err(DecodeError::truncated("linux cooked v2"));
            }
            follow_vlans(
                data,
                20,
                be16(data, 0),
                Some(sll_direction(u16::from(data[10]))),
            )
        }
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => {
            let ether_type = match data.first().map(|b| b >> 4) {
                Some(4) => 0x0800,
                Some(6) => 0x86dd,
                Some(_) => return Err(DecodeError::malformed("raw IP version")),
                None => return Err(DecodeError::truncated("ip")),
            };
            Ok(L2 {
                offset: 0,
                ether_type,
                vlan: VlanTags::default(),
                direction: None,
            })
        }
        LinkType::Null => {
            if data.len() < 4 {
                return Err(DecodeError::truncated("loopback"));
            }
            // The family is in the capturing host's byte order: accept both.
            let le = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
            let be = be32(data, 0);
            let ether_type = match (le, be) {
                (2, _) | (_, 2) => 0x0800,
                (24 | 28 | 30, _) | (_, 24 | 28 | 30) => 0x86dd,
                _ => return Err(DecodeError::new(DecodeErrorKind::NotIp(0))),
            };
            Ok(L2 {
                offset: 4,
                ether_type,
                vlan: VlanTags::default(),
                direction: None,
            })
        }
        LinkType::Other(v) => Err(DecodeError::new(DecodeErrorKind::UnsupportedLinkType(v))),
    }
}

/// SLL packet types: 4 is "sent by us", everything else was received.
fn sll_direction(pkttype: u16) -> Direction {
    if pkttype == 4 {
        Direction::Egress
    } else {
        Direction::Ingress
    }
}

/// Follows 802.1Q / 802.1ad (and the old 0x9100) tags from `offset`.
fn follow_vlans(
    data: &[u8],
    mut offset: usize,
    mut ether_type: u16,
    direction: Option<Direction>,
) -> Result<L2, DecodeError> {
    let mut vlan = VlanTags::default();
    while matches!(ether_type, 0x8100 | 0x88a8 | 0x9100) {
        if vlan.depth >= MAX_VLAN_DEPTH {
            return Err(DecodeError::new(DecodeErrorKind::TooManyHeaders));
        }
        if data.len() < offset + 4 {
            return Err(DecodeError::truncated("vlan"));
        }
        vlan.push(be16(data, offset) & 0x0fff);
        ether_type = be16(data, offset + 2);
        offset += 4;
    }
    Ok(L2 {
        offset,
        ether_type,
        vlan,
        direction,
    })
}

/// Parses an IPv4 header. Returns the fields, the captured L4 bytes (trimmed
/// of link padding) and the L4 length on the wire.
fn parse_ipv4(b: &[u8], verify: bool) -> Result<(L3, &[u8], u32), DecodeError> {
    if b.len() < 20 {
        return Err(DecodeError::truncated("ipv4"));
    }
    if b[0] >> 4 != 4 {
        return Err(DecodeError::malformed("ipv4 version"));
    }
    let ihl = usize::from(b[0] & 0x0f) * 4;
    if ihl < 20 {
        return Err(DecodeError::malformed("ipv4 header length"));
    }
    if b.len() < ihl {
        return Err(DecodeError::truncated("ipv4 options"));
    }
    let total = usize::from(be16(b, 2));
    if total < ihl {
        return Err(DecodeError::malformed("ipv4 total length"));
    }
    let ip_checksum_ok = !verify || checksum::verify(&b[..ihl], 0);
    let flags_frag = be16(b, 6);
    let offset = u32::from(flags_frag & 0x1fff) * 8;
    let more = flags_frag & 0x2000 != 0;
    let id = u32::from(be16(b, 4));
    let l3 = L3 {
        version: IpVersion::V4,
        src: IpAddr::V4(Ipv4Addr::new(b[12], b[13], b[14], b[15])),
        dst: IpAddr::V4(Ipv4Addr::new(b[16], b[17], b[18], b[19])),
        protocol: b[9],
        ttl: b[8],
        ip_flags: (flags_frag >> 13) as u8,
        ip_id: id,
        fragment: (more || offset != 0).then_some(Fragment {
            id,
            offset,
            more,
            reassembled: false,
        }),
        ip_checksum_ok,
    };
    // Trim Ethernet padding; keep what was captured when the snap length cut it.
    let end = total.min(b.len());
    Ok((l3, &b[ihl..end], (total - ihl) as u32))
}

/// Parses an IPv6 header and its extension headers.
fn parse_ipv6(b: &[u8]) -> Result<(L3, &[u8], u32), DecodeError> {
    if b.len() < 40 {
        return Err(DecodeError::truncated("ipv6"));
    }
    if b[0] >> 4 != 6 {
        return Err(DecodeError::malformed("ipv6 version"));
    }
    let payload_len = usize::from(be16(b, 4));
    if payload_len == 0 {
        // Jumbograms (RFC 2675) are not followed.
        return Err(DecodeError::malformed("ipv6 payload length 0"));
    }
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&b[8..24]);
    dst.copy_from_slice(&b[24..40]);
    let end = (40 + payload_len).min(b.len());
    let mut next = b[6];
    let mut at = 40;
    let mut fragment = None;
    let mut ip_flags = 0;
    let mut ip_id = 0;
    for _ in 0..=MAX_EXT_HEADERS {
        match next {
            // Hop-by-hop, routing, destination options, mobility, HIP, shim6.
            0 | 43 | 60 | 135 | 139 | 140 => {
                if end < at + 8 {
                    return Err(DecodeError::truncated("ipv6 extension header"));
                }
                let len = (usize::from(b[at + 1]) + 1) * 8;
                next = b[at];
                at += len;
                if at > end {
                    return Err(DecodeError::truncated("ipv6 extension header"));
                }
            }
            // Authentication header: length in 4-byte units minus 2.
            51 => {
                if end < at + 8 {
                    return Err(DecodeError::truncated("ipv6 authentication header"));
                }
                let len = (usize::from(b[at + 1]) + 2) * 4;
                next = b[at];
                at += len;
                if at > end {
                    return Err(DecodeError::truncated("ipv6 authentication header"));
                }
            }
            44 => {
                if end < at + 8 {
                    return Err(DecodeError::truncated("ipv6 fragment header"));
                }
                let off_flags = be16(b, at + 2);
                let id = be32(b, at + 4);
                let offset = u32::from(off_flags >> 3) * 8;
                let more = off_flags & 1 != 0;
                next = b[at];
                at += 8;
                ip_id = id;
                ip_flags = u8::from(more);
                if more || offset != 0 {
                    fragment = Some(Fragment {
                        id,
                        offset,
                        more,
                        reassembled: false,
                    });
                }
                // Anything after a non-first fragment header is fragment data.
                if offset != 0 {
                    break;
                }
            }
            _ => {
                let l3 = L3 {
                    version: IpVersion::V6,
                    src: IpAddr::V6(Ipv6Addr::from(src)),
                    dst: IpAddr::V6(Ipv6Addr::from(dst)),
                    protocol: next,
                    ttl: b[7],
                    ip_flags,
                    ip_id,
                    fragment,
                    ip_checksum_ok: true,
                };
                return Ok((l3, &b[at..end], (40 + payload_len - at) as u32));
            }
        }
    }
    if fragment.is_some_and(|f| f.offset != 0) {
        let l3 = L3 {
            version: IpVersion::V6,
            src: IpAddr::V6(Ipv6Addr::from(src)),
            dst: IpAddr::V6(Ipv6Addr::from(dst)),
            protocol: next,
            ttl: b[7],
            ip_flags,
            ip_id,
            fragment,
            ip_checksum_ok: true,
        };
        return Ok((l3, &b[at..end], (40 + payload_len - at) as u32));
    }
    Err(DecodeError::new(DecodeErrorKind::TooManyHeaders))
}

/// Decodes the transport header of `l4` into `base`. `wire_len` is the L4
/// length on the wire; checksums are verified only when all of it was captured.
#[inline(always)]
fn decode_transport<'a>(
    mut p: Packet<'a>,
    l4: &'a [u8],
    wire_len: u32,
    verify: bool,
) -> Result<Packet<'a>, DecodeError> {
    let complete = l4.len() as u32 == wire_len;
    let header_len = match p.protocol {
        6 => {
            if l4.len() < 20 {
                return Err(DecodeError::truncated("tcp"));
            }
            let hl = usize::from(l4[12] >> 4) * 4;
            if hl < 20 {
                return Err(DecodeError::malformed("tcp data offset"));
            }
            if l4.len() < hl || wire_len < hl as u32 {
                return Err(DecodeError::truncated("tcp options"));
            }
            p.transport = Transport::Tcp(TcpHeader {
                src_port: be16(l4, 0),
                dst_port: be16(l4, 2),
                seq: be32(l4, 4),
                ack: be32(l4, 8),
                flags: TcpFlags(l4[13]),
                window: be16(l4, 14),
                header_len: hl as u8,
            });
            hl
        }
        17 => {
            if l4.len() < 8 {
                return Err(DecodeError::truncated("udp"));
            }
            p.transport = Transport::Udp {
                src_port: be16(l4, 0),
                dst_port: be16(l4, 2),
            };
            8
        }
        1 | 58 => {
            if l4.len() < 4 {
                return Err(DecodeError::truncated("icmp"));
            }
            let (icmp_type, code) = (l4[0], l4[1]);
            p.transport = if p.protocol == 1 {
                Transport::Icmp { icmp_type, code }
            } else {
                Transport::Icmpv6 { icmp_type, code }
            };
            l4.len().min(8)
        }
        _ => {
            p.transport = Transport::Other;
            0
        }
    };
    if verify && complete && p.checksum == ChecksumStatus::NotChecked {
        let ok = match p.protocol {
            6 | 58 => checksum::verify(
                l4,
                checksum::pseudo_header(p.src, p.dst, p.protocol, wire_len),
            ),
            // A zero UDP checksum over IPv4 means "not computed".
            17 if p.ip_version == IpVersion::V4 && be16(l4, 6) == 0 => true,
            17 => checksum::verify(l4, checksum::pseudo_header(p.src, p.dst, 17, wire_len)),
            1 => checksum::verify(l4, 0),
            _ => true,
        };
        p.checksum = if ok {
            ChecksumStatus::Valid
        } else {
            ChecksumStatus::BadTransport
        };
    }
    p.payload = &l4[header_len..];
    p.payload_len = wire_len - header_len as u32;
    Ok(p)
}
