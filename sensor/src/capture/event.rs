//! The owned packet event decoded from a kernel ring-buffer record.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::SystemTime,
};

use sensor_common::{
    Direction, RecordHeader,
    enforce::reason,
    record::{RECORD_HEADER_LEN, ip_flags, status},
};
use sensor_packet::TcpFlags;
use serde::{Serialize, Serializer};

use super::WallClock;

/// One packet as the kernel described it: header fields plus the first bytes
/// of its L4 payload. Owned, so it can cross threads and outlive the ring slot.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PacketEvent {
    /// Kernel CLOCK_MONOTONIC nanoseconds.
    pub ktime_ns: u64,
    /// Wall-clock time of the packet.
    #[serde(serialize_with = "serialize_time")]
    pub time: SystemTime,
    pub ifindex: u32,
    #[serde(serialize_with = "serialize_direction")]
    pub direction: Direction,
    /// Length of the whole frame.
    pub pkt_len: u32,
    pub ether_type: u16,
    /// Outermost VLAN id, when tagged.
    pub vlan_id: Option<u16>,
    pub vlan_depth: u8,
    /// 4 or 6; `None` for non-IP frames.
    pub ip_version: Option<u8>,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub protocol: u8,
    pub ttl: u8,
    pub ip_len: u16,
    pub ip_id: u16,
    pub dont_fragment: bool,
    pub more_fragments: bool,
    pub frag_offset: u16,
    pub src_port: u16,
    pub dst_port: u16,
    #[serde(serialize_with = "serialize_tcp_flags")]
    pub tcp_flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    pub icmp_type: u8,
    pub icmp_code: u8,
    /// L4 payload bytes on the wire.
    pub payload_len: u16,
    /// The captured prefix of the payload (at most the snap length).
    #[serde(serialize_with = "serialize_payload")]
    pub payload: Vec<u8>,
    /// Header parse status bits ([`sensor_common::record::status`]).
    pub status: u8,
    /// Why the kernel dropped the packet (IPS mode); absent when it passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop: Option<DropInfo>,
}

/// Why the TC program dropped a packet, as its record says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DropInfo {
    /// `sensor_common::enforce::reason` name: cidr_src, cidr_dst, port, flow, pattern.
    pub reason: &'static str,
    /// Rule that caused the drop.
    pub sid: u32,
    /// Index of the matching pattern when the reason is `pattern`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<u32>,
}

impl DropInfo {
    fn from_header(h: &RecordHeader) -> Option<DropInfo> {
        if h.status & status::DROPPED == 0 {
            return None;
        }
        Some(DropInfo {
            reason: reason::name(h.drop_reason),
            sid: h.sid,
            pattern: (h.drop_reason == reason::PATTERN).then_some(h.pattern_id),
        })
    }
}

/// Why a ring-buffer record could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// Shorter than the fixed header.
    Short { len: usize },
    /// The header claims more payload bytes than the record holds.
    PayloadTruncated { claimed: usize, present: usize },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Short { len } => {
                write!(
                    f,
                    "record of {len} bytes is shorter than its {RECORD_HEADER_LEN}-byte header"
                )
            }
            RecordError::PayloadTruncated { claimed, present } => {
                write!(
                    f,
                    "record claims {claimed} payload bytes but holds {present}"
                )
            }
        }
    }
}

impl std::error::Error for RecordError {}

