//! Reading capture files frame by frame, whatever their format.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{CaptureError, CaptureErrorKind};
use crate::linktype::LinkType;
use crate::pcap::PcapReader;
use crate::pcapng::PcapNgReader;
use crate::readbuf::ReadBuffer;

/// One captured frame, borrowed from the reader until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Capture time in nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// Link-layer type of `data`.
    pub link_type: LinkType,
    /// Interface number (pcapng interface id; 0 for pcap).
    pub interface: u32,
    /// Length of the frame on the wire (may exceed `data.len()`).
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// Which file format a [`CaptureReader`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic libpcap format.
    Pcap,
    /// pcapng.
    PcapNg,
}

enum Inner<R> {
    Pcap(PcapReader<R>),
    PcapNg(PcapNgReader<R>),
}

/// Reads pcap or pcapng files, detected from the magic number.
///
/// The reader reuses one buffer: [`next_frame`](Self::next_frame) returns a
/// frame borrowing it. A file that ends in the middle of a record yields every
/// complete frame first and then an error of kind
/// [`CaptureErrorKind::Truncated`].
pub struct CaptureReader<R> {
    inner: Inner<R>,
    done: bool,
}

impl CaptureReader<File> {
    /// Opens a capture file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let file = File::open(path).map_err(CaptureError::io)?;
        CaptureReader::from_input(ReadBuffer::new(file))
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header from `reader` and detects the format. The
    /// reader does its own buffering: pass a plain `File`.
    pub fn new(reader: R) -> Result<Self, CaptureError> {
        CaptureReader::from_input(ReadBuffer::new(reader))
    }

    fn from_input(mut input: ReadBuffer<R>) -> Result<Self, CaptureError> {
        let got = input.fill_to(4)?;
        if got < 4 {
            return Err(CaptureError::new(
                CaptureErrorKind::Truncated,
                format!("file header: got {got} of 4 bytes"),
            ));
        }
        let p = input.peek();
        let magic = [p[0], p[1], p[2], p[3]];
        let inner = match magic {
            [0x0a, 0x0d, 0x0d, 0x0a] => Inner::PcapNg(PcapNgReader::new(input)?),
            _ => match PcapReader::with_magic(input, magic) {
                Some(r) => Inner::Pcap(r?),
                None => {
                    return Err(CaptureError::new(
                        CaptureErrorKind::UnknownFormat,
                        format!("magic {magic:02x?}"),
                    ));
                }
            },
        };
        Ok(CaptureReader { inner, done: false })
    }

    /// The detected format.
    pub fn format(&self) -> CaptureFormat {
        match self.inner {
            Inner::Pcap(_) => CaptureFormat::Pcap,
            Inner::PcapNg(_) => CaptureFormat::PcapNg,
        }
    }

    /// The next frame, `Ok(None)` at a clean end of file. After an error the
    /// reader is finished and returns `Ok(None)`.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let result = match &mut self.inner {
            Inner::Pcap(r) => r.next_frame(),
            Inner::PcapNg(r) => r.next_frame(),
        };
        match result {
            Ok(Some(f)) => Ok(Some(f)),
            other => {
                self.done = true;
                other
            }
        }
    }
}

/// Largest record or block accepted: far above any real snap length, small
/// enough that a corrupt length cannot make the reader allocate gigabytes.
pub(crate) const MAX_RECORD: usize = 16 << 20;
