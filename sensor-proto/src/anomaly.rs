//! Anomalies: malformed or suspicious input, reported as values.

use crate::app::dns::DnsAnomaly;
use crate::app::http::HttpAnomaly;
use crate::app::tls::TlsAnomaly;

/// Stream-level anomalies of TCP reassembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamAnomaly {
    /// Bytes were missing in a direction and could not be skipped.
    Gap {
        /// Bytes lost.
        bytes: u64,
    },
    /// The out-of-order buffer overflowed and a gap was forced.
    ReassemblyOverflow,
}

/// An anomaly from any layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Anomaly {
    /// TCP reassembly.
    Stream(StreamAnomaly),
    /// HTTP.
    Http(HttpAnomaly),
    /// TLS.
    Tls(TlsAnomaly),
    /// DNS.
    Dns(DnsAnomaly),
}

impl Anomaly {
    /// A stable lowercase name (`http.obs_fold`, `stream.gap`, ...).
    pub fn name(&self) -> String {
        match self {
            Anomaly::Stream(StreamAnomaly::Gap { .. }) => "stream.gap".to_string(),
            Anomaly::Stream(StreamAnomaly::ReassemblyOverflow) => {
                "stream.reassembly_overflow".to_string()
            }
            Anomaly::Http(a) => format!("http.{}", a.name()),
            Anomaly::Tls(a) => format!("tls.{}", a.name()),
            Anomaly::Dns(a) => format!("dns.{}", a.name()),
        }
    }
}
