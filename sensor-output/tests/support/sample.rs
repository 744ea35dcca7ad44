//! Sample alerts covering every optional part.

use std::collections::BTreeMap;

use sensor_output::{
    Action, Alert, DnsInfo, FlowCounters, Header, HttpInfo, HttpLog, Proto, TlsInfo,
};
use time::macros::datetime;

/// A bare alert with a given sid.
pub fn bare(sid: u32) -> Alert {
    let mut a = Alert::new(
        datetime!(2026-03-04 05:06:07.123456 UTC),
        "192.0.2.10".parse().unwrap(),
        "198.51.100.20".parse().unwrap(),
        Proto::Tcp,
        sid,
        format!("TEST rule {sid}"),
    );
    a.src_port = Some(40000);
    a.dst_port = Some(80);
    a.flow_id = 1_234_567_890_123;
    a.category = "Potentially Bad Traffic".to_string();
    a.severity = 2;
    a
}

/// An HTTP alert with headers (some sensitive) and flow counters.
pub fn http() -> Alert {
    let mut a = bare(2_000_001);
    a.in_iface = Some("eth0".into());
    a.app_proto = Some("http".into());
    a.community_id = Some("1:LQU9qZlK+B5F3KDmev6m5PMibrg=".into());
    a.action = Action::Blocked;
    a.metadata = BTreeMap::from([
        ("signature_severity".to_string(), vec!["Major".to_string()]),
        ("created_at".to_string(), vec!["2024_01_01".to_string()]),
    ]);
    a.http = Some(HttpInfo {
        hostname: Some("www.example.org".into()),
        url: Some("/login?user=a\"b\\c".into()),
        user_agent: Some("curl/8.0".into()),
        method: Some("POST".into()),
        protocol: Some("HTTP/1.1".into()),
        status: Some(302),
        length: Some(0),
        content_type: Some("text/html".into()),
        referer: Some("http://www.example.org/".into()),
        request_headers: vec![
            Header::new("Host", "www.example.org"),
            Header::new("Authorization", "Bearer s3cr3t"),
            Header::new("Cookie", "sid=abc"),
        ],
        response_headers: vec![Header::new("Set-Cookie", "sid=def; HttpOnly")],
    });
    a.flow = Some(FlowCounters {
        pkts_toserver: 5,
        pkts_toclient: 4,
        bytes_toserver: 700,
        bytes_toclient: 1200,
        start: datetime!(2026-03-04 05:06:06.000001 UTC),
    });
    a
}

/// A TLS alert over IPv6.
pub fn tls() -> Alert {
    let mut a = bare(2_000_002);
    a.src_ip = "2001:db8::1".parse().unwrap();
    a.dst_ip = "2001:db8::2".parse().unwrap();
    a.dst_port = Some(443);
    a.app_proto = Some("tls".into());
    a.tls = Some(TlsInfo {
        sni: Some("teams.microsoft.com".into()),
        version: Some("TLS 1.2".into()),
        ja3_hash: Some("e7d705a3286e19ea42f587b344ee6865".into()),
        ja3_string: Some("771,4865-4866,0-23,29-23,0".into()),
        ja4: Some("t13d1516h2_8daaf6152771_b186095e22b6".into()),
    });
    a
}

/// A DNS alert over UDP.
pub fn dns() -> Alert {
    let mut a = bare(2_000_003);
    a.proto = Proto::Udp;
    a.dst_port = Some(53);
    a.app_proto = Some("dns".into());
    a.dns = Some(DnsInfo {
        id: Some(4242),
        query_name: "evil.example".into(),
        query_type: "TXT".into(),
    });
    a
}

/// An ICMP alert: no ports.
pub fn icmp() -> Alert {
    let mut a = bare(2_000_004);
    a.proto = Proto::Icmp;
    a.src_port = None;
    a.dst_port = None;
    a.severity = 4;
    a
}

/// Every sample.
pub fn all() -> Vec<Alert> {
    vec![bare(1), http(), tls(), dns(), icmp()]
}

/// A header-log record.
pub fn http_log() -> HttpLog {
    let alert = http();
    HttpLog {
        timestamp: alert.timestamp,
        flow_id: alert.flow_id,
        in_iface: alert.in_iface.clone(),
        src_ip: alert.src_ip,
        src_port: 40000,
        dst_ip: alert.dst_ip,
        dst_port: 80,
        community_id: alert.community_id.clone(),
        tx_id: 3,
        http: alert.http.unwrap(),
        latency_us: Some(1250),
    }
}
