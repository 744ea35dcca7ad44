//! The per-interface path of `vigil run`: kernel records → pipeline →
//! alerts, plus what only live capture has: kernel drops reported as
//! "blocked" alerts, flow verdicts for drop rules in IPS mode, and capture
//! losses written to the audit store.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, UNIX_EPOCH},
};

use sensor_audit::{AuditHandle, SensorEvent};
use sensor_common::{RecordHeader, enforce::reason, record::status};
use sensor_output::{Action, Alert, FanOut, HttpLog, Record};
use sensor_packet::{DecodeErrorKind, Packet};
use sensor_pipeline::{Outputs, Pipeline, SharedRuleset};
use sensor_proto::Flow;

use super::stats::{InterfaceStats, StatsBoard};
use crate::{
    capture::{CounterTotals, RecordSink, WallClock},
    enforce::{Enforcer, FlowTuple, Verdict},
};

/// Where a live pipeline's records go: the fan-out, and the flows that a
/// drop rule matched in IPS mode (to become kernel verdicts; only IPS mode
/// raises "blocked" alerts).
pub struct LiveOutputs {
    pub fanout: Arc<FanOut>,
    pub verdicts: Vec<(FlowTuple, u32)>,
    /// Flows with entries in the kernel's maps (a verdict, body regions),
    /// keyed as the entry was made.
    pub kernel_state: HashMap<FlowTuple, KernelState>,
    /// Those of them whose flow ended: their entries are removed.
    pub expired: Vec<(FlowTuple, KernelState)>,
}

/// What the kernel holds for one flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelState {
    /// An entry in the verdict map (drop, or release after a pattern hit).
    pub verdict: bool,
    /// The body region last set per direction (to server, to client), as
    /// `(first_seq, len)`.
    pub body: [Option<(u32, u32)>; 2],
}

impl LiveOutputs {
    pub fn new(fanout: Arc<FanOut>) -> LiveOutputs {
        LiveOutputs {
            fanout,
            verdicts: Vec::new(),
            kernel_state: HashMap::new(),
            expired: Vec::new(),
        }
    }

    /// Notes that the kernel's verdict map now has an entry for `tuple`, to
    /// be removed when its flow ends.
    pub fn has_verdict(&mut self, tuple: FlowTuple) {
        self.kernel_state.entry(tuple).or_default().verdict = true;
    }
}

impl Outputs for LiveOutputs {
    fn alert(&mut self, alert: Alert) {
        if alert.action == Action::Blocked
            && let (Some(sp), Some(dp)) = (alert.src_port, alert.dst_port)
        {
            let tuple = FlowTuple {
                protocol: alert.proto.number(),
                src: alert.src_ip,
                src_port: sp,
                dst: alert.dst_ip,
                dst_port: dp,
            };
            self.verdicts.push((tuple, alert.sid));
        }
        self.fanout.send(Record::Alert(alert));
    }

    fn http(&mut self, log: HttpLog) {
        self.fanout.send(Record::Http(log));
    }

    fn flow_end(&mut self, flow: &Flow) {
        if self.kernel_state.is_empty() {
            return;
        }
        let tuple = client_to_server(flow);
        for t in [tuple, tuple.reversed()] {
            if let Some(state) = self.kernel_state.remove(&t) {
                self.expired.push((t, state));
            }
        }
    }
}

/// A flow's kernel key in its client-to-server direction.
fn client_to_server(flow: &Flow) -> FlowTuple {
    FlowTuple {
        protocol: flow.protocol,
        src: flow.client,
        src_port: flow.client_port,
        dst: flow.server,
        dst_port: flow.server_port,
    }
}

/// Counts of what the live path did beyond the pipeline's own counters.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct LiveCounters {
    /// Records of frames without an IP header (ARP, ...).
    pub non_ip: u64,
    pub undecodable: u64,
    pub kernel_drops: u64,
    pub verdicts_set: u64,
    pub verdict_errors: u64,
    /// Packets the kernel's pattern automaton dropped but the full rule did
    /// not confirm: released (an allow verdict lets the retransmission pass).
    pub pattern_releases: u64,
    /// Verdict entries removed because their flow ended.
    pub verdicts_expired: u64,
    /// Payload bytes the kernel copied into records.
    pub captured_payload_bytes: u64,
    /// Bytes of the records themselves (header and payload): what crossed
    /// into user space.
    pub record_bytes: u64,
    /// Body regions handed to the kernel (header-only capture).
    pub body_regions: u64,
    /// The longest time the ring reader went without draining, over the
    /// last counter interval, in ms.
    pub reader_gap_ms: u64,
    /// Reloads whose block set the kernel maps refused.
    pub block_failures: u64,
}

