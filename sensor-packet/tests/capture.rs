//! Reading capture files: the real captures in ../shared/pcaps, synthetic
//! pcap and pcapng files, and truncated or corrupt files.

use std::io::Cursor;
use std::path::PathBuf;

use sensor_packet::synth::{self, PcapWriter, TcpSegment};
use sensor_packet::{
    CaptureErrorKind, CaptureFormat, CaptureReader, DecodeOptions, Decoder, LinkType,
};

fn shared(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/pcaps")
        .join(name)
}

/// Frames, decoded packets and bad checksums of a whole file.
fn census(name: &str) -> (u64, u64, u64, CaptureFormat) {
    let mut reader = CaptureReader::open(shared(name)).expect("open");
    let format = reader.format();
    let mut decoder = Decoder::new(DecodeOptions::default());
    let mut frames = 0;
    while let Some(frame) = reader.next_frame().expect("read") {
        frames += 1;
        let _ = decoder.decode(&frame);
    }
    let stats = decoder.stats();
    (frames, stats.packets, stats.bad_checksums, format)
}

#[test]
fn real_captures_have_the_documented_packet_counts() {
    // Counts from ../shared/pcaps/README.md.
    for (name, packets, format) in [
        ("cs_http_espn.pcapng", 956, CaptureFormat::PcapNg),
        ("ndpi_WebattackRCE.pcap", 797, CaptureFormat::Pcap),
        (
            "zeek_1000-requests-one-dropped-response.pcap",
            4102,
            CaptureFormat::Pcap,
        ),
        ("ndpi_teams.pcap", 1540, CaptureFormat::Pcap),
        ("ndpi_telegram.pcap", 1566, CaptureFormat::Pcap),
    ] {
        let (frames, decoded, _, fmt) = census(name);
        assert_eq!(frames, packets, "{name}");
        assert_eq!(fmt, format, "{name}");
        // Nearly everything is IP; ARP and the like are the rest.
        assert!(
            decoded * 100 >= frames * 95,
            "{name}: {decoded} of {frames} decoded"
        );
    }
}

fn two_frame_pcap() -> Vec<u8> {
    let seg = TcpSegment::new(
        "10.1.1.1:1234".parse().unwrap(),
        "10.1.1.2:80".parse().unwrap(),
    )
    .payload(b"hello");
    let frame = synth::ethernet(&[], &seg.ip_packet());
    let mut w = PcapWriter::new(Vec::new(), LinkType::Ethernet).unwrap();
    w.write(1_500_000_000_123_456_000, &frame).unwrap();
    w.write(1_500_000_001_000_000_000, &frame).unwrap();
    w.into_inner().unwrap()
}

#[test]
fn pcap_round_trip_with_microsecond_timestamps() {
    let bytes = two_frame_pcap();
    let mut r = CaptureReader::new(Cursor::new(bytes)).unwrap();
    let f = r.next_frame().unwrap().unwrap();
    assert_eq!(f.ts_ns, 1_500_000_000_123_456_000);
    assert_eq!(f.link_type, LinkType::Ethernet);
    assert!(r.next_frame().unwrap().is_some());
    assert!(r.next_frame().unwrap().is_none());
}

