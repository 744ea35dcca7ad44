//! Building frames and writing pcap files: for tests, regression captures and
//! the benchmark generator. Checksums are computed, so the frames decode as
//! valid with checksum verification on.
//!
//! ```
//! use sensor_packet::synth::{self, TcpSegment};
//! use sensor_packet::{Decoder, DecodeOptions, LinkType};
//!
//! let seg = TcpSegment::new("10.0.0.1:40000".parse()?, "10.0.0.2:80".parse()?)
//!     .flags(0x18)
//!     .payload(b"GET / HTTP/1.1\r\n\r\n");
//! let frame = synth::ethernet(&[], &seg.ip_packet());
//! let mut decoder = Decoder::new(DecodeOptions::default());
//! let packet = decoder.decode_bytes(LinkType::Ethernet, 0, 0, frame.len() as u32, &frame)?.unwrap();
//! assert_eq!(packet.dst_port(), 80);
//! assert_eq!(packet.payload, b"GET / HTTP/1.1\r\n\r\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};

use crate::checksum;
use crate::linktype::LinkType;

/// A TCP segment to build.
#[derive(Debug, Clone, Copy)]
pub struct TcpSegment<'a> {
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags byte.
    pub flags: u8,
    /// Window.
    pub window: u16,
    /// IPv4 identification.
    pub ip_id: u16,
    /// Payload.
    pub payload: &'a [u8],
}

impl<'a> TcpSegment<'a> {
    /// An ACK-only segment with sequence numbers 0.
    pub fn new(src: SocketAddr, dst: SocketAddr) -> Self {
        TcpSegment {
            src,
            dst,
            seq: 0,
            ack: 0,
            flags: 0x10,
            window: 65535,
            ip_id: 1,
            payload: &[],
        }
    }
    /// Sets the sequence number.
    pub fn seq(mut self, seq: u32) -> Self {
        self.seq = seq;
        self
    }
    /// Sets the acknowledgement number.
    pub fn ack(mut self, ack: u32) -> Self {
        self.ack = ack;
        self
    }
    /// Sets the flags.
    pub fn flags(mut self, flags: u8) -> Self {
        self.flags = flags;
        self
    }
    /// Sets the payload.
    pub fn payload(mut self, payload: &'a [u8]) -> Self {
        self.payload = payload;
        self
    }

    /// The TCP header and payload, checksummed.
    pub fn l4(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(20 + self.payload.len());
        out.extend_from_slice(&self.src.port().to_be_bytes());
        out.extend_from_slice(&self.dst.port().to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.ack.to_be_bytes());
        out.extend_from_slice(&[0x50, self.flags]);
        out.extend_from_slice(&self.window.to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(self.payload);
        set_l4_checksum(&mut out, 16, self.src.ip(), self.dst.ip(), 6);
        out
    }

    /// The IP packet (v4 or v6 after the addresses) carrying the segment.
    pub fn ip_packet(&self) -> Vec<u8> {
        ip_packet(self.src.ip(), self.dst.ip(), 6, self.ip_id, 0, &self.l4())
    }
}

/// A UDP datagram's header and payload, checksummed.
pub fn udp_l4(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&src.port().to_be_bytes());
    out.extend_from_slice(&dst.port().to_be_bytes());
    out.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    set_l4_checksum(&mut out, 6, src.ip(), dst.ip(), 17);
    out
}

/// An IP packet carrying UDP.
pub fn udp_packet(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    ip_packet(src.ip(), dst.ip(), 17, 1, 0, &udp_l4(src, dst, payload))
}

