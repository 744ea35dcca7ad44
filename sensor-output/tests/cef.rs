//! CEF header and extension escaping, data-driven.

use sensor_output::cef::{self, cef_severity, escape_header, escape_value};

mod support;

#[test]
fn header_escaping() {
    let cases = [
        ("plain", "plain"),
        ("a|b", r"a\|b"),
        (r"back\slash", r"back\\slash"),
        ("a=b", "a=b"),
        ("line\nbreak", "line break"),
    ];
    for (input, want) in cases {
        assert_eq!(escape_header(input), want, "{input:?}");
    }
}

#[test]
fn extension_escaping() {
    let cases = [
        ("plain", "plain"),
        ("a=b", r"a\=b"),
        (r"back\slash", r"back\\slash"),
        ("a|b", "a|b"),
        ("l1\nl2\rl3", r"l1\nl2\rl3"),
    ];
    for (input, want) in cases {
        assert_eq!(escape_value(input), want, "{input:?}");
    }
}

#[test]
fn severity_maps_onto_cef_scale() {
    for (sev, want) in [(1, 10), (2, 7), (3, 4), (4, 1)] {
        assert_eq!(cef_severity(sev), want);
    }
}

#[test]
fn alert_line_has_header_and_extensions() {
    let mut a = support::sample::http();
    a.signature = r"ET WEB a|b\c".into();
    let line = cef::format_alert(&a);
    let want_head = format!(
        r"CEF:0|Vigil|vigil|{}|2000001|ET WEB a\|b\\c|7|",
        env!("CARGO_PKG_VERSION")
    );
    assert!(line.starts_with(&want_head), "{line}");
    let ext = &line[want_head.len()..];
    for field in [
        "rt=1772600767123",
        "src=192.0.2.10",
        "spt=40000",
        "dst=198.51.100.20",
        "dpt=80",
        "proto=TCP",
        "act=blocked",
        "cat=Potentially Bad Traffic",
        r"request=/login?user\=a",
        "cs1=1:LQU9qZlK+B5F3KDmev6m5PMibrg\\=",
    ] {
        assert!(ext.contains(field), "{field} missing from {ext}");
    }
}
