//! The error type of enforcement.

use std::fmt;

/// What went wrong while configuring or updating the kernel's block maps.
#[derive(Debug)]
pub struct EnforceError {
    kind: EnforceErrorKind,
    message: String,
}

/// The broad class of an [`EnforceError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnforceErrorKind {
    /// The rule set does not fit the maps' load-time sizes.
    Capacity,
    /// A value is out of range (prefix length, empty pattern, zero limit).
    Invalid,
    /// The patterns could not be compiled into an automaton.
    Pattern,
    /// A kernel map could not be found, read or written.
    Map,
    /// The enforcer was already taken from this capture.
    AlreadyTaken,
}

impl EnforceError {
    pub(crate) fn new(kind: EnforceErrorKind, message: impl Into<String>) -> Self {
        EnforceError {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn map(what: &str, e: impl fmt::Display) -> Self {
        EnforceError::new(EnforceErrorKind::Map, format!("{what}: {e}"))
    }

    /// The class of this error.
    pub fn kind(&self) -> EnforceErrorKind {
        self.kind
    }
}

impl fmt::Display for EnforceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EnforceError {}
