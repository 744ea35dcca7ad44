//! One direction of an HTTP/1.x connection: finds header blocks in the
//! reassembled byte stream and walks over bodies without buffering them.

use super::message::{BodyHint, HttpAnomaly};

/// Where the parser is in the message grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Between messages: skipping blank lines, expecting a start line.
    Start,
    /// Accumulating a header block.
    Headers,
    /// Skipping a body of known length.
    Body(u64),
    /// Reading a chunk-size line.
    ChunkSize,
    /// Skipping chunk data.
    ChunkData(u64),
    /// Expecting the CRLF after chunk data.
    ChunkEnd,
    /// Reading trailer lines after the last chunk.
    Trailers,
    /// Skipping everything until the connection closes.
    UntilClose,
    /// Lost synchronization (gap, garbage): looking for a message start.
    Lost,
}

/// What feeding produced besides consuming bytes.
pub(crate) enum Fed {
    /// Nothing complete yet.
    Nothing,
    /// A complete header block (start line through blank line).
    Block(Vec<u8>),
    /// An anomaly in the stream.
    Anomaly(HttpAnomaly),
}

/// Longest chunk-size line accepted (extensions included).
const MAX_CHUNK_LINE: usize = 1024;

/// Request methods recognized when resynchronizing and when detecting HTTP.
pub(crate) const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"CONNECT",
    b"TRACE",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"TRACK",
    b"SEARCH",
    b"REPORT",
    b"MKACTIVITY",
    b"CHECKOUT",
    b"MERGE",
    b"NOTIFY",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"PURGE",
    b"M-SEARCH",
];

/// True if `data` starts with a known method followed by a space; `None`
/// if `data` is too short to tell.
pub(crate) fn starts_with_method(data: &[u8]) -> Option<bool> {
    let mut undecided = false;
    for m in METHODS {
        if data.len() > m.len() {
            if data.starts_with(m) && matches!(data[m.len()], b' ' | b'\t') {
                return Some(true);
            }
        } else if m.starts_with(data) {
            undecided = true;
        }
    }
    if undecided { None } else { Some(false) }
}

/// The end of the header block in `bytes` (just past its blank line, LF
/// or CRLF), looking from `from` on.
fn block_end(bytes: &[u8], from: usize) -> Option<usize> {
    for nl in memchr::memchr_iter(b'\n', &bytes[from..]) {
        let i = from + nl;
        match bytes.get(i + 1) {
            Some(b'\n') => return Some(i + 2),
            Some(b'\r') if bytes.get(i + 2) == Some(&b'\n') => return Some(i + 3),
            _ => {}
        }
    }
    None
}

/// The size of a chunk-size line (`1a;ext=1\r`, line feed excluded), or
/// `None` if it is not one: no hex digits, more than 15, or bytes after
/// them that are neither an extension nor whitespace.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let start = line
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(line.len());
    let digits = line[start..]
        .iter()
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    let rest_ok = line[start + digits..]
        .iter()
        .all(|&b| matches!(b, b';' | b'\r' | b' ' | b'\t') || b.is_ascii_graphic());
    if digits == 0 || digits > 15 || !rest_ok {
        return None;
    }
    let value = line[start..start + digits].iter().fold(0u64, |acc, &b| {
        // Hex digits only (checked above); 15 of them fit in 64 bits.
        let d = (b as char).to_digit(16).unwrap_or(0);
        acc << 4 | u64::from(d)
    });
    Some(value)
}

pub(crate) struct HalfParser {
    is_request: bool,
    mode: Mode,
    buf: Vec<u8>,
    /// Where to resume looking for the end of the header block.
    scan: usize,
    max_header: usize,
}

impl HalfParser {
    pub(crate) fn new(is_request: bool, max_header: usize) -> Self {
        HalfParser {
            is_request,
            mode: Mode::Start,
            buf: Vec::new(),
            scan: 0,
            max_header,
        }
    }

    /// Bytes that can be dropped right now without looking at them.
    pub(crate) fn skippable(&self) -> u64 {
        match self.mode {
            Mode::Body(n) | Mode::ChunkData(n) => n,
            Mode::UntilClose => u64::MAX,
            _ => 0,
        }
    }

