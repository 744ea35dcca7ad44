//! The driver over synthetic connections: flows, reassembly edge cases,
//! parsers, limits, and kernel records.

use std::net::SocketAddr;

use sensor_common::record::{RecordHeader, status};
use sensor_packet::synth::{self, TcpConversation, TimedFrame};
use sensor_packet::{DecodeOptions, Decoder, LinkType, Packet};
use sensor_proto::http::BodyHint;
use sensor_proto::{
    Buffer, Counters, Driver, DriverConfig, Event, FlowEndReason, Side, TcpState, community_id,
};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// What the tests look at.
#[derive(Default, Debug)]
struct Log {
    uris: Vec<String>,
    statuses: Vec<(u16, Option<String>)>,
    snis: Vec<String>,
    dns: Vec<String>,
    anomalies: Vec<String>,
    ends: Vec<(u64, FlowEndReason, TcpState, String, String)>,
    body_hints: Vec<Option<BodyHint>>,
    body_end_seqs: Vec<Option<u32>>,
}

fn run(config: DriverConfig, frames: &[TimedFrame]) -> (Counters, Log) {
    let mut driver = Driver::new(config);
    let mut decoder = Decoder::new(DecodeOptions::default());
    let mut log = Log::default();
    let mut sink = |e: &Event<'_>| record(&mut log, e);
    for (ts, frame) in frames {
        let p = decoder
            .decode_bytes(LinkType::Ethernet, *ts, 0, frame.len() as u32, frame)
            .unwrap()
            .unwrap();
        driver.process(&p, &mut sink);
    }
    driver.finish(&mut sink);
    (driver.counters(), log)
}

fn record(log: &mut Log, e: &Event<'_>) {
    let s = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or(b"")).into_owned();
    match e {
        Event::HttpRequest { flow, .. } => {
            log.uris.push(s(e.buffer(Buffer::HttpUri)));
            log.body_hints.push(flow.body_hint(Side::ToServer));
            log.body_end_seqs.push(flow.body_end_seq(Side::ToServer));
        }
        Event::HttpResponse {
            response, request, ..
        } => log.statuses.push((
            response.status_code,
            request.map(|r| String::from_utf8_lossy(r.uri()).into_owned()),
        )),
        Event::TlsClientHello { .. } => log.snis.push(s(e.buffer(Buffer::TlsSni))),
        Event::Dns { .. } => log.dns.push(s(e.buffer(Buffer::DnsQuery))),
        Event::Anomaly { anomaly, .. } => log.anomalies.push(anomaly.name()),
        Event::FlowEnd { flow, reason } => log.ends.push((
            flow.id,
            *reason,
            flow.tcp_state,
            flow.community_id().to_string(),
            flow.app_proto().name().to_string(),
        )),
        _ => {}
    }
}

fn http_exchange(mss: usize) -> Vec<TimedFrame> {
    let mut c = TcpConversation::new(sa("10.0.0.1:40000"), sa("10.0.0.2:80"), 1_000_000_000);
    c.mss = mss;
    let mut out = Vec::new();
    c.handshake(&mut out);
    let body = vec![b'b'; 3000];
    let mut req = b"POST /up/./load HTTP/1.1\r\nHost: h\r\nContent-Length: 3000\r\n\r\n".to_vec();
    req.extend_from_slice(&body);
    c.send(true, &req, &mut out);
    c.send(
        false,
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        &mut out,
    );
    c.send(true, b"GET /second HTTP/1.1\r\nHost: h\r\n\r\n", &mut out);
    let mut resp = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    resp.extend_from_slice(b"400\r\n");
    resp.extend_from_slice(&[b'x'; 1024]);
    resp.extend_from_slice(b"\r\n0\r\n\r\n");
    c.send(false, &resp, &mut out);
    c.close(&mut out);
    out
}

#[test]
fn keep_alive_with_bodies_any_segment_size() {
    for mss in [1, 7, 100, 1460] {
        let (c, log) = run(DriverConfig::default(), &http_exchange(mss));
        assert_eq!(log.uris, vec!["/up/load", "/second"], "mss {mss}");
        assert_eq!(
            log.statuses,
            vec![
                (200, Some("/up/load".to_string())),
                (404, Some("/second".to_string()))
            ]
        );
        assert_eq!(c.flows, 1);
        assert_eq!(c.stream.gaps, 0);
        assert!(log.anomalies.is_empty(), "{:?}", log.anomalies);
        // Bodies skipped: 3000 + 5 + 1024 chunk bytes.
        assert_eq!(c.skipped_bytes, 3000 + 5 + 1024, "mss {mss}");
        let end = &log.ends[0];
        assert_eq!(end.1, FlowEndReason::Shutdown);
        assert_eq!(end.2, TcpState::Closed);
        assert_eq!(end.4, "http");
        assert_eq!(
            end.3,
            community_id(
                sa("10.0.0.1:0").ip(),
                sa("10.0.0.2:0").ip(),
                6,
                40000,
                80,
                0
            )
        );
    }
}

