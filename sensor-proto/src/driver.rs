//! The driver: decoded packets in, events out.

use sensor_packet::{
    CaptureError, CaptureReader, ChecksumStatus, Decoder, Packet, TcpHeader, Transport,
};

use crate::anomaly::{Anomaly, StreamAnomaly};
use crate::app::dns::DnsMessage;
use crate::app::http::{self, HttpOutput};
use crate::app::{AppConfig, AppOutput, AppState, DeliveryCounts};
use crate::event::{Event, EventSink};
use crate::flow::stream_counters::StreamCounters;
use crate::flow::{
    Flow, FlowConfig, FlowEndReason, FlowKey, FlowTable, Side, Stream, StreamConfig, TcpState,
};

/// Everything the driver can be configured with.
#[derive(Debug, Clone, Copy)]
pub struct DriverConfig {
    /// Flow table limits and timeouts.
    pub flow: FlowConfig,
    /// Parser limits.
    pub app: AppConfig,
    /// What to do with packets whose checksum was verified bad.
    pub checksums: ChecksumPolicy,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            flow: FlowConfig::default(),
            app: AppConfig::default(),
            checksums: ChecksumPolicy::Auto,
        }
    }
}

/// Policy for packets with a bad IP or transport checksum.
///
/// Hosts drop such packets, so inspecting them invites evasion; but
/// captures taken on a sending host with checksum offload have bad
/// checksums on every outgoing packet, and dropping those loses the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumPolicy {
    /// Ignore (count and skip) every packet with a bad checksum.
    Enforce,
    /// Inspect every packet whatever its checksum.
    Ignore,
    /// Suricata's `auto`: inspect everything while sampling the first
    /// [`CHECKSUM_SAMPLE`] verified packets; then enforce, unless more than
    /// 10% of the sample was bad (offload), in which case keep ignoring.
    Auto,
}

/// Packets sampled by [`ChecksumPolicy::Auto`].
pub const CHECKSUM_SAMPLE: u64 = 1000;

/// Counters of a driver.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// Packets given to [`Driver::process`].
    pub packets: u64,
    /// Their wire bytes.
    pub bytes: u64,
    /// TCP packets.
    pub tcp: u64,
    /// UDP packets.
    pub udp: u64,
    /// ICMP and ICMPv6 packets.
    pub icmp: u64,
    /// Packets ignored for a bad checksum (see [`ChecksumPolicy`]).
    pub bad_checksums: u64,
    /// Fragments that were not reassembled (no transport header): no flow.
    pub fragments: u64,
    /// Flows created.
    pub flows: u64,
    /// Flows ended (any reason).
    pub flows_ended: u64,
    /// Flows ended by idle timeout.
    pub flows_timed_out: u64,
    /// Flows evicted by the memory cap or the flow limit.
    pub flows_evicted: u64,
    /// TCP flows picked up without a handshake.
    pub midstream_flows: u64,
    /// TCP payload bytes of flows not inspected (midstream off, unknown protocol).
    pub uninspected_bytes: u64,
    /// Body and encrypted bytes skipped without buffering.
    pub skipped_bytes: u64,
    /// Reassembly counters.
    pub stream: StreamCounters,
    /// HTTP requests.
    pub http_requests: u64,
    /// HTTP responses.
    pub http_responses: u64,
    /// TLS ClientHellos.
    pub tls_client_hellos: u64,
    /// DNS queries (messages with QR = 0).
    pub dns_queries: u64,
    /// DNS responses.
    pub dns_responses: u64,
    /// All transactions (the five above).
    pub transactions: u64,
    /// Anomalies emitted.
    pub anomalies: u64,
}

