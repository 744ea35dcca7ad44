//! What rules mean: one rule, one input, whether it alerts. Every case is
//! checked on the engine and on the reference evaluator.

mod support;

use sensor_engine::reference::Reference;
use sensor_engine::{BufferId, EngineBuilder, FlowDir, InputKind, Scratch};
use support::{TestInput, dns_query, http_request, rules, tls_client_hello};

fn fires(rule: &str, input: &TestInput) -> bool {
    let text = format!("alert {rule}");
    let rs = rules(&text);
    assert_eq!(rs.len(), 1, "{text}");
    let engine = EngineBuilder::new().rules(rs.clone()).build().unwrap();
    assert!(
        engine.stats().skipped.is_empty(),
        "{:?}",
        engine.stats().skipped
    );
    let reference = Reference::new(rs).unwrap();
    let mut scratch = Scratch::new();
    let mut alerts: Vec<(u32, u32)> = Vec::new();
    engine.inspect(input, &mut scratch, &mut alerts);
    let by_engine = !alerts.is_empty();
    let by_reference = !reference.matching_rules(input).is_empty();
    assert_eq!(
        by_engine, by_reference,
        "engine and reference disagree on {rule}"
    );
    by_engine
}

fn payload(p: &str) -> TestInput {
    TestInput::packet(p.as_bytes())
}

