//! Tests on non-buffer fields (header keywords, flow state, transaction
//! facts), shared by the engine and the reference evaluator: each is a
//! direct read of [`crate::PacketMeta`] or a buffer length.

use std::net::IpAddr;

use sensor_rules::ir::{Field, FieldTest, FlagMode, Test};

use crate::input::{BufferId, FlowDir, Input, InputKind, ip_options, view};
use crate::target::Target;

/// A field's value, as far as tests are concerned.
enum Value {
    Num(u64),
    Addr(IpAddr),
    Bool(bool),
    Present(bool),
}

fn value<I: Input + ?Sized>(field: &Field, input: &I) -> Option<Value> {
    let m = input.meta();
    let tcp = m.ip_proto == 6;
    let num = |v: Option<u64>| v.map(Value::Num);
    Some(match field {
        Field::SrcAddr => Value::Addr(m.src),
        Field::DstAddr => Value::Addr(m.dst),
        Field::Ttl => Value::Num(m.ttl.into()),
        Field::IpProto => Value::Num(m.ip_proto.into()),
        Field::IpLen => Value::Num(m.ip_len.into()),
        Field::IpOpts => Value::Num(m.ip_options.into()),
        Field::FragBits => Value::Num(m.frag_bits.into()),
        Field::SrcPort => return num(m.src_port.map(u64::from)),
        Field::DstPort => return num(m.dst_port.map(u64::from)),
        Field::TcpFlags => return num(m.tcp_flags.filter(|_| tcp).map(u64::from)),
        Field::TcpWindow => return num(m.tcp_window.filter(|_| tcp).map(u64::from)),
        Field::TcpSeq => return num(m.tcp_seq.filter(|_| tcp).map(u64::from)),
        Field::TcpAck => return num(m.tcp_ack.filter(|_| tcp).map(u64::from)),
        Field::IcmpType => return num(m.icmp_type.map(u64::from)),
        Field::IcmpCode => return num(m.icmp_code.map(u64::from)),
        Field::PayloadSize => Value::Num(m.payload_len.into()),
        Field::UriLen => return num(view(input, BufferId::HttpUri).map(|b| b.len() as u64)),
        Field::UriLenRaw => return num(view(input, BufferId::HttpUriRaw).map(|b| b.len() as u64)),
        Field::HttpStatus => {
            return num(m
                .http_status
                .filter(|_| m.kind == InputKind::HttpResponse)
                .map(u64::from));
        }
        Field::TlsVersion => return num(m.tls_version.map(u64::from)),
        Field::DnsType => return num(m.dns_type.map(u64::from)),
        Field::ToServer => Value::Bool(m.direction == FlowDir::ToServer),
        Field::ToClient => Value::Bool(m.direction == FlowDir::ToClient),
        Field::Established => Value::Bool(m.established),
        Field::HttpRequest => Value::Bool(m.kind == InputKind::HttpRequest),
        Field::HttpResponse => Value::Bool(m.kind == InputKind::HttpResponse),
        Field::TlsClientHello => Value::Bool(m.kind == InputKind::Tls && m.tls_client_hello),
        Field::DnsRequest => Value::Bool(m.kind == InputKind::Dns && m.dns_query),
        Field::Buffer(b) => Value::Present(Target::of(b).exists(input)),
    })
}

/// Evaluates a field test; a test on an absent field is false.
pub(crate) fn eval<I: Input + ?Sized>(t: &FieldTest, input: &I) -> bool {
    let Some(v) = value(&t.field, input) else {
        return false;
    };
    match (&t.test, v) {
        (Test::Exists, Value::Present(p)) => p,
        (Test::Exists, _) => true,
        (Test::IsTrue, Value::Bool(b)) => b,
        (Test::IsTrue, Value::Present(p)) => p,
        (Test::IsTrue, Value::Num(n)) => n != 0,
        (Test::Num(cmp), Value::Num(n)) => cmp.eval(n),
        (Test::InNumbers(set), Value::Num(n)) => set.contains(n),
        (Test::InAddresses(set), Value::Addr(a)) => set.contains(a),
        (
            Test::Flags {
                mode,
                flags,
                ignore,
            },
            Value::Num(n),
        ) => {
            let f = (n as u8) & !ignore;
            match mode {
                FlagMode::Exact => f == *flags,
                FlagMode::All => f & flags == *flags,
                FlagMode::Any => f & flags != 0,
                FlagMode::NotAny => f & flags == 0,
            }
        }
        (Test::IpOption(name), Value::Num(n)) => {
            ip_options::from_name(name).is_some_and(|bit| n as u16 & bit != 0)
        }
        _ => false,
    }
}

/// A field's value as a number (addresses folded to 64 bits), for
/// distinct counts.
pub(crate) fn number<I: Input + ?Sized>(field: &Field, input: &I) -> Option<u64> {
    match value(field, input)? {
        Value::Num(n) => Some(n),
        Value::Addr(IpAddr::V4(a)) => Some(u32::from(a).into()),
        Value::Addr(IpAddr::V6(a)) => {
            let v = u128::from(a);
            Some((v >> 64) as u64 ^ v as u64)
        }
        Value::Bool(b) | Value::Present(b) => Some(b.into()),
    }
}
