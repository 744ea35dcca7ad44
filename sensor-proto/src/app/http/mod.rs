//! HTTP/1.x: request and response parsing with keep-alive, pipelining and
//! request/response pairing.

mod half;
mod message;
mod uri;

use std::collections::VecDeque;
use std::sync::Arc;

pub(crate) use half::starts_with_method;
use half::{Fed, HalfParser};
pub use message::{BodyHint, HeaderBlock, HttpAnomaly, HttpRequest, HttpResponse};
pub use uri::{normalize_host, normalize_uri, percent_decode};

use crate::flow::Side;

/// What the HTTP state machine produced while consuming bytes.
#[derive(Debug)]
pub enum HttpOutput {
    /// A request header block completed.
    Request(Arc<HttpRequest>),
    /// A final response header block completed, with its request if known.
    Response {
        /// The request this response answers.
        request: Option<Arc<HttpRequest>>,
        /// The response.
        response: Box<HttpResponse>,
    },
    /// An anomaly outside a single message (stream-level).
    Anomaly(HttpAnomaly),
}

/// Limits of the HTTP parser.
#[derive(Debug, Clone, Copy)]
pub struct HttpConfig {
    /// Largest header block buffered per direction.
    pub max_header_bytes: usize,
    /// Pipelined requests kept waiting for their response.
    pub max_pending_requests: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_header_bytes: 64 * 1024,
            max_pending_requests: 32,
        }
    }
}

/// Both directions of one HTTP connection.
pub struct HttpState {
    config: HttpConfig,
    request: HalfParser,
    response: HalfParser,
    pending: VecDeque<Arc<HttpRequest>>,
    next_tx: u64,
    anomalies: Vec<HttpAnomaly>,
    /// Bytes consumed, skipped or lost per side: stream offsets.
    position: [u64; 2],
    /// Client bytes the server had acknowledged when sending the current
    /// response bytes (a client-stream offset), when known.
    peer_ack: Option<u64>,
    /// The response side lost data since the last response: pairing must
    /// be realigned.
    response_gap: bool,
}

impl HttpState {
    /// A connection in its initial state.
    pub fn new(config: HttpConfig) -> Self {
        HttpState {
            config,
            request: HalfParser::new(true, config.max_header_bytes),
            response: HalfParser::new(false, config.max_header_bytes),
            pending: VecDeque::new(),
            next_tx: 0,
            anomalies: Vec::new(),
            position: [0; 2],
            peer_ack: None,
            response_gap: false,
        }
    }

    fn half(&mut self, side: Side) -> &mut HalfParser {
        match side {
            Side::ToServer => &mut self.request,
            Side::ToClient => &mut self.response,
        }
    }

    /// Bytes of `side` that can be dropped unseen (body).
    pub fn skippable(&self, side: Side) -> u64 {
        match side {
            Side::ToServer => self.request.skippable(),
            Side::ToClient => self.response.skippable(),
        }
    }

    /// Drops `n` skippable bytes of `side`.
    pub fn skip(&mut self, side: Side, n: u64) {
        self.position[side.index()] += n;
        self.half(side).skip(n);
    }

    /// Tells the parser how many client bytes the server had acknowledged
    /// in the packet whose response bytes come next. Used to realign
    /// request/response pairing after a response was lost.
    pub fn set_peer_ack(&mut self, client_offset: Option<u64>) {
        self.peer_ack = client_offset;
    }

    /// The body framing `side` is in, if it is past a header block.
    pub fn body_hint(&self, side: Side) -> Option<BodyHint> {
        match side {
            Side::ToServer => self.request.body_hint(),
            Side::ToClient => self.response.body_hint(),
        }
    }

    /// True while `side` holds part of a header block.
    pub fn in_headers(&self, side: Side) -> bool {
        match side {
            Side::ToServer => self.request.in_headers(),
            Side::ToClient => self.response.in_headers(),
        }
    }

    /// `n` bytes of `side` were lost.
    pub fn gap(&mut self, side: Side, n: u64, out: &mut impl Extend<HttpOutput>) {
        self.position[side.index()] += n;
        if side == Side::ToClient && self.response.skippable() < n {
            self.response_gap = true;
        }
        if let Some(a) = self.half(side).gap(n) {
            out.extend([HttpOutput::Anomaly(a)]);
        }
    }

    /// Buffered bytes, for memory accounting.
    pub fn buffered(&self) -> usize {
        self.request.buffered() + self.response.buffered()
    }

