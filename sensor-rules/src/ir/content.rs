//! Byte-buffer matching: Suricata's content chains and pcre, which native
//! string operators (`contains`, `startswith`, `matches`, ...) compile to as
//! well, so that the engine has one model to extract fast patterns from.

use super::expr::NumCmp;

/// The inspected byte buffers ("sticky buffers" in Suricata's terms).
///
/// Fields of the native language that are bytes map to the same variants.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Buffer {
    /// The packet payload / reassembled stream (`pkt_data`, no sticky buffer).
    Payload,
    /// `http.method`
    HttpMethod,
    /// `http.uri` (normalized)
    HttpUri,
    /// `http.uri.raw`
    HttpUriRaw,
    /// `http.host` (normalized, lowercase)
    HttpHost,
    /// `http.host.raw`
    HttpHostRaw,
    /// `http.user_agent`
    HttpUserAgent,
    /// `http.header`: all request or response headers, normalized.
    HttpHeader,
    /// `http.header.raw`
    HttpHeaderRaw,
    /// `http.header_names`
    HttpHeaderNames,
    /// The value of one named header (native `http.header["name"]`); the name
    /// is kept lowercase.
    HttpHeaderNamed(String),
    /// Each header name on its own (native `http.header.name`, repeated).
    HttpHeaderName,
    /// Each header value on its own (native `http.header.value`, repeated).
    HttpHeaderValue,
    /// `http.cookie`
    HttpCookie,
    /// `http.request_line`
    HttpRequestLine,
    /// `http.protocol`
    HttpProtocol,
    /// `http.stat_code`
    HttpStatCode,
    /// `http.stat_msg`
    HttpStatMsg,
    /// `http.response_line`
    HttpResponseLine,
    /// `http.content_type`
    HttpContentType,
    /// `http.content_len`
    HttpContentLen,
    /// `http.connection`
    HttpConnection,
    /// `http.accept`
    HttpAccept,
    /// `http.accept_lang`
    HttpAcceptLang,
    /// `http.accept_enc`
    HttpAcceptEnc,
    /// `http.referer`
    HttpReferer,
    /// `tls.sni`
    TlsSni,
    /// Each ALPN protocol of a ClientHello (native `tls.alpn`, repeated).
    TlsAlpn,
    /// `dns.query`
    DnsQuery,
}

impl Buffer {
    /// The Suricata-style name (`http.uri`), also used in diagnostics.
    pub fn name(&self) -> String {
        let s = match self {
            Buffer::Payload => "payload",
            Buffer::HttpMethod => "http.method",
            Buffer::HttpUri => "http.uri",
            Buffer::HttpUriRaw => "http.uri.raw",
            Buffer::HttpHost => "http.host",
            Buffer::HttpHostRaw => "http.host.raw",
            Buffer::HttpUserAgent => "http.user_agent",
            Buffer::HttpHeader => "http.header",
            Buffer::HttpHeaderRaw => "http.header.raw",
            Buffer::HttpHeaderNames => "http.header_names",
            Buffer::HttpHeaderNamed(n) => return format!("http.header[\"{n}\"]"),
            Buffer::HttpHeaderName => "http.header.name",
            Buffer::HttpHeaderValue => "http.header.value",
            Buffer::HttpCookie => "http.cookie",
            Buffer::HttpRequestLine => "http.request_line",
            Buffer::HttpProtocol => "http.protocol",
            Buffer::HttpStatCode => "http.stat_code",
            Buffer::HttpStatMsg => "http.stat_msg",
            Buffer::HttpResponseLine => "http.response_line",
            Buffer::HttpContentType => "http.content_type",
            Buffer::HttpContentLen => "http.content_len",
            Buffer::HttpConnection => "http.connection",
            Buffer::HttpAccept => "http.accept",
            Buffer::HttpAcceptLang => "http.accept_lang",
            Buffer::HttpAcceptEnc => "http.accept_enc",
            Buffer::HttpReferer => "http.referer",
            Buffer::TlsSni => "tls.sni",
            Buffer::TlsAlpn => "tls.alpn",
            Buffer::DnsQuery => "dns.query",
        };
        s.to_string()
    }

    /// Whether the buffer belongs to an HTTP transaction.
    pub fn is_http(&self) -> bool {
        !matches!(
            self,
            Buffer::Payload | Buffer::TlsSni | Buffer::TlsAlpn | Buffer::DnsQuery
        )
    }

    /// Whether the buffer occurs several times per transaction (the engine
    /// evaluates a [`BufferMatch`] on each instance, see [`Quantifier`]).
    pub fn is_repeated(&self) -> bool {
        matches!(
            self,
            Buffer::HttpHeaderName | Buffer::HttpHeaderValue | Buffer::TlsAlpn
        )
    }
}

/// How a match over a repeated buffer combines its instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Quantifier {
    /// True if some instance matches (Suricata's behaviour for multi-buffers).
    #[default]
    Any,
    /// True if every instance matches (and there is at least one).
    All,
}

