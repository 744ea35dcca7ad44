//! Detection: each parsed event goes through the engine, and each match
//! becomes an [`Alert`] carrying the flow and the transaction it fired on.

use std::collections::{HashMap, HashSet, VecDeque};

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
    /// TCP flows a `pass` rule matched on: the rest of each is not inspected.
    passed: PassedFlows,
}

/// Most TCP flows remembered as passed at once (the flow table's default
/// limit); past it the oldest is forgotten, and inspected again.
const MAX_PASSED_FLOWS: usize = 1 << 18;

/// Ids of the TCP flows a `pass` rule matched on, as in Suricata: "if the
/// signature matches on a TCP connection, the entire flow will be passed".
/// Bounded by `cap` (oldest first out); an entry goes when its flow ends.
#[derive(Debug)]
struct PassedFlows {
    ids: HashSet<u64>,
    /// Insertion order; may hold ids already forgotten (ended flows).
    order: VecDeque<u64>,
    cap: usize,
}

impl PassedFlows {
    fn new(cap: usize) -> Self {
        PassedFlows {
            ids: HashSet::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    fn contains(&self, flow: u64) -> bool {
        self.ids.contains(&flow)
    }

    fn insert(&mut self, flow: u64) {
        if !self.ids.insert(flow) {
            return;
        }
        self.order.push_back(flow);
        while self.ids.len() > self.cap {
            match self.order.pop_front() {
                Some(old) => {
                    self.ids.remove(&old);
                }
                None => break,
            }
        }
        // Ended flows leave stale ids in `order`; drop them before it grows
        // past twice the bound.
        if self.order.len() > 2 * self.cap {
            let ids = &self.ids;
            self.order.retain(|id| ids.contains(id));
        }
    }

    fn remove(&mut self, flow: u64) {
        if self.ids.remove(&flow) && self.ids.is_empty() {
            self.order.clear();
        }
    }
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
            passed: PassedFlows::new(MAX_PASSED_FLOWS),
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
    ///
    /// A `pass` match silences every rule on its packet or transaction; on
    /// a TCP flow it also passes the rest of the flow: its later packets and
    /// transactions are not inspected (Suricata's flow pass).
    pub fn inspect(&mut self, event: &Event<'_>, emit: &mut impl FnMut(Alert)) {
        if let Event::FlowEnd { flow, .. } = *event {
            self.alerted_requests.remove(&flow.id);
            self.passed.remove(flow.id);
            return;
        }
        let rules = self.rules.load();
        if matches!(event, Event::Packet { .. }) && !rules.has_packet_rules() {
            // Nothing could match: not even the engine's view is built.
            return;
        }
        let flow = event.flow();
        if flow.is_some_and(|f| self.passed.contains(f.id)) {
            return;
        }
        // (flow, transaction) of an HTTP request, or of the request a
        // response answers.
        let tx = match *event {
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
        let (mode, categories, iface) = (self.mode, &rules.categories, self.iface.as_deref());
        let alerted = &mut self.alerted_requests;
        let mut pass = false;
        let mut sink = |m: &Match<'_>| {
            if m.action == RuleAction::Pass {
                pass = true;
                return;
            }
            if m.rule.noalert {
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
        if pass && let Some(f) = flow.filter(|f| f.protocol == 6) {
            self.passed.insert(f.id);
        }
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
        alert.community_id = Some(f.community_id().to_string());
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arc_swap::ArcSwap;
    use sensor_engine::EngineBuilder;
    use sensor_packet::synth::{TcpConversation, TimedFrame, ethernet, udp_packet};
    use sensor_packet::{DecodeOptions, Decoder, LinkType};
    use sensor_proto::{Driver, DriverConfig};
    use sensor_rules::{LoadOptions, RuleSet};

    use super::*;
    use crate::ruleset::Ruleset;

    fn detector(name: &str, rules: &str) -> Detector {
        let (set, diags) = RuleSet::load_str(name, rules, &LoadOptions::default());
        assert!(diags.iter().all(|d| !d.rule_skipped), "{diags:?}");
        let engine = EngineBuilder::new()
            .rules(set.into_rules())
            .build()
            .unwrap();
        let ruleset = Ruleset::new(engine, HashMap::new());
        Detector::new(Arc::new(ArcSwap::from_pointee(ruleset)), Mode::Ids)
    }

    /// (sid, source port) of every alert raised over `frames`.
    fn alerts(detector: &mut Detector, frames: &[TimedFrame]) -> Vec<(u32, Option<u16>)> {
        let mut driver = Driver::new(DriverConfig::default());
        let mut decoder = Decoder::new(DecodeOptions::default());
        let mut out = Vec::new();
        let mut sink = |e: &Event<'_>| detector.inspect(e, &mut |a| out.push((a.sid, a.src_port)));
        for (ts, frame) in frames {
            let p = decoder
                .decode_bytes(LinkType::Ethernet, *ts, 0, frame.len() as u32, frame)
                .unwrap()
                .unwrap();
            driver.process(&p, &mut sink);
        }
        driver.finish(&mut sink);
        out
    }

    fn sa(s: &str) -> std::net::SocketAddr {
        s.parse().unwrap()
    }

    const PASS_RULES: &str = r#"
pass tcp any any -> any 9000 (msg:"allowlisted"; content:"ALLOWLIST"; sid:1; rev:1;)
alert tcp any any -> any 9000 (msg:"danger"; content:"DANGER"; sid:2; rev:1;)
alert http any any -> any any (msg:"admin"; http.uri; content:"/admin"; sid:3; rev:1;)
pass udp any any -> any 9600 (msg:"trusted"; content:"TRUSTED"; sid:4; rev:1;)
alert udp any any -> any 9600 (msg:"alertme"; content:"ALERTME"; sid:5; rev:1;)
"#;

    #[test]
    fn pass_on_a_tcp_flow_passes_the_rest_of_it() {
        let mut det = detector("pass.rules", PASS_RULES);
        let mut o = Vec::new();
        // Passed: DANGER on the pass packet and in a later segment.
        let mut c = TcpConversation::new(sa("10.1.0.5:46002"), sa("10.1.0.80:9000"), 0);
        c.handshake(&mut o);
        c.send(true, b"ALLOWLIST DANGER", &mut o);
        c.send(true, b"DANGER", &mut o);
        c.send(false, b"DANGER", &mut o);
        c.close(&mut o);
        // Another connection is not passed.
        let mut c = TcpConversation::new(sa("10.1.0.5:46001"), sa("10.1.0.80:9000"), 1_000_000);
        c.handshake(&mut o);
        c.send(true, b"DANGER", &mut o);
        c.close(&mut o);
        assert_eq!(alerts(&mut det, &o), vec![(2, Some(46001))]);
        assert!(det.passed.ids.is_empty(), "forgotten at flow end");
    }

    #[test]
    fn pass_on_a_tcp_flow_passes_its_transactions() {
        let mut det = detector("pass.rules", PASS_RULES);
        let mut o = Vec::new();
        let mut c = TcpConversation::new(sa("10.1.0.5:46003"), sa("10.1.0.80:9000"), 0);
        c.handshake(&mut o);
        // The pass matches the packet that completes the first request.
        c.send(
            true,
            b"GET /admin HTTP/1.1\r\nHost: a\r\nX-Tag: ALLOWLIST\r\n\r\n",
            &mut o,
        );
        c.send(true, b"GET /admin/2 HTTP/1.1\r\nHost: a\r\n\r\n", &mut o);
        c.close(&mut o);
        let mut c = TcpConversation::new(sa("10.1.0.5:46004"), sa("10.1.0.80:9000"), 1_000_000);
        c.handshake(&mut o);
        c.send(true, b"GET /admin HTTP/1.1\r\nHost: a\r\n\r\n", &mut o);
        c.close(&mut o);
        assert_eq!(alerts(&mut det, &o), vec![(3, Some(46004))]);
    }

    #[test]
    fn pass_on_udp_stays_per_packet() {
        let mut det = detector("pass.rules", PASS_RULES);
        let (src, dst) = (sa("10.1.0.5:47061"), sa("10.1.0.80:9600"));
        let o = vec![
            (0, ethernet(&[], &udp_packet(src, dst, b"TRUSTED ALERTME"))),
            (1_000, ethernet(&[], &udp_packet(src, dst, b"ALERTME"))),
        ];
        assert_eq!(alerts(&mut det, &o), vec![(5, Some(47061))]);
    }

    #[test]
    fn native_action_pass_passes_a_tcp_flow() {
        let rules = r#"
rule 10 "pass" {
    action pass
    when tcp.dst_port == 9700 and payload contains "TRUSTED"
}
rule 11 "alert" {
    when tcp.dst_port == 9700 and payload contains "ALERTME"
}
"#;
        let mut det = detector("pass.vigil", rules);
        let mut o = Vec::new();
        let mut c = TcpConversation::new(sa("10.1.0.5:47063"), sa("10.1.0.80:9700"), 0);
        c.handshake(&mut o);
        c.send(true, b"TRUSTED", &mut o);
        c.send(true, b"ALERTME", &mut o);
        c.close(&mut o);
        assert_eq!(alerts(&mut det, &o), vec![]);
    }

    #[test]
    fn passed_flows_are_bounded() {
        let mut p = PassedFlows::new(3);
        for id in [1, 2, 3, 3, 4] {
            p.insert(id);
        }
        assert!(!p.contains(1) && p.contains(2) && p.contains(3) && p.contains(4));
        p.remove(4);
        // Ended flows do not pile up in the insertion order.
        for id in 10..100 {
            p.insert(id);
            p.remove(id);
        }
        assert!(p.order.len() <= 6, "{:?}", p.order);
        assert!(p.contains(2) && p.contains(3) && p.ids.len() == 2);
        p.remove(2);
        p.remove(3);
        assert!(p.ids.is_empty() && p.order.is_empty());
    }
}