#[test]
fn body_hint_is_exposed_when_headers_end() {
    let mut c = TcpConversation::new(sa("10.0.0.1:40000"), sa("10.0.0.2:80"), 0);
    let mut out = Vec::new();
    c.handshake(&mut out);
    let headers = b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n";
    let (start, _) = c.seqs();
    c.send(true, headers, &mut out);
    let (_, log) = run(DriverConfig::default(), &out);
    assert_eq!(log.body_hints, vec![Some(BodyHint::Length(1000))]);
    assert_eq!(
        log.body_end_seqs,
        vec![Some(start + headers.len() as u32 + 1000)]
    );
}

#[test]
fn out_of_order_overlap_and_retransmission() {
    let mut c = TcpConversation::new(sa("10.0.0.1:40001"), sa("10.0.0.2:80"), 0);
    let mut out = Vec::new();
    c.handshake(&mut out);
    let (cs, ss) = c.seqs();
    let req = b"GET /first-wins HTTP/1.1\r\nHost: a\r\n\r\n";
    // Second half first, then an overlapping rewrite of the first half that
    // also covers the start of the second half, then the original first half.
    let half = 12;
    out.push(c.raw_segment(true, cs + half as u32, ss, 0x18, &req[half..]));
    out.push(c.raw_segment(true, cs, ss, 0x18, &req[..half]));
    let mut evil = b"GET /evil".to_vec();
    evil.resize(half + 5, b'Z');
    out.push(c.raw_segment(true, cs, ss, 0x18, &evil));
    out.push(c.raw_segment(true, cs, ss, 0x18, &req[..half]));
    let (c, log) = run(DriverConfig::default(), &out);
    assert_eq!(log.uris, vec!["/first-wins"]);
    assert_eq!(c.stream.out_of_order, 1);
    assert_eq!(c.stream.retransmissions, 2);
}

#[test]
fn lost_header_segment_is_a_gap_and_the_next_request_is_found() {
    let mut conv = TcpConversation::new(sa("10.0.0.1:40002"), sa("10.0.0.2:80"), 0);
    let mut out = Vec::new();
    conv.handshake(&mut out);
    conv.mss = 10;
    let mut all = Vec::new();
    conv.send(true, b"GET /lost HTTP/1.1\r\nHost: a\r\n\r\n", &mut all);
    conv.send(true, b"GET /found HTTP/1.1\r\n\r\n", &mut all);
    // Drop the second data segment of the first request (data, data, ack, ...):
    // the server's ACK then covers bytes the sensor never saw.
    for (i, f) in all.into_iter().enumerate() {
        if i != 1 {
            out.push(f);
        }
    }
    let (c, log) = run(DriverConfig::default(), &out);
    assert_eq!(log.uris, vec!["/found"]);
    assert_eq!(c.stream.gaps, 1);
    assert!(log.anomalies.contains(&"stream.gap".to_string()));
    assert!(log.anomalies.contains(&"http.gap_in_headers".to_string()));
}

#[test]
fn midstream_pickup_guesses_the_server() {
    let mut c = TcpConversation::new(sa("10.0.0.1:50000"), sa("10.0.0.2:8080"), 0);
    let mut out = Vec::new();
    // No handshake: the capture starts with the server's response.
    c.send(
        false,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        &mut out,
    );
    c.send(true, b"GET /mid HTTP/1.1\r\n\r\n", &mut out);
    let (counters, log) = run(DriverConfig::default(), &out);
    assert_eq!(counters.midstream_flows, 1);
    assert!(log.uris.is_empty());
    assert!(counters.uninspected_bytes > 0);
    let mut config = DriverConfig::default();
    config.flow.midstream = true;
    let (_, log) = run(config, &out);
    assert_eq!(log.uris, vec!["/mid"]);
    assert_eq!(log.statuses, vec![(200, None)]);
}

