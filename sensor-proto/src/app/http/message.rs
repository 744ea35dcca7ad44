//! HTTP/1.x messages: the header block and the request and response built
//! on it. Everything is owned so a transaction outlives the stream buffers.

use std::ops::Range;

/// Something unusual about a message or stream. Anomalies are values the
/// engine can match and log; parsing goes on where it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpAnomaly {
    /// The request line is not `method SP target SP version`.
    InvalidRequestLine,
    /// The status line is not `HTTP/x.y SP code [SP reason]`.
    InvalidStatusLine,
    /// A request line without a version (HTTP/0.9 style).
    MissingVersion,
    /// A version other than HTTP/1.0 or HTTP/1.1.
    UnknownVersion,
    /// The method contains characters outside the token set.
    InvalidMethod,
    /// A header line without a colon.
    HeaderWithoutColon,
    /// Whitespace between a header name and its colon.
    SpaceBeforeColon,
    /// A header name with characters outside the token set (or empty).
    InvalidHeaderName,
    /// A header continued on the next line (obsolete line folding).
    ObsFold,
    /// Lines ended by a bare LF instead of CRLF.
    BareLf,
    /// A Content-Length that is not a decimal number.
    InvalidContentLength,
    /// Several Content-Length headers that disagree.
    ConflictingContentLength,
    /// Both Content-Length and chunked Transfer-Encoding (smuggling vector).
    ContentLengthWithChunked,
    /// A Transfer-Encoding other than chunked as the final coding.
    UnknownTransferEncoding,
    /// A chunk size line that is not hexadecimal.
    InvalidChunkSize,
    /// The header block exceeded the configured limit.
    HeaderBlockTooLong,
    /// A NUL byte in the header block.
    NulInHeaders,
    /// Whitespace inside the request target.
    SpaceInUri,
    /// A response with no outstanding request.
    ResponseWithoutRequest,
    /// More pipelined requests outstanding than the limit; the oldest was dropped.
    TooManyPendingRequests,
    /// Data was lost in the header region; the parser resynchronized.
    GapInHeaders,
    /// Bytes that are not HTTP where a message should start.
    GarbageBeforeMessage,
    /// A Host header that disagrees with the authority of an absolute URI,
    /// or several Host headers.
    AmbiguousHost,
}

impl HttpAnomaly {
    /// A stable lowercase name, for logs and rule keywords.
    pub fn name(self) -> &'static str {
        match self {
            HttpAnomaly::InvalidRequestLine => "invalid_request_line",
            HttpAnomaly::InvalidStatusLine => "invalid_status_line",
            HttpAnomaly::MissingVersion => "missing_version",
            HttpAnomaly::UnknownVersion => "unknown_version",
            HttpAnomaly::InvalidMethod => "invalid_method",
            HttpAnomaly::HeaderWithoutColon => "header_without_colon",
            HttpAnomaly::SpaceBeforeColon => "space_before_colon",
            HttpAnomaly::InvalidHeaderName => "invalid_header_name",
            HttpAnomaly::ObsFold => "obs_fold",
            HttpAnomaly::BareLf => "bare_lf",
            HttpAnomaly::InvalidContentLength => "invalid_content_length",
            HttpAnomaly::ConflictingContentLength => "conflicting_content_length",
            HttpAnomaly::ContentLengthWithChunked => "content_length_with_chunked",
            HttpAnomaly::UnknownTransferEncoding => "unknown_transfer_encoding",
            HttpAnomaly::InvalidChunkSize => "invalid_chunk_size",
            HttpAnomaly::HeaderBlockTooLong => "header_block_too_long",
            HttpAnomaly::NulInHeaders => "nul_in_headers",
            HttpAnomaly::SpaceInUri => "space_in_uri",
            HttpAnomaly::ResponseWithoutRequest => "response_without_request",
            HttpAnomaly::TooManyPendingRequests => "too_many_pending_requests",
            HttpAnomaly::GapInHeaders => "gap_in_headers",
            HttpAnomaly::GarbageBeforeMessage => "garbage_before_message",
            HttpAnomaly::AmbiguousHost => "ambiguous_host",
        }
    }
}