/// Suricata's `fast_pattern` option on a content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FastPattern {
    /// `fast_pattern;`: use this content in the prefilter.
    Whole,
    /// `fast_pattern:only;` (legacy): prefilter only, no recheck needed.
    Only,
    /// `fast_pattern:offset,length;`: use this slice of the content.
    Chop {
        /// Start of the slice within the pattern.
        offset: u16,
        /// Length of the slice.
        length: u16,
    },
}

/// One `content` with all its modifiers.
///
/// Positions follow Suricata: `offset`/`depth` are absolute within the
/// buffer, `distance`/`within` relative to the end of the previous content
/// match in the same buffer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Content {
    /// The bytes to find, `|hex|` escapes already decoded.
    pub pattern: Vec<u8>,
    /// `content:!"..."`: the buffer must not contain the pattern (at the
    /// constrained position).
    pub negated: bool,
    /// ASCII case-insensitive comparison.
    pub nocase: bool,
    /// Earliest start, absolute.
    pub offset: Option<u32>,
    /// How many bytes from `offset` (or from 0) the match may span.
    pub depth: Option<u32>,
    /// Start relative to the end of the previous match (may be negative).
    pub distance: Option<i32>,
    /// The match must end within this many bytes of the previous match.
    pub within: Option<u32>,
    /// The match must start at the beginning of the buffer.
    pub startswith: bool,
    /// The match must end at the end of the buffer.
    pub endswith: bool,
    /// Explicit fast pattern choice, if any.
    pub fast_pattern: Option<FastPattern>,
}

impl Content {
    /// A plain content with no modifier.
    pub fn new(pattern: impl Into<Vec<u8>>) -> Self {
        Content {
            pattern: pattern.into(),
            ..Content::default()
        }
    }

    /// The bytes the prefilter should look for: the `fast_pattern:o,l`
    /// slice when given (clamped to the pattern), else the whole pattern.
    ///
    /// ```
    /// use sensor_rules::ir::{Content, FastPattern};
    /// let mut c = Content::new("abcdef");
    /// assert_eq!(c.fast_pattern_bytes(), b"abcdef");
    /// c.fast_pattern = Some(FastPattern::Chop { offset: 1, length: 3 });
    /// assert_eq!(c.fast_pattern_bytes(), b"bcd");
    /// ```
    pub fn fast_pattern_bytes(&self) -> &[u8] {
        match self.fast_pattern {
            Some(FastPattern::Chop { offset, length }) => {
                let start = usize::from(offset).min(self.pattern.len());
                let end = (start + usize::from(length)).min(self.pattern.len());
                &self.pattern[start..end]
            }
            _ => &self.pattern,
        }
    }

    /// Whether this content is anchored on the previous match.
    pub fn is_relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }
}

/// PCRE modifier flags that change matching (the buffer flags are resolved
/// to a [`Buffer`] at load time and do not appear here).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct PcreFlags {
    /// `i`: case-insensitive.
    pub caseless: bool,
    /// `s`: `.` matches newline.
    pub dotall: bool,
    /// `m`: `^`/`$` match at line boundaries.
    pub multiline: bool,
    /// `x`: extended syntax (whitespace and `#` comments ignored).
    pub extended: bool,
    /// `A`: anchored at the start of the buffer (or of the relative start).
    pub anchored: bool,
    /// `E`: `$` matches only at the very end.
    pub dollar_endonly: bool,
    /// `G`: ungreedy quantifiers by default.
    pub ungreedy: bool,
}

/// A regular expression match, from `pcre:` or native `matches /re/flags`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pcre {
    /// The pattern between the slashes, as written.
    pub pattern: String,
    /// Flags that change matching.
    pub flags: PcreFlags,
    /// `R`: search from the end of the previous match in the buffer.
    pub relative: bool,
    /// `pcre:!"..."`: the buffer must not match.
    pub negated: bool,
}

/// `isdataat:[!]N[,relative]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IsDataAt {
    /// Position that must (or must not) hold data.
    pub position: u32,
    /// Relative to the end of the previous match.
    pub relative: bool,
    /// `!`: there must be no data at that position.
    pub negated: bool,
}

/// One step of a buffer's match chain, in rule order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BufferItem {
    /// A content.
    Content(Content),
    /// A regular expression.
    Pcre(Pcre),
    /// A data-presence check.
    IsDataAt(IsDataAt),
    /// `bsize`: the buffer length must satisfy the comparison.
    Bsize(NumCmp),
}

/// The ordered chain of matches a rule runs on one buffer.
///
/// Order matters: relative items (`distance`, `within`, pcre `R`,
/// `isdataat relative`) refer to the item before them in this list.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BufferMatch {
    /// The inspected buffer.
    pub buffer: Buffer,
    /// For repeated buffers, how instances combine.
    pub quantifier: Quantifier,
    /// The chain.
    pub items: Vec<BufferItem>,
}

impl BufferMatch {
    /// The contents of the chain, in order.
    pub fn contents(&self) -> impl Iterator<Item = &Content> {
        self.items.iter().filter_map(|i| match i {
            BufferItem::Content(c) => Some(c),
            _ => None,
        })
    }

    /// The regexes of the chain, in order.
    pub fn pcres(&self) -> impl Iterator<Item = &Pcre> {
        self.items.iter().filter_map(|i| match i {
            BufferItem::Pcre(p) => Some(p),
            _ => None,
        })
    }
}
