//! Writes the synthetic benchmark capture of issue 5: HTTP/1.1 keep-alive
//! flows with bodies of varied size (Content-Length and chunked), TLS
//! connections (ClientHello with SNI, then encrypted records both ways) and
//! DNS over UDP, interleaved the way concurrent connections are.
//!
//! ```text
//! cargo run --release -p sensor-proto --example gen_bench_pcap -- OUT.pcap [PACKETS]
//! ```
//!
//! PACKETS defaults to 1,600,000. The output is deterministic (fixed seed).

use std::fs::File;
use std::io::BufWriter;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use sensor_packet::LinkType;
use sensor_packet::synth::{self, PcapWriter, TcpConversation, TimedFrame};

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const PATHS: &[&str] = &[
    "/",
    "/index.html",
    "/api/v1/items?id=42",
    "/static/app.js",
    "/images/logo.png",
    "/search?q=network+ids",
    "/login",
    "/cart/add",
    "/a/b/../c/./d.css",
    "/%7Euser/profile",
];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "curl/8.5.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "python-requests/2.31.0",
];

fn client_addr(rng: &mut Rng) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        10,
        rng.below(4) as u8,
        rng.below(250) as u8 + 1,
        rng.below(250) as u8 + 1,
    ))
}

fn server_addr(rng: &mut Rng) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, rng.below(200) as u8 + 1))
}

fn http_flow(rng: &mut Rng, port: u16, out: &mut Vec<TimedFrame>) {
    let client = SocketAddr::new(client_addr(rng), port);
    let server = SocketAddr::new(server_addr(rng), if rng.below(4) == 0 { 8080 } else { 80 });
    let mut c = TcpConversation::new(client, server, 0);
    c.handshake(out);
    for _ in 0..1 + rng.below(8) {
        let path = PATHS[rng.below(PATHS.len() as u64) as usize];
        let ua = AGENTS[rng.below(AGENTS.len() as u64) as usize];
        let post = rng.below(5) == 0;
        let mut req = format!(
            "{} {path} HTTP/1.1\r\nHost: www{}.example.com\r\nUser-Agent: {ua}\r\nAccept: */*\r\nCookie: session={:016x}\r\n",
            if post { "POST" } else { "GET" },
            rng.below(50),
            rng.next()
        )
        .into_bytes();
        if post {
            let n = 100 + rng.below(4000) as usize;
            req.extend_from_slice(
                format!(
                    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {n}\r\n\r\n"
                )
                .as_bytes(),
            );
            req.resize(req.len() + n, b'p');
        } else {
            req.extend_from_slice(b"\r\n");
        }
        c.send(true, &req, out);
        // Body sizes: mostly small, some large.
        let size = match rng.below(10) {
            0..=4 => rng.below(2_000),
            5..=7 => 2_000 + rng.below(20_000),
            _ => 20_000 + rng.below(200_000),
        } as usize;
        let mut resp = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\n".to_vec();
        if rng.below(4) == 0 {
            resp.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            let mut left = size;
            while left > 0 {
                let n = left.min(8192);
                resp.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                resp.resize(resp.len() + n, b'c');
                resp.extend_from_slice(b"\r\n");
                left -= n;
            }
            resp.extend_from_slice(b"0\r\n\r\n");
        } else {
            resp.extend_from_slice(format!("Content-Length: {size}\r\n\r\n").as_bytes());
            resp.resize(resp.len() + size, b'r');
        }
        c.send(false, &resp, out);
    }
    c.close(out);
}

fn client_hello(rng: &mut Rng) -> Vec<u8> {
    let name = format!("svc{}.example.net", rng.below(500));
    let mut exts = Vec::new();
    let mut sni = ((name.len() + 3) as u16).to_be_bytes().to_vec();
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name.as_bytes());
    for (ty, data) in [
        (0u16, sni),
        (10, vec![0, 4, 0, 29, 0, 23]),
        (11, vec![1, 0]),
        (13, vec![0, 4, 4, 3, 8, 4]),
        (
            16,
            vec![
                0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
            ],
        ),
        (43, vec![4, 3, 4, 3, 3]),
    ] {
        exts.extend_from_slice(&ty.to_be_bytes());
        exts.extend_from_slice(&(data.len() as u16).to_be_bytes());
        exts.extend_from_slice(&data);
    }
    let mut body = vec![3, 3];
    body.extend((0..32).map(|_| rng.next() as u8));
    body.push(0);
    let ciphers = [0x1301u16, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030];
    body.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
    for c in ciphers {
        body.extend_from_slice(&c.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut hs = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 3, 1, (hs.len() >> 8) as u8, hs.len() as u8];
    rec.extend_from_slice(&hs);
    rec
}

