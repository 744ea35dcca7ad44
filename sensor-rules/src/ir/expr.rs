//! The match condition: one expression tree for both languages.
//!
//! A Suricata rule compiles to an [`Expr::And`] of predicates, one
//! [`Predicate::Buffer`] per inspected buffer (holding that buffer's whole
//! content chain) plus one [`Predicate::Field`] per header keyword. A native
//! rule's `when` expression maps onto the same nodes.

use super::content::BufferMatch;
use super::sets::{AddressSet, RangeSet};

/// A boolean expression over a packet or transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// Always true (a rule with no condition beyond its header).
    True,
    /// All operands true.
    And(Vec<Expr>),
    /// At least one operand true.
    Or(Vec<Expr>),
    /// The operand false.
    Not(Box<Expr>),
    /// A leaf test.
    Predicate(Predicate),
}

impl Expr {
    /// Calls `f` on every predicate of the tree, depth first, in order.
    pub fn for_each_predicate<'a>(&'a self, f: &mut impl FnMut(&'a Predicate)) {
        match self {
            Expr::True => {}
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.for_each_predicate(f)),
            Expr::Not(e) => e.for_each_predicate(f),
            Expr::Predicate(p) => f(p),
        }
    }

    /// The predicates of the tree, depth first.
    pub fn predicates(&self) -> Vec<&Predicate> {
        let mut v = Vec::new();
        self.for_each_predicate(&mut |p| v.push(p));
        v
    }

    /// The buffer matches that must hold for the expression to be true
    /// (top-level conjuncts, not under `not`/`or`): where the engine takes
    /// fast patterns from.
    pub fn required_buffer_matches(&self) -> Vec<&BufferMatch> {
        let mut v = Vec::new();
        fn walk<'a>(e: &'a Expr, v: &mut Vec<&'a BufferMatch>) {
            match e {
                Expr::And(es) => es.iter().for_each(|e| walk(e, v)),
                Expr::Predicate(Predicate::Buffer(b)) => v.push(b),
                _ => {}
            }
        }
        walk(self, &mut v);
        v
    }

    /// `And` of `parts`, flattened: no part gives `True`, one gives itself.
    pub fn and(mut parts: Vec<Expr>) -> Expr {
        parts.retain(|p| *p != Expr::True);
        match parts.len() {
            0 => Expr::True,
            1 => parts.pop().expect("one part"),
            _ => Expr::And(parts),
        }
    }
}

/// A leaf of the expression tree.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Predicate {
    /// A content/pcre chain over one buffer.
    Buffer(BufferMatch),
    /// A test on a non-buffer field (header values, flags, flow state, ...).
    Field(FieldTest),
}

/// Non-buffer fields, from Suricata header keywords and the native language.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// Source address (IPv4 or IPv6).
    SrcAddr,
    /// Destination address (IPv4 or IPv6).
    DstAddr,
    /// IPv4 TTL / IPv6 hop limit (`ttl`).
    Ttl,
    /// IP protocol / IPv6 next header (`ip_proto`).
    IpProto,
    /// IP total length.
    IpLen,
    /// IPv4 options present (`ipopts`).
    IpOpts,
    /// IPv4 fragment bits (`fragbits`).
    FragBits,
    /// Source port (TCP or UDP).
    SrcPort,
    /// Destination port (TCP or UDP).
    DstPort,
    /// TCP flags (`flags`).
    TcpFlags,
    /// TCP window (`window`).
    TcpWindow,
    /// TCP sequence number (`seq`).
    TcpSeq,
    /// TCP acknowledgement number (`ack`).
    TcpAck,
    /// ICMP type (`itype`).
    IcmpType,
    /// ICMP code (`icode`).
    IcmpCode,
    /// Payload size (`dsize`).
    PayloadSize,
    /// Length of the normalized URI (`urilen`).
    UriLen,
    /// Length of the raw URI (`urilen:...,raw`).
    UriLenRaw,
    /// HTTP response status as a number.
    HttpStatus,
    /// TLS record/ClientHello version as on the wire (`0x0303` = TLS 1.2).
    TlsVersion,
    /// DNS query type.
    DnsType,
    /// Packet is in the client-to-server direction.
    ToServer,
    /// Packet is in the server-to-client direction.
    ToClient,
    /// Flow is established (TCP handshake seen).
    Established,
    /// The transaction is an HTTP request.
    HttpRequest,
    /// The transaction is an HTTP response.
    HttpResponse,
    /// The message is a TLS ClientHello.
    TlsClientHello,
    /// The message is a DNS query (not a response).
    DnsRequest,
    /// A buffer field, for `exists` (the buffer is present, even empty).
    Buffer(super::content::Buffer),
}

