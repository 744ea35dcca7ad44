//! Serialization to Suricata's EVE JSON: field names and shapes as in
//! Suricata's schema (`shared/schemas/suricata-eve.schema.json`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};
use time::{OffsetDateTime, UtcOffset};

use crate::alert::{Alert, FlowCounters, Header, HttpInfo};
use crate::http_log::HttpLog;
use crate::mask::HeaderMask;

/// Formats an instant the way Suricata does: UTC, microseconds, `+0000`,
/// e.g. `2026-01-02T03:04:05.678901+0000`.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+0000",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// Turns alerts and HTTP transactions into EVE JSON lines (without the
/// trailing newline), masking header values with its [`HeaderMask`].
#[derive(Clone, Debug, Default)]
pub struct EveFormatter {
    mask: HeaderMask,
}

impl EveFormatter {
    /// A formatter using `mask` for header values.
    pub fn new(mask: HeaderMask) -> EveFormatter {
        EveFormatter { mask }
    }

    /// The alert as one EVE JSON object (`event_type: "alert"`).
    pub fn alert(&self, alert: &Alert) -> String {
        serde_json::to_string(&EveAlert::new(alert, &self.mask))
            .expect("EVE records serialize: keys are strings, no maps with non-string keys")
    }

    /// The transaction as one EVE JSON object (`event_type: "http"`).
    pub fn http(&self, log: &HttpLog) -> String {
        let record = EveHttp {
            timestamp: Ts(log.timestamp),
            flow_id: log.flow_id,
            in_iface: log.in_iface.as_deref(),
            event_type: "http",
            src_ip: log.src_ip,
            src_port: log.src_port,
            dest_ip: log.dst_ip,
            dest_port: log.dst_port,
            proto: "TCP",
            community_id: log.community_id.as_deref(),
            tx_id: log.tx_id,
            http: EveHttpInfo::new(&log.http, &self.mask),
            metadata: log.latency_us.map(|us| EveMetadata {
                flowints: EveLatency {
                    http_latency_us: us,
                },
            }),
        };
        serde_json::to_string(&record).expect("EVE records serialize")
    }
}

impl Alert {
    /// This alert as one EVE JSON line, with the default header mask.
    pub fn to_eve_json(&self) -> String {
        EveFormatter::default().alert(self)
    }
}

struct Ts(OffsetDateTime);

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_timestamp(self.0))
    }
}

#[derive(Serialize)]
struct EveAlert<'a> {
    timestamp: Ts,
    flow_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_iface: Option<&'a str>,
    event_type: &'static str,
    src_ip: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_port: Option<u16>,
    dest_ip: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    dest_port: Option<u16>,
    proto: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_proto: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    community_id: Option<&'a str>,
    alert: EveAlertBody<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<EveHttpInfo<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<EveTls<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dns: Option<EveDns<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flow: Option<EveFlow>,
}

impl<'a> EveAlert<'a> {
    fn new(a: &'a Alert, mask: &'a HeaderMask) -> EveAlert<'a> {
        EveAlert {
            timestamp: Ts(a.timestamp),
            flow_id: a.flow_id,
            in_iface: a.in_iface.as_deref(),
            event_type: "alert",
            src_ip: a.src_ip,
            src_port: a.src_port,
            dest_ip: a.dst_ip,
            dest_port: a.dst_port,
            proto: a.proto.to_string(),
            app_proto: a.app_proto.as_deref(),
            community_id: a.community_id.as_deref(),
            alert: EveAlertBody {
                action: a.action.as_str(),
                gid: a.gid,
                signature_id: a.sid,
                rev: a.rev,
                signature: &a.signature,
                category: &a.category,
                severity: a.severity,
                metadata: (!a.metadata.is_empty()).then_some(&a.metadata),
            },
            http: a.http.as_ref().map(|h| EveHttpInfo::new(h, mask)),
            tls: a.tls.as_ref().map(|t| EveTls {
                sni: t.sni.as_deref(),
                version: t.version.as_deref(),
                ja3: (t.ja3_hash.is_some() || t.ja3_string.is_some()).then_some(EveJa3 {
                    hash: t.ja3_hash.as_deref(),
                    string: t.ja3_string.as_deref(),
                }),
                ja4: t.ja4.as_deref(),
            }),
            dns: a.dns.as_ref().map(|d| EveDns {
                version: 3,
                kind: "request",
                id: d.id,
                queries: [EveDnsQuery {
                    rrname: &d.query_name,
                    rrtype: &d.query_type,
                }],
            }),
            flow: a.flow.as_ref().map(EveFlow::new),
        }
    }
}

