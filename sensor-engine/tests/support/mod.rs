//! Test inputs: an owned implementation of the engine's `Input` seam, a
//! small HTTP request/response splitter, and a classic-pcap reader that
//! pulls TCP payloads out of the shared captures.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;
use std::path::PathBuf;

use sensor_engine::{BufferId, FlowDir, Input, InputKind, PacketMeta};
use sensor_rules::{LoadOptions, RuleSet, ir::Rule};

/// An input owning its buffers: ranges of `store`. Those of an HTTP
/// message that are bytes of its head are slices of one copy of it (at
/// the start of `store`), as sensor-pipeline presents them: the engine
/// scans such parts within their container (the method within the
/// request line).
#[derive(Clone, Debug)]
pub struct TestInput {
    pub meta: PacketMeta,
    /// The message head, if any, then the bytes of the other buffers.
    store: Vec<u8>,
    /// By [`BufferId`] index: where the buffer is in `store`.
    pub bufs: Vec<Option<Range<usize>>>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub alpn: Vec<Vec<u8>>,
}

impl Input for TestInput {
    fn meta(&self) -> &PacketMeta {
        &self.meta
    }
    fn buffer(&self, id: BufferId) -> Option<&[u8]> {
        let r = self.bufs[id.index()].as_ref()?;
        Some(&self.store[r.start..r.end])
    }
    fn header_count(&self) -> usize {
        self.headers.len()
    }
    fn header(&self, i: usize) -> (&[u8], &[u8]) {
        (&self.headers[i].0, &self.headers[i].1)
    }
    fn alpn_count(&self) -> usize {
        self.alpn.len()
    }
    fn alpn(&self, i: usize) -> &[u8] {
        &self.alpn[i]
    }
}

pub const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10));
pub const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(93, 184, 216, 34));

impl TestInput {
    /// A client-to-server input of `kind` over TCP on an established flow,
    /// 192.168.1.10:49152 -> 93.184.216.34:80.
    pub fn new(kind: InputKind) -> Self {
        TestInput {
            meta: PacketMeta {
                kind,
                src: CLIENT,
                dst: SERVER,
                src_port: Some(49152),
                dst_port: Some(80),
                ip_proto: 6,
                tcp_flags: Some(0x18),
                tcp_window: Some(64240),
                tcp_seq: Some(1),
                tcp_ack: Some(1),
                direction: FlowDir::ToServer,
                established: true,
                ..PacketMeta::default()
            },
            store: Vec::new(),
            bufs: vec![None; BufferId::COUNT],
            headers: Vec::new(),
            alpn: Vec::new(),
        }
    }

    /// A TCP packet carrying `payload`.
    pub fn packet(payload: &[u8]) -> Self {
        let mut t = TestInput::new(InputKind::Packet);
        t.meta.payload_len = payload.len() as u32;
        t.set(BufferId::Payload, payload);
        t
    }

    /// Sets buffer `id` to a copy of `bytes` (of its own: it lies within
    /// no other buffer).
    pub fn set(&mut self, id: BufferId, bytes: &[u8]) -> &mut Self {
        let start = self.store.len();
        self.store.extend_from_slice(bytes);
        self.bufs[id.index()] = Some(start..self.store.len());
        self
    }

    /// Starts an HTTP message input's store with its head.
    fn with_head(mut self, head: &[u8]) -> Self {
        assert!(self.store.is_empty());
        self.store = head.to_vec();
        self
    }

    /// Sets buffer `id` to `bytes`: if it is a slice of `head` (of which
    /// the store begins with a copy), the same range of the store.
    fn set_from(&mut self, head: &[u8], id: BufferId, bytes: &[u8]) -> &mut Self {
        debug_assert_eq!(self.store.get(..head.len()), Some(head));
        let (h, b) = (head.as_ptr() as usize, bytes.as_ptr() as usize);
        if h <= b && b + bytes.len() <= h + head.len() {
            self.bufs[id.index()] = Some(b - h..b - h + bytes.len());
            self
        } else {
            self.set(id, bytes)
        }
    }

    /// Every buffer's bytes, by [`BufferId`] index.
    pub fn buffers(&self) -> impl Iterator<Item = Option<&[u8]>> {
        BufferId::ALL.iter().map(|&id| self.buffer(id))
    }