/// The record sink of one interface.
pub struct LiveSink {
    pub iface: String,
    pub pipeline: Pipeline<LiveOutputs>,
    pub enforcer: Option<Enforcer>,
    pub rules: SharedRuleset,
    pub blocks: super::blocks::SharedBlocks,
    pub blocks_applied: u64,
    pub audit: Option<AuditHandle>,
    pub clock: WallClock,
    pub counters: LiveCounters,
    /// Header-only capture: tell the kernel where bodies are.
    pub header_only: bool,
    /// Where the counters are published for `vigil stats`.
    pub board: StatsBoard,
    /// Flow losses already written to the audit store.
    pub reported: FlowLossTotals,
}

/// Running totals of the flow losses reported as audit events.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowLossTotals {
    evicted: u64,
    gaps: u64,
    gap_bytes: u64,
}

impl LiveSink {
    fn wall_ns(&self, ktime_ns: u64) -> u64 {
        self.clock
            .to_system_time(ktime_ns)
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    }

    /// A new block set after a reload: swap it into the kernel.
    fn apply_blocks(&mut self) {
        let blocks = self.blocks.load();
        if blocks.generation == self.blocks_applied {
            return;
        }
        self.blocks_applied = blocks.generation;
        if let Some(enforcer) = &mut self.enforcer
            && enforcer.mode() == crate::enforce::Mode::Ips
            && let Err(e) = enforcer.replace(&blocks.set)
        {
            self.counters.block_failures += 1;
            log::warn!(
                "{}: kernel block set not updated, keeping the previous one: {e}",
                self.iface
            );
        }
    }

    /// After a packet the automaton dropped went through the pipeline: if no
    /// drop rule matched its flow, release the flow so the retransmission
    /// passes (the kernel's patterns are only a rule's fast pattern).
    fn confirm_pattern_drop(&mut self, packet: &Packet<'_>, sid: u32) {
        let confirmed = self.pipeline.outputs_mut().verdicts.iter().any(|(t, _)| {
            (t.src, t.src_port, t.dst, t.dst_port)
                == (packet.src, packet.src_port(), packet.dst, packet.dst_port())
                || (t.dst, t.dst_port, t.src, t.src_port)
                    == (packet.src, packet.src_port(), packet.dst, packet.dst_port())
        });
        if confirmed {
            return;
        }
        let Some(enforcer) = &mut self.enforcer else {
            return;
        };
        let tuple = FlowTuple {
            protocol: packet.protocol,
            src: packet.src,
            src_port: packet.src_port(),
            dst: packet.dst,
            dst_port: packet.dst_port(),
        };
        match enforcer.release_flow(&tuple, sid) {
            Ok(()) => {
                self.counters.pattern_releases += 1;
                self.pipeline.outputs_mut().has_verdict(tuple);
            }
            Err(e) => log::warn!("{}: releasing a pattern hit of sid {sid}: {e}", self.iface),
        }
    }

    fn apply_verdicts(&mut self) {
        let outputs = self.pipeline.outputs_mut();
        let verdicts = std::mem::take(&mut outputs.verdicts);
        let expired = std::mem::take(&mut outputs.expired);
        let Some(enforcer) = &mut self.enforcer else {
            return;
        };
        // Entries expire with their flow: a later connection reusing the
        // same addresses and ports is judged afresh.
        for (tuple, state) in expired {
            if state.verdict {
                match enforcer.clear_flow(&tuple) {
                    Ok(()) => self.counters.verdicts_expired += 1,
                    Err(e) => log::warn!("{}: removing an ended flow's verdict: {e}", self.iface),
                }
            }
            for (dir, region) in [tuple, tuple.reversed()].iter().zip(state.body) {
                if region.is_some()
                    && let Err(e) = enforcer.clear_body(dir)
                {
                    log::warn!("{}: removing an ended flow's body region: {e}", self.iface);
                }
            }
        }
        for (tuple, sid) in verdicts {
            match enforcer.set_flow_verdict(&tuple, Verdict::Drop, sid) {
                Ok(()) => {
                    self.counters.verdicts_set += 1;
                    self.pipeline.outputs_mut().has_verdict(tuple);
                }
                Err(e) => {
                    self.counters.verdict_errors += 1;
                    log::warn!("flow verdict for sid {sid}: {e}");
                }
            }
        }
    }
}