fn tls_flow(rng: &mut Rng, port: u16, out: &mut Vec<TimedFrame>) {
    let client = SocketAddr::new(client_addr(rng), port);
    let server = SocketAddr::new(server_addr(rng), 443);
    let mut c = TcpConversation::new(client, server, 0);
    c.handshake(out);
    c.send(true, &client_hello(rng), out);
    c.send(false, &vec![0x16; 3000 + rng.below(2000) as usize], out);
    for _ in 0..1 + rng.below(4) {
        c.send(true, &vec![0x17; 100 + rng.below(1500) as usize], out);
        c.send(false, &vec![0x17; 500 + rng.below(30_000) as usize], out);
    }
    c.close(out);
}

fn dns_flow(rng: &mut Rng, port: u16, out: &mut Vec<TimedFrame>) {
    let client = SocketAddr::new(client_addr(rng), port);
    let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 53)), 53);
    let id = rng.next() as u16;
    let name = format!(
        "host{}.zone{}.example.org",
        rng.below(10_000),
        rng.below(20)
    );
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for l in name.split('.') {
        q.push(l.len() as u8);
        q.extend_from_slice(l.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&[0, if rng.below(3) == 0 { 28 } else { 1 }, 0, 1]);
    let mut a = q.clone();
    a[2] = 0x81;
    a[3] = 0x80;
    a[7] = 1;
    a.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 192, 0, 2, 80]);
    out.push((
        0,
        synth::ethernet(&[], &synth::udp_packet(client, server, &q)),
    ));
    out.push((
        0,
        synth::ethernet(&[], &synth::udp_packet(server, client, &a)),
    ));
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .ok_or("usage: gen_bench_pcap OUT.pcap [PACKETS]")?;
    let target: u64 = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_600_000);
    let mut writer = PcapWriter::new(
        BufWriter::with_capacity(1 << 20, File::create(path)?),
        LinkType::Ethernet,
    )?;
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    // Up to 256 connections in progress; each step emits one frame of a
    // random one, so connections interleave.
    let mut active: Vec<std::collections::VecDeque<TimedFrame>> = Vec::new();
    let mut written = 0u64;
    let mut ts: u64 = 1_700_000_000_000_000_000;
    let mut port: u16 = 1024;
    let (mut http, mut tls, mut dns) = (0u64, 0u64, 0u64);
    while written < target {
        while active.len() < 256 {
            port = if port == u16::MAX { 1024 } else { port + 1 };
            let mut frames = Vec::new();
            match rng.below(10) {
                0..=5 => {
                    http_flow(&mut rng, port, &mut frames);
                    http += 1;
                }
                6..=7 => {
                    tls_flow(&mut rng, port, &mut frames);
                    tls += 1;
                }
                _ => {
                    dns_flow(&mut rng, port, &mut frames);
                    dns += 1;
                }
            }
            active.push(frames.into());
        }
        let i = rng.below(active.len() as u64) as usize;
        if let Some((_, frame)) = active[i].pop_front() {
            ts += 1_000 + rng.below(20_000);
            writer.write(ts, &frame)?;
            written += 1;
        }
        if active[i].is_empty() {
            active.swap_remove(i);
        }
    }
    // Finish the connections in progress so every flow is complete.
    for flow in active {
        for (_, frame) in flow {
            ts += 1_000;
            writer.write(ts, &frame)?;
            written += 1;
        }
    }
    writer.into_inner()?;
    eprintln!("{path}: {written} packets; flows started: {http} HTTP, {tls} TLS, {dns} DNS");
    Ok(())
}
