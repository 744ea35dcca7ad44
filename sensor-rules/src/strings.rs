//! Decoding of quoted rule strings: Suricata's `content` syntax with `|hex|`
//! runs and backslash escapes, and plain quoted strings.

/// Why a string could not be decoded, with the byte offset of the problem
/// within the input given to the decoder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringError {
    /// Offset of the offending character in the decoder's input.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Decodes the inside of a Suricata content string (without the quotes):
/// `|0d 0a|` runs are hex bytes (whitespace between digits ignored), and a
/// backslash makes the next character literal (`\"`, `\;`, `\\`, `\|`).
///
/// ```
/// use sensor_rules::strings::decode_content;
/// assert_eq!(decode_content(r#"GET |20 2f|x\"\;"#).unwrap(), b"GET  /x\";");
/// assert!(decode_content("|0d 0|").is_err());
/// ```
pub fn decode_content(s: &str) -> Result<Vec<u8>, StringError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                let Some(&next) = bytes.get(i + 1) else {
                    return Err(StringError {
                        offset: i,
                        message: "a backslash at the end of a content escapes nothing".into(),
                    });
                };
                out.push(next);
                i += 2;
            }
            b'|' => {
                let start = i;
                i += 1;
                let mut high: Option<(u8, usize)> = None;
                loop {
                    let Some(&c) = bytes.get(i) else {
                        return Err(StringError {
                            offset: start,
                            message: "unclosed `|` hex run in content".into(),
                        });
                    };
                    match c {
                        b'|' => break,
                        b' ' | b'\t' => {}
                        _ => {
                            let Some(d) = (c as char).to_digit(16) else {
                                return Err(StringError {
                                    offset: i,
                                    message: format!(
                                        "`{}` is not a hex digit in a `|...|` run",
                                        s[i..].chars().next().unwrap_or('?')
                                    ),
                                });
                            };
                            match high.take() {
                                None => high = Some((d as u8, i)),
                                Some((h, _)) => out.push(h << 4 | d as u8),
                            }
                        }
                    }
                    i += 1;
                }
                if let Some((_, at)) = high {
                    return Err(StringError {
                        offset: at,
                        message: "odd number of hex digits in a `|...|` run".into(),
                    });
                }
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Removes backslash escapes from the inside of a quoted string.
pub fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits a possibly negated, quoted value (`!"abc"`, ` "abc" `) into
/// (negated, the text between the quotes, offset of that text in `raw`).
/// Returns `None` if `raw` is not quoted.
pub fn split_quoted(raw: &str) -> Option<(bool, &str, usize)> {
    let t = raw.trim_start();
    let lead = raw.len() - t.len();
    let (negated, rest, neg_len) = match t.strip_prefix('!') {
        Some(r) => (true, r.trim_start(), 1 + (r.len() - r.trim_start().len())),
        None => (false, t, 0),
    };
    let rest_trimmed = rest.trim_end();
    if rest_trimmed.len() >= 2 && rest_trimmed.starts_with('"') && rest_trimmed.ends_with('"') {
        Some((
            negated,
            &rest_trimmed[1..rest_trimmed.len() - 1],
            lead + neg_len + 1,
        ))
    } else {
        None
    }
}

/// Shows bytes as Suricata writes contents: printable ASCII as is,
/// anything else (and `|`, `"`, `;`) as `|hex|` runs.
///
/// ```
/// assert_eq!(sensor_rules::strings::display_bytes(b"GET /\r\n"), "GET /|0d 0a|");
/// ```
pub fn display_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut in_hex = false;
    for &b in bytes {
        let plain = (0x20..0x7f).contains(&b) && !matches!(b, b'|' | b'"' | b';' | b'\\');
        if plain {
            if in_hex {
                out.push('|');
                in_hex = false;
            }
            out.push(b as char);
        } else {
            if in_hex {
                out.push(' ');
            } else {
                out.push('|');
                in_hex = true;
            }
            out.push_str(&format!("{b:02x}"));
        }
    }
    if in_hex {
        out.push('|');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decoding() {
        for (input, expected) in [
            ("abc", b"abc".to_vec()),
            ("|00 FF|", vec![0, 255]),
            ("|0d0a|x", b"\r\nx".to_vec()),
            ("a|20|b| 41 |", b"a bA".to_vec()),
            (r"\|\\\;\:", b"|\\;:".to_vec()),
        ] {
            assert_eq!(decode_content(input).unwrap(), expected, "{input}");
        }
        for (input, offset, message) in [
            ("ab|0g|", 4, "`g` is not a hex digit in a `|...|` run"),
            ("|0d 0|", 4, "odd number of hex digits in a `|...|` run"),
            ("x|0d", 1, "unclosed `|` hex run in content"),
            (
                "x\\",
                1,
                "a backslash at the end of a content escapes nothing",
            ),
        ] {
            let e = decode_content(input).unwrap_err();
            assert_eq!((e.offset, e.message.as_str()), (offset, message), "{input}");
        }
    }

    #[test]
    fn display_round_trips() {
        for bytes in [
            b"GET / HTTP/1.1\r\n".to_vec(),
            vec![0, 1, b'|', b'"', 255],
            b"plain".to_vec(),
        ] {
            assert_eq!(decode_content(&display_bytes(&bytes)).unwrap(), bytes);
        }
    }
}
