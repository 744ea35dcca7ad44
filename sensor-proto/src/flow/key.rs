//! The direction-independent flow key.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use sensor_packet::{Packet, Transport};

/// A 5-tuple plus the outer VLAN id, ordered so that both directions of a
/// connection produce the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    /// The lower (address, port) endpoint.
    pub lo: (IpAddr, u16),
    /// The higher (address, port) endpoint.
    pub hi: (IpAddr, u16),
    /// IP protocol.
    pub protocol: u8,
    /// Outer VLAN id (0 when untagged).
    pub vlan: u16,
}

impl FlowKey {
    /// The key of `packet`, and whether the packet goes from `lo` to `hi`.
    /// ICMP flows are keyed by addresses only: echo requests and replies,
    /// and errors between two hosts, share a flow.
    pub fn of(packet: &Packet<'_>) -> (FlowKey, bool) {
        let (sp, dp) = match packet.transport {
            Transport::Tcp(t) => (t.src_port, t.dst_port),
            Transport::Udp { src_port, dst_port } => (src_port, dst_port),
            _ => (0, 0),
        };
        let a = (packet.src, sp);
        let b = (packet.dst, dp);
        let forward = a <= b;
        let (lo, hi) = if forward { (a, b) } else { (b, a) };
        (
            FlowKey {
                lo,
                hi,
                protocol: packet.protocol,
                vlan: packet.vlan.outer(),
            },
            forward,
        )
    }
}

fn addr_bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(a.to_bits()),
        IpAddr::V6(a) => a.to_bits(),
    }
}

/// Three word writes instead of the derived per-field, per-byte hashing:
/// the lookup is on the per-packet path. Equal keys hash alike because the
/// fields determine the words (an IPv4 address and an IPv6 address equal in
/// bits differ in `Eq`, which is fine: a collision, not an error).
impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u128(addr_bits(self.lo.0));
        state.write_u128(addr_bits(self.hi.0));
        state.write_u64(
            u64::from(self.lo.1)
                | u64::from(self.hi.1) << 16
                | u64::from(self.protocol) << 32
                | u64::from(self.vlan) << 40,
        );
    }
}