impl PacketEvent {
    /// Decodes a ring-buffer record: a [`RecordHeader`] then `captured_len` bytes.
    ///
    /// ```
    /// use sensor_common::RecordHeader;
    /// use vigil::capture::{PacketEvent, WallClock};
    /// let mut h = RecordHeader::ZERO;
    /// h.ip_version = 4;
    /// h.status = sensor_common::record::status::L3_PARSED;
    /// h.src_addr[..4].copy_from_slice(&[10, 0, 0, 1]);
    /// let ev = PacketEvent::decode(h.as_bytes(), &WallClock::identity()).unwrap();
    /// assert_eq!(ev.src.unwrap().to_string(), "10.0.0.1");
    /// ```
    pub fn decode(bytes: &[u8], clock: &WallClock) -> Result<PacketEvent, RecordError> {
        let h = RecordHeader::read_from(bytes).ok_or(RecordError::Short { len: bytes.len() })?;
        let body = &bytes[RECORD_HEADER_LEN..];
        let claimed = h.captured_len as usize;
        if claimed > body.len() {
            return Err(RecordError::PayloadTruncated {
                claimed,
                present: body.len(),
            });
        }
        let l3 = h.status & status::L3_PARSED != 0;
        let (src, dst, ip_version) = if !l3 {
            (None, None, None)
        } else if h.ip_version == 6 {
            (
                Some(IpAddr::V6(Ipv6Addr::from(h.src_addr))),
                Some(IpAddr::V6(Ipv6Addr::from(h.dst_addr))),
                Some(6),
            )
        } else {
            let a = |b: &[u8; 16]| IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]));
            (Some(a(&h.src_addr)), Some(a(&h.dst_addr)), Some(4))
        };
        Ok(PacketEvent {
            ktime_ns: h.ts_ns,
            time: clock.to_system_time(h.ts_ns),
            ifindex: h.ifindex,
            direction: Direction::from_u8(h.direction),
            pkt_len: h.pkt_len,
            ether_type: h.ether_type,
            vlan_id: (h.status & status::VLAN != 0).then_some(h.vlan_id),
            vlan_depth: h.vlan_depth,
            ip_version,
            src,
            dst,
            protocol: h.protocol,
            ttl: h.ttl,
            ip_len: h.ip_len,
            ip_id: h.ip_id,
            dont_fragment: h.ip_flags & ip_flags::DF != 0,
            more_fragments: h.ip_flags & ip_flags::MF != 0,
            frag_offset: h.frag_offset,
            src_port: h.src_port,
            dst_port: h.dst_port,
            tcp_flags: TcpFlags(h.tcp_flags),
            seq: h.seq,
            ack: h.ack,
            window: h.window,
            icmp_type: h.icmp_type,
            icmp_code: h.icmp_code,
            payload_len: h.payload_len,
            payload: body[..claimed].to_vec(),
            status: h.status,
            drop: DropInfo::from_header(&h),
        })
    }

    /// Whether the transport header was parsed.
    pub fn has_l4(&self) -> bool {
        self.status & status::L4_PARSED != 0
    }

    /// The protocol's conventional name.
    pub fn protocol_name(&self) -> &'static str {
        match (self.ip_version, self.protocol) {
            (None, _) => "non-ip",
            (_, 6) => "TCP",
            (_, 17) => "UDP",
            (_, 1) => "ICMP",
            (_, 58) => "ICMPv6",
            _ => "IP",
        }
    }
}

/// One line per packet, in the spirit of tcpdump.
impl fmt::Display for PacketEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = humantime_utc(self.time);
        let dir = match self.direction {
            Direction::Ingress => "in ",
            Direction::Egress => "out",
        };
        write!(f, "{t} {dir} if{}", self.ifindex)?;
        if let Some(vlan) = self.vlan_id {
            write!(f, " vlan {vlan}")?;
        }
        let (Some(src), Some(dst)) = (self.src, self.dst) else {
            return write!(
                f,
                " ethertype 0x{:04x} len {}",
                self.ether_type, self.pkt_len
            );
        };
        let ep = |ip: IpAddr, port: u16, ports: bool| match (ip, ports) {
            (IpAddr::V6(_), true) => format!("[{ip}]:{port}"),
            (_, true) => format!("{ip}:{port}"),
            _ => ip.to_string(),
        };
        let ports = self.has_l4() && matches!(self.protocol, 6 | 17);
        write!(
            f,
            " {} {} > {} ttl {}",
            self.protocol_name(),
            ep(src, self.src_port, ports),
            ep(dst, self.dst_port, ports),
            self.ttl
        )?;
        if self.frag_offset != 0 || self.more_fragments {
            write!(
                f,
                " frag {}{}",
                self.frag_offset * 8,
                if self.more_fragments { "+" } else { "" }
            )?;
        }
        if self.has_l4() {
            match self.protocol {
                6 => write!(
                    f,
                    " [{}] seq {} ack {} win {}",
                    self.tcp_flags.names().collect::<Vec<_>>().join(","),
                    self.seq,
                    self.ack,
                    self.window
                )?,
                1 | 58 => write!(f, " type {} code {}", self.icmp_type, self.icmp_code)?,
                _ => {}
            }
        }
        write!(f, " len {}", self.payload_len)?;
        if !self.payload.is_empty() {
            write!(f, " \"{}\"", escape_prefix(&self.payload, 64))?;
        }
        if self.status & status::MALFORMED != 0 {
            f.write_str(" [malformed]")?;
        }
        if self.status & status::BODY_SKIPPED != 0 {
            f.write_str(" [body skipped]")?;
        }
        if let Some(drop) = &self.drop {
            write!(f, " [DROPPED {} sid {}]", drop.reason, drop.sid)?;
        }
        Ok(())
    }
}