/// Decoded packets in, events out: flows, reassembly, parsers.
///
/// ```
/// use sensor_proto::{Driver, DriverConfig, Event};
/// let mut driver = Driver::new(DriverConfig::default());
/// let mut requests = 0;
/// let mut sink = |e: &Event<'_>| {
///     if let Event::HttpRequest { .. } = e {
///         requests += 1;
///     }
/// };
/// # let packets: Vec<sensor_packet::Packet<'static>> = Vec::new();
/// for packet in &packets {
///     driver.process(packet, &mut sink);
/// }
/// driver.finish(&mut sink);
/// ```
pub struct Driver {
    config: DriverConfig,
    stream_config: StreamConfig,
    table: FlowTable,
    counters: Counters,
    outputs: Vec<AppOutput>,
    scratch: Vec<usize>,
    /// Auto checksum policy: (verified packets, bad ones) so far.
    checksum_sample: (u64, u64),
    /// The flow slot of the packet processed last, while that flow lives.
    last: Option<usize>,
}

/// Ports taken as the server side when a flow is picked up mid-stream.
fn is_service_port(p: u16) -> bool {
    p < 1024
        || matches!(
            p,
            1433 | 1521
                | 3128
                | 3306
                | 3389
                | 5432
                | 5900
                | 6379
                | 8000
                | 8008
                | 8080
                | 8081
                | 8443
                | 8888
                | 9200
        )
}

/// The parser side of a stream: delivers bytes to the flow's protocol state.
struct AppConsumer<'a> {
    app: &'a mut AppState,
    side: Side,
    server_port: u16,
    ts_ns: u64,
    config: &'a AppConfig,
    out: &'a mut Vec<AppOutput>,
    counts: &'a mut DeliveryCounts,
}

impl crate::flow::Consumer for AppConsumer<'_> {
    fn skippable(&self) -> u64 {
        self.app.skippable(self.side)
    }

    fn data(&mut self, data: &[u8]) {
        self.app.deliver(
            self.side,
            data,
            self.server_port,
            self.ts_ns,
            self.config,
            self.out,
            self.counts,
        );
    }

    fn missing(&mut self, n: u64, counters: &mut StreamCounters) {
        if self.app.skippable(self.side) >= n {
            self.app.skip(self.side, n);
            self.counts.skipped += n;
        } else {
            counters.gaps += 1;
            counters.gap_bytes += n;
            self.app.gap(self.side, n, self.out);
            self.out.push(AppOutput::Anomaly(
                self.side,
                Anomaly::Stream(StreamAnomaly::Gap { bytes: n }),
            ));
        }
    }
}

impl Driver {
    /// A driver with an empty flow table.
    pub fn new(config: DriverConfig) -> Self {
        Driver {
            config,
            stream_config: StreamConfig {
                max_ooo_bytes: config.flow.max_ooo_bytes,
                max_ooo_segments: config.flow.max_ooo_segments,
            },
            table: FlowTable::new(config.flow),
            counters: Counters::default(),
            outputs: Vec::new(),
            scratch: Vec::new(),
            checksum_sample: (0, 0),
            last: None,
        }
    }

    /// Counters so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The flow table (for stats: flows tracked, memory).
    pub fn flows(&self) -> &FlowTable {
        &self.table
    }

    /// The flow of the packet [`process`](Self::process) was last given,
    /// if it has one and it has not ended: what live capture asks after each
    /// packet, without a second lookup.
    pub fn last_flow(&self) -> Option<&Flow> {
        self.table.try_get(self.last?)
    }