/// A body shorter than this is not worth a map update (a system call):
/// its bytes are copied and skipped in user space instead.
const MIN_BODY_REGION: u32 = 1024;

impl LiveSink {
    /// Header-only capture: after a data packet, if its direction is now in
    /// a body of known extent (or the rest of the direction is opaque), tell
    /// the kernel so that the packets inside it cross without payload. The
    /// parser already skips body bytes it is not given, so detection is
    /// unchanged; a packet that starts the next message is captured whole.
    fn mark_body(&mut self, packet: &Packet<'_>) {
        let Some(enforcer) = &mut self.enforcer else {
            return;
        };
        let Some(flow) = self.pipeline.driver().last_flow() else {
            return;
        };
        let side = flow.side_of(packet);
        let Some(region) = flow.body_region(side) else {
            return;
        };
        if region.1 < MIN_BODY_REGION {
            return;
        }
        let tuple = client_to_server(flow);
        let dir = if side == sensor_proto::Side::ToServer {
            tuple
        } else {
            tuple.reversed()
        };
        let state = self
            .pipeline
            .outputs_mut()
            .kernel_state
            .entry(tuple)
            .or_default();
        let last = &mut state.body[side.index()];
        // The same body seen again (the next packet of it): the kernel
        // already knows.
        if let Some((seq, len)) = *last
            && seq.wrapping_add(len) == region.0.wrapping_add(region.1)
        {
            return;
        }
        *last = Some(region);
        match enforcer.skip_body(&dir, region.0, region.1) {
            Ok(()) => self.counters.body_regions += 1,
            Err(e) => log::warn!("{}: header-only capture: {e}", self.iface),
        }
    }

    /// Publishes this interface's counters for `vigil stats`.
    fn publish(&self, kernel: &CounterTotals) {
        let d = self.pipeline.driver().counters();
        // IPS only: in IDS mode the maps are filled but nothing is dropped.
        let kernel_blocks = match &self.enforcer {
            Some(e) if e.mode() == crate::enforce::Mode::Ips => (
                e.pattern_count() as u64,
                e.cidr_count() as u64,
                e.port_count() as u64,
            ),
            _ => (0, 0, 0),
        };
        self.board.publish(InterfaceStats {
            name: self.iface.clone(),
            packets_seen: kernel.packets_seen,
            records_lost: kernel.records_lost,
            packets_unparsed: kernel.packets_unparsed,
            kernel_drops: kernel.dropped(),
            body_skipped: kernel.body_skipped,
            wire_bytes: d.bytes,
            captured_payload_bytes: self.counters.captured_payload_bytes,
            record_bytes: self.counters.record_bytes,
            body_regions: self.counters.body_regions,
            flows: d.flows,
            flows_evicted: d.flows_evicted,
            flows_timed_out: d.flows_timed_out,
            reassembly_gaps: d.stream.gaps,
            reassembly_gap_bytes: d.stream.gap_bytes,
            transactions: d.transactions,
            anomalies: d.anomalies,
            alerts: self.pipeline.counters().alerts,
            flow_verdicts: self.counters.verdicts_set,
            pattern_releases: self.counters.pattern_releases,
            non_ip_frames: self.counters.non_ip,
            undecodable_records: self.counters.undecodable,
            reader_gap_ms: self.counters.reader_gap_ms,
            kernel_patterns: kernel_blocks.0,
            kernel_address_blocks: kernel_blocks.1,
            kernel_port_blocks: kernel_blocks.2,
            kernel_block_failures: self.counters.block_failures,
        });
    }

    /// Flow evictions and reassembly gaps since the last report, as an audit
    /// event (bytes nobody inspected are an IDS failure an auditor must see).
    fn report_flow_losses(&mut self) {
        let d = self.pipeline.driver().counters();
        let now = FlowLossTotals {
            evicted: d.flows_evicted,
            gaps: d.stream.gaps,
            gap_bytes: d.stream.gap_bytes,
        };
        let before = std::mem::replace(&mut self.reported, now);
        if now.evicted == before.evicted && now.gaps == before.gaps {
            return;
        }
        let event = SensorEvent::FlowLoss {
            interface: self.iface.clone(),
            flows_evicted: now.evicted - before.evicted,
            reassembly_gaps: now.gaps - before.gaps,
            gap_bytes: now.gap_bytes - before.gap_bytes,
        };
        log::warn!("{}: {event:?}", self.iface);
        if let Some(audit) = &self.audit
            && let Err(e) = audit.record_event(event)
        {
            log::warn!("audit: {e}");
        }
    }
}

