//! Parser tests for every construct of the Suricata front end.

mod common;

use common::{chains, field_tests, load, suricata};
use sensor_rules::ir::*;
use sensor_rules::{DiagnosticKind, Level, LoadOptions, RuleSet};

fn ip(s: &str) -> std::net::IpAddr {
    s.parse().unwrap()
}

#[test]
fn header_actions_and_protocols() {
    for (action, expected) in [
        ("alert", Action::Alert),
        ("drop", Action::Drop),
        ("pass", Action::Pass),
        ("reject", Action::Reject),
    ] {
        let r = suricata(&format!("{action} tcp any any -> any any (sid:1;)"));
        assert_eq!(r.action, expected);
    }
    for (proto, expected) in [
        ("ip", Protocol::Ip),
        ("tcp", Protocol::Tcp),
        ("udp", Protocol::Udp),
        ("icmp", Protocol::Icmp),
        ("http", Protocol::Http),
        ("tls", Protocol::Tls),
        ("dns", Protocol::Dns),
    ] {
        let r = suricata(&format!("alert {proto} any any -> any any (sid:1;)"));
        assert_eq!(r.header.protocol, expected);
    }
}

#[test]
fn address_groups_with_negation_lists_and_vars() {
    let r =
        suricata("alert tcp [10.0.0.0/8,!10.1.0.0/16,192.168.1.1] any -> !$HOME_NET any (sid:1;)");
    let src = &r.header.src;
    assert!(src.contains(ip("10.2.3.4")));
    assert!(!src.contains(ip("10.1.2.3")));
    assert!(src.contains(ip("192.168.1.1")));
    assert!(!src.contains(ip("192.168.1.2")));
    // HOME_NET defaults to the RFC 1918 ranges.
    assert!(!r.header.dst.contains(ip("172.16.5.5")));
    assert!(r.header.dst.contains(ip("8.8.8.8")));
    assert!(r.header.dst.contains(ip("2001:db8::1")));
    assert_eq!(r.header.direction, Direction::OneWay);

    let r = suricata("alert ip [2001:db8::/32, ::1] any <> any any (sid:1;)");
    assert!(r.header.src.contains(ip("2001:db8:1::5")));
    assert!(r.header.src.contains(ip("::1")));
    assert!(!r.header.src.contains(ip("10.0.0.1")));
    assert_eq!(r.header.direction, Direction::Both);

    // `[!a]` alone is everything but a; nested negation.
    let r = suricata("alert ip [!1.2.3.4] any -> ![1.0.0.0/8,![1.2.0.0/16]] any (sid:1;)");
    assert!(!r.header.src.contains(ip("1.2.3.4")));
    assert!(r.header.src.contains(ip("1.2.3.5")));
    assert!(r.header.dst.contains(ip("1.2.3.4")));
    assert!(!r.header.dst.contains(ip("1.3.0.1")));
    assert!(r.header.dst.contains(ip("2.0.0.1")));

    // Netmask form and address ranges.
    let r = suricata("alert ip 10.0.0.0/255.255.0.0 any -> 10.0.0.1-10.0.0.3 any (sid:1;)");
    assert!(r.header.src.contains(ip("10.0.255.1")) && !r.header.src.contains(ip("10.1.0.0")));
    assert!(r.header.dst.contains(ip("10.0.0.3")) && !r.header.dst.contains(ip("10.0.0.4")));
}

#[test]
fn port_groups() {
    let r = suricata("alert tcp any [80,8000:8080,!8008] -> any !$HTTP_PORTS (sid:1;)");
    let p = &r.header.src_ports;
    assert!(p.contains(80) && p.contains(8000) && p.contains(8080));
    assert!(!p.contains(8008) && !p.contains(81));
    assert!(!r.header.dst_ports.contains(80) && r.header.dst_ports.contains(443));
    let r = suricata("alert tcp any :1023 -> any 1024: (sid:1;)");
    assert_eq!(r.header.src_ports.ranges(), &[0..=1023]);
    assert_eq!(r.header.dst_ports.ranges(), &[1024..=65535]);
    let r = suricata("alert tcp any any -> any any (sid:1;)");
    assert!(r.header.src_ports.is_full() && r.header.src.is_any());
}

