//! Synthetic frames for `BPF_PROG_TEST_RUN` (`KernelCapture::test_run`).

/// An Ethernet/IPv4/TCP frame from the lab client (10.77.0.1:40000) to the
/// server's `port` carrying `payload` (PSH|ACK, or a bare ACK when empty).
/// Checksums are left zero: the classifier does not verify them.
pub fn tcp_frame(port: u16, payload: &[u8]) -> Vec<u8> {
    tcp_frame_seq(port, 1_000_000, payload)
}

/// As [`tcp_frame`], with sequence number `seq`.
pub fn tcp_frame_seq(port: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(54 + payload.len());
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let total = (20 + 20 + payload.len()) as u16;
    f.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0x12,
        0x34,
        0x40,
        0,
    ]);
    f.extend_from_slice(&[64, 6, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2]);
    f.extend_from_slice(&40000u16.to_be_bytes());
    f.extend_from_slice(&port.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&2_000_000u32.to_be_bytes());
    let flags = if payload.is_empty() { 0x10 } else { 0x18 };
    f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}