    /// Drops `n` bytes (at most [`skippable`](Self::skippable)).
    pub(crate) fn skip(&mut self, n: u64) {
        match &mut self.mode {
            Mode::Body(left) => {
                *left -= n.min(*left);
                if *left == 0 {
                    self.mode = Mode::Start;
                }
            }
            Mode::ChunkData(left) => {
                *left -= n.min(*left);
                if *left == 0 {
                    self.mode = Mode::ChunkEnd;
                }
            }
            _ => {}
        }
    }

    /// What the kernel may be told about the bytes that follow.
    pub(crate) fn body_hint(&self) -> Option<BodyHint> {
        match self.mode {
            Mode::Body(n) => Some(BodyHint::Length(n)),
            Mode::ChunkData(_) | Mode::ChunkSize | Mode::ChunkEnd | Mode::Trailers => {
                Some(BodyHint::Chunked)
            }
            Mode::UntilClose => Some(BodyHint::UntilClose),
            _ => None,
        }
    }

    /// True while a header block is partially buffered.
    pub(crate) fn in_headers(&self) -> bool {
        self.mode == Mode::Headers
    }

    /// Sets how the body after the block just returned is framed.
    pub(crate) fn set_body(&mut self, body: BodyHint) {
        self.mode = match body {
            BodyHint::None => Mode::Start,
            BodyHint::Length(n) => Mode::Body(n),
            BodyHint::Chunked => Mode::ChunkSize,
            BodyHint::UntilClose => Mode::UntilClose,
        };
    }

    /// `n` bytes were lost. Returns an anomaly if headers were affected.
    pub(crate) fn gap(&mut self, n: u64) -> Option<HttpAnomaly> {
        match &mut self.mode {
            Mode::Body(left) | Mode::ChunkData(left) if *left > n => {
                *left -= n;
                None
            }
            Mode::Body(left) if *left == n => {
                self.mode = Mode::Start;
                None
            }
            Mode::UntilClose => None,
            Mode::Headers => {
                self.buf.clear();
                self.mode = Mode::Lost;
                Some(HttpAnomaly::GapInHeaders)
            }
            _ => {
                self.buf.clear();
                self.mode = Mode::Lost;
                None
            }
        }
    }

