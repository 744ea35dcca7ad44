//! A read buffer that hands out borrowed records: one copy from the file
//! into the buffer, none after (a `BufReader` plus a record buffer would copy
//! every byte twice).
//!
//! Files are read, not mapped into memory: a mapping costs a page fault per
//! few pages and an unmap per page (about a fifth of a replay's time on a
//! 1.5 GB capture), and its frames are cache misses when decoding first
//! touches them; `read` copies into a buffer that is still in the CPU's
//! cache when the decoder sums the payload, and keeps the resident memory
//! of a replay at the buffer's size whatever the file's.

use std::io::Read;

use crate::error::CaptureError;

pub(crate) struct ReadBuffer<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

/// Bytes read from the file per refill, once the file proved larger than
/// the first read.
const CHUNK: usize = 1 << 20;
/// The first buffer: small files (and fuzz inputs) never need more.
const FIRST: usize = 64 << 10;

impl<R: Read> ReadBuffer<R> {
    pub(crate) fn new(inner: R) -> Self {
        ReadBuffer {
            inner,
            buf: vec![0; FIRST],
            start: 0,
            end: 0,
        }
    }

    /// Makes at least `n` bytes available if the file has them; returns how
    /// many are available (fewer than `n` only at end of file).
    pub(crate) fn fill_to(&mut self, n: usize) -> Result<usize, CaptureError> {
        if self.end - self.start >= n {
            return Ok(n);
        }
        let buf = &mut self.buf;
        if self.start + n > buf.len() {
            // Move the partial record to the front; a file larger than
            // the first buffer gets the full-size one.
            buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if buf.len() < CHUNK {
                buf.resize(CHUNK, 0);
            }
        }
        while self.end - self.start < n {
            if self.end == buf.len() {
                // Grow by doubling as data actually arrives, so a corrupt
                // length near the end of a file costs no huge allocation.
                let doubled = (buf.len() * 2).max(CHUNK);
                buf.resize(doubled, 0);
            }
            match self.inner.read(&mut buf[self.end..]) {
                Ok(0) => break,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CaptureError::io(e)),
            }
        }
        Ok((self.end - self.start).min(n))
    }

    /// The available bytes.
    pub(crate) fn peek(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` bytes as used; returns the offset they started at, for
    /// [`at`](Self::at).
    pub(crate) fn consume(&mut self, n: usize) -> usize {
        let at = self.start;
        self.start += n;
        at
    }

    /// `len` bytes at absolute offset `at` (valid until the next fill).
    pub(crate) fn at(&self, at: usize, len: usize) -> &[u8] {
        &self.buf[at..at + len]
    }
}
