//! Frame decoding for every link type, fragments included; and kernel
//! records.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor_packet::{DecodeOptions, Decoder, LinkType, Packet};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, frame)) = data.split_first() else {
        return;
    };
    let link = match sel % 6 {
        0 => LinkType::Ethernet,
        1 => LinkType::LinuxSll,
        2 => LinkType::LinuxSll2,
        3 => LinkType::Raw,
        4 => LinkType::Null,
        _ => LinkType::Ipv6,
    };
    let mut decoder = Decoder::new(DecodeOptions::default());
    // Twice, so a fragment can meet its sibling.
    for ts in 0..2 {
        if let Ok(Some(p)) = decoder.decode_bytes(link, ts, 0, frame.len() as u32, frame) {
            assert!(p.payload.len() <= frame.len() + 65535);
        }
    }
    let _ = Packet::from_kernel_record(data);
});