fn set_l4_checksum(l4: &mut [u8], at: usize, src: IpAddr, dst: IpAddr, proto: u8) {
    let pseudo = checksum::pseudo_header(src, dst, proto, l4.len() as u32);
    let mut c = !checksum::fold(checksum::sum(l4, pseudo));
    if c == 0 && proto == 17 {
        c = 0xffff;
    }
    l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

/// An IPv4 or IPv6 packet around `l4`. For IPv4, `frag` is the flags and
/// fragment offset field (in 8-byte units, MF = 0x2000); for IPv6 a nonzero
/// `frag` adds a fragment header with that offset/flags layout converted.
pub fn ip_packet(src: IpAddr, dst: IpAddr, protocol: u8, id: u16, frag: u16, l4: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = 20 + l4.len();
            let mut out = Vec::with_capacity(total);
            out.extend_from_slice(&[0x45, 0]);
            out.extend_from_slice(&(total as u16).to_be_bytes());
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&frag.to_be_bytes());
            out.extend_from_slice(&[64, protocol, 0, 0]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            let c = !checksum::fold(checksum::sum(&out, 0));
            out[10..12].copy_from_slice(&c.to_be_bytes());
            out.extend_from_slice(l4);
            out
        }
        (s, d) => {
            let s6 = match s {
                IpAddr::V6(a) => a,
                IpAddr::V4(a) => a.to_ipv6_mapped(),
            };
            let d6 = match d {
                IpAddr::V6(a) => a,
                IpAddr::V4(a) => a.to_ipv6_mapped(),
            };
            let frag_hdr = frag != 0;
            let plen = l4.len() + if frag_hdr { 8 } else { 0 };
            let mut out = Vec::with_capacity(40 + plen);
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&(plen as u16).to_be_bytes());
            out.push(if frag_hdr { 44 } else { protocol });
            out.push(64);
            out.extend_from_slice(&s6.octets());
            out.extend_from_slice(&d6.octets());
            if frag_hdr {
                let offset = frag & 0x1fff;
                let more = u16::from(frag & 0x2000 != 0);
                out.extend_from_slice(&[protocol, 0]);
                out.extend_from_slice(&((offset << 3) | more).to_be_bytes());
                out.extend_from_slice(&u32::from(id).to_be_bytes());
            }
            out.extend_from_slice(l4);
            out
        }
    }
}

/// An Ethernet frame around an IP packet, with optional 802.1Q tags
/// (outermost first).
pub fn ethernet(vlans: &[u16], ip: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(14 + 4 * vlans.len() + ip.len());
    out.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]);
    for &v in vlans {
        out.extend_from_slice(&[0x81, 0x00]);
        out.extend_from_slice(&v.to_be_bytes());
    }
    let ether_type: u16 = if ip.first().is_some_and(|b| b >> 4 == 6) {
        0x86dd
    } else {
        0x0800
    };
    out.extend_from_slice(&ether_type.to_be_bytes());
    out.extend_from_slice(ip);
    out
}