    /// Processes one packet, emitting events to `sink`.
    pub fn process(&mut self, packet: &Packet<'_>, sink: &mut impl EventSink) {
        self.last = None;
        self.counters.packets += 1;
        self.counters.bytes += u64::from(packet.wire_len);
        self.expire(packet.ts_ns, sink);
        if self.drop_for_checksum(packet.checksum) {
            self.counters.bad_checksums += 1;
            sink.on_event(&Event::Packet {
                packet,
                flow: None,
                side: None,
            });
            return;
        }
        match packet.transport {
            Transport::Tcp(_) => self.counters.tcp += 1,
            Transport::Udp { .. } => self.counters.udp += 1,
            Transport::Icmp { .. } | Transport::Icmpv6 { .. } => self.counters.icmp += 1,
            Transport::Fragment => {
                self.counters.fragments += 1;
                sink.on_event(&Event::Packet {
                    packet,
                    flow: None,
                    side: None,
                });
                return;
            }
            Transport::Other => {}
        }
        let slot = self.flow_for(packet, sink);
        self.last = Some(slot);
        let side = {
            let flow = self.table.get_mut(slot);
            let side = flow.side_of(packet);
            flow.last_ts_ns = flow.last_ts_ns.max(packet.ts_ns);
            flow.packets[side.index()] += 1;
            flow.bytes[side.index()] += u64::from(packet.wire_len);
            side
        };
        sink.on_event(&Event::Packet {
            packet,
            flow: Some(self.table.get(slot)),
            side: Some(side),
        });
        match packet.transport {
            Transport::Tcp(tcp) => self.tcp(slot, side, packet, &tcp),
            Transport::Udp { .. } => self.udp(slot, side, packet),
            _ => {}
        }
        self.table.recharge(slot);
        self.emit_outputs(slot, sink);
        self.enforce_limits(Some(slot), 0, sink);
    }

    fn drop_for_checksum(&mut self, status: ChecksumStatus) -> bool {
        let bad = matches!(status, ChecksumStatus::BadIp | ChecksumStatus::BadTransport);
        match self.config.checksums {
            ChecksumPolicy::Enforce => bad,
            ChecksumPolicy::Ignore => false,
            ChecksumPolicy::Auto => {
                if status != ChecksumStatus::NotChecked && self.checksum_sample.0 < CHECKSUM_SAMPLE
                {
                    self.checksum_sample.0 += 1;
                    self.checksum_sample.1 += u64::from(bad);
                    if self.checksum_sample.0 == CHECKSUM_SAMPLE {
                        let offload = self.checksum_sample.1 * 10 > CHECKSUM_SAMPLE;
                        self.config.checksums = if offload {
                            ChecksumPolicy::Ignore
                        } else {
                            ChecksumPolicy::Enforce
                        };
                    }
                }
                false
            }
        }
    }

    /// Feeds every frame of a capture file through `decoder` and this
    /// driver. Frames that do not decode are counted by the decoder
    /// ([`Decoder::stats`]); fragments held for reassembly produce nothing
    /// until their datagram completes. Returns the number of frames read,
    /// or the error that ended the file early (after every complete frame
    /// before it was processed). Does not call [`finish`](Self::finish), so
    /// several files can be replayed as one stream.
    pub fn replay<R: std::io::Read>(
        &mut self,
        reader: &mut CaptureReader<R>,
        decoder: &mut Decoder,
        sink: &mut impl EventSink,
    ) -> Result<u64, CaptureError> {
        let mut frames = 0;
        while let Some(frame) = reader.next_frame()? {
            frames += 1;
            if let Ok(Some(packet)) = decoder.decode(&frame) {
                self.process(&packet, sink);
            }
        }
        Ok(frames)
    }

    /// Ends every flow (end of input), emitting their last events.
    pub fn finish(&mut self, sink: &mut impl EventSink) {
        for slot in self.table.live_slots() {
            self.end_flow(slot, FlowEndReason::Shutdown, sink);
        }
    }