/// How the body after a header block is framed: what the stream will skip,
/// and what the kernel can be told (issue 8: header-only capture).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyHint {
    /// No body: the next message starts right after the headers.
    None,
    /// Exactly this many body bytes follow.
    Length(u64),
    /// Chunked: the parser reads chunk-size lines and skips chunk data.
    Chunked,
    /// Everything until the connection closes (response without length,
    /// or a tunnel after CONNECT / 101).
    UntilClose,
}

#[derive(Debug, Clone, Copy)]
enum Store {
    Raw,
    Extra,
}

#[derive(Debug, Clone)]
struct Header {
    name: Range<u32>,
    value: Range<u32>,
    store: Store,
}

/// A parsed header block: the start line and the header fields, with the
/// raw bytes kept for `*.raw` buffers.
#[derive(Debug, Clone)]
pub struct HeaderBlock {
    raw: Vec<u8>,
    start_line: Range<u32>,
    headers: Vec<Header>,
    /// Unfolded values of obs-folded headers.
    extra: Vec<u8>,
    /// `Name: value\r\n` per header, unfolded (Suricata's `http.header`).
    normalized: Vec<u8>,
}

fn r(range: &Range<u32>) -> Range<usize> {
    range.start as usize..range.end as usize
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim(b: &[u8], mut range: Range<usize>) -> Range<usize> {
    while range.start < range.end && matches!(b[range.start], b' ' | b'\t') {
        range.start += 1;
    }
    while range.end > range.start && matches!(b[range.end - 1], b' ' | b'\t' | b'\r') {
        range.end -= 1;
    }
    range
}

/// The lines of `raw` without their line endings (LF or CRLF); a last line
/// without a line feed counts.
fn lines(raw: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', raw).chain(
        // The unterminated rest, if any.
        (!raw.is_empty() && raw[raw.len() - 1] != b'\n').then_some(raw.len()),
    );
    ends.map(move |nl| {
        let end = if nl < raw.len() && nl > start && raw[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        let line = start..end;
        start = nl + 1;
        line
    })
}

impl HeaderBlock {
    /// Parses a complete header block (start line, fields, blank line).
    pub(crate) fn parse(raw: Vec<u8>, anomalies: &mut Vec<HttpAnomaly>) -> HeaderBlock {
        // A first pass counts the lines (to size `headers` once) and looks
        // for bare line feeds; the second walks the lines without a vector
        // of them.
        let mut newlines = 0;
        let mut bare_lf = false;
        for nl in memchr::memchr_iter(b'\n', &raw) {
            newlines += 1;
            bare_lf |= nl == 0 || raw[nl - 1] != b'\r';
        }
        if bare_lf {
            anomalies.push(HttpAnomaly::BareLf);
        }
        if memchr::memchr(0, &raw).is_some() {
            anomalies.push(HttpAnomaly::NulInHeaders);
        }
        let mut lines = lines(&raw);
        let start_line = lines.next().unwrap_or(0..0);
        let mut block = HeaderBlock {
            start_line: start_line.start as u32..start_line.end as u32,
            headers: Vec::with_capacity(newlines),
            extra: Vec::new(),
            normalized: Vec::new(),
            raw: Vec::new(),
        };
        for line in lines {
            if line.is_empty() {
                break;
            }
            if matches!(raw[line.start], b' ' | b'\t') {
                anomalies.push(HttpAnomaly::ObsFold);
                block.fold(&raw, trim(&raw, line));
                continue;
            }
            let Some(colon) = memchr::memchr(b':', &raw[line.clone()]) else {
                anomalies.push(HttpAnomaly::HeaderWithoutColon);
                continue;
            };
            let colon = line.start + colon;
            let mut name = line.start..colon;
            if name.end > name.start && matches!(raw[name.end - 1], b' ' | b'\t') {
                anomalies.push(HttpAnomaly::SpaceBeforeColon);
                name = trim(&raw, name);
            }
            if name.is_empty() || !raw[name.clone()].iter().all(|&b| is_tchar(b)) {
                anomalies.push(HttpAnomaly::InvalidHeaderName);
            }
            let value = trim(&raw, colon + 1..line.end);
            block.headers.push(Header {
                name: name.start as u32..name.end as u32,
                value: value.start as u32..value.end as u32,
                store: Store::Raw,
            });
        }
        block.raw = raw;
        let normalized_len = block
            .headers
            .iter()
            .map(|h| h.name.len() + h.value.len() + 4)
            .sum();
        block.normalized = Vec::with_capacity(normalized_len);
        for h in &block.headers {
            block.normalized.extend_from_slice(&block.raw[r(&h.name)]);
            block.normalized.extend_from_slice(b": ");
            let v = match h.store {
                Store::Raw => &block.raw[r(&h.value)],
                Store::Extra => &block.extra[r(&h.value)],
            };
            block.normalized.extend_from_slice(v);
            block.normalized.extend_from_slice(b"\r\n");
        }
        block
    }

    /// Appends a continuation line to the last header's value.
    fn fold(&mut self, raw: &[u8], cont: Range<usize>) {
        let Some(last) = self.headers.last_mut() else {
            return;
        };
        let start = self.extra.len();
        let prev = match last.store {
            Store::Raw => &raw[r(&last.value)],
            Store::Extra => &self.extra[r(&last.value)],
        };
        let prev = prev.to_vec();
        self.extra.extend_from_slice(&prev);
        if !prev.is_empty() && !cont.is_empty() {
            self.extra.push(b' ');
        }
        self.extra.extend_from_slice(&raw[cont]);
        last.value = start as u32..self.extra.len() as u32;
        last.store = Store::Extra;
    }

    /// The whole block as received, start line and final blank line included.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The start line without its line ending.
    pub fn start_line(&self) -> &[u8] {
        &self.raw[r(&self.start_line)]
    }

    /// The header lines as received (after the start line, blank line included).
    pub fn raw_headers(&self) -> &[u8] {
        let after = (self.start_line.end as usize).min(self.raw.len());
        let mut s = after;
        // Skip the start line's own CRLF.
        if self.raw.get(s) == Some(&b'\r') {
            s += 1;
        }
        if self.raw.get(s) == Some(&b'\n') {
            s += 1;
        }
        &self.raw[s..]
    }

    /// Headers as `Name: value\r\n` lines, folded values joined.
    pub fn normalized_headers(&self) -> &[u8] {
        &self.normalized
    }

    /// All fields in order as (name, value); names keep their case.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.headers
            .iter()
            .map(|h| (&self.raw[r(&h.name)], self.value_of(h)))
    }

    /// The `index`-th field as (name, value), or `None` past the end.
    pub fn field(&self, index: usize) -> Option<(&[u8], &[u8])> {
        let h = self.headers.get(index)?;
        Some((&self.raw[r(&h.name)], self.value_of(h)))
    }

    fn value_of(&self, h: &Header) -> &[u8] {
        match h.store {
            Store::Raw => &self.raw[r(&h.value)],
            Store::Extra => &self.extra[r(&h.value)],
        }
    }

    /// The first value of header `name` (case-insensitive).
    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|h| self.raw[r(&h.name)].eq_ignore_ascii_case(name))
            .map(|h| self.value_of(h))
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub fn get_all<'a>(&'a self, name: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |h| self.raw[r(&h.name)].eq_ignore_ascii_case(name))
            .map(|h| self.value_of(h))
    }

    /// Number of header fields.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// True when there are no header fields.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// Content-Length and chunked framing, with anomalies.
    pub(crate) fn framing(&self, anomalies: &mut Vec<HttpAnomaly>) -> (Option<u64>, bool) {
        let mut length: Option<u64> = None;
        for v in self.get_all(b"content-length") {
            // "Content-Length: 5, 5" is tolerated when all values agree.
            for part in v.split(|&b| b == b',') {
                let part = &part[trim(part, 0..part.len())];
                let parsed = if !part.is_empty()
                    && part.len() <= 18
                    && part.iter().all(u8::is_ascii_digit)
                {
                    part.iter()
                        .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'))
                } else {
                    anomalies.push(HttpAnomaly::InvalidContentLength);
                    continue;
                };
                match length {
                    Some(l) if l != parsed => anomalies.push(HttpAnomaly::ConflictingContentLength),
                    _ => length = Some(parsed),
                }
            }
        }
        let mut chunked = false;
        if let Some(te) = self.get_all(b"transfer-encoding").last() {
            let last = te.rsplit(|&b| b == b',').next().unwrap_or(te);
            let last = &last[trim(last, 0..last.len())];
            if last.eq_ignore_ascii_case(b"chunked") {
                chunked = true;
            } else {
                anomalies.push(HttpAnomaly::UnknownTransferEncoding);
            }
            if length.is_some() {
                anomalies.push(HttpAnomaly::ContentLengthWithChunked);
            }
        }
        (length, chunked)
    }
}