/// Printable prefix of a payload, escaped like tcpdump -A would show it.
fn escape_prefix(bytes: &[u8], max: usize) -> String {
    let mut s = String::new();
    for &b in bytes.iter().take(max) {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => s.push('.'),
        }
    }
    if bytes.len() > max {
        s.push('…');
    }
    s
}

fn humantime_utc(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    format!("{h:02}:{m:02}:{s:02}.{:06}", d.subsec_micros())
}

fn serialize_time<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    s.serialize_f64(d.as_secs_f64())
}

fn serialize_tcp_flags<S: Serializer>(f: &TcpFlags, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(f.names())
}

fn serialize_direction<S: Serializer>(d: &Direction, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match d {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    })
}

/// Payload as a string with non-UTF-8 bytes escaped (`\xNN`) and backslashes
/// doubled, so it is lossless and JSON consumers can grep header text directly.
fn serialize_payload<S: Serializer>(p: &[u8], s: S) -> Result<S::Ok, S::Error> {
    let mut out = String::with_capacity(p.len());
    for chunk in p.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    s.serialize_str(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sensor_common::record::status;

    fn tcp_record(payload: &[u8]) -> Vec<u8> {
        let mut h = RecordHeader::ZERO;
        h.ts_ns = 1_000_000_123;
        h.ifindex = 7;
        h.direction = Direction::Egress as u8;
        h.pkt_len = 66 + payload.len() as u32;
        h.ether_type = 0x0800;
        h.ip_version = 4;
        h.protocol = 6;
        h.ttl = 63;
        h.ip_flags = ip_flags::DF;
        h.src_addr[..4].copy_from_slice(&[192, 0, 2, 1]);
        h.dst_addr[..4].copy_from_slice(&[198, 51, 100, 7]);
        h.src_port = 443;
        h.dst_port = 51000;
        h.tcp_flags = TcpFlags::SYN | TcpFlags::ACK;
        h.seq = 0xdead_beef;
        h.ack = 42;
        h.window = 65535;
        h.payload_len = payload.len() as u16 + 10;
        h.captured_len = payload.len() as u16;
        h.status = status::L3_PARSED | status::L4_PARSED;
        let mut bytes = h.as_bytes().to_vec();
        bytes.extend_from_slice(payload);
        bytes
    }

    #[test]
    fn dropped_records_carry_reason_sid_and_pattern() {
        let mut bytes = tcp_record(b"GET /${jndi:");
        let ev = PacketEvent::decode(&bytes, &WallClock::identity()).unwrap();
        assert_eq!(ev.drop, None);
        assert!(!serde_json::to_string(&ev).unwrap().contains("\"drop\""));

        let mut h = RecordHeader::read_from(&bytes).unwrap();
        h.status |= status::DROPPED;
        h.drop_reason = reason::PATTERN;
        h.sid = 7301;
        h.pattern_id = 3;
        bytes[..RECORD_HEADER_LEN].copy_from_slice(h.as_bytes());
        let ev = PacketEvent::decode(&bytes, &WallClock::identity()).unwrap();
        assert_eq!(
            ev.drop,
            Some(DropInfo {
                reason: "pattern",
                sid: 7301,
                pattern: Some(3)
            })
        );
        assert!(
            ev.to_string().ends_with("[DROPPED pattern sid 7301]"),
            "{ev}"
        );
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(json["drop"]["reason"], "pattern");
        assert_eq!(json["drop"]["sid"], 7301);
    }

    #[test]
    fn decodes_every_ipv4_tcp_field() {
        let ev = PacketEvent::decode(&tcp_record(b"GET / HTTP/1.1\r\n"), &WallClock::identity())
            .unwrap();
        assert_eq!(ev.ktime_ns, 1_000_000_123);
        assert_eq!(ev.ifindex, 7);
        assert_eq!(ev.direction, Direction::Egress);
        assert_eq!(ev.src, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(ev.dst, Some("198.51.100.7".parse().unwrap()));
        assert_eq!((ev.src_port, ev.dst_port), (443, 51000));
        assert!(ev.tcp_flags.has(TcpFlags::SYN | TcpFlags::ACK));
        assert!(!ev.tcp_flags.has(TcpFlags::FIN));
        assert_eq!((ev.seq, ev.ack, ev.window), (0xdead_beef, 42, 65535));
        assert!(ev.dont_fragment && !ev.more_fragments);
        assert_eq!(ev.payload, b"GET / HTTP/1.1\r\n");
        assert_eq!(
            ev.payload_len, 26,
            "on-wire length, beyond the captured bytes"
        );
        assert_eq!(ev.vlan_id, None);
        assert_eq!(
            ev.time,
            SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(1_000_000_123)
        );
    }

    #[test]
    fn decodes_ipv6_and_vlan() {
        let mut h = RecordHeader::ZERO;
        h.ip_version = 6;
        h.protocol = 17;
        h.status = status::L3_PARSED | status::L4_PARSED | status::VLAN;
        h.vlan_id = 100;
        h.vlan_depth = 2;
        h.src_addr = "2001:db8::1".parse::<Ipv6Addr>().unwrap().octets();
        h.dst_addr = "2001:db8::2".parse::<Ipv6Addr>().unwrap().octets();
        let ev = PacketEvent::decode(h.as_bytes(), &WallClock::identity()).unwrap();
        assert_eq!(ev.src, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(ev.dst, Some("2001:db8::2".parse().unwrap()));
        assert_eq!(ev.vlan_id, Some(100));
        assert_eq!(ev.vlan_depth, 2);
        assert_eq!(ev.protocol_name(), "UDP");
    }

    #[test]
    fn non_ip_frames_have_no_addresses() {
        let mut h = RecordHeader::ZERO;
        h.ether_type = 0x0806;
        let ev = PacketEvent::decode(h.as_bytes(), &WallClock::identity()).unwrap();
        assert_eq!((ev.src, ev.dst, ev.ip_version), (None, None, None));
        assert!(ev.to_string().contains("ethertype 0x0806"));
    }

    #[test]
    fn short_and_truncated_records_are_errors_not_panics() {
        let bytes = tcp_record(b"abcdef");
        assert_eq!(
            PacketEvent::decode(&bytes[..10], &WallClock::identity()),
            Err(RecordError::Short { len: 10 })
        );
        assert_eq!(
            PacketEvent::decode(&bytes[..bytes.len() - 2], &WallClock::identity()),
            Err(RecordError::PayloadTruncated {
                claimed: 6,
                present: 4
            })
        );
        for cut in 0..bytes.len() {
            let _ = PacketEvent::decode(&bytes[..cut], &WallClock::identity());
        }
    }

    #[test]
    fn text_line_reads_like_tcpdump() {
        let ev = PacketEvent::decode(&tcp_record(b"x\r\n\x01"), &WallClock::identity()).unwrap();
        let line = ev.to_string();
        assert!(
            line.contains("out if7 TCP 192.0.2.1:443 > 198.51.100.7:51000 ttl 63 [SYN,ACK]"),
            "{line}"
        );
        assert!(line.ends_with("len 14 \"x\\r\\n.\""), "{line}");
    }

    #[test]
    fn json_payload_is_lossless_text() {
        let ev = PacketEvent::decode(&tcp_record(b"a\\b\xff"), &WallClock::identity()).unwrap();
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["payload"], "a\\\\b\\xff");
        assert_eq!(v["tcp_flags"], serde_json::json!(["SYN", "ACK"]));
        assert_eq!(v["direction"], "egress");
        assert_eq!(v["src"], "192.0.2.1");
    }
}
