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
    Action, AddressSet, Buffer, Direction, Expr, FlowDirection, Protocol as RuleProtocol, Rule,
};

use sensor_common::enforce::DFA_MAX_TRANSITIONS;

use crate::enforce::{BlockSet, Cidr, CompiledDfa, Pattern, PortBlock, Protocol, Side};

/// An address set that decomposes into more prefixes than this (a negation,
/// an odd range) is left to flow verdicts rather than filling the tries.
const MAX_CIDRS_PER_RULE: usize = 64;

/// A port set larger than this (a wide range) is left to flow verdicts
/// rather than filling the port hash.
const MAX_PORTS_PER_RULE: usize = 64;

/// Patterns shorter than this would drop too much benign traffic for the
/// user-space check to release; such rules are enforced by flow verdict only.
const MIN_PATTERN_LEN: usize = 4;

/// Longest literal the kernel searches for. A longer fast pattern is
/// searched by one window of this many bytes ([`kernel_window`]): user
/// space confirms every kernel hit with the full rule anyway, and the
/// automaton grows with every pattern byte (a decoded-URI byte takes about
/// four states), so long literals would crowd other rules out of the
/// kernel's table.
pub const KERNEL_WINDOW: usize = 12;

/// Text that benign requests carry all the time (lowercase): a window
/// overlapping it would match benign requests, which the kernel would drop
/// and user space release, a retransmission timeout later.
const COMMON_IN_REQUESTS: &[&[u8]] = &[
    b"http/1.",
    b"\r\n",
    b"user-agent: ",
    b"mozilla/",
    b"compatible; ",
    b"windows nt ",
    b"host: ",
    b"accept",
    b"content-",
    b"connection: ",
    b"cookie: ",
    b"/wp-content/",
    b"/plugins/",
    b"/index.php",
    b"/cgi-bin/",
    b".php?",
];

/// The part of a literal the kernel searches for: the whole literal up to
/// [`KERNEL_WINDOW`] bytes, else the window with the fewest bytes inside
/// text common in requests, the last such (the end of a URI or value is
/// usually its specific part).
///
/// ```text
/// /wp-content/plugins/revslider/temp/update_extract  ->  date_extract
/// ```
pub fn kernel_window(bytes: &[u8]) -> &[u8] {
    if bytes.len() <= KERNEL_WINDOW {
        return bytes;
    }
    let lower = bytes.to_ascii_lowercase();
    let mut common = vec![false; bytes.len()];
    for text in COMMON_IN_REQUESTS {
        for (start, _) in lower
            .windows(text.len())
            .enumerate()
            .filter(|(_, w)| w == text)
        {
            common[start..start + text.len()].fill(true);
        }
    }
    let best = (0..=bytes.len() - KERNEL_WINDOW)
        .min_by_key(|&i| {
            let covered = common[i..i + KERNEL_WINDOW].iter().filter(|&&c| c).count();
            (covered, std::cmp::Reverse(i))
        })
        .unwrap_or(0);
    &bytes[best..best + KERNEL_WINDOW]
}

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

/// How IPS mode enforces one drop (or reject) rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Enforcement {
    /// Address-only rule: every packet from or to these prefixes is dropped
    /// at TC (LPM tries).
    Addresses(Vec<(Side, Cidr)>),
    /// Protocol-and-port rule: every packet to or from these ports is
    /// dropped at TC (port set).
    Ports(Vec<PortBlock>),
    /// The rule's literal, found by the kernel's automaton in the client's
    /// payload: the request carrying it is dropped at TC, then the full rule
    /// confirms (flow verdict) or releases it.
    Pattern {
        pattern: Pattern,
        /// The buffer the literal belongs to.
        buffer: Buffer,
    },
    /// Nothing the kernel can check on the first packet: once user space
    /// matches the rule, the rest of the flow is dropped at TC. Says why.
    FlowVerdict(&'static str),
}

impl Enforcement {
    /// One-word kind, for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Enforcement::Addresses(_) => "addresses",
            Enforcement::Ports(_) => "ports",
            Enforcement::Pattern { .. } => "pattern",
            Enforcement::FlowVerdict(_) => "flow-verdict",
        }
    }
}

