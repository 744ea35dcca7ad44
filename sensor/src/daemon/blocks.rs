//! Drop rules compiled into what the kernel can enforce on its own: the
//! literal patterns of drop rules that inspect the request, walked by the TC
//! program's automaton so the packet carrying an attack never reaches the
//! server. The kernel's automaton is a first pass: a packet it drops is
//! checked by the full rule in user space, and released if the rule does not
//! confirm it (see `live.rs`).

use std::sync::Arc;

use arc_swap::ArcSwap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sensor_rules::ir::{
    Action, AddressSet, Buffer, Direction, Expr, Protocol as RuleProtocol, Rule,
};

use crate::enforce::{BlockSet, Cidr, CompiledDfa, Pattern, Protocol, Side};

/// An address set that decomposes into more prefixes than this (a negation,
/// an odd range) is left to flow verdicts rather than filling the tries.
const MAX_CIDRS_PER_RULE: usize = 64;

/// A port set larger than this (a wide range) is left to flow verdicts
/// rather than filling the port hash.
const MAX_PORTS_PER_RULE: usize = 64;

/// Patterns shorter than this would drop too much benign traffic for the
/// user-space check to release; such rules are enforced by flow verdict only.
const MIN_PATTERN_LEN: usize = 4;

/// Whether a buffer's bytes appear as such in the client's raw payload, so
/// a literal of it can be searched there.
fn in_request_payload(buffer: &Buffer) -> bool {
    matches!(
        buffer,
        Buffer::Payload
            | Buffer::HttpMethod
            | Buffer::HttpUri
            | Buffer::HttpUriRaw
            | Buffer::HttpHost
            | Buffer::HttpHostRaw
            | Buffer::HttpUserAgent
            | Buffer::HttpHeader
            | Buffer::HttpHeaderRaw
            | Buffer::HttpHeaderNamed(_)
            | Buffer::HttpHeaderName
            | Buffer::HttpHeaderValue
            | Buffer::HttpCookie
            | Buffer::HttpRequestLine
            | Buffer::TlsSni
    )
}

/// The smallest list of prefixes covering `lo..=hi` (`bits`-wide addresses).
fn range_to_prefixes(mut lo: u128, hi: u128, bits: u32, out: &mut Vec<(u128, u8)>) {
    loop {
        // The largest block aligned at `lo` that stays within the range.
        let mut size = if lo == 0 {
            bits
        } else {
            lo.trailing_zeros().min(bits)
        };
        while size > 0 && (size >= 128 || lo + ((1u128 << size) - 1) > hi) {
            size -= 1;
        }
        out.push((lo, (bits - size) as u8));
        if size >= 128 {
            return;
        }
        match lo.checked_add(1u128 << size) {
            Some(next) if next <= hi => lo = next,
            _ => return,
        }
    }
}

/// The prefixes of an address set, or `None` when there are too many.
fn cidrs(set: &AddressSet) -> Option<Vec<Cidr>> {
    let mut prefixes = Vec::new();
    for r in set.v4.ranges() {
        let mut p = Vec::new();
        range_to_prefixes(u128::from(*r.start()), u128::from(*r.end()), 32, &mut p);
        prefixes.extend(
            p.into_iter()
                .map(|(a, l)| (IpAddr::V4(Ipv4Addr::from(a as u32)), l)),
        );
    }
    for r in set.v6.ranges() {
        let mut p = Vec::new();
        range_to_prefixes(*r.start(), *r.end(), 128, &mut p);
        prefixes.extend(
            p.into_iter()
                .map(|(a, l)| (IpAddr::V6(Ipv6Addr::from(a)), l)),
        );
    }
    if prefixes.len() > MAX_CIDRS_PER_RULE {
        return None;
    }
    prefixes
        .into_iter()
        .map(|(a, l)| Cidr::new(a, l).ok())
        .collect()
}

fn other_side(side: Side) -> Side {
    match side {
        Side::Src => Side::Dst,
        Side::Dst => Side::Src,
    }
}

/// A drop rule that says nothing but "these addresses": `drop ip X any -> any
/// any` (or `<>`), with no condition beyond its header.
fn address_only(rule: &Rule) -> bool {
    let h = &rule.header;
    rule.condition == Expr::True
        && h.protocol == RuleProtocol::Ip
        && h.src_ports.is_full()
        && h.dst_ports.is_full()
        && (h.src.is_any() != h.dst.is_any())
}