/// An HTTP request header block, parsed.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Transaction number within the flow, from 0.
    pub tx_id: u64,
    /// Time of the packet that completed the header block.
    pub ts_ns: u64,
    /// Header fields.
    pub headers: HeaderBlock,
    method: Range<u32>,
    uri: Range<u32>,
    protocol: Range<u32>,
    uri_normalized: Vec<u8>,
    /// The normalized host ([`HttpRequest::hostname`]).
    hostname: Option<Vec<u8>>,
    /// Declared Content-Length.
    pub content_length: Option<u64>,
    /// Chunked transfer coding.
    pub chunked: bool,
    /// How the body is framed.
    pub body: BodyHint,
    /// Anomalies found in this request.
    pub anomalies: Vec<HttpAnomaly>,
    /// Offset in the client stream just after this header block.
    pub(crate) stream_end: u64,
}

/// The parts of a start line: at most three ranges.
struct StartLineParts {
    parts: [Range<usize>; 3],
    len: usize,
}

impl StartLineParts {
    fn len(&self) -> usize {
        self.len
    }

    fn get(&self, i: usize) -> Option<&Range<usize>> {
        self.parts[..self.len].get(i)
    }

    fn push(&mut self, part: Range<usize>) {
        self.parts[self.len] = part;
        self.len += 1;
    }
}

