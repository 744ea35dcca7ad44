//! Packet sources and decoding: pcap/pcapng files, link layers, IPv4/IPv6
//! with defragmentation, TCP/UDP/ICMP.
//!
//! Two sources feed the same [`Packet`] type:
//!
//! * capture files, read frame by frame with [`CaptureReader`] (pcap and
//!   pcapng, detected from the magic number) and decoded by a [`Decoder`]
//!   (link layer, VLAN tags, IP, fragments, transport, optional checksums);
//! * the kernel's ring-buffer records, already parsed by the TC program,
//!   turned into a [`Packet`] by [`Packet::from_kernel_record`].
//!
//! Malformed input is always a value ([`DecodeError`], [`CaptureError`]),
//! never a panic.
//!
//! ```no_run
//! use sensor_packet::{CaptureReader, Decoder, DecodeOptions};
//!
//! let mut reader = CaptureReader::open("capture.pcap")?;
//! let mut decoder = Decoder::new(DecodeOptions::default());
//! while let Some(frame) = reader.next_frame()? {
//!     match decoder.decode(&frame) {
//!         Ok(Some(packet)) => println!("{} -> {}", packet.src, packet.dst),
//!         Ok(None) => {} // a fragment kept for reassembly
//!         Err(e) => eprintln!("undecodable frame: {e}"),
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod capture;
mod checksum;
mod decode;
mod defrag;
mod error;
mod kernel;
mod linktype;
mod packet;
mod pcap;
mod pcapng;
mod readbuf;
pub mod synth;

pub use capture::{CaptureFormat, CaptureReader, Frame};
pub use decode::{DecodeOptions, Decoder, DecoderStats};
pub use defrag::{DefragConfig, DefragStats};
pub use error::{CaptureError, CaptureErrorKind, DecodeError, DecodeErrorKind};
pub use linktype::LinkType;
pub use packet::{
    ChecksumStatus, Fragment, IpVersion, Packet, TcpFlags, TcpHeader, Transport, VlanTags,
};
pub use sensor_common::Direction;
