//! Decoding frames built by `synth`: link types, VLANs, IPv4 options, IPv6
//! extension headers, fragments, checksums, malformed input, kernel records.

use std::net::{IpAddr, SocketAddr};

use sensor_common::record::{RecordHeader, status};
use sensor_packet::synth::{self, TcpSegment};
use sensor_packet::{
    ChecksumStatus, DecodeErrorKind, DecodeOptions, Decoder, Direction, IpVersion, LinkType,
    Packet, Transport,
};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn decode_one(link: LinkType, frame: &[u8]) -> Result<Option<Packet<'static>>, DecodeErrorKind> {
    // Leak to get 'static data: test-only convenience.
    let frame: &'static [u8] = Box::leak(frame.to_vec().into_boxed_slice());
    let decoder: &'static mut Decoder = Box::leak(Box::new(Decoder::new(DecodeOptions::default())));
    decoder
        .decode_bytes(link, 7, 0, frame.len() as u32, frame)
        .map_err(|e| e.kind())
}

#[test]
fn ethernet_ipv4_tcp_fields() {
    let seg = TcpSegment::new(sa("10.0.0.1:40000"), sa("10.0.0.2:80"))
        .seq(1000)
        .ack(2000)
        .flags(0x18)
        .payload(b"GET /");
    let p = decode_one(LinkType::Ethernet, &synth::ethernet(&[], &seg.ip_packet()))
        .unwrap()
        .unwrap();
    assert_eq!(p.ip_version, IpVersion::V4);
    assert_eq!(p.src, "10.0.0.1".parse::<IpAddr>().unwrap());
    assert_eq!((p.src_port(), p.dst_port()), (40000, 80));
    let tcp = p.tcp().unwrap();
    assert_eq!(
        (tcp.seq, tcp.ack, tcp.flags.0, tcp.header_len),
        (1000, 2000, 0x18, 20)
    );
    assert_eq!(p.payload, b"GET /");
    assert_eq!(p.payload_len, 5);
    assert_eq!(p.ttl, 64);
    assert_eq!(p.checksum, ChecksumStatus::Valid);
    assert_eq!(p.ts_ns, 7);
}

#[test]
fn stacked_vlans_and_ipv6() {
    let seg = TcpSegment::new(sa("[2001:db8::1]:5000"), sa("[2001:db8::2]:443")).payload(b"x");
    let frame = synth::ethernet(&[100, 200], &seg.ip_packet());
    let p = decode_one(LinkType::Ethernet, &frame).unwrap().unwrap();
    assert_eq!(p.vlan.ids, [100, 200]);
    assert_eq!(p.vlan.depth, 2);
    assert_eq!(p.ip_version, IpVersion::V6);
    assert_eq!(p.dst_port(), 443);
    assert_eq!(p.checksum, ChecksumStatus::Valid);
    // 802.1ad outer tag.
    let mut qinq = frame.clone();
    qinq[12..14].copy_from_slice(&[0x88, 0xa8]);
    let p = decode_one(LinkType::Ethernet, &qinq).unwrap().unwrap();
    assert_eq!(p.vlan.ids, [100, 200]);
}

#[test]
fn ipv4_options_are_skipped() {
    let seg = TcpSegment::new(sa("10.0.0.1:1"), sa("10.0.0.2:2")).payload(b"data");
    let ip = seg.ip_packet();
    // Insert 4 bytes of options (NOP NOP NOP EOL) and fix IHL, length, checksum.
    let mut with_opts = ip[..20].to_vec();
    with_opts.extend_from_slice(&[1, 1, 1, 0]);
    with_opts.extend_from_slice(&ip[20..]);
    with_opts[0] = 0x46;
    let total = (with_opts.len() as u16).to_be_bytes();
    with_opts[2..4].copy_from_slice(&total);
    with_opts[10..12].copy_from_slice(&[0, 0]);
    let sum = ipv4_checksum(&with_opts[..24]);
    with_opts[10..12].copy_from_slice(&sum.to_be_bytes());
    let p = decode_one(LinkType::Raw, &with_opts).unwrap().unwrap();
    assert_eq!(p.payload, b"data");
    assert_eq!(p.checksum, ChecksumStatus::Valid);
}

fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut s: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

