//! Typical contents of each buffer, on which a literal set's scanner
//! candidates are costed ([`crate::scan::Scanner::new`]).
//!
//! Why a sample rather than a formula: which gram filter stride is
//! cheapest depends less on the literals' count than on how often their
//! keys occur in what the sensor sees. A longer stride halves the probes
//! but hands the literals too short for it to a [`crate::teddy::Teddy`];
//! whether that Teddy stays quiet depends on those literals: with 5,000
//! ET Open rules, `http.header` at stride 4 gave its Teddy 13 literals
//! whose windows (`\r\nx-`, ...) every browser head holds, and cost 60 ns
//! per request more than stride 3, while `payload` at stride 4 saved 100
//! ns over stride 2. Costing each candidate on a browser's head tells
//! them apart.
//!
//! The heads are typical of browsers and servers, written for this
//! purpose (not taken from the benchmark's captures).

use crate::input::BufferId;
use crate::literals::ScanSlot;

const REQUEST_LINE: &[u8] =
    b"GET /search?q=network+intrusion+detection&source=hp&ei=9kQ2ZqW HTTP/1.1";
const REQUEST_LINE_2: &[u8] = b"GET /assets/js/vendor.min.js?v=3.7.1 HTTP/1.1";
const REQUEST_LINE_3: &[u8] = b"GET /index.html HTTP/1.1";
const URIS: &[&[u8]] = &[
    b"/search?q=network+intrusion+detection&source=hp&ei=9kQ2ZqW",
    b"/assets/js/vendor.min.js?v=3.7.1",
    b"/api/v2/users/1842/notifications?limit=20&unread=true",
    b"/index.html",
];
const HOSTS: &[&[u8]] = &[
    b"www.example.com",
    b"static.cdn-provider.net",
    b"login.microsoftonline.com",
    b"192.168.1.20",
];
const USER_AGENTS: &[&[u8]] = &[
    b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    b"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    b"curl/8.5.0",
];
const COOKIES: &[&[u8]] =
    &[b"_ga=GA1.2.1938472615.1714312345; session_id=7f3a9c0d1e2b4a6c; theme=dark; consent=yes"];
const REFERERS: &[&[u8]] = &[b"https://www.example.com/products/list?page=2"];
const REQUEST_HEAD: &[u8] = b"GET /search?q=network+intrusion+detection&source=hp&ei=9kQ2ZqW HTTP/1.1\r\n\
Host: www.example.com\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
sec-ch-ua-platform: \"Windows\"\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-Dest: document\r\n\
Referer: https://www.example.com/products/list?page=2\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: _ga=GA1.2.1938472615.1714312345; session_id=7f3a9c0d1e2b4a6c; theme=dark; consent=yes\r\n\r\n";
const REQUEST_HEAD_2: &[u8] =
    b"POST /api/v2/users/1842/notifications?limit=20&unread=true HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\n\
Accept: application/json, text/plain, */*\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Content-Type: application/json\r\n\
X-Requested-With: XMLHttpRequest\r\n\
Content-Length: 48\r\n\
Origin: https://www.example.com\r\n\
Connection: keep-alive\r\n\
Cache-Control: no-cache\r\n\r\n";
const RESPONSE_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.24.0\r\n\
Date: Tue, 30 Apr 2024 14:12:09 GMT\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Transfer-Encoding: chunked\r\n\
Connection: keep-alive\r\n\
Vary: Accept-Encoding\r\n\
Cache-Control: private, max-age=0\r\n\
Set-Cookie: session_id=7f3a9c0d1e2b4a6c; Path=/; HttpOnly; Secure; SameSite=Lax\r\n\
Strict-Transport-Security: max-age=31536000\r\n\
Content-Encoding: gzip\r\n\r\n";
const RESPONSE_HEAD_2: &[u8] = b"HTTP/1.1 304 Not Modified\r\n\
Date: Tue, 30 Apr 2024 14:12:10 GMT\r\n\
Server: Apache/2.4.58 (Ubuntu)\r\n\
ETag: \"5e1a-61722b0c4d3c0\"\r\n\
Last-Modified: Mon, 29 Apr 2024 08:01:44 GMT\r\n\
Expires: Wed, 01 May 2024 14:12:10 GMT\r\n\
Cache-Control: public, max-age=86400\r\n\r\n";
/// What scripts and tools send.
const REQUEST_HEAD_3: &[u8] =
    b"GET /index.html HTTP/1.1\r\nHost: 192.168.1.20\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";
