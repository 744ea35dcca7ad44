//! Packets from the kernel's ring-buffer records.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sensor_common::Direction;
use sensor_common::record::{RECORD_HEADER_LEN, RecordHeader, status};

use crate::error::{DecodeError, DecodeErrorKind};
use crate::packet::{
    ChecksumStatus, Fragment, IpVersion, Packet, TcpFlags, TcpHeader, Transport, VlanTags,
};

impl<'a> Packet<'a> {
    /// Builds a packet from one ring-buffer record: a
    /// [`RecordHeader`] followed by `captured_len` payload bytes.
    ///
    /// The kernel already parsed the headers, so no checksum is verified and
    /// fragments are not reassembled (non-first fragments come as
    /// [`Transport::Fragment`]).
    pub fn from_kernel_record(bytes: &'a [u8]) -> Result<Packet<'a>, DecodeError> {
        let h = RecordHeader::read_from(bytes).ok_or(DecodeError::truncated("kernel record"))?;
        let captured = usize::from(h.captured_len);
        let payload = bytes
            .get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + captured)
            .ok_or(DecodeError::truncated("kernel record payload"))?;
        if h.status & status::L3_PARSED == 0 {
            return Err(DecodeError::new(DecodeErrorKind::NoL3));
        }
        let (ip_version, src, dst) = match h.ip_version {
            4 => {
                let s = &h.src_addr;
                let d = &h.dst_addr;
                (
                    IpVersion::V4,
                    IpAddr::V4(Ipv4Addr::new(s[0], s[1], s[2], s[3])),
                    IpAddr::V4(Ipv4Addr::new(d[0], d[1], d[2], d[3])),
                )
            }
            6 => (
                IpVersion::V6,
                IpAddr::V6(Ipv6Addr::from(h.src_addr)),
                IpAddr::V6(Ipv6Addr::from(h.dst_addr)),
            ),
            _ => return Err(DecodeError::malformed("kernel record ip version")),
        };
        let is_fragment = h.status & status::FRAGMENT != 0
            || h.frag_offset != 0
            || h.ip_flags & sensor_common::record::ip_flags::MF != 0;
        let fragment = is_fragment.then_some(Fragment {
            id: u32::from(h.ip_id),
            offset: u32::from(h.frag_offset) * 8,
            more: h.ip_flags & sensor_common::record::ip_flags::MF != 0,
            reassembled: false,
        });
        let transport = if h.status & status::L4_PARSED == 0 {
            Transport::Fragment
        } else {
            match h.protocol {
                6 => Transport::Tcp(TcpHeader {
                    src_port: h.src_port,
                    dst_port: h.dst_port,
                    seq: h.seq,
                    ack: h.ack,
                    flags: TcpFlags(h.tcp_flags),
                    window: h.window,
                    header_len: h.l4_hdr_len,
                }),
                17 => Transport::Udp {
                    src_port: h.src_port,
                    dst_port: h.dst_port,
                },
                1 => Transport::Icmp {
                    icmp_type: h.icmp_type,
                    code: h.icmp_code,
                },
                58 => Transport::Icmpv6 {
                    icmp_type: h.icmp_type,
                    code: h.icmp_code,
                },
                _ => Transport::Other,
            }
        };
        let mut vlan = VlanTags::default();
        if h.status & status::VLAN != 0 || h.vlan_depth > 0 {
            vlan.push(h.vlan_id);
            vlan.depth = h.vlan_depth.max(1);
        }
        Ok(Packet {
            ts_ns: h.ts_ns,
            interface: h.ifindex,
            direction: Some(Direction::from_u8(h.direction)),
            vlan,
            ip_version,
            src,
            dst,
            protocol: h.protocol,
            ttl: h.ttl,
            ip_flags: h.ip_flags,
            ip_id: u32::from(h.ip_id),
            fragment,
            transport,
            payload,
            payload_len: u32::from(h.payload_len).max(captured as u32),
            wire_len: h.pkt_len,
            checksum: ChecksumStatus::NotChecked,
        })
    }
}
