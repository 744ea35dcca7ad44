//! DNS message parsing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = sensor_proto::dns::DnsMessage::parse(data) {
        for q in &m.questions {
            assert!(q.name.len() <= 255);
        }
    }
});
