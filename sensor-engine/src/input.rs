//! The input seam: how the engine reads a packet or a transaction.
//!
//! The engine never parses anything. The caller (the daemon, wiring
//! `sensor-proto`'s parsers) hands it an [`Input`]: plain packet metadata
//! ([`PacketMeta`]) plus borrowed byte slices for every inspected buffer.
//! Nothing here allocates: buffers are borrowed from whatever the caller
//! already holds, and repeated buffers (header name/value pairs, ALPN
//! entries) are read by index.

use std::net::{IpAddr, Ipv4Addr};

/// What an [`Input`] is: a packet, or one application-layer transaction.
///
/// Packet rules (`alert tcp ...` with payload contents, header keywords)
/// run on [`InputKind::Packet`]; application rules (`alert http ...`, or any
/// rule using an HTTP/TLS/DNS buffer) run on the matching transaction kind,
/// once per transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum InputKind {
    /// One IP packet (its payload is [`BufferId::Payload`]).
    #[default]
    Packet,
    /// An HTTP request (request line and headers).
    HttpRequest,
    /// An HTTP response (status line and headers).
    HttpResponse,
    /// A TLS ClientHello (or other handshake message).
    Tls,
    /// A DNS message.
    Dns,
}

impl InputKind {
    /// Every kind, in index order.
    pub const ALL: [InputKind; 5] = [
        InputKind::Packet,
        InputKind::HttpRequest,
        InputKind::HttpResponse,
        InputKind::Tls,
        InputKind::Dns,
    ];

    /// A dense index (0..5).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Direction of the packet within its flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum FlowDir {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
    /// No flow tracking (or not known): rules requiring a direction never
    /// match.
    #[default]
    Unknown,
}

impl FlowDir {
    /// Every direction, in index order.
    pub const ALL: [FlowDir; 3] = [FlowDir::ToServer, FlowDir::ToClient, FlowDir::Unknown];

    /// A dense index (0..3).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// IPv4 option bits for [`PacketMeta::ip_options`] (Suricata's `ipopts`
/// names).
pub mod ip_options {
    /// `rr`: record route.
    pub const RR: u16 = 1 << 0;
    /// `eol`: end of list.
    pub const EOL: u16 = 1 << 1;
    /// `nop`: no operation.
    pub const NOP: u16 = 1 << 2;
    /// `ts`: timestamp.
    pub const TS: u16 = 1 << 3;
    /// `sec`: IP security.
    pub const SEC: u16 = 1 << 4;
    /// `esec`: extended security.
    pub const ESEC: u16 = 1 << 5;
    /// `lsrr`: loose source routing.
    pub const LSRR: u16 = 1 << 6;
    /// `lsrre`: loose source routing (alternative code).
    pub const LSRRE: u16 = 1 << 7;
    /// `ssrr`: strict source routing.
    pub const SSRR: u16 = 1 << 8;
    /// `satid`: stream identifier.
    pub const SATID: u16 = 1 << 9;

    /// The bit for an `ipopts` name; `any` is every bit.
    pub fn from_name(name: &str) -> Option<u16> {
        Some(match name {
            "rr" => RR,
            "eol" => EOL,
            "nop" => NOP,
            "ts" => TS,
            "sec" => SEC,
            "esec" => ESEC,
            "lsrr" => LSRR,
            "lsrre" => LSRRE,
            "ssrr" => SSRR,
            "satid" => SATID,
            "any" => u16::MAX,
            _ => return None,
        })
    }
}

/// Everything about a packet (or the packet carrying a transaction) that
/// rules test besides byte buffers.
///
/// Fields that do not apply are `None` (ports of ICMP, TCP fields of UDP,
/// application fields of a plain packet): a test on an absent field is
/// false.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketMeta {
    /// Packet or transaction kind.
    pub kind: InputKind,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port (TCP/UDP).
    pub src_port: Option<u16>,
    /// Destination port (TCP/UDP).
    pub dst_port: Option<u16>,
    /// IP protocol / IPv6 next header (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
    pub ip_proto: u8,
    /// TTL / hop limit.
    pub ttl: u8,
    /// IP total length.
    pub ip_len: u16,
    /// IPv4 options present, as [`ip_options`] bits.
    pub ip_options: u16,
    /// IPv4 fragment bits (see `sensor_rules::ir::frag_bits`).
    pub frag_bits: u8,
    /// TCP flags (see `sensor_rules::ir::tcp_flags`); `None` if not TCP.
    pub tcp_flags: Option<u8>,
    /// TCP window.
    pub tcp_window: Option<u16>,
    /// TCP sequence number.
    pub tcp_seq: Option<u32>,
    /// TCP acknowledgement number.
    pub tcp_ack: Option<u32>,
    /// ICMP type.
    pub icmp_type: Option<u8>,
    /// ICMP code.
    pub icmp_code: Option<u8>,
    /// Direction within the flow.
    pub direction: FlowDir,
    /// Whether the flow is established.
    pub established: bool,
    /// Payload size in bytes (`dsize`).
    pub payload_len: u32,
    /// Capture time, nanoseconds since any fixed epoch: drives rate
    /// windows, so replays are deterministic.
    pub timestamp_ns: u64,
    /// A flow identifier (for rates tracked `by_flow`).
    pub flow_id: u64,
    /// HTTP response status.
    pub http_status: Option<u16>,
    /// TLS version as on the wire (`0x0303` = TLS 1.2).
    pub tls_version: Option<u16>,
    /// DNS query type.
    pub dns_type: Option<u16>,
    /// A TLS input is a ClientHello.
    pub tls_client_hello: bool,
    /// A DNS input is a query (QR bit clear), not a response.
    pub dns_query: bool,
}