    /// Buffer capacity held, for memory accounting.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.capacity()
    }

    /// Consumes a prefix of `data`; returns how much and what it produced.
    /// Call again with the rest (after skipping what
    /// [`skippable`](Self::skippable) allows) until all is consumed.
    pub(crate) fn feed(&mut self, data: &[u8]) -> (usize, Fed) {
        match self.mode {
            Mode::Start => {
                let blank = data
                    .iter()
                    .take_while(|&&b| b == b'\r' || b == b'\n')
                    .count();
                if blank == data.len() {
                    return (blank, Fed::Nothing);
                }
                let rest = &data[blank..];
                let plausible = if self.is_request {
                    rest[0].is_ascii_alphabetic()
                } else {
                    let n = rest.len().min(5);
                    rest[..n] == b"HTTP/"[..n]
                };
                if !plausible {
                    self.mode = Mode::Lost;
                    return (blank, Fed::Anomaly(HttpAnomaly::GarbageBeforeMessage));
                }
                self.mode = Mode::Headers;
                self.buf.clear();
                self.scan = 0;
                (blank, Fed::Nothing)
            }
            Mode::Headers => self.feed_headers(data),
            Mode::ChunkSize => self.feed_chunk_size(data),
            Mode::ChunkEnd => {
                // Tolerate a missing CR; anything else is skipped over.
                let n = data.iter().take_while(|&&b| b == b'\r').count();
                if n < data.len() {
                    if data[n] == b'\n' {
                        self.mode = Mode::ChunkSize;
                        return (n + 1, Fed::Nothing);
                    }
                    self.mode = Mode::ChunkSize;
                    return (n, Fed::Anomaly(HttpAnomaly::InvalidChunkSize));
                }
                (n, Fed::Nothing)
            }
            Mode::Trailers => self.feed_trailers(data),
            Mode::Lost => self.resync(data),
            // Skippable modes are handled by the caller; be safe anyway.
            Mode::Body(_) | Mode::ChunkData(_) | Mode::UntilClose => {
                let n = (self.skippable().min(data.len() as u64)) as usize;
                self.skip(n as u64);
                (n, Fed::Nothing)
            }
        }
    }

    fn feed_headers(&mut self, data: &[u8]) -> (usize, Fed) {
        let before = self.buf.len();
        let room = self.max_header.saturating_sub(before);
        let take = data.len().min(room);
        if before == 0 {
            if let Some(end) = block_end(&data[..take], 0) {
                // The whole block is in this segment (the common case): copy
                // just the block, not the segment with the body after it.
                self.mode = Mode::Start;
                return (end, Fed::Block(data[..end].to_vec()));
            }
            // Searched already: only the last bytes can start the end.
            self.scan = take.saturating_sub(2);
        }
        self.buf.extend_from_slice(&data[..take]);
        if let Some(end) = block_end(&self.buf, self.scan) {
            let consumed = end - before;
            self.buf.truncate(end);
            let block = std::mem::take(&mut self.buf);
            // The caller sets the body mode; Start is the default.
            self.mode = Mode::Start;
            return (consumed, Fed::Block(block));
        }
        self.scan = self.buf.len().saturating_sub(2);
        if take < data.len() || self.buf.len() >= self.max_header {
            self.buf.clear();
            self.mode = Mode::Lost;
            return (take, Fed::Anomaly(HttpAnomaly::HeaderBlockTooLong));
        }
        (take, Fed::Nothing)
    }

    fn feed_chunk_size(&mut self, data: &[u8]) -> (usize, Fed) {
        let Some(nl) = memchr::memchr(b'\n', data) else {
            self.buf.extend_from_slice(data);
            if self.buf.len() > MAX_CHUNK_LINE {
                self.buf.clear();
                self.mode = Mode::Lost;
                return (data.len(), Fed::Anomaly(HttpAnomaly::InvalidChunkSize));
            }
            return (data.len(), Fed::Nothing);
        };
        // A line within one segment is read where it is, without a copy.
        let size = if self.buf.is_empty() {
            chunk_size(&data[..nl])
        } else {
            self.buf.extend_from_slice(&data[..nl]);
            chunk_size(&self.buf)
        };
        self.buf.clear();
        match size {
            Some(0) => {
                self.mode = Mode::Trailers;
                (nl + 1, Fed::Nothing)
            }
            Some(n) => {
                self.mode = Mode::ChunkData(n);
                (nl + 1, Fed::Nothing)
            }
            None => {
                self.mode = Mode::Lost;
                (nl + 1, Fed::Anomaly(HttpAnomaly::InvalidChunkSize))
            }
        }
    }

    fn feed_trailers(&mut self, data: &[u8]) -> (usize, Fed) {
        // Trailer lines are read one at a time; an empty line ends them.
        let Some(nl) = memchr::memchr(b'\n', data) else {
            self.buf.extend_from_slice(data);
            if self.buf.len() > self.max_header {
                self.buf.clear();
                self.mode = Mode::Lost;
                return (data.len(), Fed::Anomaly(HttpAnomaly::HeaderBlockTooLong));
            }
            return (data.len(), Fed::Nothing);
        };
        self.buf.extend_from_slice(&data[..nl]);
        let empty = self.buf.iter().all(|&b| b == b'\r');
        self.buf.clear();
        if empty {
            self.mode = Mode::Start;
        }
        (nl + 1, Fed::Nothing)
    }

    /// Looks for the start of a message at the beginning of a line.
    fn resync(&mut self, data: &[u8]) -> (usize, Fed) {
        let mut candidates =
            std::iter::once(0).chain(memchr::memchr_iter(b'\n', data).map(|i| i + 1));
        let found = candidates.find(|&i| {
            let rest = &data[i..];
            if self.is_request {
                starts_with_method(rest) == Some(true)
            } else {
                rest.starts_with(b"HTTP/1.")
            }
        });
        match found {
            Some(i) => {
                self.mode = Mode::Start;
                (i, Fed::Nothing)
            }
            None => (data.len(), Fed::Nothing),
        }
    }
}
