//! Checking PCRE patterns against what Vigil can run: regex-syntax parses
//! them in byte mode (as Suricata matches bytes) with the PCRE flags mapped
//! to its options. Patterns needing backtracking (look-around,
//! backreferences, atomic groups, possessive quantifiers) are reported as
//! unsupported; Vigil only runs linear-time regexes.

use regex_syntax::ast::ErrorKind as AstErrorKind;
use regex_syntax::hir::{Hir, Look};

use crate::diag::DiagnosticKind;
use crate::ir::{Pcre, PcreFlags};

/// Why a pattern cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegexProblem {
    /// [`DiagnosticKind::InvalidRegex`] or [`DiagnosticKind::UnsupportedRegex`].
    pub kind: DiagnosticKind,
    /// Byte offset of the problem within the pattern, when known.
    pub offset: Option<usize>,
    /// Short reason, for grouping.
    pub reason: String,
    /// Message.
    pub message: String,
}

/// Rewrites PCRE syntax that regex-syntax reads differently into an
/// equivalent for match existence: `\Z` (end, or before a final newline),
/// `\h` (horizontal space), `\0NN` (octal), `\<`/`\>` (literal in PCRE, word boundaries in
/// regex-syntax), and `{`/`}` that do not form a quantifier (literal in
/// PCRE, an error in regex-syntax).
fn translate(pattern: &str) -> std::borrow::Cow<'_, str> {
    let b = pattern.as_bytes();
    let needs = b.iter().any(|&c| matches!(c, b'{' | b'}'))
        || pattern.contains("\\Z")
        || pattern.contains("\\h")
        || pattern.contains("\\0")
        || pattern.contains("\\<")
        || pattern.contains("\\>");
    if !needs {
        return pattern.into();
    }
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    let mut class_start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\\' if i + 1 < b.len() => {
                let n = b[i + 1];
                match n {
                    b'Z' if !in_class => out.push_str(r"(?:\n?\z)"),
                    b'h' if in_class => out.push_str(r"\t "),
                    b'h' => out.push_str(r"[\t ]"),
                    b'<' | b'>' => out.push(n as char),
                    // PCRE octal `\0`, `\012`: regex-syntax's octal mode
                    // would also read `\1` (a backreference) as octal.
                    b'0' => {
                        let mut value = 0u32;
                        let mut j = i + 2;
                        while j < b.len() && j < i + 4 && (b'0'..=b'7').contains(&b[j]) {
                            value = value * 8 + u32::from(b[j] - b'0');
                            j += 1;
                        }
                        out.push_str(&format!("\\x{{{value:02x}}}"));
                        i = j;
                        continue;
                    }
                    // `\x{ff}`, `\p{L}`: the braces belong to the escape.
                    b'x' | b'p' | b'P' | b'o' if b.get(i + 2) == Some(&b'{') => {
                        let end = pattern[i..].find('}').map_or(b.len(), |e| i + e + 1);
                        out.push_str(&pattern[i..end]);
                        i = end;
                        continue;
                    }
                    _ => {
                        // Copy the escape whole (it may be multi-byte UTF-8).
                        let len = pattern[i + 1..].chars().next().map_or(1, char::len_utf8);
                        out.push_str(&pattern[i..i + 1 + len]);
                        i += 1 + len;
                        continue;
                    }
                }
                i += 2;
                continue;
            }
            b'[' if !in_class => {
                in_class = true;
                class_start = i;
                out.push('[');
            }
            // `]` first in a class (after `[` or `[^`) is a literal.
            b']' if in_class
                && i != class_start + 1
                && !(i == class_start + 2 && b[class_start + 1] == b'^') =>
            {
                in_class = false;
                out.push(']');
            }
            b'{' if !in_class => match quantifier_len(&b[i..]) {
                Some(len) => {
                    out.push_str(&pattern[i..i + len]);
                    i += len;
                    continue;
                }
                None => out.push_str(r"\{"),
            },
            b'}' if !in_class => out.push_str(r"\}"),
            _ => {
                let len = pattern[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&pattern[i..i + len]);
                i += len;
                continue;
            }
        }
        i += 1;
    }
    if out == pattern {
        pattern.into()
    } else {
        out.into()
    }
}

/// Length of a PCRE counted repetition (`{3}`, `{3,}`, `{3,5}`) at the
/// start of `b`, if it is one.
fn quantifier_len(b: &[u8]) -> Option<usize> {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > s
    };
    if !digits(&mut i) {
        return None;
    }
    if b.get(i) == Some(&b',') {
        i += 1;
        digits(&mut i);
    }
    (b.get(i) == Some(&b'}')).then_some(i + 1)
}

