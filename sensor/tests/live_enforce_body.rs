//! Live test of header-only capture: once user space marks a message body
//! in a flow direction, the classifier hands over its packets' headers
//! without payload bytes, then captures the next message in full.

mod support;

use std::time::Duration;

use sensor_common::record::status;
use support::{LabGuard, assert_no_vigil_programs, in_netns::InNetnsCapture, serial, support_dir};
use vigil::{
    capture::{CaptureConfig, PacketEvent},
    enforce::FlowTuple,
    lab::Side as LabSide,
};

const PORT: u16 = 9200;
const CLIENT_PORT: u16 = 43000;
const BODY_LEN: u32 = 20_000;

#[test]
fn body_bytes_are_not_captured_once_marked() {
    let _serial = serial();
    let lab = LabGuard::up("ve-body");
    let log = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let script = support_dir().join("record_server.py");
    let _server = lab.spawn(
        LabSide::Server,
        &[
            "python3",
            script.to_str().unwrap(),
            &PORT.to_string(),
            log.to_str().unwrap(),
            "http",
        ],
    );
    std::thread::sleep(Duration::from_millis(500));
    let mut config = CaptureConfig::new(lab.lab.iface(LabSide::Server));
    config.enforce.header_only = true;
    let mut capture = InNetnsCapture::start(&lab.lab.netns(LabSide::Server), config);

    let client = support_dir().join("body_client.py");
    let _client = lab.spawn(
        LabSide::Client,
        &[
            "python3",
            client.to_str().unwrap(),
            &lab.lab.ipv4(LabSide::Server).to_string(),
            &PORT.to_string(),
            &CLIENT_PORT.to_string(),
            &BODY_LEN.to_string(),
            "0.5",
        ],
    );
    let is_request = |e: &PacketEvent| e.src_port == CLIENT_PORT && e.dst_port == PORT;
    let headers = capture
        .wait_for(Duration::from_secs(10), |e| {
            is_request(e) && e.payload.starts_with(b"POST ")
        })
        .expect("the request headers were captured");
    // What the pipeline does on seeing the end of the headers: the body
    // starts right after them and runs for Content-Length bytes.
    let header_len = headers
        .payload
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("complete headers")
        + 4;
    let flow = FlowTuple::tcp(
        lab.lab.ipv4(LabSide::Client),
        CLIENT_PORT,
        lab.lab.ipv4(LabSide::Server),
        PORT,
    );
    capture
        .enforcer
        .skip_body(&flow, headers.seq.wrapping_add(header_len as u32), BODY_LEN)
        .unwrap();
    let after = capture
        .wait_for(Duration::from_secs(10), |e| {
            is_request(e) && e.payload.starts_with(b"GET /after-the-body")
        })
        .expect("the message after the body is captured in full");
    assert_eq!(after.status & status::BODY_SKIPPED, 0);

    let (events, summary) = capture.stop();
    let body: Vec<&PacketEvent> = events
        .iter()
        .filter(|e| is_request(e) && e.payload_len > 0)
        .filter(|e| e.seq != headers.seq && e.seq != after.seq)
        .collect();
    let body_bytes: u64 = body.iter().map(|e| u64::from(e.payload_len)).sum();
    assert_eq!(
        body_bytes,
        u64::from(BODY_LEN),
        "every body byte was seen on the wire"
    );
    for e in &body {
        assert!(e.payload.is_empty(), "body bytes were captured: {e}");
        assert_ne!(e.status & status::BODY_SKIPPED, 0, "{e}");
    }
    assert_eq!(summary.counters.body_skipped as usize, body.len());
    let request: Vec<&PacketEvent> = events.iter().filter(|e| is_request(e)).collect();
    let wire: usize = request.iter().map(|e| usize::from(e.payload_len)).sum();
    let captured: usize = request.iter().map(|e| e.payload.len()).sum();
    eprintln!(
        "client -> server payload: {wire} bytes on the wire, {captured} captured ({:.1}%)",
        100.0 * captured as f64 / wire as f64
    );
    assert!(captured * 10 < wire, "header-only capture copies under 10%");
    // The server got the whole body: nothing was dropped, only not copied.
    let received: usize = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with(&format!("{CLIENT_PORT} ")))
        .map(|l| l.matches('0').count())
        .sum();
    assert!(
        received >= (BODY_LEN / 16) as usize,
        "server saw {received} zeros"
    );
    drop(lab);
    assert_no_vigil_programs();
}
