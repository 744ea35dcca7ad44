//! Detection: each parsed event goes through the engine, and each match
//! becomes an [`Alert`] carrying the flow and the transaction it fired on.

use std::collections::HashMap;

use sensor_engine::{Match, Scratch};
use sensor_output::{Action as AlertAction, Alert};
use sensor_proto::{Event, Flow};
use sensor_rules::ir::Action as RuleAction;

use super::{
    engine_input::EventInput,
    records::{app_proto, dns_info, flow_counters, http_info, proto, timestamp, tls_info},
    ruleset::SharedRuleset,
};

/// Whether drop rules are enforced (IPS) or only reported (IDS).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Drop rules alert with action "allowed".
    #[default]
    Ids,
    /// Drop rules alert with action "blocked" (and are enforced in the kernel).
    Ips,
}

/// The ruleset in force plus one worker's scratch space.
pub struct Detector {
    rules: SharedRuleset,
    scratch: Scratch,
    header_names: Vec<u8>,
    mode: Mode,
    iface: Option<String>,
    /// Per flow, the (transaction, sid) pairs that alerted on a request, so
    /// that the transaction's response, which sees the same request buffers,
    /// does not alert again: app-layer rules alert once per transaction, as
    /// in Suricata. Entries go when the response or the flow ends.
    alerted_requests: HashMap<u64, Vec<(u64, u32)>>,
}

impl Detector {
    /// A detector over `rules`, which a reload may swap at any time.
    pub fn new(rules: SharedRuleset, mode: Mode) -> Self {
        Detector {
            rules,
            scratch: Scratch::new(),
            header_names: Vec::new(),
            mode,
            iface: None,
            alerted_requests: HashMap::new(),
        }
    }

    /// Names the capture interface in alerts.
    pub fn with_iface(mut self, iface: impl Into<String>) -> Self {
        self.iface = Some(iface.into());
        self
    }

    /// The ruleset the detector reads.
    pub fn rules(&self) -> &SharedRuleset {
        &self.rules
    }

    /// Inspects one event and hands every alert to `emit`.
    pub fn inspect(&mut self, event: &Event<'_>, emit: &mut impl FnMut(Alert)) {
        // (flow, transaction) of an HTTP request, or of the request a
        // response answers.
        let tx = match *event {
            Event::FlowEnd { flow, .. } => {
                self.alerted_requests.remove(&flow.id);
                return;
            }
            Event::HttpRequest { flow, request } => Some((flow.id, request.tx_id, false)),
            Event::HttpResponse {
                flow,
                request: Some(request),
                ..
            } => Some((flow.id, request.tx_id, true)),
            _ => None,
        };
        let Some(input) = EventInput::new(event, &mut self.header_names) else {
            return;
        };
        let rules = self.rules.load();
        let (mode, categories, iface) = (self.mode, &rules.categories, self.iface.as_deref());
        let alerted = &mut self.alerted_requests;
        let mut sink = |m: &Match<'_>| {
            if m.rule.noalert || m.action == RuleAction::Pass {
                return;
            }
            match tx {
                Some((flow, tx, false)) => alerted.entry(flow).or_default().push((tx, m.sid)),
                Some((flow, tx, true))
                    if alerted.get(&flow).is_some_and(|v| v.contains(&(tx, m.sid))) =>
                {
                    return;
                }
                _ => {}
            }
            emit(build_alert(event, m, mode, categories, iface));
        };
        rules.engine.inspect(&input, &mut self.scratch, &mut sink);
        if let Some((flow, tx, true)) = tx
            && let Some(v) = self.alerted_requests.get_mut(&flow)
        {
            v.retain(|(t, _)| *t != tx);
            if v.is_empty() {
                self.alerted_requests.remove(&flow);
            }
        }
    }
}

fn build_alert(
    event: &Event<'_>,
    m: &Match<'_>,
    mode: Mode,
    categories: &HashMap<String, String>,
    iface: Option<&str>,
) -> Alert {
    let action = match (m.action, mode) {
        (RuleAction::Drop | RuleAction::Reject, Mode::Ips) => AlertAction::Blocked,
        _ => AlertAction::Allowed,
    };
    let flow: Option<&Flow> = event.flow();
    let (ts_ns, src, sport, dst, dport, ip_proto) = match *event {
        Event::Packet { packet, .. } => (
            packet.ts_ns,
            packet.src,
            Some(packet.src_port()).filter(|p| *p != 0),
            packet.dst,
            Some(packet.dst_port()).filter(|p| *p != 0),
            packet.protocol,
        ),
        _ => {
            let f = flow.expect("transactions always have a flow");
            let to_client = matches!(event, Event::HttpResponse { .. })
                || matches!(
                    event,
                    Event::Dns {
                        side: sensor_proto::Side::ToClient,
                        ..
                    }
                );
            let ts = match *event {
                Event::HttpRequest { request, .. } => request.ts_ns,
                Event::HttpResponse { response, .. } => response.ts_ns,
                _ => f.last_ts_ns,
            };
            if to_client {
                (
                    ts,
                    f.server,
                    Some(f.server_port),
                    f.client,
                    Some(f.client_port),
                    f.protocol,
                )
            } else {
                (
                    ts,
                    f.client,
                    Some(f.client_port),
                    f.server,
                    Some(f.server_port),
                    f.protocol,
                )
            }
        }
    };
    let rule = m.rule;
    let mut alert = Alert::new(
        timestamp(ts_ns),
        src,
        dst,
        proto(ip_proto),
        m.sid,
        rule.msg.clone(),
    );
    alert.src_port = sport;
    alert.dst_port = dport;
    alert.action = action;
    alert.gid = m.gid;
    alert.rev = m.rev;
    alert.severity = rule.priority;
    alert.category = rule
        .classtype
        .as_ref()
        .map(|c| categories.get(c).cloned().unwrap_or_else(|| c.clone()))
        .unwrap_or_default();
    for (k, v) in &rule.metadata {
        alert.metadata.entry(k.clone()).or_default().push(v.clone());
    }
    alert.in_iface = iface.map(str::to_string);
    if let Some(f) = flow {
        alert.flow_id = f.id;
        alert.community_id = Some(f.community_id.clone());
        alert.app_proto = app_proto(f);
        alert.flow = Some(flow_counters(f));
    }
    match *event {
        Event::HttpRequest { request, .. } => alert.http = Some(http_info(Some(request), None)),
        Event::HttpResponse {
            request, response, ..
        } => alert.http = Some(http_info(request.map(|r| &**r), Some(response))),
        Event::TlsClientHello { hello, .. } => alert.tls = Some(tls_info(hello)),
        Event::Dns { message, .. } => alert.dns = dns_info(message),
        _ => {}
    }
    alert
}
