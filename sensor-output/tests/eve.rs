//! EVE JSON: every record validates against Suricata's schema and has
//! Suricata's field names and shapes.

mod support;

use sensor_output::{EveFormatter, HeaderMask, format_timestamp};
use serde_json::Value;
use support::{sample, schema::assert_valid_eve};

#[test]
fn every_sample_alert_validates() {
    for alert in sample::all() {
        assert_valid_eve(&alert.to_eve_json());
    }
}

#[test]
fn http_log_record_validates() {
    let line = EveFormatter::default().http(&sample::http_log());
    assert_valid_eve(&line);
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["event_type"], "http");
    assert_eq!(v["tx_id"], 3);
    assert_eq!(v["http"]["http_method"], "POST");
    assert_eq!(v["http"]["status"], 302);
}

#[test]
fn alert_fields_have_suricata_names() {
    let v: Value = serde_json::from_str(&sample::http().to_eve_json()).unwrap();
    assert_eq!(v["event_type"], "alert");
    assert_eq!(v["timestamp"], "2026-03-04T05:06:07.123456+0000");
    assert_eq!(v["flow_id"], 1_234_567_890_123u64);
    assert_eq!(v["in_iface"], "eth0");
    assert_eq!(v["src_ip"], "192.0.2.10");
    assert_eq!(v["src_port"], 40000);
    assert_eq!(v["dest_ip"], "198.51.100.20");
    assert_eq!(v["dest_port"], 80);
    assert_eq!(v["proto"], "TCP");
    assert_eq!(v["app_proto"], "http");
    assert_eq!(v["community_id"], "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    let a = &v["alert"];
    assert_eq!(a["action"], "blocked");
    assert_eq!(a["gid"], 1);
    assert_eq!(a["signature_id"], 2_000_001);
    assert_eq!(a["rev"], 1);
    assert_eq!(a["signature"], "TEST rule 2000001");
    assert_eq!(a["category"], "Potentially Bad Traffic");
    assert_eq!(a["severity"], 2);
    assert_eq!(a["metadata"]["signature_severity"][0], "Major");
    let h = &v["http"];
    assert_eq!(h["hostname"], "www.example.org");
    assert_eq!(h["url"], "/login?user=a\"b\\c");
    assert_eq!(h["http_user_agent"], "curl/8.0");
    assert_eq!(h["http_content_type"], "text/html");
    assert_eq!(h["http_refer"], "http://www.example.org/");
    assert_eq!(h["protocol"], "HTTP/1.1");
    assert_eq!(h["length"], 0);
    assert_eq!(v["flow"]["pkts_toserver"], 5);
    assert_eq!(v["flow"]["start"], "2026-03-04T05:06:06.000001+0000");
}

#[test]
fn tls_dns_and_icmp_shapes() {
    let v: Value = serde_json::from_str(&sample::tls().to_eve_json()).unwrap();
    assert_eq!(v["src_ip"], "2001:db8::1");
    assert_eq!(v["tls"]["sni"], "teams.microsoft.com");
    assert_eq!(v["tls"]["ja3"]["hash"], "e7d705a3286e19ea42f587b344ee6865");
    assert_eq!(v["tls"]["ja4"], "t13d1516h2_8daaf6152771_b186095e22b6");
    let v: Value = serde_json::from_str(&sample::dns().to_eve_json()).unwrap();
    assert_eq!(v["proto"], "UDP");
    assert_eq!(v["dns"]["queries"][0]["rrname"], "evil.example");
    assert_eq!(v["dns"]["queries"][0]["rrtype"], "TXT");
    let v: Value = serde_json::from_str(&sample::icmp().to_eve_json()).unwrap();
    assert_eq!(v["proto"], "ICMP");
    assert!(v.get("src_port").is_none() && v.get("dest_port").is_none());
}

fn header<'a>(v: &'a Value, list: &str, name: &str) -> &'a str {
    v["http"][list]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing"))["value"]
        .as_str()
        .unwrap()
}

#[test]
fn header_log_records_carry_the_latency() {
    let v: Value =
        serde_json::from_str(&EveFormatter::default().http(&sample::http_log())).unwrap();
    assert_eq!(v["metadata"]["flowints"]["http_latency_us"], 1250);
    let mut unanswered = sample::http_log();
    unanswered.latency_us = None;
    let v: Value = serde_json::from_str(&EveFormatter::default().http(&unanswered)).unwrap();
    assert!(v.get("metadata").is_none(), "{v}");
}

#[test]
fn sensitive_headers_are_masked_by_default() {
    let line = EveFormatter::default().http(&sample::http_log());
    assert!(!line.contains("s3cr3t") && !line.contains("sid=abc") && !line.contains("sid=def"));
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(header(&v, "request_headers", "Authorization"), "***");
    assert_eq!(header(&v, "request_headers", "Cookie"), "***");
    assert_eq!(header(&v, "response_headers", "Set-Cookie"), "***");
    assert_eq!(header(&v, "request_headers", "Host"), "www.example.org");
    // Alerts that carry headers mask them too.
    assert!(!sample::http().to_eve_json().contains("s3cr3t"));
}

#[test]
fn mask_list_is_configurable_and_keyed_hash_correlates() {
    let mask = HeaderMask::builder()
        .unmask("cookie")
        .mask("Host")
        .keyed_hash(*b"k1")
        .build();
    let fmt = EveFormatter::new(mask);
    let line = fmt.http(&sample::http_log());
    assert_valid_eve(&line);
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(header(&v, "request_headers", "Cookie"), "sid=abc");
    let host = header(&v, "request_headers", "Host");
    assert!(
        host.starts_with("hmac-sha256:") && host.len() == "hmac-sha256:".len() + 32,
        "{host}"
    );
    // Same value, same key: same tag; other key: other tag.
    let again: Value = serde_json::from_str(&fmt.http(&sample::http_log())).unwrap();
    assert_eq!(header(&again, "request_headers", "Host"), host);
    let other = EveFormatter::new(
        HeaderMask::builder()
            .mask("host")
            .keyed_hash(*b"k2")
            .build(),
    );
    let other: Value = serde_json::from_str(&other.http(&sample::http_log())).unwrap();
    assert_ne!(header(&other, "request_headers", "Host"), host);
}

#[test]
fn timestamps_are_utc_with_microseconds() {
    use time::macros::datetime;
    let cases = [
        (
            datetime!(2026-01-02 03:04:05 UTC),
            "2026-01-02T03:04:05.000000+0000",
        ),
        (
            datetime!(2026-01-02 03:04:05.9999999 UTC),
            "2026-01-02T03:04:05.999999+0000",
        ),
        (
            datetime!(2026-01-02 05:04:05.5 +02:00),
            "2026-01-02T03:04:05.500000+0000",
        ),
    ];
    for (t, want) in cases {
        assert_eq!(format_timestamp(t), want);
    }
}

#[test]
fn validator_rejects_what_suricata_would_not_print() {
    let mut v: Value = serde_json::from_str(&sample::bare(1).to_eve_json()).unwrap();
    v["alert"]["not_a_field"] = Value::from(1);
    let bad = v.to_string();
    let result = std::panic::catch_unwind(|| assert_valid_eve(&bad));
    assert!(result.is_err(), "schema validation is not effective");
}