#[test]
fn variables_are_overridable() {
    let text = "alert tcp $HOME_NET any -> any $HTTP_PORTS (sid:1;)";
    let opts = LoadOptions::default()
        .var("HOME_NET", "[100.64.0.0/10]")
        .var("HTTP_PORTS", "[80,8080]");
    let (set, diags) = RuleSet::load_str("t.rules", text, &opts);
    assert!(diags.iter().all(|d| d.level == Level::Note));
    let r = &set.rules()[0];
    assert!(r.header.src.contains(ip("100.64.1.1")));
    assert!(!r.header.src.contains(ip("10.0.0.1")));
    assert!(r.header.dst_ports.contains(8080));
}

#[test]
fn metadata_options() {
    let r = suricata(
        r#"alert tcp any any -> any any (msg:"a \"quoted\" \; msg"; gid:3; sid:42; rev:7; priority:2; classtype:trojan-activity; metadata: created_at 2020_01_01, deployment Perimeter; reference:url,example.com/x; reference:cve,2021-44228; target:dest_ip; noalert;)"#,
    );
    assert_eq!(r.msg, r#"a "quoted" ; msg"#);
    assert_eq!((r.gid, r.sid, r.rev, r.priority), (3, 42, 7, 2));
    assert_eq!(r.classtype.as_deref(), Some("trojan-activity"));
    assert_eq!(
        r.metadata,
        vec![
            ("created_at".to_string(), "2020_01_01".to_string()),
            ("deployment".to_string(), "Perimeter".to_string())
        ]
    );
    assert_eq!(r.references.len(), 2);
    assert_eq!(r.references[1].system, "cve");
    assert_eq!(r.references[1].id, "2021-44228");
    assert_eq!(r.target, Some(Target::Destination));
    assert!(r.noalert);
    assert_eq!(r.origin.language, Language::Suricata);
    assert_eq!(r.origin.line, 1);
}

#[test]
fn flow_options() {
    for (value, dir, state) in [
        (
            "to_server,established",
            Some(FlowDirection::ToServer),
            Some(FlowState::Established),
        ),
        ("from_server", Some(FlowDirection::ToClient), None),
        (
            "established,to_client",
            Some(FlowDirection::ToClient),
            Some(FlowState::Established),
        ),
        (
            "from_client,not_established",
            Some(FlowDirection::ToServer),
            Some(FlowState::NotEstablished),
        ),
        ("stateless", None, Some(FlowState::Stateless)),
    ] {
        let r = suricata(&format!(
            "alert tcp any any -> any any (flow:{value}; sid:1;)"
        ));
        assert_eq!(
            r.flow,
            Flow {
                direction: dir,
                state
            },
            "flow:{value}"
        );
    }
}

#[test]
fn content_with_every_modifier() {
    let r = suricata(
        r#"alert tcp any any -> any any (content:"GET |20 2F|x|3b|"; nocase; offset:2; depth:20; content:!"evil"; distance:-3; within:10; content:"a\"b"; startswith; endswith; fast_pattern; sid:1;)"#,
    );
    let c = chains(&r);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].buffer, Buffer::Payload);
    let contents: Vec<&Content> = c[0].contents().collect();
    assert_eq!(contents[0].pattern, b"GET  /x;");
    assert!(contents[0].nocase && !contents[0].negated);
    assert_eq!((contents[0].offset, contents[0].depth), (Some(2), Some(20)));
    assert!(contents[1].negated);
    assert_eq!(
        (contents[1].distance, contents[1].within),
        (Some(-3), Some(10))
    );
    assert!(contents[1].is_relative());
    assert_eq!(contents[2].pattern, b"a\"b");
    assert!(contents[2].startswith && contents[2].endswith);
    assert_eq!(contents[2].fast_pattern, Some(FastPattern::Whole));
    assert_eq!(
        r.fast_pattern().map(|(_, c)| c.pattern.clone()),
        Some(b"a\"b".to_vec())
    );
}

#[test]
fn fast_pattern_forms() {
    let r = suricata(
        r#"alert tcp any any -> any any (content:"abcdef"; fast_pattern:only; content:"xyz"; fast_pattern:1,2; sid:1;)"#,
    );
    let c: Vec<&Content> = chains(&r)[0].contents().collect();
    assert_eq!(c[0].fast_pattern, Some(FastPattern::Only));
    assert_eq!(
        c[1].fast_pattern,
        Some(FastPattern::Chop {
            offset: 1,
            length: 2
        })
    );
}

