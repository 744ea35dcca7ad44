//! The native language's fields: names, types, and the protocol each
//! implies.

use crate::ir::{Buffer, Field, Protocol};

/// What values a field holds, which decides the operators it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// An IP address: `in`, `==`, `!=` with addresses, CIDRs, lists, vars.
    Address,
    /// A port: comparisons, `in` with ports, ranges, lists, vars.
    Port,
    /// A number: comparisons and `in`.
    Number,
    /// Flag bits: `has`, `==`, `!=` with flag names.
    Flags,
    /// True or false: used bare (`when flow.established`).
    Bool,
    /// Bytes: string operators, `matches`, `==`, `!=`, `in`, `exists`.
    Bytes,
}

impl FieldType {
    /// Name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Address => "an address",
            FieldType::Port => "a port",
            FieldType::Number => "a number",
            FieldType::Flags => "a set of flags",
            FieldType::Bool => "a boolean",
            FieldType::Bytes => "a byte string",
        }
    }
}

/// A resolved field: either a header/state field or an inspected buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A non-buffer field.
    Field(Field),
    /// A buffer.
    Buffer(Buffer),
}

/// A field's meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldInfo {
    /// What it resolves to.
    pub target: Target,
    /// Its type.
    pub ty: FieldType,
    /// The protocol a rule using it applies to (`None`: any IP).
    pub protocol: Option<Protocol>,
}

/// Every field name, for "did you mean" hints and documentation.
pub const FIELD_NAMES: &[&str] = &[
    "ip.src",
    "ip.dst",
    "ip.ttl",
    "ip.proto",
    "ip.len",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.hlim",
    "ipv6.next_header",
    "ipv6.len",
    "tcp.src_port",
    "tcp.dst_port",
    "tcp.flags",
    "tcp.window",
    "tcp.seq",
    "tcp.ack",
    "udp.src_port",
    "udp.dst_port",
    "icmp.type",
    "icmp.code",
    "flow.to_server",
    "flow.to_client",
    "flow.established",
    "payload",
    "payload.size",
    "http.request",
    "http.response",
    "http.method",
    "http.uri",
    "http.uri.raw",
    "http.host",
    "http.user_agent",
    "http.cookie",
    "http.header",
    "http.header[\"name\"]",
    "http.header.name",
    "http.header.value",
    "http.header_names",
    "http.request_line",
    "http.status",
    "http.response_line",
    "http.content_type",
    "http.referer",
    "http.protocol",
    "http.accept",
    "tls.sni",
    "tls.client_hello",
    "dns.request",
    "tls.version",
    "tls.alpn",
    "dns.query",
    "dns.type",
];