/// A drop rule that says nothing but "this protocol to or from these
/// ports": `drop tcp any any -> any 23` (or `<>`), with no condition beyond
/// its header; the ports it blocks, on which side.
fn port_only(rule: &Rule) -> Option<(Protocol, Vec<u16>, Side)> {
    let h = &rule.header;
    let protocol = match h.protocol {
        RuleProtocol::Tcp => Protocol::Tcp,
        RuleProtocol::Udp => Protocol::Udp,
        _ => return None,
    };
    if rule.condition != Expr::True || !h.src.is_any() || !h.dst.is_any() {
        return None;
    }
    let (ports, side) = match (h.src_ports.is_full(), h.dst_ports.is_full()) {
        (true, false) => (&h.dst_ports, Side::Dst),
        (false, true) => (&h.src_ports, Side::Src),
        _ => return None,
    };
    let mut list = Vec::new();
    for r in ports.ranges() {
        if list.len() + usize::from(r.end() - r.start()) + 1 > MAX_PORTS_PER_RULE {
            return None;
        }
        list.extend(r.clone());
    }
    Some((protocol, list, side))
}

/// The kernel block set of a ruleset: address-only drop rules as CIDR
/// blocks, port-only drop rules as port blocks, and one pattern per drop
/// rule whose fast pattern is a request literal of at least four bytes.
/// Drop rules that combine an address with a port, or carry other
/// conditions, are enforced by flow verdict once user space matches them.
pub fn blockset_from_rules(rules: &[Rule]) -> BlockSet {
    let mut set = BlockSet::default();
    for rule in rules
        .iter()
        .filter(|r| matches!(r.action, Action::Drop | Action::Reject))
    {
        if let Some((protocol, ports, side)) = port_only(rule) {
            for port in ports {
                set.block_port(protocol, port, side, rule.sid);
                if rule.header.direction == Direction::Both {
                    set.block_port(protocol, port, other_side(side), rule.sid);
                }
            }
            continue;
        }
        if address_only(rule) {
            let h = &rule.header;
            let (addresses, side) = if h.src.is_any() {
                (&h.dst, Side::Dst)
            } else {
                (&h.src, Side::Src)
            };
            if let Some(list) = cidrs(addresses) {
                for cidr in list {
                    set.block_cidr(side, cidr, rule.sid);
                    if h.direction == Direction::Both {
                        set.block_cidr(other_side(side), cidr, rule.sid);
                    }
                }
                continue;
            }
        }
        let Some((buffer, content)) = rule.fast_pattern() else {
            continue;
        };
        if !in_request_payload(buffer) || content.negated || content.pattern.len() < MIN_PATTERN_LEN
        {
            continue;
        }
        let bytes = content.pattern.clone();
        // `http.host` is the normalized (lowercased) host, while the packet
        // carries the Host header as sent: match it in any case.
        let nocase = content.nocase || *buffer == Buffer::HttpHost;
        let pattern = if nocase {
            Pattern::nocase(bytes, rule.sid)
        } else {
            Pattern::new(bytes, rule.sid)
        };
        // `http.uri` is percent-decoded: the packet may spell the pattern
        // with escapes (`/%65tc/passwd`), which the kernel must also find.
        set.block_pattern(if *buffer == Buffer::HttpUri {
            pattern.in_decoded_uri()
        } else {
            pattern
        });
    }
    set
}

/// The block set in force and its generation; captures apply a new
/// generation on their next packet.
pub struct Blocks {
    pub generation: u64,
    pub set: BlockSet,
}

/// Shared between the reload handler and every capture.
pub type SharedBlocks = Arc<ArcSwap<Blocks>>;

