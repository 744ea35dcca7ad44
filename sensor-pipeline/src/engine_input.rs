//! The seam between the protocol parsers and the detection engine: a
//! `sensor_proto::Event` seen through `sensor_engine::Input`.

use std::net::IpAddr;

use sensor_engine::{BufferId, FlowDir, Input, InputKind, PacketMeta};
use sensor_packet::{Packet, Transport};
use sensor_proto::{Buffer, Event, Flow, Side, TcpState};

/// A packet or transaction as the engine inspects it. Built per event from
/// borrowed parts, so building it allocates nothing; the one synthesized
/// buffer (`http.header_names`) lives in a caller-owned, reused vector.
pub struct EventInput<'a> {
    meta: PacketMeta,
    event: &'a Event<'a>,
    payload: Option<&'a [u8]>,
    header_names: &'a [u8],
}

fn flow_dir(side: Option<Side>) -> FlowDir {
    match side {
        Some(Side::ToServer) => FlowDir::ToServer,
        Some(Side::ToClient) => FlowDir::ToClient,
        None => FlowDir::Unknown,
    }
}

/// Suricata's `established`: the TCP handshake completed (or the flow was
/// picked up mid-stream), or a UDP flow has seen both directions.
fn established(flow: Option<&Flow>) -> bool {
    let Some(flow) = flow else { return false };
    match flow.tcp_state {
        TcpState::Established | TcpState::Closing => true,
        TcpState::None => flow.packets[0] > 0 && flow.packets[1] > 0,
        _ => false,
    }
}

fn packet_meta(packet: &Packet<'_>, flow: Option<&Flow>, side: Option<Side>) -> PacketMeta {
    let mut meta = PacketMeta {
        kind: InputKind::Packet,
        src: packet.src,
        dst: packet.dst,
        ip_proto: packet.protocol,
        ttl: packet.ttl,
        ip_len: packet.wire_len.min(u16::MAX as u32) as u16,
        frag_bits: packet.ip_flags,
        direction: flow_dir(side),
        established: established(flow),
        payload_len: packet.payload_len,
        timestamp_ns: packet.ts_ns,
        flow_id: flow.map_or(0, |f| f.id),
        ..PacketMeta::default()
    };
    match packet.transport {
        Transport::Tcp(tcp) => {
            meta.src_port = Some(tcp.src_port);
            meta.dst_port = Some(tcp.dst_port);
            meta.tcp_flags = Some(tcp.flags.0);
            meta.tcp_window = Some(tcp.window);
            meta.tcp_seq = Some(tcp.seq);
            meta.tcp_ack = Some(tcp.ack);
        }
        Transport::Udp { src_port, dst_port } => {
            meta.src_port = Some(src_port);
            meta.dst_port = Some(dst_port);
        }
        Transport::Icmp { icmp_type, code } | Transport::Icmpv6 { icmp_type, code } => {
            meta.icmp_type = Some(icmp_type);
            meta.icmp_code = Some(code);
        }
        Transport::Other | Transport::Fragment => {}
    }
    meta
}

/// Metadata of a transaction travelling on `side` of `flow`.
fn transaction_meta(flow: &Flow, side: Side, kind: InputKind, ts_ns: u64) -> PacketMeta {
    let (src, sport, dst, dport): (IpAddr, u16, IpAddr, u16) = match side {
        Side::ToServer => (flow.client, flow.client_port, flow.server, flow.server_port),
        Side::ToClient => (flow.server, flow.server_port, flow.client, flow.client_port),
    };
    PacketMeta {
        kind,
        src,
        dst,
        src_port: Some(sport),
        dst_port: Some(dport),
        ip_proto: flow.protocol,
        direction: flow_dir(Some(side)),
        established: established(Some(flow)),
        timestamp_ns: ts_ns,
        flow_id: flow.id,
        ..PacketMeta::default()
    }
}

