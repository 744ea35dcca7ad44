//! Parser tests for every construct of the native language.

mod common;

use common::{chains, conjuncts, field_tests, load, native};
use sensor_rules::ir::*;
use sensor_rules::{DiagnosticKind, Level};

fn ip(s: &str) -> std::net::IpAddr {
    s.parse().unwrap()
}

#[test]
fn rule_header_and_metadata() {
    let r = native(
        r#"rule 1000001 rev 2 "Log4Shell \"JNDI\"" {
            severity high  classtype attempted-admin  tags [cve-2021-44228, T1190]
            references ["cve,2021-44228", "url,example.com/x"]
            action drop
            noalert
            when http.uri contains "x"
        }"#,
    );
    assert_eq!((r.gid, r.sid, r.rev), (1, 1000001, 2));
    assert_eq!(r.msg, r#"Log4Shell "JNDI""#);
    assert_eq!(r.priority, 1);
    assert_eq!(r.classtype.as_deref(), Some("attempted-admin"));
    assert_eq!(r.tags, vec!["cve-2021-44228", "T1190"]);
    assert_eq!(
        r.references[1],
        Reference {
            system: "url".into(),
            id: "example.com/x".into()
        }
    );
    assert_eq!(r.action, Action::Drop);
    assert!(r.noalert);
    assert_eq!(r.origin.language, Language::Native);
    // Defaults.
    let r = native(r#"rule 7 "m" { when payload contains "x" }"#);
    assert_eq!(
        (r.rev, r.action, r.priority),
        (1, Action::Alert, DEFAULT_PRIORITY)
    );
    for (sev, p) in [
        ("critical", 1),
        ("medium", 2),
        ("low", 3),
        ("info", 4),
        ("9", 9),
    ] {
        let r = native(&format!(
            r#"rule 7 "m" {{ severity {sev} when payload contains "x" }}"#
        ));
        assert_eq!(r.priority, p, "{sev}");
    }
}

#[test]
fn string_operators_become_contents() {
    let r = native(
        r#"rule 1 "m" { when http.uri contains "a\x41\n" nocase and http.host startswith "www."
            and http.user_agent endswith "bot" and http.method equals "GET" and http.cookie == "c=1" }"#,
    );
    let c = chains(&r);
    let first = c[0].contents().next().unwrap();
    assert_eq!(c[0].buffer, Buffer::HttpUri);
    assert_eq!(first.pattern, b"aA\n");
    assert!(first.nocase && !first.startswith);
    assert!(c[1].contents().next().unwrap().startswith);
    assert!(c[2].contents().next().unwrap().endswith);
    let eq = c[3].contents().next().unwrap();
    assert!(eq.startswith && eq.endswith && !eq.nocase);
    assert_eq!(c[4].buffer, Buffer::HttpCookie);
    assert_eq!(r.header.protocol, Protocol::Http);
}

