//! Which inputs a rule can apply to: input kind, transport, flow
//! direction, and its header (addresses, ports, `<>`). The engine uses
//! this to group rules; the reference evaluator calls it per rule.

use std::net::IpAddr;

use sensor_rules::ir::{
    AddressSet, Buffer, Direction, Expr, Field, FlowDirection, FlowState, PortSet, Predicate,
    Protocol, Rule,
};

use crate::input::{FlowDir, InputKind, PacketMeta};

/// Transport of a packet, for grouping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP or ICMPv6.
    Icmp,
    /// Anything else.
    Other,
}

impl Transport {
    /// Every transport, in index order.
    pub const ALL: [Transport; 4] = [
        Transport::Tcp,
        Transport::Udp,
        Transport::Icmp,
        Transport::Other,
    ];

    /// The transport of an IP protocol number.
    pub fn of(ip_proto: u8) -> Transport {
        match ip_proto {
            6 => Transport::Tcp,
            17 => Transport::Udp,
            1 | 58 => Transport::Icmp,
            _ => Transport::Other,
        }
    }

    /// A dense index (0..4).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Application protocols a rule's condition refers to.
#[derive(Default)]
struct Apps {
    http: bool,
    tls: bool,
    dns: bool,
}

fn buffer_app(b: &Buffer, apps: &mut Apps) {
    match b {
        Buffer::Payload => {}
        Buffer::TlsSni | Buffer::TlsAlpn => apps.tls = true,
        Buffer::DnsQuery => apps.dns = true,
        _ => apps.http = true,
    }
}

fn apps_of(e: &Expr) -> Apps {
    let mut apps = Apps::default();
    e.for_each_predicate(&mut |p| match p {
        Predicate::Buffer(b) => buffer_app(&b.buffer, &mut apps),
        Predicate::Field(f) => match &f.field {
            Field::UriLen
            | Field::UriLenRaw
            | Field::HttpStatus
            | Field::HttpRequest
            | Field::HttpResponse => apps.http = true,
            Field::TlsVersion | Field::TlsClientHello => apps.tls = true,
            Field::DnsType | Field::DnsRequest => apps.dns = true,
            Field::Buffer(b) => buffer_app(b, &mut apps),
            _ => {}
        },
    });
    apps
}

/// The input kinds a rule may match, indexed by [`InputKind::index`].
///
/// A rule is an application rule when its protocol is one (`http`, `tls`,
/// `dns`) or when it inspects an application buffer or field (Suricata
/// derives the application protocol the same way); otherwise it is a
/// packet rule.
pub(crate) fn kinds(rule: &Rule) -> [bool; 5] {
    let mut apps = apps_of(&rule.condition);
    match rule.header.protocol {
        Protocol::Http => apps.http = true,
        Protocol::Tls => apps.tls = true,
        Protocol::Dns => apps.dns = true,
        _ => {}
    }
    let packet = !(apps.http || apps.tls || apps.dns);
    [packet, apps.http, apps.http, apps.tls, apps.dns]
}

/// Whether the rule's protocol admits this transport.
pub(crate) fn transport_ok(p: Protocol, t: Transport) -> bool {
    match p {
        Protocol::Ip => true,
        Protocol::Tcp | Protocol::Http | Protocol::Tls => t == Transport::Tcp,
        Protocol::Udp => t == Transport::Udp,
        Protocol::Icmp => t == Transport::Icmp,
        Protocol::Dns => matches!(t, Transport::Tcp | Transport::Udp),
    }
}

/// Whether the `flow:` direction admits a packet direction.
pub(crate) fn direction_ok(want: Option<FlowDirection>, dir: FlowDir) -> bool {
    match want {
        None => true,
        Some(FlowDirection::ToServer) => dir == FlowDir::ToServer,
        Some(FlowDirection::ToClient) => dir == FlowDir::ToClient,
    }
}

/// Whether the `flow:` state admits the packet.
pub(crate) fn state_ok(want: Option<FlowState>, established: bool) -> bool {
    match want {
        None | Some(FlowState::Stateless) => true,
        Some(FlowState::Established) => established,
        Some(FlowState::NotEstablished) => !established,
    }
}

fn port_ok(set: &PortSet, port: Option<u16>) -> bool {
    set.is_full() || port.is_some_and(|p| set.contains(p))
}

/// A rule header compiled for the per-candidate check: `any` sides skip
/// their lookups.
#[derive(Debug)]
pub(crate) struct CHeader {
    src: Option<AddressSet>,
    dst: Option<AddressSet>,
    src_ports: Option<PortSet>,
    dst_ports: Option<PortSet>,
    both_ways: bool,
}

fn addr_ok(set: &Option<AddressSet>, a: IpAddr) -> bool {
    set.as_ref().is_none_or(|s| s.contains(a))
}

fn ports_ok(set: &Option<PortSet>, p: Option<u16>) -> bool {
    set.as_ref().is_none_or(|s| port_ok(s, p))
}

impl CHeader {
    pub(crate) fn new(rule: &Rule) -> Self {
        let h = &rule.header;
        let addr = |s: &AddressSet| (!s.is_any()).then(|| s.clone());
        let ports = |s: &PortSet| (!s.is_full()).then(|| s.clone());
        CHeader {
            src: addr(&h.src),
            dst: addr(&h.dst),
            src_ports: ports(&h.src_ports),
            dst_ports: ports(&h.dst_ports),
            both_ways: h.direction == Direction::Both,
        }
    }

    /// Whether the packet's addresses and ports fit, either way for `<>`.
    pub(crate) fn check(&self, m: &PacketMeta) -> bool {
        let forward = addr_ok(&self.src, m.src)
            && addr_ok(&self.dst, m.dst)
            && ports_ok(&self.src_ports, m.src_port)
            && ports_ok(&self.dst_ports, m.dst_port);
        forward
            || (self.both_ways
                && addr_ok(&self.src, m.dst)
                && addr_ok(&self.dst, m.src)
                && ports_ok(&self.src_ports, m.dst_port)
                && ports_ok(&self.dst_ports, m.src_port))
    }
}

/// Group key: where a packet's candidate rules are kept.
pub(crate) fn group_index(kind: InputKind, t: Transport, d: FlowDir) -> usize {
    (kind.index() * 4 + t.index()) * 3 + d.index()
}

/// Number of groups.
pub(crate) const GROUPS: usize = 5 * 4 * 3;

/// Inverse of [`group_index`].
pub(crate) fn group_key(i: usize) -> (InputKind, Transport, FlowDir) {
    (
        InputKind::ALL[i / 12],
        Transport::ALL[(i / 3) % 4],
        FlowDir::ALL[i % 3],
    )
}