impl<'a> EventInput<'a> {
    /// The engine's view of `event`, or `None` for events the engine does not
    /// inspect (anomalies, flow ends). `header_names` is cleared and refilled
    /// with Suricata's `http.header_names` buffer for HTTP events.
    pub fn new(event: &'a Event<'a>, header_names: &'a mut Vec<u8>) -> Option<EventInput<'a>> {
        header_names.clear();
        let (meta, payload) = match *event {
            Event::Packet { packet, flow, side } => {
                (packet_meta(packet, flow, side), Some(packet.payload))
            }
            Event::HttpRequest { flow, request } => (
                transaction_meta(flow, Side::ToServer, InputKind::HttpRequest, request.ts_ns),
                None,
            ),
            Event::HttpResponse { flow, response, .. } => {
                let mut meta = transaction_meta(
                    flow,
                    Side::ToClient,
                    InputKind::HttpResponse,
                    response.ts_ns,
                );
                meta.http_status = Some(response.status_code);
                (meta, None)
            }
            Event::TlsClientHello { flow, hello } => {
                let mut meta =
                    transaction_meta(flow, Side::ToServer, InputKind::Tls, flow.last_ts_ns);
                meta.tls_version = Some(hello.version());
                meta.tls_client_hello = true;
                (meta, None)
            }
            Event::Dns {
                flow,
                side,
                message,
            } => {
                let mut meta = transaction_meta(flow, side, InputKind::Dns, flow.last_ts_ns);
                meta.dns_type = message.questions.first().map(|q| q.qtype);
                meta.dns_query = !message.is_response;
                (meta, None)
            }
            Event::Anomaly { .. } | Event::FlowEnd { .. } => return None,
        };
        let headers = match *event {
            Event::HttpResponse { response, .. } => Some(&response.headers),
            _ => event.http_request().map(|r| &r.headers),
        };
        if let Some(headers) = headers {
            // Suricata's layout: each name preceded by CRLF, closed by CRLF CRLF.
            for (name, _) in headers.iter() {
                header_names.extend_from_slice(b"\r\n");
                header_names.extend_from_slice(name);
            }
            header_names.extend_from_slice(b"\r\n\r\n");
        }
        Some(EventInput {
            meta,
            event,
            payload,
            header_names,
        })
    }

    fn header_block(&self) -> Option<&'a sensor_proto::http::HeaderBlock> {
        match *self.event {
            Event::HttpResponse { response, .. } => Some(&response.headers),
            Event::HttpRequest { request, .. } => Some(&request.headers),
            _ => None,
        }
    }
}

impl Input for EventInput<'_> {
    fn meta(&self) -> &PacketMeta {
        &self.meta
    }

    fn buffer(&self, id: BufferId) -> Option<&[u8]> {
        let response = matches!(self.event, Event::HttpResponse { .. });
        let mapped = match id {
            BufferId::Payload => return self.payload,
            BufferId::HttpHeaderNames => {
                return (!self.header_names.is_empty()).then_some(self.header_names);
            }
            BufferId::HttpConnection => return self.header_block()?.get(b"connection"),
            BufferId::HttpAccept => return self.header_block()?.get(b"accept"),
            BufferId::HttpAcceptLang => return self.header_block()?.get(b"accept-language"),
            BufferId::HttpAcceptEnc => return self.header_block()?.get(b"accept-encoding"),
            BufferId::HttpMethod => Buffer::HttpMethod,
            BufferId::HttpUri => Buffer::HttpUri,
            BufferId::HttpUriRaw => Buffer::HttpUriRaw,
            BufferId::HttpHost => Buffer::HttpHost,
            BufferId::HttpHostRaw => Buffer::HttpHostRaw,
            BufferId::HttpUserAgent => Buffer::HttpUserAgent,
            BufferId::HttpHeader if response => Buffer::HttpResponseHeader,
            BufferId::HttpHeader => Buffer::HttpRequestHeader,
            BufferId::HttpHeaderRaw if response => Buffer::HttpResponseHeaderRaw,
            BufferId::HttpHeaderRaw => Buffer::HttpRequestHeaderRaw,
            BufferId::HttpCookie => Buffer::HttpCookie,
            BufferId::HttpRequestLine => Buffer::HttpRequestLine,
            BufferId::HttpProtocol => Buffer::HttpProtocol,
            BufferId::HttpStatCode => Buffer::HttpStatCode,
            BufferId::HttpStatMsg => Buffer::HttpStatMsg,
            BufferId::HttpResponseLine => Buffer::HttpResponseLine,
            BufferId::HttpContentType => Buffer::HttpContentType,
            BufferId::HttpContentLen => Buffer::HttpContentLen,
            BufferId::HttpReferer => Buffer::HttpReferer,
            BufferId::TlsSni => Buffer::TlsSni,
            BufferId::DnsQuery => Buffer::DnsQuery,
        };
        self.event.buffer(mapped)
    }

    fn header_count(&self) -> usize {
        self.header_block().map_or(0, |h| h.len())
    }

    fn header(&self, index: usize) -> (&[u8], &[u8]) {
        self.header_block()
            .and_then(|h| h.field(index))
            .unwrap_or((&[], &[]))
    }

    fn alpn_count(&self) -> usize {
        match *self.event {
            Event::TlsClientHello { hello, .. } => hello.alpn.len(),
            _ => 0,
        }
    }

    fn alpn(&self, index: usize) -> &[u8] {
        match *self.event {
            Event::TlsClientHello { hello, .. } => hello.alpn.get(index).map_or(&[], Vec::as_slice),
            _ => &[],
        }
    }
}
