//! The classic libpcap file format.

use std::io::Read;

use crate::capture::{Frame, MAX_RECORD};
use crate::error::{CaptureError, CaptureErrorKind};
use crate::linktype::LinkType;
use crate::readbuf::ReadBuffer;

pub(crate) struct PcapReader<R> {
    input: ReadBuffer<R>,
    big_endian: bool,
    /// Nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds.
    nanos: bool,
    link_type: LinkType,
}

fn truncated(what: &str, got: usize, want: usize) -> CaptureError {
    CaptureError::new(
        CaptureErrorKind::Truncated,
        format!("{what}: got {got} of {want} bytes"),
    )
}

impl<R: Read> PcapReader<R> {
    /// Recognizes the four pcap magics at the start of `input`; `None` if
    /// it is none of them.
    pub(crate) fn with_magic(
        mut input: ReadBuffer<R>,
        magic: [u8; 4],
    ) -> Option<Result<Self, CaptureError>> {
        let (big_endian, nanos) = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
            _ => return None,
        };
        let got = match input.fill_to(24) {
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        };
        if got < 24 {
            return Some(Err(truncated("pcap file header", got, 24)));
        }
        let network = u32_at(input.peek(), 20, big_endian);
        input.consume(24);
        Some(Ok(PcapReader {
            input,
            big_endian,
            nanos,
            link_type: LinkType::from_u32(network),
        }))
    }

    pub(crate) fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        match self.input.fill_to(16)? {
            0 => return Ok(None),
            16 => {}
            n => return Err(truncated("record header", n, 16)),
        }
        let be = self.big_endian;
        let hdr = self.input.peek();
        let secs = u64::from(u32_at(hdr, 0, be));
        let frac = u64::from(u32_at(hdr, 4, be));
        let incl = u32_at(hdr, 8, be) as usize;
        let orig = u32_at(hdr, 12, be);
        if incl > MAX_RECORD {
            return Err(CaptureError::new(
                CaptureErrorKind::Malformed,
                format!("record of {incl} bytes"),
            ));
        }
        let got = self.input.fill_to(16 + incl)?;
        if got < 16 + incl {
            return Err(truncated("record data", got - 16, incl));
        }
        let at = self.input.consume(16 + incl);
        let ts_ns = secs * 1_000_000_000 + if self.nanos { frac } else { frac * 1000 };
        Ok(Some(Frame {
            ts_ns,
            link_type: self.link_type,
            interface: 0,
            orig_len: orig,
            data: self.input.at(at + 16, incl),
        }))
    }
}

fn u32_at(b: &[u8], at: usize, big_endian: bool) -> u32 {
    let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if big_endian {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}
