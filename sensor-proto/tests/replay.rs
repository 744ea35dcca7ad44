//! Replays of the real captures in ../shared/pcaps (see its README for the
//! expected counts) through decoding, flows, reassembly and parsers.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sensor_packet::{CaptureReader, DecodeOptions, Decoder};
use sensor_proto::{AppProto, Buffer, Counters, Driver, DriverConfig, Event};

fn shared(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/pcaps")
        .join(name)
}

/// (flow id, request tx id if paired, response tx id, status, last request
/// tx id seen on the flow when the response completed)
type ResponseSeen = (u64, Option<u64>, u64, u16, Option<u64>);

/// What a replay produced, in event order.
#[derive(Default)]
struct Seen {
    /// (flow id, tx id, method, raw uri, host, user agent)
    requests: Vec<(u64, u64, String, String, String, String)>,
    responses: Vec<ResponseSeen>,
    /// (sni, ja3 hash, ja4)
    hellos: Vec<(String, String, String)>,
    /// (query name, qtype) of DNS queries
    dns_queries: Vec<(String, u16)>,
    anomalies: Vec<String>,
    flow_ends: u64,
    app_protos: BTreeMap<&'static str, u64>,
}

fn text(b: Option<&[u8]>) -> String {
    String::from_utf8_lossy(b.unwrap_or(b"")).into_owned()
}

fn replay(name: &str, midstream: bool) -> (Counters, Seen) {
    let mut config = DriverConfig::default();
    config.flow.midstream = midstream;
    let mut driver = Driver::new(config);
    let mut decoder = Decoder::new(DecodeOptions::default());
    let mut reader = CaptureReader::open(shared(name)).expect("open capture");
    let mut seen = Seen::default();
    let mut last_request: BTreeMap<u64, u64> = BTreeMap::new();
    let mut sink = |e: &Event<'_>| match e {
        Event::HttpRequest { flow, request } => {
            last_request.insert(flow.id, request.tx_id);
            seen.requests.push((
                flow.id,
                request.tx_id,
                text(e.buffer(Buffer::HttpMethod)),
                text(e.buffer(Buffer::HttpUriRaw)),
                text(e.buffer(Buffer::HttpHost)),
                text(e.buffer(Buffer::HttpUserAgent)),
            ))
        }
        Event::HttpResponse {
            flow,
            request,
            response,
        } => seen.responses.push((
            flow.id,
            request.map(|r| r.tx_id),
            response.tx_id,
            response.status_code,
            last_request.get(&flow.id).copied(),
        )),
        Event::TlsClientHello { hello, .. } => seen.hellos.push((
            text(hello.sni.as_deref()),
            hello.ja3_hash.clone(),
            hello.ja4.clone(),
        )),
        Event::Dns { message, .. } if !message.is_response => {
            let q = &message.questions[0];
            seen.dns_queries.push((text(Some(&q.name)), q.qtype));
        }
        Event::Anomaly { anomaly, .. } => seen.anomalies.push(anomaly.name()),
        Event::FlowEnd { flow, .. } => {
            seen.flow_ends += 1;
            *seen.app_protos.entry(flow.app_proto().name()).or_default() += 1;
        }
        _ => {}
    };
    let frames = driver
        .replay(&mut reader, &mut decoder, &mut sink)
        .expect("read");
    assert_eq!(frames, driver.counters().packets + decoder.stats().not_ip);
    driver.finish(&mut sink);
    (driver.counters(), seen)
}

#[test]
fn zeek_1000_requests_one_dropped_response() {
    let (c, seen) = replay("zeek_1000-requests-one-dropped-response.pcap", false);
    assert_eq!(c.packets, 4102);
    assert_eq!(c.flows, 1);
    assert_eq!(c.http_requests, 1000);
    assert_eq!(seen.requests.len(), 1000);
    // The dropped response is a gap in the server's stream, found from the
    // client's acknowledgements; the other 999 responses are parsed.
    assert_eq!(c.http_responses, 999);
    assert_eq!(c.stream.gaps, 1);
    assert_eq!(seen.anomalies, vec!["stream.gap".to_string()]);
    // Requests are numbered in order; every response is paired with the
    // request just before it (keep-alive, no pipelining), also after the gap.
    for (i, r) in seen.requests.iter().enumerate() {
        assert_eq!(r.1, i as u64);
        assert_eq!(
            (r.2.as_str(), r.3.as_str(), r.4.as_str()),
            ("GET", "/", "localhost")
        );
    }
    for &(_, request, tx, status, last) in &seen.responses {
        assert_eq!(status, 200);
        assert_eq!(request, Some(tx));
        assert_eq!(request, last, "response paired with an older request");
    }
    // Bodies were skipped, not buffered.
    assert!(c.skipped_bytes > 500_000, "{}", c.skipped_bytes);
}

#[test]
fn webattack_rce_needs_midstream_pickup() {
    // Every packet is a lone request segment without a handshake.
    let (c, seen) = replay("ndpi_WebattackRCE.pcap", false);
    assert_eq!(c.http_requests, 0);
    assert_eq!(c.midstream_flows, 797);
    assert!(seen.requests.is_empty());
    let (c, seen) = replay("ndpi_WebattackRCE.pcap", true);
    assert_eq!(c.http_requests, 797);
    assert_eq!(seen.requests.len(), 797);
    assert_eq!(seen.app_protos.get("http"), Some(&797));
    assert!(seen.requests.iter().all(|r| r.2 == "GET"));
    // 20 requests of the scan carry no Host header.
    assert_eq!(
        seen.requests.iter().filter(|r| r.4 == "127.0.0.1").count(),
        777
    );
    assert_eq!(seen.requests.iter().filter(|r| r.4.is_empty()).count(), 20);
    let nikto = seen
        .requests
        .iter()
        .filter(|r| r.5.contains("Nikto"))
        .count();
    assert!(nikto > 700, "{nikto}");
}