#[test]
fn ipv6_extension_headers_are_followed() {
    let udp = synth::udp_l4(sa("[2001:db8::1]:53"), sa("[2001:db8::2]:5353"), b"dns");
    // Hop-by-hop (8 bytes) then destination options (8 bytes) then UDP.
    let mut ip = vec![0x60, 0, 0, 0];
    ip.extend_from_slice(&((16 + udp.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 64]);
    ip.extend_from_slice(
        &"2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    ip.extend_from_slice(
        &"2001:db8::2"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    ip.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
    ip.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]);
    ip.extend_from_slice(&udp);
    let p = decode_one(LinkType::Ipv6, &ip).unwrap().unwrap();
    assert_eq!(p.protocol, 17);
    assert_eq!(p.payload, b"dns");
    assert_eq!(p.checksum, ChecksumStatus::Valid);
}

#[test]
fn bad_checksums_are_marked_not_dropped() {
    let seg = TcpSegment::new(sa("10.0.0.1:1"), sa("10.0.0.2:2")).payload(b"data");
    let mut ip = seg.ip_packet();
    let last = ip.len() - 1;
    ip[last] ^= 0xff;
    let p = decode_one(LinkType::Raw, &ip).unwrap().unwrap();
    assert_eq!(p.checksum, ChecksumStatus::BadTransport);
    ip[8] = 1; // TTL changes the IP header checksum.
    let p = decode_one(LinkType::Raw, &ip).unwrap().unwrap();
    assert_eq!(p.checksum, ChecksumStatus::BadIp);
    // With verification off nothing is checked.
    let mut d = Decoder::new(DecodeOptions {
        verify_checksums: false,
        ..DecodeOptions::default()
    });
    let p = d
        .decode_bytes(LinkType::Raw, 0, 0, 0, &ip)
        .unwrap()
        .unwrap();
    assert_eq!(p.checksum, ChecksumStatus::NotChecked);
}

fn fragments(src: &str, dst: &str, payload: &[u8], split: usize) -> (Vec<u8>, Vec<u8>) {
    let l4 = synth::udp_l4(sa(src), sa(dst), payload);
    let (a, b) = l4.split_at(split);
    let s = sa(src).ip();
    let d = sa(dst).ip();
    let f1 = synth::ip_packet(s, d, 17, 77, 0x2000, a);
    let f2 = synth::ip_packet(s, d, 17, 77, (split / 8) as u16, b);
    (f1, f2)
}

#[test]
fn ipv4_and_ipv6_fragments_are_reassembled_in_any_order() {
    let payload: Vec<u8> = (0..100u8).collect();
    for (src, dst) in [
        ("10.0.0.1:53", "10.0.0.2:999"),
        ("[2001:db8::1]:53", "[2001:db8::2]:999"),
    ] {
        for reverse in [false, true] {
            let (f1, f2) = fragments(src, dst, &payload, 48);
            let (first, second) = if reverse { (f2, f1) } else { (f1, f2) };
            let mut d = Decoder::new(DecodeOptions::default());
            assert!(
                d.decode_bytes(LinkType::Raw, 0, 0, 0, &first)
                    .unwrap()
                    .is_none()
            );
            let p = d
                .decode_bytes(LinkType::Raw, 1, 0, 0, &second)
                .unwrap()
                .unwrap();
            assert_eq!(p.payload, &payload[..], "{src} reverse={reverse}");
            assert_eq!(p.dst_port(), 999);
            assert!(p.fragment.unwrap().reassembled);
            assert_eq!(p.checksum, ChecksumStatus::Valid);
            assert_eq!(d.stats().defrag.reassembled, 1);
        }
    }
}

