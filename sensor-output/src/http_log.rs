//! The EVE `http` record: one per HTTP transaction when the header log is on.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::alert::HttpInfo;

/// One HTTP transaction for the header log (EVE `event_type: "http"`).
///
/// Header values named by the [`crate::HeaderMask`] in force are masked when
/// the record is serialized, never stored masked here: the mask is output
/// policy, not capture policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLog {
    /// When the request was seen (UTC).
    pub timestamp: OffsetDateTime,
    /// Numeric flow id.
    pub flow_id: u64,
    /// Capture interface.
    pub in_iface: Option<String>,
    /// Client address.
    pub src_ip: IpAddr,
    /// Client port.
    pub src_port: u16,
    /// Server address.
    pub dst_ip: IpAddr,
    /// Server port.
    pub dst_port: u16,
    /// Community ID flow hash.
    pub community_id: Option<String>,
    /// Index of the transaction in its flow (0-based).
    pub tx_id: u64,
    /// Method, URL, status, headers, ...
    pub http: HttpInfo,
    /// Microseconds from the end of the request's headers to the end of
    /// the response's (`None` when no response came).
    pub latency_us: Option<u64>,
}
