//! The per-interface path of `vigil run`: kernel records → pipeline →
//! alerts, plus what only live capture has: kernel drops reported as
//! "blocked" alerts, flow verdicts for drop rules in IPS mode, and capture
//! losses written to the audit store.

use std::{sync::Arc, time::UNIX_EPOCH};

use sensor_audit::{AuditHandle, SensorEvent};
use sensor_common::{RecordHeader, enforce::reason, record::status};
use sensor_output::{Action, Alert, FanOut, HttpLog, Record};
use sensor_packet::Packet;
use sensor_pipeline::{Outputs, Pipeline, SharedRuleset};

use crate::{
    capture::{CounterTotals, RecordSink, WallClock},
    enforce::{Enforcer, FlowTuple, Verdict},
};

/// Where a live pipeline's records go: the fan-out, and the flows that a
/// drop rule matched in IPS mode (to become kernel verdicts).
pub struct LiveOutputs {
    pub fanout: Arc<FanOut>,
    pub verdicts: Vec<(FlowTuple, u32)>,
    pub ips: bool,
}

impl Outputs for LiveOutputs {
    fn alert(&mut self, alert: Alert) {
        if self.ips
            && alert.action == Action::Blocked
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
}

/// Counts of what the live path did beyond the pipeline's own counters.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct LiveCounters {
    pub undecodable: u64,
    pub kernel_drops: u64,
    pub verdicts_set: u64,
    pub verdict_errors: u64,
}

/// The record sink of one interface.
pub struct LiveSink {
    pub iface: String,
    pub pipeline: Pipeline<LiveOutputs>,
    pub enforcer: Option<Enforcer>,
    pub rules: SharedRuleset,
    pub audit: Option<AuditHandle>,
    pub clock: WallClock,
    pub counters: LiveCounters,
}

impl LiveSink {
    fn wall_ns(&self, ktime_ns: u64) -> u64 {
        self.clock
            .to_system_time(ktime_ns)
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    }

    /// A packet the kernel dropped: the alert says which rule and why. Drops
    /// by flow verdict are only counted: the verdict's own alert (raised
    /// when user space matched the rule) already reported the flow, and
    /// every retransmission the kernel drops would otherwise repeat it.
    fn kernel_drop_alert(&mut self, header: &RecordHeader, packet: &Packet<'_>) {
        self.counters.kernel_drops += 1;
        if header.drop_reason == reason::FLOW {
            return;
        }
        let rules = self.rules.load();
        let Some(meta) = rules.meta.get(&header.sid) else {
            log::warn!("kernel dropped a packet for unknown sid {}", header.sid);
            return;
        };
        let mut alert = Alert::new(
            sensor_pipeline::timestamp(packet.ts_ns),
            packet.src,
            packet.dst,
            sensor_output::Proto::from_number(packet.protocol),
            header.sid,
            meta.msg.clone(),
        );
        alert.src_port = Some(packet.src_port()).filter(|p| *p != 0);
        alert.dst_port = Some(packet.dst_port()).filter(|p| *p != 0);
        alert.action = Action::Blocked;
        alert.gid = meta.gid;
        alert.rev = meta.rev;
        alert.severity = meta.severity;
        alert.category = meta.category.clone();
        alert.in_iface = Some(self.iface.clone());
        alert.metadata.insert(
            "vigil_drop_reason".into(),
            vec![reason::name(header.drop_reason).into()],
        );
        self.pipeline
            .outputs_mut()
            .fanout
            .send(Record::Alert(alert));
    }

    fn apply_verdicts(&mut self) {
        let verdicts = std::mem::take(&mut self.pipeline.outputs_mut().verdicts);
        let Some(enforcer) = &mut self.enforcer else {
            return;
        };
        for (tuple, sid) in verdicts {
            match enforcer.set_flow_verdict(&tuple, Verdict::Drop, sid) {
                Ok(()) => self.counters.verdicts_set += 1,
                Err(e) => {
                    self.counters.verdict_errors += 1;
                    log::warn!("flow verdict for sid {sid}: {e}");
                }
            }
        }
    }
}

impl RecordSink for &mut LiveSink {
    fn record(&mut self, bytes: &[u8]) -> bool {
        let Ok(mut packet) = Packet::from_kernel_record(bytes) else {
            self.counters.undecodable += 1;
            return false;
        };
        // Kernel time is CLOCK_MONOTONIC; alerts and flows use wall time.
        packet.ts_ns = self.wall_ns(packet.ts_ns);
        if let Some(header) = RecordHeader::read_from(bytes)
            && header.status & status::DROPPED != 0
        {
            self.kernel_drop_alert(&header, &packet);
        }
        self.pipeline.process(&packet);
        self.apply_verdicts();
        true
    }

    fn counters(&mut self, totals: &CounterTotals, delta: &CounterTotals) {
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