#[derive(Serialize)]
struct EveAlertBody<'a> {
    action: &'static str,
    gid: u32,
    signature_id: u32,
    rev: u32,
    signature: &'a str,
    category: &'a str,
    severity: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a BTreeMap<String, Vec<String>>>,
}

#[derive(Serialize)]
struct EveHttpInfo<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_content_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_refer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_headers: Option<EveHeaders<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_headers: Option<EveHeaders<'a>>,
}

impl<'a> EveHttpInfo<'a> {
    /// Header arrays are printed only when they hold something: Suricata's
    /// schema requires at least one item (a request with no response yet
    /// has no response headers).
    fn new(h: &'a HttpInfo, mask: &'a HeaderMask) -> EveHttpInfo<'a> {
        let headers = |list: &'a [Header]| (!list.is_empty()).then_some(EveHeaders { list, mask });
        EveHttpInfo {
            hostname: h.hostname.as_deref(),
            url: h.url.as_deref(),
            http_user_agent: h.user_agent.as_deref(),
            http_content_type: h.content_type.as_deref(),
            http_refer: h.referer.as_deref(),
            http_method: h.method.as_deref(),
            protocol: h.protocol.as_deref(),
            status: h.status,
            length: h.length,
            request_headers: headers(&h.request_headers),
            response_headers: headers(&h.response_headers),
        }
    }
}

struct EveHeaders<'a> {
    list: &'a [Header],
    mask: &'a HeaderMask,
}

impl Serialize for EveHeaders<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct One<'b> {
            name: &'b str,
            value: &'b str,
        }
        let mut seq = s.serialize_seq(Some(self.list.len()))?;
        for h in self.list {
            let value = self.mask.value(h);
            seq.serialize_element(&One {
                name: &h.name,
                value: &value,
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct EveTls<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    sni: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja3: Option<EveJa3<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja4: Option<&'a str>,
}

#[derive(Serialize)]
struct EveJa3<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    string: Option<&'a str>,
}

/// Suricata 8's DNS v3 shape: `{"version":3,"type":"request","queries":[..]}`.
#[derive(Serialize)]
struct EveDns<'a> {
    version: u8,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u16>,
    queries: [EveDnsQuery<'a>; 1],
}

#[derive(Serialize)]
struct EveDnsQuery<'a> {
    rrname: &'a str,
    rrtype: &'a str,
}

#[derive(Serialize)]
struct EveFlow {
    pkts_toserver: u64,
    pkts_toclient: u64,
    bytes_toserver: u64,
    bytes_toclient: u64,
    start: String,
}

impl EveFlow {
    fn new(f: &FlowCounters) -> EveFlow {
        EveFlow {
            pkts_toserver: f.pkts_toserver,
            pkts_toclient: f.pkts_toclient,
            bytes_toserver: f.bytes_toserver,
            bytes_toclient: f.bytes_toclient,
            start: format_timestamp(f.start),
        }
    }
}

#[derive(Serialize)]
struct EveHttp<'a> {
    timestamp: Ts,
    flow_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_iface: Option<&'a str>,
    event_type: &'static str,
    src_ip: IpAddr,
    src_port: u16,
    dest_ip: IpAddr,
    dest_port: u16,
    proto: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    community_id: Option<&'a str>,
    tx_id: u64,
    http: EveHttpInfo<'a>,
    /// The transaction's latency. Suricata's schema closes the `http`
    /// object, and its `metadata.flowints` is the one open map of integers,
    /// so the latency goes there, where SIEM mappings of Suricata's EVE keep
    /// it.
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<EveMetadata>,
}

#[derive(Serialize)]
struct EveMetadata {
    flowints: EveLatency,
}

#[derive(Serialize)]
struct EveLatency {
    http_latency_us: u64,
}
