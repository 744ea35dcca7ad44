//! Syntax errors of `.vigil` files: readable messages from pest's
//! expectations, and recovery so that one broken rule does not hide the
//! rules after it.

use pest::Parser;

use super::grammar::{NativeParser, Rule as R};
use crate::diag::{Diagnostic, DiagnosticKind, Level, Source};

/// Offsets of the lines that start a top-level item (`rule` or `vars`).
fn item_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        let word = t
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or("");
        if word == "rule" || word == "vars" {
            starts.push(offset + (line.len() - t.len()));
        }
        offset += line.len();
    }
    starts
}

/// Parses the file; on a syntax error, reports it, blanks out the top-level
/// item (rule or vars block) holding the error and parses again, so that
/// one broken rule does not hide the others. Blanking keeps every offset.
/// Returns the text that parses, or `None` when nothing is left to blank.
pub(super) fn parse_recovering<'s>(
    source: &'s Source,
    diags: &mut Vec<Diagnostic>,
) -> Option<std::borrow::Cow<'s, str>> {
    let starts = item_starts(&source.text);
    let len = source.text.len();
    let mut text = std::borrow::Cow::Borrowed(source.text.as_str());
    loop {
        let e = match NativeParser::parse(R::file, &text) {
            Ok(_) => return Some(text),
            Err(e) => e,
        };
        let pos = match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
        let mut d = syntax_error(source, e);
        // An error right at the start of an item usually means the item
        // before it is not closed: blame that one.
        let mut idx = starts.partition_point(|&s| s <= pos);
        if idx > 1 && starts[idx - 1] == pos {
            idx -= 1;
            // Point where the `}` is missing: after the item's last token.
            let end = text[..pos].trim_end().len();
            let sid = text[starts[idx - 1]..]
                .trim_start()
                .strip_prefix("rule")
                .and_then(|r| r.split_whitespace().next())
                .unwrap_or("")
                .to_string();
            d = source.diagnostic(
                Level::Error,
                DiagnosticKind::Syntax,
                end,
                1,
                "syntax error",
                if sid.is_empty() {
                    "expected `}` to close this block".to_string()
                } else {
                    format!("expected `}}` to close rule {sid}")
                },
            );
        }
        let region = match idx {
            0 => 0..starts.first().copied().unwrap_or(len),
            i => starts[i - 1]..starts.get(i).copied().unwrap_or(len),
        };
        let chunk = &text[region.clone()];
        if chunk.trim().is_empty() {
            diags.push(d);
            return None;
        }
        if let Some(rest) = chunk.trim_start().strip_prefix("rule") {
            d.rule_skipped = true;
            d.sid = rest.split_whitespace().next().and_then(|n| n.parse().ok());
        }
        diags.push(d);
        let mut bytes = text.into_owned().into_bytes();
        for b in &mut bytes[region] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
        text = std::borrow::Cow::Owned(String::from_utf8(bytes).expect("ASCII spaces"));
    }
}

/// A syntax diagnostic from a pest failure.
pub(super) fn syntax_error(source: &Source, e: pest::error::Error<R>) -> Diagnostic {
    let pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    // An unclosed string runs to the end of its line.
    let line_start = source.text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = &source.text[line_start..];
    let line = &line[..line.find('\n').unwrap_or(line.len())];
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            '\\' if !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => quote = if quote.is_some() { None } else { Some(i) },
            '#' if quote.is_none() => break,
            _ => {}
        }
        escaped = false;
    }
    if let Some(q) = quote {
        return source.diagnostic(
            Level::Error,
            DiagnosticKind::UnclosedString,
            line_start + q,
            1,
            "unclosed string",
            "unclosed string: this `\"` has no closing quote",
        );
    }
    let mut expected: Vec<&str> = Vec::new();
    if let pest::error::ErrorVariant::ParsingError { positives, .. } = &e.variant {
        for r in positives {
            let label = match r {
                R::cmp_op
                | R::kw_in
                | R::string_kw
                | R::exists
                | R::has
                | R::comparison
                | R::membership
                | R::string_op
                | R::regex_op => "an operator",
                R::kw_and | R::kw_or => "`and`/`or`",
                R::kw_not
                | R::predicate
                | R::subject
                | R::field
                | R::quantified
                | R::quantifier
                | R::unary
                | R::expr
                | R::and_expr
                | R::ident => "a field",
                R::severity
                | R::classtype
                | R::tags
                | R::references
                | R::action
                | R::noalert
                | R::when_clause
                | R::threshold => "a rule item (when, severity, action, ...)",
                R::rule => "`rule`",
                R::vars_block => "`vars`",
                R::string | R::chars => "a string",
                R::regex | R::pattern => "a regex `/.../`",
                R::list | R::variable | R::scalar => "a value",
                R::sid | R::number => "a number",
                R::word => "a name",
                R::duration => "a duration (10s, 5m, 1h)",
                R::track => "ip.src, ip.dst, ip.pair, flow or rule",
                R::measure | R::count | R::distinct => "`count` or `distinct FIELD`",
                R::var_def | R::var_name => "a variable definition",
                R::kw_nocase => "`nocase`",
                R::EOI => "end of file",
                _ => "something else",
            };
            if !expected.contains(&label) {
                expected.push(label);
            }
        }
    }
    let message = match expected.len() {
        0 => "syntax error".to_string(),
        1 => format!("expected {}", expected[0]),
        n => format!(
            "expected {} or {}",
            expected[..n - 1].join(", "),
            expected[n - 1]
        ),
    };
    source.diagnostic(
        Level::Error,
        DiagnosticKind::Syntax,
        pos,
        1,
        "syntax error",
        message,
    )
}
