//! The error type of live capture.

use std::fmt;

/// What went wrong while loading, attaching or reading the kernel programs.
#[derive(Debug)]
pub struct CaptureError {
    kind: CaptureErrorKind,
    message: String,
}

/// The broad class of a [`CaptureError`], for callers that react differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaptureErrorKind {
    /// `vigil` was built without its eBPF object (bpf-linker was missing).
    ObjectMissing,
    /// The kernel refused the object or a program (verifier, BTF, rights).
    Load,
    /// The interface does not exist or the program could not be attached.
    Attach,
    /// A map could not be found, opened or read.
    Map,
    /// Reading the ring buffer failed.
    Read,
    /// The configuration is out of range.
    Config,
}

impl CaptureError {
    pub(crate) fn new(kind: CaptureErrorKind, message: impl Into<String>) -> Self {
        CaptureError {
            kind,
            message: message.into(),
        }
    }

    /// The class of this error.
    pub fn kind(&self) -> CaptureErrorKind {
        self.kind
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CaptureError {}
