//! Bounded header parsing for the classifier.
//!
//! Each header is read whole with one `bpf_skb_load_bytes` call (through
//! `TcContext::load`) into a stack array and parsed from there: one helper call
//! per header instead of one per field, it works on non-linear skbs, and
//! constant indexes into a stack array keep the verifier's job simple. Loops
//! are bounded by constants so the verifier can unroll them.

use aya_ebpf::{bindings::__sk_buff, programs::TcContext};
use sensor_common::record::{RecordHeader, ip_flags, status};

const ETH_HLEN: u32 = 14;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;

const IPPROTO_HOPOPTS: u8 = 0;
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_ROUTING: u8 = 43;
const IPPROTO_FRAGMENT: u8 = 44;
const IPPROTO_AH: u8 = 51;
const IPPROTO_ICMPV6: u8 = 58;
const IPPROTO_DSTOPTS: u8 = 60;
const IPPROTO_MH: u8 = 135;

/// VLAN tags parsed from packet data (a tag the driver moved into skb
/// metadata is read from `__sk_buff` first and counts toward the same limit).
const MAX_VLAN_TAGS: u32 = 2;
/// IPv6 extension headers followed before giving up on reaching L4.
const MAX_IPV6_EXT_HDRS: u32 = 6;

#[inline(always)]
fn load<const N: usize>(ctx: &TcContext, off: u32) -> Option<[u8; N]> {
    ctx.load::<[u8; N]>(off as usize).ok()
}

#[inline(always)]
fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

#[inline(always)]
fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Parses L2..L4 into `hdr`. Returns the offset of the L4 payload when an L4
/// header was parsed; `hdr.payload_len` then holds its on-wire length.
#[inline(always)]
pub fn parse_headers(ctx: &TcContext, skb: &__sk_buff, hdr: &mut RecordHeader) -> Option<u32> {
    let r = parse_inner(ctx, skb, hdr);
    // Non-IP traffic (ARP, LLDP, ...) and unknown transports are not
    // malformed: only flag IP packets whose IP header, or the header of a
    // transport Vigil parses, was cut short or invalid.
    let is_ip = hdr.ether_type == ETH_P_IP || hdr.ether_type == ETH_P_IPV6;
    let known_l4 = matches!(
        hdr.protocol,
        IPPROTO_TCP | IPPROTO_UDP | IPPROTO_ICMP | IPPROTO_ICMPV6
    );
    let l4_done = hdr.status & (status::L4_PARSED | status::FRAGMENT | status::EXT_HDR_LIMIT) != 0;
    if is_ip && (hdr.status & status::L3_PARSED == 0 || (known_l4 && !l4_done)) {
        hdr.status |= status::MALFORMED;
    }
    r
}

#[inline(always)]
fn parse_inner(ctx: &TcContext, skb: &__sk_buff, hdr: &mut RecordHeader) -> Option<u32> {
    let mut off = ETH_HLEN;
    let mut ether_type = be16(&load::<2>(ctx, 12)?, 0);
    hdr.ether_type = ether_type;

    // A tag offloaded by the driver (or untagged by the stack before TC
    // ingress) lives in skb metadata, not in the packet data.
    if skb.vlan_present != 0 {
        hdr.vlan_id = (skb.vlan_tci & 0x0fff) as u16;
        hdr.vlan_depth = 1;
        hdr.status |= status::VLAN;
    }
    for _ in 0..MAX_VLAN_TAGS {
        if ether_type != ETH_P_8021Q && ether_type != ETH_P_8021AD {
            break;
        }
        let tag = load::<4>(ctx, off)?;
        if hdr.vlan_depth == 0 {
            hdr.vlan_id = be16(&tag, 0) & 0x0fff;
        }
        hdr.vlan_depth += 1;
        hdr.status |= status::VLAN;
        ether_type = be16(&tag, 2);
        off += 4;
    }
    hdr.ether_type = ether_type;

    let (l4_off, l3_end, proto) = match ether_type {
        ETH_P_IP => parse_ipv4(ctx, off, hdr)?,
        ETH_P_IPV6 => parse_ipv6(ctx, off, hdr)?,
        _ => return None,
    };
    hdr.status |= status::L3_PARSED;
    hdr.protocol = proto;
    parse_l4(ctx, l4_off, l3_end, proto, hdr)
}

