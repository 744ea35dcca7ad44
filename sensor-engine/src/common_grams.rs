//! Grams that nearly every HTTP head contains: a gram filter must not key
//! a literal by one of them when the literal has another choice.
//!
//! Measured on the shared captures with 5,000 ET Open HTTP rules, two in
//! three gram filter verifications of a request came from literals keyed
//! by such grams (`\r\nCo` of `\r\ncommand: `, which every `Connection`
//! and `Cookie` header matches; `\r\nHo` of `... HTTP/1.1\r\nHost: `;
//! `ccep` of `Accept-Encoding: \r\n`), each costing a cache-missing bucket
//! lookup and a failed comparison. The byte ranks ([`crate::scan::rank`])
//! see single bytes only; these are whole header names and the values
//! most clients send.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// Header lines and values common in requests and responses (lowercase;
/// keys are case-folded, so case does not matter).
const COMMON: &[&[u8]] = &[
    b" http/1.1\r\n",
    b" http/1.0\r\n",
    b"http/1.1 200 ok\r\n",
    b"get / http/1.1",
    b"post / http/1.1",
    b"\r\nhost: ",
    b"\r\nconnection: keep-alive\r\n",
    b"\r\nconnection: close\r\n",
    b"\r\ncookie: ",
    b"\r\nset-cookie: ",
    b"\r\nuser-agent: mozilla/5.0 (windows nt 10.0; win64; x64) ",
    b"\r\naccept: */*\r\n",
    b"\r\naccept: text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8\r\n",
    b"\r\naccept-encoding: gzip, deflate, br\r\n",
    b"\r\naccept-language: en-us,en;q=0.5\r\n",
    b"\r\naccept-charset: ",
    b"\r\nreferer: http://www.",
    b"\r\nreferer: https://www.",
    b"\r\ncontent-type: text/html; charset=utf-8\r\n",
    b"\r\ncontent-type: application/x-www-form-urlencoded\r\n",
    b"\r\ncontent-length: ",
    b"\r\ncontent-encoding: gzip\r\n",
    b"\r\ncache-control: no-cache\r\n",
    b"\r\npragma: no-cache\r\n",
    b"\r\nupgrade-insecure-requests: 1\r\n",
    b"\r\nif-modified-since: ",
    b"\r\nif-none-match: ",
    b"\r\nlast-modified: ",
    b"\r\ntransfer-encoding: chunked\r\n",
    b"\r\nserver: apache\r\n",
    b"\r\nserver: nginx\r\n",
    b"\r\ndate: ",
    b"\r\nexpires: ",
    b"\r\netag: ",
    b"\r\nvary: accept-encoding\r\n",
    b"\r\nx-requested-with: xmlhttprequest\r\n",
    b"\r\norigin: https://",
    b"\r\n\r\n",
    b"mozilla/5.0 (macintosh; intel mac os x 10_15_7) applewebkit/537.36 (khtml, like gecko) chrome/120.0.0.0 safari/537.36",
    b"mozilla/4.0 (compatible; msie 6.0; windows nt 5.1)",
    b"www.",
    b".com",
    b".html",
];

/// Whether the (folded) gram `g` occurs in [`COMMON`].
pub(crate) fn is_common(g: u32, fold: impl Fn(&[u8]) -> u32) -> bool {
    static SET: OnceLock<HashSet<u32>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON
            .iter()
            .flat_map(|s| s.windows(4).map(&fold))
            .collect()
    })
    .contains(&g)
}

/// How often the folded bytes `a1` at offset `i1` and `a2` at offset
/// `i2 > i1` (a pair literal's two bytes, [`crate::scan::PairLit`]) occur
/// together in [`COMMON`]: a pair every request has (`u` and `g` of
/// `User-Agent:  `) costs a verification per request however rare its
/// bytes are alone.
pub(crate) fn pair_count(a1: u8, i1: usize, a2: u8, i2: usize) -> usize {
    COMMON
        .iter()
        .map(|s| {
            s.windows(i2 + 1)
                .filter(|w| w[i1] | 0x20 == a1 && w[i2] | 0x20 == a2)
                .count()
        })
        .sum()
}

/// How many times the 3 bytes `w` (any case) occur in [`COMMON`]: a Teddy
/// window there hits on nearly every HTTP head; of those, one in fewer
/// lines is likelier to be missing (`.0\r` of `user-agent: mozilla/5.0\r\n`
/// is only in `http/1.0\r\n`, which no header has; `a/5` is in every
/// browser's user agent).
pub(crate) fn count3(w: &[u8]) -> usize {
    static MAP: OnceLock<HashMap<[u8; 3], usize>> = OnceLock::new();
    let key = [w[0] | 0x20, w[1] | 0x20, w[2] | 0x20];
    MAP.get_or_init(|| {
        let mut m = HashMap::new();
        for s in COMMON {
            for w in s.windows(3) {
                *m.entry([w[0] | 0x20, w[1] | 0x20, w[2] | 0x20])
                    .or_default() += 1;
            }
        }
        m
    })
    .get(&key)
    .copied()
    .unwrap_or(0)
}