#[test]
fn sticky_buffers_keep_order_per_buffer() {
    let r = suricata(
        r#"alert http any any -> any any (http.method; content:"POST"; http.uri; content:"/a"; content:"/b"; distance:0; http.header; content:"X-Y"; tls.sni; content:"z"; dns.query; content:"q"; pkt_data; content:"p"; sid:1;)"#,
    );
    let c = chains(&r);
    let names: Vec<Buffer> = c.iter().map(|b| b.buffer.clone()).collect();
    assert_eq!(
        names,
        vec![
            Buffer::HttpMethod,
            Buffer::HttpUri,
            Buffer::HttpHeader,
            Buffer::TlsSni,
            Buffer::DnsQuery,
            Buffer::Payload
        ]
    );
    let uri: Vec<&[u8]> = c[1].contents().map(|c| c.pattern.as_slice()).collect();
    assert_eq!(uri, vec![b"/a".as_slice(), b"/b".as_slice()]);
}

#[test]
fn every_sticky_buffer_name() {
    for (kw, buffer) in [
        ("http.method", Buffer::HttpMethod),
        ("http.uri", Buffer::HttpUri),
        ("http.uri.raw", Buffer::HttpUriRaw),
        ("http.host", Buffer::HttpHost),
        ("http.host.raw", Buffer::HttpHostRaw),
        ("http.user_agent", Buffer::HttpUserAgent),
        ("http.header", Buffer::HttpHeader),
        ("http.header.raw", Buffer::HttpHeaderRaw),
        ("http.header_names", Buffer::HttpHeaderNames),
        ("http.cookie", Buffer::HttpCookie),
        ("http.request_line", Buffer::HttpRequestLine),
        ("http.protocol", Buffer::HttpProtocol),
        ("http.stat_code", Buffer::HttpStatCode),
        ("http.stat_msg", Buffer::HttpStatMsg),
        ("http.response_line", Buffer::HttpResponseLine),
        ("http.content_type", Buffer::HttpContentType),
        ("http.content_len", Buffer::HttpContentLen),
        ("http.connection", Buffer::HttpConnection),
        ("http.accept", Buffer::HttpAccept),
        ("http.accept_lang", Buffer::HttpAcceptLang),
        ("http.accept_enc", Buffer::HttpAcceptEnc),
        ("http.referer", Buffer::HttpReferer),
        ("tls.sni", Buffer::TlsSni),
        ("dns.query", Buffer::DnsQuery),
        ("dns_query", Buffer::DnsQuery),
        ("tls_sni", Buffer::TlsSni),
    ] {
        let r = suricata(&format!(
            r#"alert tcp any any -> any any ({kw}; content:"x"; sid:1;)"#
        ));
        assert_eq!(chains(&r)[0].buffer, buffer, "{kw}");
        assert_eq!(
            buffer.name().replace('_', "."),
            kw.replace('_', "."),
            "{kw} name"
        );
    }
}

#[test]
fn legacy_modifiers_move_the_content() {
    let r = suricata(
        r#"alert tcp any any -> any $HTTP_PORTS (content:"GET"; http_method; content:"/x"; http_uri; nocase; content:"/y"; http_uri; distance:0; content:"Mozilla"; http_user_agent; content:"payload"; sid:1;)"#,
    );
    // Application buffers on a tcp rule make it an http rule, as in Suricata.
    assert_eq!(r.header.protocol, Protocol::Http);
    let c = chains(&r);
    let names: Vec<Buffer> = c.iter().map(|b| b.buffer.clone()).collect();
    assert_eq!(
        names,
        vec![
            Buffer::HttpMethod,
            Buffer::HttpUri,
            Buffer::HttpUserAgent,
            Buffer::Payload
        ]
    );
    let uri: Vec<&Content> = c[1].contents().collect();
    assert!(uri[0].nocase);
    assert_eq!(uri[1].distance, Some(0));
    for (kw, buffer) in [
        ("http_raw_uri", Buffer::HttpUriRaw),
        ("http_host", Buffer::HttpHost),
        ("http_raw_host", Buffer::HttpHostRaw),
        ("http_header", Buffer::HttpHeader),
        ("http_raw_header", Buffer::HttpHeaderRaw),
        ("http_cookie", Buffer::HttpCookie),
        ("http_stat_code", Buffer::HttpStatCode),
        ("http_stat_msg", Buffer::HttpStatMsg),
    ] {
        let r = suricata(&format!(
            r#"alert http any any -> any any (content:"x"; {kw}; sid:1;)"#
        ));
        assert_eq!(chains(&r)[0].buffer, buffer, "{kw}");
    }
}