/// The automaton of `set`, to size the kernel maps at load.
pub fn compile(set: &BlockSet) -> anyhow::Result<CompiledDfa> {
    Ok(CompiledDfa::compile(&set.patterns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes(lo: &str, hi: &str) -> Vec<String> {
        let (lo, hi): (Ipv4Addr, Ipv4Addr) = (lo.parse().unwrap(), hi.parse().unwrap());
        let mut out = Vec::new();
        range_to_prefixes(
            u128::from(u32::from(lo)),
            u128::from(u32::from(hi)),
            32,
            &mut out,
        );
        out.iter()
            .map(|(a, l)| format!("{}/{l}", Ipv4Addr::from(*a as u32)))
            .collect()
    }

    #[test]
    fn ranges_become_the_fewest_prefixes() {
        assert_eq!(prefixes("10.0.0.0", "10.255.255.255"), ["10.0.0.0/8"]);
        assert_eq!(prefixes("10.77.0.1", "10.77.0.1"), ["10.77.0.1/32"]);
        assert_eq!(
            prefixes("10.0.0.1", "10.0.0.6"),
            ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
        );
        assert_eq!(prefixes("0.0.0.0", "255.255.255.255"), ["0.0.0.0/0"]);
        // The complement of 10/8 in IPv4.
        let mut out = Vec::new();
        range_to_prefixes(
            0,
            u128::from(u32::from(Ipv4Addr::new(9, 255, 255, 255))),
            32,
            &mut out,
        );
        range_to_prefixes(
            u128::from(u32::from(Ipv4Addr::new(11, 0, 0, 0))),
            u128::from(u32::MAX),
            32,
            &mut out,
        );
        assert_eq!(out.len(), 8);
    }

    #[test]
    fn address_only_drop_rules_become_cidr_blocks_and_literals_patterns() {
        let text = "drop ip 10.77.0.1 any <> any any (msg:\"host\"; sid:1;)\n\
                    drop ip any any -> 192.0.2.0/24 any (msg:\"net\"; sid:2;)\n\
                    drop tcp 10.77.0.1 any -> any 22 (msg:\"ssh from host\"; sid:3;)\n\
                    drop http any any -> any any (msg:\"hdr\"; http.header; content:\"X-Evil\"; nocase; sid:4;)\n\
                    drop http any any -> any any (msg:\"short\"; http.uri; content:\"/x\"; sid:5;)\n\
                    alert http any any -> any any (msg:\"alert only\"; http.uri; content:\"/alert-only\"; sid:6;)\n\
                    drop tcp any any -> any [23, 2323] (msg:\"telnet\"; sid:7;)\n\
                    drop udp any any <> any 1900 (msg:\"ssdp\"; sid:8;)\n\
                    drop tcp any any -> any 1:1024 (msg:\"too wide\"; sid:9;)\n\
                    drop tcp any any -> any 25 (msg:\"with content\"; content:\"EHLO\"; sid:10;)\n\
                    drop http any any -> any any (msg:\"host\"; http.host; content:\"intranet.example\"; sid:11;)\n\
                    drop http any any -> any any (msg:\"uri\"; http.uri; content:\"/etc/passwd\"; sid:12;)\n\
                    drop http any any -> any any (msg:\"raw uri\"; http.uri.raw; content:\"/%65tc\"; sid:13;)\n";
        let (set, diags) =
            sensor_rules::RuleSet::load_str("t.rules", text, &sensor_rules::LoadOptions::default());
        assert!(
            diags
                .iter()
                .all(|d| d.level != sensor_rules::diag::Level::Error),
            "{diags:?}"
        );
        let b = blockset_from_rules(set.rules());
        let cidrs: Vec<String> = b
            .cidrs
            .iter()
            .map(|(s, c, sid)| format!("{s:?} {c} {sid}"))
            .collect();
        assert_eq!(
            cidrs,
            [
                "Src 10.77.0.1/32 1",
                "Dst 10.77.0.1/32 1",
                "Dst 192.0.2.0/24 2"
            ]
        );
        let ports: Vec<String> = b
            .ports
            .iter()
            .map(|(p, sid)| format!("{:?} {} {:?} {sid}", p.protocol, p.port, p.side))
            .collect();
        assert_eq!(
            ports,
            [
                "Tcp 23 Dst 7",
                "Tcp 2323 Dst 7",
                "Udp 1900 Dst 8",
                "Udp 1900 Src 8"
            ],
            "sid 9 spans too many ports, sid 10 has a condition"
        );
        let host = b.patterns.iter().find(|p| p.sid == 11).expect("sid 11");
        assert!(
            host.case_insensitive,
            "a normalized host matches the raw header in any case"
        );
        let uri = b.patterns.iter().find(|p| p.sid == 12).expect("sid 12");
        assert!(
            uri.percent_decoded,
            "http.uri is decoded: the packet may carry escapes"
        );
        let raw = b.patterns.iter().find(|p| p.sid == 13).expect("sid 13");
        assert!(!raw.percent_decoded, "http.uri.raw is matched as sent");
        assert!(
            b.patterns
                .iter()
                .filter(|p| p.sid != 12)
                .all(|p| !p.percent_decoded)
        );
        assert_eq!(
            b.patterns.len(),
            5,
            "sids 4, 10, 11, 12 and 13: sid 3 has ports, sid 5 is too short, sid 6 is not a drop rule"
        );
    }
}
