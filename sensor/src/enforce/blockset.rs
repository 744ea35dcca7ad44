//! A complete set of blocks, as a rule reload installs it.

use sensor_common::enforce::Side;

use super::{Cidr, Pattern, Protocol};

/// A blocked port on one side of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortBlock {
    pub protocol: Protocol,
    pub port: u16,
    /// Whether the packet's source or destination port is matched.
    pub side: Side,
}

/// Everything the kernel should block apart from flow verdicts: address
/// blocks, port blocks and first-packet patterns, each with the rule (sid)
/// it comes from. [`super::Enforcer::replace`] installs one atomically.
#[derive(Clone, Debug, Default)]
pub struct BlockSet {
    pub cidrs: Vec<(Side, Cidr, u32)>,
    pub ports: Vec<(PortBlock, u32)>,
    pub patterns: Vec<Pattern>,
}

impl BlockSet {
    /// Adds an address block.
    pub fn block_cidr(&mut self, side: Side, cidr: Cidr, sid: u32) -> &mut Self {
        self.cidrs.push((side, cidr, sid));
        self
    }

    /// Adds a port block.
    pub fn block_port(&mut self, protocol: Protocol, port: u16, side: Side, sid: u32) -> &mut Self {
        self.ports.push((
            PortBlock {
                protocol,
                port,
                side,
            },
            sid,
        ));
        self
    }

    /// Adds a first-packet pattern.
    pub fn block_pattern(&mut self, pattern: Pattern) -> &mut Self {
        self.patterns.push(pattern);
        self
    }
}