impl std::fmt::Display for Enforcement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Enforcement::Addresses(list) => {
                write!(f, "address block:")?;
                for (side, cidr) in list {
                    let side = match side {
                        Side::Src => "from",
                        Side::Dst => "to",
                    };
                    write!(f, " {side} {cidr}")?;
                }
                Ok(())
            }
            Enforcement::Ports(list) => {
                write!(f, "port block:")?;
                for p in list {
                    let side = match p.side {
                        Side::Src => "from",
                        Side::Dst => "to",
                    };
                    write!(f, " {:?} {side} {}", p.protocol, p.port)?;
                }
                Ok(())
            }
            Enforcement::Pattern { pattern, buffer } => {
                write!(
                    f,
                    "first-packet pattern \"{}\" ({}",
                    pattern.bytes.escape_ascii(),
                    buffer.name()
                )?;
                if pattern.case_insensitive {
                    write!(f, ", any case")?;
                }
                if pattern.percent_decoded {
                    write!(f, ", any %-encoding")?;
                }
                write!(f, ")")
            }
            Enforcement::FlowVerdict(why) => write!(f, "flow verdict only: {why}"),
        }
    }
}

/// How IPS mode enforces `rule`, a drop or reject rule: address-only rules
/// as CIDR blocks, port-only rules as port blocks, a rule whose fast
/// pattern is a request literal of at least four bytes as a first-packet
/// pattern, anything else by flow verdict once user space matches it.
pub fn enforcement(rule: &Rule) -> Enforcement {
    if let Some((protocol, ports, side)) = port_only(rule) {
        let mut list = Vec::new();
        for port in ports {
            list.push(PortBlock {
                protocol,
                port,
                side,
            });
            if rule.header.direction == Direction::Both {
                list.push(PortBlock {
                    protocol,
                    port,
                    side: other_side(side),
                });
            }
        }
        return Enforcement::Ports(list);
    }
    if address_only(rule) {
        let h = &rule.header;
        let (addresses, side) = if h.src.is_any() {
            (&h.dst, Side::Dst)
        } else {
            (&h.src, Side::Src)
        };
        let Some(list) = cidrs(addresses) else {
            return Enforcement::FlowVerdict("its address set takes more than 64 prefixes");
        };
        let mut blocks = Vec::new();
        for cidr in list {
            blocks.push((side, cidr));
            if h.direction == Direction::Both {
                blocks.push((other_side(side), cidr));
            }
        }
        return Enforcement::Addresses(blocks);
    }
    let Some((buffer, content)) = rule.fast_pattern() else {
        return Enforcement::FlowVerdict("no literal content to search for");
    };
    if !in_request_payload(buffer) {
        return Enforcement::FlowVerdict("its fast pattern is not in the client's request");
    }
    if rule.flow.direction == Some(FlowDirection::ToClient) {
        // The kernel walks the client's packets only.
        return Enforcement::FlowVerdict("it inspects the server's packets (flow:to_client)");
    }
    if content.negated {
        return Enforcement::FlowVerdict("its fast pattern is negated");
    }
    if content.pattern.len() < MIN_PATTERN_LEN {
        return Enforcement::FlowVerdict("its fast pattern is shorter than 4 bytes");
    }
    let bytes = kernel_window(&content.pattern).to_vec();
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
    let pattern = if *buffer == Buffer::HttpUri {
        pattern.in_decoded_uri()
    } else {
        pattern
    };
    Enforcement::Pattern {
        pattern,
        buffer: buffer.clone(),
    }
}

/// Whether IPS mode enforces `rule` at all (drop and reject rules).
fn enforced(rule: &Rule) -> bool {
    matches!(rule.action, Action::Drop | Action::Reject)
}

/// The kernel block set of a ruleset: the blocks of every drop rule's
/// [`enforcement`].
pub fn blockset_from_rules(rules: &[Rule]) -> BlockSet {
    let mut set = BlockSet::default();
    for rule in rules.iter().filter(|r| enforced(r)) {
        match enforcement(rule) {
            Enforcement::Addresses(list) => {
                for (side, cidr) in list {
                    set.block_cidr(side, cidr, rule.sid);
                }
            }
            Enforcement::Ports(list) => {
                for p in list {
                    set.block_port(p.protocol, p.port, p.side, rule.sid);
                }
            }
            Enforcement::Pattern { pattern, .. } => {
                set.block_pattern(pattern);
            }
            Enforcement::FlowVerdict(_) => {}
        }
    }
    set
}