#[test]
fn vlans_separate_flows() {
    let mut frames = Vec::new();
    for vlan in [10, 20] {
        let mut c = TcpConversation::new(sa("10.0.0.1:40003"), sa("10.0.0.2:80"), 0).vlans(&[vlan]);
        c.handshake(&mut frames);
        c.send(true, b"GET / HTTP/1.1\r\n\r\n", &mut frames);
    }
    let (c, log) = run(DriverConfig::default(), &frames);
    assert_eq!(c.flows, 2);
    assert_eq!(log.uris.len(), 2);
}

#[test]
fn flow_limit_evicts_and_counts() {
    let mut frames = Vec::new();
    for i in 0..50u16 {
        let client = SocketAddr::new(sa("10.0.0.1:0").ip(), 10000 + i);
        let mut c = TcpConversation::new(client, sa("10.0.0.2:80"), u64::from(i) * 1000);
        c.handshake(&mut frames);
    }
    let mut config = DriverConfig::default();
    config.flow.max_flows = 10;
    let mut driver = Driver::new(config);
    let mut decoder = Decoder::new(DecodeOptions::default());
    let mut max_tracked = 0;
    let mut sink = |_: &Event<'_>| {};
    for (ts, f) in &frames {
        let p = decoder
            .decode_bytes(LinkType::Ethernet, *ts, 0, 0, f)
            .unwrap()
            .unwrap();
        driver.process(&p, &mut sink);
        max_tracked = max_tracked.max(driver.flows().len());
    }
    assert_eq!(max_tracked, 10);
    assert_eq!(driver.counters().flows_evicted, 40);
    driver.finish(&mut sink);
    assert_eq!(driver.counters().flows_ended, 50);
}

#[test]
fn memcap_bounds_buffered_bytes() {
    // Many flows each holding an incomplete header block.
    let mut frames = Vec::new();
    for i in 0..200u16 {
        let client = SocketAddr::new(sa("10.0.0.1:0").ip(), 20000 + i);
        let mut c = TcpConversation::new(client, sa("10.0.0.2:80"), u64::from(i) * 1000);
        c.handshake(&mut frames);
        c.send(
            true,
            &[b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; 4000]].concat(),
            &mut frames,
        );
    }
    let mut config = DriverConfig::default();
    config.flow.memcap = 256 * 1024;
    let mut driver = Driver::new(config);
    let mut decoder = Decoder::new(DecodeOptions::default());
    let mut sink = |_: &Event<'_>| {};
    for (ts, f) in &frames {
        let p = decoder
            .decode_bytes(LinkType::Ethernet, *ts, 0, 0, f)
            .unwrap()
            .unwrap();
        driver.process(&p, &mut sink);
        assert!(
            driver.flows().memory() <= 256 * 1024 + 64 * 1024,
            "{}",
            driver.flows().memory()
        );
    }
    assert!(driver.counters().flows_evicted > 100);
}

#[test]
fn idle_flows_time_out_by_packet_time() {
    let dns = |name: &str| {
        let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.extend_from_slice(&[0, 0, 1, 0, 1]);
        m
    };
    let f1 = synth::ethernet(
        &[],
        &synth::udp_packet(sa("10.0.0.1:5000"), sa("10.0.0.53:53"), &dns("a.example")),
    );
    let f2 = synth::ethernet(
        &[],
        &synth::udp_packet(sa("10.0.0.1:5001"), sa("10.0.0.53:53"), &dns("b.example")),
    );
    let frames = vec![(0, f1), (120_000_000_000, f2)];
    let (c, log) = run(DriverConfig::default(), &frames);
    assert_eq!(log.dns, vec!["a.example", "b.example"]);
    assert_eq!(c.flows_timed_out, 1);
    assert_eq!(log.ends[0].1, FlowEndReason::Timeout);
    assert_eq!(log.ends[0].4, "dns");
    assert_eq!(log.ends[1].1, FlowEndReason::Shutdown);
}

#[test]
fn tls_client_hello_split_over_segments_then_skipped() {
    // A minimal ClientHello with SNI "split.example".
    let name = b"split.example";
    let mut sni = ((name.len() + 3) as u16).to_be_bytes().to_vec();
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0; 32]);
    body.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
    let mut ext = vec![0, 0];
    ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    ext.extend_from_slice(&sni);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![1, 0, 0, body.len() as u8];
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 3, 1, 0, hs.len() as u8];
    rec.extend_from_slice(&hs);
    let mut c = TcpConversation::new(sa("10.0.0.1:40004"), sa("10.0.0.2:443"), 0);
    c.mss = 20;
    let mut out = Vec::new();
    c.handshake(&mut out);
    c.send(true, &rec, &mut out);
    c.send(false, &[0x16; 3000], &mut out);
    c.send(true, &[0x17; 500], &mut out);
    let (counters, log) = run(DriverConfig::default(), &out);
    assert_eq!(log.snis, vec!["split.example"]);
    assert_eq!(counters.skipped_bytes, 3500);
}

