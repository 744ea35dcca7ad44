//! Events the driver emits, and the buffers the engine inspects in them.

use std::sync::Arc;

use sensor_packet::Packet;

use crate::anomaly::Anomaly;
use crate::app::dns::DnsMessage;
use crate::app::http::{HttpRequest, HttpResponse};
use crate::app::tls::ClientHello;
use crate::flow::{Flow, FlowEndReason, Side};

/// Something the pipeline observed. Borrowed: a sink that keeps data copies
/// what it needs (HTTP requests are `Arc`s and can be kept cheaply).
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// Every packet given to the driver, with its flow (when it has one),
    /// before the transactions it completed. For packet-level rules.
    Packet {
        /// The packet.
        packet: &'a Packet<'a>,
        /// Its flow (none for unreassembled fragments and ignored packets).
        flow: Option<&'a Flow>,
        /// Its direction in the flow.
        side: Option<Side>,
    },
    /// An HTTP request header block completed.
    HttpRequest {
        /// The flow.
        flow: &'a Flow,
        /// The request.
        request: &'a Arc<HttpRequest>,
    },
    /// An HTTP response header block completed.
    HttpResponse {
        /// The flow.
        flow: &'a Flow,
        /// The request it answers, when known.
        request: Option<&'a Arc<HttpRequest>>,
        /// The response.
        response: &'a HttpResponse,
    },
    /// A TLS ClientHello completed.
    TlsClientHello {
        /// The flow.
        flow: &'a Flow,
        /// The hello.
        hello: &'a ClientHello,
    },
    /// A DNS message (UDP datagram or TCP message).
    Dns {
        /// The flow.
        flow: &'a Flow,
        /// Direction.
        side: Side,
        /// The message.
        message: &'a DnsMessage,
    },
    /// An anomaly.
    Anomaly {
        /// The flow.
        flow: &'a Flow,
        /// Direction.
        side: Side,
        /// What.
        anomaly: Anomaly,
    },
    /// A flow ended; it is dropped after this event.
    FlowEnd {
        /// The flow, with its final counters.
        flow: &'a Flow,
        /// Why.
        reason: FlowEndReason,
    },
}

/// Receives events. Closures `FnMut(&Event)` are sinks.
pub trait EventSink {
    /// Called for every event, in order.
    fn on_event(&mut self, event: &Event<'_>);
}

impl<F: FnMut(&Event<'_>)> EventSink for F {
    fn on_event(&mut self, event: &Event<'_>) {
        self(event)
    }
}

/// The sticky buffers of rule languages (Suricata names in the docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Buffer {
    /// `http.method`
    HttpMethod,
    /// `http.uri` (normalized)
    HttpUri,
    /// `http.uri.raw`
    HttpUriRaw,
    /// `http.host`: normalized, lowercase without the port
    /// ([`HttpRequest::hostname`])
    HttpHost,
    /// `http.host.raw`: the Host header as sent
    HttpHostRaw,
    /// `http.user_agent`
    HttpUserAgent,
    /// `http.cookie`
    HttpCookie,
    /// `http.referer`
    HttpReferer,
    /// `http.protocol`
    HttpProtocol,
    /// `http.request_line`
    HttpRequestLine,
    /// `http.header` of the request (unfolded `Name: value\r\n` lines)
    HttpRequestHeader,
    /// `http.header.raw` of the request
    HttpRequestHeaderRaw,
    /// `http.content_type` (request or response, by event)
    HttpContentType,
    /// `http.content_len`
    HttpContentLen,
    /// `http.stat_code`
    HttpStatCode,
    /// `http.stat_msg`
    HttpStatMsg,
    /// `http.response_line`
    HttpResponseLine,
    /// `http.header` of the response
    HttpResponseHeader,
    /// `http.header.raw` of the response
    HttpResponseHeaderRaw,
    /// `tls.sni`
    TlsSni,
    /// `ja3.string`
    Ja3String,
    /// `ja3.hash`
    Ja3Hash,
    /// `ja4.hash`
    Ja4,
    /// `dns.query` (first question)
    DnsQuery,
}

impl<'a> Event<'a> {
    /// The flow of the event, if any.
    pub fn flow(&self) -> Option<&'a Flow> {
        match *self {
            Event::Packet { flow, .. } => flow,
            Event::HttpRequest { flow, .. }
            | Event::HttpResponse { flow, .. }
            | Event::TlsClientHello { flow, .. }
            | Event::Dns { flow, .. }
            | Event::Anomaly { flow, .. }
            | Event::FlowEnd { flow, .. } => Some(flow),
        }
    }

    /// The request of an HTTP event (the request itself, or the one a
    /// response answers).
    pub fn http_request(&self) -> Option<&'a HttpRequest> {
        match *self {
            Event::HttpRequest { request, .. } => Some(request),
            Event::HttpResponse { request, .. } => request.map(|r| &**r),
            _ => None,
        }
    }

    /// The contents of `buffer` in this event, if it has it.
    pub fn buffer(&self, buffer: Buffer) -> Option<&'a [u8]> {
        use Buffer::*;
        let req = self.http_request();
        let resp = match *self {
            Event::HttpResponse { response, .. } => Some(response),
            _ => None,
        };
        match buffer {
            HttpMethod => req.map(|r| r.method()),
            HttpUri => req.map(|r| r.uri()),
            HttpUriRaw => req.map(|r| r.uri_raw()),
            HttpHost => req.and_then(|r| r.hostname()),
            HttpHostRaw => req.and_then(|r| r.host()),
            HttpUserAgent => req.and_then(|r| r.user_agent()),
            HttpCookie => req.and_then(|r| r.cookie()),
            HttpReferer => req.and_then(|r| r.referer()),
            HttpProtocol => resp
                .map(|r| r.protocol())
                .or_else(|| req.map(|r| r.protocol())),
            HttpRequestLine => req.map(|r| r.request_line()),
            HttpRequestHeader => req.map(|r| r.headers.normalized_headers()),
            HttpRequestHeaderRaw => req.map(|r| r.headers.raw_headers()),
            HttpContentType => match resp {
                Some(r) => r.content_type(),
                None => req.and_then(|r| r.content_type()),
            },
            HttpContentLen => match resp {
                Some(r) => r.headers.get(b"content-length"),
                None => req.and_then(|r| r.headers.get(b"content-length")),
            },
            HttpStatCode => resp.map(|r| r.status()),
            HttpStatMsg => resp.map(|r| r.reason()),
            HttpResponseLine => resp.map(|r| r.response_line()),
            HttpResponseHeader => resp.map(|r| r.headers.normalized_headers()),
            HttpResponseHeaderRaw => resp.map(|r| r.headers.raw_headers()),
            TlsSni | Ja3String | Ja3Hash | Ja4 => match *self {
                Event::TlsClientHello { hello, .. } => match buffer {
                    TlsSni => hello.sni.as_deref(),
                    Ja3String => Some(hello.ja3.as_bytes()),
                    Ja3Hash => Some(hello.ja3_hash.as_bytes()),
                    _ => Some(hello.ja4.as_bytes()),
                },
                _ => None,
            },
            DnsQuery => match *self {
                Event::Dns { message, .. } => message.query(),
                _ => None,
            },
        }
    }

    /// The value of a request (or, for responses, response) header by name,
    /// case-insensitive: the first occurrence.
    pub fn header(&self, name: &[u8]) -> Option<&'a [u8]> {
        match *self {
            Event::HttpRequest { request, .. } => request.headers.get(name),
            Event::HttpResponse { response, .. } => response.headers.get(name),
            _ => None,
        }
    }
}