#[test]
fn pcre_flags_relative_and_buffers() {
    let r = suricata(
        r#"alert http any any -> any any (http.uri; content:"/a"; pcre:"/^\/a[0-9]+$/iR"; pcre:!"/x.y/smxAEG"; pcre:"/evil/H"; pcre:"/b/U"; sid:1;)"#,
    );
    let c = chains(&r);
    assert_eq!(c[0].buffer, Buffer::HttpUri);
    let p: Vec<&Pcre> = c[0].pcres().collect();
    assert_eq!(p[0].pattern, r"^\/a[0-9]+$");
    assert!(p[0].flags.caseless && p[0].relative && !p[0].negated);
    assert!(p[1].negated);
    let f = p[1].flags;
    assert!(f.dotall && f.multiline && f.extended && f.anchored && f.dollar_endonly && f.ungreedy);
    assert_eq!(p[2].pattern, "b");
    assert_eq!(c[1].buffer, Buffer::HttpHeader);
    assert_eq!(c[1].pcres().next().unwrap().pattern, "evil");
    // Every flag maps to its buffer.
    for (flag, buffer) in [
        ('U', Buffer::HttpUri),
        ('I', Buffer::HttpUriRaw),
        ('H', Buffer::HttpHeader),
        ('D', Buffer::HttpHeaderRaw),
        ('M', Buffer::HttpMethod),
        ('C', Buffer::HttpCookie),
        ('S', Buffer::HttpStatCode),
        ('Y', Buffer::HttpStatMsg),
        ('V', Buffer::HttpUserAgent),
        ('W', Buffer::HttpHost),
        ('Z', Buffer::HttpHostRaw),
    ] {
        let r = suricata(&format!(
            r#"alert http any any -> any any (pcre:"/x/{flag}"; sid:1;)"#
        ));
        assert_eq!(chains(&r)[0].buffer, buffer, "flag {flag}");
    }
}

