//! A read buffer that hands out borrowed records: one copy from the file
//! into the buffer, none after (a `BufReader` plus a record buffer would copy
//! every byte twice), or none at all when the file is mapped into memory
//! ([`ReadBuffer::mapped`]): copying a large capture out of the page cache
//! was a third of replay's time.

use std::io::Read;

use crate::error::CaptureError;

pub(crate) struct ReadBuffer<R> {
    inner: R,
    buf: Vec<u8>,
    /// The whole file, when mapped; `buf` is then unused.
    map: Option<memmap2::Mmap>,
    /// Mapped bytes before this offset were handed back to the kernel.
    released: usize,
    start: usize,
    end: usize,
}

/// Bytes read from the file per refill, once the file proved larger than
/// the first read.
const CHUNK: usize = 1 << 20;
/// The first buffer: small files (and fuzz inputs) never need more.
const FIRST: usize = 64 << 10;
/// A mapped file's pages already read are released in steps of this much.
const RELEASE_EVERY: usize = 8 << 20;
/// Release boundaries are multiples of this (a page size on every target).
const RELEASE_ALIGN: usize = 64 << 10;

impl<R: Read> ReadBuffer<R> {
    pub(crate) fn new(inner: R) -> Self {
        ReadBuffer {
            inner,
            buf: vec![0; FIRST],
            map: None,
            released: 0,
            start: 0,
            end: 0,
        }
    }

    /// Makes at least `n` bytes available if the file has them; returns how
    /// many are available (fewer than `n` only at end of file).
    pub(crate) fn fill_to(&mut self, n: usize) -> Result<usize, CaptureError> {
        if let Some(map) = &self.map {
            // Pages already read are dropped from this process's mapping as
            // it goes (they stay in the page cache), so that replaying a
            // large file does not count the whole file as resident memory.
            let upto = self.start & !(RELEASE_ALIGN - 1);
            if upto >= self.released + RELEASE_EVERY {
                // SAFETY: a read-only file mapping; nothing borrows the
                // range (frames borrow `self` and this takes `&mut self`),
                // and a later read of it would fault the same bytes back in
                // from the file.
                let _ = unsafe {
                    map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        self.released,
                        upto - self.released,
                    )
                };
                self.released = upto;
            }
            return Ok((self.end - self.start).min(n));
        }
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
        match &self.map {
            Some(m) => &m[self.start..self.end],
            None => &self.buf[self.start..self.end],
        }
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
        match &self.map {
            Some(m) => &m[at..at + len],
            None => &self.buf[at..at + len],
        }
    }
}

impl ReadBuffer<std::fs::File> {
    /// The file mapped into memory, or read as usual when it cannot be
    /// (not a regular file, or the mapping fails).
    pub(crate) fn mapped(file: std::fs::File) -> Self {
        let regular = file.metadata().is_ok_and(|m| m.is_file() && m.len() > 0);
        // SAFETY: the map is read-only and private to this reader. If another
        // process truncates the file while it is replayed, reading past the
        // new end faults (SIGBUS): capture files being replayed are not
        // expected to shrink, and files still being appended to are read
        // only up to their length at open.
        let map = regular
            .then(|| unsafe { memmap2::Mmap::map(&file) }.ok())
            .flatten();
        match map {
            Some(map) => {
                let _ = map.advise(memmap2::Advice::Sequential);
                ReadBuffer {
                    inner: file,
                    buf: Vec::new(),
                    end: map.len(),
                    map: Some(map),
                    released: 0,
                    start: 0,
                }
            }
            None => ReadBuffer::new(file),
        }
    }
}
