//! TLS ClientHello extraction and fingerprinting.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(hello)) = sensor_proto::tls::extract_client_hello(data) {
        assert!(hello.ja4.len() >= 36);
        assert_eq!(hello.ja3_hash.len(), 32);
    }
    let _ = sensor_proto::tls::ClientHello::parse(0x0303, data);
});