impl std::ops::Index<usize> for StartLineParts {
    type Output = Range<usize>;
    fn index(&self, i: usize) -> &Range<usize> {
        &self.parts[..self.len][i]
    }
}

/// Splits a start line at runs of spaces/tabs into at most three parts
/// (on the stack: this runs once per message).
fn split_start_line(line: &[u8], offset: usize) -> StartLineParts {
    let mut parts = StartLineParts {
        parts: [0..0, 0..0, 0..0],
        len: 0,
    };
    let mut i = 0;
    while i < line.len() && parts.len() < 3 {
        while i < line.len() && matches!(line[i], b' ' | b'\t') {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let start = i;
        if parts.len() == 2 {
            // The rest (reason phrase, or junk after the version).
            let end = trim(line, start..line.len()).end;
            parts.push(offset + start..offset + end);
            break;
        }
        while i < line.len() && !matches!(line[i], b' ' | b'\t') {
            i += 1;
        }
        parts.push(offset + start..offset + i);
    }
    parts
}

fn to_u32(r: Range<usize>) -> Range<u32> {
    r.start as u32..r.end as u32
}

impl HttpRequest {
    /// Parses a complete request header block. `None` if the request line is
    /// unusable (the anomaly is recorded in `anomalies`).
    pub(crate) fn parse(
        raw: Vec<u8>,
        tx_id: u64,
        ts_ns: u64,
        anomalies: &mut Vec<HttpAnomaly>,
    ) -> Option<HttpRequest> {
        let headers = HeaderBlock::parse(raw, anomalies);
        let line = headers.start_line();
        let offset = headers.start_line.start as usize;
        let parts = split_start_line(line, offset);
        if parts.len() < 2 {
            anomalies.push(HttpAnomaly::InvalidRequestLine);
            return None;
        }
        let raw = headers.raw();
        if !raw[parts[0].clone()].iter().all(|&b| is_tchar(b)) {
            anomalies.push(HttpAnomaly::InvalidMethod);
        }
        let mut uri = parts[1].clone();
        let protocol = if let Some(p) = parts.get(2) {
            let mut p = p.clone();
            // "GET /a b HTTP/1.1": the version is the last token and the
            // target keeps its spaces, as servers parse it.
            if !raw[p.clone()].starts_with(b"HTTP/")
                && let Some(ws) = raw[p.clone()]
                    .iter()
                    .rposition(|&b| b == b' ' || b == b'\t')
            {
                let tail = p.start + ws + 1;
                if raw[tail..p.end].starts_with(b"HTTP/") {
                    anomalies.push(HttpAnomaly::SpaceInUri);
                    uri = uri.start..trim(raw, p.start..p.start + ws).end;
                    p = tail..p.end;
                }
            }
            let v = &raw[p.clone()];
            if v != b"HTTP/1.1" && v != b"HTTP/1.0" {
                anomalies.push(HttpAnomaly::UnknownVersion);
            }
            p
        } else {
            anomalies.push(HttpAnomaly::MissingVersion);
            parts[1].end..parts[1].end
        };
        let mut uri_normalized = Vec::with_capacity(uri.len());
        super::uri::normalize_uri(&raw[uri.clone()], &mut uri_normalized);
        if headers.get_all(b"host").count() > 1 {
            anomalies.push(HttpAnomaly::AmbiguousHost);
        }
        // As libhtp: the authority of an absolute-form target wins over the
        // Host header.
        let hostname = super::uri::uri_authority(&raw[uri.clone()])
            .or_else(|| headers.get(b"host"))
            .map(|h| {
                let mut out = Vec::with_capacity(h.len());
                super::uri::normalize_host(h, &mut out);
                out
            })
            .filter(|h| !h.is_empty());
        let (content_length, chunked) = headers.framing(anomalies);
        let body = if chunked {
            BodyHint::Chunked
        } else {
            match content_length {
                Some(0) | None => BodyHint::None,
                Some(n) => BodyHint::Length(n),
            }
        };
        Some(HttpRequest {
            tx_id,
            ts_ns,
            method: to_u32(parts[0].clone()),
            uri: to_u32(uri),
            protocol: to_u32(protocol),
            headers,
            uri_normalized,
            hostname,
            content_length,
            chunked,
            body,
            anomalies: anomalies.clone(),
            stream_end: 0,
        })
    }

    /// The method, e.g. `GET`.
    pub fn method(&self) -> &[u8] {
        &self.headers.raw[r(&self.method)]
    }
    /// The request target as sent (`http.uri.raw`).
    pub fn uri_raw(&self) -> &[u8] {
        &self.headers.raw[r(&self.uri)]
    }
    /// The normalized request target (`http.uri`).
    pub fn uri(&self) -> &[u8] {
        &self.uri_normalized
    }
    /// The version token, e.g. `HTTP/1.1` (empty when missing).
    pub fn protocol(&self) -> &[u8] {
        &self.headers.raw[r(&self.protocol)]
    }
    /// The request line without its line ending.
    pub fn request_line(&self) -> &[u8] {
        self.headers.start_line()
    }
    /// The Host header as sent (`http.host.raw`).
    pub fn host(&self) -> Option<&[u8]> {
        self.headers.get(b"host")
    }
    /// The normalized host (`http.host`, EVE `http.hostname`): the
    /// authority of an absolute-form target, else the Host header,
    /// lowercased, without port or trailing dots (`[::1]:8080` → `[::1]`;
    /// see [`normalize_host`](super::normalize_host)). `None` without a
    /// host, or when it normalizes to nothing.
    pub fn hostname(&self) -> Option<&[u8]> {
        self.hostname.as_deref()
    }
    /// The User-Agent header.
    pub fn user_agent(&self) -> Option<&[u8]> {
        self.headers.get(b"user-agent")
    }
    /// The Cookie header.
    pub fn cookie(&self) -> Option<&[u8]> {
        self.headers.get(b"cookie")
    }
    /// The Referer header.
    pub fn referer(&self) -> Option<&[u8]> {
        self.headers.get(b"referer")
    }
    /// The Content-Type header.
    pub fn content_type(&self) -> Option<&[u8]> {
        self.headers.get(b"content-type")
    }
}

/// An HTTP response header block, parsed.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The transaction of the request it answers (or a fresh number when
    /// there was none).
    pub tx_id: u64,
    /// Time of the packet that completed the header block.
    pub ts_ns: u64,
    /// Header fields.
    pub headers: HeaderBlock,
    protocol: Range<u32>,
    status: Range<u32>,
    reason: Range<u32>,
    /// Numeric status code (0 when not parseable).
    pub status_code: u16,
    /// Declared Content-Length.
    pub content_length: Option<u64>,
    /// Chunked transfer coding.
    pub chunked: bool,
    /// How the body is framed.
    pub body: BodyHint,
    /// Anomalies found in this response.
    pub anomalies: Vec<HttpAnomaly>,
}