/// Returns (L4 offset, end of the IP datagram, transport protocol).
#[inline(always)]
fn parse_ipv4(ctx: &TcContext, off: u32, hdr: &mut RecordHeader) -> Option<(u32, u32, u8)> {
    let ip = load::<20>(ctx, off)?;
    if ip[0] >> 4 != 4 {
        return None;
    }
    let ihl = ((ip[0] & 0x0f) as u32) * 4;
    if ihl < 20 {
        return None;
    }
    hdr.ip_version = 4;
    hdr.l3_hdr_len = ihl as u8;
    let total_len = be16(&ip, 2);
    hdr.ip_len = total_len;
    hdr.ip_id = be16(&ip, 4);
    let frag = be16(&ip, 6);
    hdr.ip_flags = ((frag >> 13) & 0x7) as u8;
    hdr.frag_offset = frag & 0x1fff;
    hdr.ttl = ip[8];
    let proto = ip[9];
    hdr.protocol = proto;
    hdr.src_addr[..4].copy_from_slice(&ip[12..16]);
    hdr.dst_addr[..4].copy_from_slice(&ip[16..20]);
    if (total_len as u32) < ihl {
        return None;
    }
    if hdr.frag_offset != 0 {
        // A later fragment: the transport header is in the first one.
        hdr.status |= status::FRAGMENT | status::L3_PARSED;
        return None;
    }
    Some((off + ihl, off + total_len as u32, proto))
}

#[inline(always)]
fn parse_ipv6(ctx: &TcContext, off: u32, hdr: &mut RecordHeader) -> Option<(u32, u32, u8)> {
    let ip = load::<40>(ctx, off)?;
    if ip[0] >> 4 != 6 {
        return None;
    }
    hdr.ip_version = 6;
    let payload_len = be16(&ip, 4);
    hdr.ip_len = payload_len.saturating_add(40);
    let mut next = ip[6];
    hdr.ttl = ip[7];
    hdr.src_addr.copy_from_slice(&ip[8..24]);
    hdr.dst_addr.copy_from_slice(&ip[24..40]);
    let end = off + 40 + payload_len as u32;
    let mut cur = off + 40;
    hdr.protocol = next;
    for _ in 0..MAX_IPV6_EXT_HDRS {
        match next {
            IPPROTO_HOPOPTS | IPPROTO_ROUTING | IPPROTO_DSTOPTS | IPPROTO_MH => {
                let ext = load::<2>(ctx, cur)?;
                next = ext[0];
                cur += (ext[1] as u32 + 1) * 8;
            }
            IPPROTO_AH => {
                let ext = load::<2>(ctx, cur)?;
                next = ext[0];
                cur += (ext[1] as u32 + 2) * 4;
            }
            IPPROTO_FRAGMENT => {
                let ext = load::<8>(ctx, cur)?;
                next = ext[0];
                let fo = be16(&ext, 2);
                hdr.frag_offset = fo >> 3;
                if fo & 1 != 0 {
                    hdr.ip_flags |= ip_flags::MF;
                }
                // The identification is 32 bits in IPv6; keep its low half.
                hdr.ip_id = (be32(&ext, 4) & 0xffff) as u16;
                cur += 8;
                if hdr.frag_offset != 0 {
                    hdr.protocol = next;
                    hdr.status |= status::FRAGMENT | status::L3_PARSED;
                    return None;
                }
            }
            _ => {
                hdr.l3_hdr_len = (cur - off).min(255) as u8;
                hdr.protocol = next;
                return Some((cur, end, next));
            }
        }
    }
    hdr.protocol = next;
    hdr.status |= status::EXT_HDR_LIMIT | status::L3_PARSED;
    None
}

#[inline(always)]
fn parse_l4(
    ctx: &TcContext,
    off: u32,
    l3_end: u32,
    proto: u8,
    hdr: &mut RecordHeader,
) -> Option<u32> {
    let l4_len = match proto {
        IPPROTO_TCP => {
            // One load for the whole header; when it is cut short, the
            // ports alone, so that the record still reports them.
            let Some(tcp) = load::<20>(ctx, off) else {
                let ports = load::<4>(ctx, off)?;
                hdr.src_port = be16(&ports, 0);
                hdr.dst_port = be16(&ports, 2);
                return None;
            };
            hdr.src_port = be16(&tcp, 0);
            hdr.dst_port = be16(&tcp, 2);
            hdr.seq = be32(&tcp, 4);
            hdr.ack = be32(&tcp, 8);
            let doff = ((tcp[12] >> 4) as u32) * 4;
            hdr.tcp_flags = tcp[13];
            hdr.window = be16(&tcp, 14);
            if doff < 20 {
                return None;
            }
            doff
        }
        IPPROTO_UDP => {
            let udp = load::<4>(ctx, off)?;
            hdr.src_port = be16(&udp, 0);
            hdr.dst_port = be16(&udp, 2);
            8
        }
        IPPROTO_ICMP | IPPROTO_ICMPV6 => {
            let icmp = load::<2>(ctx, off)?;
            hdr.icmp_type = icmp[0];
            hdr.icmp_code = icmp[1];
            8
        }
        _ => return None,
    };
    hdr.l4_hdr_len = l4_len as u8;
    let payload_off = off + l4_len;
    // The IP length, not skb->len, bounds the payload: Ethernet pads short
    // frames, and the padding is not payload.
    if payload_off > l3_end {
        return None;
    }
    hdr.status |= status::L4_PARSED;
    hdr.payload_len = (l3_end - payload_off).min(u16::MAX as u32) as u16;
    Some(payload_off)
}