#[test]
fn pcre_with_pcre_only_literal_syntax_loads() {
    // `{` that is not a quantifier, `\>` in a class, and a lone quote.
    let r =
        suricata(r#"alert http any any -> any any (pcre:"/\${\s*[^\s\>]+[\x22']x{2}/"; sid:1;)"#);
    assert_eq!(chains(&r)[0].pcres().count(), 1);
}

#[test]
fn isdataat_bsize_and_size_keywords() {
    let r = suricata(
        r#"alert http any any -> any any (http.uri; content:"/a"; isdataat:!1,relative; bsize:<10; dsize:>100; urilen:5<>20,raw; sid:1;)"#,
    );
    let c = chains(&r);
    assert_eq!(
        c[0].items[1],
        BufferItem::IsDataAt(IsDataAt {
            position: 1,
            relative: true,
            negated: true
        })
    );
    assert_eq!(c[0].items[2], BufferItem::Bsize(NumCmp::Lt(10)));
    let f = field_tests(&r);
    assert_eq!(
        f[0],
        &FieldTest {
            field: Field::PayloadSize,
            test: Test::Num(NumCmp::Gt(100))
        }
    );
    assert_eq!(
        f[1],
        &FieldTest {
            field: Field::UriLenRaw,
            test: Test::Num(NumCmp::Between(5, 20))
        }
    );
}

#[test]
fn header_keywords() {
    let r = suricata(
        "alert tcp any any -> any any (ttl:<5; flags:SA,CE; window:!1024; seq:0; ack:1; ipopts:lsrr; fragbits:M+; ip_proto:!udp; sid:1;)",
    );
    let f = field_tests(&r);
    assert_eq!(f[0].test, Test::Num(NumCmp::Lt(5)));
    assert_eq!(
        f[1].test,
        Test::Flags {
            mode: FlagMode::Exact,
            flags: tcp_flags::SYN | tcp_flags::ACK,
            ignore: tcp_flags::CWR | tcp_flags::ECE
        }
    );
    assert_eq!(
        f[2],
        &FieldTest {
            field: Field::TcpWindow,
            test: Test::Num(NumCmp::Ne(1024))
        }
    );
    assert_eq!(f[3].field, Field::TcpSeq);
    assert_eq!(f[4].field, Field::TcpAck);
    assert_eq!(f[5].test, Test::IpOption("lsrr".into()));
    assert_eq!(
        f[6].test,
        Test::Flags {
            mode: FlagMode::All,
            flags: frag_bits::MF,
            ignore: 0
        }
    );
    assert_eq!(f[7].test, Test::Num(NumCmp::Ne(17)));

    let r = suricata("alert icmp any any -> any any (itype:8; icode:>0; flags:!R; sid:1;)");
    let f = field_tests(&r);
    assert_eq!(
        f[0],
        &FieldTest {
            field: Field::IcmpType,
            test: Test::Num(NumCmp::Eq(8))
        }
    );
    assert_eq!(
        f[1],
        &FieldTest {
            field: Field::IcmpCode,
            test: Test::Num(NumCmp::Gt(0))
        }
    );
    assert_eq!(
        f[2].test,
        Test::Flags {
            mode: FlagMode::NotAny,
            flags: tcp_flags::RST,
            ignore: 0
        }
    );
    let r = suricata("alert tls any any -> any any (tls.version:1.2; flags:*SF; sid:1;)");
    let f = field_tests(&r);
    assert_eq!(
        f[0],
        &FieldTest {
            field: Field::TlsVersion,
            test: Test::Num(NumCmp::Eq(0x0303))
        }
    );
    assert_eq!(
        f[1].test,
        Test::Flags {
            mode: FlagMode::Any,
            flags: tcp_flags::SYN | tcp_flags::FIN,
            ignore: 0
        }
    );
}

#[test]
fn threshold_and_detection_filter() {
    let r = suricata(
        "alert tcp any any -> any any (threshold: type limit, track by_src, count 1, seconds 60; sid:1;)",
    );
    assert_eq!(
        r.rate,
        Some(Rate {
            kind: RateKind::Limit,
            measure: Measure::Count,
            track: Track::BySrc,
            count: 1,
            seconds: 60
        })
    );
    let r = suricata(
        "alert tcp any any -> any any (threshold:type both,track by_dst,count 5,seconds 1; sid:1;)",
    );
    assert_eq!(
        r.rate.as_ref().map(|r| (r.kind, r.track)),
        Some((RateKind::Both, Track::ByDst))
    );
    let r = suricata(
        "alert tcp any any -> any any (detection_filter: track by_rule, count 10, seconds 2; sid:1;)",
    );
    assert_eq!(
        r.rate,
        Some(Rate {
            kind: RateKind::DetectionFilter,
            measure: Measure::Count,
            track: Track::ByRule,
            count: 10,
            seconds: 2
        })
    );
}

#[test]
fn comments_blank_lines_and_continuations() {
    let text = "# a comment\n\n# alert tcp any any -> any any (msg:\"off\"; sid:9;)\n   \nalert tcp any any -> any any (msg:\"two \\\n  lines\"; \\\n sid:2;)\nalert udp any any -> any any (sid:3;)\n";
    let (rules, diags) = load("t.rules", text);
    assert!(diags.iter().all(|d| d.level == Level::Note), "{diags:#?}");
    assert_eq!(rules.iter().map(|r| r.sid).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(rules[0].origin.line, 5);
    assert_eq!(rules[1].origin.line, 8);
}

#[test]
fn unsupported_rules_are_skipped_and_the_rest_loads() {
    let text = r#"alert http any any -> any any (msg:"a"; flowbits:set,x; sid:1;)
alert smb any any -> any any (msg:"b"; sid:2;)
alert tcp any any -> any any (msg:"c"; content:"x"; byte_test:4,>,0,0; sid:3;)
alert http any any -> any any (msg:"d"; content:"ok"; sid:4;)
alert tcp any any -> any any (msg:"e"; flow:established,only_stream; sid:5;)
alert http any any -> any any (msg:"f"; pcre:"/(a)\1/"; sid:6;)
"#;
    let (rules, diags) = load("t.rules", text);
    assert_eq!(rules.iter().map(|r| r.sid).collect::<Vec<_>>(), vec![4]);
    let skipped: Vec<(Option<u32>, DiagnosticKind, &str)> = diags
        .iter()
        .filter(|d| d.rule_skipped)
        .map(|d| (d.sid, d.kind, d.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        vec![
            (
                Some(1),
                DiagnosticKind::UnsupportedKeyword,
                "unsupported keyword `flowbits`"
            ),
            (
                Some(2),
                DiagnosticKind::UnsupportedProtocol,
                "unsupported protocol `smb`"
            ),
            (
                Some(3),
                DiagnosticKind::UnsupportedKeyword,
                "unsupported keyword `byte_test`"
            ),
            (
                Some(5),
                DiagnosticKind::UnsupportedValue,
                "unsupported `flow` value `only_stream`"
            ),
            (
                Some(6),
                DiagnosticKind::UnsupportedRegex,
                "regex needs backreferences"
            ),
        ]
    );
    assert!(
        diags
            .iter()
            .filter(|d| d.rule_skipped)
            .all(|d| d.level == Level::Warning)
    );
}

#[test]
fn strict_mode_makes_skips_errors() {
    let text = r#"alert http any any -> any any (msg:"a"; flowbits:set,x; sid:1;)"#;
    let (_, diags) = RuleSet::load_str("t.rules", text, &LoadOptions::default().strict(true));
    assert_eq!(diags.iter().filter(|d| d.level == Level::Error).count(), 1);
}

#[test]
fn classification_and_threshold_config() {
    let dir = std::env::temp_dir().join(format!("vigil-rules-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("classification.config"),
        "# c\nconfig classification: trojan-activity,A Network Trojan was detected, 1\nconfig classification: misc-activity,Misc activity,3\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("threshold.config"),
        "threshold gen_id 1, sig_id 2, type limit, track by_src, count 1, seconds 60\nsuppress gen_id 1, sig_id 3, track by_src, ip [10.0.0.1,10.0.0.2]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("local.rules"),
        "alert tcp any any -> any any (classtype:trojan-activity; content:\"a\"; sid:1;)\n\
         alert tcp any any -> any any (classtype:misc-activity; priority:2; content:\"b\"; sid:2;)\n\
         alert tcp any any -> any any (content:\"c\"; sid:3;)\n\
         alert tcp any any -> any any (classtype:no-such-class; content:\"d\"; sid:4;)\n",
    )
    .unwrap();
    let (set, diags) = RuleSet::load(std::slice::from_ref(&dir), &LoadOptions::default());
    std::fs::remove_dir_all(&dir).unwrap();
    let r = set.rules();
    assert_eq!(r.len(), 3);
    let class = set.classification("trojan-activity").unwrap();
    assert_eq!(
        (class.description.as_str(), class.priority),
        ("A Network Trojan was detected", 1)
    );
    assert_eq!(r[0].priority, 1);
    assert_eq!(r[1].priority, 2);
    assert_eq!(r[1].rate.as_ref().map(|r| r.kind), Some(RateKind::Limit));
    assert_eq!(r[2].priority, DEFAULT_PRIORITY);
    assert_eq!(r[2].suppressions.len(), 1);
    assert!(r[2].suppressions[0].addresses.contains(ip("10.0.0.2")));
    assert!(!r[2].suppressions[0].addresses.contains(ip("10.0.0.3")));
    let errors: Vec<_> = diags.iter().filter(|d| d.level == Level::Error).collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].sid, Some(4));
    assert_eq!(
        errors[0].message,
        "unknown classtype `no-such-class` (not in classification.config)"
    );
}

#[test]
fn crlf_line_endings_and_byte_order_mark() {
    let text = "\u{feff}alert tcp any any -> any any (msg:\"a\"; sid:1;)\r\n# c\r\nalert tcp any any -> any any (msg:\"b\"; sid:2;)\r\n";
    let (rules, diags) = load("t.rules", text);
    assert!(diags.iter().all(|d| d.level == Level::Note), "{diags:#?}");
    assert_eq!(
        rules
            .iter()
            .map(|r| (r.sid, r.origin.line))
            .collect::<Vec<_>>(),
        vec![(1, 1), (2, 3)]
    );
}

#[test]
fn missing_files_are_reported() {
    let (set, diags) = RuleSet::load(&["/nonexistent/x.rules".into()], &LoadOptions::default());
    assert!(set.is_empty());
    assert_eq!(
        (diags[0].level, diags[0].kind),
        (Level::Error, DiagnosticKind::Io)
    );
    assert!(
        diags[0]
            .message
            .starts_with("cannot read `/nonexistent/x.rules`")
    );
}