#[test]
fn espn_http_and_dns() {
    let (c, seen) = replay("cs_http_espn.pcapng", false);
    assert_eq!(c.packets, 956);
    assert_eq!(c.http_requests, 61);
    assert_eq!(c.http_responses, 61);
    assert_eq!(c.dns_queries, 14);
    assert_eq!(c.stream.gaps, 0);
    // The capture host's outgoing packets carry offloaded checksums: the
    // auto policy keeps them (Suricata's checksum-checks: auto).
    assert_eq!(c.bad_checksums, 0);
    assert_eq!(seen.requests[0].2, "GET");
    assert_eq!(seen.requests[0].4, "www.espn.com");
    assert!(seen.dns_queries.contains(&("www.espn.com".to_string(), 1)));
    assert!(seen.responses.iter().all(|r| r.1.is_some()));
}

#[test]
fn teams_tls_client_hellos() {
    let (c, seen) = replay("ndpi_teams.pcap", false);
    assert_eq!(c.tls_client_hellos, 38);
    assert_eq!(c.dns_queries, 23);
    let count = |sni: &str| seen.hellos.iter().filter(|h| h.0 == sni).count();
    assert_eq!(count("teams.microsoft.com"), 3);
    assert_eq!(count("mobile.pipe.aria.microsoft.com"), 9);
    assert_eq!(count("config.teams.microsoft.com"), 2);
    assert_eq!(count("presence.teams.microsoft.com"), 1);
    assert_eq!(count("substrate.office.com"), 1);
    assert_eq!(count("login.microsoftonline.com"), 3);
    // Fingerprints as nDPI reports them for these flows
    // (tests/cfgs/default/result/teams.pcap.out in ntop/nDPI).
    let fp = |sni: &str| {
        seen.hellos
            .iter()
            .find(|h| h.0 == sni)
            .map(|h| (h.1.clone(), h.2.clone()))
            .unwrap()
    };
    assert_eq!(
        fp("presence.teams.microsoft.com"),
        (
            "ebf5e0e525258d7a8dcb54aa1564ecbd".to_string(),
            "t12d1311h2_8b80da21ef18_77989cba1f4a".to_string()
        )
    );
    assert_eq!(
        fp("mobile.pipe.aria.microsoft.com"),
        (
            "a1674500365bdd882188db63730e69a2".to_string(),
            "t12d150700_0707305c9f76_0f3b2bcde21d".to_string()
        )
    );
    assert!(seen.hellos.contains(&(
        "config.teams.microsoft.com".to_string(),
        "e4d448cdfe06dc1243c1eb026c74ac9a".to_string(),
        "t12d220700_0d4ca5d4ec72_3304d8368043".to_string()
    )));
    assert!(seen.hellos.contains(&(
        "eu-prod.asyncgw.teams.microsoft.com".to_string(),
        "74d5fa154a7fc0a7c655d8eaa34b89bf".to_string(),
        "t12d1312h2_8b80da21ef18_b00751acaffa".to_string()
    )));
    assert!(
        seen.dns_queries
            .contains(&("config.teams.microsoft.com".to_string(), 1))
    );
    assert!(seen.dns_queries.contains(&(
        "trouter2-asse-a.trouter.teams.microsoft.com".to_string(),
        28
    )));
    assert_eq!(seen.app_protos.get("tls"), Some(&38));
}

#[test]
fn telegram_dns_and_ssdp() {
    let (c, seen) = replay("ndpi_telegram.pcap", false);
    assert_eq!(c.packets, 1566);
    // DNS and multicast DNS queries.
    assert_eq!(c.dns_queries, 157);
    assert_eq!(seen.dns_queries.len(), 157);
    assert!(
        seen.dns_queries
            .iter()
            .any(|q| q.0 == "_spotify-connect._tcp.local" && q.1 == 12)
    );
    // The HTTP requests are SSDP discovery over UDP.
    assert_eq!(c.http_requests, 15);
    assert!(
        seen.requests
            .iter()
            .all(|r| r.2 == "M-SEARCH" && r.3 == "*")
    );
    // `HOST: 239.255.255.250:1900`; http.host is normalized (no port).
    assert!(seen.requests.iter().all(|r| r.4 == "239.255.255.250"));
}

#[test]
fn every_capture_ends_every_flow() {
    for name in [
        "cs_http_espn.pcapng",
        "ndpi_WebattackRCE.pcap",
        "zeek_1000-requests-one-dropped-response.pcap",
        "ndpi_teams.pcap",
        "ndpi_telegram.pcap",
    ] {
        let (c, seen) = replay(name, true);
        assert_eq!(c.flows, c.flows_ended, "{name}");
        assert_eq!(seen.flow_ends, c.flows, "{name}");
        assert_eq!(
            c.transactions,
            c.http_requests
                + c.http_responses
                + c.tls_client_hellos
                + c.dns_queries
                + c.dns_responses,
            "{name}"
        );
        let _ = AppProto::Http;
    }
}