    fn flow_for(&mut self, packet: &Packet<'_>, sink: &mut impl EventSink) -> usize {
        let (key, _) = FlowKey::of(packet);
        if let Some(slot) = self.table.lookup(&key) {
            // A new SYN on a closed connection starts a new flow, as it
            // does on a flow that was never tracked (begun without a SYN
            // while midstream pickup is off).
            let flow = self.table.get(slot);
            let new_syn = packet
                .tcp()
                .is_some_and(|t| t.flags.syn() && !t.flags.ack());
            let untracked = flow.midstream && !self.config.flow.midstream;
            if !(new_syn && (flow.tcp_state == TcpState::Closed || untracked)) {
                return slot;
            }
            self.table.counters.reused += 1;
            self.end_flow(slot, FlowEndReason::Reused, sink);
        }
        self.enforce_limits(None, 1, sink);
        let src = (packet.src, packet.src_port());
        let dst = (packet.dst, packet.dst_port());
        let (client, server, midstream, app) = match packet.transport {
            Transport::Tcp(t) if t.flags.syn() && !t.flags.ack() => {
                (src, dst, false, AppState::new_detecting())
            }
            Transport::Tcp(t) if t.flags.syn() && t.flags.ack() => {
                (dst, src, false, AppState::new_detecting())
            }
            Transport::Tcp(_) => {
                let (c, s) = if is_service_port(src.1) && !is_service_port(dst.1)
                    || (is_service_port(src.1) == is_service_port(dst.1) && src.1 < dst.1)
                {
                    (dst, src)
                } else {
                    (src, dst)
                };
                self.counters.midstream_flows += 1;
                let app = if self.config.flow.midstream {
                    AppState::new_detecting()
                } else {
                    AppState::Opaque
                };
                (c, s, true, app)
            }
            Transport::Udp { src_port, dst_port } => {
                let (c, s) = if src_port == 53 && dst_port != 53 {
                    (dst, src)
                } else {
                    (src, dst)
                };
                let app =
                    if src_port == 53 || dst_port == 53 || src_port == 5353 && dst_port == 5353 {
                        AppState::DnsUdp
                    } else if src_port == 1900 || dst_port == 1900 {
                        AppState::HttpUdp
                    } else {
                        AppState::Opaque
                    };
                (c, s, false, app)
            }
            _ => (src, dst, false, AppState::Opaque),
        };
        self.counters.flows += 1;
        let slot = self
            .table
            .insert(key, client, server, packet, midstream, app);
        if !matches!(packet.transport, Transport::Tcp(_)) {
            self.table.get_mut(slot).tcp_state = TcpState::None;
        } else if midstream && self.config.flow.midstream {
            // Picked up mid-stream: taken as established, as Suricata does
            // with `stream.midstream`. Without it the flow keeps its
            // initial state for good (see `tcp`).
            self.table.get_mut(slot).tcp_state = TcpState::Established;
        }
        slot
    }