#[test]
fn dns_over_tcp() {
    let mut q = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3];
    q.extend_from_slice(b"tcp");
    q.extend_from_slice(&[7]);
    q.extend_from_slice(b"example");
    q.extend_from_slice(&[0, 0, 16, 0, 1]);
    let mut msg = (q.len() as u16).to_be_bytes().to_vec();
    msg.extend_from_slice(&q);
    let mut c = TcpConversation::new(sa("10.0.0.1:40005"), sa("10.0.0.53:53"), 0);
    c.mss = 5;
    let mut out = Vec::new();
    c.handshake(&mut out);
    c.send(true, &msg, &mut out);
    let (_, log) = run(DriverConfig::default(), &out);
    assert_eq!(log.dns, vec!["tcp.example"]);
    assert_eq!(log.ends[0].4, "dns");
}

/// The record the kernel would send for `p`, with at most `snap` payload bytes.
fn kernel_record(p: &Packet<'_>, snap: usize) -> Vec<u8> {
    let mut h = RecordHeader::ZERO;
    h.ts_ns = p.ts_ns;
    h.ip_version = 4;
    if let (std::net::IpAddr::V4(s), std::net::IpAddr::V4(d)) = (p.src, p.dst) {
        h.src_addr[..4].copy_from_slice(&s.octets());
        h.dst_addr[..4].copy_from_slice(&d.octets());
    }
    h.protocol = p.protocol;
    let t = p.tcp().unwrap();
    h.src_port = t.src_port;
    h.dst_port = t.dst_port;
    h.seq = t.seq;
    h.ack = t.ack;
    h.tcp_flags = t.flags.0;
    h.payload_len = p.payload_len as u16;
    let captured = p.payload.len().min(snap);
    h.captured_len = captured as u16;
    h.status = status::L3_PARSED | status::L4_PARSED;
    let mut rec = h.as_bytes().to_vec();
    rec.extend_from_slice(&p.payload[..captured]);
    rec
}

#[test]
fn kernel_records_with_header_only_bodies_give_the_same_transactions() {
    let frames = http_exchange(1460);
    let (full, full_log) = run(DriverConfig::default(), &frames);
    // Replay as kernel records: body segments arrive with no payload bytes
    // (what header-only capture sends once it is told the body length).
    let mut decoder = Decoder::new(DecodeOptions::default());
    let mut records = Vec::new();
    for (ts, f) in &frames {
        let p = decoder
            .decode_bytes(LinkType::Ethernet, *ts, 0, 0, f)
            .unwrap()
            .unwrap();
        let body_only = p.payload.iter().all(|&b| b == b'b' || b == b'x');
        records.push(kernel_record(&p, if body_only { 0 } else { 2048 }));
    }
    let mut driver = Driver::new(DriverConfig::default());
    let mut log = Log::default();
    let mut sink = |e: &Event<'_>| record(&mut log, e);
    for r in &records {
        let p = Packet::from_kernel_record(r).unwrap();
        driver.process(&p, &mut sink);
    }
    driver.finish(&mut sink);
    let c = driver.counters();
    assert_eq!(log.uris, full_log.uris);
    assert_eq!(log.statuses, full_log.statuses);
    assert_eq!(c.stream.gaps, 0);
    assert_eq!(c.skipped_bytes, full.skipped_bytes);
}

/// The TCP state of the flow as each packet is seen, in order.
fn states_at_packets(config: DriverConfig, frames: &[TimedFrame]) -> (Counters, Vec<TcpState>) {
    let mut driver = Driver::new(config);
    let mut decoder = Decoder::new(DecodeOptions::default());
    let mut states = Vec::new();
    let mut sink = |e: &Event<'_>| {
        if let Event::Packet {
            flow: Some(flow), ..
        } = e
        {
            states.push(flow.tcp_state);
        }
    };
    for (ts, frame) in frames {
        let p = decoder
            .decode_bytes(LinkType::Ethernet, *ts, 0, frame.len() as u32, frame)
            .unwrap()
            .unwrap();
        driver.process(&p, &mut sink);
    }
    driver.finish(&mut sink);
    (driver.counters(), states)
}

