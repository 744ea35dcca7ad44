//! Exact error messages (text, line, column, caret) for the common mistakes.

mod common;

use common::{load, only_diagnostic};
use sensor_rules::{DiagnosticKind, Level};

/// Checks the kind, position and full rendering of the one diagnostic.
fn check(name: &str, text: &str, kind: DiagnosticKind, line: u32, column: u32, rendered: &str) {
    let d = only_diagnostic(name, text);
    assert_eq!(d.to_string(), rendered);
    assert_eq!((d.kind, d.line, d.column), (kind, line, column), "{d}");
}

#[test]
fn missing_semicolon() {
    check(
        "local.rules",
        "alert tcp any any -> any any (msg:\"hello\" sid:1;)\n",
        DiagnosticKind::MissingSemicolon,
        1,
        43,
        r#"error[missing-semicolon]: expected `;` after the value of `msg`
 --> local.rules:1:43
  |
1 | alert tcp any any -> any any (msg:"hello" sid:1;)
  |                                           ^"#,
    );
    // The last option before `)`.
    check(
        "local.rules",
        "\nalert tcp any any -> any any (msg:\"x\"; sid:1)\n",
        DiagnosticKind::MissingSemicolon,
        2,
        45,
        r#"error[missing-semicolon]: expected `;` after the value of `sid`
 --> local.rules:2:45
  |
2 | alert tcp any any -> any any (msg:"x"; sid:1)
  |                                             ^"#,
    );
}

#[test]
fn unknown_keyword() {
    check(
        "local.rules",
        "alert tcp any any -> any any (msg:\"x\"; conent:\"abc\"; sid:2;)",
        DiagnosticKind::UnknownKeyword,
        1,
        40,
        r#"error[unknown-keyword]: unknown rule option `conent`
 --> local.rules:1:40
  |
1 | alert tcp any any -> any any (msg:"x"; conent:"abc"; sid:2;)
  |                                        ^^^^^^"#,
    );
}

#[test]
fn bad_cidr() {
    check(
        "local.rules",
        "alert tcp [10.0.0.0/33,1.2.3.4] any -> any any (sid:3;)",
        DiagnosticKind::BadAddress,
        1,
        12,
        r#"error[bad-address]: invalid CIDR `10.0.0.0/33`: prefix length 33 is longer than 32 bits
 --> local.rules:1:12
  |
1 | alert tcp [10.0.0.0/33,1.2.3.4] any -> any any (sid:3;)
  |            ^^^^^^^^^^^"#,
    );
    check(
        "local.vigil",
        "rule 5 \"cidr\" {\n    when ip.src in [10.0.0.0/40]\n}\n",
        DiagnosticKind::BadAddress,
        2,
        21,
        r#"error[bad-address]: invalid CIDR `10.0.0.0/40`: prefix length 40 is longer than 32 bits
 --> local.vigil:2:21
  |
2 |     when ip.src in [10.0.0.0/40]
  |                     ^^^^^^^^^^^"#,
    );
}

#[test]
fn bad_cidr_in_a_variable() {
    let (_, diags) = sensor_rules::RuleSet::load_str(
        "local.rules",
        "alert tcp $HOME_NET any -> any any (sid:3;)",
        &sensor_rules::LoadOptions::default().var("HOME_NET", "[10.0.0.0/8,300.1.1.1]"),
    );
    assert_eq!(
        diags[0].message,
        "in variable `$HOME_NET` = `[10.0.0.0/8,300.1.1.1]`: invalid address `300.1.1.1`"
    );
    assert_eq!(
        (diags[0].line, diags[0].column, diags[0].span_chars),
        (1, 11, 9)
    );
}

#[test]
fn unclosed_string() {
    check(
        "local.rules",
        "alert tcp any any -> any any (msg:\"unclosed; sid:4;)",
        DiagnosticKind::UnclosedString,
        1,
        35,
        r#"error[unclosed-string]: unclosed string: this `"` has no closing quote
 --> local.rules:1:35
  |
1 | alert tcp any any -> any any (msg:"unclosed; sid:4;)
  |                                   ^"#,
    );
    check(
        "local.vigil",
        "rule 1 \"x\" {\n  when http.uri contains \"abc }\n",
        DiagnosticKind::UnclosedString,
        2,
        26,
        r#"error[unclosed-string]: unclosed string: this `"` has no closing quote
 --> local.vigil:2:26
  |
2 |   when http.uri contains "abc }
  |                          ^"#,
    );
}

#[test]
fn duplicate_sid() {
    let text = "alert http any any -> any any (msg:\"a\"; content:\"a\"; sid:5;)\n\
                alert http any any -> any any (msg:\"b\"; content:\"b\"; sid:5;)\n";
    let (rules, _) = load("local.rules", text);
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].msg, "a");
    check(
        "local.rules",
        text,
        DiagnosticKind::DuplicateSid,
        2,
        58,
        r#"warning[duplicate-sid]: duplicate sid 5 (gid 1): already defined at local.rules:1; this rule is skipped
 --> local.rules:2:58
  |
2 | alert http any any -> any any (msg:"b"; content:"b"; sid:5;)
  |                                                          ^"#,
    );
}