    fn tcp(&mut self, slot: usize, side: Side, packet: &Packet<'_>, tcp: &TcpHeader) {
        let flow = self.table.get_mut(slot);
        let i = side.index();
        let flags = tcp.flags;
        flow.tcp_flags[i] |= flags.0;
        // A flow that began without a SYN while midstream pickup is off is
        // no tracked connection (Suricata starts no TCP session for it): it
        // never becomes established, whatever ACKs follow, and its payload
        // is not inspected (its app state is opaque). Only its end is noted,
        // for the timeouts.
        let untracked = flow.midstream && !self.config.flow.midstream;
        if untracked {
            if flags.fin() {
                flow.fin[i] = true;
            }
            if flags.rst() || flow.fin[0] && flow.fin[1] {
                flow.tcp_state = TcpState::Closed;
            }
        } else if flags.rst() {
            flow.tcp_state = TcpState::Closed;
        } else if flags.syn() && !flags.ack() && side == Side::ToServer {
            if !flow.streams[0].started() {
                flow.streams[0].start(tcp.seq.wrapping_add(1));
            }
        } else if flags.syn() && flags.ack() && side == Side::ToClient {
            if !flow.streams[1].started() {
                flow.streams[1].start(tcp.seq.wrapping_add(1));
            }
            if flow.tcp_state == TcpState::SynSent {
                flow.tcp_state = TcpState::SynReceived;
            }
        } else if flags.ack()
            && side == Side::ToServer
            && matches!(flow.tcp_state, TcpState::SynReceived | TcpState::SynSent)
        {
            flow.tcp_state = TcpState::Established;
        }
        if flags.fin() && !untracked {
            flow.fin[i] = true;
            if flow.tcp_state != TcpState::Closed {
                flow.tcp_state = if flow.fin[0] && flow.fin[1] {
                    TcpState::Closed
                } else {
                    TcpState::Closing
                };
            }
        }
        let inspect = !matches!(flow.app, AppState::Opaque);
        if !inspect {
            self.counters.uninspected_bytes += u64::from(packet.payload_len);
            return;
        }
        // A side first seen after the handshake starts where it is.
        let data_seq = if flags.syn() {
            tcp.seq.wrapping_add(1)
        } else {
            tcp.seq
        };
        if !flow.streams[i].started() && !flags.syn() {
            flow.streams[i].start(tcp.seq);
        }
        let server_port = flow.server_port;
        if side == Side::ToClient {
            let acked = if flags.ack() {
                flow.streams[0].offset_of(tcp.ack)
            } else {
                None
            };
            flow.app.set_peer_ack(acked);
        }
        let Flow { streams, app, .. } = flow;
        let [to_server, to_client] = streams;
        let (this, other): (&mut Stream, &mut Stream) = if side == Side::ToServer {
            (to_server, to_client)
        } else {
            (to_client, to_server)
        };
        let mut counts = DeliveryCounts::default();
        let mut consumer = AppConsumer {
            app,
            side,
            server_port,
            ts_ns: packet.ts_ns,
            config: &self.config.app,
            out: &mut self.outputs,
            counts: &mut counts,
        };
        this.segment(
            data_seq,
            packet.payload,
            packet.payload_len,
            flags.fin(),
            &self.stream_config,
            &mut consumer,
            &mut self.counters.stream,
        );
        if flags.ack() && !flags.rst() {
            consumer.side = side.opposite();
            other.acked(tcp.ack, &mut consumer, &mut self.counters.stream);
        }
        self.counters.skipped_bytes += counts.skipped;
    }

    fn udp(&mut self, slot: usize, side: Side, packet: &Packet<'_>) {
        let flow = self.table.get_mut(slot);
        if packet.payload.is_empty() {
            return;
        }
        match flow.app {
            AppState::DnsUdp => match DnsMessage::parse(packet.payload) {
                Ok(m) => self.outputs.push(AppOutput::Dns(side, Box::new(m))),
                Err(a) => self.outputs.push(AppOutput::Anomaly(side, Anomaly::Dns(a))),
            },
            AppState::HttpUdp => {
                let tx_id = flow.packets[0] + flow.packets[1];
                if let Some(o) = http::parse_datagram(packet.payload, tx_id, packet.ts_ns) {
                    self.outputs.push(AppOutput::Http(o));
                } else {
                    self.counters.uninspected_bytes += packet.payload.len() as u64;
                }
            }
            _ => {}
        }
    }

    fn emit_outputs(&mut self, slot: usize, sink: &mut impl EventSink) {
        if self.outputs.is_empty() {
            return;
        }
        let mut outputs = std::mem::take(&mut self.outputs);
        let flow = self.table.get(slot);
        emit(flow, &mut outputs, &mut self.counters, sink);
        self.outputs = outputs;
    }

    fn expire(&mut self, now: u64, sink: &mut impl EventSink) {
        let mut expired = std::mem::take(&mut self.scratch);
        self.table.expired(now, &mut expired);
        for &slot in &expired {
            self.end_flow(slot, FlowEndReason::Timeout, sink);
        }
        expired.clear();
        self.scratch = expired;
    }

    fn enforce_limits(&mut self, keep: Option<usize>, extra: usize, sink: &mut impl EventSink) {
        while self.table.over_limit(extra) {
            let Some(victim) = self.table.pick_victim(keep) else {
                return;
            };
            self.end_flow(victim, FlowEndReason::Evicted, sink);
        }
    }