impl RecordSink for &mut LiveSink {
    fn record(&mut self, bytes: &[u8]) -> bool {
        let mut packet = match Packet::from_kernel_record(bytes) {
            Ok(packet) => packet,
            // ARP, LLDP and other non-IP frames: nothing to inspect, but
            // counted, so that they do not pass for decoding failures.
            Err(e) if e.kind() == DecodeErrorKind::NoL3 => {
                self.counters.non_ip += 1;
                self.counters.record_bytes += bytes.len() as u64;
                return true;
            }
            Err(_) => {
                self.counters.undecodable += 1;
                return false;
            }
        };
        // Kernel time is CLOCK_MONOTONIC; alerts and flows use wall time.
        packet.ts_ns = self.wall_ns(packet.ts_ns);
        self.apply_blocks();
        // A packet the kernel dropped still goes through the pipeline: the
        // rule behind an address, port or pattern block matches it there and
        // raises the "blocked" alert (a pattern hit the rule does not confirm
        // is released below); drops by flow verdict were alerted when the
        // verdict was set.
        let dropped = RecordHeader::read_from(bytes).filter(|h| h.status & status::DROPPED != 0);
        if dropped.is_some() {
            self.counters.kernel_drops += 1;
        }
        self.pipeline.process(&packet);
        if let Some(header) = dropped.filter(|h| h.drop_reason == reason::PATTERN) {
            self.confirm_pattern_drop(&packet, header.sid);
        }
        self.counters.captured_payload_bytes += packet.payload.len() as u64;
        self.counters.record_bytes += bytes.len() as u64;
        if self.header_only && packet.payload_len > 0 && packet.protocol == 6 {
            self.mark_body(&packet);
        }
        self.apply_verdicts();
        true
    }

    fn drain_gap(&mut self, longest: Duration) {
        self.counters.reader_gap_ms = longest.as_millis() as u64;
    }

    fn counters(&mut self, totals: &CounterTotals, delta: &CounterTotals) {
        self.publish(totals);
        self.report_flow_losses();
        if delta.records_lost > 0 {
            log::warn!(
                "{}: kernel ring buffer full: {} records lost (total {} of {} packets)",
                self.iface,
                delta.records_lost,
                totals.records_lost,
                totals.packets_seen
            );
            if let Some(audit) = &self.audit {
                let event = SensorEvent::CaptureLoss {
                    interface: self.iface.clone(),
                    dropped: delta.records_lost,
                };
                if let Err(e) = audit.record_event(event) {
                    log::warn!("audit: {e}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sensor_packet::synth::{PcapWriter, TcpConversation};

    /// A flow given a verdict has its entry removed when the flow ends, and
    /// only such flows: the kernel map is not churned for every flow.
    #[test]
    fn verdicts_expire_with_their_flow() {
        let fanout = Arc::new(FanOut::builder().build().unwrap());
        let mut outputs = LiveOutputs::new(fanout);
        let client: std::net::SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let server: std::net::SocketAddr = "10.0.0.2:80".parse().unwrap();
        let judged = FlowTuple::tcp(client.ip(), 40000, server.ip(), 80);
        outputs.has_verdict(judged);
        let mut frames = Vec::new();
        for port in [40000, 40001] {
            let c = std::net::SocketAddr::new(client.ip(), port);
            let mut conv = TcpConversation::new(c, server, 1_000_000_000);
            conv.handshake(&mut frames);
            conv.send(true, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &mut frames);
        }
        let mut w = PcapWriter::new(Vec::new(), sensor_packet::LinkType::Ethernet).unwrap();
        for (ts, f) in &frames {
            w.write(*ts, f).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let pcap = dir.path().join("two-flows.pcap");
        std::fs::write(&pcap, w.into_inner().unwrap()).unwrap();
        let mut pipeline = Pipeline::new(Default::default(), None, outputs);
        // The replay ends every flow when the capture ends.
        let summary = sensor_pipeline::replay_files(&[pcap], &mut pipeline, &Default::default());
        assert_eq!(summary.packets, frames.len() as u64);
        let expired: Vec<FlowTuple> = pipeline.outputs().expired.iter().map(|e| e.0).collect();
        assert_eq!(expired, [judged]);
        assert!(pipeline.outputs().kernel_state.is_empty());
    }
}
