//! Link-layer header types (the tcpdump.org LINKTYPE_ registry).

/// A capture's link-layer type. Unknown values are kept so they can be
/// reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// BSD loopback: a 4-byte address family in host order.
    Null,
    /// Ethernet II / 802.3 (LINKTYPE_ETHERNET, 1).
    Ethernet,
    /// Raw IPv4 or IPv6, version from the first nibble (101, also 12/14 on some systems).
    Raw,
    /// Raw IPv4 (228).
    Ipv4,
    /// Raw IPv6 (229).
    Ipv6,
    /// Linux cooked capture v1 (113).
    LinuxSll,
    /// Linux cooked capture v2 (276).
    LinuxSll2,
    /// Anything else.
    Other(u32),
}

impl LinkType {
    /// Maps a LINKTYPE_ value (the FCS bits of pcap's field are masked off).
    pub fn from_u32(value: u32) -> LinkType {
        match value & 0x0fff_ffff {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            101 | 12 | 14 => LinkType::Raw,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            other => LinkType::Other(other),
        }
    }

    /// The LINKTYPE_ value, for writing files.
    pub fn to_u32(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
            LinkType::Other(v) => v,
        }
    }
}
