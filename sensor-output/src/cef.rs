//! ArcSight Common Event Format:
//! `CEF:0|Vigil|vigil|VERSION|sid|msg|severity|ext`.
//!
//! Escaping follows the CEF spec: in header fields `\` and `|` are
//! backslash-escaped; in extension values `\` and `=` are escaped and line
//! breaks become `\n` / `\r`. Header fields cannot carry line breaks, so they
//! are replaced by spaces there.

use std::fmt::Write as _;

use crate::alert::Alert;

/// The product version printed in the CEF header.
pub const PRODUCT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Escapes a CEF header field.
pub fn escape_header(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a CEF extension value.
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// Maps Suricata severity (1 high .. 4 informational) onto CEF's 0..=10.
pub fn cef_severity(severity: u8) -> u8 {
    match severity {
        0 | 1 => 10,
        2 => 7,
        3 => 4,
        _ => 1,
    }
}

/// The alert as one CEF line.
///
/// ```
/// use sensor_output::{cef, Alert, Proto};
/// let mut a = Alert::new(time::macros::datetime!(2026-01-02 03:04:05 UTC),
///     "10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap(), Proto::Tcp, 7, "a|b=c");
/// a.severity = 1;
/// let line = cef::format_alert(&a);
/// assert!(line.starts_with(r"CEF:0|Vigil|vigil|"));
/// assert!(line.contains(r"|7|a\|b=c|10|"));
/// ```
pub fn format_alert(a: &Alert) -> String {
    let mut out = String::with_capacity(256);
    let _ = write!(
        out,
        "CEF:0|Vigil|vigil|{}|{}|{}|{}|",
        escape_header(PRODUCT_VERSION),
        a.sid,
        escape_header(&a.signature),
        cef_severity(a.severity)
    );
    let mut ext = Ext(&mut out, true);
    let millis = a.timestamp.unix_timestamp_nanos() / 1_000_000;
    ext.put("rt", &millis.to_string());
    ext.put("src", &a.src_ip.to_string());
    if let Some(p) = a.src_port {
        ext.put("spt", &p.to_string());
    }
    ext.put("dst", &a.dst_ip.to_string());
    if let Some(p) = a.dst_port {
        ext.put("dpt", &p.to_string());
    }
    ext.put("proto", &a.proto.to_string());
    ext.put("act", a.action.as_str());
    if !a.category.is_empty() {
        ext.put("cat", &a.category);
    }
    if let Some(app) = &a.app_proto {
        ext.put("app", app);
    }
    if let Some(iface) = &a.in_iface {
        ext.put("deviceInboundInterface", iface);
    }
    ext.put("cn1Label", "flowId");
    ext.put("cn1", &a.flow_id.to_string());
    ext.put("cn2Label", "rev");
    ext.put("cn2", &a.rev.to_string());
    ext.put("cn3Label", "gid");
    ext.put("cn3", &a.gid.to_string());
    if let Some(cid) = &a.community_id {
        ext.put("cs1Label", "communityId");
        ext.put("cs1", cid);
    }
    if let Some(h) = &a.http {
        if let Some(v) = &h.hostname {
            ext.put("dhost", v);
        }
        if let Some(v) = &h.url {
            ext.put("request", v);
        }
        if let Some(v) = &h.method {
            ext.put("requestMethod", v);
        }
        if let Some(v) = &h.user_agent {
            ext.put("requestClientApplication", v);
        }
    }
    if let Some(t) = &a.tls
        && let Some(sni) = &t.sni
    {
        ext.put("dhost", sni);
    }
    if let Some(d) = &a.dns {
        ext.put("cs2Label", "dnsQuery");
        ext.put("cs2", &d.query_name);
    }
    out
}

struct Ext<'a>(&'a mut String, bool);

impl Ext<'_> {
    fn put(&mut self, key: &str, value: &str) {
        if !self.1 {
            self.0.push(' ');
        }
        self.1 = false;
        self.0.push_str(key);
        self.0.push('=');
        self.0.push_str(&escape_value(value));
    }
}
