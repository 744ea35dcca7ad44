//! Which bytes a buffer match inspects: the IR's [`Buffer`] resolved to
//! the input seam's single buffers and repeated instances.

use sensor_rules::ir::{Buffer, Quantifier};

use crate::input::{BufferId, Input, view};

/// An inspected buffer, as the engine addresses it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// A single-instance buffer.
    Single(BufferId),
    /// Each header name.
    HeaderName,
    /// Each header value.
    HeaderValue,
    /// The value of each header with this (lowercase) name.
    HeaderNamed(Box<[u8]>),
    /// Each ALPN protocol.
    Alpn,
}

impl Target {
    /// Resolves an IR buffer.
    pub fn of(buffer: &Buffer) -> Target {
        use BufferId as B;
        Target::Single(match buffer {
            Buffer::Payload => B::Payload,
            Buffer::HttpMethod => B::HttpMethod,
            Buffer::HttpUri => B::HttpUri,
            Buffer::HttpUriRaw => B::HttpUriRaw,
            Buffer::HttpHost => B::HttpHost,
            Buffer::HttpHostRaw => B::HttpHostRaw,
            Buffer::HttpUserAgent => B::HttpUserAgent,
            Buffer::HttpHeader => B::HttpHeader,
            Buffer::HttpHeaderRaw => B::HttpHeaderRaw,
            Buffer::HttpHeaderNames => B::HttpHeaderNames,
            Buffer::HttpCookie => B::HttpCookie,
            Buffer::HttpRequestLine => B::HttpRequestLine,
            Buffer::HttpProtocol => B::HttpProtocol,
            Buffer::HttpStatCode => B::HttpStatCode,
            Buffer::HttpStatMsg => B::HttpStatMsg,
            Buffer::HttpResponseLine => B::HttpResponseLine,
            Buffer::HttpContentType => B::HttpContentType,
            Buffer::HttpContentLen => B::HttpContentLen,
            Buffer::HttpConnection => B::HttpConnection,
            Buffer::HttpAccept => B::HttpAccept,
            Buffer::HttpAcceptLang => B::HttpAcceptLang,
            Buffer::HttpAcceptEnc => B::HttpAcceptEnc,
            Buffer::HttpReferer => B::HttpReferer,
            Buffer::TlsSni => B::TlsSni,
            Buffer::DnsQuery => B::DnsQuery,
            Buffer::HttpHeaderName => return Target::HeaderName,
            Buffer::HttpHeaderValue => return Target::HeaderValue,
            Buffer::HttpHeaderNamed(n) => {
                return Target::HeaderNamed(n.to_ascii_lowercase().into_bytes().into());
            }
            Buffer::TlsAlpn => return Target::Alpn,
        })
    }

    /// Whether the input has this buffer at all (`exists`).
    pub fn exists<I: Input + ?Sized>(&self, input: &I) -> bool {
        self.any(input, |_| true)
    }

    /// Evaluates `f` on the instances of the buffer, combined by `q`:
    /// `Any` is true if some instance passes, `All` if there is at least
    /// one instance and all pass. An absent buffer is false either way.
    pub fn eval<I: Input + ?Sized>(
        &self,
        input: &I,
        q: Quantifier,
        mut f: impl FnMut(&[u8]) -> bool,
    ) -> bool {
        match q {
            Quantifier::Any => self.any(input, f),
            Quantifier::All => {
                let mut seen = false;
                let all = !self.any(input, |b| {
                    seen = true;
                    !f(b)
                });
                seen && all
            }
        }
    }

    /// True if `f` holds for some instance (stops at the first).
    fn any<I: Input + ?Sized>(&self, input: &I, mut f: impl FnMut(&[u8]) -> bool) -> bool {
        match self {
            Target::Single(id) => view(input, *id).is_some_and(f),
            Target::HeaderName => (0..input.header_count()).any(|i| f(input.header(i).0)),
            Target::HeaderValue => (0..input.header_count()).any(|i| f(input.header(i).1)),
            Target::HeaderNamed(name) => (0..input.header_count()).any(|i| {
                let (n, v) = input.header(i);
                n.eq_ignore_ascii_case(name) && f(v)
            }),
            Target::Alpn => (0..input.alpn_count()).any(|i| f(input.alpn(i))),
        }
    }
}