#[test]
fn payload_contents_and_positions() {
    let cases: &[(&str, &str, bool)] = &[
        (r#"content:"abc";"#, "xxabcxx", true),
        (r#"content:"abc";"#, "xxABCxx", false),
        (r#"content:"abc"; nocase;"#, "xxABCxx", true),
        (r#"content:"abc"; offset:2;"#, "xxabc", true),
        (r#"content:"abc"; offset:3;"#, "xxabc", false),
        (r#"content:"abc"; depth:4;"#, "xabcx", true),
        (r#"content:"abc"; depth:3;"#, "xabcx", false),
        (r#"content:"abc"; offset:1; depth:3;"#, "xabcx", true),
        (r#"content:"abc"; startswith;"#, "abcx", true),
        (r#"content:"abc"; startswith;"#, "xabc", false),
        (r#"content:"abc"; endswith;"#, "xabc", true),
        (r#"content:"abc"; endswith;"#, "abcx", false),
        (r#"content:"a"; content:"b"; distance:0;"#, "ba", false),
        (r#"content:"a"; content:"b"; distance:0;"#, "ab", true),
        (r#"content:"a"; content:"b"; distance:1;"#, "ab", false),
        (r#"content:"a"; content:"b"; distance:1;"#, "axb", true),
        (r#"content:"a"; content:"b"; within:1;"#, "ab", true),
        (r#"content:"a"; content:"b"; within:1;"#, "axb", false),
        (
            r#"content:"a"; content:"b"; distance:1; within:1;"#,
            "axb",
            true,
        ),
        (
            r#"content:"a"; content:"b"; distance:-1; within:2;"#,
            "ab",
            true,
        ),
        // Backtracking: the first "a" fails `within`, the second succeeds.
        (r#"content:"a"; content:"b"; within:1;"#, "axxab", true),
        (
            r#"content:"GET"; content:"/x"; distance:1; within:3; content:"HTTP"; distance:0;"#,
            "GET /y GET /x HTTP",
            true,
        ),
        (r#"content:!"abc";"#, "xxabxx", true),
        (r#"content:!"abc";"#, "xxabcx", false),
        (r#"content:"a"; content:!"b"; within:1;"#, "ab", false),
        (r#"content:"a"; content:!"b"; within:1;"#, "abac", true),
        (r#"content:"x"; isdataat:2,relative;"#, "xab", false),
        (r#"content:"x"; isdataat:1,relative;"#, "xab", true),
        (r#"content:"x"; isdataat:!1,relative;"#, "xa", true),
        (r#"isdataat:3; content:"a";"#, "abc", false),
        (r#"dsize:>3; content:"a";"#, "abcd", true),
        (r#"dsize:<3; content:"a";"#, "abcd", false),
        (
            r#"content:"a"; fast_pattern; content:"bcd"; distance:0;"#,
            "abcd",
            true,
        ),
        (
            r#"content:"a"; fast_pattern; content:"bcd"; distance:0;"#,
            "acbd",
            false,
        ),
        (r#"content:"abcdef"; fast_pattern:2,2;"#, "xabcdefx", true),
        (r#"content:"abcdef"; fast_pattern:2,2;"#, "xcdx", false),
    ];
    for (opts, data, want) in cases {
        let rule = format!(r#"tcp any any -> any any (msg:"t"; {opts} sid:1;)"#);
        assert_eq!(fires(&rule, &payload(data)), *want, "{opts} on {data:?}");
    }
}

#[test]
fn pcre() {
    let cases: &[(&str, &str, bool)] = &[
        (r#"pcre:"/a[0-9]+b/";"#, "xa123b", true),
        (r#"pcre:"/a[0-9]+b/";"#, "xab", false),
        (r#"pcre:"/^abc/";"#, "xabc", false),
        (r#"pcre:"/ABC/i";"#, "xabc", true),
        (r#"pcre:!"/abc/";"#, "xabc", false),
        (r#"content:"x"; pcre:"/^y/R";"#, "axy", true),
        (r#"content:"x"; pcre:"/^y/R";"#, "axzy", false),
        // The regex retried from one past its previous match start.
        (r#"pcre:"/a./"; content:"c"; within:1;"#, "abxadc", true),
        (r#"content:"id="; pcre:"/\d{3}/R";"#, "id=12 id=345", true),
        (r#"content:"id="; pcre:"/^\d{3}/R";"#, "id=12 id=345", true),
        (r#"content:"id="; pcre:"/^\d{3}/R";"#, "id=12 id=34", false),
    ];
    for (opts, data, want) in cases {
        let rule = format!(r#"tcp any any -> any any (msg:"t"; {opts} sid:1;)"#);
        assert_eq!(fires(&rule, &payload(data)), *want, "{opts} on {data:?}");
    }
}

#[test]
fn header_keywords_flow_addresses_ports() {
    let base = payload("hello");
    let mut syn = base.clone();
    syn.meta.tcp_flags = Some(0x02);
    let mut udp = base.clone();
    udp.meta.ip_proto = 17;
    udp.meta.tcp_flags = None;
    let mut icmp = base.clone();
    icmp.meta.ip_proto = 1;
    icmp.meta.src_port = None;
    icmp.meta.dst_port = None;
    icmp.meta.icmp_type = Some(8);
    icmp.meta.icmp_code = Some(0);
    let mut unknown = base.clone();
    unknown.meta.direction = FlowDir::Unknown;
    unknown.meta.established = false;
    let cases: Vec<(&str, &TestInput, bool)> = vec![
        (
            "tcp any any -> any any (msg:\"t\"; flags:S; sid:1;)",
            &syn,
            true,
        ),
        (
            "tcp any any -> any any (msg:\"t\"; flags:S; sid:1;)",
            &base,
            false,
        ),
        (
            "tcp any any -> any any (msg:\"t\"; flags:A+; sid:1;)",
            &base,
            true,
        ),
        (
            "tcp any any -> any any (msg:\"t\"; ttl:64; sid:1;)",
            &base,
            true,
        ),
        (
            "tcp any any -> any any (msg:\"t\"; ttl:<10; sid:1;)",
            &base,
            false,
        ),
        (
            "tcp any any -> any any (msg:\"t\"; window:64240; sid:1;)",
            &base,
            true,
        ),
        (
            "tcp any any -> any any (msg:\"t\"; flow:established,to_server; sid:1;)",
            &base,
            true,
        ),
        (
            "tcp any any -> any any (msg:\"t\"; flow:to_client; sid:1;)",
            &base,
            false,
        ),
        (
            "tcp any any -> any any (msg:\"t\"; flow:to_server; sid:1;)",
            &unknown,
            false,
        ),
        (
            "tcp any any -> any any (msg:\"t\"; flow:not_established; sid:1;)",
            &unknown,
            true,
        ),
        ("tcp any any -> any any (msg:\"t\"; sid:1;)", &unknown, true),
        ("udp any any -> any any (msg:\"t\"; sid:1;)", &base, false),
        ("udp any any -> any any (msg:\"t\"; sid:1;)", &udp, true),
        ("ip any any -> any any (msg:\"t\"; sid:1;)", &udp, true),
        (
            "icmp any any -> any any (msg:\"t\"; itype:8; icode:0; sid:1;)",
            &icmp,
            true,
        ),
        (
            "icmp any any -> any any (msg:\"t\"; itype:0; sid:1;)",
            &icmp,
            false,
        ),
        (
            "tcp $HOME_NET any -> $EXTERNAL_NET 80 (msg:\"t\"; sid:1;)",
            &base,
            true,
        ),
        (
            "tcp $HOME_NET any -> $EXTERNAL_NET 443 (msg:\"t\"; sid:1;)",
            &base,
            false,
        ),
        (
            "tcp $EXTERNAL_NET any -> $HOME_NET any (msg:\"t\"; sid:1;)",
            &base,
            false,
        ),
        (
            "tcp $EXTERNAL_NET 80 <> $HOME_NET any (msg:\"t\"; sid:1;)",
            &base,
            true,
        ),
        (
            "tcp any any -> any ![80,443] (msg:\"t\"; sid:1;)",
            &base,
            false,
        ),
        (
            "tcp any any -> any [1:1024] (msg:\"t\"; sid:1;)",
            &base,
            true,
        ),
        (
            "tcp any any -> 93.184.216.0/24 any (msg:\"t\"; sid:1;)",
            &base,
            true,
        ),
        (
            "tcp any any -> !93.184.216.0/24 any (msg:\"t\"; sid:1;)",
            &base,
            false,
        ),
    ];
    for (rule, input, want) in cases {
        assert_eq!(fires(rule, input), want, "{rule}");
    }
}

#[test]
fn application_buffers() {
    let req = http_request(
        b"GET /admin/login.php?id=1 HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent: sqlmap/1.5\r\nCookie: a=b\r\n\r\n",
    )
    .unwrap();
    let tls = tls_client_hello(b"evil.example.net", &[b"h2", b"http/1.1"]);
    let dns = dns_query(b"bad.example.org", 1);
    let cases: Vec<(&str, &TestInput, bool)> = vec![
        (
            r#"http any any -> any any (msg:"t"; http.uri; content:"/admin"; startswith; sid:1;)"#,
            &req,
            true,
        ),
        (
            r#"http any any -> any any (msg:"t"; http.uri; content:"/admin"; startswith; sid:1;)"#,
            &tls,
            false,
        ),
        (
            r#"http any any -> any any (msg:"t"; http.host; content:"example.com"; bsize:11; sid:1;)"#,
            &req,
            true,
        ),
        (
            r#"http any any -> any any (msg:"t"; http.host.raw; content:"Example.COM:8080"; sid:1;)"#,
            &req,
            true,
        ),
        (
            r#"http any any -> any any (msg:"t"; http.user_agent; content:"sqlmap"; sid:1;)"#,
            &req,
            true,
        ),
        (
            r#"http any any -> any any (msg:"t"; content:"sqlmap"; http_user_agent; sid:1;)"#,
            &req,
            true,
        ),
        (
            r#"http any any -> any any (msg:"t"; http.method; content:"POST"; sid:1;)"#,
            &req,
            false,
        ),
        (
            r#"http any any -> any any (msg:"t"; http.cookie; content:"a=b"; sid:1;)"#,
            &req,
            true,
        ),
        (
            r#"http any any -> any any (msg:"t"; http.header; content:"Cookie"; sid:1;)"#,
            &req,
            false,
        ),
        (
            r#"http any any -> any any (msg:"t"; http.header; content:"User-Agent|3a 20|sqlmap"; sid:1;)"#,
            &req,
            true,
        ),
        (
            r#"http any any -> any any (msg:"t"; http.stat_code; content:"200"; sid:1;)"#,
            &req,
            false,
        ),
        (
            r#"http any any -> any any (msg:"t"; urilen:>5; sid:1;)"#,
            &req,
            true,
        ),
        (
            r#"http any any -> any any (msg:"t"; urilen:<5; sid:1;)"#,
            &req,
            false,
        ),
        (
            r#"http any any -> any any (msg:"t"; http.uri; pcre:"/id=\d+$/"; sid:1;)"#,
            &req,
            true,
        ),
        (
            r#"tls any any -> any any (msg:"t"; tls.sni; content:".example.net"; endswith; sid:1;)"#,
            &tls,
            true,
        ),
        (
            r#"tls any any -> any any (msg:"t"; tls.sni; content:".example.net"; endswith; sid:1;)"#,
            &req,
            false,
        ),
        (
            r#"dns any any -> any any (msg:"t"; dns.query; content:"bad"; sid:1;)"#,
            &dns,
            true,
        ),
        (
            r#"udp any any -> any 53 (msg:"t"; dns.query; content:"bad"; sid:1;)"#,
            &dns,
            true,
        ),
    ];
    for (rule, input, want) in cases {
        assert_eq!(fires(rule, input), want, "{rule}");
    }
}

#[test]
fn native_expressions() {
    let req = http_request(
        b"GET /x HTTP/1.1\r\nHost: a.example\r\nAuthorization: Basic Zm9v\r\nX-Api: ${jndi:ldap://x}\r\nUser-Agent: Nikto\r\n\r\n",
    )
    .unwrap();
    let cases: &[(&str, bool)] = &[
        (
            r#"rule 1 "t" { when http.request and any(http.header.value) contains "${jndi:" nocase }"#,
            true,
        ),
        (
            r#"rule 1 "t" { when http.user_agent matches /(sqlmap|nikto)/i }"#,
            true,
        ),
        (
            r#"rule 1 "t" { when http.header["authorization"] startswith "Basic " and not ip.dst in [10.0.0.0/8] }"#,
            true,
        ),
        (
            r#"rule 1 "t" { when http.header["authorization"] startswith "Bearer " }"#,
            false,
        ),
        (
            r#"rule 1 "t" { when http.uri contains "/y" or http.user_agent contains "Nikto" }"#,
            true,
        ),
        (
            r#"rule 1 "t" { when http.uri contains "/y" or http.user_agent contains "curl" }"#,
            false,
        ),
        (r#"rule 1 "t" { when not http.uri contains "/x" }"#, false),
        (
            r#"rule 1 "t" { when all(http.header.value) contains "a" }"#,
            false,
        ),
    ];
    for (text, want) in cases {
        let (set, diags) =
            sensor_rules::RuleSet::load_str("t.vigil", text, &sensor_rules::LoadOptions::default());
        if set.is_empty() {
            // The native front end may not accept this construct yet.
            eprintln!("skipped native case {text}: {diags:?}");
            continue;
        }
        let rs = set.into_rules();
        let engine = EngineBuilder::new().rules(rs.clone()).build().unwrap();
        let reference = Reference::new(rs).unwrap();
        let mut scratch = Scratch::new();
        let got = !engine.matching_rules(&req, &mut scratch).is_empty();
        assert_eq!(got, !reference.matching_rules(&req).is_empty(), "{text}");
        assert_eq!(got, *want, "{text}");
    }
}

#[test]
fn pass_and_noalert() {
    let rs = rules(concat!(
        r#"alert tcp any any -> any any (msg:"a"; content:"evil"; sid:1;)"#,
        "\n",
        r#"alert tcp any any -> any any (msg:"b"; content:"evil"; noalert; sid:2;)"#,
        "\n",
        r#"pass tcp any any -> any any (msg:"c"; content:"trusted"; sid:3;)"#,
        "\n",
    ));
    let engine = EngineBuilder::new().rules(rs).build().unwrap();
    let mut scratch = Scratch::new();
    let mut alerts: Vec<(u32, u32)> = Vec::new();
    engine.inspect(&payload("evil"), &mut scratch, &mut alerts);
    assert_eq!(alerts, [(1, 1)]);
    alerts.clear();
    let mut actions = Vec::new();
    engine.inspect(
        &payload("evil trusted"),
        &mut scratch,
        &mut |m: &sensor_engine::Match<'_>| actions.push((m.sid, m.action)),
    );
    assert_eq!(actions, [(3, sensor_rules::ir::Action::Pass)]);
}

#[test]
fn thresholds_follow_packet_time() {
    let rs = rules(concat!(
        r#"alert tcp any any -> any any (msg:"limit"; content:"x"; threshold:type limit, track by_src, count 2, seconds 10; sid:1;)"#,
        "\n",
        r#"alert tcp any any -> any any (msg:"threshold"; content:"x"; threshold:type threshold, track by_src, count 3, seconds 10; sid:2;)"#,
        "\n",
        r#"alert tcp any any -> any any (msg:"both"; content:"x"; threshold:type both, track by_dst, count 2, seconds 10; sid:3;)"#,
        "\n",
        r#"alert tcp any any -> any any (msg:"df"; content:"x"; detection_filter:track by_src, count 3, seconds 10; sid:4;)"#,
        "\n",
    ));
    let engine = EngineBuilder::new().rules(rs).build().unwrap();
    let mut scratch = Scratch::new();
    let mut per_sid = [0u32; 5];
    let mut input = payload("x");
    // Seven events one second apart, then seven in the next window.
    for t in (0..7).chain(20..27) {
        input.meta.timestamp_ns = t * 1_000_000_000;
        engine.inspect(&input, &mut scratch, &mut |m: &sensor_engine::Match<'_>| {
            per_sid[m.sid as usize] += 1
        });
    }
    // limit: 2 per window; threshold: every 3rd (2 per window of 7);
    // both: once per window; detection_filter: events 4..7 (4 per window).
    assert_eq!(&per_sid[1..], &[4, 4, 2, 8]);
}

#[test]
fn rate_table_is_bounded() {
    let rs = rules(
        r#"alert tcp any any -> any any (msg:"limit"; content:"x"; threshold:type limit, track by_src, count 1, seconds 60; sid:1;)"#,
    );
    let engine = EngineBuilder::new()
        .rate_capacity(64)
        .rules(rs)
        .build()
        .unwrap();
    let mut scratch = Scratch::new();
    let mut input = payload("x");
    let mut alerts = 0;
    for i in 0..1000u32 {
        input.meta.src = std::net::IpAddr::V4(i.into());
        input.meta.timestamp_ns = u64::from(i);
        alerts += engine.inspect(&input, &mut scratch, &mut |_: &sensor_engine::Match<'_>| {});
    }
    // Every source is new: each alerts once.
    assert_eq!(alerts, 1000);
    let stats = engine.rates().stats();
    assert!(stats.tracked <= stats.capacity, "{stats:?}");
    assert!(stats.evictions > 0, "{stats:?}");
}

#[test]
fn response_only_buffers_are_ignored_on_requests() {
    let mut req = TestInput::new(InputKind::HttpRequest);
    req.set(BufferId::HttpStatCode, b"200");
    let rule = r#"http any any -> any any (msg:"t"; http.stat_code; content:"200"; sid:1;)"#;
    assert!(!fires(rule, &req));
}

/// The literals of buffers that lie within another (method, raw URI and
/// protocol within the request line, the raw header block within the
/// payload) are looked for by one scan of the container: each is still
/// found when its buffer lies within the container, when it does not,
/// and when the container is missing; and one that occurs in the
/// container only outside its buffer raises nothing.
#[test]
fn parts_of_a_container_are_found_wherever_they_lie() {
    let text = [
        r#"alert http any any -> any any (msg:"uri"; flow:to_server; http.uri.raw; content:"/secret.php"; sid:1;)"#,
        r#"alert http any any -> any any (msg:"method"; flow:to_server; http.method; content:"PROPFIND"; sid:2;)"#,
        r#"alert http any any -> any any (msg:"line"; flow:to_server; http.request_line; content:"HTTP/1.0"; sid:3;)"#,
        r#"alert http any any -> any any (msg:"proto"; flow:to_server; http.protocol; content:"HTTP/1.0"; sid:4;)"#,
        r#"alert http any any -> any any (msg:"raw"; flow:to_server; http.header.raw; content:"X-Evil: yes"; sid:5;)"#,
        r#"alert http any any -> any any (msg:"head"; flow:to_server; content:"Host: example"; sid:6;)"#,
    ]
    .join("\n");
    let rs = rules(&text);
    let engine = EngineBuilder::new().rules(rs.clone()).build().unwrap();
    let reference = Reference::new(rs).unwrap();
    let head = b"PROPFIND /secret.php HTTP/1.0\r\nHost: example\r\nX-Evil: yes\r\n\r\n";
    let whole = http_request(head).unwrap();
    let mut cases: Vec<(&str, TestInput, Vec<u32>)> =
        vec![("head", whole.clone(), vec![0, 1, 2, 3, 4, 5])];
    let mut apart = whole.clone();
    apart
        .set(BufferId::HttpUriRaw, b"/x/secret.php")
        .set(BufferId::HttpMethod, b"XPROPFIND")
        .set(BufferId::HttpProtocol, b"HTTP/1.0 ")
        .set(BufferId::HttpHeaderRaw, b"X-Evil: yes\r\n");
    cases.push(("parts elsewhere", apart, vec![0, 1, 2, 3, 4, 5]));
    let mut alone = whole.clone();
    alone.bufs[BufferId::HttpRequestLine.index()] = None;
    alone.bufs[BufferId::Payload.index()] = None;
    cases.push(("no containers", alone, vec![0, 1, 3, 4]));
    let mut outside =
        http_request(b"GET /x HTTP/1.1 /secret.php PROPFIND HTTP/1.0\r\n\r\n").unwrap();
    outside
        .set(BufferId::HttpUriRaw, b"/x")
        .set(BufferId::HttpProtocol, b"HTTP/1.1")
        .set(BufferId::Payload, b"GET /x HTTP/1.1 X-Evil: yes\r\n\r\n");
    cases.push(("only outside the parts", outside, vec![2]));
    for (name, input, want) in &cases {
        let mut scratch = Scratch::new();
        let got = engine.matching_rules(input, &mut scratch).to_vec();
        assert_eq!(got, reference.matching_rules(input), "{name}");
        assert_eq!(&got, want, "{name}");
    }
}