/// What of a block set's patterns the kernel's automaton holds.
#[derive(Debug)]
pub struct KernelPatterns {
    /// The automaton of the patterns kept (none without patterns).
    pub dfa: Option<CompiledDfa>,
    /// Patterns kept in the kernel.
    pub kept: usize,
    /// Patterns of the drop rules.
    pub total: usize,
}

impl KernelPatterns {
    /// Patterns left to flow verdicts.
    pub fn unfitted(&self) -> usize {
        self.total - self.kept
    }
}

/// Keeps the patterns whose automaton fits `max_transitions`, `max_states`
/// and the kernel's table ([`CompiledDfa::fits_kernel_table`]): all of them
/// when they fit, else as many of the shortest as fit (a pattern's states
/// grow with its span, so this puts the most rules in the table); the
/// others' rules are enforced by flow verdict. Refusing the whole rule set
/// instead would leave an IPS with a large ruleset no kernel patterns at
/// all (2,000 ET Open web rules as drop rules need several million
/// transitions).
pub fn fit_patterns(set: &mut BlockSet, max_transitions: usize, max_states: u32) -> KernelPatterns {
    let total = set.patterns.len();
    if total == 0 {
        return KernelPatterns {
            dfa: None,
            kept: 0,
            total,
        };
    }
    let fits = |patterns: &[Pattern]| {
        CompiledDfa::compile_within(patterns, max_transitions)
            .ok()
            .filter(|dfa| dfa.states() <= max_states && dfa.fits_kernel_table())
    };
    if let Some(dfa) = fits(&set.patterns) {
        return KernelPatterns {
            dfa: Some(dfa),
            kept: total,
            total,
        };
    }
    set.patterns.sort_by_key(Pattern::max_span);
    // Adding patterns never shrinks the automaton: bisect on how many of
    // the shortest fit, to within 1% of the set.
    let (mut kept, mut too_many) = (0, total);
    let mut dfa = None;
    while too_many - kept > (total / 100).max(1) {
        let mid = (kept + too_many) / 2;
        match fits(&set.patterns[..mid]) {
            Some(d) => {
                kept = mid;
                dfa = Some(d);
            }
            None => too_many = mid,
        }
    }
    set.patterns.truncate(kept);
    KernelPatterns { dfa, kept, total }
}

/// What of a block set's address and port blocks the kernel's maps hold.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct KernelAddresses {
    /// Distinct address blocks kept, and of the drop rules (both sides).
    pub cidrs_kept: usize,
    pub cidrs_total: usize,
    /// Distinct port blocks kept, and of the drop rules.
    pub ports_kept: usize,
    pub ports_total: usize,
    /// The maps' capacities fitted to: address blocks per side, ports.
    pub max_cidrs: u32,
    pub max_ports: u32,
}

impl KernelAddresses {
    /// Address and port blocks that did not fit.
    pub fn unfitted(&self) -> usize {
        (self.cidrs_total - self.cidrs_kept) + (self.ports_total - self.ports_kept)
    }

    /// Whether some blocks did not fit.
    pub fn truncated(&self) -> bool {
        self.unfitted() > 0
    }
}

/// Keeps the address blocks (at most `max_cidrs` distinct ones per side)
/// and port blocks (at most `max_ports`) that the kernel's maps hold, the
/// first in rule order; the others' rules are enforced by flow verdict
/// once user space matches them. The maps are sized at start for twice
/// the rule set then; a reload that outgrows them used to be refused as
/// a whole, which left the old block set in force, blocks of rules the
/// reload removed included.
pub fn fit_addresses(set: &mut BlockSet, max_cidrs: u32, max_ports: u32) -> KernelAddresses {
    use std::collections::HashSet;
    let mut fit = KernelAddresses {
        max_cidrs,
        max_ports,
        ..KernelAddresses::default()
    };
    let mut seen = HashSet::new();
    let mut kept = HashSet::new();
    let mut per_side = [0u32; 2];
    set.cidrs.retain(|&(side, cidr, _)| {
        let n = &mut per_side[side as usize];
        if seen.insert((side, cidr)) {
            fit.cidrs_total += 1;
            if *n < max_cidrs {
                *n += 1;
                kept.insert((side, cidr));
            }
        }
        kept.contains(&(side, cidr))
    });
    fit.cidrs_kept = kept.len();
    let mut seen = HashSet::new();
    let mut kept = HashSet::new();
    set.ports.retain(|&(block, _)| {
        if seen.insert(block) {
            fit.ports_total += 1;
            if (kept.len() as u32) < max_ports {
                kept.insert(block);
            }
        }
        kept.contains(&block)
    });
    fit.ports_kept = kept.len();
    fit
}

