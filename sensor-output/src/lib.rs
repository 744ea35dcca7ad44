//! Alerts and the sinks they fan out to: EVE JSON, syslog (RFC 5424/3164), CEF.
//!
//! The detection engine fills an [`Alert`]; the daemon hands it to a
//! [`FanOut`], which queues it for every configured [`Sink`] without ever
//! blocking: an [`EveFileSink`] (reopened on SIGHUP), a
//! [`syslog::SyslogSink`], the audit store (in `sensor-audit`), ...

mod alert;
pub mod cef;
mod eve;
mod eve_file;
mod fanout;
mod http_log;
mod mask;
mod sink;
pub mod syslog;

pub use alert::{Action, Alert, DnsInfo, FlowCounters, Header, HttpInfo, Proto, TlsInfo};
pub use eve::{EveFormatter, format_timestamp};
pub use eve_file::{EveFileSink, EveStdoutSink};
pub use fanout::{DEFAULT_QUEUE_CAPACITY, FanOut, FanOutBuilder, HealthChange, SinkStats};
pub use http_log::HttpLog;
pub use mask::{DEFAULT_MASKED_HEADERS, HeaderMask, HeaderMaskBuilder, MASKED_VALUE};
pub use sink::{Record, Sink, SinkError, SinkErrorKind};