impl Default for PacketMeta {
    fn default() -> Self {
        PacketMeta {
            kind: InputKind::Packet,
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            src_port: None,
            dst_port: None,
            ip_proto: 0,
            ttl: 64,
            ip_len: 0,
            ip_options: 0,
            frag_bits: 0,
            tcp_flags: None,
            tcp_window: None,
            tcp_seq: None,
            tcp_ack: None,
            icmp_type: None,
            icmp_code: None,
            direction: FlowDir::Unknown,
            established: false,
            payload_len: 0,
            timestamp_ns: 0,
            flow_id: 0,
            http_status: None,
            tls_version: None,
            dns_type: None,
            tls_client_hello: false,
            dns_query: false,
        }
    }
}

macro_rules! buffer_ids {
    ($($(#[$doc:meta])* $name:ident = $s:literal,)*) => {
        /// A single-instance inspected buffer, read with [`Input::buffer`].
        ///
        /// Repeated buffers (each header name and value, each ALPN entry)
        /// are read with [`Input::header`] and [`Input::alpn`] instead.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum BufferId {
            $($(#[$doc])* $name,)*
        }

        impl BufferId {
            /// Every buffer, in index order.
            pub const ALL: &'static [BufferId] = &[$(BufferId::$name,)*];
            /// Number of buffers.
            pub const COUNT: usize = Self::ALL.len();

            /// The Suricata buffer name (`http.uri`).
            pub fn name(self) -> &'static str {
                match self { $(BufferId::$name => $s,)* }
            }
        }
    };
}

buffer_ids! {
    /// Packet payload (or, for a transaction, its raw bytes if the caller
    /// has them).
    Payload = "payload",
    /// `http.method`
    HttpMethod = "http.method",
    /// `http.uri` (normalized)
    HttpUri = "http.uri",
    /// `http.uri.raw`
    HttpUriRaw = "http.uri.raw",
    /// `http.host` (normalized: lowercase, no port)
    HttpHost = "http.host",
    /// `http.host.raw`
    HttpHostRaw = "http.host.raw",
    /// `http.user_agent`
    HttpUserAgent = "http.user_agent",
    /// `http.header`: `Name: value\r\n` for each header (normalized)
    HttpHeader = "http.header",
    /// `http.header.raw`
    HttpHeaderRaw = "http.header.raw",
    /// `http.header_names`: `\r\nName1\r\nName2\r\n\r\n`
    HttpHeaderNames = "http.header_names",
    /// `http.cookie` (Cookie or Set-Cookie value)
    HttpCookie = "http.cookie",
    /// `http.request_line`
    HttpRequestLine = "http.request_line",
    /// `http.protocol`
    HttpProtocol = "http.protocol",
    /// `http.stat_code`
    HttpStatCode = "http.stat_code",
    /// `http.stat_msg`
    HttpStatMsg = "http.stat_msg",
    /// `http.response_line`
    HttpResponseLine = "http.response_line",
    /// `http.content_type`
    HttpContentType = "http.content_type",
    /// `http.content_len`
    HttpContentLen = "http.content_len",
    /// `http.connection`
    HttpConnection = "http.connection",
    /// `http.accept`
    HttpAccept = "http.accept",
    /// `http.accept_lang`
    HttpAcceptLang = "http.accept_lang",
    /// `http.accept_enc`
    HttpAcceptEnc = "http.accept_enc",
    /// `http.referer`
    HttpReferer = "http.referer",
    /// `tls.sni`
    TlsSni = "tls.sni",
    /// `dns.query` (dotted name)
    DnsQuery = "dns.query",
}

impl BufferId {
    /// A dense index (0..[`BufferId::COUNT`]).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether only HTTP requests have this buffer: the engine ignores it
    /// on a response (and the rules using it never meet responses).
    pub fn is_request_only(self) -> bool {
        matches!(
            self,
            BufferId::HttpMethod
                | BufferId::HttpUri
                | BufferId::HttpUriRaw
                | BufferId::HttpRequestLine
        )
    }

    /// Whether only HTTP responses have this buffer.
    pub fn is_response_only(self) -> bool {
        matches!(
            self,
            BufferId::HttpStatCode | BufferId::HttpStatMsg | BufferId::HttpResponseLine
        )
    }
}

/// A packet or transaction as the engine sees it.
///
/// Implement it over whatever the parsers produce; every method returns
/// borrowed data, so inspection allocates nothing.
///
/// ```
/// use sensor_engine::{BufferId, Input, InputKind, PacketMeta};
///
/// struct Request<'a> {
///     meta: PacketMeta,
///     uri: &'a [u8],
///     headers: &'a [(&'a [u8], &'a [u8])],
/// }
///
/// impl Input for Request<'_> {
///     fn meta(&self) -> &PacketMeta {
///         &self.meta
///     }
///     fn buffer(&self, id: BufferId) -> Option<&[u8]> {
///         match id {
///             BufferId::HttpUri | BufferId::HttpUriRaw => Some(self.uri),
///             _ => None,
///         }
///     }
///     fn header_count(&self) -> usize {
///         self.headers.len()
///     }
///     fn header(&self, i: usize) -> (&[u8], &[u8]) {
///         self.headers[i]
///     }
/// }
///
/// let headers: &[(&[u8], &[u8])] = &[(b"Host", b"example.com")];
/// let req = Request {
///     meta: PacketMeta { kind: InputKind::HttpRequest, ..PacketMeta::default() },
///     uri: b"/index.html",
///     headers,
/// };
/// assert_eq!(req.buffer(BufferId::HttpUri), Some(&b"/index.html"[..]));
/// ```
pub trait Input {
    /// The packet metadata.
    fn meta(&self) -> &PacketMeta;

    /// The bytes of a single-instance buffer; `None` when the input has no
    /// such buffer (a rule inspecting it does not match, even with only
    /// negated contents).
    fn buffer(&self, id: BufferId) -> Option<&[u8]>;

    /// Number of headers (HTTP), for the repeated name/value buffers.
    fn header_count(&self) -> usize {
        0
    }

    /// The `index`-th header as (name, value), `index < header_count()`.
    fn header(&self, index: usize) -> (&[u8], &[u8]) {
        let _ = index;
        (&[], &[])
    }

    /// Number of ALPN protocols (TLS ClientHello).
    fn alpn_count(&self) -> usize {
        0
    }

    /// The `index`-th ALPN protocol, `index < alpn_count()`.
    fn alpn(&self, index: usize) -> &[u8] {
        let _ = index;
        &[]
    }
}

/// The buffer as the engine reads it: HTTP request-only buffers are absent
/// from responses and response-only buffers from requests, whatever the
/// input returns, so that rules grouped by transaction kind and rules
/// checked without grouping see the same thing.
pub(crate) fn view<I: Input + ?Sized>(input: &I, id: BufferId) -> Option<&[u8]> {
    if has_buffer(input.meta().kind, id) {
        input.buffer(id)
    } else {
        None
    }
}

/// Whether inputs of `kind` may have buffer `id` ([`view`]).
pub(crate) fn has_buffer(kind: InputKind, id: BufferId) -> bool {
    match kind {
        InputKind::HttpRequest => !id.is_response_only(),
        InputKind::HttpResponse => !id.is_request_only(),
        _ => true,
    }
}
