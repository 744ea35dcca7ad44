//! The [`Sink`] trait every output implements, and the records sinks receive.

use std::fmt;
use std::io;

use crate::alert::Alert;
use crate::http_log::HttpLog;

/// What flows through the fan-out to the sinks.
// Records are moved once into an `Arc` and shared by every sink's queue, so
// the size difference between variants costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A rule matched.
    Alert(Alert),
    /// An HTTP transaction for the header log.
    Http(HttpLog),
}

/// An output. Each sink runs on its own thread behind a bounded queue (see
/// [`crate::FanOut`]), so an implementation may block (a TCP write, a disk
/// stall) without holding up capture, the engine or the other sinks.
pub trait Sink: Send {
    /// A short name for counters and logs, e.g. `eve:/var/log/vigil/eve.json`.
    fn name(&self) -> &str;

    /// Whether this sink wants `record` at all; records it does not want are
    /// skipped on the sink's thread and not counted. Default: every record.
    fn accepts(&self, record: &Record) -> bool {
        let _ = record;
        true
    }

    /// Delivers one record, or fails (the fan-out counts the failure and moves
    /// on: records are not retried).
    fn send(&mut self, record: &Record) -> Result<(), SinkError>;

    /// Pushes out anything buffered; called whenever the queue runs empty.
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Reopens files after log rotation (the daemon calls this on SIGHUP).
    fn reopen(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Why a sink failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkErrorKind {
    /// Reading or writing the file, socket or database failed.
    Io,
    /// The destination is down and the sink is waiting before reconnecting.
    Unavailable,
    /// The record could not be encoded for this destination.
    Encode,
    /// The sink has been closed.
    Closed,
}

/// A sink failure: a kind and a message naming what failed.
#[derive(Debug)]
pub struct SinkError {
    kind: SinkErrorKind,
    message: String,
    source: Option<io::Error>,
}

impl SinkError {
    /// A failure of `kind` described by `message`.
    pub fn new(kind: SinkErrorKind, message: impl Into<String>) -> SinkError {
        SinkError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An I/O failure while doing `what`.
    pub fn io(what: impl Into<String>, err: io::Error) -> SinkError {
        SinkError {
            kind: SinkErrorKind::Io,
            message: what.into(),
            source: Some(err),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> SinkErrorKind {
        self.kind
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(e) => write!(f, "{}: {e}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for SinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}