const HEADS: &[&[u8]] = &[
    REQUEST_HEAD,
    REQUEST_HEAD_2,
    REQUEST_HEAD_3,
    RESPONSE_HEAD,
    RESPONSE_HEAD_2,
];
const HEADER_NAMES: &[&[u8]] = &[
    b"Host",
    b"Connection",
    b"User-Agent",
    b"Accept",
    b"Referer",
    b"Accept-Encoding",
    b"Accept-Language",
    b"Cookie",
    b"Content-Type",
    b"Server",
    b"Date",
    b"Cache-Control",
];
const HEADER_VALUES: &[&[u8]] = &[
    b"www.example.com",
    b"keep-alive",
    b"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    b"gzip, deflate, br, zstd",
    b"en-US,en;q=0.9",
    b"application/json",
    b"nginx/1.24.0",
    b"Tue, 30 Apr 2024 14:12:09 GMT",
    b"private, max-age=0",
];
const NAMES: &[&[u8]] = &[
    b"www.google.com",
    b"login.microsoftonline.com",
    b"fonts.gstatic.com",
    b"api.github.com",
];

/// Typical contents of the buffers of `slot`; none for a buffer whose
/// contents vary too much to guess (a packet's payload outside HTTP, the
/// status code), where the scanner keeps its formula.
pub(crate) fn haystacks(slot: ScanSlot) -> &'static [&'static [u8]] {
    let id = match slot {
        ScanSlot::HeaderName => return HEADER_NAMES,
        ScanSlot::HeaderValue => return HEADER_VALUES,
        ScanSlot::Alpn => return &[b"h2", b"http/1.1"],
        ScanSlot::Single(id) => id,
    };
    match id {
        // The payload of an HTTP group is the head; of a packet group,
        // anything, but heads are what most TCP payloads that rules with
        // text contents meet.
        BufferId::Payload | BufferId::HttpHeader | BufferId::HttpHeaderRaw => HEADS,
        BufferId::HttpMethod => &[b"GET", b"POST"],
        BufferId::HttpUri | BufferId::HttpUriRaw => URIS,
        BufferId::HttpHost | BufferId::HttpHostRaw => HOSTS,
        BufferId::HttpUserAgent => USER_AGENTS,
        BufferId::HttpHeaderNames => &[
            b"\r\nHost\r\nConnection\r\nUser-Agent\r\nAccept\r\nReferer\r\nAccept-Encoding\r\nAccept-Language\r\nCookie\r\n\r\n",
        ],
        BufferId::HttpCookie => COOKIES,
        BufferId::HttpRequestLine => &[REQUEST_LINE, REQUEST_LINE_2, REQUEST_LINE_3],
        BufferId::HttpProtocol => &[b"HTTP/1.1"],
        BufferId::HttpStatMsg => &[b"OK", b"Not Modified"],
        BufferId::HttpResponseLine => &[b"HTTP/1.1 200 OK", b"HTTP/1.1 304 Not Modified"],
        BufferId::HttpContentType => &[b"text/html; charset=utf-8", b"application/json"],
        BufferId::HttpConnection => &[b"keep-alive"],
        BufferId::HttpAccept => &[b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
        BufferId::HttpAcceptLang => &[b"en-US,en;q=0.9"],
        BufferId::HttpAcceptEnc => &[b"gzip, deflate, br"],
        BufferId::HttpReferer => REFERERS,
        BufferId::TlsSni | BufferId::DnsQuery => NAMES,
        BufferId::HttpStatCode | BufferId::HttpContentLen => &[],
    }
}
