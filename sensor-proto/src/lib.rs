//! Flows, TCP reassembly of header regions, and HTTP/1.x, TLS ClientHello
//! and DNS parsers.
//!
//! The [`Driver`] takes decoded packets ([`sensor_packet::Packet`], from a
//! capture file or a kernel record) and emits [`Event`]s to an
//! [`EventSink`]: every packet with its flow, HTTP requests and responses
//! as soon as their header blocks are complete, TLS ClientHellos, DNS
//! messages, anomalies, and flow ends. Bodies are skipped, never buffered.
//!
//! ```no_run
//! use sensor_packet::{CaptureReader, DecodeOptions, Decoder};
//! use sensor_proto::{Buffer, Driver, DriverConfig, Event};
//!
//! let mut reader = CaptureReader::open("capture.pcap")?;
//! let mut decoder = Decoder::new(DecodeOptions::default());
//! let mut driver = Driver::new(DriverConfig::default());
//! let mut sink = |event: &Event<'_>| {
//!     if let Some(uri) = event.buffer(Buffer::HttpUri) {
//!         println!("{}", String::from_utf8_lossy(uri));
//!     }
//! };
//! while let Some(frame) = reader.next_frame()? {
//!     if let Ok(Some(packet)) = decoder.decode(&frame) {
//!         driver.process(&packet, &mut sink);
//!     }
//! }
//! driver.finish(&mut sink);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod anomaly;
pub mod app;
mod community_id;
mod driver;
mod event;
pub mod flow;

pub use anomaly::{Anomaly, StreamAnomaly};
pub use app::{AppConfig, AppProto, dns, http, tls};
pub use community_id::community_id;
pub use driver::{CHECKSUM_SAMPLE, ChecksumPolicy, Counters, Driver, DriverConfig};
pub use event::{Buffer, Event, EventSink};
pub use flow::stream_counters::StreamCounters;
pub use flow::{Flow, FlowConfig, FlowEndReason, FlowKey, Side, TcpState};
