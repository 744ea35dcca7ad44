//! pcap/pcapng reading: every input ends with Ok(None) or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor_packet::CaptureReader;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = CaptureReader::new(std::io::Cursor::new(data)) else {
        return;
    };
    let mut frames = 0usize;
    while let Ok(Some(frame)) = reader.next_frame() {
        assert!(frame.data.len() <= data.len());
        frames += 1;
    }
    assert!(frames <= data.len());
});
