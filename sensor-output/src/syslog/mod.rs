//! Alerts to syslog: RFC 5424 (with structured data) or RFC 3164 headers,
//! EVE JSON or CEF bodies, over UDP, TCP or a unix socket.

mod transport;

use std::collections::BTreeMap;

use syslog::{Facility, Formatter3164, Formatter5424, LogFormat, Severity};

pub use transport::{Backoff, Transport};

use crate::alert::Alert;
use crate::cef;
use crate::eve::EveFormatter;
use crate::sink::{Record, Sink, SinkError, SinkErrorKind};
use transport::{Connection, SendError};

/// The RFC 5424 SD-ID of Vigil's structured data element. 32473 is the
/// private enterprise number IANA reserves for documentation (RFC 5612).
pub const SD_ID: &str = "vigil@32473";

/// Which syslog header to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyslogFormat {
    /// `<PRI>1 TIMESTAMP HOST APP PID MSGID [SD] MSG`; MSGID is the sid.
    Rfc5424,
    /// BSD syslog: `<PRI>Mmm dd hh:mm:ss HOST APP[PID]: MSG`.
    Rfc3164,
}

/// What the message body carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// The alert's EVE JSON object.
    Eve,
    /// The alert as a CEF line (see [`crate::cef`]).
    Cef,
}

/// Maps Suricata severity onto a syslog severity.
pub fn syslog_severity(severity: u8) -> Severity {
    match severity {
        0 | 1 => Severity::LOG_CRIT,
        2 => Severity::LOG_ERR,
        3 => Severity::LOG_WARNING,
        _ => Severity::LOG_NOTICE,
    }
}

/// The `[vigil@32473 ...]` element: sid, gid, rev, action, severity,
/// addresses, ports and protocol.
pub fn structured_data(a: &Alert) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    params.insert("sid".to_string(), a.sid.to_string());
    params.insert("gid".to_string(), a.gid.to_string());
    params.insert("rev".to_string(), a.rev.to_string());
    params.insert("action".to_string(), a.action.to_string());
    params.insert("severity".to_string(), a.severity.to_string());
    params.insert("src".to_string(), a.src_ip.to_string());
    params.insert("dst".to_string(), a.dst_ip.to_string());
    if let Some(p) = a.src_port {
        params.insert("spt".to_string(), p.to_string());
    }
    if let Some(p) = a.dst_port {
        params.insert("dpt".to_string(), p.to_string());
    }
    params.insert("proto".to_string(), a.proto.to_string());
    let mut sd = BTreeMap::new();
    sd.insert(SD_ID.to_string(), params);
    sd
}

/// Builds a [`SyslogSink`].
#[derive(Clone, Debug)]
pub struct SyslogSinkBuilder {
    transport: Transport,
    format: SyslogFormat,
    body: Body,
    facility: Facility,
    hostname: Option<String>,
    app_name: String,
    backoff: Backoff,
    eve: EveFormatter,
}

impl SyslogSinkBuilder {
    /// RFC 5424 (default) or RFC 3164.
    pub fn format(mut self, format: SyslogFormat) -> Self {
        self.format = format;
        self
    }

    /// EVE JSON (default) or CEF body.
    pub fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// Facility (default `local5`).
    pub fn facility(mut self, facility: Facility) -> Self {
        self.facility = facility;
        self
    }

    /// HOSTNAME field (default: the machine's host name).
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.hostname = Some(hostname.into());
        self
    }

    /// APP-NAME field (default `vigil`).
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = name.into();
        self
    }

    /// Reconnect delays for TCP and unix transports.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Formatter (and header mask) for EVE bodies.
    pub fn eve_formatter(mut self, eve: EveFormatter) -> Self {
        self.eve = eve;
        self
    }

    /// The sink. Nothing is connected until the first alert.
    pub fn build(self) -> SyslogSink {
        let hostname = self.hostname.or_else(host_name);
        let pid = std::process::id();
        let name = format!(
            "syslog:{}",
            match &self.transport {
                Transport::Udp(a) => format!("udp://{a}"),
                Transport::Tcp(a) => format!("tcp://{a}"),
                Transport::Unix(p) => format!("unix:{}", p.display()),
            }
        );
        SyslogSink {
            name,
            conn: Connection::new(self.transport, self.backoff),
            header: match self.format {
                SyslogFormat::Rfc5424 => Header::Rfc5424(Formatter5424 {
                    facility: self.facility,
                    hostname,
                    process: self.app_name,
                    pid,
                }),
                SyslogFormat::Rfc3164 => Header::Rfc3164(Formatter3164 {
                    facility: self.facility,
                    hostname,
                    process: self.app_name,
                    pid,
                }),
            },
            body: self.body,
            eve: self.eve,
            buf: Vec::with_capacity(2048),
        }
    }
}

fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
}

enum Header {
    Rfc5424(Formatter5424),
    Rfc3164(Formatter3164),
}

/// Sends alerts to a syslog server. HTTP header-log records are not sent.
///
/// ```no_run
/// use sensor_output::syslog::{Body, SyslogFormat, SyslogSink, Transport};
/// let sink = SyslogSink::builder(Transport::Tcp("127.0.0.1:6514".parse().unwrap()))
///     .format(SyslogFormat::Rfc5424)
///     .body(Body::Cef)
///     .build();
/// ```
pub struct SyslogSink {
    name: String,
    conn: Connection,
    header: Header,
    body: Body,
    eve: EveFormatter,
    buf: Vec<u8>,
}

impl SyslogSink {
    /// A builder for RFC 5424 with an EVE body over `transport`.
    pub fn builder(transport: Transport) -> SyslogSinkBuilder {
        SyslogSinkBuilder {
            transport,
            format: SyslogFormat::Rfc5424,
            body: Body::Eve,
            facility: Facility::LOG_LOCAL5,
            hostname: None,
            app_name: "vigil".to_string(),
            backoff: Backoff::default(),
            eve: EveFormatter::default(),
        }
    }

    /// Formats `alert` as the bytes that go on the wire (before framing).
    pub fn format_alert(&self, alert: &Alert) -> Result<Vec<u8>, SinkError> {
        let mut buf = Vec::with_capacity(1024);
        self.format_into(alert, &mut buf)?;
        Ok(buf)
    }

    fn format_into(&self, alert: &Alert, buf: &mut Vec<u8>) -> Result<(), SinkError> {
        let body = match self.body {
            Body::Eve => self.eve.alert(alert),
            Body::Cef => cef::format_alert(alert),
        };
        let severity = syslog_severity(alert.severity);
        let result = match &self.header {
            Header::Rfc5424(f) => {
                f.format(buf, severity, (alert.sid, structured_data(alert), body))
            }
            Header::Rfc3164(f) => f.format(buf, severity, body),
        };
        result.map_err(|e| SinkError::new(SinkErrorKind::Encode, format!("syslog format: {e}")))
    }
}

impl Sink for SyslogSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn accepts(&self, record: &Record) -> bool {
        matches!(record, Record::Alert(_))
    }

    fn send(&mut self, record: &Record) -> Result<(), SinkError> {
        let Record::Alert(alert) = record else {
            return Ok(());
        };
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let result = self.format_into(alert, &mut buf).and_then(|()| {
            self.conn.send(&buf).map_err(|e| match e {
                SendError::Waiting => SinkError::new(
                    SinkErrorKind::Unavailable,
                    format!("{}: reconnect pending", self.name),
                ),
                SendError::Io(e) => SinkError::io(format!("{}: send", self.name), e),
            })
        });
        self.buf = buf;
        result
    }
}
