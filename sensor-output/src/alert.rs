//! The alert record the detection engine fills and every sink consumes.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use time::OffsetDateTime;

/// What the sensor did with the packet or flow that raised the alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// The traffic went through (IDS mode, or an `alert` rule in IPS mode).
    Allowed,
    /// The traffic was dropped or rejected (IPS mode).
    Blocked,
}

impl Action {
    /// The EVE spelling: `allowed` or `blocked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allowed => "allowed",
            Action::Blocked => "blocked",
        }
    }

    /// Parses the EVE spelling back.
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "allowed" => Some(Action::Allowed),
            "blocked" => Some(Action::Blocked),
            _ => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The transport protocol of the flow, spelled as Suricata spells it in EVE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto {
    /// `TCP`
    Tcp,
    /// `UDP`
    Udp,
    /// `ICMP`
    Icmp,
    /// `IPv6-ICMP`
    Icmpv6,
    /// Any other IP protocol, by number (EVE prints the number).
    Other(u8),
}

impl Proto {
    /// The IANA protocol number.
    pub fn number(self) -> u8 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
            Proto::Icmp => 1,
            Proto::Icmpv6 => 58,
            Proto::Other(n) => n,
        }
    }

    /// The protocol for an IANA protocol number.
    pub fn from_number(n: u8) -> Proto {
        match n {
            6 => Proto::Tcp,
            17 => Proto::Udp,
            1 => Proto::Icmp,
            58 => Proto::Icmpv6,
            n => Proto::Other(n),
        }
    }

    /// Parses the EVE spelling (case-insensitive) or a protocol number.
    pub fn parse(s: &str) -> Option<Proto> {
        match s.to_ascii_uppercase().as_str() {
            "TCP" => Some(Proto::Tcp),
            "UDP" => Some(Proto::Udp),
            "ICMP" => Some(Proto::Icmp),
            "IPV6-ICMP" | "ICMPV6" => Some(Proto::Icmpv6),
            other => other.parse::<u8>().ok().map(Proto::from_number),
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proto::Tcp => f.write_str("TCP"),
            Proto::Udp => f.write_str("UDP"),
            Proto::Icmp => f.write_str("ICMP"),
            Proto::Icmpv6 => f.write_str("IPv6-ICMP"),
            Proto::Other(n) => write!(f, "{n}"),
        }
    }
}

/// One HTTP header as seen on the wire (name case preserved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Header name as sent.
    pub name: String,
    /// Header value as sent (before any masking).
    pub value: String,
}

impl Header {
    /// A header from a name and a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// The HTTP transaction an alert fired on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpInfo {
    /// `Host` header.
    pub hostname: Option<String>,
    /// Request target (raw URI).
    pub url: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
    /// Request method.
    pub method: Option<String>,
    /// Protocol of the request line, e.g. `HTTP/1.1`.
    pub protocol: Option<String>,
    /// Response status, when the response was seen.
    pub status: Option<u16>,
    /// Response body length (Content-Length or counted).
    pub length: Option<u64>,
    /// Response `Content-Type`.
    pub content_type: Option<String>,
    /// `Referer` header.
    pub referer: Option<String>,
    /// Request headers in order; masked on output (see [`crate::HeaderMask`]).
    pub request_headers: Vec<Header>,
    /// Response headers in order; masked on output.
    pub response_headers: Vec<Header>,
}

/// The TLS ClientHello an alert fired on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// Server Name Indication.
    pub sni: Option<String>,
    /// Version as Suricata prints it, e.g. `TLS 1.2`.
    pub version: Option<String>,
    /// JA3 MD5 hash.
    pub ja3_hash: Option<String>,
    /// JA3 input string.
    pub ja3_string: Option<String>,
    /// JA4 fingerprint.
    pub ja4: Option<String>,
}