#[test]
fn matches_compiles_to_pcre() {
    let r = native(r#"rule 1 "m" { when http.user_agent matches /(sqlmap|nikto)\/\d/ix }"#);
    let p = chains(&r)[0].pcres().next().unwrap().clone();
    assert_eq!(p.pattern, r"(sqlmap|nikto)/\d");
    assert!(p.flags.caseless && p.flags.extended && !p.flags.dotall);
}

#[test]
fn header_fields_and_membership() {
    let r = native(
        r#"vars { WEB = [80, 8080, 8000:8099]  NETS = [10.0.0.0/8, 192.168.0.0/16] }
        rule 1 "m" { when ip.src in $NETS and not ip.dst in $HOME_NET and tcp.dst_port in $WEB
            and tcp.src_port in [1024:65535] and ip.ttl < 5 and ip.proto == udp and tcp.window >= 8
            and ip.dst == 1.2.3.4 and ip.src != 10.9.0.0/16 and payload.size > 100 }"#,
    );
    // The first address and port tests of the top-level `and` move into
    // the header, where the engine groups rules.
    let h = &r.header;
    assert!(h.src.contains(ip("10.1.1.1")) && h.src.contains(ip("192.168.3.3")));
    assert!(!h.src.contains(ip("172.16.0.1")));
    assert_eq!(h.dst_ports.ranges(), &[80..=80, 8000..=8099]);
    assert_eq!(h.src_ports.ranges(), &[1024..=65535]);
    assert_eq!(h.protocol, Protocol::Tcp);
    // `not ip.dst in $HOME_NET` becomes the complement of HOME_NET.
    assert!(h.dst.contains(ip("1.2.3.4")) && !h.dst.contains(ip("10.0.0.1")));
    let parts = conjuncts(&r);
    let f = field_tests(&r);
    assert_eq!(
        f[0],
        &FieldTest {
            field: Field::Ttl,
            test: Test::Num(NumCmp::Lt(5))
        }
    );
    assert_eq!(
        f[1],
        &FieldTest {
            field: Field::IpProto,
            test: Test::Num(NumCmp::Eq(17))
        }
    );
    assert_eq!(
        f[2],
        &FieldTest {
            field: Field::TcpWindow,
            test: Test::Num(NumCmp::Ge(8))
        }
    );
    // The header's destination is taken: `ip.dst == 1.2.3.4` stays.
    assert!(
        matches!(&f[3].test, Test::InAddresses(a) if a.contains(ip("1.2.3.4")) && !a.contains(ip("1.2.3.5")))
    );
    assert!(matches!(parts[4], Expr::Not(_)), "ip.src != ... stays");
    assert_eq!(f[5].field, Field::PayloadSize);
}

#[test]
fn tcp_flags() {
    let r = native(r#"rule 1 "m" { when tcp.flags has [syn, fin] }"#);
    assert_eq!(
        field_tests(&r)[0].test,
        Test::Flags {
            mode: FlagMode::All,
            flags: tcp_flags::SYN | tcp_flags::FIN,
            ignore: 0
        }
    );
    assert_eq!(r.header.protocol, Protocol::Tcp);
    let r = native(r#"rule 1 "m" { when tcp.flags == [] }"#);
    assert_eq!(
        field_tests(&r)[0].test,
        Test::Flags {
            mode: FlagMode::Exact,
            flags: 0,
            ignore: 0
        }
    );
    let r = native(r#"rule 1 "m" { when tcp.flags != [syn] or tcp.flags has rst }"#);
    assert!(matches!(&r.condition, Expr::Or(v) if matches!(v[0], Expr::Not(_))));
}

#[test]
fn boolean_structure_and_precedence() {
    // `and` binds tighter than `or`; `not` applies to the predicate.
    let r = native(
        r#"rule 1 "m" { when http.uri contains "a" or http.uri contains "b" and not (http.host contains "c" or http.host contains "d") }"#,
    );
    let Expr::Or(v) = &r.condition else {
        panic!("{:?}", r.condition)
    };
    assert_eq!(v.len(), 2);
    let Expr::And(and) = &v[1] else { panic!() };
    assert!(matches!(&and[1], Expr::Not(inner) if matches!(**inner, Expr::Or(_))));
    // Double negation cancels.
    let r = native(r#"rule 1 "m" { when not not http.uri contains "a" }"#);
    assert!(matches!(r.condition, Expr::Predicate(_)));
    // An `or` of protocols leaves the rule on any IP.
    let r = native(r#"rule 1 "m" { when dns.query contains "a" or tls.sni contains "a" }"#);
    assert_eq!(r.header.protocol, Protocol::Ip);
}

#[test]
fn quantifiers_and_indexed_headers() {
    let r = native(
        r#"rule 1 "m" { when any(http.header.value) contains "${jndi:" nocase and all(http.header.name) matches /^[a-z-]+$/i
            and http.header["Authorization"] startswith "Basic " }"#,
    );
    let c = chains(&r);
    assert_eq!(
        (c[0].buffer.clone(), c[0].quantifier),
        (Buffer::HttpHeaderValue, Quantifier::Any)
    );
    assert_eq!(
        (c[1].buffer.clone(), c[1].quantifier),
        (Buffer::HttpHeaderName, Quantifier::All)
    );
    assert_eq!(c[2].buffer, Buffer::HttpHeaderNamed("authorization".into()));
    let r = native(r#"rule 1 "m" { when tls.alpn contains "h2" }"#);
    assert_eq!(chains(&r)[0].quantifier, Quantifier::Any);
    assert_eq!(r.header.protocol, Protocol::Tls);
}

#[test]
fn exists_in_strings_and_flow() {
    let r = native(
        r#"rule 1 "m" { when flow.to_server and flow.established and http.method in ["TRACE", "TRACK"] and not tls.sni exists and http.status >= 500 }"#,
    );
    assert_eq!(
        r.flow,
        Flow {
            direction: Some(FlowDirection::ToServer),
            state: Some(FlowState::Established)
        }
    );
    let parts = conjuncts(&r);
    assert!(matches!(parts[0], Expr::Or(v) if v.len() == 2));
    assert!(matches!(parts[1], Expr::Not(inner) if matches!(&**inner,
        Expr::Predicate(Predicate::Field(FieldTest { field: Field::Buffer(Buffer::TlsSni), test: Test::Exists })))));
    assert_eq!(parts.len(), 3);
}

#[test]
fn thresholds() {
    let r = native(
        r#"rule 1 "scan" { when tcp.flags == [syn]
            threshold distinct tcp.dst_port > 20 within 10s by ip.src }"#,
    );
    assert_eq!(
        r.rate,
        Some(Rate {
            kind: RateKind::Both,
            measure: Measure::Distinct(Field::DstPort),
            track: Track::BySrc,
            count: 21,
            seconds: 10
        })
    );
    let r = native(
        r#"rule 1 "flood" { when tcp.flags == [syn] threshold count >= 100 within 2m by ip.dst }"#,
    );
    assert_eq!(
        r.rate,
        Some(Rate {
            kind: RateKind::Both,
            measure: Measure::Count,
            track: Track::ByDst,
            count: 100,
            seconds: 120
        })
    );
    for (by, track) in [
        ("flow", Track::ByFlow),
        ("rule", Track::ByRule),
        ("ip.pair", Track::ByBoth),
    ] {
        let r = native(&format!(
            r#"rule 1 "t" {{ threshold count > 1 within 1h by {by} }}"#
        ));
        assert_eq!(
            r.rate.as_ref().map(|r| (r.track, r.seconds)),
            Some((track, 3600))
        );
        assert_eq!(r.condition, Expr::True);
    }
}

#[test]
fn comments_and_several_rules() {
    let (rules, diags) = load(
        "t.vigil",
        "# comment\nrule 1 \"a\" { when http.uri contains \"#not a comment\" } // trailing\n\nrule 2 \"b\" {\n  when dns.query endswith \".onion\"\n}\n",
    );
    assert!(diags.iter().all(|d| d.level == Level::Note), "{diags:#?}");
    assert_eq!(
        rules
            .iter()
            .map(|r| (r.sid, r.origin.line))
            .collect::<Vec<_>>(),
        vec![(1, 2), (2, 4)]
    );
    assert_eq!(
        chains(&rules[0])[0].contents().next().unwrap().pattern,
        b"#not a comment"
    );
}

#[test]
fn type_errors_skip_only_their_rule() {
    let (rules, diags) = load(
        "t.vigil",
        r#"rule 1 "a" { when tcp.flags contains "x" }
rule 2 "b" { when http.uri contains "ok" }
rule 3 "c" { when ip.src contains "x" }
rule 4 "d" { when http.uri > 5 }
rule 5 "e" { when any(http.uri) contains "x" }
rule 6 "f" { when tcp.dst_port in ["a"] }
rule 7 "g" { when http.uri matches /(?<=a)b/ }
rule 8 "h" { when http.nope exists }
"#,
    );
    assert_eq!(rules.iter().map(|r| r.sid).collect::<Vec<_>>(), vec![2]);
    let kinds: Vec<(Option<u32>, DiagnosticKind)> = diags
        .iter()
        .filter(|d| d.rule_skipped)
        .map(|d| (d.sid, d.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Some(1), DiagnosticKind::TypeMismatch),
            (Some(3), DiagnosticKind::TypeMismatch),
            (Some(4), DiagnosticKind::TypeMismatch),
            (Some(5), DiagnosticKind::TypeMismatch),
            (Some(6), DiagnosticKind::BadPort),
            (Some(7), DiagnosticKind::UnsupportedRegex),
            (Some(8), DiagnosticKind::UnknownField),
        ]
    );
}

#[test]
fn contradictory_protocols_are_reported() {
    let (rules, diags) = load(
        "t.vigil",
        r#"rule 4 "x" { when tcp.flags has [syn] and icmp.type == 8 }"#,
    );
    assert_eq!(rules.len(), 1);
    let d: Vec<_> = diags
        .iter()
        .filter(|d| d.kind == DiagnosticKind::RuleNeverMatches)
        .collect();
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].message,
        "rule 4 can never match: it needs both tcp and icmp fields"
    );
    // DNS runs over TCP or UDP; HTTP over TCP: no warning.
    let (_, diags) = load(
        "t.vigil",
        r#"rule 5 "y" { when dns.query contains "a" and udp.dst_port == 53 and http.uri contains "b" or tcp.flags has [syn] }"#,
    );
    assert!(
        diags
            .iter()
            .all(|d| d.kind != DiagnosticKind::RuleNeverMatches)
    );
}

#[test]
fn named_values_for_numeric_fields() {
    let r = native(r#"rule 1 "m" { when dns.type in [TXT, 28, 1:2] and dns.query endswith ".x" }"#);
    match &field_tests(&r)[0].test {
        Test::InNumbers(s) => assert_eq!(s.ranges(), &[1..=2, 16..=16, 28..=28]),
        other => panic!("{other:?}"),
    }
    let r = native(r#"rule 1 "m" { when tls.version < "1.2" and tls.sni exists }"#);
    assert_eq!(
        field_tests(&r)[0],
        &FieldTest {
            field: Field::TlsVersion,
            test: Test::Num(NumCmp::Lt(0x0303))
        }
    );
    assert_eq!(r.header.protocol, Protocol::Tls);
}

#[test]
fn file_variables_override_global_ones() {
    use sensor_rules::{LoadOptions, RuleSet};
    let text = r#"vars { HOME_NET = [192.0.2.0/24] }
rule 1 "m" { when ip.src in $HOME_NET and ip.dst in $EXTERNAL_NET and tcp.dst_port in $HTTP_PORTS }"#;
    let opts = LoadOptions::default().var("HTTP_PORTS", "[8080]");
    let (set, diags) = RuleSet::load_str("t.vigil", text, &opts);
    assert!(diags.iter().all(|d| d.level == Level::Note), "{diags:#?}");
    let h = &set.rules()[0].header;
    assert!(h.src.contains(ip("192.0.2.1")) && !h.src.contains(ip("10.0.0.1")));
    // EXTERNAL_NET = !$HOME_NET, evaluated with this file's HOME_NET.
    assert!(h.dst.contains(ip("10.0.0.1")) && !h.dst.contains(ip("192.0.2.1")));
    assert_eq!(h.dst_ports.ranges(), &[8080..=8080]);
}

#[test]
fn unknown_names_are_errors() {
    let (rules, diags) = load(
        "t.vigil",
        r#"rule 1 "a" { severity huge when payload contains "x" }
rule 2 "b" { action explode when payload contains "x" }
rule 3 "c" { when tcp.flags has [syn, nope] }
rule 4 "d" { when http.uri matches /x/q }
rule 5 "e" { when ip.src in $NOPE }
rule 6 "f" { threshold count < 5 within 1s by ip.src }
rule 7 "g" { threshold count > 5 within 1s by ip.ttl }
"#,
    );
    assert!(rules.is_empty());
    let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "unknown severity `huge` (critical, high, medium, low, info or 1-255)",
            "unknown action `explode` (alert, drop, pass or reject)",
            "unknown TCP flag `nope` (fin, syn, rst, psh, ack, urg, ece, cwr)",
            "unknown regex flag `q` (i, s, m or x)",
            "undefined variable `$NOPE`",
            "a rate condition is `> N` or `>= N` (N >= 1)",
            "cannot track by `ip.ttl` (ip.src, ip.dst, ip.pair, flow or rule)",
        ]
    );
}

#[test]
fn a_syntax_error_skips_only_its_rule() {
    let (rules, diags) = load(
        "t.vigil",
        r#"rule 1 "a" { when http.uri contains "x" }
rule 2 "broken" { when http.uri like "x" }
rule 3 "unclosed" { when http.uri contains "y"
rule 4 "d" { when dns.query contains "z" }
rule 5 "e" { when tls.sni contains "w" }
"#,
    );
    assert_eq!(
        rules.iter().map(|r| r.sid).collect::<Vec<_>>(),
        vec![1, 4, 5]
    );
    let skipped: Vec<(Option<u32>, u32)> = diags
        .iter()
        .filter(|d| d.rule_skipped)
        .map(|d| (d.sid, d.line))
        .collect();
    assert_eq!(skipped, vec![(Some(2), 2), (Some(3), 3)]);
    let unclosed = diags.iter().find(|d| d.sid == Some(3)).unwrap();
    assert_eq!(unclosed.message, "expected `}` to close rule 3");
    assert_eq!(unclosed.column, 47);
}
