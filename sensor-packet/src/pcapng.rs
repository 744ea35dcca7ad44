//! The pcapng file format: section headers, interface descriptions, enhanced,
//! simple and obsolete packet blocks. Other blocks are skipped.

use std::io::Read;

use crate::capture::{Frame, MAX_RECORD};
use crate::error::{CaptureError, CaptureErrorKind};
use crate::linktype::LinkType;
use crate::readbuf::ReadBuffer;

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const OPB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;

struct Interface {
    link_type: LinkType,
    snaplen: u32,
    /// Timestamp units per second.
    units_per_sec: u64,
}

pub(crate) struct PcapNgReader<R> {
    input: ReadBuffer<R>,
    big_endian: bool,
    interfaces: Vec<Interface>,
}

fn malformed(what: impl Into<String>) -> CaptureError {
    CaptureError::new(CaptureErrorKind::Malformed, what)
}

fn truncated(what: &str, got: usize, want: usize) -> CaptureError {
    CaptureError::new(
        CaptureErrorKind::Truncated,
        format!("{what}: got {got} of {want} bytes"),
    )
}

/// Field readers in the section's byte order.
#[derive(Clone, Copy)]
struct Endian(bool);

impl Endian {
    fn u16(self, b: &[u8], at: usize) -> u16 {
        let a = [b[at], b[at + 1]];
        if self.0 {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }
    fn u32(self, b: &[u8], at: usize) -> u32 {
        let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.0 {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }
}

impl<R: Read> PcapNgReader<R> {
    /// `input` starts at the first section header block.
    pub(crate) fn new(input: ReadBuffer<R>) -> Result<Self, CaptureError> {
        let mut r = PcapNgReader {
            input,
            big_endian: false,
            interfaces: Vec::new(),
        };
        // Read the first section header now so format errors surface at open.
        match r.next_block()? {
            Some(_) => Ok(r),
            None => Err(truncated("section header", 0, 28)),
        }
    }

    /// Reads the next block; returns its type, body offset and body length
    /// (section headers are handled here and returned too).
    fn next_block(&mut self) -> Result<Option<(u32, usize, usize)>, CaptureError> {
        match self.input.fill_to(8)? {
            0 => return Ok(None),
            8 => {}
            n => return Err(truncated("block header", n, 8)),
        }
        let head = self.input.peek();
        let is_shb = head[..4] == [0x0a, 0x0d, 0x0d, 0x0a];
        if is_shb {
            let got = self.input.fill_to(12)?;
            if got < 12 {
                return Err(truncated("section header", got, 12));
            }
            self.big_endian = match self.input.peek()[8..12] {
                [0x1a, 0x2b, 0x3c, 0x4d] => true,
                [0x4d, 0x3c, 0x2b, 0x1a] => false,
                ref m => return Err(malformed(format!("byte-order magic {m:02x?}"))),
            };
        }
        let e = Endian(self.big_endian);
        let head = self.input.peek();
        let block_type = e.u32(head, 0);
        let len = e.u32(head, 4) as usize;
        let min = if is_shb { 28 } else { 12 };
        if !(min..=MAX_RECORD).contains(&len) || !len.is_multiple_of(4) {
            return Err(malformed(format!("block length {len}")));
        }
        let got = self.input.fill_to(len)?;
        if got < len {
            return Err(truncated("block", got, len));
        }
        let at = self.input.consume(len);
        if is_shb {
            self.interfaces.clear();
        }
        Ok(Some((
            if is_shb { SHB } else { block_type },
            at + 8,
            len - 12,
        )))
    }

    pub(crate) fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        // Find the next packet block; the frame borrows the buffer after the
        // loop, when no more blocks are read.
        let (iface, ts, at, cap, orig) = loop {
            let Some((block_type, at, body_len)) = self.next_block()? else {
                return Ok(None);
            };
            let e = Endian(self.big_endian);
            let body = self.input.at(at, body_len);
            let (iface, ts, data_at, cap, orig) = match block_type {
                IDB => {
                    let interface = parse_interface(e, body)?;
                    self.interfaces.push(interface);
                    continue;
                }
                EPB | OPB => {
                    if body_len < 20 {
                        return Err(malformed("packet block too short"));
                    }
                    let iface = if block_type == EPB {
                        e.u32(body, 0)
                    } else {
                        u32::from(e.u16(body, 0))
                    };
                    let ts = (u64::from(e.u32(body, 4)) << 32) | u64::from(e.u32(body, 8));
                    (iface, ts, 20, e.u32(body, 12) as usize, e.u32(body, 16))
                }
                SPB => {
                    if body_len < 4 {
                        return Err(malformed("simple packet block too short"));
                    }
                    let orig = e.u32(body, 0);
                    let snap = self.interfaces.first().map_or(u32::MAX, |i| i.snaplen);
                    let snap = if snap == 0 { u32::MAX } else { snap };
                    (0, 0, 4, (orig.min(snap) as usize).min(body_len - 4), orig)
                }
                _ => continue,
            };
            if data_at + cap > body_len {
                return Err(malformed(format!("captured length {cap} exceeds block")));
            }
            break (iface, ts, at + data_at, cap, orig);
        };
        let Some(interface) = self.interfaces.get(iface as usize) else {
            return Err(malformed(format!("packet on undeclared interface {iface}")));
        };
        let ts_ns = if interface.units_per_sec == 1_000_000_000 {
            ts
        } else {
            (u128::from(ts) * 1_000_000_000 / u128::from(interface.units_per_sec.max(1))) as u64
        };
        Ok(Some(Frame {
            ts_ns,
            link_type: interface.link_type,
            interface: iface,
            orig_len: orig,
            data: self.input.at(at, cap),
        }))
    }
}

fn parse_interface(e: Endian, body: &[u8]) -> Result<Interface, CaptureError> {
    if body.len() < 8 {
        return Err(malformed("interface description too short"));
    }
    let link_type = LinkType::from_u32(u32::from(e.u16(body, 0)));
    let snaplen = e.u32(body, 4);
    let mut units_per_sec = 1_000_000u64;
    let mut at = 8;
    while at + 4 <= body.len() {
        let code = e.u16(body, at);
        let olen = usize::from(e.u16(body, at + 2));
        let value = at + 4;
        if value + olen > body.len() || code == 0 {
            break;
        }
        if code == 9 && olen >= 1 {
            let r = body[value];
            let exp = u32::from(r & 0x7f);
            units_per_sec = if r & 0x80 == 0 {
                10u64
                    .checked_pow(exp)
                    .ok_or_else(|| malformed("if_tsresol"))?
            } else {
                1u64.checked_shl(exp)
                    .filter(|_| exp < 64)
                    .ok_or_else(|| malformed("if_tsresol"))?
            };
        }
        at = value + olen.div_ceil(4) * 4;
    }
    Ok(Interface {
        link_type,
        snaplen,
        units_per_sec,
    })
}
