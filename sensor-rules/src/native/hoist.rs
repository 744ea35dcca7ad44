//! Rewrites of a native rule's condition into the parts of a rule the
//! engine groups by (flow, header), and a check of contradictory protocols.

use crate::ir::{
    Expr, Field, FieldTest, Flow, FlowDirection, FlowState, Header, Predicate, Protocol, RangeSet,
    Test,
};

/// Moves top-level `flow.to_server`/`flow.to_client`/`flow.established`
/// tests into the rule's flow constraint, where the engine groups rules.
pub(super) fn hoist_flow(condition: Expr, flow: &mut Flow) -> Expr {
    let parts = match condition {
        Expr::And(parts) => parts,
        other => vec![other],
    };
    let mut kept = Vec::new();
    for p in parts {
        match &p {
            Expr::Predicate(Predicate::Field(FieldTest {
                field,
                test: Test::IsTrue,
            })) => match field {
                Field::ToServer => flow.direction = Some(FlowDirection::ToServer),
                Field::ToClient => flow.direction = Some(FlowDirection::ToClient),
                Field::Established => flow.state = Some(FlowState::Established),
                _ => kept.push(p),
            },
            _ => kept.push(p),
        }
    }
    Expr::and(kept)
}

/// Two protocols a rule requires (through `and`) that no packet has at
/// once.
pub(super) fn conflicting(protocols: &[Protocol]) -> Option<(Protocol, Protocol)> {
    use Protocol::*;
    let compatible = |a: Protocol, b: Protocol| {
        a == b
            || matches!(
                (a, b),
                (Ip, _)
                    | (_, Ip)
                    | (Http | Tls, Tcp)
                    | (Tcp, Http | Tls)
                    | (Dns, Tcp | Udp)
                    | (Tcp | Udp, Dns)
            )
    };
    protocols.iter().enumerate().find_map(|(i, &a)| {
        protocols[i + 1..]
            .iter()
            .find(|&&b| !compatible(a, b))
            .map(|&b| (a, b))
    })
}

/// Moves top-level address and port tests (and negated address tests)
/// into the rule header, so that
/// the engine groups native rules by port and address as it does Suricata
/// rules. Only the first test of each header field moves; the rest stay in
/// the condition.
pub(super) fn hoist_header(condition: Expr, header: &mut Header) -> Expr {
    let parts = match condition {
        Expr::And(parts) => parts,
        other => vec![other],
    };
    let ports = |set: &RangeSet<u64>| -> Option<crate::ir::PortSet> {
        let ranges: Option<Vec<_>> = set
            .ranges()
            .iter()
            .map(|r| Some(u16::try_from(*r.start()).ok()?..=u16::try_from(*r.end()).ok()?))
            .collect();
        ranges.map(crate::ir::PortSet::from_ranges)
    };
    let mut kept = Vec::new();
    for p in parts {
        // `not ip.dst in $HOME_NET` is the complement set.
        if let Expr::Not(inner) = &p
            && let Expr::Predicate(Predicate::Field(FieldTest {
                field,
                test: Test::InAddresses(a),
            })) = &**inner
        {
            match field {
                Field::SrcAddr if header.src.is_any() => {
                    header.src = a.complement();
                    continue;
                }
                Field::DstAddr if header.dst.is_any() => {
                    header.dst = a.complement();
                    continue;
                }
                _ => {}
            }
        }
        if let Expr::Predicate(Predicate::Field(FieldTest { field, test })) = &p {
            match (field, test) {
                (Field::SrcAddr, Test::InAddresses(a)) if header.src.is_any() => {
                    header.src = a.clone();
                    continue;
                }
                (Field::DstAddr, Test::InAddresses(a)) if header.dst.is_any() => {
                    header.dst = a.clone();
                    continue;
                }
                (Field::SrcPort, Test::InNumbers(n)) if header.src_ports.is_full() => {
                    if let Some(set) = ports(n) {
                        header.src_ports = set;
                        continue;
                    }
                }
                (Field::DstPort, Test::InNumbers(n)) if header.dst_ports.is_full() => {
                    if let Some(set) = ports(n) {
                        header.dst_ports = set;
                        continue;
                    }
                }
                _ => {}
            }
        }
        kept.push(p);
    }
    Expr::and(kept)
}
