//! URI normalization for matching: percent-decoding, `/./`, `/../` and `//`.
//!
//! The normalized form is what rule content matches against (Suricata's
//! `http.uri`); the raw form stays available as `http.uri.raw`. Only the
//! path is rewritten: the query string is percent-decoded but its slashes
//! and dots are left alone, because `?a=../b` is data, not a path.

/// Writes the normalized form of `raw` into `out` (cleared first).
///
/// ```
/// let mut out = Vec::new();
/// sensor_proto::http::normalize_uri(b"/a/./b//c/../%64?x=%2e%2e/y", &mut out);
/// assert_eq!(out, b"/a/b/d?x=../y");
/// ```
pub fn normalize_uri(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    // Absolute-form ("http://host/path"): keep scheme and authority as they are.
    let mut path_start = 0;
    if let Some(p) = memchr::memmem::find(raw, b"://")
        && raw[..p]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        let after = p + 3;
        path_start = raw[after..]
            .iter()
            .position(|&b| b == b'/')
            .map_or(raw.len(), |i| after + i);
        out.extend_from_slice(&raw[..path_start]);
    }
    let rest = &raw[path_start..];
    let q = rest
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(rest.len());
    let (path, query) = rest.split_at(q);
    if memchr::memchr2(b'%', b'\\', path).is_none() {
        // Nothing to decode (most targets): no copy of the path.
        remove_dot_segments(path, out);
    } else {
        let mut decoded = Vec::with_capacity(path.len());
        percent_decode(path, &mut decoded);
        // Backslashes are path separators to IIS and Windows targets.
        for b in decoded.iter_mut() {
            if *b == b'\\' {
                *b = b'/';
            }
        }
        remove_dot_segments(&decoded, out);
    }
    percent_decode(query, out);
}

/// The authority host of an absolute-form request target
/// (`http://user@Host:8080/x` → `Host:8080`), as sent; `None` for
/// origin-form targets (`/x`), `*` and authority-form (`CONNECT a:443`).
pub(crate) fn uri_authority(raw: &[u8]) -> Option<&[u8]> {
    let p = memchr::memmem::find(raw, b"://")?;
    let scheme = &raw[..p];
    if !scheme.first().is_some_and(u8::is_ascii_alphabetic)
        || !scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return None;
    }
    let rest = &raw[p + 3..];
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = match authority.iter().rposition(|&b| b == b'@') {
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    (!host.is_empty()).then_some(host)
}

/// Writes the normalized form of a host (a `Host` value or the authority of
/// an absolute URI) into `out` (cleared first): what Suricata's `http.host`
/// and EVE `http.hostname` hold (libhtp's normalization). Surrounding
/// whitespace and the port go, an IPv6 literal keeps its brackets, letters
/// are lowercased and trailing dots removed.
///
/// ```
/// let mut out = Vec::new();
/// sensor_proto::http::normalize_host(b"INTRANET.Example:8080", &mut out);
/// assert_eq!(out, b"intranet.example");
/// sensor_proto::http::normalize_host(b"[::1]:8080", &mut out);
/// assert_eq!(out, b"[::1]");
/// ```
pub fn normalize_host(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let start = raw
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(raw.len());
    let end = raw
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r'))
        .map_or(start, |i| i + 1);
    let raw = &raw[start..end.max(start)];
    let host = if raw.first() == Some(&b'[') {
        match raw.iter().position(|&b| b == b']') {
            Some(i) => &raw[..=i],
            None => raw,
        }
    } else {
        match raw.iter().position(|&b| b == b':') {
            Some(i) => &raw[..i],
            None => raw,
        }
    };
    out.extend(host.iter().map(u8::to_ascii_lowercase));
    while out.last() == Some(&b'.') {
        out.pop();
    }
}