/// The DNS query an alert fired on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsInfo {
    /// Transaction id.
    pub id: Option<u16>,
    /// Queried name.
    pub query_name: String,
    /// Query type mnemonic, e.g. `A`, `AAAA`, `TXT`.
    pub query_type: String,
}

/// Packet and byte counters of the flow at alert time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowCounters {
    /// Packets from client to server.
    pub pkts_toserver: u64,
    /// Packets from server to client.
    pub pkts_toclient: u64,
    /// Bytes from client to server.
    pub bytes_toserver: u64,
    /// Bytes from server to client.
    pub bytes_toclient: u64,
    /// When the flow started (UTC).
    pub start: OffsetDateTime,
}

/// One alert: what the detection engine produces for a rule match, and what
/// every sink (EVE, syslog, CEF, audit store) consumes.
///
/// The timestamp is a UTC instant; outputs print it with microsecond precision.
///
/// ```
/// use sensor_output::{Action, Alert, Proto};
/// let alert = Alert::new(
///     time::macros::datetime!(2026-01-02 03:04:05.678901 UTC),
///     "10.0.0.1".parse().unwrap(), "192.0.2.7".parse().unwrap(), Proto::Tcp,
///     2_100_498, "GPL ATTACK_RESPONSE id check returned root",
/// );
/// assert_eq!(alert.action, Action::Allowed);
/// let eve = alert.to_eve_json();
/// assert!(eve.contains(r#""signature_id":2100498"#));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// When the packet that raised the alert was seen (UTC).
    pub timestamp: OffsetDateTime,
    /// Numeric flow id, shared with the flow's other EVE records.
    pub flow_id: u64,
    /// Capture interface.
    pub in_iface: Option<String>,
    /// Source address of the packet.
    pub src_ip: IpAddr,
    /// Source port (absent for ICMP).
    pub src_port: Option<u16>,
    /// Destination address of the packet.
    pub dst_ip: IpAddr,
    /// Destination port (absent for ICMP).
    pub dst_port: Option<u16>,
    /// Transport protocol.
    pub proto: Proto,
    /// Application protocol detected on the flow (`http`, `tls`, `dns`, ...).
    pub app_proto: Option<String>,
    /// Community ID flow hash (`1:...`).
    pub community_id: Option<String>,
    /// Whether the traffic was allowed or blocked.
    pub action: Action,
    /// Generator id (1 for text rules).
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Rule revision.
    pub rev: u32,
    /// The rule's `msg`.
    pub signature: String,
    /// The classtype's description.
    pub category: String,
    /// 1 (high) to 3 (low), 4 for informational.
    pub severity: u8,
    /// The rule's `metadata` keyword, each key with its values.
    pub metadata: BTreeMap<String, Vec<String>>,
    /// HTTP transaction, when the alert fired on one.
    pub http: Option<HttpInfo>,
    /// TLS handshake, when the alert fired on one.
    pub tls: Option<TlsInfo>,
    /// DNS query, when the alert fired on one.
    pub dns: Option<DnsInfo>,
    /// Flow counters at alert time.
    pub flow: Option<FlowCounters>,
}

impl Alert {
    /// An alert with the required fields set and everything else empty:
    /// gid 1, rev 1, severity 3, action allowed, no ports.
    pub fn new(
        timestamp: OffsetDateTime,
        src_ip: IpAddr,
        dst_ip: IpAddr,
        proto: Proto,
        sid: u32,
        signature: impl Into<String>,
    ) -> Alert {
        Alert {
            timestamp,
            flow_id: 0,
            in_iface: None,
            src_ip,
            src_port: None,
            dst_ip,
            dst_port: None,
            proto,
            app_proto: None,
            community_id: None,
            action: Action::Allowed,
            gid: 1,
            sid,
            rev: 1,
            signature: signature.into(),
            category: String::new(),
            severity: 3,
            metadata: BTreeMap::new(),
            http: None,
            tls: None,
            dns: None,
            flow: None,
        }
    }
}
