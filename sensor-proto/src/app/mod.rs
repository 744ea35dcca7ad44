//! Application-layer protocols: detection, and the per-flow parser state
//! that turns reassembled bytes into transactions.

pub mod dns;
pub mod http;
pub mod tls;

use crate::anomaly::Anomaly;
use crate::flow::Side;
use dns::{DnsFed, DnsMessage, DnsTcpState};
use http::{BodyHint, HttpConfig, HttpOutput, HttpState};
use tls::{ClientHello, TlsFed, TlsState};

/// Which parser a flow uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppProto {
    /// Not decided yet.
    Unknown,
    /// HTTP/1.x.
    Http,
    /// TLS.
    Tls,
    /// DNS (UDP or TCP).
    Dns,
    /// Something else, or a flow not inspected (midstream pickup off): its
    /// payload is counted and dropped.
    Failed,
}

impl AppProto {
    /// Suricata's `app_proto` name.
    pub fn name(self) -> &'static str {
        match self {
            AppProto::Unknown => "unknown",
            AppProto::Http => "http",
            AppProto::Tls => "tls",
            AppProto::Dns => "dns",
            AppProto::Failed => "failed",
        }
    }
}

/// What the parsers produced for the driver to turn into events.
#[derive(Debug)]
pub(crate) enum AppOutput {
    Http(HttpOutput),
    Tls(Box<ClientHello>),
    Dns(Side, Box<DnsMessage>),
    Anomaly(Side, Anomaly),
}

impl AppOutput {
    /// Stream-level HTTP anomalies become anomalies of `side`.
    fn from_http(side: Side, output: HttpOutput) -> AppOutput {
        match output {
            HttpOutput::Anomaly(a) => AppOutput::Anomaly(side, Anomaly::Http(a)),
            other => AppOutput::Http(other),
        }
    }
}

/// The HTTP parser's outputs going straight into the driver's output
/// vector, tagged with their side (no vector of their own per delivery).
struct HttpOutputs<'a> {
    side: Side,
    out: &'a mut Vec<AppOutput>,
}

impl Extend<HttpOutput> for HttpOutputs<'_> {
    fn extend<I: IntoIterator<Item = HttpOutput>>(&mut self, outputs: I) {
        let side = self.side;
        self.out
            .extend(outputs.into_iter().map(|o| AppOutput::from_http(side, o)));
    }
}

/// Bytes of one side held while the protocol is not yet known.
const DETECT_BYTES: usize = 16;

/// Limits of the application parsers.
#[derive(Debug, Clone, Copy)]
pub struct AppConfig {
    /// HTTP limits.
    pub http: HttpConfig,
    /// Bytes of a TLS client's first flight buffered to find the ClientHello.
    pub max_tls_hello_bytes: usize,
    /// Largest DNS-over-TCP message parsed.
    pub max_dns_tcp_message: usize,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            http: HttpConfig::default(),
            max_tls_hello_bytes: 32 * 1024,
            max_dns_tcp_message: 16 * 1024,
        }
    }
}

pub(crate) enum AppState {
    Detecting {
        pending: [Vec<u8>; 2],
    },
    Http(Box<HttpState>),
    Tls(Box<TlsState>),
    DnsTcp(Box<[DnsTcpState; 2]>),
    /// DNS over UDP: each datagram is parsed on its own by the driver.
    DnsUdp,
    /// HTTP over UDP (SSDP): each datagram is one header block.
    HttpUdp,
    Opaque,
}

fn idx(side: Side) -> usize {
    match side {
        Side::ToServer => 0,
        Side::ToClient => 1,
    }
}

/// Counters the delivery path updates.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct DeliveryCounts {
    pub skipped: u64,
}

impl AppState {
    pub(crate) fn new_detecting() -> AppState {
        AppState::Detecting {
            pending: [Vec::new(), Vec::new()],
        }
    }

    pub(crate) fn proto(&self) -> AppProto {
        match self {
            AppState::Detecting { .. } => AppProto::Unknown,
            AppState::Http(_) => AppProto::Http,
            AppState::Tls(_) => AppProto::Tls,
            AppState::DnsTcp(_) | AppState::DnsUdp => AppProto::Dns,
            AppState::HttpUdp => AppProto::Http,
            AppState::Opaque => AppProto::Failed,
        }
    }

    /// Bytes of `side` that can be dropped unseen right now.
    pub(crate) fn skippable(&self, side: Side) -> u64 {
        match self {
            AppState::Detecting { .. } => 0,
            AppState::Http(h) => h.skippable(side),
            AppState::Tls(t) => {
                if side == Side::ToClient || t.done() {
                    u64::MAX
                } else {
                    0
                }
            }
            AppState::DnsTcp(d) => d[idx(side)].skippable(),
            AppState::DnsUdp | AppState::HttpUdp | AppState::Opaque => u64::MAX,
        }
    }

    /// What can be told to the kernel about `side`'s next bytes.
    pub(crate) fn body_hint(&self, side: Side) -> Option<BodyHint> {
        match self {
            AppState::Http(h) => h.body_hint(side),
            AppState::Opaque => Some(BodyHint::UntilClose),
            s if s.skippable(side) == u64::MAX => Some(BodyHint::UntilClose),
            _ => None,
        }
    }

    /// Heap bytes held by the parsers.
    pub(crate) fn buffered(&self) -> usize {
        match self {
            AppState::Detecting { pending } => pending[0].capacity() + pending[1].capacity(),
            AppState::Http(h) => h.buffered() + std::mem::size_of::<HttpState>(),
            AppState::Tls(t) => t.buffered(),
            AppState::DnsTcp(d) => d[0].buffered() + d[1].buffered(),
            AppState::DnsUdp | AppState::HttpUdp | AppState::Opaque => 0,
        }
    }

