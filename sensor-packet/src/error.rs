//! Error values for capture files and packet decoding.

use std::fmt;

/// What went wrong while reading a capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureErrorKind {
    /// An I/O error other than end of file.
    Io,
    /// The file does not start with a pcap or pcapng magic number.
    UnknownFormat,
    /// The file ended inside a header, a record or a block. Every complete
    /// packet before it was delivered.
    Truncated,
    /// A header or block is internally inconsistent (bad lengths, unknown
    /// interface, absurd sizes).
    Malformed,
}

/// An error reading a capture file, with its kind and a short reason.
#[derive(Debug)]
pub struct CaptureError {
    kind: CaptureErrorKind,
    detail: String,
    source: Option<std::io::Error>,
}

impl CaptureError {
    pub(crate) fn new(kind: CaptureErrorKind, detail: impl Into<String>) -> Self {
        CaptureError {
            kind,
            detail: detail.into(),
            source: None,
        }
    }

    pub(crate) fn io(err: std::io::Error) -> Self {
        CaptureError {
            kind: CaptureErrorKind::Io,
            detail: err.to_string(),
            source: Some(err),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> CaptureErrorKind {
        self.kind
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            CaptureErrorKind::Io => "I/O error",
            CaptureErrorKind::UnknownFormat => "not a pcap or pcapng file",
            CaptureErrorKind::Truncated => "capture file truncated",
            CaptureErrorKind::Malformed => "malformed capture file",
        };
        write!(f, "{kind}: {}", self.detail)
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

/// Why a frame could not be decoded into a [`Packet`](crate::Packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The link type is not one the decoder knows.
    UnsupportedLinkType(u32),
    /// The frame carries something other than IPv4/IPv6 (ARP, LLDP, ...).
    NotIp(u16),
    /// A header was cut short (by the snap length or a lying length field).
    Truncated(&'static str),
    /// A header field is invalid (bad version, header length, ...).
    Malformed(&'static str),
    /// More IPv6 extension headers or VLAN tags than the decoder follows.
    TooManyHeaders,
    /// A kernel record whose status says no IP header was parsed.
    NoL3,
}

/// A decoding failure. Cheap to create (no allocation): the per-packet path
/// turns malformed frames into counters, not strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    kind: DecodeErrorKind,
}

impl DecodeError {
    pub(crate) const fn new(kind: DecodeErrorKind) -> Self {
        DecodeError { kind }
    }

    pub(crate) const fn truncated(layer: &'static str) -> Self {
        DecodeError {
            kind: DecodeErrorKind::Truncated(layer),
        }
    }

    pub(crate) const fn malformed(what: &'static str) -> Self {
        DecodeError {
            kind: DecodeErrorKind::Malformed(what),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            DecodeErrorKind::UnsupportedLinkType(l) => write!(f, "unsupported link type {l}"),
            DecodeErrorKind::NotIp(t) => write!(f, "not IP (ethertype 0x{t:04x})"),
            DecodeErrorKind::Truncated(l) => write!(f, "truncated {l} header"),
            DecodeErrorKind::Malformed(w) => write!(f, "malformed packet: {w}"),
            DecodeErrorKind::TooManyHeaders => write!(f, "too many nested headers"),
            DecodeErrorKind::NoL3 => write!(f, "record without an IP header"),
        }
    }
}

impl std::error::Error for DecodeError {}