#[test]
fn sll_direction_and_ethertype() {
    let udp = synth::udp_packet(sa("10.0.0.1:1"), sa("10.0.0.2:2"), b"z");
    let mut frame = vec![0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
    frame.extend_from_slice(&udp);
    let p = decode_one(LinkType::LinuxSll, &frame).unwrap().unwrap();
    assert_eq!(p.direction, Some(Direction::Egress));
    frame[1] = 0;
    let p = decode_one(LinkType::LinuxSll, &frame).unwrap().unwrap();
    assert_eq!(p.direction, Some(Direction::Ingress));
}

#[test]
fn icmp_type_and_code() {
    let icmp = [8u8, 0, 0xf7, 0xff, 0, 0, 0, 0];
    let ip = synth::ip_packet(sa("10.0.0.1:0").ip(), sa("10.0.0.2:0").ip(), 1, 1, 0, &icmp);
    let p = decode_one(LinkType::Raw, &ip).unwrap().unwrap();
    assert_eq!(
        p.transport,
        Transport::Icmp {
            icmp_type: 8,
            code: 0
        }
    );
    assert_eq!(p.checksum, ChecksumStatus::Valid);
}

#[test]
fn malformed_frames_are_errors() {
    let seg = TcpSegment::new(sa("10.0.0.1:1"), sa("10.0.0.2:2")).payload(b"data");
    let ip = seg.ip_packet();
    let eth = synth::ethernet(&[], &ip);
    // Every prefix of the frame: an error or a (truncated) packet, never a panic.
    for cut in 0..eth.len() {
        let _ = decode_one(LinkType::Ethernet, &eth[..cut]);
    }
    assert_eq!(
        decode_one(LinkType::Ethernet, &eth[..10]).unwrap_err(),
        DecodeErrorKind::Truncated("ethernet")
    );
    let mut arp = eth.clone();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(
        decode_one(LinkType::Ethernet, &arp).unwrap_err(),
        DecodeErrorKind::NotIp(0x0806)
    );
    let mut bad_ihl = ip.clone();
    bad_ihl[0] = 0x44;
    assert!(matches!(
        decode_one(LinkType::Raw, &bad_ihl),
        Err(DecodeErrorKind::Malformed(_))
    ));
    let mut bad_doff = ip.clone();
    bad_doff[32] = 0x30;
    assert!(matches!(
        decode_one(LinkType::Raw, &bad_doff),
        Err(DecodeErrorKind::Malformed(_))
    ));
    // Every byte flipped: still no panic.
    for i in 0..eth.len() {
        for v in [0u8, 0xff, 0x45, 0x60] {
            let mut f = eth.clone();
            f[i] = v;
            let _ = decode_one(LinkType::Ethernet, &f);
        }
    }
}

#[test]
fn snap_length_truncation_keeps_wire_length() {
    let body = vec![b'a'; 1000];
    let seg = TcpSegment::new(sa("10.0.0.1:1"), sa("10.0.0.2:80")).payload(&body);
    let ip = seg.ip_packet();
    let p = decode_one(LinkType::Raw, &ip[..200]).unwrap().unwrap();
    assert_eq!(p.payload.len(), 160);
    assert_eq!(p.payload_len, 1000);
    assert!(p.payload_truncated());
    assert_eq!(p.checksum, ChecksumStatus::NotChecked);
}

#[test]
fn kernel_record_builds_the_same_packet() {
    let mut h = RecordHeader::ZERO;
    h.ts_ns = 42;
    h.ifindex = 3;
    h.src_addr[..4].copy_from_slice(&[10, 0, 0, 1]);
    h.dst_addr[..4].copy_from_slice(&[10, 0, 0, 2]);
    h.ip_version = 4;
    h.protocol = 6;
    h.src_port = 40000;
    h.dst_port = 80;
    h.seq = 1000;
    h.ack = 2000;
    h.tcp_flags = 0x18;
    h.ttl = 64;
    h.payload_len = 5;
    h.captured_len = 5;
    h.direction = 1;
    h.vlan_id = 100;
    h.vlan_depth = 1;
    h.status = status::L3_PARSED | status::L4_PARSED | status::VLAN;
    let mut rec = h.as_bytes().to_vec();
    rec.extend_from_slice(b"GET /");
    let k = Packet::from_kernel_record(&rec).unwrap();
    let seg = TcpSegment::new(sa("10.0.0.1:40000"), sa("10.0.0.2:80"))
        .seq(1000)
        .ack(2000)
        .flags(0x18)
        .payload(b"GET /");
    let f = decode_one(LinkType::Raw, &seg.ip_packet())
        .unwrap()
        .unwrap();
    assert_eq!(
        (k.src, k.dst, k.protocol, k.ttl),
        (f.src, f.dst, f.protocol, f.ttl)
    );
    assert_eq!(
        k.tcp().map(|t| (t.seq, t.ack, t.flags)),
        f.tcp().map(|t| (t.seq, t.ack, t.flags))
    );
    assert_eq!((k.src_port(), k.dst_port()), (40000, 80));
    assert_eq!(k.payload, f.payload);
    assert_eq!(k.direction, Some(Direction::Egress));
    assert_eq!(k.vlan.outer(), 100);
    assert_eq!(k.interface, 3);
    // Short or inconsistent records are errors.
    assert!(Packet::from_kernel_record(&rec[..50]).is_err());
    assert!(Packet::from_kernel_record(&rec[..rec.len() - 1]).is_err());
    let mut no_l3 = h;
    no_l3.status = 0;
    no_l3.captured_len = 0;
    assert_eq!(
        Packet::from_kernel_record(no_l3.as_bytes())
            .unwrap_err()
            .kind(),
        DecodeErrorKind::NoL3
    );
}