    /// Consumes a prefix of `data` (never skippable bytes: the caller drops
    /// those first) and returns how many bytes were used.
    pub fn feed(
        &mut self,
        side: Side,
        data: &[u8],
        ts_ns: u64,
        out: &mut impl Extend<HttpOutput>,
    ) -> usize {
        let (used, fed) = self.half(side).feed(data);
        self.position[side.index()] += used as u64;
        match fed {
            Fed::Nothing => {}
            Fed::Anomaly(a) => out.extend([HttpOutput::Anomaly(a)]),
            Fed::Block(block) => self.block(side, block, ts_ns, out),
        }
        used
    }

    fn block(&mut self, side: Side, block: Vec<u8>, ts_ns: u64, out: &mut impl Extend<HttpOutput>) {
        self.anomalies.clear();
        match side {
            Side::ToServer => {
                let tx_id = self.next_tx;
                match HttpRequest::parse(block, tx_id, ts_ns, &mut self.anomalies) {
                    Some(mut req) => {
                        req.stream_end = self.position[0];
                        self.next_tx += 1;
                        self.request.set_body(req.body);
                        let req = Arc::new(req);
                        if self.pending.len() >= self.config.max_pending_requests {
                            self.pending.pop_front();
                            out.extend([HttpOutput::Anomaly(HttpAnomaly::TooManyPendingRequests)]);
                        }
                        self.pending.push_back(Arc::clone(&req));
                        out.extend([HttpOutput::Request(req)]);
                    }
                    None => {
                        out.extend(self.anomalies.drain(..).map(HttpOutput::Anomaly));
                    }
                }
            }
            Side::ToClient => {
                if std::mem::take(&mut self.response_gap) {
                    self.realign();
                }
                // The request is shared, not its method copied: one
                // reference count instead of an allocation per response.
                let front = self.pending.front().cloned();
                let method = front.as_deref().map(HttpRequest::method);
                let tx_id = front.as_ref().map_or(self.next_tx, |r| r.tx_id);
                match HttpResponse::parse(block, tx_id, ts_ns, method, &mut self.anomalies) {
                    Some(resp) if resp.is_interim() => {
                        // 100 Continue and friends: the final response follows.
                        self.response.set_body(BodyHint::None);
                    }
                    Some(mut resp) => {
                        self.response.set_body(resp.body);
                        let is_connect = method.is_some_and(|m| m.eq_ignore_ascii_case(b"CONNECT"));
                        if resp.status_code == 101
                            || (is_connect && (200..300).contains(&resp.status_code))
                        {
                            // A tunnel: the client side is opaque from here on too.
                            self.request.set_body(BodyHint::UntilClose);
                        }
                        let request = self.pending.pop_front();
                        if request.is_none() {
                            self.next_tx += 1;
                            resp.anomalies.push(HttpAnomaly::ResponseWithoutRequest);
                        }
                        out.extend([HttpOutput::Response {
                            request,
                            response: Box::new(resp),
                        }]);
                    }
                    None => {
                        out.extend(self.anomalies.drain(..).map(HttpOutput::Anomaly));
                    }
                }
            }
        }
    }
}

impl HttpState {
    /// After responses were lost, drops the requests they answered: a
    /// request is unanswered if the server had already received the request
    /// after it when it sent this response (its ACK covers that one too).
    /// Only used after a gap, because pipelined requests legitimately get
    /// acknowledged before their responses are sent.
    fn realign(&mut self) {
        let Some(acked) = self.peer_ack else {
            return;
        };
        while self.pending.len() > 1 && self.pending[1].stream_end <= acked {
            self.pending.pop_front();
        }
    }
}

/// Parses one datagram of HTTP over UDP (SSDP): a request or a response
/// header block, with no pairing and no body.
pub(crate) fn parse_datagram(payload: &[u8], tx_id: u64, ts_ns: u64) -> Option<HttpOutput> {
    let end = memchr::memmem::find(payload, b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| memchr::memmem::find(payload, b"\n\n").map(|i| i + 2))
        .unwrap_or(payload.len());
    let block = payload[..end].to_vec();
    let mut anomalies = Vec::new();
    if payload.starts_with(b"HTTP/") {
        let resp = HttpResponse::parse(block, tx_id, ts_ns, None, &mut anomalies)?;
        Some(HttpOutput::Response {
            request: None,
            response: Box::new(resp),
        })
    } else if starts_with_method(payload) == Some(true) {
        let req = HttpRequest::parse(block, tx_id, ts_ns, &mut anomalies)?;
        Some(HttpOutput::Request(Arc::new(req)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