#[test]
fn flow_without_handshake_is_established_only_with_midstream() {
    // No SYN: the client's data (PSH/ACK), the server's ACK, more client
    // data and a FIN from the client.
    let mut c = TcpConversation::new(sa("10.0.0.1:46003"), sa("10.0.0.2:9000"), 0);
    let mut out = Vec::new();
    c.send(true, b"FLOWCHK", &mut out);
    c.send(false, b"pong", &mut out);
    c.send(true, b"FLOWCHK again", &mut out);
    let (seq, ack) = c.seqs();
    let fin = c.raw_segment(true, seq, ack, 0x11, b"");
    out.push(fin);
    let (counters, states) = states_at_packets(DriverConfig::default(), &out);
    assert_eq!(counters.midstream_flows, 1);
    assert!(!states.is_empty());
    assert!(
        states
            .iter()
            .all(|s| !matches!(s, TcpState::Established | TcpState::Closing)),
        "midstream off: {states:?}"
    );
    let mut config = DriverConfig::default();
    config.flow.midstream = true;
    let (_, states) = states_at_packets(config, &out);
    assert!(
        states.iter().all(|s| *s == TcpState::Established),
        "midstream on: {states:?}"
    );
    // After the FIN: still not established without midstream.
    let (_, log) = run(DriverConfig::default(), &out);
    assert_eq!(log.ends[0].2, TcpState::SynSent);
    let (_, log) = run(config, &out);
    assert_eq!(log.ends[0].2, TcpState::Closing);
}

#[test]
fn syn_after_an_untracked_flow_starts_a_tracked_one() {
    let mut out = Vec::new();
    let mut c = TcpConversation::new(sa("10.0.0.1:46003"), sa("10.0.0.2:80"), 0);
    c.send(true, b"GET /before HTTP/1.1\r\n\r\n", &mut out);
    let mut c = TcpConversation::new(sa("10.0.0.1:46003"), sa("10.0.0.2:80"), 1_000);
    c.handshake(&mut out);
    c.send(true, b"GET /after HTTP/1.1\r\n\r\n", &mut out);
    let (counters, log) = run(DriverConfig::default(), &out);
    assert_eq!(counters.flows, 2);
    assert_eq!(log.uris, vec!["/after"]);
    assert_eq!(log.ends.len(), 2);
    let (_, states) = states_at_packets(DriverConfig::default(), &out);
    assert_eq!(states.last(), Some(&TcpState::Established));
}

#[test]
fn http_host_buffers_normalized_and_raw() {
    let mut out = Vec::new();
    let mut c = TcpConversation::new(sa("10.0.0.1:46010"), sa("10.0.0.2:80"), 0);
    c.handshake(&mut out);
    c.send(
        true,
        b"GET /h HTTP/1.1\r\nHost: INTRANET.Example:8080\r\n\r\nGET /6 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
        &mut out,
    );
    let mut hosts = Vec::new();
    let mut driver = Driver::new(DriverConfig::default());
    let mut decoder = Decoder::new(DecodeOptions::default());
    let mut sink = |e: &Event<'_>| {
        if let Event::HttpRequest { .. } = e {
            let s = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or(b"-")).into_owned();
            hosts.push((
                s(e.buffer(Buffer::HttpHost)),
                s(e.buffer(Buffer::HttpHostRaw)),
            ));
        }
    };
    for (ts, frame) in &out {
        let p = decoder
            .decode_bytes(LinkType::Ethernet, *ts, 0, frame.len() as u32, frame)
            .unwrap()
            .unwrap();
        driver.process(&p, &mut sink);
    }
    driver.finish(&mut sink);
    assert_eq!(
        hosts,
        vec![
            ("intranet.example".into(), "INTRANET.Example:8080".into()),
            ("[::1]".into(), "[::1]:8080".into()),
        ]
    );
}

/// `last_flow` is the flow of the packet just processed, and nothing once
/// that flow has ended.
#[test]
fn last_flow_follows_the_packet_just_processed() {
    let mut driver = Driver::new(DriverConfig::default());
    let mut decoder = Decoder::new(DecodeOptions::default());
    let mut sink = |_: &Event<'_>| {};
    let mut ports = Vec::new();
    for (ts, frame) in http_exchange(1460) {
        let p = decoder
            .decode_bytes(LinkType::Ethernet, ts, 0, frame.len() as u32, &frame)
            .unwrap()
            .unwrap();
        driver.process(&p, &mut sink);
        let flow = driver.last_flow().expect("every TCP packet has its flow");
        assert!(p.src_port() == flow.client_port || p.dst_port() == flow.client_port);
        ports.push(flow.client_port);
    }
    ports.dedup();
    assert_eq!(ports.len(), 1, "one connection");
    driver.finish(&mut sink);
    assert!(driver.last_flow().is_none(), "the flow ended");
}