/// The kernel block set of a ruleset, its patterns fitted to the kernel's
/// automaton table (at start, when the maps are sized for it).
pub fn kernel_blocks(rules: &[Rule]) -> (BlockSet, KernelPatterns) {
    kernel_blocks_within(rules, DFA_MAX_TRANSITIONS, u32::MAX)
}

/// As [`kernel_blocks`], within the automaton maps' limits (on reload, the
/// sizes the running captures' maps were given).
pub fn kernel_blocks_within(
    rules: &[Rule],
    max_transitions: usize,
    max_states: u32,
) -> (BlockSet, KernelPatterns) {
    let mut set = blockset_from_rules(rules);
    let patterns = fit_patterns(&mut set, max_transitions, max_states);
    (set, patterns)
}

/// The block set in force and its generation; captures apply a new
/// generation on their next packet.
pub struct Blocks {
    pub generation: u64,
    pub set: BlockSet,
}

/// Shared between the reload handler and every capture.
pub type SharedBlocks = Arc<ArcSwap<Blocks>>;

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
        let b = blockset_from_rules(&rules(text));
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

    #[test]
    fn long_literals_are_searched_by_their_most_specific_window() {
        assert_eq!(kernel_window(b"/etc/passwd"), b"/etc/passwd");
        assert_eq!(
            kernel_window(b"/wp-content/plugins/revslider/temp/update_extract"),
            b"date_extract"
        );
        // Common text is avoided even when it is at the end.
        let w = kernel_window(b"X-Exploit-Token-9f2a\r\nUser-Agent: Mozilla/");
        assert_eq!(w.len(), KERNEL_WINDOW);
        assert!(!w.windows(2).any(|p| p == b"\r\n"), "{}", w.escape_ascii());
        assert!(
            !w.to_ascii_lowercase().windows(5).any(|p| p == b"mozil"),
            "{}",
            w.escape_ascii()
        );
    }

    fn rules(text: &str) -> Vec<Rule> {
        let (set, diags) =
            sensor_rules::RuleSet::load_str("t.rules", text, &sensor_rules::LoadOptions::default());
        assert!(
            diags
                .iter()
                .all(|d| d.level != sensor_rules::diag::Level::Error),
            "{diags:?}"
        );
        set.rules().to_vec()
    }

    #[test]
    fn each_drop_rule_says_how_it_is_enforced() {
        let r = rules(
            "drop http any any -> any any (msg:\"a\"; flow:to_server; http.uri; content:\"/etc/passwd\"; sid:1;)\n\
             drop http any any -> any any (msg:\"b\"; flow:to_client; content:\"Index of /\"; sid:2;)\n\
             drop http any any -> any any (msg:\"c\"; http.stat_code; content:\"500\"; sid:3;)\n\
             drop tcp any any -> any 23 (msg:\"d\"; sid:4;)\n\
             drop ip 192.0.2.7 any -> any any (msg:\"e\"; sid:5;)\n\
             drop http any any -> any any (msg:\"f\"; http.header; content:\"X-Long-Attack-Header-Name\"; nocase; sid:6;)\n",
        );
        let plans: Vec<String> = r.iter().map(|r| enforcement(r).to_string()).collect();
        assert_eq!(
            plans,
            [
                "first-packet pattern \"/etc/passwd\" (http.uri, any %-encoding)",
                "flow verdict only: it inspects the server's packets (flow:to_client)",
                "flow verdict only: its fast pattern is not in the client's request",
                "port block: Tcp to 23",
                "address block: from 192.0.2.7/32",
                "first-packet pattern \"-Header-Name\" (http.header, any case)",
            ]
        );
    }

    /// Synthetic literals, all different from their first bytes on.
    fn many_patterns(n: u32) -> BlockSet {
        let mut set = BlockSet::default();
        for i in 0..n {
            let len = 4 + (i as usize * 7) % 9;
            let bytes: Vec<u8> = format!("{i:05}#{}", "qwertyuiopasdfgh")
                .bytes()
                .take(len.max(6))
                .collect();
            set.block_pattern(Pattern::new(bytes, i));
        }
        set
    }

    #[test]
    fn patterns_beyond_the_table_are_left_to_flow_verdicts() {
        let mut all = many_patterns(300);
        let whole = CompiledDfa::compile(&all.patterns).unwrap();
        let fitted = fit_patterns(&mut all, usize::MAX, u32::MAX);
        assert_eq!((fitted.kept, fitted.total), (300, 300));

        let limit = whole.transitions() as usize / 3;
        let mut set = many_patterns(300);
        let fitted = fit_patterns(&mut set, limit, u32::MAX);
        assert_eq!(fitted.total, 300);
        assert!(fitted.kept > 30 && fitted.kept < 300, "{}", fitted.kept);
        assert_eq!(set.patterns.len(), fitted.kept);
        let dfa = fitted.dfa.expect("an automaton of the kept patterns");
        assert!(dfa.transitions() as usize <= limit);
        // The shortest were kept, and a few more would not fit.
        let longest_kept = set.patterns.iter().map(|p| p.bytes.len()).max().unwrap();
        let shortest_left = many_patterns(300)
            .patterns
            .iter()
            .filter(|p| !set.patterns.iter().any(|k| k.sid == p.sid))
            .map(|p| p.bytes.len())
            .min()
            .unwrap();
        assert!(longest_kept <= shortest_left);
        // A states limit bounds the automaton as well.
        let mut by_states = many_patterns(300);
        let by_states = fit_patterns(&mut by_states, usize::MAX, whole.states() / 3);
        assert!(
            by_states.kept > 30 && by_states.kept < 300,
            "{}",
            by_states.kept
        );
        assert!(by_states.dfa.unwrap().states() <= whole.states() / 3);

        let mut more = many_patterns(300);
        more.patterns.sort_by_key(Pattern::max_span);
        more.patterns.truncate(fitted.kept + 300 / 100 + 1);
        assert!(CompiledDfa::compile_within(&more.patterns, limit).is_err());
    }

    fn host(i: u32) -> Cidr {
        Cidr::new(IpAddr::V4(Ipv4Addr::from(0xC612_0000 + i)), 32).unwrap()
    }

    #[test]
    fn address_blocks_beyond_the_maps_are_left_to_flow_verdicts() {
        let mut set = BlockSet::default();
        for i in 0..5 {
            set.block_cidr(Side::Src, host(i), 100 + i);
        }
        // A repeated block counts once and stays with its first.
        set.block_cidr(Side::Src, host(0), 200);
        set.block_cidr(Side::Dst, host(9), 300);
        for port in [23, 2323, 8081] {
            set.block_port(Protocol::Tcp, port, Side::Dst, u32::from(port));
        }
        let fit = fit_addresses(&mut set, 3, 2);
        assert_eq!(
            fit,
            KernelAddresses {
                cidrs_kept: 4,
                cidrs_total: 6,
                ports_kept: 2,
                ports_total: 3,
                max_cidrs: 3,
                max_ports: 2,
            }
        );
        assert!(fit.truncated());
        // The first in rule order, per side.
        let kept: Vec<(Side, Cidr, u32)> = set.cidrs.clone();
        assert_eq!(
            kept,
            [
                (Side::Src, host(0), 100),
                (Side::Src, host(1), 101),
                (Side::Src, host(2), 102),
                (Side::Src, host(0), 200),
                (Side::Dst, host(9), 300),
            ]
        );
        let ports: Vec<u16> = set.ports.iter().map(|(b, _)| b.port).collect();
        assert_eq!(ports, [23, 2323]);
        // Within the maps, nothing changes.
        let before = set.clone();
        let fit = fit_addresses(&mut set, 3, 2);
        assert!(!fit.truncated());
        assert_eq!(set.cidrs, before.cidrs);
        assert_eq!(set.ports, before.ports);
    }
}
