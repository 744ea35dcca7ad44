//! The committed edge-case capture: it is what the generator produces, and
//! replaying it gives the expected transactions.

mod common;

use std::path::PathBuf;

use common::edge;
use sensor_packet::{CaptureReader, DecodeOptions, Decoder};
use sensor_proto::{Buffer, Driver, DriverConfig, Event};

fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pcaps/http-edge-cases.pcap")
}

#[test]
fn committed_capture_matches_its_generator() {
    let on_disk = std::fs::read(committed()).expect("pcaps/http-edge-cases.pcap");
    assert!(
        on_disk == edge::http_edge_cases_pcap(),
        "regenerate with: cargo run -p sensor-proto --example gen_edge_pcaps"
    );
}

#[test]
fn edge_cases_replay() {
    let mut reader = CaptureReader::open(committed()).unwrap();
    let mut decoder = Decoder::new(DecodeOptions::default());
    let mut driver = Driver::new(DriverConfig::default());
    let (mut uris, mut snis, mut queries, mut statuses, mut anomalies) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut folded = None;
    let mut sink = |e: &Event<'_>| {
        let s = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or(b"")).into_owned();
        match e {
            Event::HttpRequest { .. } => {
                uris.push(s(e.buffer(Buffer::HttpUri)));
                if let Some(v) = e.header(b"x-folded") {
                    folded = Some(s(Some(v)));
                }
            }
            Event::HttpResponse {
                response, request, ..
            } => statuses.push((response.status_code, request.map(|r| s(Some(r.uri()))))),
            Event::TlsClientHello { .. } => snis.push(s(e.buffer(Buffer::TlsSni))),
            Event::Dns { .. } => queries.push(s(e.buffer(Buffer::DnsQuery))),
            Event::Anomaly { anomaly, .. } => anomalies.push(anomaly.name()),
            _ => {}
        }
    };
    while let Some(frame) = reader.next_frame().unwrap() {
        if let Ok(Some(p)) = decoder.decode(&frame) {
            driver.process(&p, &mut sink);
        }
    }
    driver.finish(&mut sink);
    let mut sorted = uris.clone();
    sorted.sort();
    let mut expected: Vec<String> = edge::EXPECTED_URIS.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(sorted, expected);
    assert_eq!(uris[..3], ["/pipelined/1", "/pipelined/2", "/pipelined/3"]);
    assert_eq!(folded.as_deref(), Some("a b"));
    assert_eq!(
        statuses[..3],
        [
            (200, Some("/pipelined/1".to_string())),
            (404, Some("/pipelined/2".to_string())),
            (200, Some("/pipelined/3".to_string()))
        ]
    );
    assert_eq!(snis, vec![edge::EXPECTED_SNI]);
    assert_eq!(queries, vec![edge::EXPECTED_FRAGMENTED_QUERY]);
    assert!(anomalies.contains(&"http.obs_fold".to_string()));
    let c = driver.counters();
    assert_eq!(c.stream.gaps, 0);
    assert_eq!(c.stream.retransmissions, 1);
    assert_eq!(decoder.stats().defrag.reassembled, 1);
}