impl HttpResponse {
    /// Parses a complete response header block; `request_method` decides
    /// whether a body follows (HEAD, CONNECT).
    pub(crate) fn parse(
        raw: Vec<u8>,
        tx_id: u64,
        ts_ns: u64,
        request_method: Option<&[u8]>,
        anomalies: &mut Vec<HttpAnomaly>,
    ) -> Option<HttpResponse> {
        let headers = HeaderBlock::parse(raw, anomalies);
        let line = headers.start_line();
        let offset = headers.start_line.start as usize;
        let parts = split_start_line(line, offset);
        let raw = headers.raw();
        if parts.len() < 2 || !raw[parts[0].clone()].starts_with(b"HTTP/") {
            anomalies.push(HttpAnomaly::InvalidStatusLine);
            return None;
        }
        let code = &raw[parts[1].clone()];
        let status_code = if code.len() == 3 && code.iter().all(u8::is_ascii_digit) {
            code.iter().fold(0u16, |a, d| a * 10 + u16::from(d - b'0'))
        } else {
            anomalies.push(HttpAnomaly::InvalidStatusLine);
            0
        };
        let v = &raw[parts[0].clone()];
        if v != b"HTTP/1.1" && v != b"HTTP/1.0" {
            anomalies.push(HttpAnomaly::UnknownVersion);
        }
        let reason = parts.get(2).cloned().unwrap_or(parts[1].end..parts[1].end);
        let (content_length, chunked) = headers.framing(anomalies);
        let is_head = request_method.is_some_and(|m| m.eq_ignore_ascii_case(b"HEAD"));
        let is_connect = request_method.is_some_and(|m| m.eq_ignore_ascii_case(b"CONNECT"));
        let body = if (is_connect && (200..300).contains(&status_code)) || status_code == 101 {
            BodyHint::UntilClose
        } else if is_head
            || (100..200).contains(&status_code)
            || status_code == 204
            || status_code == 304
        {
            BodyHint::None
        } else if chunked {
            BodyHint::Chunked
        } else {
            match content_length {
                Some(0) => BodyHint::None,
                Some(n) => BodyHint::Length(n),
                None => BodyHint::UntilClose,
            }
        };
        Some(HttpResponse {
            tx_id,
            ts_ns,
            protocol: to_u32(parts[0].clone()),
            status: to_u32(parts[1].clone()),
            reason: to_u32(reason),
            headers,
            status_code,
            content_length,
            chunked,
            body,
            anomalies: anomalies.clone(),
        })
    }

    /// The version token, e.g. `HTTP/1.1`.
    pub fn protocol(&self) -> &[u8] {
        &self.headers.raw[r(&self.protocol)]
    }
    /// The status code as sent (`http.stat_code`).
    pub fn status(&self) -> &[u8] {
        &self.headers.raw[r(&self.status)]
    }
    /// The reason phrase (`http.stat_msg`).
    pub fn reason(&self) -> &[u8] {
        &self.headers.raw[r(&self.reason)]
    }
    /// The status line without its line ending.
    pub fn response_line(&self) -> &[u8] {
        self.headers.start_line()
    }
    /// The Content-Type header.
    pub fn content_type(&self) -> Option<&[u8]> {
        self.headers.get(b"content-type")
    }
    /// True for 1xx responses other than 101: they do not end the transaction.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status_code) && self.status_code != 101
    }
}
