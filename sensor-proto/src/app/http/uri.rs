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
    let mut decoded = Vec::with_capacity(path.len());
    percent_decode(path, &mut decoded);
    // Backslashes are path separators to IIS and Windows targets.
    for b in decoded.iter_mut() {
        if *b == b'\\' {
            *b = b'/';
        }
    }
    remove_dot_segments(&decoded, out);
    percent_decode(query, out);
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut out = Vec::new();
        for (raw, want) in cases {
            normalize_uri(raw, &mut out);
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(want),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
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