/// Parses a pattern with PCRE flags into a regex-syntax [`Hir`], in byte
/// mode (no Unicode, matches arbitrary bytes).
///
/// ```
/// use sensor_rules::ir::PcreFlags;
/// use sensor_rules::regex::parse_pcre;
/// assert!(parse_pcre(r"^GET\s+/x", PcreFlags::default()).is_ok());
/// let err = parse_pcre(r"foo(?=bar)", PcreFlags::default()).unwrap_err();
/// assert_eq!(err.reason, "regex needs look-around");
/// ```
pub fn parse_pcre(pattern: &str, flags: PcreFlags) -> Result<Hir, RegexProblem> {
    if has_possessive(pattern) {
        return Err(RegexProblem {
            kind: DiagnosticKind::UnsupportedRegex,
            offset: None,
            reason: "regex uses a PCRE-only feature".into(),
            message:
                "regex uses a PCRE-only feature: possessive quantifiers need a backtracking engine"
                    .into(),
        });
    }
    let translated = translate(pattern);
    let same_offsets = matches!(translated, std::borrow::Cow::Borrowed(_));
    let mut parser = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .case_insensitive(flags.caseless)
        .dot_matches_new_line(flags.dotall)
        .multi_line(flags.multiline)
        .ignore_whitespace(flags.extended)
        .swap_greed(flags.ungreedy)
        .build();
    let hir = parser.parse(&translated).map_err(|e| {
        let (kind_text, offset, unsupported, reason) = match &e {
            regex_syntax::Error::Parse(ast) => {
                let (unsupported, reason) = match ast.kind() {
                    AstErrorKind::UnsupportedLookAround => (true, "regex needs look-around"),
                    AstErrorKind::UnsupportedBackreference => (true, "regex needs backreferences"),
                    // PCRE syntax regex-syntax does not know: atomic groups
                    // `(?>`, `(?|`, `\K`, `\R`, callouts... Valid PCRE that
                    // needs a backtracking engine or a PCRE-only feature.
                    AstErrorKind::FlagUnrecognized
                    | AstErrorKind::FlagUnexpectedEof
                    | AstErrorKind::EscapeUnrecognized
                    | AstErrorKind::GroupNameInvalid => (true, "regex uses a PCRE-only feature"),
                    _ => (false, "regex does not compile"),
                };
                (
                    ast.kind().to_string(),
                    Some(ast.span().start.offset),
                    unsupported,
                    reason,
                )
            }
            regex_syntax::Error::Translate(t) => (
                t.kind().to_string(),
                Some(t.span().start.offset),
                false,
                "regex does not compile",
            ),
            other => (other.to_string(), None, false, "regex does not compile"),
        };
        RegexProblem {
            kind: if unsupported {
                DiagnosticKind::UnsupportedRegex
            } else {
                DiagnosticKind::InvalidRegex
            },
            offset: if same_offsets { offset } else { None },
            reason: reason.to_string(),
            message: format!("{reason}: {kind_text}"),
        }
    })?;
    Ok(if flags.anchored {
        Hir::concat(vec![Hir::look(Look::Start), hir])
    } else {
        hir
    })
}

/// [`parse_pcre`] for a rule's [`Pcre`].
pub fn pcre_hir(pcre: &Pcre) -> Result<Hir, RegexProblem> {
    parse_pcre(&pcre.pattern, pcre.flags)
}

/// Whether the pattern uses a possessive quantifier (`a++`, `\d*+`,
/// `x{2}+`), outside escapes and classes. regex-syntax reads `a++` as
/// `(a+)+`, which matches where PCRE's possessive form may not.
fn has_possessive(pattern: &str) -> bool {
    let b = pattern.as_bytes();
    let mut in_class = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'+' | b'*' | b'?' | b'}' if !in_class && b.get(i + 1) == Some(&b'+') => {
                // `(?+` is not a quantifier; `}` must close a counted repetition.
                let quantifier = match b[i] {
                    b'?' => i > 0 && b[i - 1] != b'(',
                    b'}' => pattern[..=i]
                        .rfind('{')
                        .is_some_and(|o| quantifier_len(&b[o..]) == Some(i + 1 - o)),
                    _ => true,
                };
                if quantifier {
                    return true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(pattern: &str) -> Option<String> {
        parse_pcre(pattern, PcreFlags::default())
            .err()
            .map(|p| p.reason)
    }

    #[test]
    fn pcre_syntax_accepted() {
        for p in [
            r"^GET\s+/[a-z]{2,8}\.php\?id=\d+",
            r"\${\s*jndi",
            r"x{?\s*}",
            r"[^\s\>]+\<",
            r"\x00\x{ff}\0\012",
            r"a\Z",
            r"\h+",
            r"[]a]",
            r"(?P<n>a)|(?<m>b)",
            "caf\u{e9}",
        ] {
            assert_eq!(reason(p), None, "{p}");
        }
    }

    #[test]
    fn pcre_syntax_rejected() {
        for (p, r) in [
            (r"a(?=b)", "regex needs look-around"),
            (r"(?<!a)b", "regex needs look-around"),
            (r"(a)\1", "regex needs backreferences"),
            (r"(?>a+)b", "regex uses a PCRE-only feature"),
            (r"a++", "regex uses a PCRE-only feature"),
            (r"a(b", "regex does not compile"),
            (r"[a-", "regex does not compile"),
            (r"a{5,2}", "regex does not compile"),
        ] {
            assert_eq!(reason(p).as_deref(), Some(r), "{p}");
        }
    }

    #[test]
    fn flags_change_matching() {
        use regex_automata::meta::Regex;
        let build = |p: &str, flags: PcreFlags| {
            Regex::builder()
                .build_from_hir(&parse_pcre(p, flags).unwrap())
                .unwrap()
        };
        let caseless = PcreFlags {
            caseless: true,
            ..PcreFlags::default()
        };
        assert!(build("abc", caseless).is_match(b"xABCx".as_slice()));
        assert!(!build("abc", PcreFlags::default()).is_match(b"ABC".as_slice()));
        let anchored = PcreFlags {
            anchored: true,
            ..PcreFlags::default()
        };
        assert!(!build("b", anchored).is_match(b"ab".as_slice()));
        // Bytes, not UTF-8.
        assert!(build(r"\xff", PcreFlags::default()).is_match(b"\xff".as_slice()));
        assert!(build(r"x{?\}", PcreFlags::default()).is_match(b"x}".as_slice()));
    }
}
