//! HTTP parser tests: feeding byte streams the way reassembly does.

use super::*;

/// Feeds `data` on `side` as reassembly would: skippable bytes dropped.
fn drive(state: &mut HttpState, side: Side, mut data: &[u8], out: &mut Vec<HttpOutput>) -> u64 {
    let mut skipped = 0;
    while !data.is_empty() {
        let s = state.skippable(side);
        if s > 0 {
            let k = s.min(data.len() as u64);
            state.skip(side, k);
            skipped += k;
            data = &data[k as usize..];
            continue;
        }
        let used = state.feed(side, data, 0, out);
        data = &data[used..];
    }
    skipped
}

fn requests(out: &[HttpOutput]) -> Vec<&HttpRequest> {
    out.iter()
        .filter_map(|o| match o {
            HttpOutput::Request(r) => Some(&**r),
            _ => None,
        })
        .collect()
}

fn anomalies(out: &[HttpOutput]) -> Vec<HttpAnomaly> {
    let mut v: Vec<HttpAnomaly> = out
        .iter()
        .flat_map(|o| match o {
            HttpOutput::Anomaly(a) => vec![*a],
            HttpOutput::Request(r) => r.anomalies.clone(),
            HttpOutput::Response { response, .. } => response.anomalies.clone(),
        })
        .collect();
    v.dedup();
    v
}

fn parse_one(raw: &[u8]) -> (Vec<HttpOutput>, HttpState) {
    let mut st = HttpState::new(HttpConfig::default());
    let mut out = Vec::new();
    drive(&mut st, Side::ToServer, raw, &mut out);
    (out, st)
}

