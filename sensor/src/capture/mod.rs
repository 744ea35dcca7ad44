//! Live capture from the kernel: load the TC programs, attach them, and read
//! their ring buffers of packet records (one per CPU, merged in time order).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use vigil::capture::{CaptureConfig, KernelCapture};
//! let mut capture = KernelCapture::attach(&CaptureConfig::new("eth0"))?;
//! let summary = capture
//!     .run(|event| println!("{event}"), tokio::signal::ctrl_c())
//!     .await?;
//! println!("{} records lost", summary.counters.records_lost);
//! # Ok(()) }
//! ```

mod clock;
mod counters;
mod error;
mod event;
mod kernel;
mod merge;
mod reader;
mod test_run;

pub use clock::WallClock;
pub use counters::CounterTotals;
pub use error::{CaptureError, CaptureErrorKind};
pub use event::{DropInfo, PacketEvent};
pub use kernel::{CaptureConfig, KernelCapture, ProgramStats};
pub use merge::{HOLD, Merge};
pub use reader::{CaptureSummary, PacketSink, RecordSink};
pub use sensor_packet::TcpFlags;
pub use test_run::TestRun;
