//! Flows as the verdict map keys them.

use std::net::IpAddr;

use sensor_common::enforce::FlowKey;

/// Transport protocols that have ports to block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    /// The IP protocol number.
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
        }
    }
}

/// What the kernel does with the rest of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Drop every later packet, both directions.
    Drop,
    /// Let the flow through without running the pattern automaton on it:
    /// releases a flow whose kernel pattern hit the full rule did not confirm.
    Allow,
}

/// One direction of a flow: protocol, source and destination. Ports are 0
/// for ICMP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowTuple {
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, ...).
    pub protocol: u8,
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
}

impl FlowTuple {
    /// A TCP flow from `src:src_port` to `dst:dst_port`.
    pub fn tcp(src: IpAddr, src_port: u16, dst: IpAddr, dst_port: u16) -> FlowTuple {
        FlowTuple {
            protocol: 6,
            src,
            src_port,
            dst,
            dst_port,
        }
    }

    /// The same flow seen from the other end.
    pub fn reversed(&self) -> FlowTuple {
        FlowTuple {
            protocol: self.protocol,
            src: self.dst,
            src_port: self.dst_port,
            dst: self.src,
            dst_port: self.src_port,
        }
    }

    /// The kernel's key for this direction: addresses as the TC program
    /// records them (IPv4 in the first four bytes).
    pub(crate) fn key(&self) -> FlowKey {
        FlowKey {
            src_addr: addr_bytes(self.src),
            dst_addr: addr_bytes(self.dst),
            src_port: self.src_port,
            dst_port: self.dst_port,
            protocol: self.protocol,
            _pad: [0; 3],
        }
    }
}

fn addr_bytes(addr: IpAddr) -> [u8; 16] {
    let mut out = [0; 16];
    match addr {
        IpAddr::V4(a) => out[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => out = a.octets(),
    }
    out
}
