//! The typed rule representation both front ends produce and the detection
//! engine consumes.
//!
//! Everything here is plain data (`Clone + Debug + PartialEq`): variables are
//! expanded, address and port groups compiled to sets, content strings
//! decoded to bytes, and legacy Suricata content modifiers resolved to
//! buffers.
//!
//! # Reading a rule
//!
//! - [`Rule::header`]: protocol, address and port sets and direction, for
//!   grouping (`<>` means either way round). Application protocols (http,
//!   tls, dns) imply TCP/UDP. Suricata `tcp` rules that use HTTP buffers are
//!   promoted to `http`, as Suricata does.
//! - [`Rule::flow`]: direction and state required by `flow:`.
//! - [`Rule::condition`]: an [`Expr`] tree. A Suricata rule is an
//!   [`Expr::And`] of one [`Predicate::Field`] per header keyword (`dsize`,
//!   `flags`, `ttl`, ...) followed by one [`Predicate::Buffer`] per inspected
//!   buffer, in the order buffers first appear in the rule. A native rule's
//!   `when` maps onto the same nodes, with `Or`/`Not` where written.
//! - A [`BufferMatch`] holds the whole chain of one buffer, in rule order:
//!   contents with their modifiers, pcre, `isdataat`, `bsize`. Relative items
//!   refer to the previous item of the same chain, so the chain must be
//!   evaluated with Suricata's backtracking over earlier matches. A negated
//!   content inside a chain is Suricata's negation (no match at that
//!   position), not a `Not` node.
//! - Fast patterns: [`Expr::required_buffer_matches`] lists the chains that
//!   must hold; [`Rule::fast_pattern`] picks the content to prefilter on.
//!   A rule without one is checked always.
//! - [`Rule::rate`]: threshold, detection filter or native rate condition,
//!   applied after the condition matched; [`Rule::suppressions`] from
//!   `threshold.config`; [`Rule::noalert`] and [`Action::Pass`] as in
//!   Suricata.
//! - Regexes: [`crate::regex::pcre_hir`] turns a [`Pcre`] into a
//!   regex-syntax `Hir` in byte mode with its flags applied; every pcre of a
//!   loaded rule is known to parse.

mod content;
mod expr;
mod sets;

pub use content::{
    Buffer, BufferItem, BufferMatch, Content, FastPattern, IsDataAt, Pcre, PcreFlags, Quantifier,
};
pub use expr::{Expr, Field, FieldTest, FlagMode, NumCmp, Predicate, Test, frag_bits, tcp_flags};
pub use sets::{AddressSet, Bound, PortSet, RangeSet};

use std::path::Path;
use std::sync::Arc;

/// What to do when a rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Action {
    /// Raise an alert.
    #[default]
    Alert,
    /// Alert and drop the packet (IPS mode).
    Drop,
    /// Stop inspecting the packet/flow; no alert.
    Pass,
    /// Alert, drop and reset the connection.
    Reject,
}

impl Action {
    /// The keyword as written in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Alert => "alert",
            Action::Drop => "drop",
            Action::Pass => "pass",
            Action::Reject => "reject",
        }
    }
}

/// The protocol a rule applies to; application protocols imply their
/// transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// Any IP packet.
    Ip,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP (v4 and v6).
    Icmp,
    /// HTTP transactions.
    Http,
    /// TLS handshakes.
    Tls,
    /// DNS messages.
    Dns,
}

impl Protocol {
    /// The keyword as written in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Ip => "ip",
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Http => "http",
            Protocol::Tls => "tls",
            Protocol::Dns => "dns",
        }
    }

    /// Whether rules of this protocol inspect transactions rather than
    /// packets.
    pub fn is_application(self) -> bool {
        matches!(self, Protocol::Http | Protocol::Tls | Protocol::Dns)
    }

    /// Parses a protocol keyword of the supported subset.
    pub fn from_keyword(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "ip" => Protocol::Ip,
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "icmp" => Protocol::Icmp,
            "http" => Protocol::Http,
            "tls" => Protocol::Tls,
            "dns" => Protocol::Dns,
            _ => return None,
        })
    }
}

/// `->` or `<>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Source to destination only.
    OneWay,
    /// Either way (`<>`).
    Both,
}

/// Flow direction required by `flow:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowDirection {
    /// `to_server` / `from_client`.
    ToServer,
    /// `to_client` / `from_server`.
    ToClient,
}

/// Flow state required by `flow:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowState {
    /// `established`
    Established,
    /// `not_established`
    NotEstablished,
    /// `stateless`: match regardless of state.
    Stateless,
}

/// The `flow:` constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Flow {
    /// Required direction.
    pub direction: Option<FlowDirection>,
    /// Required state.
    pub state: Option<FlowState>,
}

/// What a rate is counted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Track {
    /// Source address.
    BySrc,
    /// Destination address.
    ByDst,
    /// The address pair.
    ByBoth,
    /// The rule only (one global counter).
    ByRule,
    /// The flow.
    ByFlow,
}

