//! The edge-case capture `pcaps/http-edge-cases.pcap`, built from code so it
//! can be regenerated (`cargo run -p sensor-proto --example gen_edge_pcaps`)
//! and checked byte for byte by the tests.

use std::net::SocketAddr;

use sensor_packet::synth::{self, TcpConversation, TimedFrame};

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// URIs of the requests in the capture, in the order they complete.
pub const EXPECTED_URIS: &[&str] = &[
    "/pipelined/1",
    "/pipelined/2",
    "/pipelined/3",
    "/tiny/segments",
    "/first-wins",
    "/v6/vlan",
    "/long/headers",
];

/// SNI of the TLS connection.
pub const EXPECTED_SNI: &str = "split.example.org";

/// DNS query carried in IPv4 fragments.
pub const EXPECTED_FRAGMENTED_QUERY: &str = "fragmented.example.com";

fn client_hello(name: &str) -> Vec<u8> {
    let mut sni = ((name.len() + 3) as u16).to_be_bytes().to_vec();
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name.as_bytes());
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x42; 32]);
    body.extend_from_slice(&[0, 0, 4, 0x13, 0x01, 0xc0, 0x2f, 1, 0]);
    let mut ext = vec![0, 0];
    ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    ext.extend_from_slice(&sni);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
    hs.extend_from_slice(&body);
    // Two records: the handshake message split after 20 bytes.
    let mut out = vec![0x16, 3, 1, 0, 20];
    out.extend_from_slice(&hs[..20]);
    out.extend_from_slice(&[0x16, 3, 1, 0, (hs.len() - 20) as u8]);
    out.extend_from_slice(&hs[20..]);
    out
}

/// Every frame of the capture, in time order.
pub fn http_edge_cases() -> Vec<TimedFrame> {
    let t0: u64 = 1_700_000_000_000_000_000;
    let mut frames = Vec::new();

    // 1. Pipelining: three requests in one segment, three responses.
    let mut c = TcpConversation::new(sa("10.1.0.1:41000"), sa("10.1.0.2:80"), t0);
    c.handshake(&mut frames);
    c.send(
        true,
        b"GET /pipelined/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /pipelined/2 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /pipelined/3 HTTP/1.1\r\nHost: a\r\n\r\n",
        &mut frames,
    );
    c.send(
        false,
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
        &mut frames,
    );
    c.close(&mut frames);

    // 2. One-byte segments and an obs-folded header.
    let mut c = TcpConversation::new(sa("10.1.0.1:41001"), sa("10.1.0.2:80"), t0 + 1_000_000);
    c.handshake(&mut frames);
    c.mss = 1;
    c.send(
        true,
        b"GET /tiny/segments HTTP/1.1\r\nX-Folded: a\r\n b\r\n\r\n",
        &mut frames,
    );
    c.mss = 1460;
    c.send(false, b"HTTP/1.1 204 No Content\r\n\r\n", &mut frames);
    c.close(&mut frames);

    // 3. Out of order, then a retransmission rewriting bytes already
    //    received: the first copy wins.
    let mut c = TcpConversation::new(sa("10.1.0.1:41002"), sa("10.1.0.2:80"), t0 + 2_000_000);
    c.handshake(&mut frames);
    let (cs, ss) = c.seqs();
    let req = b"GET /first-wins HTTP/1.1\r\nHost: b\r\n\r\n";
    frames.push(c.raw_segment(true, cs + 10, ss, 0x18, &req[10..]));
    frames.push(c.raw_segment(true, cs, ss, 0x18, &req[..10]));
    frames.push(c.raw_segment(true, cs, ss, 0x18, b"GET /evil/"));

    // 4. IPv6 inside a VLAN.
    let mut c = TcpConversation::new(
        sa("[2001:db8::1]:41003"),
        sa("[2001:db8::2]:80"),
        t0 + 3_000_000,
    )
    .vlans(&[100]);
    c.handshake(&mut frames);
    c.send(
        true,
        b"GET /v6/vlan HTTP/1.1\r\nHost: [2001:db8::2]\r\n\r\n",
        &mut frames,
    );
    c.close(&mut frames);

    // 5. A header block longer than one segment.
    let mut c = TcpConversation::new(sa("10.1.0.1:41004"), sa("10.1.0.2:80"), t0 + 4_000_000);
    c.handshake(&mut frames);
    let mut long = b"GET /long/headers HTTP/1.1\r\nHost: c\r\nX-Padding: ".to_vec();
    long.extend_from_slice(&[b'p'; 3000]);
    long.extend_from_slice(b"\r\n\r\n");
    c.send(true, &long, &mut frames);
    c.close(&mut frames);

    // 6. A TLS ClientHello in two records over several segments.
    let mut c = TcpConversation::new(sa("10.1.0.1:41005"), sa("10.1.0.3:443"), t0 + 5_000_000);
    c.handshake(&mut frames);
    c.mss = 30;
    c.send(true, &client_hello(EXPECTED_SNI), &mut frames);
    c.close(&mut frames);

    // 7. A DNS query in two IPv4 fragments, second first.
    let mut q = vec![0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for l in EXPECTED_FRAGMENTED_QUERY.split('.') {
        q.push(l.len() as u8);
        q.extend_from_slice(l.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    let (src, dst) = (sa("10.1.0.1:41006"), sa("10.1.0.53:53"));
    let l4 = synth::udp_l4(src, dst, &q);
    let f1 = synth::ip_packet(src.ip(), dst.ip(), 17, 7, 0x2000, &l4[..16]);
    let f2 = synth::ip_packet(src.ip(), dst.ip(), 17, 7, 2, &l4[16..]);
    frames.push((t0 + 6_000_000, synth::ethernet(&[], &f2)));
    frames.push((t0 + 6_000_100, synth::ethernet(&[], &f1)));

    frames.sort_by_key(|f| f.0);
    frames
}

/// The capture as pcap bytes.
pub fn http_edge_cases_pcap() -> Vec<u8> {
    let mut w = synth::PcapWriter::new(Vec::new(), sensor_packet::LinkType::Ethernet)
        .expect("writing to memory");
    for (ts, frame) in http_edge_cases() {
        w.write(ts, &frame).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}
