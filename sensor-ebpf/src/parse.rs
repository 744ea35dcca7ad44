//! Bounded header parsing for the classifier.
//!
//! Every header is read with `bpf_skb_load_bytes` (through `TcContext::load`),
//! which works on non-linear skbs and keeps the verifier's job simple. Loops
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
fn load_u8(ctx: &TcContext, off: u32) -> Option<u8> {
    ctx.load::<u8>(off as usize).ok()
}

#[inline(always)]
fn load_be16(ctx: &TcContext, off: u32) -> Option<u16> {
    ctx.load::<u16>(off as usize).ok().map(u16::from_be)
}

#[inline(always)]
fn load_be32(ctx: &TcContext, off: u32) -> Option<u32> {
    ctx.load::<u32>(off as usize).ok().map(u32::from_be)
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
    let mut ether_type = load_be16(ctx, 12)?;
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
        let tci = load_be16(ctx, off)?;
        if hdr.vlan_depth == 0 {
            hdr.vlan_id = tci & 0x0fff;
        }
        hdr.vlan_depth += 1;
        hdr.status |= status::VLAN;
        ether_type = load_be16(ctx, off + 2)?;
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
    let ver_ihl = load_u8(ctx, off)?;
    if ver_ihl >> 4 != 4 {
        return None;
    }
    let ihl = ((ver_ihl & 0x0f) as u32) * 4;
    if ihl < 20 {
        return None;
    }
    hdr.ip_version = 4;
    hdr.l3_hdr_len = ihl as u8;
    let total_len = load_be16(ctx, off + 2)?;
    hdr.ip_len = total_len;
    hdr.ip_id = load_be16(ctx, off + 4)?;
    let frag = load_be16(ctx, off + 6)?;
    hdr.ip_flags = ((frag >> 13) & 0x7) as u8;
    hdr.frag_offset = frag & 0x1fff;
    hdr.ttl = load_u8(ctx, off + 8)?;
    let proto = load_u8(ctx, off + 9)?;
    let src = load_be32(ctx, off + 12)?.to_be_bytes();
    let dst = load_be32(ctx, off + 16)?.to_be_bytes();
    hdr.src_addr[..4].copy_from_slice(&src);
    hdr.dst_addr[..4].copy_from_slice(&dst);
    hdr.protocol = proto;
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
    let ver = load_u8(ctx, off)?;
    if ver >> 4 != 6 {
        return None;
    }
    hdr.ip_version = 6;
    let payload_len = load_be16(ctx, off + 4)?;
    hdr.ip_len = payload_len.saturating_add(40);
    let mut next = load_u8(ctx, off + 6)?;
    hdr.ttl = load_u8(ctx, off + 7)?;
    let mut i = 0;
    while i < 4 {
        let w = load_be32(ctx, off + 8 + i * 4)?.to_be_bytes();
        hdr.src_addr[(i * 4) as usize..(i * 4 + 4) as usize].copy_from_slice(&w);
        let w = load_be32(ctx, off + 24 + i * 4)?.to_be_bytes();
        hdr.dst_addr[(i * 4) as usize..(i * 4 + 4) as usize].copy_from_slice(&w);
        i += 1;
    }
    let end = off + 40 + payload_len as u32;
    let mut cur = off + 40;
    hdr.protocol = next;
    for _ in 0..MAX_IPV6_EXT_HDRS {
        match next {
            IPPROTO_HOPOPTS | IPPROTO_ROUTING | IPPROTO_DSTOPTS | IPPROTO_MH => {
                let nh = load_u8(ctx, cur)?;
                let len = (load_u8(ctx, cur + 1)? as u32 + 1) * 8;
                next = nh;
                cur += len;
            }
            IPPROTO_AH => {
                let nh = load_u8(ctx, cur)?;
                let len = (load_u8(ctx, cur + 1)? as u32 + 2) * 4;
                next = nh;
                cur += len;
            }
            IPPROTO_FRAGMENT => {
                let nh = load_u8(ctx, cur)?;
                let fo = load_be16(ctx, cur + 2)?;
                hdr.frag_offset = fo >> 3;
                if fo & 1 != 0 {
                    hdr.ip_flags |= ip_flags::MF;
                }
                hdr.ip_id = (load_be32(ctx, cur + 4)? & 0xffff) as u16;
                next = nh;
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
            hdr.src_port = load_be16(ctx, off)?;
            hdr.dst_port = load_be16(ctx, off + 2)?;
            hdr.seq = load_be32(ctx, off + 4)?;
            hdr.ack = load_be32(ctx, off + 8)?;
            let doff = ((load_u8(ctx, off + 12)? >> 4) as u32) * 4;
            hdr.tcp_flags = load_u8(ctx, off + 13)?;
            hdr.window = load_be16(ctx, off + 14)?;
            if doff < 20 {
                return None;
            }
            doff
        }
        IPPROTO_UDP => {
            hdr.src_port = load_be16(ctx, off)?;
            hdr.dst_port = load_be16(ctx, off + 2)?;
            8
        }
        IPPROTO_ICMP | IPPROTO_ICMPV6 => {
            hdr.icmp_type = load_u8(ctx, off)?;
            hdr.icmp_code = load_u8(ctx, off + 1)?;
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
