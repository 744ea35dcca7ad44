//! A first-packet pattern of a drop rule, and how its bytes may be spelled
//! in a packet.

/// A literal byte pattern of a drop rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The bytes to find anywhere in the captured payload.
    pub bytes: Vec<u8>,
    /// Match ASCII letters in either case.
    pub case_insensitive: bool,
    /// The rule matches the pattern in the percent-decoded URI (`http.uri`),
    /// so the packet may carry any of its bytes as `%XX` (either case of hex
    /// digit) and a `/` as `\`, `%2F` or `%5C`, as user space's URI
    /// normalization decodes them, with the empty segments it folds (`//`,
    /// `/./`) skipped after each `/`. Without this, `GET /%65tc/passwd`
    /// would pass the kernel and be caught only after it reached the server.
    pub percent_decoded: bool,
    /// The rule the pattern belongs to.
    pub sid: u32,
}

impl Pattern {
    /// A case-sensitive pattern.
    pub fn new(bytes: impl Into<Vec<u8>>, sid: u32) -> Pattern {
        Pattern {
            bytes: bytes.into(),
            case_insensitive: false,
            percent_decoded: false,
            sid,
        }
    }

    /// An ASCII-case-insensitive pattern.
    pub fn nocase(bytes: impl Into<Vec<u8>>, sid: u32) -> Pattern {
        Pattern {
            case_insensitive: true,
            ..Pattern::new(bytes, sid)
        }
    }

    /// The same pattern, matched in the percent-decoded URI (see
    /// [`Pattern::percent_decoded`]).
    ///
    /// ```
    /// use vigil::enforce::{CompiledDfa, Pattern};
    ///
    /// let dfa = CompiledDfa::compile(&[Pattern::new("/etc/passwd", 9).in_decoded_uri()]).unwrap();
    /// assert_eq!(dfa.find(b"GET /%65tc%2Fpasswd HTTP/1.1"), Some((0, 9)));
    /// assert_eq!(dfa.find(b"GET \\etc\\passwd HTTP/1.1"), Some((0, 9)));
    /// assert_eq!(dfa.find(b"GET /etc/.//passwd HTTP/1.1"), Some((0, 9)));
    /// ```
    pub fn in_decoded_uri(self) -> Pattern {
        Pattern {
            percent_decoded: true,
            ..self
        }
    }

    /// Longest stretch of packet bytes one occurrence can span: three per
    /// byte when each may come percent-encoded.
    pub fn max_span(&self) -> usize {
        if self.percent_decoded {
            3 * self.bytes.len()
        } else {
            self.bytes.len()
        }
    }

    /// The ways one byte of the pattern may appear in the packet: each a
    /// sequence of byte sets (`[{a, A}]` for a case-insensitive `a`;
    /// `[{/, \\}]`, `[{%}, {2}, {f, F}]` and `[{%}, {5}, {c, C}]` for a `/`
    /// of the decoded URI).
    pub(crate) fn spellings(&self, byte: u8) -> Vec<Vec<Vec<u8>>> {
        let mut decoded = vec![byte];
        if self.case_insensitive && byte.is_ascii_alphabetic() {
            decoded.push(byte ^ 0x20);
        }
        if !self.percent_decoded {
            return vec![vec![decoded]];
        }
        // User space turns a backslash in the path into a slash, after
        // decoding: `\\` and `%5C` both stand for `/`.
        if byte == b'/' {
            decoded.push(b'\\');
        }
        let mut out = vec![vec![decoded.clone()]];
        for &d in &decoded {
            out.push(vec![vec![b'%'], hex_digit(d >> 4), hex_digit(d & 0xf)]);
        }
        out
    }
}

/// The spellings of a hex digit: `a` and `A` for 10.
fn hex_digit(nibble: u8) -> Vec<u8> {
    match nibble {
        0..=9 => vec![b'0' + nibble],
        _ => vec![b'a' + nibble - 10, b'A' + nibble - 10],
    }
}