    /// `n` bytes of `side` were lost (not skippable).
    pub(crate) fn gap(&mut self, side: Side, n: u64, out: &mut Vec<AppOutput>) {
        match self {
            AppState::Detecting { .. } => *self = AppState::Opaque,
            AppState::Http(h) => h.gap(side, n, &mut HttpOutputs { side, out }),
            AppState::Tls(t) => {
                if side == Side::ToServer
                    && let Some(a) = t.gap()
                {
                    out.push(AppOutput::Anomaly(side, Anomaly::Tls(a)));
                }
            }
            AppState::DnsTcp(d) => d[idx(side)].gap(),
            AppState::DnsUdp | AppState::HttpUdp | AppState::Opaque => {}
        }
    }

    /// Delivers in-order bytes of `side`; skippable bytes are dropped and
    /// counted in `counts.skipped`.
    #[allow(clippy::too_many_arguments)] // the per-packet path: no struct to build
    pub(crate) fn deliver(
        &mut self,
        side: Side,
        mut data: &[u8],
        server_port: u16,
        ts_ns: u64,
        config: &AppConfig,
        out: &mut Vec<AppOutput>,
        counts: &mut DeliveryCounts,
    ) {
        if let AppState::Detecting { pending } = self {
            let buf = &mut pending[idx(side)];
            let take = (DETECT_BYTES - buf.len()).min(data.len());
            buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            let decided = detect(side, buf, server_port, buf.len() >= DETECT_BYTES);
            let Some(proto) = decided else {
                return;
            };
            let held = std::mem::take(pending);
            *self = match proto {
                AppProto::Http => AppState::Http(Box::new(HttpState::new(config.http))),
                AppProto::Tls => AppState::Tls(Box::new(TlsState::new(config.max_tls_hello_bytes))),
                AppProto::Dns => AppState::DnsTcp(Box::new([
                    DnsTcpState::new(config.max_dns_tcp_message),
                    DnsTcpState::new(config.max_dns_tcp_message),
                ])),
                _ => AppState::Opaque,
            };
            // Replay what was held, the other side's first (it arrived earlier).
            let other = side.opposite();
            if !held[idx(other)].is_empty() {
                self.deliver(
                    other,
                    &held[idx(other)],
                    server_port,
                    ts_ns,
                    config,
                    out,
                    counts,
                );
            }
            self.deliver(
                side,
                &held[idx(side)],
                server_port,
                ts_ns,
                config,
                out,
                counts,
            );
        }
        let mut stalls = 0;
        while !data.is_empty() {
            let skippable = self.skippable(side);
            if skippable > 0 {
                let k = skippable.min(data.len() as u64);
                self.skip(side, k);
                counts.skipped += k;
                data = &data[k as usize..];
                continue;
            }
            let used = match self {
                AppState::Http(h) => h.feed(side, data, ts_ns, &mut HttpOutputs { side, out }),
                AppState::Tls(t) => {
                    match t.feed(data) {
                        TlsFed::Nothing => {}
                        TlsFed::Hello(h) => out.push(AppOutput::Tls(h)),
                        TlsFed::Anomaly(a) => out.push(AppOutput::Anomaly(side, Anomaly::Tls(a))),
                    }
                    data.len()
                }
                AppState::DnsTcp(d) => {
                    let (used, fed) = d[idx(side)].feed(data);
                    match fed {
                        DnsFed::Nothing => {}
                        DnsFed::Message(m) => out.push(AppOutput::Dns(side, m)),
                        DnsFed::Anomaly(a) => out.push(AppOutput::Anomaly(side, Anomaly::Dns(a))),
                    }
                    used
                }
                AppState::Detecting { .. }
                | AppState::DnsUdp
                | AppState::HttpUdp
                | AppState::Opaque => data.len(),
            };
            // A parser may consume nothing while changing state; two such
            // rounds in a row would be a bug: drop the data rather than spin.
            if used == 0 {
                stalls += 1;
                if stalls > 4 {
                    counts.skipped += data.len() as u64;
                    return;
                }
            } else {
                stalls = 0;
            }
            data = &data[used..];
        }
    }

    /// See [`HttpState::set_peer_ack`].
    pub(crate) fn set_peer_ack(&mut self, client_offset: Option<u64>) {
        if let AppState::Http(h) = self {
            h.set_peer_ack(client_offset);
        }
    }

    pub(crate) fn skip(&mut self, side: Side, n: u64) {
        match self {
            AppState::Http(h) => h.skip(side, n),
            AppState::DnsTcp(d) => d[idx(side)].skip(n),
            _ => {}
        }
    }
}

/// Decides the protocol from the first bytes of `side`. `None`: need more.
fn detect(side: Side, prefix: &[u8], server_port: u16, final_call: bool) -> Option<AppProto> {
    let guess = match side {
        Side::ToServer => match (
            http::starts_with_method(prefix),
            tls::looks_like_tls(prefix),
        ) {
            (Some(true), _) => Some(AppProto::Http),
            (_, Some(true)) => Some(AppProto::Tls),
            (Some(false), Some(false)) if server_port == 53 => Some(AppProto::Dns),
            (Some(false), Some(false)) => Some(AppProto::Failed),
            _ => None,
        },
        Side::ToClient => {
            let n = prefix.len().min(5);
            if prefix[..n] == b"HTTP/"[..n] {
                if n == 5 { Some(AppProto::Http) } else { None }
            } else if server_port == 53 {
                Some(AppProto::Dns)
            } else {
                Some(AppProto::Failed)
            }
        }
    };
    match guess {
        None if final_call => Some(AppProto::Failed),
        g => g,
    }
}
