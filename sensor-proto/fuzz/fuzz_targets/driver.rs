//! The whole pipeline: the input is a sequence of length-prefixed Ethernet
//! frames replayed through the decoder and the driver.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor_packet::{DecodeOptions, Decoder, LinkType};
use sensor_proto::{Driver, DriverConfig, Event};

fuzz_target!(|data: &[u8]| {
    let mut config = DriverConfig::default();
    config.flow.midstream = true;
    config.flow.max_flows = 16;
    let mut driver = Driver::new(config);
    let mut decoder = Decoder::new(DecodeOptions {
        verify_checksums: false,
        ..DecodeOptions::default()
    });
    let mut sink = |_: &Event<'_>| {};
    let mut rest = data;
    let mut ts = 0u64;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let frame = &rest[2..2 + len];
        rest = &rest[2 + len..];
        ts += 1_000_000_000;
        if let Ok(Some(p)) = decoder.decode_bytes(LinkType::Ethernet, ts, 0, len as u32, frame) {
            driver.process(&p, &mut sink);
        }
    }
    driver.finish(&mut sink);
    let c = driver.counters();
    assert_eq!(c.flows, c.flows_ended);
});