    /// Swaps source and destination (and the direction).
    pub fn reversed(mut self) -> Self {
        let m = &mut self.meta;
        std::mem::swap(&mut m.src, &mut m.dst);
        std::mem::swap(&mut m.src_port, &mut m.dst_port);
        m.direction = match m.direction {
            FlowDir::ToServer => FlowDir::ToClient,
            FlowDir::ToClient => FlowDir::ToServer,
            FlowDir::Unknown => FlowDir::Unknown,
        };
        self
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

/// Fills header-derived buffers shared by requests and responses, from
/// `head`, with which `t`'s store begins.
fn set_headers(t: &mut TestInput, head: &[u8]) {
    let mut lines = head
        .split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let _first = lines.next();
    let mut raw = Vec::new();
    let mut norm = Vec::new();
    let mut names = b"\r\n".to_vec();
    for line in lines {
        if line.is_empty() {
            break;
        }
        raw.extend_from_slice(line);
        raw.extend_from_slice(b"\r\n");
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let name = trim(&line[..colon]);
        let value = trim(&line[colon + 1..]);
        names.extend_from_slice(name);
        names.extend_from_slice(b"\r\n");
        let lname = name.to_ascii_lowercase();
        let id = match lname.as_slice() {
            b"host" => {
                t.set_from(head, BufferId::HttpHostRaw, value);
                let host = value
                    .split(|&c| c == b':')
                    .next()
                    .unwrap_or(&[])
                    .to_ascii_lowercase();
                t.set(BufferId::HttpHost, &host);
                None
            }
            b"user-agent" => Some(BufferId::HttpUserAgent),
            b"cookie" | b"set-cookie" => Some(BufferId::HttpCookie),
            b"content-type" => Some(BufferId::HttpContentType),
            b"content-length" => Some(BufferId::HttpContentLen),
            b"connection" => Some(BufferId::HttpConnection),
            b"accept" => Some(BufferId::HttpAccept),
            b"accept-language" => Some(BufferId::HttpAcceptLang),
            b"accept-encoding" => Some(BufferId::HttpAcceptEnc),
            b"referer" => Some(BufferId::HttpReferer),
            _ => None,
        };
        if let Some(id) = id {
            t.set_from(head, id, value);
        }
        // Suricata leaves Cookie out of the normalized header buffer.
        if lname != b"cookie" && lname != b"set-cookie" {
            norm.extend_from_slice(name);
            norm.extend_from_slice(b": ");
            norm.extend_from_slice(value);
            norm.extend_from_slice(b"\r\n");
        }
        t.headers.push((name.to_vec(), value.to_vec()));
    }
    names.extend_from_slice(b"\r\n");
    norm.extend_from_slice(b"\r\n");
    t.set(BufferId::HttpHeader, &norm);
    // The raw block as the head holds it when its lines end in CRLF.
    let after_line = head
        .iter()
        .position(|&c| c == b'\n')
        .map_or(head.len(), |i| i + 1);
    match head[after_line..].get(..raw.len()) {
        Some(in_head) if in_head == raw.as_slice() => {
            t.set_from(head, BufferId::HttpHeaderRaw, in_head)
        }
        _ => t.set(BufferId::HttpHeaderRaw, &raw),
    };
    t.set(BufferId::HttpHeaderNames, &names);
}

/// Splits an HTTP request head (request line and headers) into buffers.
pub fn http_request(head: &[u8]) -> Option<TestInput> {
    let line_end = head.iter().position(|&c| c == b'\n')?;
    let line = head[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&head[..line_end]);
    let mut parts = line.splitn(3, |&c| c == b' ');
    let method = parts.next()?;
    let uri = parts.next()?;
    let proto = parts.next().unwrap_or(b"");
    if method.is_empty() || !method.iter().all(|c| c.is_ascii_uppercase()) || uri.is_empty() {
        return None;
    }
    let mut t = TestInput::new(InputKind::HttpRequest).with_head(head);
    t.set_from(head, BufferId::HttpMethod, method)
        .set_from(head, BufferId::HttpUriRaw, uri)
        // As sensor-pipeline's: a buffer of its own, normalized or not.
        .set(BufferId::HttpUri, &normalize_uri(uri))
        .set_from(head, BufferId::HttpProtocol, proto)
        .set_from(head, BufferId::HttpRequestLine, line);
    set_headers(&mut t, head);
    t.set_from(head, BufferId::Payload, head);
    t.meta.payload_len = head.len() as u32;
    Some(t)
}

/// Splits an HTTP response head into buffers.
pub fn http_response(head: &[u8]) -> Option<TestInput> {
    let line_end = head.iter().position(|&c| c == b'\n')?;
    let line = head[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&head[..line_end]);
    if !line.starts_with(b"HTTP/") {
        return None;
    }
    let mut parts = line.splitn(3, |&c| c == b' ');
    let proto = parts.next()?;
    let code = parts.next().unwrap_or(b"");
    let msg = parts.next().unwrap_or(b"");
    let mut t = TestInput::new(InputKind::HttpResponse)
        .reversed()
        .with_head(head);
    t.set_from(head, BufferId::HttpProtocol, proto)
        .set_from(head, BufferId::HttpStatCode, code)
        .set_from(head, BufferId::HttpStatMsg, msg)
        .set_from(head, BufferId::HttpResponseLine, line);
    t.meta.http_status = std::str::from_utf8(code).ok().and_then(|c| c.parse().ok());
    set_headers(&mut t, head);
    t.set_from(head, BufferId::Payload, head);
    t.meta.payload_len = head.len() as u32;
    Some(t)
}

/// Percent-decoding of unreserved characters, as a light normalization.
fn normalize_uri(uri: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(uri.len());
    let mut i = 0;
    while i < uri.len() {
        if uri[i] == b'%'
            && i + 2 < uri.len()
            && let Ok(s) = std::str::from_utf8(&uri[i + 1..i + 3])
            && let Ok(v) = u8::from_str_radix(s, 16)
            && (v.is_ascii_alphanumeric() || b"-._~".contains(&v))
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(uri[i]);
        i += 1;
    }
    out
}

/// A TLS ClientHello input with this SNI (and ALPN).
pub fn tls_client_hello(sni: &[u8], alpn: &[&[u8]]) -> TestInput {
    let mut t = TestInput::new(InputKind::Tls);
    t.meta.dst_port = Some(443);
    t.meta.tls_version = Some(0x0303);
    t.meta.tls_client_hello = true;
    t.set(BufferId::TlsSni, sni);
    t.alpn = alpn.iter().map(|a| a.to_vec()).collect();
    t
}

/// A DNS query input (over UDP to port 53).
pub fn dns_query(name: &[u8], qtype: u16) -> TestInput {
    let mut t = TestInput::new(InputKind::Dns);
    t.meta.ip_proto = 17;
    t.meta.tcp_flags = None;
    t.meta.tcp_window = None;
    t.meta.tcp_seq = None;
    t.meta.tcp_ack = None;
    t.meta.dst_port = Some(53);
    t.meta.dns_type = Some(qtype);
    t.meta.dns_query = true;
    t.set(BufferId::DnsQuery, name);
    t
}

pub fn shared(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/")).join(rel)
}

/// Frames of a capture file, classic pcap or pcapng, as (link type,
/// bytes), in capture order. pcapng: section headers (either byte order),
/// interface descriptions (their link types), enhanced and simple packet
/// blocks; other blocks are skipped.
pub fn capture_frames(data: &[u8]) -> Vec<(u32, &[u8])> {
    let mut out = Vec::new();
    if data.len() < 24 {
        return out;
    }
    let u32of = |b: &[u8], le: bool| {
        let a = [b[0], b[1], b[2], b[3]];
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    if data[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
        let mut le = true;
        let mut links: Vec<u32> = Vec::new();
        let mut pos = 0;
        while pos + 12 <= data.len() {
            if data[pos..pos + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
                le = data[pos + 8..pos + 12] == [0x4d, 0x3c, 0x2b, 0x1a];
                links.clear();
            }
            let ty = u32of(&data[pos..], le);
            let len = u32of(&data[pos + 4..], le) as usize;
            if len < 12 || pos + len > data.len() {
                break;
            }
            let body = &data[pos + 8..pos + len - 4];
            match ty {
                1 if body.len() >= 8 => {
                    let a = [body[0], body[1]];
                    let link = if le {
                        u16::from_le_bytes(a)
                    } else {
                        u16::from_be_bytes(a)
                    };
                    links.push(u32::from(link));
                }
                6 if body.len() >= 20 => {
                    let iface = u32of(body, le) as usize;
                    let caplen = u32of(&body[12..], le) as usize;
                    if let (Some(&link), Some(frame)) =
                        (links.get(iface), body.get(20..20 + caplen))
                    {
                        out.push((link, frame));
                    }
                }
                3 if body.len() >= 4 => {
                    if let Some(&link) = links.first() {
                        out.push((link, &body[4..]));
                    }
                }
                _ => {}
            }
            pos += len;
        }
        return out;
    }
    let le = match &data[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => return out,
    };
    let linktype = u32of(&data[20..24], le);
    let mut pos = 24;
    while pos + 16 <= data.len() {
        let caplen = u32of(&data[pos + 8..pos + 12], le) as usize;
        let start = pos + 16;
        pos = start + caplen;
        if pos > data.len() {
            break;
        }
        out.push((linktype, &data[start..pos]));
    }
    out
}

/// The TCP payload of a frame (Ethernet or raw IP; IPv4, or IPv6 without
/// extension headers), if it has one.
pub fn frame_tcp_payload(linktype: u32, frame: &[u8]) -> Option<&[u8]> {
    let (ethertype, ip) = match linktype {
        1 if frame.len() > 14 => ([frame[12], frame[13]], &frame[14..]),
        101 | 228 => ([0x08, 0x00], frame),
        _ => return None,
    };
    let tcp = match ethertype {
        [0x08, 0x00] if ip.len() >= 20 && ip[0] >> 4 == 4 && ip[9] == 6 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
            if total < ihl + 20 {
                return None;
            }
            &ip[ihl..total]
        }
        [0x86, 0xdd] if ip.len() >= 60 && ip[6] == 6 => {
            let len = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            &ip[40..(40 + len).min(ip.len())]
        }
        _ => return None,
    };
    if tcp.len() < 20 {
        return None;
    }
    let off = usize::from(tcp[12] >> 4) * 4;
    (tcp.len() > off).then(|| &tcp[off..])
}

/// TCP payloads of a capture file (classic pcap or pcapng), in capture
/// order.
pub fn pcap_tcp_payloads(path: &std::path::Path) -> Vec<Vec<u8>> {
    let Ok(data) = std::fs::read(path) else {
        return Vec::new();
    };
    capture_frames(&data)
        .into_iter()
        .filter_map(|(link, frame)| frame_tcp_payload(link, frame).map(<[u8]>::to_vec))
        .collect()
}

/// HTTP request and response heads found at the start of TCP payloads of
/// the shared captures `names` (under `pcaps/`).
pub fn http_inputs_of(names: &[&str]) -> Vec<TestInput> {
    let mut out = Vec::new();
    for name in names {
        for p in pcap_tcp_payloads(&shared(&format!("pcaps/{name}"))) {
            let head_end = p
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(p.len(), |e| e + 4);
            let head = &p[..head_end];
            if let Some(t) = http_request(head).or_else(|| http_response(head)) {
                out.push(t);
            }
        }
    }
    out
}

/// HTTP request and response heads of the synthetic and scan captures
/// (zeek's 1,000 requests, nDPI's web RCE scan): short heads.
pub fn pcap_http_inputs() -> Vec<TestInput> {
    http_inputs_of(&[
        "zeek_1000-requests-one-dropped-response.pcap",
        "ndpi_WebattackRCE.pcap",
    ])
}

/// HTTP request and response heads of a real browser session (browsing
/// espn.com; pcapng): request heads of 400-600 bytes with cookies.
pub fn browser_http_inputs() -> Vec<TestInput> {
    http_inputs_of(&["cs_http_espn.pcapng"])
}

/// Loads rules from text.
pub fn rules(text: &str) -> Vec<Rule> {
    let (set, diags) = RuleSet::load_str("test.rules", text, &LoadOptions::default());
    for d in &diags {
        assert!(
            d.level != sensor_rules::Level::Error,
            "rule does not load: {d}"
        );
    }
    set.into_rules()
}

/// `n` of `rules` spread evenly over them (ET Open's files are sorted by
/// topic, so the first `n` would be a few topics).
pub fn spread_sample(rules: &[Rule], n: usize) -> Vec<Rule> {
    (0..n).map(|i| rules[i * rules.len() / n].clone()).collect()
}

/// The buffers `rule` inspects, by name (`http.uri`, ...).
fn buffers_of(rule: &Rule) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    rule.condition.for_each_predicate(&mut |p| {
        if let sensor_rules::ir::Predicate::Buffer(b) = p {
            names.insert(b.buffer.name());
        }
    });
    names
}

/// The buffers `engine` scans with a prefilter, in any group, by name.
pub fn scanned_buffers(engine: &sensor_engine::Engine) -> std::collections::BTreeSet<String> {
    engine
        .stats()
        .groups
        .iter()
        .flat_map(|g| g.scans.iter().map(|s| s.slot.name().to_owned()))
        .collect()
}

/// The rules of `rules` that inspect no buffer outside `names`. With the
/// buffers a small sample's engine scans ([`scanned_buffers`]), a large
/// set whose cost can be set against the sample's on the same bytes: how
/// the cost grows with a buffer's literals, apart from the buffers that
/// more rules name.
pub fn within_buffers(rules: &[Rule], names: &std::collections::BTreeSet<String>) -> Vec<Rule> {
    rules
        .iter()
        .filter(|r| buffers_of(r).is_subset(names))
        .cloned()
        .collect()
}

/// Loads ET Open rule files (by file name).
pub fn et_open(files: &[&str]) -> Vec<Rule> {
    let paths: Vec<PathBuf> = files
        .iter()
        .map(|f| shared(&format!("rules/et-open/{f}")))
        .filter(|p| p.is_file())
        .collect();
    let (set, _) = RuleSet::load(&paths, &LoadOptions::default());
    set.into_rules()
}

/// SNI and ALPN of a TLS ClientHello at the start of a TCP payload.
pub fn parse_client_hello(p: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let get = |i: usize| p.get(i).copied();
    let u16at = |i: usize| Some(usize::from(u16::from_be_bytes([get(i)?, get(i + 1)?])));
    if get(0)? != 0x16 || get(1)? != 0x03 || get(5)? != 0x01 {
        return None;
    }
    let mut i = 5 + 4 + 2 + 32;
    i += 1 + usize::from(get(i)?);
    i += 2 + u16at(i)?;
    i += 1 + usize::from(get(i)?);
    let ext_end = (i + 2 + u16at(i)?).min(p.len());
    i += 2;
    let (mut sni, mut alpn) = (Vec::new(), Vec::new());
    while i + 4 <= ext_end {
        let (ty, len) = (u16at(i)?, u16at(i + 2)?);
        let body = p.get(i + 4..i + 4 + len)?;
        match ty {
            0 if body.len() > 5 => {
                let n = usize::from(u16::from_be_bytes([body[3], body[4]]));
                sni = body.get(5..5 + n)?.to_vec();
            }
            16 if body.len() > 2 => {
                let mut j = 2;
                while j < body.len() {
                    let n = usize::from(body[j]);
                    alpn.push(body.get(j + 1..j + 1 + n)?.to_vec());
                    j += 1 + n;
                }
            }
            _ => {}
        }
        i += 4 + len;
    }
    (!sni.is_empty()).then_some((sni, alpn))
}

/// TLS ClientHello inputs from the shared classic pcaps.
pub fn pcap_tls_inputs() -> Vec<TestInput> {
    let mut out = Vec::new();
    for name in ["ndpi_teams.pcap", "ndpi_telegram.pcap"] {
        for p in pcap_tcp_payloads(&shared(&format!("pcaps/{name}"))) {
            if let Some((sni, alpn)) = parse_client_hello(&p) {
                let alpn: Vec<&[u8]> = alpn.iter().map(Vec::as_slice).collect();
                let mut t = tls_client_hello(&sni, &alpn);
                t.set(BufferId::Payload, &p);
                out.push(t);
            }
        }
    }
    out
}