/// Appends `input` percent-decoded to `out`; invalid escapes stay literal.
pub fn percent_decode(input: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%'
            && i + 2 < input.len()
            && let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2]))
        {
            out.push((h << 4) | l);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// RFC 3986 section 5.2.4, plus collapsing of empty segments (`//`). A
/// `..` above the root stays at the root.
fn remove_dot_segments(path: &[u8], out: &mut Vec<u8>) {
    let absolute = path.first() == Some(&b'/');
    let trailing = path.ends_with(b"/")
        || path.ends_with(b"/.")
        || path.ends_with(b"/..")
        || path == b"."
        || path == b"..";
    if absolute {
        out.push(b'/');
    }
    // Segments are written to `out` as they come, joined by '/'; ".."
    // truncates the last one away (no vector of segments per request).
    let root = out.len();
    let mut segments = 0usize;
    for seg in path.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                if segments > 0 {
                    segments -= 1;
                    let last = memchr::memrchr(b'/', &out[root..]).map_or(root, |i| root + i);
                    out.truncate(last);
                }
            }
            s => {
                if segments > 0 {
                    out.push(b'/');
                }
                out.extend_from_slice(s);
                segments += 1;
            }
        }
    }
    if trailing && segments > 0 {
        out.push(b'/');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Normalization as first written: decode into a copy, then collect the
    /// segments in a vector. The in-place version must agree with it.
    fn reference_normalize_path(path: &[u8], out: &mut Vec<u8>) {
        let mut decoded = Vec::new();
        percent_decode(path, &mut decoded);
        for b in decoded.iter_mut() {
            if *b == b'\\' {
                *b = b'/';
            }
        }
        let path = &decoded[..];
        let absolute = path.first() == Some(&b'/');
        let trailing = path.ends_with(b"/")
            || path.ends_with(b"/.")
            || path.ends_with(b"/..")
            || path == b"."
            || path == b"..";
        let mut segments: Vec<&[u8]> = Vec::new();
        for seg in path.split(|&b| b == b'/') {
            match seg {
                b"" | b"." => {}
                b".." => {
                    segments.pop();
                }
                s => segments.push(s),
            }
        }
        if absolute {
            out.push(b'/');
        }
        for (i, s) in segments.iter().enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            out.extend_from_slice(s);
        }
        if trailing && !segments.is_empty() {
            out.push(b'/');
        }
    }

    #[test]
    fn in_place_dot_segments_match_the_reference_exhaustively() {
        // Every path of tokens up to 7 bytes long, over an alphabet that makes segments,
        // dots, encoded dots and backslashes.
        let alphabet: &[&[u8]] = &[b"a", b"/", b".", b"\\", b"%2e", b"bc"];
        let mut stack: Vec<Vec<u8>> = vec![Vec::new()];
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        let mut checked = 0;
        while let Some(path) = stack.pop() {
            fast.clear();
            slow.clear();
            normalize_uri(&path, &mut fast);
            reference_normalize_path(&path, &mut slow);
            assert_eq!(fast, slow, "{}", String::from_utf8_lossy(&path));
            checked += 1;
            if path.len() < 7 {
                for t in alphabet {
                    let mut longer = path.clone();
                    longer.extend_from_slice(t);
                    stack.push(longer);
                }
            }
        }
        assert!(checked > 10_000);
    }

    #[test]
    fn host_normalization() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"www.example.com", b"www.example.com"),
            (b"INTRANET.Example:8080", b"intranet.example"),
            (b"Example.COM.", b"example.com"),
            (b"  example.com:80 ", b"example.com"),
            (b"[::1]:8080", b"[::1]"),
            (b"[2001:DB8::1]", b"[2001:db8::1]"),
            (b"[::1", b"[::1"),
            (b"10.0.0.1:443", b"10.0.0.1"),
            (b"", b""),
        ];
        check_all(cases, normalize_host);
    }

    /// Runs `f` on every raw value and compares with the wanted output.
    fn check_all(cases: &[(&[u8], &[u8])], f: fn(&[u8], &mut Vec<u8>)) {
        let mut out = Vec::new();
        for (raw, want) in cases {
            f(raw, &mut out);
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(want),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn authority_of_absolute_targets() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"http://Example.com:8080/a?b", Some(b"Example.com:8080")),
            (b"https://user:pw@[::1]:443", Some(b"[::1]:443")),
            (b"http://h?x=1", Some(b"h")),
            (b"/a?u=http://evil.example/", None),
            (b"/", None),
            (b"*", None),
            (b"example.com:443", None),
            (b"://nohost/x", None),
            (b"http:///x", None),
        ];
        for (raw, want) in cases {
            assert_eq!(
                uri_authority(raw),
                *want,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn normalization_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"/", b"/"),
            (b"/index.html", b"/index.html"),
            (b"/a/./b", b"/a/b"),
            (b"/a/../b", b"/b"),
            (b"/../../etc/passwd", b"/etc/passwd"),
            (b"/a//b///c", b"/a/b/c"),
            (b"/a/b/", b"/a/b/"),
            (b"/a/b/..", b"/a/"),
            (b"/%2e%2e/%2E%2E/etc/passwd", b"/etc/passwd"),
            (b"/cgi-bin/%3Cscript%3E", b"/cgi-bin/<script>"),
            (b"/bad%zzescape%", b"/bad%zzescape%"),
            (b"/a?b=../c&d=%41", b"/a?b=../c&d=A"),
            (b"/x\\..\\y", b"/y"),
            (b"http://example.com//a/../b?q", b"http://example.com/b?q"),
            (b"*", b"*"),
        ];
        check_all(cases, normalize_uri);
    }

    #[test]
    fn percent_decoding_edges() {
        let mut out = Vec::new();
        percent_decode(b"%41%4", &mut out);
        assert_eq!(out, b"A%4");
        out.clear();
        percent_decode(b"%", &mut out);
        assert_eq!(out, b"%");
        out.clear();
        percent_decode(b"%00", &mut out);
        assert_eq!(out, b"\0");
    }
}