/// A numeric comparison; Suricata's `a<>b` is [`NumCmp::Between`], exclusive
/// on both ends as in Suricata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NumCmp {
    /// `== n`
    Eq(u64),
    /// `!= n`
    Ne(u64),
    /// `< n`
    Lt(u64),
    /// `<= n`
    Le(u64),
    /// `> n`
    Gt(u64),
    /// `>= n`
    Ge(u64),
    /// `lo < x < hi`
    Between(u64, u64),
}

impl NumCmp {
    /// Evaluates the comparison.
    pub fn eval(self, x: u64) -> bool {
        match self {
            NumCmp::Eq(n) => x == n,
            NumCmp::Ne(n) => x != n,
            NumCmp::Lt(n) => x < n,
            NumCmp::Le(n) => x <= n,
            NumCmp::Gt(n) => x > n,
            NumCmp::Ge(n) => x >= n,
            NumCmp::Between(lo, hi) => lo < x && x < hi,
        }
    }

    /// The largest value that can satisfy the comparison, if bounded.
    pub fn max_value(self) -> Option<u64> {
        match self {
            NumCmp::Eq(n) | NumCmp::Le(n) => Some(n),
            NumCmp::Lt(n) => n.checked_sub(1),
            NumCmp::Between(_, hi) => hi.checked_sub(1),
            _ => None,
        }
    }
}

/// TCP flag bits, as in the TCP header.
pub use sensor_common::tcp as tcp_flags;

/// IPv4 fragment bits as in `fragbits` (shifted to the low bits).
pub mod frag_bits {
    /// More fragments.
    pub const MF: u8 = 0x1;
    /// Don't fragment.
    pub const DF: u8 = 0x2;
    /// Reserved bit.
    pub const RESERVED: u8 = 0x4;
}

/// How a flag test compares the packet's flags with the listed ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlagMode {
    /// Exactly these flags set (after masking): Suricata `flags:SA`,
    /// native `tcp.flags == [syn, ack]`.
    Exact,
    /// At least these flags set: Suricata `+`, native `has`.
    All,
    /// Any of these flags set: Suricata `*`.
    Any,
    /// None of these flags set: Suricata `!`.
    NotAny,
}

/// A test on a [`Field`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Test {
    /// Numeric comparison.
    Num(NumCmp),
    /// Numeric set membership (`in [80, 8000:8099]`, port variables).
    InNumbers(RangeSet<u64>),
    /// Address set membership.
    InAddresses(AddressSet),
    /// Flag bits (TCP flags, fragbits) compared after clearing `ignore`.
    Flags {
        /// Comparison mode.
        mode: FlagMode,
        /// The listed flags.
        flags: u8,
        /// Bits ignored by the comparison (Suricata's `,CE` mask).
        ignore: u8,
    },
    /// An IPv4 option is present (`ipopts:lsrr`); `any` means any option.
    IpOption(String),
    /// A boolean field is true.
    IsTrue,
    /// The field is present.
    Exists,
}

/// A [`Test`] applied to a [`Field`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldTest {
    /// The field.
    pub field: Field,
    /// The test.
    pub test: Test,
}