/// A request, its raw Host and its normalized host.
type HostCase = (&'static [u8], Option<&'static [u8]>, Option<&'static [u8]>);

#[test]
fn hostname_is_normalized_and_host_stays_raw() {
    let cases: &[HostCase] = &[
        (
            b"GET /h HTTP/1.1\r\nHost: INTRANET.Example:8080\r\n\r\n",
            Some(b"INTRANET.Example:8080"),
            Some(b"intranet.example"),
        ),
        (
            b"GET /h HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
            Some(b"[::1]:8080"),
            Some(b"[::1]"),
        ),
        (
            b"GET /h HTTP/1.1\r\nHost: [2001:DB8::1]\r\n\r\n",
            Some(b"[2001:DB8::1]"),
            Some(b"[2001:db8::1]"),
        ),
        // Absolute form: the target's authority wins, as in libhtp.
        (
            b"GET http://User@Proxy.Example:3128/x HTTP/1.1\r\nHost: other\r\n\r\n",
            Some(b"other"),
            Some(b"proxy.example"),
        ),
        (
            b"GET http://Proxy.Example/x HTTP/1.1\r\n\r\n",
            None,
            Some(b"proxy.example"),
        ),
        (b"GET /h HTTP/1.0\r\n\r\n", None, None),
        (b"GET /h HTTP/1.1\r\nHost: :80\r\n\r\n", Some(b":80"), None),
    ];
    for (raw, host, hostname) in cases {
        let (out, _) = parse_one(raw);
        let reqs = requests(&out);
        assert_eq!(reqs.len(), 1, "{}", String::from_utf8_lossy(raw));
        assert_eq!(reqs[0].host(), *host, "{}", String::from_utf8_lossy(raw));
        assert_eq!(
            reqs[0].hostname(),
            *hostname,
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
}

#[test]
fn simple_request_fields() {
    let (out, _) = parse_one(
        b"GET /a/../b%20c?x=1 HTTP/1.1\r\nHost: Example.COM\r\nUser-Agent: curl/8\r\nCookie: a=b\r\n\r\n",
    );
    let reqs = requests(&out);
    assert_eq!(reqs.len(), 1);
    let r = reqs[0];
    assert_eq!(r.method(), b"GET");
    assert_eq!(r.uri_raw(), b"/a/../b%20c?x=1");
    assert_eq!(r.uri(), b"/b c?x=1");
    assert_eq!(r.protocol(), b"HTTP/1.1");
    assert_eq!(r.host(), Some(&b"Example.COM"[..]));
    assert_eq!(r.hostname(), Some(&b"example.com"[..]));
    assert_eq!(r.user_agent(), Some(&b"curl/8"[..]));
    assert_eq!(r.cookie(), Some(&b"a=b"[..]));
    assert_eq!(r.request_line(), b"GET /a/../b%20c?x=1 HTTP/1.1");
    assert_eq!(r.body, BodyHint::None);
    assert!(r.anomalies.is_empty());
    assert_eq!(
        r.headers.normalized_headers(),
        b"Host: Example.COM\r\nUser-Agent: curl/8\r\nCookie: a=b\r\n"
    );
}

#[test]
fn headers_split_at_every_byte() {
    let raw = b"POST /upload HTTP/1.1\r\nhost: h\r\ncontent-length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\n\r\n";
    for split in 1..raw.len() {
        let mut st = HttpState::new(HttpConfig::default());
        let mut out = Vec::new();
        let skipped = drive(&mut st, Side::ToServer, &raw[..split], &mut out)
            + drive(&mut st, Side::ToServer, &raw[split..], &mut out);
        let reqs = requests(&out);
        assert_eq!(reqs.len(), 2, "split {split}");
        assert_eq!(reqs[0].uri(), b"/upload");
        assert_eq!(reqs[0].content_length, Some(5));
        assert_eq!(reqs[1].uri(), b"/next");
        assert_eq!(reqs[1].tx_id, 1);
        assert_eq!(skipped, 5, "split {split}");
    }
}

#[test]
fn obs_fold_repeated_and_case_insensitive_headers() {
    let (out, _) = parse_one(
        b"GET / HTTP/1.1\r\nX-Long: first\r\n  second\r\n\tthird\r\nACCEPT: a\r\naccept: b\r\n\r\n",
    );
    let r = requests(&out)[0];
    assert_eq!(r.headers.get(b"x-long"), Some(&b"first second third"[..]));
    assert_eq!(r.headers.get(b"Accept"), Some(&b"a"[..]));
    assert_eq!(
        r.headers.get_all(b"accept").collect::<Vec<_>>(),
        vec![&b"a"[..], &b"b"[..]]
    );
    assert!(anomalies(&out).contains(&HttpAnomaly::ObsFold));
}

#[test]
fn pipelining_and_pairing() {
    let mut st = HttpState::new(HttpConfig::default());
    let mut out = Vec::new();
    drive(
        &mut st,
        Side::ToServer,
        b"GET /1 HTTP/1.1\r\n\r\nHEAD /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n",
        &mut out,
    );
    assert_eq!(requests(&out).len(), 3);
    out.clear();
    // A HEAD response has no body even with a Content-Length.
    let skipped = drive(
        &mut st,
        Side::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nContent-Type: text/html\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
        &mut out,
    );
    let pairs: Vec<(Vec<u8>, u16, u64)> = out
        .iter()
        .filter_map(|o| match o {
            HttpOutput::Response { request, response } => Some((
                request.as_ref().unwrap().uri().to_vec(),
                response.status_code,
                response.tx_id,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        pairs,
        vec![
            (b"/1".to_vec(), 200, 0),
            (b"/2".to_vec(), 200, 1),
            (b"/3".to_vec(), 404, 2)
        ]
    );
    assert_eq!(skipped, 3 + 4);
    if let HttpOutput::Response { response, .. } = &out[2] {
        assert_eq!(response.content_type(), Some(&b"text/html"[..]));
        assert_eq!(response.reason(), b"Not Found");
        assert_eq!(response.response_line(), b"HTTP/1.1 404 Not Found");
    }
}

#[test]
fn interim_100_continue_does_not_end_the_transaction() {
    let mut st = HttpState::new(HttpConfig::default());
    let mut out = Vec::new();
    drive(
        &mut st,
        Side::ToServer,
        b"PUT /x HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
        &mut out,
    );
    drive(
        &mut st,
        Side::ToClient,
        b"HTTP/1.1 100 Continue\r\n\r\n",
        &mut out,
    );
    drive(&mut st, Side::ToServer, b"ok", &mut out);
    drive(
        &mut st,
        Side::ToClient,
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        &mut out,
    );
    let codes: Vec<u16> = out
        .iter()
        .filter_map(|o| match o {
            HttpOutput::Response { response, request } => {
                assert!(request.is_some());
                Some(response.status_code)
            }
            _ => None,
        })
        .collect();
    assert_eq!(codes, vec![201]);
}

#[test]
fn chunked_request_body_with_extensions_and_trailers() {
    let (out, st) = parse_one(
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\nGET /after HTTP/1.1\r\n\r\n",
    );
    let reqs = requests(&out);
    assert_eq!(reqs.len(), 2);
    assert!(reqs[0].chunked);
    assert_eq!(reqs[0].body, BodyHint::Chunked);
    assert_eq!(reqs[1].uri(), b"/after");
    assert_eq!(st.body_hint(Side::ToServer), None);
}

#[test]
fn smuggling_and_length_anomalies() {
    let (out, _) = parse_one(
        b"POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    let a = anomalies(&out);
    assert!(a.contains(&HttpAnomaly::ConflictingContentLength), "{a:?}");
    assert!(a.contains(&HttpAnomaly::ContentLengthWithChunked), "{a:?}");
    let (out, _) = parse_one(b"GET / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n");
    assert!(anomalies(&out).contains(&HttpAnomaly::InvalidContentLength));
}

#[test]
fn malformed_lines_are_anomalies_not_panics() {
    let cases: &[(&[u8], HttpAnomaly)] = &[
        (b"GET /\r\n\r\n", HttpAnomaly::MissingVersion),
        (b"GET / HTTP/9.9\r\n\r\n", HttpAnomaly::UnknownVersion),
        (
            b"GET / HTTP/1.1\r\nNoColonHere\r\n\r\n",
            HttpAnomaly::HeaderWithoutColon,
        ),
        (
            b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            HttpAnomaly::SpaceBeforeColon,
        ),
        (
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            HttpAnomaly::InvalidHeaderName,
        ),
        (b"GET / HTTP/1.1\nHost: x\n\n", HttpAnomaly::BareLf),
        (b"G\x01T / HTTP/1.1\r\n\r\n", HttpAnomaly::InvalidMethod),
        (b"GET\r\n\r\n", HttpAnomaly::InvalidRequestLine),
        (
            b"\x16\x03\x01garbage\r\n\r\n",
            HttpAnomaly::GarbageBeforeMessage,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            HttpAnomaly::AmbiguousHost,
        ),
    ];
    for (raw, want) in cases {
        let (out, _) = parse_one(raw);
        assert!(
            anomalies(&out).contains(want),
            "{:?}: {:?}",
            String::from_utf8_lossy(raw),
            anomalies(&out)
        );
    }
}

#[test]
fn header_block_limit() {
    let mut st = HttpState::new(HttpConfig {
        max_header_bytes: 64,
        ..HttpConfig::default()
    });
    let mut out = Vec::new();
    let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
    raw.extend_from_slice(&[b'a'; 100]);
    drive(&mut st, Side::ToServer, &raw, &mut out);
    assert!(anomalies(&out).contains(&HttpAnomaly::HeaderBlockTooLong));
    // The parser resynchronizes at the next request line.
    out.clear();
    drive(
        &mut st,
        Side::ToServer,
        b"\r\n\r\nGET /ok HTTP/1.1\r\n\r\n",
        &mut out,
    );
    assert_eq!(requests(&out).len(), 1);
}

#[test]
fn gap_in_headers_resyncs_at_next_request() {
    let mut st = HttpState::new(HttpConfig::default());
    let mut out = Vec::new();
    drive(
        &mut st,
        Side::ToServer,
        b"GET /lost HTTP/1.1\r\nHo",
        &mut out,
    );
    st.gap(Side::ToServer, 100, &mut out);
    drive(
        &mut st,
        Side::ToServer,
        b"st: x\r\n\r\nGET /found HTTP/1.1\r\n\r\n",
        &mut out,
    );
    let reqs = requests(&out);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].uri(), b"/found");
    assert!(anomalies(&out).contains(&HttpAnomaly::GapInHeaders));
}

#[test]
fn gap_inside_body_is_harmless() {
    let mut st = HttpState::new(HttpConfig::default());
    let mut out = Vec::new();
    drive(
        &mut st,
        Side::ToServer,
        b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789",
        &mut out,
    );
    assert_eq!(st.body_hint(Side::ToServer), Some(BodyHint::Length(90)));
    st.gap(Side::ToServer, 50, &mut out);
    drive(&mut st, Side::ToServer, &[b'x'; 40], &mut out);
    drive(
        &mut st,
        Side::ToServer,
        b"GET /2 HTTP/1.1\r\n\r\n",
        &mut out,
    );
    assert_eq!(requests(&out).len(), 2);
}

#[test]
fn response_without_length_reads_until_close_and_connect_tunnels() {
    let mut st = HttpState::new(HttpConfig::default());
    let mut out = Vec::new();
    drive(
        &mut st,
        Side::ToServer,
        b"CONNECT example.com:443 HTTP/1.1\r\n\r\n",
        &mut out,
    );
    drive(
        &mut st,
        Side::ToClient,
        b"HTTP/1.1 200 Connection established\r\n\r\n",
        &mut out,
    );
    assert_eq!(st.skippable(Side::ToServer), u64::MAX);
    assert_eq!(st.skippable(Side::ToClient), u64::MAX);
    let mut st = HttpState::new(HttpConfig::default());
    drive(&mut st, Side::ToServer, b"GET / HTTP/1.0\r\n\r\n", &mut out);
    drive(
        &mut st,
        Side::ToClient,
        b"HTTP/1.0 200 OK\r\n\r\nbody...",
        &mut out,
    );
    assert_eq!(st.body_hint(Side::ToClient), Some(BodyHint::UntilClose));
}

#[test]
fn response_without_request_is_flagged() {
    let mut st = HttpState::new(HttpConfig::default());
    let mut out = Vec::new();
    drive(
        &mut st,
        Side::ToClient,
        b"HTTP/1.1 204 No Content\r\n\r\n",
        &mut out,
    );
    assert!(anomalies(&out).contains(&HttpAnomaly::ResponseWithoutRequest));
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap deterministic fuzz: xorshift bytes biased towards HTTP syntax.
    let alphabet =
        b"GET POST HTTP/1.1\r\n:; \t0123456789abcdefContent-Length: chunked Transfer-Encoding";
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..300 {
        let mut st = HttpState::new(HttpConfig {
            max_header_bytes: 512,
            max_pending_requests: 4,
        });
        let mut out = Vec::new();
        for _ in 0..8 {
            let mut chunk = Vec::new();
            for _ in 0..64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                chunk.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            let side = if x & 1 == 0 {
                Side::ToServer
            } else {
                Side::ToClient
            };
            drive(&mut st, side, &chunk, &mut out);
            if x & 6 == 0 {
                st.gap(side, x % 50, &mut out);
            }
        }
    }
}

#[test]
fn spaces_in_the_request_target() {
    let (out, _) = parse_one(b"GET /a b/../c HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = requests(&out)[0];
    assert_eq!(r.uri_raw(), b"/a b/../c");
    assert_eq!(r.uri(), b"/c");
    assert_eq!(r.protocol(), b"HTTP/1.1");
    assert!(r.anomalies.contains(&HttpAnomaly::SpaceInUri));
    // Without a version at the end the third token stays the version.
    let (out, _) = parse_one(b"GET /a b\r\n\r\n");
    let r = requests(&out)[0];
    assert_eq!(r.uri_raw(), b"/a");
    assert!(r.anomalies.contains(&HttpAnomaly::UnknownVersion));
}