#[test]
fn truncated_pcap_delivers_complete_frames_then_errors() {
    let bytes = two_frame_pcap();
    // Cut at every length inside the second record: the first frame always
    // arrives, then a Truncated error, never a panic.
    let first_end = 24 + 16 + (bytes.len() - 24) / 2 - 16;
    for cut in first_end + 1..bytes.len() {
        let mut r = CaptureReader::new(Cursor::new(bytes[..cut].to_vec())).unwrap();
        assert!(r.next_frame().unwrap().is_some(), "cut {cut}");
        let err = r.next_frame().unwrap_err();
        assert_eq!(err.kind(), CaptureErrorKind::Truncated, "cut {cut}");
        assert!(r.next_frame().unwrap().is_none());
    }
    // The same from files (`open`).
    let dir = std::env::temp_dir().join(format!("vigil-truncated-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for cut in [first_end + 1, bytes.len() - 1] {
        let path = dir.join(format!("cut-{cut}.pcap"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let mut r = CaptureReader::open(&path).unwrap();
        assert!(r.next_frame().unwrap().is_some(), "file, cut {cut}");
        let err = r.next_frame().unwrap_err();
        assert_eq!(err.kind(), CaptureErrorKind::Truncated, "file, cut {cut}");
    }
    let whole = dir.join("whole.pcap");
    std::fs::write(&whole, &bytes).unwrap();
    let mut r = CaptureReader::open(&whole).unwrap();
    assert!(r.next_frame().unwrap().is_some());
    assert!(r.next_frame().unwrap().is_some());
    assert!(r.next_frame().unwrap().is_none());
    let empty = dir.join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(
        CaptureReader::open(&empty).err().unwrap().kind(),
        CaptureErrorKind::Truncated
    );
    let _ = std::fs::remove_dir_all(&dir);
    // A file cut inside its header is an error at open.
    assert_eq!(
        CaptureReader::new(Cursor::new(bytes[..10].to_vec()))
            .err()
            .unwrap()
            .kind(),
        CaptureErrorKind::Truncated
    );
}

#[test]
fn unknown_magic_is_an_error() {
    let err = CaptureReader::new(Cursor::new(b"GIF89a....................".to_vec()))
        .err()
        .unwrap();
    assert_eq!(err.kind(), CaptureErrorKind::UnknownFormat);
}

/// A minimal pcapng: SHB, IDB with nanosecond resolution and SLL2 link type,
/// one EPB, one SPB.
fn small_pcapng(big_endian: bool) -> Vec<u8> {
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    // Section header block.
    out.extend_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a]);
    out.extend_from_slice(&u32b(28));
    out.extend_from_slice(&u32b(0x1a2b_3c4d));
    out.extend_from_slice(&u16b(1));
    out.extend_from_slice(&u16b(0));
    out.extend_from_slice(&[0xff; 8]);
    out.extend_from_slice(&u32b(28));
    // Interface description: SLL2, snaplen 0, if_tsresol = 9.
    out.extend_from_slice(&u32b(1));
    out.extend_from_slice(&u32b(32));
    out.extend_from_slice(&u16b(276));
    out.extend_from_slice(&u16b(0));
    out.extend_from_slice(&u32b(0));
    out.extend_from_slice(&u16b(9));
    out.extend_from_slice(&u16b(1));
    out.extend_from_slice(&[9, 0, 0, 0]);
    out.extend_from_slice(&u32b(0));
    out.extend_from_slice(&u32b(32));
    // SLL2 frame: protocol 0x0800, ifindex 3, packet type 4 (outgoing).
    let udp = synth::udp_packet(
        "192.0.2.1:5353".parse().unwrap(),
        "192.0.2.2:53".parse().unwrap(),
        b"q",
    );
    let mut frame = vec![
        0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0,
    ];
    frame.extend_from_slice(&udp);
    let padded = frame.len().div_ceil(4) * 4;
    let epb_len = 32 + padded as u32;
    out.extend_from_slice(&u32b(6));
    out.extend_from_slice(&u32b(epb_len));
    out.extend_from_slice(&u32b(0));
    let ts: u64 = 1_600_000_000_987_654_321;
    out.extend_from_slice(&u32b((ts >> 32) as u32));
    out.extend_from_slice(&u32b(ts as u32));
    out.extend_from_slice(&u32b(frame.len() as u32));
    out.extend_from_slice(&u32b(frame.len() as u32));
    out.extend_from_slice(&frame);
    out.resize(out.len() + padded - frame.len(), 0);
    out.extend_from_slice(&u32b(epb_len));
    // Simple packet block with the same frame.
    let spb_len = 16 + padded as u32;
    out.extend_from_slice(&u32b(3));
    out.extend_from_slice(&u32b(spb_len));
    out.extend_from_slice(&u32b(frame.len() as u32));
    out.extend_from_slice(&frame);
    out.resize(out.len() + padded - frame.len(), 0);
    out.extend_from_slice(&u32b(spb_len));
    out
}

#[test]
fn pcapng_both_byte_orders_with_sll2_and_nanoseconds() {
    for big_endian in [false, true] {
        let bytes = small_pcapng(big_endian);
        let mut r = CaptureReader::new(Cursor::new(bytes)).unwrap();
        assert_eq!(r.format(), CaptureFormat::PcapNg);
        let mut decoder = Decoder::new(DecodeOptions::default());
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!(f.ts_ns, 1_600_000_000_987_654_321);
        assert_eq!(f.link_type, LinkType::LinuxSll2);
        let p = decoder.decode(&f).unwrap().unwrap();
        assert_eq!(p.dst_port(), 53);
        assert_eq!(p.payload, b"q");
        assert_eq!(p.direction, Some(sensor_packet::Direction::Egress));
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!(f.data.len(), 20 + 29);
        assert!(r.next_frame().unwrap().is_none());
    }
}

#[test]
fn truncated_pcapng_never_panics() {
    let bytes = small_pcapng(false);
    for cut in 0..bytes.len() {
        let Ok(mut r) = CaptureReader::new(Cursor::new(bytes[..cut].to_vec())) else {
            continue;
        };
        let mut frames = 0;
        loop {
            match r.next_frame() {
                Ok(Some(_)) => frames += 1,
                Ok(None) => break,
                Err(e) => {
                    assert_eq!(e.kind(), CaptureErrorKind::Truncated, "cut {cut}");
                    break;
                }
            }
        }
        assert!(frames <= 2);
    }
}

#[test]
fn corrupt_block_lengths_are_errors() {
    let mut bytes = small_pcapng(false);
    // The IDB's length field: make it absurd.
    bytes[32..36].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let mut r = CaptureReader::new(Cursor::new(bytes)).unwrap();
    assert_eq!(
        r.next_frame().unwrap_err().kind(),
        CaptureErrorKind::Malformed
    );
}

/// Returns at most one byte per read, to exercise the buffer refills.
struct Trickle<R>(R);

impl<R: std::io::Read> std::io::Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(1);
        self.0.read(&mut buf[..n])
    }
}

#[test]
fn byte_by_byte_reads_and_records_larger_than_the_buffer() {
    let seg = TcpSegment::new(
        "10.1.1.1:1234".parse().unwrap(),
        "10.1.1.2:80".parse().unwrap(),
    );
    let small = synth::ethernet(&[], &seg.ip_packet());
    let big = vec![0xab; 3 << 20];
    let mut w = PcapWriter::new(Vec::new(), LinkType::Ethernet).unwrap();
    w.write(1000, &small).unwrap();
    w.write(2000, &big).unwrap();
    w.write(3000, &small).unwrap();
    let bytes = w.into_inner().unwrap();
    let mut r = CaptureReader::new(Trickle(Cursor::new(bytes.clone()))).unwrap();
    assert_eq!(r.next_frame().unwrap().unwrap().data, &small[..]);
    let mut r = CaptureReader::new(Cursor::new(bytes)).unwrap();
    let mut lens = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        lens.push((f.ts_ns, f.data.len()));
    }
    assert_eq!(
        lens,
        vec![(1000, small.len()), (2000, big.len()), (3000, small.len())]
    );
}