/// Suricata's `threshold` types and the rate conditions built from them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RateKind {
    /// `type limit`: alert at most `count` times per window.
    Limit,
    /// `type threshold`: alert every `count`-th match in the window.
    Threshold,
    /// `type both`, and native rate conditions: alert once per window, when
    /// the `count`-th match (or distinct value) is seen.
    Both,
    /// `detection_filter`: the rule matches on every event once more than
    /// `count` events were seen in the window.
    DetectionFilter,
}

/// What a rate counts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Measure {
    /// Matching events.
    Count,
    /// Distinct values of a field among matching events (native
    /// `threshold distinct tcp.dst_port > 20 ...`).
    Distinct(Field),
}

/// A rate condition on a rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rate {
    /// Semantics.
    pub kind: RateKind,
    /// What is counted.
    pub measure: Measure,
    /// What counters are kept per.
    pub track: Track,
    /// The count in Suricata's sense (see [`RateKind`]).
    pub count: u64,
    /// Window length in seconds.
    pub seconds: u32,
}

/// A `suppress` entry from `threshold.config`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Suppression {
    /// Which address is compared; `None` suppresses the rule entirely.
    pub track: Option<Track>,
    /// Suppressed addresses.
    pub addresses: AddressSet,
}

/// `target:src_ip|dest_ip`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// The source is the target.
    Source,
    /// The destination is the target.
    Destination,
}

/// A `reference:` entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    /// `cve`, `url`, ...
    pub system: String,
    /// The identifier within that system.
    pub id: String,
}

/// Which language a rule was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    /// Suricata `.rules`.
    Suricata,
    /// Native `.vigil`.
    Native,
}

/// Where a rule was read from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The file.
    pub file: Arc<Path>,
    /// 1-based line of the rule's first character.
    pub line: u32,
    /// The language.
    pub language: Language,
}

/// The packet header a rule applies to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Protocol.
    pub protocol: Protocol,
    /// Source addresses.
    pub src: AddressSet,
    /// Source ports.
    pub src_ports: PortSet,
    /// `->` or `<>`.
    pub direction: Direction,
    /// Destination addresses.
    pub dst: AddressSet,
    /// Destination ports.
    pub dst_ports: PortSet,
}

impl Header {
    /// `ip any any -> any any`.
    pub fn any(protocol: Protocol) -> Self {
        Header {
            protocol,
            src: AddressSet::any(),
            src_ports: PortSet::full(),
            direction: Direction::OneWay,
            dst: AddressSet::any(),
            dst_ports: PortSet::full(),
        }
    }
}

/// Default priority when neither the rule nor its classtype sets one
/// (Suricata's default).
pub const DEFAULT_PRIORITY: u8 = 3;

/// A checked rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Generator id (1 unless `gid:` says otherwise).
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Revision.
    pub rev: u32,
    /// Message.
    pub msg: String,
    /// Action.
    pub action: Action,
    /// Priority, 1 (highest) to 255; from `priority`, the classtype, native
    /// `severity`, or [`DEFAULT_PRIORITY`].
    pub priority: u8,
    /// Classtype name.
    pub classtype: Option<String>,
    /// `metadata` key/value pairs, in order.
    pub metadata: Vec<(String, String)>,
    /// References.
    pub references: Vec<Reference>,
    /// Native `tags`.
    pub tags: Vec<String>,
    /// `target`.
    pub target: Option<Target>,
    /// Header.
    pub header: Header,
    /// Flow constraint.
    pub flow: Flow,
    /// Threshold, detection filter or native rate condition.
    pub rate: Option<Rate>,
    /// Suppressions from `threshold.config`.
    pub suppressions: Vec<Suppression>,
    /// `noalert`: match (for side effects) without alerting.
    pub noalert: bool,
    /// The condition.
    pub condition: Expr,
    /// Where the rule came from.
    pub origin: Origin,
}

impl Rule {
    /// Whether the rule has at least one positive content (and so a fast
    /// pattern the prefilter can use); rules without are checked always.
    pub fn has_fast_pattern(&self) -> bool {
        self.condition
            .required_buffer_matches()
            .iter()
            .any(|b| b.contents().any(|c| !c.negated && !c.pattern.is_empty()))
    }

    /// The content the prefilter should use: the one marked
    /// `fast_pattern`, else the longest positive content.
    pub fn fast_pattern(&self) -> Option<(&Buffer, &Content)> {
        let mut best: Option<(&Buffer, &Content)> = None;
        for b in self.condition.required_buffer_matches() {
            for c in b.contents().filter(|c| !c.negated && !c.pattern.is_empty()) {
                if c.fast_pattern.is_some() {
                    return Some((&b.buffer, c));
                }
                if best.is_none_or(|(_, x)| c.pattern.len() > x.pattern.len()) {
                    best = Some((&b.buffer, c));
                }
            }
        }
        best
    }
}