/// Writes classic pcap files (microsecond timestamps, little endian).
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header.
    pub fn new(mut out: W, link_type: LinkType) -> io::Result<Self> {
        let mut hdr = [0u8; 24];
        hdr[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        hdr[4..6].copy_from_slice(&2u16.to_le_bytes());
        hdr[6..8].copy_from_slice(&4u16.to_le_bytes());
        hdr[16..20].copy_from_slice(&262_144u32.to_le_bytes());
        hdr[20..24].copy_from_slice(&link_type.to_u32().to_le_bytes());
        out.write_all(&hdr)?;
        Ok(PcapWriter { out })
    }

    /// Writes one frame captured whole.
    pub fn write(&mut self, ts_ns: u64, frame: &[u8]) -> io::Result<()> {
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&((ts_ns / 1_000_000_000) as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&((ts_ns % 1_000_000_000 / 1000) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        self.out.write_all(&rec)?;
        self.out.write_all(frame)
    }

    /// Flushes and returns the inner writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A scripted TCP connection producing timestamped Ethernet frames: the
/// handshake, data in MSS-sized segments each acknowledged by the peer, and
/// the FIN exchange. Sequence numbers and checksums are consistent, so the
/// frames replay as a real connection.
#[derive(Debug, Clone)]
pub struct TcpConversation {
    client: SocketAddr,
    server: SocketAddr,
    client_seq: u32,
    server_seq: u32,
    vlans: Vec<u16>,
    /// Time of the next frame.
    pub ts_ns: u64,
    /// Time between frames.
    pub step_ns: u64,
    /// Largest segment payload.
    pub mss: usize,
    ip_id: u16,
}

/// A frame with its capture time.
pub type TimedFrame = (u64, Vec<u8>);

impl TcpConversation {
    /// A connection between `client` and `server` starting at `ts_ns`.
    pub fn new(client: SocketAddr, server: SocketAddr, ts_ns: u64) -> Self {
        let isn = |a: &SocketAddr| {
            let mut h: u32 = 0x811c_9dc5;
            for b in a.to_string().bytes() {
                h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
            }
            h
        };
        TcpConversation {
            client,
            server,
            client_seq: isn(&client),
            server_seq: isn(&server),
            vlans: Vec::new(),
            ts_ns,
            step_ns: 10_000,
            mss: 1460,
            ip_id: 1,
        }
    }

    /// Tags every frame with these VLAN ids.
    pub fn vlans(mut self, vlans: &[u16]) -> Self {
        self.vlans = vlans.to_vec();
        self
    }

    fn frame(
        &mut self,
        from_client: bool,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> TimedFrame {
        let (src, dst) = if from_client {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        let mut seg = TcpSegment::new(src, dst)
            .seq(seq)
            .ack(ack)
            .flags(flags)
            .payload(payload);
        seg.ip_id = self.ip_id;
        self.ip_id = self.ip_id.wrapping_add(1);
        let ts = self.ts_ns;
        self.ts_ns += self.step_ns;
        (ts, ethernet(&self.vlans, &seg.ip_packet()))
    }

    /// SYN, SYN/ACK, ACK.
    pub fn handshake(&mut self, out: &mut Vec<TimedFrame>) {
        let (c, s) = (self.client_seq, self.server_seq);
        let f = self.frame(true, c, 0, 0x02, &[]);
        out.push(f);
        let f = self.frame(false, s, c.wrapping_add(1), 0x12, &[]);
        out.push(f);
        self.client_seq = c.wrapping_add(1);
        self.server_seq = s.wrapping_add(1);
        let f = self.frame(true, self.client_seq, self.server_seq, 0x10, &[]);
        out.push(f);
    }

    /// Sends `data` from one side in segments; the other side acknowledges
    /// every second segment and the last.
    pub fn send(&mut self, from_client: bool, data: &[u8], out: &mut Vec<TimedFrame>) {
        let chunks: Vec<&[u8]> = data.chunks(self.mss.max(1)).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let (seq, ack) = if from_client {
                (self.client_seq, self.server_seq)
            } else {
                (self.server_seq, self.client_seq)
            };
            let f = self.frame(from_client, seq, ack, 0x18, chunk);
            out.push(f);
            if from_client {
                self.client_seq = self.client_seq.wrapping_add(chunk.len() as u32);
            } else {
                self.server_seq = self.server_seq.wrapping_add(chunk.len() as u32);
            }
            if i % 2 == 1 || i + 1 == chunks.len() {
                let (seq, ack) = if from_client {
                    (self.server_seq, self.client_seq)
                } else {
                    (self.client_seq, self.server_seq)
                };
                let f = self.frame(!from_client, seq, ack, 0x10, &[]);
                out.push(f);
            }
        }
    }

    /// FIN from the client, FIN/ACK from the server, final ACK.
    pub fn close(&mut self, out: &mut Vec<TimedFrame>) {
        let f = self.frame(true, self.client_seq, self.server_seq, 0x11, &[]);
        out.push(f);
        self.client_seq = self.client_seq.wrapping_add(1);
        let f = self.frame(false, self.server_seq, self.client_seq, 0x11, &[]);
        out.push(f);
        self.server_seq = self.server_seq.wrapping_add(1);
        let f = self.frame(true, self.client_seq, self.server_seq, 0x10, &[]);
        out.push(f);
    }

    /// The next client and server sequence numbers.
    pub fn seqs(&self) -> (u32, u32) {
        (self.client_seq, self.server_seq)
    }

    /// A raw segment with explicit sequence numbers (for out-of-order,
    /// overlap and gap scenarios); does not move the conversation's numbers.
    pub fn raw_segment(
        &mut self,
        from_client: bool,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> TimedFrame {
        self.frame(from_client, seq, ack, flags, payload)
    }
}
