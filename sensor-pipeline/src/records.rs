//! Turns what the protocol parsers produced (`sensor-proto`) into the
//! records the outputs serialize (`sensor-output`): the application-layer
//! details of an alert and the EVE `http` header log.

use sensor_output::{DnsInfo, FlowCounters, Header, HttpInfo, HttpLog, Proto, TlsInfo};
use sensor_proto::{
    AppProto, Flow,
    dns::{DnsMessage, rrtype_name},
    http::{HttpRequest, HttpResponse},
    tls::ClientHello,
};
use time::OffsetDateTime;

/// Packet time (nanoseconds since the epoch, from the capture) as UTC.
pub fn timestamp(ts_ns: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ts_ns as i128).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The HTTP section of an alert or header-log record.
pub fn http_info(request: Option<&HttpRequest>, response: Option<&HttpResponse>) -> HttpInfo {
    let mut info = HttpInfo::default();
    if let Some(req) = request {
        // Suricata logs libhtp's normalized host: lowercase, no port.
        info.hostname = req.hostname().map(text);
        info.url = Some(text(req.uri_raw()));
        info.user_agent = req.user_agent().map(text);
        info.method = Some(text(req.method()));
        info.protocol = Some(text(req.protocol()));
        info.referer = req.referer().map(text);
        info.request_headers = req
            .headers
            .iter()
            .map(|(n, v)| Header::new(text(n), text(v)))
            .collect();
    }
    if let Some(resp) = response {
        info.status = Some(resp.status_code);
        info.length = resp.content_length;
        info.content_type = resp.content_type().map(text);
        info.response_headers = resp
            .headers
            .iter()
            .map(|(n, v)| Header::new(text(n), text(v)))
            .collect();
        if info.protocol.is_none() {
            info.protocol = Some(text(resp.protocol()));
        }
    }
    info
}

/// The TLS section of an alert.
pub fn tls_info(hello: &ClientHello) -> TlsInfo {
    TlsInfo {
        sni: hello.sni.as_deref().map(text),
        version: Some(hello.version_name().to_string()),
        ja3_hash: Some(hello.ja3_hash.clone()),
        ja3_string: Some(hello.ja3.clone()),
        ja4: Some(hello.ja4.clone()),
    }
}

/// The DNS section of an alert, from the message's first question.
pub fn dns_info(message: &DnsMessage) -> Option<DnsInfo> {
    let q = message.questions.first()?;
    Some(DnsInfo {
        id: Some(message.id),
        query_name: text(&q.name),
        query_type: rrtype_name(q.qtype)
            .map(str::to_string)
            .unwrap_or_else(|| format!("TYPE{}", q.qtype)),
    })
}

/// Flow counters as EVE's `flow` object.
pub fn flow_counters(flow: &Flow) -> FlowCounters {
    FlowCounters {
        pkts_toserver: flow.packets[0],
        pkts_toclient: flow.packets[1],
        bytes_toserver: flow.bytes[0],
        bytes_toclient: flow.bytes[1],
        start: timestamp(flow.first_ts_ns),
    }
}

/// EVE's `app_proto` for a flow.
pub fn app_proto(flow: &Flow) -> Option<String> {
    match flow.app_proto() {
        AppProto::Http => Some("http".into()),
        AppProto::Tls => Some("tls".into()),
        AppProto::Dns => Some("dns".into()),
        AppProto::Failed => Some("failed".into()),
        AppProto::Unknown => None,
    }
}

/// The transport protocol as the outputs name it.
pub fn proto(number: u8) -> Proto {
    Proto::from_number(number)
}

/// One EVE `http` header-log record for a completed transaction.
pub fn http_log(
    flow: &Flow,
    request: &HttpRequest,
    response: Option<&HttpResponse>,
    iface: Option<&str>,
) -> HttpLog {
    HttpLog {
        timestamp: timestamp(request.ts_ns),
        flow_id: flow.id,
        in_iface: iface.map(str::to_string),
        src_ip: flow.client,
        src_port: flow.client_port,
        dst_ip: flow.server,
        dst_port: flow.server_port,
        community_id: Some(flow.community_id().to_string()),
        tx_id: request.tx_id,
        http: http_info(Some(request), response),
        latency_us: response.map(|r| r.ts_ns.saturating_sub(request.ts_ns) / 1000),
    }
}