/// Resolves a field path; `index` is the `["name"]` of `http.header["name"]`.
pub fn lookup(path: &str, index: Option<&str>) -> Option<FieldInfo> {
    use FieldType as T;
    let f = |field: Field, ty: FieldType, protocol: Option<Protocol>| FieldInfo {
        target: Target::Field(field),
        ty,
        protocol,
    };
    let b = |buffer: Buffer, protocol: Protocol| FieldInfo {
        target: Target::Buffer(buffer),
        ty: T::Bytes,
        protocol: Some(protocol),
    };
    if let Some(name) = index {
        return (path == "http.header").then(|| {
            b(
                Buffer::HttpHeaderNamed(name.to_ascii_lowercase()),
                Protocol::Http,
            )
        });
    }
    let tcp = Some(Protocol::Tcp);
    let udp = Some(Protocol::Udp);
    let icmp = Some(Protocol::Icmp);
    let http = Some(Protocol::Http);
    Some(match path {
        "ip.src" | "ipv6.src" => f(Field::SrcAddr, T::Address, None),
        "ip.dst" | "ipv6.dst" => f(Field::DstAddr, T::Address, None),
        "ip.ttl" | "ipv6.hlim" => f(Field::Ttl, T::Number, None),
        "ip.proto" | "ipv6.next_header" => f(Field::IpProto, T::Number, None),
        "ip.len" | "ipv6.len" => f(Field::IpLen, T::Number, None),
        "tcp.src_port" => f(Field::SrcPort, T::Port, tcp),
        "tcp.dst_port" => f(Field::DstPort, T::Port, tcp),
        "udp.src_port" => f(Field::SrcPort, T::Port, udp),
        "udp.dst_port" => f(Field::DstPort, T::Port, udp),
        "tcp.flags" => f(Field::TcpFlags, T::Flags, tcp),
        "tcp.window" => f(Field::TcpWindow, T::Number, tcp),
        "tcp.seq" => f(Field::TcpSeq, T::Number, tcp),
        "tcp.ack" => f(Field::TcpAck, T::Number, tcp),
        "icmp.type" => f(Field::IcmpType, T::Number, icmp),
        "icmp.code" => f(Field::IcmpCode, T::Number, icmp),
        "flow.to_server" => f(Field::ToServer, T::Bool, None),
        "flow.to_client" => f(Field::ToClient, T::Bool, None),
        "flow.established" => f(Field::Established, T::Bool, None),
        "payload" => FieldInfo {
            target: Target::Buffer(Buffer::Payload),
            ty: T::Bytes,
            protocol: None,
        },
        "payload.size" => f(Field::PayloadSize, T::Number, None),
        "http.request" => f(Field::HttpRequest, T::Bool, http),
        "http.response" => f(Field::HttpResponse, T::Bool, http),
        "http.status" => f(Field::HttpStatus, T::Number, http),
        "http.method" => b(Buffer::HttpMethod, Protocol::Http),
        "http.uri" => b(Buffer::HttpUri, Protocol::Http),
        "http.uri.raw" => b(Buffer::HttpUriRaw, Protocol::Http),
        "http.host" => b(Buffer::HttpHost, Protocol::Http),
        "http.user_agent" => b(Buffer::HttpUserAgent, Protocol::Http),
        "http.cookie" => b(Buffer::HttpCookie, Protocol::Http),
        "http.header" => b(Buffer::HttpHeader, Protocol::Http),
        "http.header.name" => b(Buffer::HttpHeaderName, Protocol::Http),
        "http.header.value" => b(Buffer::HttpHeaderValue, Protocol::Http),
        "http.header_names" => b(Buffer::HttpHeaderNames, Protocol::Http),
        "http.request_line" => b(Buffer::HttpRequestLine, Protocol::Http),
        "http.response_line" => b(Buffer::HttpResponseLine, Protocol::Http),
        "http.content_type" => b(Buffer::HttpContentType, Protocol::Http),
        "http.referer" => b(Buffer::HttpReferer, Protocol::Http),
        "http.protocol" => b(Buffer::HttpProtocol, Protocol::Http),
        "http.accept" => b(Buffer::HttpAccept, Protocol::Http),
        "tls.sni" => b(Buffer::TlsSni, Protocol::Tls),
        "tls.alpn" => b(Buffer::TlsAlpn, Protocol::Tls),
        "tls.client_hello" => f(Field::TlsClientHello, T::Bool, Some(Protocol::Tls)),
        "dns.request" => f(Field::DnsRequest, T::Bool, Some(Protocol::Dns)),
        "tls.version" => f(Field::TlsVersion, T::Number, Some(Protocol::Tls)),
        "dns.query" => b(Buffer::DnsQuery, Protocol::Dns),
        "dns.type" => f(Field::DnsType, T::Number, Some(Protocol::Dns)),
        _ => return None,
    })
}

/// Symbolic values accepted for numeric fields (`dns.type == TXT`,
/// `ip.proto == udp`, `tls.version >= "1.2"`).
pub fn named_number(field: &Field, name: &str) -> Option<u64> {
    let n = name.to_ascii_lowercase();
    match field {
        Field::DnsType => Some(match n.as_str() {
            "a" => 1,
            "ns" => 2,
            "cname" => 5,
            "soa" => 6,
            "ptr" => 12,
            "mx" => 15,
            "txt" => 16,
            "aaaa" => 28,
            "srv" => 33,
            "https" => 65,
            "any" => 255,
            _ => return None,
        }),
        Field::IpProto => Some(match n.as_str() {
            "icmp" => 1,
            "tcp" => 6,
            "udp" => 17,
            "gre" => 47,
            "esp" => 50,
            "icmpv6" | "ipv6-icmp" => 58,
            _ => return None,
        }),
        Field::TlsVersion => Some(match n.as_str() {
            "ssl3" | "3.0" => 0x0300,
            "1.0" => 0x0301,
            "1.1" => 0x0302,
            "1.2" => 0x0303,
            "1.3" => 0x0304,
            _ => return None,
        }),
        _ => None,
    }
}

/// TCP flag names for `tcp.flags has [...]`.
pub fn tcp_flag(name: &str) -> Option<u8> {
    use crate::ir::tcp_flags::*;
    Some(match name.to_ascii_lowercase().as_str() {
        "fin" => FIN,
        "syn" => SYN,
        "rst" => RST,
        "psh" => PSH,
        "ack" => ACK,
        "urg" => URG,
        "ece" => ECE,
        "cwr" => CWR,
        _ => return None,
    })
}

/// The known field closest to `path` (edit distance at most 3), for "did
/// you mean" hints.
pub fn closest(path: &str) -> Option<&'static str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                let sub = prev[j] + usize::from(ca != *cb);
                cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
            }
            prev = cur;
        }
        prev[b.len()]
    }
    FIELD_NAMES
        .iter()
        .map(|f| (distance(path, f), *f))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, f)| f)
}