    fn end_flow(&mut self, slot: usize, reason: FlowEndReason, sink: &mut impl EventSink) {
        if self.last == Some(slot) {
            self.last = None;
        }
        let mut flow = self.table.remove(slot);
        match reason {
            FlowEndReason::Timeout => self.counters.flows_timed_out += 1,
            FlowEndReason::Evicted => {
                self.counters.flows_evicted += 1;
                self.table.counters.evicted += 1;
            }
            _ => {}
        }
        self.counters.flows_ended += 1;
        // Deliver what reassembly still holds, across its gaps.
        let server_port = flow.server_port;
        let mut counts = DeliveryCounts::default();
        {
            let Flow {
                streams,
                app,
                last_ts_ns,
                ..
            } = &mut flow;
            for (i, side) in [Side::ToServer, Side::ToClient].into_iter().enumerate() {
                let mut consumer = AppConsumer {
                    app,
                    side,
                    server_port,
                    ts_ns: *last_ts_ns,
                    config: &self.config.app,
                    out: &mut self.outputs,
                    counts: &mut counts,
                };
                streams[i].flush(&mut consumer, &mut self.counters.stream);
            }
        }
        self.counters.skipped_bytes += counts.skipped;
        let mut outputs = std::mem::take(&mut self.outputs);
        emit(&flow, &mut outputs, &mut self.counters, sink);
        self.outputs = outputs;
        sink.on_event(&Event::FlowEnd {
            flow: &flow,
            reason,
        });
    }
}

fn emit(flow: &Flow, outputs: &mut Vec<AppOutput>, c: &mut Counters, sink: &mut impl EventSink) {
    for output in outputs.drain(..) {
        match output {
            AppOutput::Http(HttpOutput::Request(request)) => {
                c.http_requests += 1;
                c.transactions += 1;
                sink.on_event(&Event::HttpRequest {
                    flow,
                    request: &request,
                });
                for &a in &request.anomalies {
                    c.anomalies += 1;
                    sink.on_event(&Event::Anomaly {
                        flow,
                        side: Side::ToServer,
                        anomaly: Anomaly::Http(a),
                    });
                }
            }
            AppOutput::Http(HttpOutput::Response { request, response }) => {
                c.http_responses += 1;
                c.transactions += 1;
                sink.on_event(&Event::HttpResponse {
                    flow,
                    request: request.as_ref(),
                    response: &response,
                });
                for &a in &response.anomalies {
                    c.anomalies += 1;
                    sink.on_event(&Event::Anomaly {
                        flow,
                        side: Side::ToClient,
                        anomaly: Anomaly::Http(a),
                    });
                }
            }
            AppOutput::Http(HttpOutput::Anomaly(a)) => {
                // Not produced: stream-level HTTP anomalies carry their side
                // as AppOutput::Anomaly.
                c.anomalies += 1;
                sink.on_event(&Event::Anomaly {
                    flow,
                    side: Side::ToServer,
                    anomaly: Anomaly::Http(a),
                });
            }
            AppOutput::Tls(hello) => {
                c.tls_client_hellos += 1;
                c.transactions += 1;
                sink.on_event(&Event::TlsClientHello {
                    flow,
                    hello: &hello,
                });
            }
            AppOutput::Dns(side, message) => {
                if message.is_response {
                    c.dns_responses += 1;
                } else {
                    c.dns_queries += 1;
                }
                c.transactions += 1;
                sink.on_event(&Event::Dns {
                    flow,
                    side,
                    message: &message,
                });
            }
            AppOutput::Anomaly(side, anomaly) => {
                c.anomalies += 1;
                sink.on_event(&Event::Anomaly {
                    flow,
                    side,
                    anomaly,
                });
            }
        }
    }
}