#[test]
fn regex_that_does_not_compile() {
    check(
        "local.rules",
        "alert http any any -> any any (pcre:\"/a(b/i\"; sid:6;)",
        DiagnosticKind::InvalidRegex,
        1,
        40,
        r#"error[invalid-regex]: regex does not compile: unclosed group
 --> local.rules:1:40
  |
1 | alert http any any -> any any (pcre:"/a(b/i"; sid:6;)
  |                                        ^"#,
    );
    check(
        "local.vigil",
        "rule 3 \"re\" { when http.uri matches /a[b/ }",
        DiagnosticKind::InvalidRegex,
        1,
        39,
        r#"error[invalid-regex]: regex does not compile: unclosed character class
 --> local.vigil:1:39
  |
1 | rule 3 "re" { when http.uri matches /a[b/ }
  |                                       ^"#,
    );
}

#[test]
fn regex_needing_backtracking_is_unsupported() {
    let d = only_diagnostic(
        "local.rules",
        "alert http any any -> any any (pcre:\"/a(?!b)/\"; sid:6;)",
    );
    assert_eq!(
        (d.level, d.kind),
        (Level::Warning, DiagnosticKind::UnsupportedRegex)
    );
    assert_eq!(d.reason, "regex needs look-around");
    assert_eq!(d.column, 40);
    assert!(d.rule_skipped);
}

#[test]
fn content_that_can_never_match() {
    let text = "alert http any any -> any any (content:\"abcdef\"; depth:3; sid:7;)";
    check(
        "local.rules",
        text,
        DiagnosticKind::ContentNeverMatches,
        1,
        56,
        r#"warning[content-never-matches]: content "abcdef" is 6 bytes long but `depth` is 3: it can never match
 --> local.rules:1:56
  |
1 | alert http any any -> any any (content:"abcdef"; depth:3; sid:7;)
  |                                                        ^"#,
    );
    // The rule still loads.
    assert_eq!(load("local.rules", text).0.len(), 1);
    let d = only_diagnostic(
        "local.rules",
        "alert http any any -> any any (http.uri; content:\"/longer\"; bsize:<4; sid:7;)",
    );
    assert_eq!(d.kind, DiagnosticKind::ContentNeverMatches);
}

#[test]
fn native_unknown_field_and_operator() {
    check(
        "local.vigil",
        "rule 1 \"f\" { when http.urii contains \"x\" }",
        DiagnosticKind::UnknownField,
        1,
        19,
        r#"error[unknown-field]: unknown field `http.urii`; did you mean `http.uri`?
 --> local.vigil:1:19
  |
1 | rule 1 "f" { when http.urii contains "x" }
  |                   ^^^^^^^^^"#,
    );
    check(
        "local.vigil",
        "rule 1 \"f\" { when http.uri like \"x\" }",
        DiagnosticKind::Syntax,
        1,
        28,
        r#"error[syntax]: expected `and`/`or`, an operator or a rule item (when, severity, action, ...)
 --> local.vigil:1:28
  |
1 | rule 1 "f" { when http.uri like "x" }
  |                            ^"#,
    );
    check(
        "local.vigil",
        "rule 1 \"f\" { when tcp.flags contains \"S\" }",
        DiagnosticKind::TypeMismatch,
        1,
        29,
        r#"error[type-mismatch]: operator `contains` does not apply to `tcp.flags`, which is a set of flags; use `has [syn, fin]`, `==` or `!=`
 --> local.vigil:1:29
  |
1 | rule 1 "f" { when tcp.flags contains "S" }
  |                             ^^^^^^^^^^^^"#,
    );
}

#[test]
fn rules_without_content_get_a_note() {
    let (_, diags) = load(
        "local.rules",
        "alert tcp any any -> any any (flags:S; sid:8;)",
    );
    assert_eq!(diags.len(), 1);
    assert_eq!(
        (diags[0].level, diags[0].kind),
        (Level::Note, DiagnosticKind::NoFastPattern)
    );
    assert_eq!(
        diags[0].message,
        "sid 8 has no content to prefilter on: it is checked on every packet"
    );
}

#[test]
fn rule_without_sid() {
    check(
        "local.rules",
        "alert tcp any any -> any any (msg:\"x\";)",
        DiagnosticKind::MissingOption,
        1,
        1,
        r#"error[missing-option]: rule has no `sid`
 --> local.rules:1:1
  |
1 | alert tcp any any -> any any (msg:"x";)
  | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"#,
    );
}

#[test]
fn syntax_error_in_the_header() {
    check(
        "local.rules",
        "alert tcp any any any any (sid:1;)",
        DiagnosticKind::Syntax,
        1,
        19,
        r#"error[syntax]: expected `->` or `<>`
 --> local.rules:1:19
  |
1 | alert tcp any any any any (sid:1;)
  |                   ^"#,
    );
}
